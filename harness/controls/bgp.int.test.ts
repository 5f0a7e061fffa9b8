/**
 * D-depth controls for the BGP family: real FRR daemons in containers, no Kubernetes.
 *
 * The BGP/BFD lab's shape with our own addresses: two "speakers" (FRR containers playing
 * MetalLB speakers on two nodes, each announcing the VIP /32 with itself as next hop) on network A,
 * two FRR peers on network B, a next-hop router between them, static routes both ways, eBGP
 * multihop and multihop BFD (300/300/×3, the BGP/BFD lab's BFDProfile). The BGP oracles run on the
 * vtysh JSON the peers print; then speaker1 is paused and BGP-04's oracle measures the BFD
 * detection time from samples taken inside the peer.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseBfdPeers, parseBfdSamples, parseBgpNeighbors, parseBgpRoutes, parseBgpSummary, type BfdPeer, type BgpRoutes, type BgpSummary } from "../evidence/parsers/frr.ts";
import { parseIpRoute } from "../evidence/parsers/ip-json.ts";
import { parsePing } from "../evidence/parsers/ping.ts";
import { type Host, World, addRoute, injectFault, waitUntil } from "../network/world.ts";
import { bgp01, bgp02, bgp03, bgp04, bgp05, DEFAULT_BFD } from "../oracles/bgp.ts";
import { formatVerdict } from "../oracles/verdict.ts";
import { attachJson, attachText, behaviour } from "../report/allure.ts";
import { tearDownLeavingNothing, testRun } from "../testing/run.ts";

const run = testRun("bgpctl");
const world = new World(run);
const A = { subnet: "10.253.41.0/24", router: "10.253.41.254", speaker1: "10.253.41.21", speaker2: "10.253.41.22" };
const B = { subnet: "10.253.42.0/24", router: "10.253.42.254", frr1: "10.253.42.11", frr2: "10.253.42.12" };
const VIP = "203.0.113.200";
const SPEAKER_AS = 64500;
const PEER_AS = 64512;
const NODES = [A.speaker1, A.speaker2];
const PEERS = [B.frr1, B.frr2];
/** sampling loop inside the peer: docker exec latency stays out of the measurement; 50 ms sleep + one vtysh call per sample */
const MARGIN_MS = 400;

let frr1: Host, frr2: Host, speaker1: Host, speaker2: Host;
/** NETCONFORM_RECORD_DIR=dir keeps the raw outputs (fixtures/evidence/BGP-* were recorded this way) */
const record = process.env.NETCONFORM_RECORD_DIR;
let phase = "before";

function keep(h: Host, what: string, out: string): void {
  if (!record) return;
  mkdirSync(record, { recursive: true });
  writeFileSync(join(record, `${phase}-${h.name.split("-").pop()}-${what.replace(/\W+/g, "_")}.txt`), out);
}
async function vtysh(h: Host, cmd: string): Promise<string> {
  const out = (await h.exec.run(["vtysh", "-c", cmd])).stdout;
  keep(h, cmd, out);
  await attachText(`${h.name}: ${cmd}`, out, cmd.endsWith("json") ? "application/json" : "text/plain");
  return out;
}
const summary = async (h: Host): Promise<BgpSummary> => parseBgpSummary(await vtysh(h, "show bgp summary json"));
const routes = async (h: Host): Promise<BgpRoutes> => parseBgpRoutes(await vtysh(h, "show bgp ipv4 unicast json"));
const bfd = async (h: Host): Promise<BfdPeer[]> => parseBfdPeers(await vtysh(h, "show bfd peers json"));

describe("BGP D-depth controls (FRR peers behind a next-hop router, no Kubernetes)", () => {
  beforeAll(async () => {
    const a = await world.network("a", A.subnet);
    const b = await world.network("b", B.subnet);
    await world.router("router", [{ network: a.name, ip: A.router }, { network: b.name, ip: B.router }]);
    const bfdTimers = DEFAULT_BFD;
    const nb = (ip: string, local: string, remoteAs: number) => ({ ip, remoteAs, bfd: true, multihop: 2, localAddress: local });
    frr1 = await world.frr("frr1", [{ network: b.name, ip: B.frr1 }], { asn: PEER_AS, routerId: B.frr1, bfd: bfdTimers, neighbors: NODES.map((n) => nb(n, B.frr1, SPEAKER_AS)) });
    frr2 = await world.frr("frr2", [{ network: b.name, ip: B.frr2 }], { asn: PEER_AS, routerId: B.frr2, bfd: bfdTimers, neighbors: NODES.map((n) => nb(n, B.frr2, SPEAKER_AS)) });
    const speakers: Host[] = [];
    for (const [name, ip] of [["speaker1", A.speaker1], ["speaker2", A.speaker2]] as const) {
      const h = await world.frr(name, [{ network: a.name, ip }], { asn: SPEAKER_AS, routerId: ip, bfd: bfdTimers, networks: [`${VIP}/32`], neighbors: PEERS.map((p) => nb(p, ip, PEER_AS)) });
      // the VIP on lo: the route a `network` statement needs, as MetalLB's speaker has it in its RIB
      await h.exec.run(["ip", "addr", "add", `${VIP}/32`, "dev", "lo"]);
      await addRoute(h, B.subnet, A.router);
      speakers.push(h);
    }
    [speaker1, speaker2] = speakers as [Host, Host];
    for (const f of [frr1, frr2]) await addRoute(f, A.subnet, B.router);
    for (const f of [frr1, frr2]) {
      await waitUntil(`BFD up on ${f.name}`, async () => {
        const p = parseBfdPeers((await f.exec.run(["vtysh", "-c", "show bfd peers json"])).stdout);
        return p.length === 2 && p.every((x) => x.status === "up");
      }, 120_000, 500);
      await waitUntil(`two paths for ${VIP} on ${f.name}`, async () => (parseBgpRoutes((await f.exec.run(["vtysh", "-c", "show bgp ipv4 unicast json"])).stdout).routes[`${VIP}/32`]?.length ?? 0) === 2, 120_000, 500);
    }
  });

  afterAll(() => tearDownLeavingNothing(run));

  it("BGP-05 the peers reach the speakers through the next-hop router: static route, eBGP multihop, multihop BFD, TTL 63", async () => {
    await behaviour("BGP-05", "D");
    for (const f of [frr1, frr2]) {
      const replyTtl: Record<string, number> = {};
      for (const n of NODES) {
        const ping = parsePing((await f.exec.run(["ping", "-c", "1", "-W", "2", n], { timeoutMs: 10_000 })).stdout);
        replyTtl[n] = ping.ttls[0] ?? NaN;
      }
      const ipRoute = (await f.exec.run(["ip", "-j", "route"])).stdout;
      keep(f, "ip -j route", ipRoute);
      await attachText(`${f.name}: ip -j route`, ipRoute, "application/json");
      const v = bgp05({
        peer: f.name,
        routes: parseIpRoute(ipRoute),
        neighbors: parseBgpNeighbors(await vtysh(f, "show bgp neighbors json")),
        bfd: await bfd(f),
        nodes: NODES,
        router: B.router,
        replyTtl,
      });
      expect(v.ok, formatVerdict(v)).toBe(true);
    }
  });

  it("BGP-05 negative control: the oracle rejects the peer's view of a directly connected neighbour (its own network)", async () => {
    await behaviour("BGP-05", "D");
    // frr1's route table puts frr2 on the connected network: judged as a "node", it is not behind the router
    const v = bgp05({ peer: frr1.name, routes: parseIpRoute((await frr1.exec.run(["ip", "-j", "route"])).stdout), neighbors: {}, nodes: [B.frr2], router: B.router });
    expect(v.ok).toBe(false);
    expect(v.reasons.join("\n")).toMatch(new RegExp(`node ${B.frr2.replace(/\./g, "\\.")} is directly connected`));
  });

  it("BGP-01 every speaker is Established with both peers, and each peer with both speakers", async () => {
    await behaviour("BGP-01", "D");
    const v1 = bgp01({ summaries: { speaker1: await summary(speaker1), speaker2: await summary(speaker2) }, peers: PEERS });
    expect(v1.ok, formatVerdict(v1)).toBe(true);
    const v2 = bgp01({ summaries: { frr1: await summary(frr1), frr2: await summary(frr2) }, peers: NODES });
    expect(v2.ok, formatVerdict(v2)).toBe(true);
    expect(v1.measurements?.established).toBe(4);
  });

  it("BGP-02 each peer has the VIP /32 via both nodes; each speaker sends it (PfxSnt 1) to each peer", async () => {
    await behaviour("BGP-02", "D");
    const v = bgp02({
      vip: VIP,
      nodes: NODES,
      announcers: NODES,
      peerRoutes: { frr1: await routes(frr1), frr2: await routes(frr2) },
      speakerSummaries: { speaker1: await summary(speaker1), speaker2: await summary(speaker2) },
      peerAddresses: PEERS,
    });
    expect(v.ok, formatVerdict(v)).toBe(true);
  });

  it("BGP-03 a BFD session per node and peer is up with the profile's 300/300/×3 timers", async () => {
    await behaviour("BGP-03", "D");
    const v = bgp03({ bfd: { frr1: await bfd(frr1), frr2: await bfd(frr2), speaker1: await bfd(speaker1), speaker2: await bfd(speaker2) }, peers: { frr1: NODES, frr2: NODES, speaker1: PEERS, speaker2: PEERS } });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.measurements?.up).toBe(8);
  });

  it("BGP-04 pausing speaker1: its BFD sessions drop within 3 × 300 ms + margin, speaker2's stay up, the peers withdraw next hop speaker1", async () => {
    await behaviour("BGP-04", "D");
    const sampler = (h: Host) =>
      h.exec.run(["timeout", "4", "sh", "-c", `while :; do echo "@@ $(date +%s%3N)"; vtysh -c 'show bfd peers json'; sleep 0.05; done`], { allowFailure: true, timeoutMs: 15_000 });
    const sampling = [sampler(frr1), sampler(frr2)];
    await new Promise((r) => setTimeout(r, 1000));
    const faultAtMs = Date.now();
    const undo = await injectFault(speaker1.name, "pause");
    try {
      const outs = await Promise.all(sampling);
      // the peers tear the BGP session down on BFD down: wait for the path to go
      for (const f of [frr1, frr2]) {
        await waitUntil(`${f.name} withdraws ${A.speaker1}`, async () => {
          const r = parseBgpRoutes((await f.exec.run(["vtysh", "-c", "show bgp ipv4 unicast json"])).stdout);
          return !(r.routes[`${VIP}/32`] ?? []).some((p) => p.nexthops.some((n) => n.ip === A.speaker1));
        }, 10_000, 200);
      }
      phase = "after";
      const routesAfter = { frr1: await routes(frr1), frr2: await routes(frr2) };
      const detections: number[] = [];
      for (const [i, f] of [frr1, frr2].entries()) {
        const text = outs[i]!.stdout;
        if (record) writeFileSync(join(record, `${f.name.split("-").pop()}-bfd-samples.txt`), `# faultAtMs ${faultAtMs}\n${text}`);
        await attachText(`${f.name}: BFD samples (fault at ${faultAtMs})`, text);
        const { samples } = parseBfdSamples(text, { dropTruncatedLast: true });
        const v = bgp04({ router: f.name, samples, faultAtMs, lostNode: A.speaker1, others: [A.speaker2], marginMs: MARGIN_MS, vip: VIP, routesAfter });
        await attachJson(`BGP-04 verdict ${f.name}`, v);
        expect(v.ok, formatVerdict(v)).toBe(true);
        detections.push(Number(v.measurements?.detectionMs));
        console.log(`BGP-04 ${f.name}: BFD detection ${v.measurements?.detectionLowerMs}..${v.measurements?.detectionMs} ms (bound ${v.measurements?.boundMs} ms), ${samples.length} samples`);
      }
      expect(Math.max(...detections)).toBeLessThanOrEqual(3 * 300 + MARGIN_MS);

      // negative control: BGP-03 on the peers' BFD state while speaker1 is lost fails and names the down session
      const neg = bgp03({ bfd: { frr1: await bfd(frr1) }, peers: NODES });
      expect(neg.ok).toBe(false);
      expect(neg.reasons).toEqual([expect.stringMatching(new RegExp(`^frr1: BFD session with ${A.speaker1.replace(/\./g, "\\.")}: status (down|init) \\(control detection time expired\\)`))]);
      // and BGP-02 with both nodes required as announcers fails naming the missing next hop
      const neg2 = bgp02({ vip: VIP, nodes: NODES, announcers: NODES, peerRoutes: routesAfter });
      expect(neg2.ok).toBe(false);
      expect(neg2.reasons.join("\n")).toMatch(new RegExp(`frr1: ${VIP.replace(/\./g, "\\.")}/32 has no path with next hop ${A.speaker1.replace(/\./g, "\\.")}`));
    } finally {
      await undo();
    }
    phase = "recovered";
    await waitUntil("BFD up again after unpause", async () => parseBfdPeers((await frr1.exec.run(["vtysh", "-c", "show bfd peers json"])).stdout).every((p) => p.status === "up"), 60_000, 500);
  });
});
