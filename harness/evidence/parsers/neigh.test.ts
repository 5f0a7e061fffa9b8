import { describe, expect, it } from "vitest";
import { loadFixture } from "../fixtures.ts";
import { ParseError } from "../parse-error.ts";
import { fuzz } from "./fuzz-util.ts";
import { parseIpNeigh } from "./ip-json.ts";
import { fromIpJson, parseArpNa, parseIpNeighText, resolved } from "./neigh.ts";

const fx = (id: string, kind: "pass" | "fail", name: string) => loadFixture(id, kind, name).text;
const arpHijack = fx("MLB-03", "fail", "arp-hijack.txt");
const arpIncomplete = fx("MLB-05", "pass", "arp-na.txt");
const ipNeigh = fx("MLB-02", "pass", "ip-neigh-vip100.txt");
const ipNeighMore = [
  "10.123.123.99 dev ens3.100 INCOMPLETE",
  "10.123.123.98 dev ens3.100 FAILED",
  "fe80::1 dev eth0 lladdr 52:54:00:00:00:01 router STALE",
  "10.65.94.1 dev ens3 lladdr 52:54:00:00:00:01 PERMANENT",
].join("\n");

describe("parsers/neigh (arp -na, ip neigh, ip -j neigh)", () => {
  it("parses arp -na (the lab capture) and the <incomplete> form", () => {
    expect(parseArpNa(arpHijack).map((n) => [n.ip, n.mac, n.dev])).toEqual([
      ["10.123.123.2", "52:54:00:c0:87:a0", "mpqemubr0.100"],
      ["10.123.123.1", "52:54:00:c0:87:a0", "mpqemubr0.100"],
      ["10.123.123.100", "52:54:00:c0:87:a0", "mpqemubr0.100"],
    ]);
    const inc = parseArpNa(arpIncomplete);
    expect(inc[1]).toEqual({ ip: "10.123.123.99", dev: "ens3.100", state: ["INCOMPLETE"], line: 2 });
    expect(resolved(inc).map((n) => n.ip)).toEqual(["10.42.0.23"]);
    expect(parseArpNa("? (10.0.0.1) at 52:54:00:AA:bb:cc [ether] PERM on eth0")[0]).toMatchObject({ mac: "52:54:00:aa:bb:cc", state: ["PERMANENT"] });
  });

  it("parses ip neigh text: lladdr, router, NUD states", () => {
    expect(parseIpNeighText(ipNeigh).map((n) => [n.ip, n.mac, n.state])).toEqual([
      ["10.123.123.2", "52:54:00:c0:87:a0", ["REACHABLE"]],
      ["10.123.123.1", "52:54:00:c0:87:a0", ["STALE"]],
      ["10.123.123.100", "52:54:00:c0:87:a0", ["REACHABLE"]],
    ]);
    const m = parseIpNeighText(ipNeighMore);
    expect(m.map((n) => [n.ip, n.mac ?? null, n.state[0], n.router ?? false])).toEqual([
      ["10.123.123.99", null, "INCOMPLETE", false],
      ["10.123.123.98", null, "FAILED", false],
      ["fe80::1", "52:54:00:00:00:01", "STALE", true],
      ["10.65.94.1", "52:54:00:00:00:01", "PERMANENT", false],
    ]);
    expect(resolved(m).map((n) => n.ip)).toEqual(["fe80::1", "10.65.94.1"]);
  });

  it("gives ip -j neigh the same shape", () => {
    const j = fromIpJson(parseIpNeigh(JSON.stringify([{ dst: "10.123.123.100", dev: "ens3.100", lladdr: "52:54:00:C0:87:A0", state: ["REACHABLE"] }, { dst: "10.65.94.1", dev: "ens3", lladdr: "52:54:00:00:00:01", router: null, state: ["STALE"] }])));
    expect(j).toEqual([
      { ip: "10.123.123.100", dev: "ens3.100", mac: "52:54:00:c0:87:a0", state: ["REACHABLE"], line: 1 },
      { ip: "10.65.94.1", dev: "ens3", mac: "52:54:00:00:00:01", state: ["STALE"], router: true, line: 2 },
    ]);
  });

  it.each([
    ["arp -na with the seed's annotation", () => parseArpNa("? (10.123.123.1) at 52:54:00:c0:87:a0 [ether] on mpqemubr0.100  <=== Whaaat"), /unrecognised line/],
    ["arp -na with a bad MAC", () => parseArpNa("? (10.123.123.1) at 52:54:00:c0:87:zz [ether] on eth0"), /MAC|unrecognised/],
    ["arp -na with a host name", () => parseArpNa("gw (10.0.0.1) at 52:54:00:c0:87:a0 [ether] on eth0"), /unrecognised line/],
    ["ip neigh cut before its state", () => parseIpNeighText("10.123.123.100 dev ens3.100 lladdr 52:54:00:c0:87:a0"), /no NUD state/],
    ["ip neigh REACHABLE without lladdr", () => parseIpNeighText("10.123.123.100 dev ens3.100 REACHABLE"), /without lladdr/],
    ["ip neigh with an unknown word", () => parseIpNeighText("10.123.123.100 dev ens3.100 lladdr 52:54:00:c0:87:a0 HAPPY"), /unexpected word/],
  ])("rejects %s with a ParseError", (_w, f, msg) => {
    expect(f).toThrow(ParseError);
    expect(f).toThrow(msg);
  });

  it("fuzz: mangled tables parse fully or fail with ParseError", () => {
    for (const [i, [s, p]] of ([[arpHijack, parseArpNa], [arpIncomplete, parseArpNa], [ipNeigh, parseIpNeighText], [ipNeighMore, parseIpNeighText]] as const).entries()) {
      const r = fuzz([s], p, (ns) => ns.forEach((n) => { if (!n.dev || (n.mac !== undefined && !/^[0-9a-f:]{17}$/.test(n.mac))) throw new Error("invalid neighbour"); }), 200, 20 + i);
      expect(r.bad.slice(0, 3)).toEqual([]);
      expect(r.rejected).toBeGreaterThan(30);
    }
  });
});
