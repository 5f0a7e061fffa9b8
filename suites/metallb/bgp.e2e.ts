import type { V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { METALLB_IMAGES, bgpYaml, ensureMetalLB, kindNetwork } from "../../harness/components/metallb.ts";
import { withEvidence } from "../../harness/evidence/collector.ts";
import { parseBfdPeers, parseBfdSamples, parseBgpNeighbors, parseBgpRoutes, parseBgpSummary, type BfdPeer, type BgpRoutes, type BgpSummary } from "../../harness/evidence/parsers/frr.ts";
import { parseIpRoute } from "../../harness/evidence/parsers/ip-json.ts";
import { parsePing } from "../../harness/evidence/parsers/ping.ts";
import type { Executor } from "../../harness/exec/types.ts";
import { apply, deleteObjects, execInPod, waitFor, waitForDaemonSetReady, waitForDeploymentReady, waitForNodesReady } from "../../harness/kube/index.ts";
import { type Host, addRoute, freeSubnets, injectFault } from "../../harness/network/world.ts";
import { DEFAULT_BFD, bgp01, bgp02, bgp03, bgp04, bgp05 } from "../../harness/oracles/bgp.ts";
import { gateSuite, suiteMissing } from "../../harness/preflight/gate.ts";
import { attachJson, attachText, behaviour } from "../../harness/report/allure.ts";
import { log } from "../../harness/log.ts";
import { clusterSession } from "../../harness/session.ts";
import { METALLB_NS, backendsYaml, check, collector, deleteNamespace, getManyDetailed, node, nodeLink, serviceYaml, vipOf, waitVip } from "./lib.ts";

/**
 * MetalLB BGP + BFD (catalogue/BEHAVIOURS.md BGP: the kind BGP/BFD lab), live: MetalLB in FRR mode on the kind cluster,
 * two FRR peers on a second docker network behind a next-hop router attached to both networks,
 * static routes both ways, one iBGP session (AS 64500 on both sides, as in the lab) per worker and
 * peer with multihop BFD 300 ms / 300 ms / ×3 (the lab's BFDProfile). Every verdict comes from
 * harness/oracles/bgp.ts on the vtysh JSON of the peers and of the speakers' frr containers; a
 * client behind frr1 reaches the VIP over the BGP route. BGP-04 kills a worker's node container
 * (docker kill: no graceful BGP/BFD shutdown, as a power loss) and measures the BFD detection
 * time from samples taken inside each peer.
 */
const preflight = inject("suitePreflight");
const enabled = gateSuite(import.meta.filename, suiteMissing(preflight, { nodes: true }));
const NS = "nc-bgp";
const AS = 64500;
/** the next-hop router's own AS (not in the lab, where it routes statically and the VIP is never reached from behind the peers) */
const ROUTER_AS = 64600;
const POOL = "nc-bgp";
/** the BGP/BFD lab's VIP and its /29: documentation addresses (RFC 5737), routed only inside this world */
const VIP_RANGE = "203.0.113.200/29";
const BFD = { name: "nc-bfd", ...DEFAULT_BFD };
/** sampling inside the peer (50 ms sleep + one vtysh call per sample) and scheduling on 2 cores, on top of 3 × 300 ms */
const MARGIN_MS = 400;

/** the world's addresses in the second network (a free /24 chosen at run time) */
interface World2 {
  subnet: string;
  kindSubnet: string;
  /** the router's address on each network */
  routerKind: string;
  routerB: string;
  peers: Record<"frr1" | "frr2", Host>;
  peerIps: Record<"frr1" | "frr2", string>;
  router: Host;
  client: Host;
  /** node name → IPv4 on the kind network */
  nodeIps: Record<string, string>;
  workers: string[];
}

/** the peering vtysh calls of a test: attached, parsed */
async function vtysh(ex: Executor, label: string, cmd: string): Promise<string> {
  const out = (await ex.run(["vtysh", "-c", cmd], { timeoutMs: 30_000 })).stdout;
  await attachText(`${label}: ${cmd}`, out, cmd.endsWith("json") ? "application/json" : "text/plain");
  return out;
}

describe("metallb BGP + BFD", () => {
  const s = clusterSession({ preflight, enabled, topology: "default", images: ["agnhost", ...METALLB_IMAGES.frr] });
  let w: World2;
  let vip: string;

  /** node name → its speaker pod (FRR mode: the frr container answers vtysh) */
  async function speakers(): Promise<Record<string, V1Pod>> {
    const pods = (await s.kube.core.listNamespacedPod({ namespace: METALLB_NS, labelSelector: "component=speaker" })).items;
    return Object.fromEntries(pods.filter((p) => p.spec?.nodeName && !p.metadata?.deletionTimestamp).map((p) => [p.spec!.nodeName!, p]));
  }
  const frrOf = (p: V1Pod): Executor => ({
    where: `pod:${METALLB_NS}/${p.metadata!.name}/frr`,
    run: (argv, o) => execInPod(s.kube, METALLB_NS, p.metadata!.name!, "frr", argv, o?.timeoutMs),
  });
  const peerEx = (name: "frr1" | "frr2") => w.peers[name].exec;
  /** the next hops a router has for the VIP /32 (its `show bgp ipv4 unicast json`) */
  const vipHops = async (ex: Executor): Promise<string[]> =>
    (parseBgpRoutes((await ex.run(["vtysh", "-c", "show bgp ipv4 unicast json"])).stdout).routes[`${vip}/32`] ?? []).flatMap((x) => x.nexthops.map((n) => n.ip));
  const workerIps = () => w.workers.map((n) => w.nodeIps[n]!);

  /** Evidence of a failing BGP step: nodes, MetalLB and backend events and logs, and the world hosts that exist (vtysh on the FRR ones). */
  const evidence = () =>
    collector(s, undefined, [NS], () =>
      w ? [...(w.client ? [{ executor: w.client.exec, role: "client" }] : []), ...[w.router, ...Object.values(w.peers)].map((h) => ({ executor: h.exec, role: "frr" }))] : [],
    );

  /** the route from every node to the peers' network, through the next-hop router (the BGP/BFD lab "Configuring static routes") */
  async function nodeRoutes(): Promise<void> {
    for (const n of s.cluster.nodes) await node(s, n).run(["ip", "route", "replace", w.subnet, "via", w.routerKind]);
  }

  /** both peers: a BFD session up with every worker and a path to the VIP via every worker */
  async function converged(what: string): Promise<void> {
    for (const p of ["frr1", "frr2"] as const) {
      await waitFor(`${p}: BFD up with ${workerIps().join(", ")} (${what})`, async () => {
        const b = parseBfdPeers((await peerEx(p).run(["vtysh", "-c", "show bfd peers json"])).stdout);
        const up = workerIps().filter((ip) => b.some((x) => x.peer === ip && x.status === "up"));
        return { done: up.length === w.workers.length, detail: b.map((x) => `${x.peer} ${x.status}`).join(", ") || "no BFD peers" };
      }, { timeoutName: "bfdUp", config: s.run.config }, { intervalMs: 500 });
      await waitFor(`${p}: ${vip}/32 via ${workerIps().join(", ")} (${what})`, async () => {
        const hops = await vipHops(peerEx(p));
        return { done: workerIps().every((ip) => hops.includes(ip)), detail: `next hops ${hops.join(", ") || "none"}` };
      }, { timeoutName: "bgpEstablished", config: s.run.config }, { intervalMs: 500 });
    }
    await waitFor(`the next-hop router: ${vip}/32 via a worker (${what})`, async () => {
      const hops = await vipHops(w.router.exec);
      return { done: hops.some((h) => workerIps().includes(h)), detail: `next hops ${hops.join(", ") || "none"}` };
    }, { timeoutName: "bgpEstablished", config: s.run.config }, { intervalMs: 500 });
  }

  beforeAll(async () => {
    if (!enabled) return;
    const install = await ensureMetalLB(s.kube, s.run.config, "frr");
    if (install) log.info(`MetalLB FRR mode installed${install.replaced ? ` (replacing ${install.replaced} mode)` : ""}: apply ${install.applySeconds} s, rollout ${install.rolloutSeconds} s, webhook ${install.webhookSeconds} s`);
    const nodeIps: Record<string, string> = {};
    for (const n of s.cluster.nodes) nodeIps[n] = (await nodeLink(node(s, n))).ip;
    const workers = (await s.kube.core.listNode()).items.filter((n) => !("node-role.kubernetes.io/control-plane" in (n.metadata?.labels ?? {}))).map((n) => n.metadata!.name!).sort();
    if (workers.length < 2) throw new Error(`BGP suite: needs two workers (BGP-04 loses one), the cluster has ${workers.join(", ") || "none"}`);

    // the second network, the next-hop router on both, the peers and a client behind them
    const [subnet] = await freeSubnets(1);
    const net = await s.world.network("bgp-net", subnet!);
    const base = net.subnet.split("/")[0]!.split(".").slice(0, 3).join(".");
    const at = (i: number) => `${base}.${i}`;
    const routerB = at(254);
    const peerIps = { frr1: at(11), frr2: at(12) };
    // the next-hop router forwards the peers' traffic for the VIP to the workers: it learns the VIP
    // from both peers over eBGP with the workers kept as next hops (it has no session with the nodes)
    const router = await s.world.frr("nexthop", [{ network: "kind" }, { network: net.name, ip: routerB }], {
      asn: ROUTER_AS,
      routerId: routerB,
      neighbors: Object.values(peerIps).map((ip) => ({ ip, remoteAs: AS })),
    }, { forward: true });
    const routerKind = router.ips["kind"];
    if (!routerKind) throw new Error(`router ${router.name} has no address on the kind network`);
    const kindSubnet = (await kindNetwork("kind")).subnet;
    w = { subnet: net.subnet, kindSubnet, routerKind, routerB, router, nodeIps, workers, peerIps, peers: {} as World2["peers"], client: undefined as unknown as Host };
    await nodeRoutes();
    s.run.defer(`route ${net.subnet} on the nodes`, async () => {
      for (const n of s.cluster.nodes) await node(s, n).run(["ip", "route", "del", net.subnet], { allowFailure: true });
    });
    for (const p of ["frr1", "frr2"] as const) {
      const ip = w.peerIps[p];
      w.peers[p] = await s.world.frr(p, [{ network: net.name, ip }], {
        asn: AS,
        routerId: ip,
        bfd: DEFAULT_BFD,
        neighbors: [
          ...workers.map((n) => ({ ip: nodeIps[n]!, remoteAs: AS, bfd: true, bfdMultihop: true, localAddress: ip })),
          { ip: routerB, remoteAs: ROUTER_AS, nextHopUnchanged: true },
        ],
      }, { forward: true });
      await addRoute(w.peers[p], kindSubnet, routerB);
    }
    w.client = await s.world.host({ name: "bgp-client", role: "client", networks: [{ network: net.name, ip: at(21) }] });
    await addRoute(w.client, VIP_RANGE, w.peerIps.frr1);

    // MetalLB: the pool, its BGP advertisement, the BFD profile and the two peers, for the workers' speakers
    const objects = bgpYaml({
      pool: POOL,
      addresses: [VIP_RANGE],
      myAsn: AS,
      bfd: BFD,
      peers: (["frr1", "frr2"] as const).map((p) => ({ name: `nc-${p}`, address: w.peerIps[p], asn: AS })),
      nodeSelector: { matchExpressions: [{ key: "node-role.kubernetes.io/control-plane", operator: "DoesNotExist" }] },
    });
    await apply(s.kube, objects);
    // a reused cluster keeps MetalLB, not this run's peers (their addresses are gone with this world)
    s.run.defer("MetalLB BGP objects", async () => {
      // MetalLB's webhook validates these deletes: retry while it is away (a controller restarting)
      await waitFor("MetalLB BGP objects to be deleted", async () => {
        await deleteObjects(s.kube, objects);
        return { done: true, detail: "deleted" };
      }, { timeoutName: "webhookReady", config: s.run.config }, { intervalMs: 2_000 });
    });
    await apply(s.kube, backendsYaml(s, { ns: NS, name: "web" }));
    await waitForDaemonSetReady(s.kube, NS, "web", { config: s.run.config });
    await apply(s.kube, serviceYaml({ ns: NS, name: "web", app: "web", policy: "Cluster", pool: POOL }));
    vip = vipOf(await waitVip(s, NS, "web"));
    await converged("after setup");
  });

  afterAll(async () => {
    if (enabled && s.kube) await deleteNamespace(s.kube, NS);
  });

  it("BGP-05 the peers reach the workers through the next-hop router on the second network: static route, multihop BFD, replies one hop away", async () => {
    await behaviour("BGP-05", "L");
    await withEvidence("BGP-05 topology", evidence(), async () => {
      for (const p of ["frr1", "frr2"] as const) {
        const replyTtl: Record<string, number> = {};
        for (const ip of workerIps()) replyTtl[ip] = parsePing((await peerEx(p).run(["ping", "-c", "1", "-W", "2", ip], { timeoutMs: 10_000 })).stdout).ttls[0] ?? NaN;
        const routes = (await peerEx(p).run(["ip", "-j", "route"])).stdout;
        await attachText(`${p}: ip -j route`, routes, "application/json");
        await check(bgp05({
          peer: p,
          routes: parseIpRoute(routes),
          neighbors: parseBgpNeighbors(await vtysh(peerEx(p), p, "show bgp neighbors json")),
          bfd: parseBfdPeers(await vtysh(peerEx(p), p, "show bfd peers json")),
          nodes: workerIps(),
          router: w.routerB,
          replyTtl,
        }));
      }
    });
  });

  it("BGP-01 every worker's speaker is Established with both FRR peers, and each peer with every worker", async () => {
    await behaviour("BGP-01", "L");
    await withEvidence("BGP-01 sessions", evidence(), async () => {
      const sp = await speakers();
      const fromSpeakers: Record<string, BgpSummary> = {};
      for (const n of w.workers) {
        const pod = sp[n];
        expect(pod, `no speaker pod on ${n}`).toBeDefined();
        fromSpeakers[n] = parseBgpSummary(await vtysh(frrOf(pod!), `speaker ${n}`, "show bgp summary json"));
      }
      await check(bgp01({ summaries: fromSpeakers, peers: Object.values(w.peerIps) }));
      const fromPeers: Record<string, BgpSummary> = {};
      for (const p of ["frr1", "frr2"] as const) fromPeers[p] = parseBgpSummary(await vtysh(peerEx(p), p, "show bgp summary json"));
      const v = bgp01({ summaries: fromPeers, peers: workerIps() });
      await check(v);
      expect(v.measurements?.established).toBe(2 * w.workers.length);
    });
  });

  it("BGP-02 each peer has the VIP /32 via every worker, each speaker sends it (PfxSnt 1) to each peer, and a client behind frr1 reaches it", async () => {
    await behaviour("BGP-02", "L");
    await withEvidence("BGP-02 routes", evidence(), async () => {
      const sp = await speakers();
      const speakerSummaries: Record<string, BgpSummary> = {};
      for (const n of w.workers) speakerSummaries[n] = parseBgpSummary(await vtysh(frrOf(sp[n]!), `speaker ${n}`, "show bgp summary json"));
      const peerRoutes: Record<string, BgpRoutes> = {};
      for (const p of ["frr1", "frr2"] as const) peerRoutes[p] = parseBgpRoutes(await vtysh(peerEx(p), p, "show bgp ipv4 unicast json"));
      await check(bgp02({ vip, nodes: workerIps(), announcers: workerIps(), peerRoutes, speakerSummaries, peerAddresses: Object.values(w.peerIps) }));
      // the data path: client → frr1 (its BGP route, installed by zebra, resolved through the router)
      // → next-hop router (the VIP via the workers, learned from the peers) → a worker → a backend
      await attachText("frr1: ip route (kernel, after zebra)", (await peerEx("frr1").run(["ip", "route", "show", `${vip}/32`])).stdout);
      await attachText("nexthop router: ip route (kernel, after zebra)", (await w.router.exec.run(["ip", "route", "show", `${vip}/32`])).stdout);
      const { bodies, failures } = await getManyDetailed(w.client.exec, `http://${vip}/hostname`, 20);
      await attachJson("client → VIP answers (backend pod names)", bodies);
      expect(failures, `${failures.length} of 20 requests from ${w.client.name} to ${vip} failed: ${JSON.stringify(failures.slice(0, 3))}`).toEqual([]);
    });
  });

  it("BGP-03 a BFD session per worker and peer is up with the BFDProfile's 300/300/×3 timers, on the peers and in the speakers' FRR", async () => {
    await behaviour("BGP-03", "L");
    await withEvidence("BGP-03 BFD", evidence(), async () => {
      const sp = await speakers();
      const bfd: Record<string, BfdPeer[]> = {};
      const peers: Record<string, string[]> = {};
      for (const p of ["frr1", "frr2"] as const) {
        bfd[p] = parseBfdPeers(await vtysh(peerEx(p), p, "show bfd peers json"));
        peers[p] = workerIps();
      }
      for (const n of w.workers) {
        bfd[`speaker ${n}`] = parseBfdPeers(await vtysh(frrOf(sp[n]!), `speaker ${n}`, "show bfd peers json"));
        peers[`speaker ${n}`] = Object.values(w.peerIps);
      }
      const v = bgp03({ bfd, peers });
      await check(v);
      expect(v.measurements?.up).toBe(4 * w.workers.length);
    });
  });

  it("BGP-04 killing a worker's node container: its BFD sessions drop within 3 × 300 ms + 400 ms at both peers, the other worker's stay up, the peers withdraw that next hop", async () => {
    await behaviour("BGP-04", "L");
    const lost = w.workers[0]!;
    const lostIp = w.nodeIps[lost]!;
    const others = w.workers.filter((n) => n !== lost).map((n) => w.nodeIps[n]!);
    await withEvidence("BGP-04 BFD detection", evidence(), async () => {
      // samples inside each peer: docker exec latency stays out of the measurement; bounded to 6 s
      const sampler = (p: "frr1" | "frr2") =>
        peerEx(p).run(["timeout", "6", "sh", "-c", `while :; do echo "@@ $(date +%s%3N)"; vtysh -c 'show bfd peers json'; sleep 0.05; done`], { allowFailure: true, timeoutMs: 20_000 });
      const sampling = [sampler("frr1"), sampler("frr2")];
      await new Promise((r) => setTimeout(r, 1500));
      const faultAtMs = Date.now();
      const restart = await injectFault(lost, "kill");
      try {
        const outs = await Promise.all(sampling);
        for (const p of ["frr1", "frr2"] as const)
          await waitFor(`${p} to withdraw next hop ${lostIp}`, async () => {
            const hops = await vipHops(peerEx(p));
            return { done: !hops.includes(lostIp), detail: `next hops ${hops.join(", ") || "none"}` };
          }, { timeoutMs: 15_000, timeoutLabel: "next-hop withdrawal, 15 s" }, { intervalMs: 200 });
        const routesAfter: Record<string, BgpRoutes> = {};
        for (const p of ["frr1", "frr2"] as const) routesAfter[p] = parseBgpRoutes(await vtysh(peerEx(p), `${p} after`, "show bgp ipv4 unicast json"));
        const detections: number[] = [];
        for (const [i, p] of (["frr1", "frr2"] as const).entries()) {
          const text = outs[i]!.stdout;
          await attachText(`${p}: BFD samples (fault at ${faultAtMs})`, text);
          const { samples } = parseBfdSamples(text, { dropTruncatedLast: true });
          const v = bgp04({ router: p, samples, faultAtMs, lostNode: lostIp, others, marginMs: MARGIN_MS, vip, routesAfter, timers: DEFAULT_BFD });
          await check(v);
          detections.push(Number(v.measurements?.detectionMs));
          await attachText(`BGP-04 ${p}: detection`, `BFD detection ${v.measurements?.detectionLowerMs}..${v.measurements?.detectionMs} ms after killing ${lost} (bound ${v.measurements?.boundMs} ms), ${samples.length} samples`);
        }
        expect(Math.max(...detections)).toBeLessThanOrEqual(3 * 300 + MARGIN_MS);

        // negative controls on the same live evidence: BGP-03 now fails naming the lost session,
        // BGP-02 with the lost worker still required as an announcer fails naming its next hop
        const neg3 = bgp03({ bfd: { frr1: parseBfdPeers((await peerEx("frr1").run(["vtysh", "-c", "show bfd peers json"])).stdout) }, peers: workerIps() });
        expect(neg3.ok).toBe(false);
        expect(neg3.reasons.join("\n")).toContain(`frr1: BFD session with ${lostIp}: status`);
        const neg2 = bgp02({ vip, nodes: workerIps(), announcers: workerIps(), peerRoutes: routesAfter });
        expect(neg2.ok).toBe(false);
        expect(neg2.reasons.join("\n")).toContain(`frr1: ${vip}/32 has no path with next hop ${lostIp}`);
      } finally {
        await restart();
      }
    });
    // back: the node Ready, its route to the peers again (a restarted container has a new network
    // namespace), its speaker peering and BFD up at both peers
    await waitForNodesReady(s.kube, { config: s.run.config, count: s.cluster.nodes.length });
    await nodeRoutes();
    await waitForDaemonSetReady(s.kube, METALLB_NS, "speaker", { config: s.run.config });
    await waitForDeploymentReady(s.kube, METALLB_NS, "controller", { config: s.run.config });
    await converged(`after ${lost} came back`);
  });
});
