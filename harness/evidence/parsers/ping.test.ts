import { describe, expect, it } from "vitest";
import { loadFixture } from "../fixtures.ts";
import { ParseError } from "../parse-error.ts";
import { fuzz } from "./fuzz-util.ts";
import { parsePing, parseProbeSeries } from "./ping.ts";

const fx = (id: string, kind: "pass" | "fail", name: string) => loadFixture(id, kind, name).text;
const lost = fx("MLB-05", "pass", "ping.txt");
const answered = fx("MLB-05", "fail", "ping-answered.txt");
const ttl = fx("BGP-05", "pass", "frr1-ping-speaker1.txt");
const probes = fx("MLB-06", "pass", "probes.json");

describe("parsers/ping", () => {
  it("parses a 100% loss run (the lab capture) and answered runs with TTLs", () => {
    expect(parsePing(lost)).toEqual({ target: "10.123.123.99", transmitted: 3, received: 0, lossPercent: 100, ttls: [], unreachable: 0 });
    expect(parsePing(answered)).toMatchObject({ transmitted: 3, received: 3, lossPercent: 0, ttls: [64, 64, 64] });
    expect(parsePing(ttl).ttls).toEqual([63]);
    const unreach = "PING 10.0.0.9 (10.0.0.9) 56(84) bytes of data.\nFrom 10.0.0.4 icmp_seq=1 Destination Host Unreachable\n\n--- 10.0.0.9 ping statistics ---\n1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 0ms\n";
    expect(parsePing(unreach)).toMatchObject({ received: 0, errors: 1, unreachable: 1 });
  });

  it("parses a probe series and rejects one out of order", () => {
    const p = parseProbeSeries(probes);
    expect(p.length).toBe(30);
    expect(p.filter((x) => x.ok)).toHaveLength(10);
    expect(() => parseProbeSeries('[{"at":"2025-02-05T15:02:03Z","ok":true},{"at":"2025-02-05T15:02:00Z","ok":false}]')).toThrow(/earlier/);
  });

  it.each([
    ["no statistics (cut short)", lost.split("\n").slice(0, 3).join("\n"), /no PING header or no statistics/],
    ["more received than transmitted", lost.replace("0 received", "5 received"), /more received/],
    ["a reply after the statistics", `${answered}\n64 bytes from 10.123.123.99: icmp_seq=4 ttl=64 time=0.4 ms`, /outside/],
    ["an unknown line", `${lost}\nhello`, /unrecognised line/],
  ])("rejects %s with a ParseError", (_w, text, msg) => {
    expect(() => parsePing(text)).toThrow(ParseError);
    expect(() => parsePing(text)).toThrow(msg);
  });

  it("accepts iputils' statistics tail with pipe and ipg/ewma parts (recorded by harness/lab/direct.lab.test.ts, ping -i 0.2 in a loaded container)", () => {
    const out = (tail: string) => `PING 10.77.0.2 (10.77.0.2) 56(84) bytes of data.
64 bytes from 10.77.0.2: icmp_seq=1 ttl=64 time=427 ms
64 bytes from 10.77.0.2: icmp_seq=2 ttl=64 time=223 ms
64 bytes from 10.77.0.2: icmp_seq=3 ttl=64 time=20.1 ms

--- 10.77.0.2 ping statistics ---
3 packets transmitted, 3 received, 0% packet loss, time 417ms
${tail}
`;
    expect(parsePing(out("rtt min/avg/max/mdev = 20.053/223.487/427.790/166.459 ms, pipe 3"))).toMatchObject({ transmitted: 3, received: 3, ttls: [64, 64, 64] });
    expect(parsePing(out("rtt min/avg/max/mdev = 0.036/0.045/0.058/0.009 ms, pipe 2, ipg/ewma 0.080/0.049 ms")).received).toBe(3);
    expect(parsePing(out("rtt min/avg/max/mdev = 0.036/0.045/0.058/0.009 ms, ipg/ewma 0.080/0.049 ms")).received).toBe(3);
    expect(parsePing(out("pipe 3")).received).toBe(3);
    expect(() => parsePing(out("rtt min/avg/max/mdev = 0.036/0.045/0.058/0.009 ms pipe 2"))).toThrow(/unrecognised line/);
    expect(() => parsePing(out(", pipe 2"))).toThrow(/unrecognised line/);
  });

  it("fuzz: mangled ping output and probe series parse or fail with ParseError", () => {
    const r = fuzz([lost, answered, ttl], parsePing, () => undefined, 300, 5);
    expect(r.bad.slice(0, 3)).toEqual([]);
    expect(r.rejected).toBeGreaterThan(60);
    const q = fuzz([probes], parseProbeSeries, () => undefined, 200, 6);
    expect(q.bad.slice(0, 3)).toEqual([]);
    expect(q.rejected).toBeGreaterThan(60);
  });
});
