/**
 * What the NVIPAM suite reads from a live cluster, in the shapes the oracles take: the IPPool (its
 * status.allocations) through the IPPool parser, pods' network-status annotations through the
 * network-status parser, a pod's events through the events parser (core/v1 Event objects as the
 * API returns them), and the evidence bundle a failing step attaches. Collection only: every
 * verdict comes from harness/oracles/nvipam.ts.
 */
import type { V1Pod } from "@kubernetes/client-node";
import { expect } from "vitest";
import { NVIPAM_NS, NVIPAM_POD_SELECTOR, MULTUS_POD_SELECTOR } from "../../harness/components/nvipam.ts";
import { type Bundle, collectEvidence, type EvidenceItem, runCommand } from "../../harness/evidence/collector.ts";
import { type KubeEvent, parseEventObjects } from "../../harness/evidence/parsers/events.ts";
import { type NetworkStatusEntry, parseNetworkStatus } from "../../harness/evidence/parsers/network-status.ts";
import { type IPPool, parseIPPools, type SelectableNode } from "../../harness/evidence/parsers/nvipam.ts";
import { ContainerExecutor } from "../../harness/exec/host.ts";
import { apiErrorMessage, events, isPodReady, waitFor } from "../../harness/kube/index.ts";
import { formatVerdict, type Verdict } from "../../harness/oracles/verdict.ts";
import { attachText } from "../../harness/report/allure.ts";
import { redact } from "../../harness/report/redact.ts";
import type { Session } from "../../harness/session.ts";

export const NETWORK_STATUS = "k8s.v1.cni.cncf.io/network-status";

/** The IPPool as the API server has it, parsed (a pool the parser refuses fails here, naming the field). */
export async function readPool(s: Session, name: string): Promise<{ pool: IPPool; raw: string }> {
  const obj = await s.kube.objects.read({ apiVersion: "nv-ipam.nvidia.com/v1alpha1", kind: "IPPool", metadata: { name, namespace: NVIPAM_NS } });
  const raw = JSON.stringify(obj, null, 1);
  return { pool: parseIPPools(raw)[0]!, raw };
}

/** Wait until the pool lists a block for each of `nodes` (the controller's first reconcile). */
export async function waitAllocations(s: Session, name: string, nodes: string[]): Promise<IPPool> {
  let pool: IPPool | undefined;
  await waitFor(`IPPool ${name} to allocate blocks to ${nodes.join(", ")}`, async () => {
    pool = (await readPool(s, name)).pool;
    const have = (pool.status?.allocations ?? []).map((a) => a.nodeName);
    const lacking = nodes.filter((n) => !have.includes(n));
    return { done: lacking.length === 0, detail: lacking.length ? `no block yet for ${lacking.join(", ")} (has ${have.join(", ") || "none"})` : "allocated" };
  }, { timeoutMs: 90_000, timeoutLabel: "IPPool allocations, 90 s" });
  return pool!;
}

export async function nodesOf(s: Session): Promise<SelectableNode[]> {
  return (await s.kube.core.listNode()).items.map((n) => ({ name: n.metadata!.name!, labels: n.metadata?.labels ?? {} }));
}

export async function readPod(s: Session, ns: string, name: string): Promise<V1Pod> {
  return s.kube.core.readNamespacedPod({ namespace: ns, name });
}

/** The pod's network-status annotation, parsed; undefined while Multus has not written it. */
export function networkStatus(p: V1Pod): NetworkStatusEntry[] | undefined {
  const a = p.metadata?.annotations?.[NETWORK_STATUS];
  return a === undefined ? undefined : parseNetworkStatus(a);
}

/** Wait until the pod is Ready and carries its network-status. */
export async function waitRunning(s: Session, ns: string, name: string): Promise<V1Pod> {
  let pod: V1Pod | undefined;
  await waitFor(`pod ${ns}/${name} to run with its network-status`, async () => {
    pod = await readPod(s, ns, name);
    const ready = isPodReady(pod);
    const st = pod.metadata?.annotations?.[NETWORK_STATUS];
    return { done: ready && st !== undefined, detail: `phase ${pod.status?.phase}, ready ${ready}, network-status ${st === undefined ? "absent" : "present"}` };
  }, { timeoutName: "podReady", config: s.run.config });
  return pod!;
}

/** The pod's events, read from the API and put through the events parser. */
export async function podEvents(s: Session, ns: string, name: string): Promise<{ events: KubeEvent[]; raw: string }> {
  const evs = await events(s.kube, ns, { involvedObject: { kind: "Pod", name } });
  // managedFields say nothing about the behaviour and triple the size
  const items = evs.map((e) => ({ ...e, metadata: { ...e.metadata, managedFields: undefined } }));
  const raw = JSON.stringify({ apiVersion: "v1", kind: "EventList", items }, null, 1);
  return { events: evs.length ? parseEventObjects(raw) : [], raw };
}

/** Wait for a Warning FailedCreatePodSandBox on the pod; returns all its events then. */
export async function waitSandboxFailure(s: Session, ns: string, name: string): Promise<{ events: KubeEvent[]; raw: string }> {
  let got: { events: KubeEvent[]; raw: string } | undefined;
  await waitFor(`pod ${ns}/${name} to fail its sandbox (FailedCreatePodSandBox)`, async () => {
    got = await podEvents(s, ns, name);
    const hit = got.events.find((e) => e.reason === "FailedCreatePodSandBox");
    return { done: !!hit, detail: hit ? hit.message.slice(0, 200) : `events: ${got.events.map((e) => e.reason).join(", ") || "none"}` };
  }, { timeoutName: "podReady", config: s.run.config });
  return got!;
}

/** The pod's state as kubectl's STATUS column words it for a pod waiting for its sandbox. */
export function podStatusWord(p: V1Pod): string {
  const waiting = p.status?.containerStatuses?.find((c) => c.state?.waiting)?.state?.waiting?.reason;
  if (waiting) return waiting;
  if (p.status?.phase === "Pending" && !(p.status?.containerStatuses?.length)) return "ContainerCreating";
  return p.status?.phase ?? "Unknown";
}

/** The oracle's verdict, attached pass or fail, then asserted. */
export async function check(v: Verdict): Promise<void> {
  await attachText(`${v.id} verdict`, formatVerdict(v));
  expect(v.ok, formatVerdict(v)).toBe(true);
}

const item = (name: string, where: string, command: string, text: string, exitCode = 0, json = false): EvidenceItem => ({
  name,
  where,
  command,
  text: redact(text),
  exitCode,
  ...(json ? { contentType: "application/json" } : {}),
});

/**
 * Evidence of a failing NVIPAM step: the IPPools (status.allocations), the NADs, every test pod's
 * network-status annotation, events of the test namespace and kube-system, the nv-ipam node and
 * controller logs and Multus's, and per node the CNI configuration directory listing (with Multus's
 * generated configuration and nv-ipam's CNI log) and the standard network state.
 */
export function collector(s: Session, ns: string): () => Promise<Bundle> {
  return async () => {
    const node = (n: string) => new ContainerExecutor(n, undefined, "node");
    const base = await collectEvidence({
      targets: s.cluster.nodes.map((n) => ({ executor: node(n), role: "node" })),
      kube: { client: s.kube, eventNamespaces: [ns, NVIPAM_NS], logs: [{ namespace: NVIPAM_NS, labelSelector: NVIPAM_POD_SELECTOR, tailLines: 500 }, { namespace: NVIPAM_NS, labelSelector: MULTUS_POD_SELECTOR, tailLines: 200 }] },
    });
    const extra: EvidenceItem[] = [];
    const api = async (name: string, command: string, read: () => Promise<unknown>) => {
      try {
        extra.push(item(name, "cluster", command, JSON.stringify(await read(), null, 1), 0, true));
      } catch (e) {
        extra.push(item(name, "cluster", command, `collection failed: ${apiErrorMessage(e)}`, -1));
      }
    };
    await api("ippools", `GET /apis/nv-ipam.nvidia.com/v1alpha1/namespaces/${NVIPAM_NS}/ippools`, () => s.kube.objects.list("nv-ipam.nvidia.com/v1alpha1", "IPPool", NVIPAM_NS));
    await api("network-attachment-definitions", `GET /apis/k8s.cni.cncf.io/v1/namespaces/${ns}/network-attachment-definitions`, () => s.kube.objects.list("k8s.cni.cncf.io/v1", "NetworkAttachmentDefinition", ns));
    await api("network-status annotations", `GET /api/v1/namespaces/${ns}/pods`, async () =>
      Object.fromEntries((await s.kube.core.listNamespacedPod({ namespace: ns })).items.map((p) => [`${p.metadata!.name} on ${p.spec?.nodeName ?? "-"} (${p.status?.phase})`, { networks: p.metadata?.annotations?.["k8s.v1.cni.cncf.io/networks"], "network-status": p.metadata?.annotations?.[NETWORK_STATUS] ?? null }])),
    );
    for (const n of s.cluster.nodes) {
      extra.push(await runCommand(node(n), { name: "cni config dir", argv: ["sh", "-c", "ls -la /etc/cni/net.d /etc/cni/net.d/nv-ipam.d /etc/cni/net.d/multus.d; for f in /etc/cni/net.d/*.conf /etc/cni/net.d/*.conflist; do echo \"--- $f\"; cat \"$f\"; done; echo '--- /opt/cni/bin'; ls -la /opt/cni/bin"] }, 20_000));
      extra.push(await runCommand(node(n), { name: "nv-ipam cni log", argv: ["sh", "-c", "tail -n 200 /var/log/nv-ipam-cni.log 2>&1"] }, 20_000));
    }
    return { ...base, items: [...base.items, ...extra] };
  };
}

/** Delete a namespace and wait until it is gone (its pods' CNI DEL has released their addresses then). */
export async function deleteNamespace(s: Session, ns: string): Promise<void> {
  try {
    await s.kube.core.deleteNamespace({ name: ns, gracePeriodSeconds: 0 });
  } catch {
    return;
  }
  await waitFor(`namespace ${ns} to be deleted`, async () => {
    try {
      await s.kube.core.readNamespace({ name: ns });
      return { done: false, detail: "still there" };
    } catch {
      return { done: true, detail: "gone" };
    }
  }, { timeoutMs: 180_000, timeoutLabel: "namespace deletion, 180 s" });
}
