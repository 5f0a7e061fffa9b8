import { describe, expect, it } from "vitest";
import { loadFixture } from "../fixtures.ts";
import { ParseError } from "../parse-error.ts";
import { bfdPeersSchema, bgpNeighborsSchema, bgpRoutesSchema, bgpSummarySchema, parseBfdPeers, parseBfdPeersBrief, parseBfdSamples, parseBgpNeighbors, parseBgpRoutes, parseBgpSummary } from "./frr.ts";
import { fuzz } from "./fuzz-util.ts";

const fx = (id: string, kind: "pass" | "fail", name: string) => loadFixture(id, kind, name).text;
const summary = fx("BGP-01", "pass", "frr1.summary.json");
const seedSummary = fx("BGP-01", "pass", "speaker-5v7cf.summary.json");
const routes = fx("BGP-02", "pass", "frr1.routes.json");
const neighbors = fx("BGP-05", "pass", "frr1.neighbors.json");
const bfd = fx("BGP-03", "pass", "frr1.bfd.json");
const brief = fx("BGP-03", "pass", "frr1-brief.txt");
const samples = fx("BGP-04", "pass", "frr1.bfd-samples.txt");

describe("parsers/frr (vtysh JSON)", () => {
  it("parses show bgp summary json: per-peer state, messages and prefixes (the lab capture)", () => {
    const s = parseBgpSummary(seedSummary);
    const afi = s["ipv4Unicast"]!;
    expect(afi).toMatchObject({ routerId: "10.128.2.1", as: 64500 });
    expect(Object.entries(afi.peers).map(([p, x]) => [p, x.state, x.msgRcvd, x.msgSent, x.pfxSnt])).toEqual([
      ["10.0.2.3", "Established", 130, 133, 1],
      ["10.0.2.4", "Established", 130, 133, 1],
    ]);
  });

  it("parses a recorded FRR 8.4 summary, keeping unknown keys, and the single-family form", () => {
    const s = parseBgpSummary(summary);
    expect(s["ipv4Unicast"]!.peers["10.253.41.21"]).toMatchObject({ hostname: "speaker1", state: "Established", pfxRcd: 1 });
    expect((s["ipv4Unicast"] as Record<string, unknown>)["bestPath"]).toEqual({ multiPathRelax: "false" });
    const single = parseBgpSummary(JSON.stringify(JSON.parse(summary).ipv4Unicast));
    expect(Object.keys(single)).toEqual(["ipv4Unicast"]);
    expect(parseBgpSummary("{}")).toEqual({});
  });

  it("parses show bgp ipv4 unicast json: paths, best/multipath and next hops", () => {
    const r = parseBgpRoutes(routes);
    const paths = r.routes["203.0.113.200/32"]!;
    expect(paths.map((p) => [p.peerId, p.nexthops[0]!.ip, !!p.bestpath, !!p.multipath]).sort()).toEqual([
      ["10.253.41.21", "10.253.41.21", true, false],
      ["10.253.41.22", "10.253.41.22", false, true],
    ]);
    expect(r.localAS).toBe(64512);
  });

  it("parses show bgp neighbors json: state, multihop TTL, BFD info", () => {
    const n = parseBgpNeighbors(neighbors);
    expect(n["10.253.41.21"]).toMatchObject({ bgpState: "Established", externalBgpNbrMaxHopsAway: 2, peerBfdInfo: { type: "multi hop", detectMultiplier: 3, rxMinInterval: 300 } });
    expect(n["10.253.41.21"]!.messageStats!.totalRecv).toBeGreaterThan(0);
  });

  it("parses show bfd peers json (up with uptime, down with downtime) and the brief table of the lab capture", () => {
    const p = parseBfdPeers(bfd);
    expect(p.map((x) => [x.peer, x.status, x.multihop, x["receive-interval"], x["detect-multiplier"]])).toEqual([
      ["10.253.41.21", "up", true, 300, 3],
      ["10.253.41.22", "up", true, 300, 3],
    ]);
    const down = parseBfdPeers(fx("BGP-03", "fail", "frr1-speaker1-paused.bfd.json")).find((x) => x.peer === "10.253.41.21")!;
    expect(down).toMatchObject({ status: "down", diagnostic: "control detection time expired" });
    expect(down.downtime).toBeGreaterThanOrEqual(0);
    expect(parseBfdPeersBrief(brief)).toEqual([
      { id: 4161101689, local: "172.19.0.3", peer: "172.18.0.2", status: "up" },
      { id: 1130635521, local: "172.19.0.3", peer: "172.18.0.3", status: "up" },
    ]);
    expect(parseBfdPeersBrief(fx("BGP-03", "fail", "frr1-brief-after-delete.txt"))[1]!.status).toBe("down");
  });

  it("parses a sampling loop's output into timed samples; a cut last block only when asked", () => {
    const { samples: s, droppedLast } = parseBfdSamples(samples, { dropTruncatedLast: true });
    expect(s.length).toBeGreaterThan(20);
    expect(droppedLast).toBe(true); // the recorded loop was killed by `timeout` right after an "@@" line
    expect(s.every((x, i) => i === 0 || x.atMs >= s[i - 1]!.atMs)).toBe(true);
    expect(() => parseBfdSamples(samples)).toThrow(ParseError);
    expect(() => parseBfdSamples("[]")).toThrow(/before the first @@/);
  });

  it.each([
    ["not JSON", () => parseBgpSummary("IPv4 Unicast Summary (VRF default):"), /not JSON/],
    ["a peer state that is no BGP state", () => parseBgpSummary(summary.replace('"state":"Established"', '"state":"Establishd"')), /not a BGP state/],
    ["a router id that is no address", () => parseBgpSummary(summary.replace('"routerId":"10.253.42.11"', '"routerId":"frr1"')), /routerId/],
    ["a path listed under another prefix", () => parseBgpRoutes(routes.replace('"prefixLen":32', '"prefixLen":24')), /listed under 203\.0\.113\.200\/32/],
    ["a route key that is no prefix", () => parseBgpRoutes(routes.replace('"203.0.113.200/32": [', '"garbage": [')), /invalid routes\.garbage/],
    ["a path without next hops", () => parseBgpRoutes(JSON.stringify({ routerId: "1.1.1.1", localAS: 1, routes: { "1.2.3.4/32": [{ prefix: "1.2.3.4", prefixLen: 32, peerId: "x", path: "", origin: "IGP", nexthops: [] }] } })), /nexthops/],
    ["an unknown BFD status", () => parseBfdPeers(bfd.replace('"status":"up"', '"status":"sideways"')), /status/],
    ["an up BFD session without uptime", () => parseBfdPeers(bfd.replace(/"uptime":\d+,/, "")), /up session without uptime/],
    ["a brief table cut short", () => parseBfdPeersBrief(brief.split("\n").slice(0, 4).join("\n")), /Session count 2 but 1 rows/],
    ["a brief row with a bad address", () => parseBfdPeersBrief(brief.replace("172.18.0.2 ", "172.18.0.x ")), /peer address/],
  ])("rejects %s with a ParseError", (_w, f, msg) => {
    expect(f).toThrow(ParseError);
    expect(f).toThrow(msg);
  });

  it("fuzz: mangled vtysh output gives a fully valid result or a ParseError", () => {
    const cases: Array<[string, (s: string) => unknown, { safeParse: (v: unknown) => { success: boolean } } | undefined]> = [
      [summary, parseBgpSummary, bgpSummarySchema],
      [seedSummary, parseBgpSummary, bgpSummarySchema],
      [routes, parseBgpRoutes, bgpRoutesSchema],
      [neighbors, parseBgpNeighbors, bgpNeighborsSchema],
      [bfd, parseBfdPeers, bfdPeersSchema],
      [brief, parseBfdPeersBrief, undefined],
      [samples, (s: string) => parseBfdSamples(s), undefined],
    ];
    for (const [i, [sample, parse, schema]] of cases.entries()) {
      const r = fuzz([sample], parse, (v) => {
        if (schema && !schema.safeParse(v).success) throw new Error("parser returned data its own schema rejects");
      }, 200, 40 + i);
      expect(r.bad.slice(0, 3)).toEqual([]);
      expect(r.rejected).toBeGreaterThan(40);
    }
  });
});
