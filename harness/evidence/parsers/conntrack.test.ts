import { describe, expect, it } from "vitest";
import { loadFixture } from "../fixtures.ts";
import { ParseError } from "../parse-error.ts";
import { conntrackSchema, flowEntries, parseConntrack } from "./conntrack.ts";
import { fuzz } from "./fuzz-util.ts";

// seeds/001 L1498-1499, verbatim
const seedList = [
  "sctp     132 6 CLOSED src=10.123.123.254 dst=10.123.123.101 sport=38211 dport=10000 src=10.42.2.37 dst=10.42.2.1 sport=9999 dport=1387 [ASSURED] mark=0 use=1",
  "conntrack v1.4.6 (conntrack-tools): 1 flow entries have been shown.",
].join("\n");
// seeds/001 L1502-1508, verbatim (conntrack -E)
const seedEvents = [
  "    [NEW] sctp     132 10 CLOSED src=10.123.123.254 dst=10.123.123.101 sport=49035 dport=10000 [UNREPLIED] src=10.42.1.36 dst=10.42.2.0 sport=9999 dport=36208",
  " [UPDATE] sctp     132 3 COOKIE_WAIT src=10.123.123.254 dst=10.123.123.101 sport=49035 dport=10000 src=10.42.1.36 dst=10.42.2.0 sport=9999 dport=36208",
  " [UPDATE] sctp     132 3 COOKIE_ECHOED src=10.123.123.254 dst=10.123.123.101 sport=49035 dport=10000 src=10.42.1.36 dst=10.42.2.0 sport=9999 dport=36208",
  " [UPDATE] sctp     132 210 ESTABLISHED src=10.123.123.254 dst=10.123.123.101 sport=49035 dport=10000 src=10.42.1.36 dst=10.42.2.0 sport=9999 dport=36208 [ASSURED]",
  " [UPDATE] sctp     132 3 SHUTDOWN_SENT src=10.123.123.254 dst=10.123.123.101 sport=49035 dport=10000 src=10.42.1.36 dst=10.42.2.0 sport=9999 dport=36208 [ASSURED]",
  " [UPDATE] sctp     132 3 SHUTDOWN_ACK_SENT src=10.123.123.254 dst=10.123.123.101 sport=49035 dport=10000 src=10.42.1.36 dst=10.42.2.0 sport=9999 dport=36208 [ASSURED]",
  " [UPDATE] sctp     132 10 CLOSED src=10.123.123.254 dst=10.123.123.101 sport=49035 dport=10000 src=10.42.1.36 dst=10.42.2.0 sport=9999 dport=36208 [ASSURED]",
].join("\n");
const mixed = [
  "tcp      6 431999 ESTABLISHED src=10.42.0.18 dst=10.43.202.115 sport=47350 dport=8080 src=127.0.0.1 dst=10.42.0.18 sport=4140 dport=47350 [ASSURED] mark=0 use=1",
  "udp      17 28 src=10.42.1.4 dst=10.43.0.10 sport=60609 dport=53 [UNREPLIED] src=10.42.0.2 dst=10.42.1.4 sport=53 dport=60609 mark=0 zone=3 use=1",
  "icmp     1 29 src=5.6.7.8 dst=1.2.3.4 type=8 code=0 id=4242 src=1.2.3.4 dst=5.6.7.8 type=0 code=0 id=4242 mark=0 use=1",
  "ipv4     2 tcp      6 117 TIME_WAIT src=10.0.0.1 dst=10.0.0.2 sport=1234 dport=80 packets=6 bytes=400 src=10.0.0.2 dst=10.0.0.1 sport=80 dport=1234 packets=5 bytes=3000 [ASSURED] mark=16384 secctx=system_u:object_r:unlabeled_t:s0 use=2",
  "gre      47 179 src=10.0.0.1 dst=10.0.0.2 srckey=0x0 dstkey=0x0 src=10.0.0.2 dst=10.0.0.1 srckey=0x0 dstkey=0x0 [ASSURED] mark=0 use=1",
  "conntrack v1.4.8 (conntrack-tools): 5 flow entries have been shown.",
].join("\n");

describe("parsers/conntrack", () => {
  it("parses the lab's conntrack -L sctp entry and the summary line", () => {
    const c = parseConntrack(seedList);
    expect(c.shown).toBe(1);
    expect(c.version).toBe("v1.4.6");
    expect(c.entries[0]).toMatchObject({
      proto: "sctp",
      protoNum: 132,
      timeout: 6,
      state: "CLOSED",
      orig: { src: "10.123.123.254", dst: "10.123.123.101", sport: 38211, dport: 10000 },
      reply: { src: "10.42.2.37", dst: "10.42.2.1", sport: 9999, dport: 1387 },
      unreplied: false,
      flags: ["ASSURED"],
      mark: 0,
      use: 1,
    });
  });

  it("parses the lab's conntrack -E event lines with their SCTP states", () => {
    const c = parseConntrack(seedEvents);
    expect(c.entries.map((e) => [e.event, e.state, e.unreplied])).toEqual([
      ["NEW", "CLOSED", true],
      ["UPDATE", "COOKIE_WAIT", false],
      ["UPDATE", "COOKIE_ECHOED", false],
      ["UPDATE", "ESTABLISHED", false],
      ["UPDATE", "SHUTDOWN_SENT", false],
      ["UPDATE", "SHUTDOWN_ACK_SENT", false],
      ["UPDATE", "CLOSED", false],
    ]);
    expect(c.shown).toBeUndefined();
  });

  it("parses tcp, udp, icmp, gre, the ipv4 prefix, accounting counters, zone and secctx", () => {
    const [tcp, udp, icmp, tw, gre] = parseConntrack(mixed).entries;
    expect(tcp).toMatchObject({ state: "ESTABLISHED", timeout: 431999, flags: ["ASSURED"] });
    expect(udp).toMatchObject({ proto: "udp", unreplied: true, zone: 3 });
    expect(udp!.state).toBeUndefined();
    expect(icmp!.orig).toEqual({ src: "5.6.7.8", dst: "1.2.3.4", type: 8, code: 0, id: 4242 });
    expect(tw).toMatchObject({ l3: "ipv4", state: "TIME_WAIT", mark: 16384, use: 2, orig: { packets: 6, bytes: 400 }, reply: { packets: 5, bytes: 3000 }, extra: { secctx: "system_u:object_r:unlabeled_t:s0" } });
    expect(gre!.orig).toMatchObject({ srckey: "0x0", dstkey: "0x0" });
  });

  it("parses a DESTROY event without timeout", () => {
    const e = parseConntrack("[DESTROY] tcp      6 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1 [ASSURED] mark=0").entries[0]!;
    expect(e.event).toBe("DESTROY");
    expect(e.timeout).toBeUndefined();
    expect(e.state).toBeUndefined();
  });

  it("selects the entries of one flow", () => {
    const entries = parseConntrack(loadFixture("IPSEC-02", "pass", "conntrack.txt").text).entries;
    expect(flowEntries(entries, { proto: "sctp", dst: "1.2.3.4", dport: 10000 })).toHaveLength(9);
    expect(flowEntries(entries, { proto: "sctp", dst: "1.2.3.4", dport: 9 })).toHaveLength(0);
  });

  it.each([
    ["an unknown line", "hello world", /unknown protocol/],
    ["a wrong protocol number", "tcp 17 10 ESTABLISHED src=1.1.1.1 dst=2.2.2.2 sport=1 dport=2 src=2.2.2.2 dst=1.1.1.1 sport=2 dport=1 use=1", /protocol number 6, not 17/],
    ["a state of another protocol", "tcp 6 10 COOKIE_WAIT src=1.1.1.1 dst=2.2.2.2 sport=1 dport=2 src=2.2.2.2 dst=1.1.1.1 sport=2 dport=1 use=1", /not a tcp state/],
    ["a truncated event line", "[UPDATE] tcp 6 10 ESTABLISHED src=1.1.1.1 dst=2.2.2.2 sport=1 dport=2 src=2.2.2.2 dst=1.1", /reply dst|reply sport/],
    ["a count that does not match the summary", `${seedList.split("\n")[0]}\nconntrack v1.4.6 (conntrack-tools): 2 flow entries have been shown.`, /summary says 2 entries, 1 parsed/],
    ["an entry after the summary", `${seedList}\n${seedList.split("\n")[0]}`, /after the summary/],
    ["a snapshot line cut before use=", "sctp     132 6 CLOSED src=10.123.123.254 dst=10.123.123.101 sport=38211 dport=10000 src=10.42.2.37 dst=10.42.2.1 sport=9999 dport=1387 [ASSURED] mark=0", /without use=/],
    ["an unknown key", "udp 17 10 src=1.1.1.1 dst=2.2.2.2 sport=1 dport=2 src=2.2.2.2 dst=1.1.1.1 sport=2 dport=1 foo=1", /unknown key foo/],
    ["a bad address", "udp 17 10 src=1.1.1 dst=2.2.2.2 sport=1 dport=2 src=2.2.2.2 dst=1.1.1.1 sport=2 dport=1 use=1", /orig src/],
  ])("rejects %s with a ParseError", (_w, text, msg) => {
    expect(() => parseConntrack(text)).toThrow(ParseError);
    expect(() => parseConntrack(text)).toThrow(msg);
  });

  it("fuzz: truncated, garbage and random input gives a valid result or a ParseError", () => {
    const r = fuzz([seedList, seedEvents, mixed, loadFixture("IPSEC-01", "pass", "conntrack.txt").text], parseConntrack, (x) => conntrackSchema.parse(x), 400, 3);
    expect(r.bad.slice(0, 3)).toEqual([]);
    expect(r.rejected).toBeGreaterThan(100);
  });
});
