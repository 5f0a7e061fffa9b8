/**
 * MetalLB on a cluster, in native mode (layer 2; the L2 and ETP suites) or FRR mode (BGP + BFD
 * through an FRR container in every speaker pod; the BGP suite): the pinned upstream manifest from the catalogue
 * (harness/images/manifests.ts, sha256-verified), applied server-side, then waited for until truly
 * ready — controller Deployment and speaker DaemonSet Ready, and the validating webhook answering
 * (a probe IPAddressPool applied with retries under timeouts.webhookReady, as MetalLB's own e2e
 * does, then deleted). Also the address pool's safety (MLB-03): a pool is chosen from the top of
 * the kind network's subnet and refused when it contains any address docker has handed out.
 */
import { inspectNetwork } from "../adapters/docker.ts";
import type { RunConfig } from "../config.ts";
import { formatIp, ipValue, parseCidr } from "../evidence/parsers/common.ts";
import { loadManifest } from "../images/manifests.ts";
import { type KubeClient, apply, deleteObjects, parseDocuments, waitFor, waitForDaemonSetReady, waitForDeploymentReady } from "../kube/index.ts";
import { podLogs } from "../kube/inspect.ts";
import { type SpeakerEntry, parseSpeakerLog } from "../evidence/parsers/metallb-speaker.ts";
import { refuseOverlappingPool } from "../oracles/mlb.ts";

export const METALLB_NS = "metallb-system";
export type MetallbMode = "native" | "frr";
/** the catalogue manifest of each mode */
export const METALLB_MANIFESTS: Record<MetallbMode, string> = { native: "metallb-native", frr: "metallb-frr" };
/** the catalogue images pods of each mode pull */
export const METALLB_IMAGES: Record<MetallbMode, string[]> = { native: ["metallb-controller", "metallb-speaker"], frr: ["metallb-controller", "metallb-speaker", "frr"] };

/**
 * The upstream manifest with the one change the suites need: the speaker at --log-level=debug
 * (MLB-05's "failed no active endpoints" is a debug line). Everything else is applied as pinned.
 * Throws when the speaker's log-level argument is not where v0.15 has it.
 */
export function withSpeakerLogLevel(manifest: string, level: "debug" | "info"): string {
  const docs = manifest.split(/^---[ \t]*$/m);
  let changed = 0;
  const out = docs.map((d) => {
    if (!/^kind: DaemonSet$/m.test(d) || !/^\s+name: speaker$/m.test(d)) return d;
    const n = d.replace(/--log-level=\w+/g, () => {
      changed++;
      return `--log-level=${level}`;
    });
    return n;
  });
  if (changed !== 1) throw new Error(`metallb manifest: expected one --log-level argument in the speaker DaemonSet, found ${changed}`);
  return out.join("---");
}

export interface MetallbInstall {
  mode: MetallbMode;
  /** the mode found on a reused cluster, removed first (its speaker DaemonSet deleted) */
  replaced?: MetallbMode;
  /** seconds: apply, rollout, webhook answering */
  applySeconds: number;
  rolloutSeconds: number;
  webhookSeconds: number;
  objects: number;
}

const WEBHOOK_PROBE = (name: string) => `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: { name: ${name}, namespace: ${METALLB_NS} }
spec:
  addresses: ["192.0.2.0/32"]
  autoAssign: false
`;

/** Apply the pinned MetalLB manifest of a mode and wait until it really serves (see the file comment). */
export async function installMetalLB(kube: KubeClient, config: Pick<RunConfig, "timeouts">, opts: { mode?: MetallbMode; speakerLogLevel?: "debug" | "info" } = {}): Promise<MetallbInstall> {
  const mode = opts.mode ?? "native";
  const t0 = Date.now();
  const text = withSpeakerLogLevel(await loadManifest(METALLB_MANIFESTS[mode]), opts.speakerLogLevel ?? "debug");
  const applied = await apply(kube, text);
  const t1 = Date.now();
  await waitForDeploymentReady(kube, METALLB_NS, "controller", { config });
  await waitForDaemonSetReady(kube, METALLB_NS, "speaker", { config });
  await waitForSpeakersJoined(kube);
  const t2 = Date.now();
  // the webhook answers only once the controller has written its certificate and the caBundle:
  // until then the API server reports "failed calling webhook" and apply retries
  const probe = WEBHOOK_PROBE("netconform-webhook-probe");
  await apply(kube, probe, { webhookRetry: { timeoutName: "webhookReady", config } });
  await deleteObjects(kube, probe);
  const t3 = Date.now();
  return { mode, applySeconds: (t1 - t0) / 1000, rolloutSeconds: (t2 - t1) / 1000, webhookSeconds: (t3 - t2) / 1000, objects: applied.length };
}

/** The mode of the MetalLB on the cluster (its speaker pods carry an frr container in FRR mode), or undefined. */
export async function metallbMode(kube: KubeClient): Promise<MetallbMode | undefined> {
  try {
    const ds = await kube.apps.readNamespacedDaemonSet({ namespace: METALLB_NS, name: "speaker" });
    return ds.spec?.template.spec?.containers.some((c) => c.name === "frr") ? "frr" : "native";
  } catch {
    return undefined;
  }
}

/**
 * Native mode rejects its whole configuration while any BFDProfile exists (the speaker logs
 * "bfd profiles section set" and announces nothing): on a reused cluster that a BGP run left
 * profiles on (an interrupted teardown), stop here naming them instead of timing out on VIPs.
 */
async function refuseBfdProfiles(kube: KubeClient): Promise<void> {
  let names: string[] = [];
  try {
    names = (await kube.objects.list("metallb.io/v1beta1", "BFDProfile", METALLB_NS)).items.map((o) => `${METALLB_NS}/${o.metadata?.name}`);
  } catch {
    return; // no BFDProfile CRD: nothing can be left
  }
  if (names.length)
    throw new Error(
      `MetalLB native mode would reject its whole configuration: BFDProfile ${names.join(", ")} exists (the speaker logs "bfd profiles section set"). ` +
        `Left by a BGP run whose teardown did not finish? Delete it (kubectl -n ${METALLB_NS} delete bfdprofiles --all) or use a fresh cluster.`,
    );
}

/**
 * MetalLB in `mode`: nothing to do when a reused cluster has it already; when it runs the other
 * mode, its speaker DaemonSet is deleted (and its pods waited out) and the pinned manifest of
 * `mode` applied over the rest. Returns the install's timings, or undefined when it was there.
 */
export async function ensureMetalLB(kube: KubeClient, config: Pick<RunConfig, "timeouts">, mode: MetallbMode): Promise<MetallbInstall | undefined> {
  const found = await metallbMode(kube);
  if (found && mode === "native") await refuseBfdProfiles(kube);
  if (found === mode) {
    // a reused cluster: another suite may just have restarted a node (suites/cluster stops a
    // worker), whose speaker is then still starting or not yet in the memberlist
    await waitForDaemonSetReady(kube, METALLB_NS, "speaker", { config });
    await waitForSpeakersJoined(kube);
    return undefined;
  }
  if (found) {
    await kube.apps.deleteNamespacedDaemonSet({ namespace: METALLB_NS, name: "speaker", propagationPolicy: "Foreground" });
    await waitFor(`the ${found}-mode speaker pods to go`, async () => {
      const n = (await kube.core.listNamespacedPod({ namespace: METALLB_NS, labelSelector: "component=speaker" })).items.length;
      let ds = true;
      try {
        await kube.apps.readNamespacedDaemonSet({ namespace: METALLB_NS, name: "speaker" });
      } catch {
        ds = false;
      }
      return { done: n === 0 && !ds, detail: `${n} speaker pods, DaemonSet ${ds ? "still there" : "gone"}` };
    }, { timeoutMs: 120_000, timeoutLabel: "speaker removal, 120 s" });
  }
  return { ...(await installMetalLB(kube, config, { mode })), ...(found ? { replaced: found } : {}) };
}

// ---------------------------------------------------------------------------------------------
// speaker logs

/**
 * Whether one speaker (its current container's log) has every other speaker in its memberlist:
 * replaying its "node event" lines (NodeJoin adds the named node, NodeLeave removes it), each other
 * speaker's node must be in. Measured on MetalLB v0.15.2: every speaker logs a NodeJoin for each
 * member it sees, itself included, while only a speaker that found others when it started logs
 * "memberlist join successfully". Memberlist decides which node announces an L2 VIP: while a
 * speaker is not in it, the announcement can still move (measured in a soak: ETP-03 read the
 * owner across such a move, right after suites/cluster had restarted a worker). `fresh: false`
 * (a container started more than 10 minutes ago) asks only that no node left without coming back.
 */
export function speakerJoined(log: SpeakerEntry[], otherNodes: string[], o: { fresh?: boolean } = { fresh: true }): { ok: boolean; detail: string } {
  const members = new Set<string>();
  const left = new Set<string>();
  for (const e of log) {
    const name = e.raw["node name"];
    if (typeof name !== "string") continue;
    if (e.raw["node event"] === "NodeJoin") (members.add(name), left.delete(name));
    if (e.raw["node event"] === "NodeLeave") (members.delete(name), left.add(name));
  }
  // a speaker running for long may have had its early lines rotated away by the kubelet: there a
  // node without any event counts as in, and only a NodeLeave not followed by a NodeJoin is out
  const missing = otherNodes.filter((n) => (o.fresh === false ? left.has(n) : !members.has(n)));
  if (!missing.length) return { ok: true, detail: `all ${otherNodes.length} other speaker(s) in its memberlist` };
  return { ok: false, detail: `not in its memberlist: ${missing.map((n) => (left.has(n) ? `${n} (left, not back)` : n)).join(", ")}` };
}

/** Wait until every speaker pod is in the memberlist with all the others (speakerJoined), 120 s. */
export async function waitForSpeakersJoined(kube: KubeClient): Promise<void> {
  await waitFor("every MetalLB speaker in the memberlist with all the others", async () => {
    const pods = (await kube.core.listNamespacedPod({ namespace: METALLB_NS, labelSelector: "component=speaker" })).items.filter((p) => !p.metadata?.deletionTimestamp);
    const nodes = pods.map((p) => p.spec?.nodeName ?? "");
    const pending: string[] = [];
    for (const p of pods) {
      const text = await podLogs(kube, METALLB_NS, p.metadata!.name!, "speaker").catch(() => "");
      let log: SpeakerEntry[] = [];
      try {
        log = parseSpeakerLog(text, { tolerant: true, warnings: [] });
      } catch {
        // nothing readable yet: not joined
      }
      const started = Date.parse(String(p.status?.containerStatuses?.find((c) => c.name === "speaker")?.state?.running?.startedAt ?? ""));
      const fresh = Number.isNaN(started) || Date.now() - started < 10 * 60_000;
      const v = speakerJoined(log, nodes.filter((n) => n !== p.spec?.nodeName), { fresh });
      if (!v.ok) pending.push(`${p.spec?.nodeName}: ${v.detail}`);
    }
    return { done: pods.length > 0 && pending.length === 0, detail: pending.join("; ") || `${pods.length} speakers joined` };
  }, { timeoutMs: 120_000, timeoutLabel: "speakers' memberlist, 120 s" });
}


// ---------------------------------------------------------------------------------------------
// pool safety

/**
 * `count` address ranges of `size` addresses each, from the top of an IPv4 subnet downwards,
 * never its broadcast address: docker hands out addresses from the bottom, so the top stays free
 * on a network that is not nearly full. Pure.
 */
export function topRanges(subnet: string, count: number, size: number): string[] {
  const c = parseCidr(subnet);
  if (!c || c.family !== 4) throw new Error(`pool: ${subnet} is not an IPv4 subnet`);
  const out: string[] = [];
  let last = c.last - 1n; // skip the broadcast address
  for (let i = 0; i < count; i++) {
    const first = last - BigInt(size) + 1n;
    if (first <= c.first + 1n) throw new Error(`pool: ${subnet} has no room for ${count} ranges of ${size}`);
    out.push(`${formatIp({ family: 4, value: first })}-${formatIp({ family: 4, value: last })}`);
    last = first - 1n;
  }
  return out;
}

export interface KindNetworkView {
  subnet: string;
  gateway?: string;
  /** container name → IPv4 address on the network (every container docker attached to it) */
  addresses: Record<string, string>;
}

/** The docker network's IPv4 subnet and every address handed out on it so far. */
export async function kindNetwork(name = "kind"): Promise<KindNetworkView> {
  const n = await inspectNetwork(name);
  if (!n) throw new Error(`docker network ${name} does not exist`);
  const v4 = (n.IPAM?.Config ?? []).find((c) => c.Subnet && parseCidr(c.Subnet)?.family === 4);
  if (!v4?.Subnet) throw new Error(`docker network ${name} has no IPv4 subnet`);
  const addresses: Record<string, string> = {};
  for (const c of Object.values(n.Containers ?? {})) {
    const ip = c.IPv4Address?.split("/")[0];
    if (ip && ipValue(ip)) addresses[c.Name ?? ip] = ip;
  }
  if (v4.Gateway) addresses["(gateway)"] = v4.Gateway;
  return { subnet: v4.Subnet, ...(v4.Gateway ? { gateway: v4.Gateway } : {}), addresses };
}

/**
 * Pools for the suites: `count` ranges of `size` at the top of the kind network, checked with
 * refuseOverlappingPool against every node and container address on it (and the given extra
 * addresses, e.g. the node InternalIPs the API server reports). Throws naming the overlap.
 */
export async function safePools(count: number, size: number, extra: Record<string, string> = {}, network = "kind"): Promise<{ ranges: string[]; view: KindNetworkView }> {
  const view = await kindNetwork(network);
  const ranges = topRanges(view.subnet, count, size);
  refuseOverlappingPool(ranges, { ...view.addresses, ...extra });
  return { ranges, view };
}

/** IPAddressPool + L2Advertisement YAML (optionally restricted to nodes matching a label selector). */
export function l2PoolYaml(o: { name: string; addresses: string[]; nodeSelector?: Record<string, string>; autoAssign?: boolean }): string {
  const docs = [
    { apiVersion: "metallb.io/v1beta1", kind: "IPAddressPool", metadata: { name: o.name, namespace: METALLB_NS }, spec: { addresses: o.addresses, autoAssign: o.autoAssign ?? false } },
    {
      apiVersion: "metallb.io/v1beta1",
      kind: "L2Advertisement",
      metadata: { name: o.name, namespace: METALLB_NS },
      spec: { ipAddressPools: [o.name], ...(o.nodeSelector ? { nodeSelectors: [{ matchLabels: o.nodeSelector }] } : {}) },
    },
  ];
  const text = docs.map((d) => JSON.stringify(d)).join("\n---\n");
  parseDocuments(text); // fail here, not at apply, on a malformed object
  return text;
}

// ---------------------------------------------------------------------------------------------
// BGP mode objects (the BGP/BFD lab: addresspool-bgp.yaml, bgp.yaml, bfdprofile.yaml)

export interface BgpObjects {
  pool: string;
  addresses: string[];
  myAsn: number;
  peers: Array<{ name: string; address: string; asn: number; ebgpMultiHop?: boolean }>;
  bfd?: { name: string; receiveIntervalMs: number; transmitIntervalMs: number; detectMultiplier: number };
  /** the speakers that peer: nodes matching all of these (e.g. control-plane DoesNotExist) */
  nodeSelector?: { matchLabels?: Record<string, string>; matchExpressions?: Array<{ key: string; operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; values?: string[] }> };
}

/** IPAddressPool + BGPAdvertisement + BFDProfile + one BGPPeer per peer, as YAML (JSON documents). */
export function bgpYaml(o: BgpObjects): string {
  const meta = (name: string) => ({ name, namespace: METALLB_NS });
  const docs: object[] = [
    { apiVersion: "metallb.io/v1beta1", kind: "IPAddressPool", metadata: meta(o.pool), spec: { addresses: o.addresses, autoAssign: false } },
    { apiVersion: "metallb.io/v1beta1", kind: "BGPAdvertisement", metadata: meta(o.pool), spec: { ipAddressPools: [o.pool] } },
  ];
  if (o.bfd)
    docs.push({
      apiVersion: "metallb.io/v1beta1",
      kind: "BFDProfile",
      metadata: meta(o.bfd.name),
      spec: { receiveInterval: o.bfd.receiveIntervalMs, transmitInterval: o.bfd.transmitIntervalMs, detectMultiplier: o.bfd.detectMultiplier },
    });
  for (const p of o.peers)
    docs.push({
      apiVersion: "metallb.io/v1beta2",
      kind: "BGPPeer",
      metadata: meta(p.name),
      spec: {
        myASN: o.myAsn,
        peerASN: p.asn,
        peerAddress: p.address,
        ...(p.ebgpMultiHop ? { ebgpMultiHop: true } : {}),
        ...(o.bfd ? { bfdProfile: o.bfd.name } : {}),
        ...(o.nodeSelector ? { nodeSelectors: [o.nodeSelector] } : {}),
      },
    });
  const text = docs.map((d) => JSON.stringify(d)).join("\n---\n");
  parseDocuments(text);
  return text;
}
