/**
 * What the MetalLB suites (l2, etp) share: MetalLB installed and pools chosen safely, the external
 * client container on the kind network, agnhost backends and LoadBalancer services, bounded traffic
 * loops, speaker logs, node MACs, and the evidence bundle a failing step attaches. Collection only:
 * every verdict comes from the oracles in harness/oracles.
 */
import type { V1Pod, V1Service } from "@kubernetes/client-node";
import { expect } from "vitest";
import { ContainerExecutor, HostExecutor } from "../../harness/exec/host.ts";
import { ensureImage } from "../../harness/images/forge-lib.ts";
import type { Executor } from "../../harness/exec/types.ts";
import { METALLB_NS, ensureMetalLB, l2PoolYaml, safePools, type MetallbInstall } from "../../harness/components/metallb.ts";
import { type Bundle, collectEvidence, type EvidenceTarget } from "../../harness/evidence/collector.ts";
import { parseIpNeigh } from "../../harness/evidence/parsers/ip-json.ts";
import type { ServiceRow } from "../../harness/evidence/parsers/kubectl-svc.ts";
import type { PodRow } from "../../harness/evidence/parsers/kubectl-get.ts";
import { parseSpeakerLog, type SpeakerEntry } from "../../harness/evidence/parsers/metallb-speaker.ts";
import { fromIpJson, type Neighbour } from "../../harness/evidence/parsers/neigh.ts";
import { type KubeClient, apply, isPodReady, labelNode, podLogs, waitFor } from "../../harness/kube/index.ts";
import { renderManifest } from "../../harness/kube/manifests.ts";
import { formatVerdict, type Verdict } from "../../harness/oracles/verdict.ts";
import { attachText } from "../../harness/report/allure.ts";
import type { Host } from "../../harness/network/world.ts";
import type { Session } from "../../harness/session.ts";
import { acquireSlot } from "../../harness/network/lease.ts";

export { METALLB_NS };

export interface Env {
  /** node name → its MAC / IPv4 on the kind network (eth0 in the node container) */
  macs: Record<string, string>;
  ips: Record<string, string>;
  /** node → netconform.io/zone label (workers only) */
  zones: Record<string, string>;
  client: Host;
  clientIp: string;
  install?: MetallbInstall;
}

export const node = (s: Session, name: string): Executor => new ContainerExecutor(name, undefined, "node");

/** The kind node's eth0 MAC and IPv4 address, read in the node itself. */
export async function nodeLink(ex: Executor): Promise<{ mac: string; ip: string }> {
  const r = await ex.run(["ip", "-j", "addr", "show", "dev", "eth0"]);
  const [a] = JSON.parse(r.stdout) as Array<{ address: string; addr_info: Array<{ family: string; local: string }> }>;
  const ip = a?.addr_info.find((x) => x.family === "inet")?.local;
  if (!a?.address || !ip) throw new Error(`${ex.where}: eth0 has no MAC or IPv4 address: ${r.stdout.slice(0, 300)}`);
  return { mac: a.address.toLowerCase(), ip };
}

/** MetalLB in native mode installed (or found, on a reused cluster), node addresses and zones read, the client started. */
export async function prepare(s: Session, clientName: string): Promise<Env> {
  const install = await ensureMetalLB(s.kube, s.run.config, "native");
  const macs: Record<string, string> = {};
  const ips: Record<string, string> = {};
  for (const n of s.cluster.nodes) {
    const l = await nodeLink(node(s, n));
    macs[n] = l.mac;
    ips[n] = l.ip;
  }
  const zones: Record<string, string> = {};
  const nodeList = (await s.kube.core.listNode()).items;
  for (const n of nodeList) {
    const z = n.metadata?.labels?.["netconform.io/zone"];
    if (z) zones[n.metadata!.name!] = z;
  }
  // a cluster given by kubeconfig was not made from a topology: its first two workers get the
  // zone labels the zone tests select on, for this run only
  if (!Object.keys(zones).length && s.run.config.kubeconfig) {
    const workers = nodeList.filter((n) => !("node-role.kubernetes.io/control-plane" in (n.metadata?.labels ?? {}))).map((n) => n.metadata!.name!).sort();
    for (const [i, w] of workers.slice(0, 2).entries()) {
      await labelNode(s.kube, w, { "netconform.io/zone": i === 0 ? "a" : "b" });
      s.run.defer(`zone label of node ${w}`, () => labelNode(s.kube, w, { "netconform.io/zone": null }));
      zones[w] = i === 0 ? "a" : "b";
    }
  }
  const client = await s.world.host({ name: clientName, role: "client", networks: [{ network: "kind" }] });
  const clientIp = client.ips["kind"];
  if (!clientIp) throw new Error(`client ${client.name} has no address on the kind network`);
  return { macs, ips, zones, client, clientIp, ...(install ? { install } : {}) };
}

/**
 * `count` pools of `size` addresses at the top of the kind network, refused (MLB-03) if they hold
 * any node or container address; applied as IPAddressPool + L2Advertisement each.
 */
/** concurrent runs on one machine, and the ranges each may take from the top of the kind network */
const POOL_SLOTS = 8;
const RANGES_PER_SLOT = 8;

export async function pools(s: Session, env: Env, specs: Array<{ name: string; nodeSelector?: Record<string, string> }>, o: { offset: number; size?: number }): Promise<Record<string, string[]>> {
  // each suite file takes its own ranges (offset), so two files on one kept cluster never overlap;
  // each concurrent run on this machine takes its own slot of 8 ranges on the shared kind network
  const lease = acquireSlot("kind-pool", s.cluster.name, POOL_SLOTS);
  s.run.defer(`pool slot ${lease.slot} on the kind network`, async () => lease.release());
  const base = lease.slot * RANGES_PER_SLOT + o.offset;
  const ranges = (await safePools(base + specs.length, o.size ?? 8, env.ips)).ranges.slice(base);
  const out: Record<string, string[]> = {};
  for (const [i, sp] of specs.entries()) {
    out[sp.name] = [ranges[i]!];
    await apply(s.kube, l2PoolYaml({ name: sp.name, addresses: [ranges[i]!], ...(sp.nodeSelector ? { nodeSelector: sp.nodeSelector } : {}) }), { webhookRetry: { timeoutName: "webhookReady", config: s.run.config } });
  }
  return out;
}

export function backendsYaml(s: Session, o: { ns: string; name: string; startUnready?: boolean; nodeSelector?: Record<string, string> }): string {
  return renderManifest("lb-backends", { NAMESPACE: o.ns, NAME: o.name, IMAGE: s.image("agnhost"), START_UNREADY: o.startUnready ? "true" : "false", NODE_SELECTOR: JSON.stringify(o.nodeSelector ?? {}) });
}

export function serviceYaml(o: { ns: string; name: string; app: string; policy: "Cluster" | "Local"; pool: string }): string {
  return renderManifest("lb-service", { NAMESPACE: o.ns, NAME: o.name, APP: o.app, POLICY: o.policy, POOL: o.pool });
}

/** The service's first LoadBalancer ingress IP, once MetalLB assigned one (timeouts.vipAnnounced). */
export async function waitVip(s: Session, ns: string, name: string): Promise<V1Service> {
  let svc: V1Service | undefined;
  await waitFor(`service ${ns}/${name} to get a LoadBalancer IP`, async () => {
    svc = await s.kube.core.readNamespacedService({ namespace: ns, name });
    const ip = svc.status?.loadBalancer?.ingress?.[0]?.ip;
    return { done: !!ip, detail: ip ? `ingress ${ip}` : "no ingress IP yet" };
  }, { timeoutName: "vipAnnounced", config: s.run.config });
  return svc!;
}

export const vipOf = (svc: V1Service): string => svc.status!.loadBalancer!.ingress![0]!.ip!;

/** The Kubernetes object in the shape the oracles take (kubectl get svc's row). */
export function serviceRow(svc: V1Service): ServiceRow {
  const ext = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter((x): x is string => !!x);
  const row: ServiceRow = {
    name: svc.metadata!.name!,
    type: svc.spec!.type as ServiceRow["type"],
    externalIPs: ext,
    pending: svc.spec?.type === "LoadBalancer" && ext.length === 0,
    ports: (svc.spec?.ports ?? []).map((p) => ({ port: p.port, protocol: (p.protocol ?? "TCP") as "TCP" | "UDP" | "SCTP", ...(p.nodePort !== undefined ? { nodePort: p.nodePort } : {}) })),
  };
  if (svc.spec?.clusterIP && svc.spec.clusterIP !== "None") row.clusterIP = svc.spec.clusterIP;
  return row;
}

export function podRows(pods: V1Pod[]): PodRow[] {
  return pods.map((p) => {
    const cs = p.status?.containerStatuses ?? [];
    const row: PodRow = {
      namespace: p.metadata!.namespace!,
      name: p.metadata!.name!,
      readyContainers: cs.filter((c) => c.ready).length,
      totalContainers: p.spec?.containers.length ?? 0,
      ready: isPodReady(p),
      status: p.status?.phase ?? "Unknown",
      restarts: cs.reduce((a, c) => a + c.restartCount, 0),
      age: "0s",
    };
    if (p.status?.podIP) row.ip = p.status.podIP;
    if (p.spec?.nodeName) row.node = p.spec.nodeName;
    return row;
  });
}

export async function pods(s: Session, ns: string, app: string): Promise<V1Pod[]> {
  return (await s.kube.core.listNamespacedPod({ namespace: ns, labelSelector: `app=${app}` })).items;
}

/** One failed request of a getMany loop: its index, curl's exit code and its message. */
export interface FailedRequest {
  index: number;
  exit: number;
  message: string;
}

/**
 * `count` HTTP GETs of `url` from an executor, one new connection each, and the whole loop bounded
 * by the exec timeout. Each request may take 6 s (connect 4 s): a dropped SYN is retransmitted
 * after 1 s and 3 s, so one lost packet is a slow answer, not a failure. The body per request,
 * "" for a failed one, and for each failure curl's exit code and message.
 */
export async function getManyDetailed(ex: Executor, url: string, count: number): Promise<{ bodies: string[]; failures: FailedRequest[] }> {
  if (!(count > 0 && count <= 2000)) throw new Error(`getMany: ${count} requests is outside 1..2000`);
  const script =
    `for i in $(seq ${count}); do ` +
    `if r=$(curl -sS --connect-timeout 4 --max-time 6 "$1" 2>&1); then printf 'ok %s\n' "$r"; ` +
    `else e=$?; printf 'fail %s %s\n' "$e" "$(printf '%s' "$r" | tr '\n' ' ')"; fi; done`;
  const r = await ex.run(["sh", "-c", script, "get", url], { timeoutMs: count * 6_500 + 10_000 });
  const lines = r.stdout.split("\n");
  lines.pop(); // the last newline
  if (lines.length !== count) throw new Error(`${ex.where}: ${count} requests to ${url} gave ${lines.length} lines`);
  const bodies: string[] = [];
  const failures: FailedRequest[] = [];
  lines.forEach((l, index) => {
    const m = /^(ok|fail) ?(.*)$/.exec(l);
    if (!m) throw new Error(`${ex.where}: request ${index} to ${url}: unexpected line ${JSON.stringify(l.slice(0, 120))}`);
    if (m[1] === "ok") return void bodies.push(m[2]!.trim());
    bodies.push("");
    const f = /^(\d+) ?(.*)$/.exec(m[2]!);
    failures.push({ index, exit: f ? Number(f[1]) : -1, message: (f ? f[2]! : m[2]!).trim() });
  });
  return { bodies, failures };
}

/** getManyDetailed's bodies only: "" for a failed request. */
export async function getMany(ex: Executor, url: string, count: number): Promise<string[]> {
  return (await getManyDetailed(ex, url, count)).bodies;
}

/** Wait until the client gets an HTTP answer from the VIP (timeouts.vipAnnounced). */
export async function waitReachable(s: Session, client: Host, vip: string, path = "/hostname"): Promise<void> {
  await waitFor(`${vip} to answer ${path} from ${client.name}`, async () => {
    const r = await client.exec.run(["curl", "-sS", "--max-time", "2", `http://${vip}${path}`], { allowFailure: true, timeoutMs: 5_000 });
    return { done: r.exitCode === 0 && r.stdout.trim() !== "", detail: r.exitCode === 0 ? `answered ${r.stdout.trim().slice(0, 60)}` : `curl exit ${r.exitCode}: ${r.stderr.trim().slice(0, 120)}` };
  }, { timeoutName: "vipAnnounced", config: s.run.config });
}

/** The client's neighbour entries (ip -j neigh), parsed. */
export async function neighbours(ex: Executor): Promise<Neighbour[]> {
  const r = await ex.run(["ip", "-j", "neigh", "show"]);
  return fromIpJson(parseIpNeigh(r.stdout));
}

/** Forget what the client knows about an address, so the next packet asks ARP again. */
export async function forgetNeighbour(ex: Executor, ip: string): Promise<void> {
  await ex.run(["ip", "neigh", "flush", "to", ip], { allowFailure: true });
}

/**
 * Every speaker's log (keyed by the node it runs on), parsed; with sinceMs, only the entries of that
 * second and later (a kept cluster's speakers remember earlier runs, whose services may have had
 * the same VIP).
 */
export async function speakerLogs(s: Session, o: { sinceMs?: number } = {}): Promise<Record<string, SpeakerEntry[]>> {
  const out: Record<string, SpeakerEntry[]> = {};
  const from = o.sinceMs === undefined ? -Infinity : Math.floor(o.sinceMs / 1000) * 1000;
  for (const p of (await s.kube.core.listNamespacedPod({ namespace: METALLB_NS, labelSelector: "component=speaker" })).items) {
    const text = await podLogs(s.kube, METALLB_NS, p.metadata!.name!, "speaker");
    out[p.spec!.nodeName!] = parseSpeakerLog(text).filter((e) => e.atMs >= from);
  }
  return out;
}

/** The node owning a MAC. */
export function macOwner(env: Env, mac: string | undefined): string | undefined {
  return Object.entries(env.macs).find(([, m]) => m === mac?.toLowerCase())?.[0];
}

/** The node whose MAC the client resolved the VIP to (after one request through it). */
export async function vipOwner(s: Session, env: Env, vip: string): Promise<string | undefined> {
  const n = (await neighbours(env.client.exec)).find((x) => x.ip === vip && x.mac);
  return macOwner(env, n?.mac);
}

/** The VIP's owner as the client resolves it afresh: neighbour entry dropped, two requests, then vipOwner. */
export async function resolveOwner(s: Session, env: Env, vip: string): Promise<string | undefined> {
  await forgetNeighbour(env.client.exec, vip);
  await getMany(env.client.exec, `http://${vip}/hostname`, 2);
  return vipOwner(s, env, vip);
}

/** The oracle's verdict, attached pass or fail (what was checked, what was measured), then asserted. */
export async function check(v: Verdict): Promise<void> {
  await attachText(`${v.id} verdict`, formatVerdict(v));
  expect(v.ok, formatVerdict(v)).toBe(true);
}

/** Evidence of a failing MetalLB step: every node, the client, `extra` hosts, events and logs of the namespaces. */
export function collector(s: Session, env: Env | undefined, namespaces: string[], extra: () => EvidenceTarget[] = () => []): () => Promise<Bundle> {
  return () => {
    const targets: EvidenceTarget[] = s.cluster.nodes.map((n) => ({ executor: node(s, n), role: "node" }));
    if (env) targets.push({ executor: env.client.exec, role: "client" });
    targets.push(...extra());
    return collectEvidence({
      targets,
      kube: { client: s.kube, eventNamespaces: [METALLB_NS, ...namespaces], logs: [{ namespace: METALLB_NS, tailLines: 3000 }, ...namespaces.map((ns) => ({ namespace: ns, tailLines: 200 }))] },
    });
  };
}

/** Delete a namespace and wait until it is gone (a test's own objects). */
export async function deleteNamespace(kube: KubeClient, ns: string): Promise<void> {
  try {
    await kube.core.deleteNamespace({ name: ns, gracePeriodSeconds: 0 });
  } catch {
    return;
  }
  await waitFor(`namespace ${ns} to be deleted`, async () => {
    try {
      await kube.core.readNamespace({ name: ns });
      return { done: false, detail: "still there" };
    } catch {
      return { done: true, detail: "gone" };
    }
  }, { timeoutMs: 120_000, timeoutLabel: "namespace deletion, 120 s" });
}

/**
 * tcpdump (the toolbox image) in a node container's network namespace, on every interface, for
 * at most `maxSeconds`: `stop()` ends it (SIGINT, so tcpdump prints its statistics) and returns the
 * text. The container carries the run's labels, so teardown removes it if a test dies first.
 */
export async function startCapture(s: Session, nodeName: string, filter: string, maxSeconds: number): Promise<{ stop(): Promise<string> }> {
  const host = new HostExecutor();
  const image = await ensureImage("toolbox");
  const name = `${s.run.id}-cap-${Date.now().toString(36)}`;
  const labels = Object.entries(s.run.labels("capture")).flatMap(([k, v]) => ["--label", `${k}=${v}`]);
  await host.run(["docker", "run", "-d", "--name", name, ...labels, "--network", `container:${nodeName}`, "--cap-add", "NET_ADMIN", "--cap-add", "NET_RAW", "--entrypoint", "timeout", image, "-s", "INT", String(maxSeconds), "tcpdump", "-n", "-l", "-i", "any", filter]);
  s.run.defer(`container ${name}`, async () => {
    await host.run(["docker", "rm", "-f", name], { allowFailure: true });
  });
  await waitFor(`tcpdump in ${name} to listen`, async () => {
    const l = await host.run(["docker", "logs", name], { allowFailure: true });
    return { done: /listening on/.test(l.stderr + l.stdout), detail: (l.stderr + l.stdout).trim().slice(0, 200) || "no output yet" };
  }, { timeoutMs: 15_000, timeoutLabel: "capture start, 15 s" });
  return {
    async stop() {
      await host.run(["docker", "kill", "-s", "INT", name], { allowFailure: true });
      await host.run(["docker", "wait", name], { allowFailure: true, timeoutMs: 15_000 });
      const l = await host.run(["docker", "logs", name]);
      await host.run(["docker", "rm", "-f", name], { allowFailure: true });
      return `${l.stdout}${l.stderr}`;
    },
  };
}
