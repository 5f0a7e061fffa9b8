/**
 * MetalLB (native mode, layer 2) on a cluster: the pinned upstream manifest from the catalogue
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
import { type KubeClient, apply, deleteObjects, parseDocuments, waitForDaemonSetReady, waitForDeploymentReady } from "../kube/index.ts";
import { refuseOverlappingPool } from "../oracles/mlb.ts";

export const METALLB_NS = "metallb-system";
export const METALLB_MANIFEST = "metallb-native";

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

/** Apply the pinned MetalLB manifest and wait until it really serves (see the file comment). */
export async function installMetalLB(kube: KubeClient, config: Pick<RunConfig, "timeouts">, opts: { speakerLogLevel?: "debug" | "info" } = {}): Promise<MetallbInstall> {
  const t0 = Date.now();
  const text = withSpeakerLogLevel(await loadManifest(METALLB_MANIFEST), opts.speakerLogLevel ?? "debug");
  const applied = await apply(kube, text);
  const t1 = Date.now();
  await waitForDeploymentReady(kube, METALLB_NS, "controller", { config });
  await waitForDaemonSetReady(kube, METALLB_NS, "speaker", { config });
  const t2 = Date.now();
  // the webhook answers only once the controller has written its certificate and the caBundle:
  // until then the API server reports "failed calling webhook" and apply retries
  const probe = WEBHOOK_PROBE("netconform-webhook-probe");
  await apply(kube, probe, { webhookRetry: { timeoutName: "webhookReady", config } });
  await deleteObjects(kube, probe);
  const t3 = Date.now();
  return { applySeconds: (t1 - t0) / 1000, rolloutSeconds: (t2 - t1) / 1000, webhookSeconds: (t3 - t2) / 1000, objects: applied.length };
}

/** Is MetalLB already installed and serving (a reused cluster)? */
export async function metallbPresent(kube: KubeClient): Promise<boolean> {
  try {
    await kube.apps.readNamespacedDaemonSet({ namespace: METALLB_NS, name: "speaker" });
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// speaker logs


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
