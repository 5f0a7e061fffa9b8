import { randomBytes } from "node:crypto";
import type { V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { METALLB_IMAGES } from "../../harness/components/metallb.ts";
import { INNER_PORTS, type GatewayMode, type InnerProto, XFRM_IF_ID, resolveMode, backendsYaml, endpointYaml, ikeServiceYaml, innerServiceYaml, namespaceYaml, tunnelDevice, unadvertisedPoolYaml } from "../../harness/components/ipsec.ts";
import { loadConfig } from "../../harness/config.ts";
import type { Executor } from "../../harness/exec/types.ts";
import { withEvidence } from "../../harness/evidence/collector.ts";
import { parseConntrack } from "../../harness/evidence/parsers/conntrack.ts";
import { parseIpLink } from "../../harness/evidence/parsers/ip-json.ts";
import { parseXfrmState } from "../../harness/evidence/parsers/xfrm.ts";
import { PodExecutor, apply, podLogs, waitFor, waitForDaemonSetReady, waitForDeploymentReady } from "../../harness/kube/index.ts";
import { renderSwanctlConf, type TunnelSpec } from "../../harness/network/ipsec.ts";
import type { Host } from "../../harness/network/world.ts";
import { type Flow, ipsec01, ipsec02, ipsec03, ipsec04, ipsec05 } from "../../harness/oracles/ipsec.ts";
import { formatVerdict, type Verdict } from "../../harness/oracles/verdict.ts";
import { gateSuite, skipForKernel, suiteMissing } from "../../harness/preflight/gate.ts";
import { type KernelFeature, requireFeatures } from "../../harness/preflight/kernel.ts";
import { attachJson, attachText, behaviour } from "../../harness/report/allure.ts";
import { redact } from "../../harness/report/redact.ts";
import { clusterSession } from "../../harness/session.ts";
import { type Env, check, collector, deleteNamespace, macOwner, neighbours, node, pools, prepare, waitVip, vipOf } from "../metallb/lib.ts";
import { connectClient, listSas, probe, type ProbeResult } from "./lib.ts";

/**
 * IPsec to a MetalLB VIP, live (BEHAVIOURS.md IPSEC): the topology of the lab notes on kind.
 *
 *   client container (kind network, own strongSwan, inner address 192.0.2.1 on lo)
 *     ── IKE/NAT-T ──▶ IKE VIP (MetalLB L2, externalTrafficPolicy Local, UDP 500/4500)
 *                        └▶ gateway DaemonSet (strongSwan, hostNetwork) on the VIP owner
 *     ══ tunnel ══▶ inner VIP 198.51.100.x (MetalLB pool with no advertisement: only the tunnel
 *                   reaches it) ──▶ agnhost backends on both workers (TCP 80, UDP 81, SCTP 82)
 *
 * IPSEC-05 is the other shape: one pod (not hostNetwork) that is IPsec endpoint and service.
 * The route-based datapath is the suite parameter (NETCONFORM_IPSEC_MODE, in every test name):
 * kernel-libipsec over TUN where the kernel has no in-kernel ESP (this workplace), XFRM interfaces
 * (if_id) where it has them. Verdicts from harness/oracles/ipsec.ts on SA counters from the cluster
 * end, conntrack on the VIP owner and the replies the client counted. The PSK is random per run,
 * travels in a Secret and is checked to be absent from every attachment and log.
 */
const preflight = inject("suitePreflight");
const enabled = gateSuite(import.meta.filename, suiteMissing(preflight, { nodes: true }));
const NS = "nc-ipsec";
const config = loadConfig();
const MODE = await resolveMode(config);
const M = `[${MODE.mode}]`;

const CLIENT_INNER = "192.0.2.1";
const INNER_NET = "198.51.100.0/24";
const GATEWAY_TS = "198.51.100.1";
const INNER_POOL = "198.51.100.16-198.51.100.23";
const ENDPOINT_NET = "203.0.113.0/24";
const ENDPOINT_SVC = "203.0.113.5";
const PROBES = 20;
const PSK = randomBytes(24).toString("base64url");

/** The cluster end of a TunnelSpec: configured by its pod's start script, measured through a PodExecutor. */
const clusterEnd = (name: string): { name: string; exec: Executor } => ({
  name,
  exec: {
    where: name,
    run: () => Promise.reject(new Error(`${name}: the cluster end runs in a pod; use its PodExecutor`)),
  },
});

describe(`IPsec to a MetalLB VIP ${M}`, () => {
  const s = clusterSession({ preflight, enabled, topology: "default", images: ["agnhost", "strongswan", ...METALLB_IMAGES.native] });
  let env: Env;
  let ikePool: string;
  const attached: string[] = [];
  const clients: Host[] = [];
  const gwExecs = new Map<string, Executor>();
  /** per gateway mode: the world built for it (gateway + services + a client of its own) */
  const worlds = new Map<string, Promise<GatewayWorld>>();
  let endpointWorld: Promise<EndpointWorld> | undefined;
  let envClientFree = true;

  const evidence = () =>
    collector(s, env, [NS], () => [
      ...clients.map((c) => ({ executor: c.exec, role: "ipsec" })),
      ...[...gwExecs.values()].map((x) => ({ executor: x, role: "strongswan" })),
    ]);

  async function attach(name: string, text: string): Promise<void> {
    const t = redact(text);
    attached.push(t);
    await attachText(name, t);
  }
  async function mode(): Promise<void> {
    await attachJson("ipsec mode", { mode: MODE.mode, why: MODE.why, ...(MODE.missing ? { missing: MODE.missing } : {}) });
  }

  beforeAll(async () => {
    if (!enabled) return;
    env = await prepare(s, "ipsec-client");
    clients.push(env.client);
    const p = await pools(s, env, [{ name: "nc-ipsec-ike" }], { offset: 6 });
    ikePool = p["nc-ipsec-ike"]![0]!;
    await apply(s.kube, unadvertisedPoolYaml({ name: "nc-ipsec-inner", addresses: [INNER_POOL] }), { webhookRetry: { timeoutName: "webhookReady", config: s.run.config } });
    await apply(s.kube, namespaceYaml(NS));
  });
  afterAll(async () => {
    if (!enabled || !s.kube) return;
    await deleteNamespace(s.kube, NS);
    for (const n of ["nc-ipsec-ike", "nc-ipsec-inner"]) {
      await s.kube.objects.delete({ apiVersion: "metallb.io/v1beta1", kind: "L2Advertisement", metadata: { name: n, namespace: "metallb-system" } }).catch(() => {});
      await s.kube.objects.delete({ apiVersion: "metallb.io/v1beta1", kind: "IPAddressPool", metadata: { name: n, namespace: "metallb-system" } }).catch(() => {});
    }
    // the gateway's own SIGTERM cleanup removes these; make sure on a kept cluster
    for (const n of s.cluster?.nodes ?? []) await node(s, n).run(["ip", "addr", "del", `${GATEWAY_TS}/32`, "dev", "lo"], { allowFailure: true }).catch(() => {});
  });

  // ------------------------------------------------------------------------------------------
  // the worlds

  interface GatewayWorld {
    mode: GatewayMode;
    client: Host;
    spec: TunnelSpec;
    ikeVip: string;
    innerVip: string;
    owner: string;
    gw: Executor;
    backends: V1Pod[];
    hostBackends: boolean;
  }

  const backendNames = (w: { backends: V1Pod[] }): string[] => w.backends.map((p) => p.metadata!.name!);

  /** The gateway DaemonSet in `mode`, backends, the IKE and inner services, a client with its tunnel up. */
  function gatewayWorld(gmode: GatewayMode, o: { hostBackends?: boolean; innerPolicy?: "Cluster" | "Local"; protos: InnerProto[] }): Promise<GatewayWorld> {
    const key = `${gmode}/${o.hostBackends ? "host" : "pods"}/${o.innerPolicy ?? "Cluster"}`;
    let w = worlds.get(key);
    if (!w) {
      w = buildGatewayWorld(gmode, o, key.replace(/\//g, "-").toLowerCase());
      worlds.set(key, w);
    }
    return w;
  }

  async function buildGatewayWorld(gmode: GatewayMode, o: { hostBackends?: boolean; innerPolicy?: "Cluster" | "Local"; protos: InnerProto[] }, key: string): Promise<GatewayWorld> {
    // one gateway DaemonSet at a time (they share the nodes' UDP 500/4500): the previous one goes first
    await s.kube.apps.deleteNamespacedDaemonSet({ namespace: NS, name: "gateway" }).catch(() => {});
    await waitFor("previous gateway pods to be gone", async () => {
      const left = (await s.kube.core.listNamespacedPod({ namespace: NS, labelSelector: "app=gateway" })).items.length;
      return { done: left === 0, detail: `${left} left` };
    }, { timeoutMs: 60_000, timeoutLabel: "gateway pod deletion, 60 s" });
    // the client prepare() started carries the first tunnel; every further world gets a client of its own
    const client = envClientFree ? env.client : await s.world.host({ name: `ipsec-client-${key}`, role: "ipsec", networks: [{ network: "kind" }] });
    envClientFree = false;
    if (!clients.includes(client)) clients.push(client);
    const clientIp = client.ips["kind"]!;
    const backendApp = o.hostBackends ? "hostweb" : "web";
    await apply(s.kube, backendsYaml({ ns: NS, name: backendApp, image: s.image("agnhost"), protos: o.protos, hostNetwork: !!o.hostBackends }));
    await apply(s.kube, ikeServiceYaml({ ns: NS, name: "ike", app: "gateway", pool: "nc-ipsec-ike" }));
    await apply(s.kube, innerServiceYaml({ ns: NS, name: `inner-${backendApp}-${(o.innerPolicy ?? "Cluster").toLowerCase()}`, app: backendApp, pool: "nc-ipsec-inner", policy: o.innerPolicy ?? "Cluster", protos: o.protos }));
    const spec: TunnelSpec = {
      conn: "nc-gw",
      child: "nc-inner",
      psk: PSK,
      initiator: { host: client, id: "client.netconform", addr: clientIp, localTs: [`${CLIENT_INNER}/32`], tsAddress: CLIENT_INNER },
      // addr: the IKE VIP, filled in below once MetalLB assigned it (the gateway itself listens on %any)
      responder: { host: clusterEnd("gateway DaemonSet"), id: "gateway.netconform", addr: "%any", localTs: [INNER_NET], tsAddress: GATEWAY_TS, ...(gmode === "xfrmi" ? { ifId: XFRM_IF_ID } : {}), ...(gmode === "vti" ? { mark: 100 } : {}) },
    };
    await apply(s.kube, endpointYaml({ ns: NS, name: "gateway", image: s.image("strongswan"), mode: gmode, spec, remoteTs: `${CLIENT_INNER}/32`, peer: clientIp, kind: "gateway" }));
    await waitForDaemonSetReady(s.kube, NS, "gateway", { config: s.run.config });
    await waitForDaemonSetReady(s.kube, NS, backendApp, { config: s.run.config });
    const ikeVip = vipOf(await waitVip(s, NS, "ike"));
    const innerVip = vipOf(await waitVip(s, NS, `inner-${backendApp}-${(o.innerPolicy ?? "Cluster").toLowerCase()}`));
    spec.responder.addr = ikeVip;
    await connectClient(spec, { config: s.run.config });
    // the VIP owner: the node whose MAC the client resolved the IKE VIP to
    const n = (await neighbours(client.exec)).find((x) => x.ip === ikeVip && x.mac);
    const owner = macOwner(env, n?.mac);
    if (!owner) throw new Error(`the client resolved the IKE VIP ${ikeVip} to no node's MAC (${n?.mac ?? "no neighbour entry"})`);
    const gwPod = (await s.kube.core.listNamespacedPod({ namespace: NS, labelSelector: "app=gateway" })).items.find((p) => p.spec?.nodeName === owner);
    if (!gwPod) throw new Error(`no gateway pod on the VIP owner ${owner}`);
    const gw = new PodExecutor(s.kube, NS, gwPod.metadata!.name!, "strongswan");
    gwExecs.set(key, gw);
    await waitFor(`CHILD_SA ${spec.child} INSTALLED in ${gw.where} on ${owner}`, async () => {
      const { sas } = await listSas(gw);
      const ok = sas.some((i) => i.state === "ESTABLISHED" && i.children.some((c) => c.name === spec.child && c.state === "INSTALLED"));
      return { done: ok, detail: ok ? "INSTALLED" : `${sas.length} IKE_SA(s), child not INSTALLED` };
    }, { timeoutName: "vipAnnounced", config: s.run.config });
    const backends = (await s.kube.core.listNamespacedPod({ namespace: NS, labelSelector: `app=${backendApp}` })).items;
    return { mode: gmode, client, spec, ikeVip, innerVip, owner, gw, backends, hostBackends: !!o.hostBackends };
  }

  interface EndpointWorld {
    client: Host;
    spec: TunnelSpec;
    ikeVip: string;
    owner: string;
    gw: Executor;
    names: string[];
  }

  /** IPSEC-05: one pod (pod network) with strongSwan and agnhost, the service address on its lo, its own IKE VIP and client. */
  async function buildEndpointWorld(): Promise<EndpointWorld> {
    const client = await s.world.host({ name: "ipsec-client-endpoint", role: "ipsec", networks: [{ network: "kind" }] });
    clients.push(client);
    const clientIp = client.ips["kind"]!;
    const spec: TunnelSpec = {
      conn: "nc-endpoint",
      child: "nc-svc",
      psk: PSK,
      initiator: { host: client, id: "client.netconform", addr: clientIp, localTs: [`${CLIENT_INNER}/32`], tsAddress: CLIENT_INNER },
      responder: { host: clusterEnd("endpoint pod"), id: "endpoint.netconform", addr: "%any", localTs: [ENDPOINT_NET], tsAddress: ENDPOINT_SVC, ...(MODE.mode === "xfrmi" ? { ifId: XFRM_IF_ID } : {}) },
    };
    await apply(s.kube, endpointYaml({ ns: NS, name: "endpoint", image: s.image("strongswan"), serviceImage: s.image("agnhost"), mode: MODE.mode, spec, remoteTs: `${CLIENT_INNER}/32`, peer: clientIp, kind: "endpoint" }));
    await apply(s.kube, ikeServiceYaml({ ns: NS, name: "ike-endpoint", app: "endpoint", pool: "nc-ipsec-ike" }));
    await waitForDeploymentReady(s.kube, NS, "endpoint", { config: s.run.config });
    const ikeVip = vipOf(await waitVip(s, NS, "ike-endpoint"));
    spec.responder.addr = ikeVip;
    await connectClient(spec, { config: s.run.config });
    const pod = (await s.kube.core.listNamespacedPod({ namespace: NS, labelSelector: "app=endpoint" })).items.find((p) => !p.metadata?.deletionTimestamp)!;
    const gw = new PodExecutor(s.kube, NS, pod.metadata!.name!, "strongswan");
    gwExecs.set("endpoint", gw);
    return { client, spec, ikeVip, owner: pod.spec!.nodeName!, gw, names: [pod.metadata!.name!] };
  }

  // ------------------------------------------------------------------------------------------
  // measurement

  interface Round {
    before: Awaited<ReturnType<typeof listSas>>;
    after: Awaited<ReturnType<typeof listSas>>;
    p: ProbeResult;
    conntrackText: string;
  }

  /**
   * SAs on the cluster end, probes, SAs again, and a conntrack snapshot on a node: of the probed
   * flow where the node NATs it (the gateway's inner VIP; cleaned first on `clean`), or of another
   * flow (`ct`: the endpoint pod's NAT-T flow through its IKE VIP, never cleaned: the tunnel rides it).
   */
  async function round(label: string, o: { gw: Executor; node: Executor; clean: Executor[]; client: Host; proto: InnerProto; dst: string; port: number; names: string[]; ct?: { proto: string; dst: string } }): Promise<Round> {
    // a clean conntrack for the probed flow (exit 1: nothing to delete)
    const t: Record<string, number> = {};
    const lap = (k: string, t0: number) => (t[k] = Date.now() - t0);
    let t0 = Date.now();
    for (const x of o.clean) await x.run(["conntrack", "-D", "-p", o.proto, "--orig-dst", o.dst], { allowFailure: true });
    lap("conntrack -D (ms)", t0);
    t0 = Date.now();
    const before = await listSas(o.gw);
    lap("SAs before (ms)", t0);
    t0 = Date.now();
    const p = await probe(o.client, { proto: o.proto, src: CLIENT_INNER, dst: o.dst, port: o.port, count: PROBES, names: o.names });
    lap("probes (ms)", t0);
    t0 = Date.now();
    const after = await listSas(o.gw);
    lap("SAs after (ms)", t0);
    t0 = Date.now();
    const ctf = o.ct ?? { proto: o.proto, dst: o.dst };
    const ct = await o.node.run(["conntrack", "-L", "-p", ctf.proto, "--orig-dst", ctf.dst], { allowFailure: true });
    lap("conntrack -L (ms)", t0);
    await attach(`${label}: ${o.gw.where} swanctl --list-sas before`, before.text);
    await attach(`${label}: ${o.gw.where} swanctl --list-sas after`, after.text);
    await attach(`${label}: ${o.node.where} conntrack -L -p ${ctf.proto} --orig-dst ${ctf.dst}`, ct.stdout + ct.stderr);
    await attach(`${label}: client probes`, p.raw);
    await attachJson(`${label}: client counts`, { ...p.client, answers: p.answers, timings: t });
    return { before, after, p, conntrackText: ct.stdout };
  }

  const flowOf = (proto: InnerProto, dst: string, port: number): Flow => ({ proto, dst, dport: port });
  const allNodes = (): Executor[] => s.cluster.nodes.map((n) => node(s, n));

  /** A round through the gateway world, as the IPSEC-01 oracle's input. */
  async function gatewayRound(w: GatewayWorld, label: string, proto: InnerProto) {
    const port = INNER_PORTS[proto].port;
    const r = await round(label, { gw: w.gw, node: node(s, w.owner), clean: allNodes(), client: w.client, proto, dst: w.innerVip, port, names: backendNames(w) });
    const onOwner = w.backends.filter((p) => p.spec?.nodeName === w.owner).map((p) => p.status!.podIP!);
    let xfrm;
    if (w.mode === "xfrmi") {
      const x = await node(s, w.owner).run(["ip", "-s", "xfrm", "state"]);
      await attach(`${label}: ${w.owner} ip -s xfrm state`, x.stdout);
      xfrm = parseXfrmState(x.stdout);
    }
    return {
      r,
      input: {
        sas: { before: r.before.sas, after: r.after.sas, child: w.spec.child },
        datapath: w.mode === "xfrmi" ? ("xfrmi" as const) : ("libipsec" as const),
        ...(w.mode === "xfrmi" ? { ifId: XFRM_IF_ID, xfrm } : {}),
        conntrack: parseConntrack(r.conntrackText).entries,
        flow: flowOf(proto, w.innerVip, port),
        vipOwnerBackends: onOwner,
        client: r.p.client,
      },
    };
  }

  async function report(v: Verdict, label: string): Promise<void> {
    await attachText(`${label}: verdict`, formatVerdict(v));
    process.stderr.write(`[ipsec suite] ${label}\n${formatVerdict(v)}\n`);
  }

  /** Kernel features on the nodes (they share the host's kernel), probed once per set: the skip reason, or undefined. */
  const kernelReqs = new Map<string, Promise<string | undefined>>();
  function kernelMissing(features: KernelFeature[]): Promise<string | undefined> {
    const key = features.join(",");
    let r = kernelReqs.get(key);
    if (!r) {
      r = requireFeatures(node(s, s.cluster.nodes[0]!), features).then((q) => (q.ok ? undefined : q.reason));
      kernelReqs.set(key, r);
    }
    return r;
  }
  /** The kernel features a protocol needs on the nodes, as a skip reason. */
  async function protoMissing(proto: InnerProto): Promise<string | undefined> {
    return proto === "sctp" ? kernelMissing(["IP_SCTP"]) : undefined;
  }
  let liveProtos: Promise<InnerProto[]> | undefined;
  const protos = (): Promise<InnerProto[]> => (liveProtos ??= protoMissing("sctp").then((m) => (m ? ["tcp", "udp"] : ["tcp", "udp", "sctp"])));

  // ------------------------------------------------------------------------------------------
  // IPSEC-01

  for (const proto of ["tcp", "udp", "sctp"] as const) {
    it(`IPSEC-01 ${M} route-based tunnel to the gateway VIP, ${proto.toUpperCase()} to the inner VIP: SAs installed, counters rise both ways, replies return (also from a backend on the VIP owner)`, async (ctx) => {
      await behaviour("IPSEC-01", "L");
      await mode();
      if (env.install && proto === "tcp") await attachJson("metallb install (seconds)", env.install);
      skipForKernel(ctx, MODE.missing);
      skipForKernel(ctx, await protoMissing(proto));
      await withEvidence(`IPSEC-01 ${proto} through the tunnel`, evidence(), async () => {
        const w = await gatewayWorld(MODE.mode, { protos: await protos() });
        for (const side of ["initiator", "responder"] as const) await attach(`swanctl.conf (${side}, redacted)`, renderSwanctlConf(w.spec, side));
        await attachJson("topology", { mode: w.mode, ikeVip: w.ikeVip, innerVip: w.innerVip, vipOwner: w.owner, gateway: w.gw.where, clientInner: CLIENT_INNER, backends: w.backends.map((p) => ({ name: p.metadata!.name, ip: p.status?.podIP, node: p.spec?.nodeName })) });
        if (w.mode === "libipsec") {
          // the datapath really is kernel-libipsec: the return route goes through the ipsec0 TUN
          const route = await node(s, w.owner).run(["ip", "route", "show", "table", "220"]);
          await attach(`${w.owner} ip route show table 220`, route.stdout);
          expect(route.stdout, `no route to ${CLIENT_INNER} through ipsec0 in table 220 on ${w.owner}`).toMatch(new RegExp(`^${CLIENT_INNER.replace(/\./g, "\\.")} dev ipsec0 `, "m"));
        }
        const { input } = await gatewayRound(w, `IPSEC-01 ${proto}`, proto);
        const v = ipsec01(input);
        await report(v, `IPSEC-01 ${proto}`);
        await check(v);
      });
    });
  }

  it(`IPSEC-01 ${M} negative control: the gateway's route back to the client's inner address removed → the oracle fails (replies never re-enter the tunnel)`, async (ctx) => {
    await behaviour("IPSEC-01", "L");
    await mode();
    skipForKernel(ctx, MODE.missing);
    const w = await gatewayWorld(MODE.mode, { protos: await protos() });
    const nx = node(s, w.owner);
    const dev = tunnelDevice(w.mode);
    const table = w.mode === "libipsec" ? ["table", "220"] : [];
    const shown = await nx.run(["ip", "route", "show", `${CLIENT_INNER}/32`, ...table]);
    await attach(`${w.owner}: the route removed for this control`, shown.stdout);
    expect(shown.stdout).toMatch(new RegExp(`dev ${dev}`));
    await nx.run(["ip", "route", "del", `${CLIENT_INNER}/32`, ...table]);
    let v: Verdict;
    try {
      v = ipsec01((await gatewayRound(w, "IPSEC-01 negative (no return route)", "tcp")).input);
    } finally {
      await nx.run(["ip", "route", "replace", `${CLIENT_INNER}/32`, "dev", dev, ...(w.mode === "libipsec" ? ["src", GATEWAY_TS] : []), ...table]);
    }
    await report(v, "IPSEC-01 negative (no return route)");
    expect(v.ok, formatVerdict(v)).toBe(false);
    const text = v.reasons.join("\n");
    expect(text).toMatch(/CHILD_SA nc-inner: bytes_out did not rise/);
    expect(text).not.toMatch(/bytes_in did not rise/); // the requests still came in through the tunnel
    expect(v.reasons).toContain(`client received 0 of ${PROBES} replies (${PROBES} TCP connections ${CLIENT_INNER} → ${w.innerVip}:80 (curl, 3 s timeouts))`);
    // and the tunnel works again once the route is back
    const again = ipsec01((await gatewayRound(w, "IPSEC-01 after the negative control", "tcp")).input);
    await report(again, "IPSEC-01 after the negative control");
    await check(again);
  });

  // ------------------------------------------------------------------------------------------
  // IPSEC-05

  for (const proto of ["tcp", "udp"] as const) {
    it(`IPSEC-05 ${M} IPsec endpoint and service in one pod, ${proto.toUpperCase()}: tunnel up, counters rise both ways, every probe answered`, async (ctx) => {
      await behaviour("IPSEC-05", "L");
      await mode();
      skipForKernel(ctx, MODE.missing);
      await withEvidence(`IPSEC-05 ${proto} to the service in the endpoint pod`, evidence(), async () => {
        const w = await (endpointWorld ??= buildEndpointWorld());
        await attachJson("topology", { mode: MODE.mode, ikeVip: w.ikeVip, serviceAddress: ENDPOINT_SVC, pod: w.gw.where, node: w.owner });
        const port = INNER_PORTS[proto].target;
        // conntrack: the pod's own namespace tracks nothing (no netfilter rule there registers it);
        // the node it runs on tracks the NAT-T flow the tunnel rides, DNATed from the IKE VIP to the pod
        const r = await round(`IPSEC-05 ${proto}`, { gw: w.gw, node: node(s, w.owner), clean: [], client: w.client, proto, dst: ENDPOINT_SVC, port, names: w.names, ct: { proto: "udp", dst: w.ikeVip } });
        const v = ipsec05({ sas: { before: r.before.sas, after: r.after.sas, child: w.spec.child }, client: r.p.client, conntrack: parseConntrack(r.conntrackText).entries, flow: { proto: "udp", dst: w.ikeVip, dport: 4500 } });
        await report(v, `IPSEC-05 ${proto}`);
        await check(v);
      });
    });
  }

  it(`IPSEC-05 ${M} negative control: the service address taken off the pod → the oracle fails`, async (ctx) => {
    await behaviour("IPSEC-05", "L");
    await mode();
    skipForKernel(ctx, MODE.missing);
    const w = await (endpointWorld ??= buildEndpointWorld());
    await w.gw.run(["ip", "addr", "del", `${ENDPOINT_SVC}/32`, "dev", "lo"]);
    let v: Verdict;
    try {
      const r = await round("IPSEC-05 negative (no service address)", { gw: w.gw, node: node(s, w.owner), clean: [], client: w.client, proto: "tcp", dst: ENDPOINT_SVC, port: 8080, names: w.names, ct: { proto: "udp", dst: w.ikeVip } });
      v = ipsec05({ sas: { before: r.before.sas, after: r.after.sas, child: w.spec.child }, client: r.p.client, conntrack: parseConntrack(r.conntrackText).entries, flow: { proto: "udp", dst: w.ikeVip, dport: 4500 } });
    } finally {
      // deleting the address also flushed charon's route that used it as its source: put both back
      await w.gw.run(["ip", "addr", "replace", `${ENDPOINT_SVC}/32`, "dev", "lo"]);
      const dev = tunnelDevice(MODE.mode);
      await w.gw.run(["ip", "route", "replace", `${CLIENT_INNER}/32`, "dev", dev, ...(MODE.mode === "libipsec" ? ["src", ENDPOINT_SVC, "table", "220"] : [])]);
    }
    await report(v, "IPSEC-05 negative (no service address)");
    expect(v.ok, formatVerdict(v)).toBe(false);
    expect(v.reasons.join("\n")).toMatch(/CHILD_SA nc-svc: bytes_out did not rise/);
    expect(v.reasons).toContain(`client received 0 of ${PROBES} replies (${PROBES} TCP connections ${CLIENT_INNER} → ${ENDPOINT_SVC}:8080 (curl, 3 s timeouts))`);
  });

  it(`IPSEC-01/05 ${M} the PSK is random per run and appears in no attachment, pod log or charon log`, async (ctx) => {
    await behaviour("IPSEC-01", "L");
    skipForKernel(ctx, MODE.missing);
    expect(worlds.size + (endpointWorld ? 1 : 0), "no tunnel was built by the tests before").toBeGreaterThan(0);
    const logs: string[] = [];
    for (const p of (await s.kube.core.listNamespacedPod({ namespace: NS })).items) {
      for (const c of p.spec!.containers) logs.push(await podLogs(s.kube, NS, p.metadata!.name!, c.name).catch(() => ""));
    }
    for (const c of clients) logs.push((await c.exec.run(["sh", "-c", "cat /var/log/charon.log /var/log/charon.out 2>/dev/null"], { allowFailure: true })).stdout);
    await attach("gateway and endpoint pod logs (tail)", logs.slice(0, -clients.length).map((l) => l.split("\n").slice(-60).join("\n")).join("\n----\n"));
    expect(logs.join("\n")).toMatch(/CHILD_SA nc-(inner|svc)\{\d+\} established/);
    expect(attached.length).toBeGreaterThan(5);
    expect([...attached, ...logs].filter((t) => t.includes(PSK)), "the PSK leaked").toEqual([]);
    // the rendered configuration did carry it, so the redaction above was exercised
    expect(attached.some((t) => t.includes("secret = <redacted>"))).toBe(true);
  });

  // ------------------------------------------------------------------------------------------
  // IPSEC-02/03/04: in-kernel ESP (policy-based) and VTI; kernel skips where those are absent

  for (const policy of ["Cluster", "Local"] as const) {
    // SCTP, as the engineers ran it: the kernel lab (harness/lab/ipsec.lab.test.ts) reproduces the
    // loss with SCTP only (the pod's CRC32c left to offload, sent through ESP unchecked); TCP is answered
    it(`IPSEC-02 policy-based tunnel, pod-network backends, inner VIP ${policy}: SCTP replies of backends on the VIP owner are lost (documented failure)`, async (ctx) => {
      await behaviour("IPSEC-02", "L");
      skipForKernel(ctx, await kernelMissing(["INET_ESP", "IP_SCTP"]));
      await withEvidence(`IPSEC-02 policy-based, ${policy}`, evidence(), async () => {
        const w = await gatewayWorld("policy", { innerPolicy: policy, protos: ["sctp"] });
        const { input } = await gatewayRound(w, `IPSEC-02 ${policy}`, "sctp");
        const v = ipsec02({ sas: input.sas, conntrack: input.conntrack, flow: input.flow, vipOwnerBackends: input.vipOwnerBackends, client: input.client });
        await report(v, `IPSEC-02 ${policy}`);
        await check(v);
      });
    });
  }

  for (const policy of ["Cluster", "Local"] as const) {
    it(`IPSEC-03 policy-based tunnel, hostNetwork backends, inner VIP ${policy}: passes`, async (ctx) => {
      await behaviour("IPSEC-03", "L");
      skipForKernel(ctx, await kernelMissing(["INET_ESP"]));
      await withEvidence(`IPSEC-03 policy-based, hostNetwork backends, ${policy}`, evidence(), async () => {
        const w = await gatewayWorld("policy", { hostBackends: true, innerPolicy: policy, protos: ["tcp"] });
        const { input } = await gatewayRound(w, `IPSEC-03 ${policy}`, "tcp");
        const v = ipsec03({ sas: input.sas, conntrack: input.conntrack, flow: input.flow, hostNetworkBackends: Object.values(env.ips), client: input.client });
        await report(v, `IPSEC-03 ${policy}`);
        await check(v);
      });
    });
  }

  it("IPSEC-04 route-based VTI with mark, pod-network backends: packets are dropped, errors on the vti link (documented failure)", async (ctx) => {
    await behaviour("IPSEC-04", "L");
    skipForKernel(ctx, await kernelMissing(["INET_ESP", "NET_IPVTI"]));
    await withEvidence("IPSEC-04 VTI with mark", evidence(), async () => {
      const w = await gatewayWorld("vti", { protos: ["tcp"] });
      const link = tunnelDevice("vti");
      const nx = node(s, w.owner);
      const l0 = await nx.run(["ip", "-j", "-s", "link", "show", "dev", link]);
      const { input } = await gatewayRound(w, "IPSEC-04", "tcp");
      const l1 = await nx.run(["ip", "-j", "-s", "link", "show", "dev", link]);
      await attach(`${w.owner} ip -s link show dev ${link} (before, after)`, `${l0.stdout}\n${l1.stdout}`);
      const v = ipsec04({ sas: input.sas, linkBefore: parseIpLink(l0.stdout), linkAfter: parseIpLink(l1.stdout), ifname: link, client: input.client });
      await report(v, "IPSEC-04");
      await check(v);
    });
  });
});
