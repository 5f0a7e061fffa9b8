import { describe, expect, it } from "vitest";
import { loadFixture } from "../evidence/fixtures.ts";
import { parseBfdPeers, parseBfdPeersBrief, parseBfdSamples, parseBgpNeighbors, parseBgpRoutes, parseBgpSummary } from "../evidence/parsers/frr.ts";
import { parseIpRoute } from "../evidence/parsers/ip-json.ts";
import { parsePing } from "../evidence/parsers/ping.ts";
import { behaviour } from "../report/allure.ts";
import { bgp01, bgp02, bgp03, bgp04, bgp05 } from "./bgp.ts";
import { formatVerdict } from "./verdict.ts";

type Kind = "pass" | "fail";
const text = (id: string, kind: Kind, name: string) => loadFixture(id, kind, name).text;
const summary = (id: string, kind: Kind, name: string) => parseBgpSummary(text(id, kind, name));
const routes = (id: string, kind: Kind, name: string) => parseBgpRoutes(text(id, kind, name));
const bfd = (id: string, kind: Kind, name: string) => parseBfdPeers(text(id, kind, name));

// the BGP/BFD lab: the speaker's peers frr1/frr2; the recorded D-depth control: speakers and peers
const SEED_PEERS = ["10.0.2.3", "10.0.2.4"];
const SPEAKERS = ["10.253.41.21", "10.253.41.22"];
const PEERS = ["10.253.42.11", "10.253.42.12"];
const VIP = "203.0.113.200";

describe("BGP-01 every speaker Established with both peers", () => {
  it("BGP-01 passes on the lab's speaker summary and on the recorded peer and speaker views", async () => {
    await behaviour("BGP-01", "R");
    const v = bgp01({ summaries: { "speaker-5v7cf": summary("BGP-01", "pass", "speaker-5v7cf.summary.json") }, peers: SEED_PEERS });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.reasons[0]).toBe("speaker-5v7cf ↔ 10.0.2.3: Established for 00:10:37, 130 messages received, 133 sent");
    const w = bgp01({ summaries: { frr1: summary("BGP-01", "pass", "frr1.summary.json"), speaker1: summary("BGP-01", "pass", "speaker1.summary.json") }, peers: { frr1: SPEAKERS, speaker1: PEERS } });
    expect(w.ok, formatVerdict(w)).toBe(true);
    expect(w.measurements?.established).toBe(4);
  });

  it("BGP-01 fails naming the session that is not Established", async () => {
    await behaviour("BGP-01", "R");
    expect(bgp01({ summaries: { "speaker-5v7cf": summary("BGP-01", "fail", "speaker-5v7cf-frr2-active.summary.json") }, peers: SEED_PEERS }).reasons).toEqual(["speaker-5v7cf: session with 10.0.2.4 is Active, not Established"]);
    expect(bgp01({ summaries: { frr1: summary("BGP-01", "fail", "frr1-speaker1-paused.summary.json") }, peers: SPEAKERS }).reasons).toEqual(["frr1: session with 10.253.41.21 is OpenSent, not Established"]);
    expect(bgp01({ summaries: { frr1: summary("BGP-01", "pass", "frr1.summary.json") }, peers: ["10.253.41.23"] }).reasons).toEqual(["frr1: neighbour 10.253.41.23 is not configured (summary lists 10.253.41.21, 10.253.41.22)"]);
  });
});

describe("BGP-02 each peer has the VIP /32 via a node; PfxSnt 1 per peer", () => {
  const recorded = () => ({
    vip: VIP,
    nodes: SPEAKERS,
    announcers: SPEAKERS,
    peerRoutes: { frr1: routes("BGP-02", "pass", "frr1.routes.json"), frr2: routes("BGP-02", "pass", "frr2.routes.json") },
    speakerSummaries: { speaker1: summary("BGP-02", "pass", "speaker1.summary.json"), speaker2: summary("BGP-02", "pass", "speaker2.summary.json") },
    peerAddresses: PEERS,
  });

  it("BGP-02 passes on the recorded peers' tables and speakers' PfxSnt", async () => {
    await behaviour("BGP-02", "R");
    const v = bgp02(recorded());
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.reasons[0]).toBe("frr1: 203.0.113.200/32 via 10.253.41.21, 10.253.41.22");
  });

  it("BGP-02 passes on the lab-modelled view: three kind nodes as next hops, PfxSnt 1 to both peers (the lab capture)", async () => {
    await behaviour("BGP-02", "R");
    const v = bgp02({ vip: VIP, nodes: ["10.0.1.2", "10.0.1.3", "10.0.1.4"], peerRoutes: { frr1: routes("BGP-02", "pass", "frr1-seed.routes.json") }, speakerSummaries: { "speaker-5v7cf": summary("BGP-02", "pass", "speaker-5v7cf.summary.json") }, peerAddresses: SEED_PEERS });
    expect(v.ok, formatVerdict(v)).toBe(true);
  });

  it("BGP-02 fails naming a next hop that is no node, a missing next hop, PfxSnt 0", async () => {
    await behaviour("BGP-02", "R");
    expect(bgp02({ ...recorded(), peerRoutes: { frr1: routes("BGP-02", "fail", "frr1-nexthop-router.routes.json") } }).reasons).toEqual([
      "frr1: 203.0.113.200/32 has next hop 10.253.42.254 (path from 10.253.41.22), which is not a node (10.253.41.21, 10.253.41.22)",
      "frr1: 203.0.113.200/32 has no path with next hop 10.253.41.22 (announcing node); next hops: 10.253.41.21",
    ]);
    expect(bgp02({ ...recorded(), peerRoutes: { frr1: routes("BGP-02", "fail", "frr1-speaker1-withdrawn.routes.json") } }).reasons).toEqual(["frr1: 203.0.113.200/32 has no path with next hop 10.253.41.21 (announcing node); next hops: 10.253.41.22"]);
    expect(bgp02({ vip: VIP, nodes: ["10.0.1.3"], peerRoutes: {}, speakerSummaries: { "speaker-5v7cf": summary("BGP-02", "fail", "speaker-5v7cf-pfxsnt0.summary.json") }, peerAddresses: SEED_PEERS }).reasons).toEqual([
      "no peer route table given",
      "speaker speaker-5v7cf: PfxSnt 0 to peer 10.0.2.4 (state Established), expected 1",
    ]);
  });
});

describe("BGP-03 BFD up per node and peer with the profile's timers", () => {
  it("BGP-03 passes on the recorded sessions (both ends) and on the lab's frr1 sessions with 300/300/×3", async () => {
    await behaviour("BGP-03", "R");
    const v = bgp03({ bfd: { frr1: bfd("BGP-03", "pass", "frr1.bfd.json"), speaker1: bfd("BGP-03", "pass", "speaker1.bfd.json") }, peers: { frr1: SPEAKERS, speaker1: PEERS } });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.reasons[0]).toBe("frr1 ↔ 10.253.41.21: BFD up (multihop), 300/300 ms ×3");
    expect(bgp03({ bfd: { frr1: bfd("BGP-03", "pass", "frr1-seed.bfd.json") }, peers: ["172.18.0.2", "172.18.0.3"] }).ok).toBe(true);
  });

  it("BGP-03 fails naming the down session (recorded pause; the lab capture after the node delete)", async () => {
    await behaviour("BGP-03", "R");
    expect(bgp03({ bfd: { frr1: bfd("BGP-03", "fail", "frr1-speaker1-paused.bfd.json") }, peers: SPEAKERS }).reasons).toEqual([expect.stringMatching(/^frr1: BFD session with 10\.253\.41\.21: status down \(control detection time expired\), down for \d+ s$/)]);
    expect(bgp03({ bfd: { frr1: bfd("BGP-03", "fail", "frr1-seed-after-delete.bfd.json") }, peers: ["172.18.0.2", "172.18.0.3"] }).reasons).toEqual(["frr1: BFD session with 172.18.0.3: status down (control detection time expired), down for 4 s"]);
    const brief = parseBfdPeersBrief(text("BGP-03", "fail", "frr1-brief-after-delete.txt"));
    expect(bgp03({ bfd: { frr1: brief }, peers: ["172.18.0.3"] }).reasons[0]).toMatch(/^frr1: BFD session with 172\.18\.0\.3: status down; receive-interval not reported/);
  });

  it("BGP-03 fails naming timers that differ from the profile", async () => {
    await behaviour("BGP-03", "R");
    expect(bgp03({ bfd: { frr1: bfd("BGP-03", "fail", "frr1-slow-timers.bfd.json") }, peers: SPEAKERS }).reasons).toEqual(["frr1: BFD session with 10.253.41.22: receive-interval 1000 ms, profile says 300 ms; transmit-interval 1000 ms, profile says 300 ms"]);
  });
});

describe("BGP-04 a lost node's BFD session drops within multiplier × interval + margin; next hop withdrawn", () => {
  const sampled = (k: Kind, name: string) => {
    const f = loadFixture("BGP-04", k, name);
    const faultAtMs = Number(/faultAtMs: (\d+)/.exec(f.source)![1]);
    return { faultAtMs, samples: parseBfdSamples(f.text, { dropTruncatedLast: true }).samples };
  };
  const base = (k: Kind, name: string, router = "frr1") => ({
    router,
    ...sampled(k, name),
    lostNode: SPEAKERS[0]!,
    others: [SPEAKERS[1]!],
    marginMs: 400,
    vip: VIP,
    routesAfter: { frr1: routes("BGP-04", "pass", "frr1-after.routes.json"), frr2: routes("BGP-04", "pass", "frr2-after.routes.json") },
  });

  it("BGP-04 passes on the recorded pause of speaker1, seen from frr1 and frr2 (detection within 1300 ms)", async () => {
    await behaviour("BGP-04", "R");
    for (const [r, name] of [["frr1", "frr1.bfd-samples.txt"], ["frr2", "frr2.bfd-samples.txt"]] as const) {
      const v = bgp04(base("pass", name, r));
      expect(v.ok, formatVerdict(v)).toBe(true);
      expect(Number(v.measurements?.detectionMs)).toBeLessThanOrEqual(1300);
      expect(Number(v.measurements?.detectionLowerMs)).toBeLessThan(Number(v.measurements?.detectionMs));
      expect(v.reasons).toContain("frr1: withdrew next hop 10.253.41.21 for 203.0.113.200; remaining 10.253.41.22");
    }
  });

  it("BGP-04 passes on samples recorded live: MetalLB FRR mode on kind, netconform-worker killed, seen from frr1 and frr2", async () => {
    await behaviour("BGP-04", "R");
    const routesAfter = { frr1: routes("BGP-04", "pass", "live-frr1-after.routes.json"), frr2: routes("BGP-04", "pass", "live-frr2-after.routes.json") };
    for (const r of ["frr1", "frr2"] as const) {
      const v = bgp04({ router: r, ...sampled("pass", `live-${r}.bfd-samples.txt`), lostNode: "172.30.0.10", others: ["172.30.0.8"], marginMs: 400, vip: VIP, routesAfter });
      expect(v.ok, formatVerdict(v)).toBe(true);
      // a BFD timeout measured from the kill: between (multiplier − 1) × interval and multiplier × interval
      expect(Number(v.measurements?.detectionMs)).toBeGreaterThan(600);
      expect(Number(v.measurements?.detectionMs)).toBeLessThanOrEqual(1300);
    }
  });

  it("BGP-04 fails on the same live samples when the expected profile is tighter (2 × 300 ms, no margin)", async () => {
    await behaviour("BGP-04", "R");
    const v = bgp04({ router: "frr1", ...sampled("pass", "live-frr1.bfd-samples.txt"), lostNode: "172.30.0.10", others: ["172.30.0.8"], marginMs: 0, timers: { receiveIntervalMs: 300, transmitIntervalMs: 300, detectMultiplier: 2 } });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual([expect.stringMatching(/^frr1: the BFD session with 172\.30\.0\.10 went down \d+ ms after the fault, more than 2 × 300 ms \+ 0 ms margin = 600 ms$/)]);
  });

  it("BGP-04 fails naming a late detection", async () => {
    await behaviour("BGP-04", "R");
    const v = bgp04(base("fail", "frr1-late.bfd-samples.txt"));
    expect(v.reasons).toEqual([expect.stringMatching(/^frr1: the BFD session with 10\.253\.41\.21 went down (20\d\d|2[1-9]\d\d) ms after the fault, more than 3 × 300 ms \+ 400 ms margin = 1300 ms$/)]);
  });

  it("BGP-04 fails naming a surviving session that went down, and a next hop not withdrawn", async () => {
    await behaviour("BGP-04", "R");
    expect(bgp04(base("fail", "frr1-other-down.bfd-samples.txt")).reasons).toEqual([expect.stringMatching(/^frr1: the BFD session with 10\.253\.41\.22 \(not faulted\) was down 1[5-9]\d\d ms after the fault$/)]);
    const v = bgp04({ ...base("pass", "frr1.bfd-samples.txt"), routesAfter: { frr1: routes("BGP-04", "fail", "frr1-not-withdrawn.routes.json") } });
    expect(v.reasons).toEqual(["frr1: still routes 203.0.113.200 via the lost node 10.253.41.21 (next hops 10.253.41.22, 10.253.41.21)"]);
  });

  it("BGP-04 fails when there is no baseline before the fault", async () => {
    await behaviour("BGP-04", "R");
    const b = base("pass", "frr1.bfd-samples.txt");
    const v = bgp04({ ...b, samples: b.samples.filter((s) => s.atMs > b.faultAtMs) });
    expect(v.reasons[0]).toBe("frr1: no sample before the fault shows the BFD session with 10.253.41.21 up (baseline missing: no samples before the fault)");
  });
});

describe("BGP-05 peers behind a next-hop router (multi-hop, static routes)", () => {
  const input = (o: { routes?: string; neighbors?: string; ping?: string } = {}) => ({
    peer: "frr1",
    routes: parseIpRoute(text("BGP-05", o.routes ? "fail" : "pass", o.routes ?? "frr1.ip-route.json")),
    neighbors: parseBgpNeighbors(text("BGP-05", o.neighbors ? "fail" : "pass", o.neighbors ?? "frr1.neighbors.json")),
    bfd: parseBfdPeers(text("BGP-05", "pass", "frr1.bfd.json")),
    nodes: [SPEAKERS[0]!],
    router: "10.253.42.254",
    replyTtl: { [SPEAKERS[0]!]: parsePing(text("BGP-05", o.ping ? "fail" : "pass", o.ping ?? "frr1-ping-speaker1.txt")).ttls[0]! },
  });

  it("BGP-05 passes: static route via the router, eBGP multihop 2, multihop BFD, TTL 63", async () => {
    await behaviour("BGP-05", "R");
    const v = bgp05(input());
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.reasons).toEqual(["frr1: node 10.253.41.21 via 10.253.42.254 (route 10.253.41.0/24)", "frr1: eBGP multihop 2 session with 10.253.41.21 Established", "frr1: replies from 10.253.41.21 arrive with TTL 63 (1 hop(s))"]);
  });

  it("BGP-05 fails without the static route (only the default route)", async () => {
    await behaviour("BGP-05", "R");
    expect(bgp05(input({ routes: "frr1-no-static-route.ip-route.json" })).reasons).toEqual([
      "frr1: node 10.253.41.21 is reached via 10.253.42.1 (route default), not the next-hop router 10.253.42.254",
      "frr1: node 10.253.41.21 only reached through the default route; expected a static route to the node network",
    ]);
  });

  it("BGP-05 fails naming a neighbour without ebgp-multihop, and a TTL of 64", async () => {
    await behaviour("BGP-05", "R");
    expect(bgp05(input({ neighbors: "frr1-no-multihop.neighbors.json" })).reasons).toEqual([
      "frr1: BGP session with 10.253.41.21 is Active",
      "frr1: eBGP neighbour 10.253.41.21 has no ebgp-multihop (max hops 1); a session one router away cannot come up",
    ]);
    expect(bgp05(input({ ping: "frr1-ping-direct.txt" })).reasons).toEqual(["frr1: replies from 10.253.41.21 arrive with TTL 64: no router in between"]);
  });
});
