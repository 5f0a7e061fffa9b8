/**
 * Pure readiness verdicts over API objects: each returns {done, detail} for waitFor. No I/O here,
 * so every rule is unit-tested on hand-written objects.
 */
import type { V1DaemonSet, V1Deployment, V1EndpointSlice, V1Node, V1Pod } from "@kubernetes/client-node";
import type { ProbeResult } from "./wait.ts";

const MAX_LISTED = 5;

function listSome(items: string[]): string {
  return items.length <= MAX_LISTED ? items.join(", ") : `${items.slice(0, MAX_LISTED).join(", ")}, … (${items.length - MAX_LISTED} more)`;
}

function condition<T extends { type: string; status: string }>(conds: T[] | undefined, type: string): T | undefined {
  return conds?.find((c) => c.type === type);
}

/** why one pod is not Ready, in a few words: phase, condition reason, a waiting/terminated container */
export function podNotReadyReason(p: V1Pod): string {
  const bits: string[] = [p.status?.phase ?? "Unknown"];
  const sched = condition(p.status?.conditions, "PodScheduled");
  if (sched && sched.status !== "True") bits.push(`${sched.reason ?? "Unschedulable"}${sched.message ? `: ${sched.message}` : ""}`);
  const ready = condition(p.status?.conditions, "Ready");
  if (ready && ready.status !== "True" && ready.reason) bits.push(ready.reason);
  for (const cs of [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]) {
    if (cs.ready) continue;
    const w = cs.state?.waiting;
    const t = cs.state?.terminated;
    if (w) bits.push(`${cs.name}: waiting ${w.reason ?? ""}${w.message ? ` (${w.message.slice(0, 160)})` : ""}`.trim());
    else if (t && t.exitCode !== 0) bits.push(`${cs.name}: terminated ${t.reason ?? ""} exit ${t.exitCode}`);
    else if (cs.state?.running) bits.push(`${cs.name}: running, not ready${cs.restartCount ? `, ${cs.restartCount} restarts` : ""}`);
  }
  return bits.join("; ");
}

export function isPodReady(p: V1Pod): boolean {
  return condition(p.status?.conditions, "Ready")?.status === "True";
}

/**
 * All pods Ready, and at least `min` of them (default 1: "no pod matches" is not ready).
 * Pods that are being deleted or finished (Succeeded) are left out: a Job's pod does not hold a wait.
 */
export function podsReady(pods: V1Pod[], min = 1): ProbeResult {
  const live = pods.filter((p) => !p.metadata?.deletionTimestamp && p.status?.phase !== "Succeeded");
  const notReady = live.filter((p) => !isPodReady(p));
  const ready = live.length - notReady.length;
  if (live.length === 0) return { done: min <= 0, detail: `no pods${pods.length ? ` (${pods.length} terminating or finished)` : ""}` };
  const head = `${ready}/${live.length} ready`;
  if (notReady.length === 0 && live.length >= min) return { done: true, detail: head };
  const parts = [head];
  if (live.length < min) parts.push(`want at least ${min}`);
  if (notReady.length) parts.push(`not ready: ${listSome(notReady.map((p) => `${p.metadata?.name} (${podNotReadyReason(p)})`))}`);
  return { done: false, detail: parts.join("; ") };
}

/** As `kubectl rollout status deployment`: generation observed, all replicas updated, ready and available. */
export function deploymentReady(d: V1Deployment): ProbeResult {
  const want = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  const ready = s.readyReplicas ?? 0;
  const updated = s.updatedReplicas ?? 0;
  const available = s.availableReplicas ?? 0;
  const total = s.replicas ?? 0;
  const head = `${ready}/${want} ready`;
  const notes: string[] = [];
  if ((d.metadata?.generation ?? 0) > (s.observedGeneration ?? 0)) notes.push(`generation ${d.metadata?.generation} not yet observed (observed ${s.observedGeneration ?? 0})`);
  if (updated < want) notes.push(`${updated}/${want} updated`);
  if (total > updated) notes.push(`${total - updated} old replicas pending termination`);
  if (available < want) notes.push(`${available}/${want} available`);
  if (ready < want) notes.push(`${want - ready} not ready`);
  const progressing = condition(d.status?.conditions, "Progressing");
  if (progressing?.reason === "ProgressDeadlineExceeded") notes.push(`ProgressDeadlineExceeded: ${progressing.message ?? ""}`.trim());
  const failure = condition(d.status?.conditions, "ReplicaFailure");
  if (failure?.status === "True") notes.push(`ReplicaFailure: ${failure.message ?? failure.reason ?? ""}`);
  return { done: notes.length === 0, detail: notes.length ? `${head}; ${notes.join("; ")}` : head };
}

/**
 * As `kubectl rollout status daemonset`, and stricter on one point: a DaemonSet scheduled on no node
 * at all is not ready unless allowZero (a nodeSelector that matches nothing is a mistake in a test).
 */
export function daemonSetReady(ds: V1DaemonSet, allowZero = false): ProbeResult {
  const s = ds.status ?? { currentNumberScheduled: 0, desiredNumberScheduled: 0, numberMisscheduled: 0, numberReady: 0 };
  const want = s.desiredNumberScheduled ?? 0;
  const ready = s.numberReady ?? 0;
  const updated = s.updatedNumberScheduled ?? 0;
  const available = s.numberAvailable ?? 0;
  const head = `${ready}/${want} ready`;
  const notes: string[] = [];
  if ((ds.metadata?.generation ?? 0) > (s.observedGeneration ?? 0)) notes.push(`generation ${ds.metadata?.generation} not yet observed (observed ${s.observedGeneration ?? 0})`);
  if (want === 0 && !allowZero) notes.push("scheduled on no node (desiredNumberScheduled=0)");
  if (updated < want) notes.push(`${updated}/${want} updated`);
  if (available < want) notes.push(`${available}/${want} available`);
  if (ready < want) notes.push(`${want - ready} not ready`);
  return { done: notes.length === 0, detail: notes.length ? `${head}; ${notes.join("; ")}` : head };
}

function nodeCond(n: V1Node, type: string) {
  return condition(n.status?.conditions, type);
}

function describeCond(c: { type: string; status: string; reason?: string; message?: string; lastTransitionTime?: Date } | undefined, type: string): string {
  if (!c) return `${type}: no such condition`;
  const since = c.lastTransitionTime ? ` since ${new Date(c.lastTransitionTime).toISOString()}` : "";
  return `${type}=${c.status}${c.reason ? ` (${c.reason}${c.message ? `: ${c.message}` : ""})` : ""}${since}`;
}

/**
 * The taints the node lifecycle controller puts on a node that is not Ready or unreachable, and
 * removes a moment after the node turns Ready again (measured: a node Ready=True still carrying
 * node.kubernetes.io/not-ready:NoExecute, read by a test in that moment).
 */
export const LIFECYCLE_TAINTS = ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"];

export function lifecycleTaints(n: V1Node): string[] {
  return (n.spec?.taints ?? []).filter((t) => LIFECYCLE_TAINTS.includes(t.key)).map((t) => `${t.key}:${t.effect}`);
}

/**
 * every node Ready=True and free of the lifecycle controller's not-ready/unreachable taints (a node
 * is usable only once those are gone); with `count`, exactly that many nodes
 */
export function nodesReady(nodes: V1Node[], count?: number): ProbeResult {
  const notReady = nodes.filter((n) => nodeCond(n, "Ready")?.status !== "True");
  const tainted = nodes.filter((n) => nodeCond(n, "Ready")?.status === "True" && lifecycleTaints(n).length);
  const head = `${nodes.length - notReady.length}/${nodes.length} nodes Ready`;
  const notes: string[] = [];
  if (count !== undefined && nodes.length !== count) notes.push(`want ${count} nodes, the API lists ${nodes.length}`);
  if (nodes.length === 0) notes.push("no nodes registered");
  if (notReady.length) notes.push(`not ready: ${listSome(notReady.map((n) => `${n.metadata?.name} (${describeCond(nodeCond(n, "Ready"), "Ready")})`))}`);
  if (tainted.length) notes.push(`Ready but still tainted by the node lifecycle controller: ${listSome(tainted.map((n) => `${n.metadata?.name} (${lifecycleTaints(n).join(", ")})`))}`);
  return { done: notes.length === 0, detail: notes.length ? `${head}; ${notes.join("; ")}` : head };
}

/** the node's condition `type` has one of the wanted statuses ("False", "Unknown", "True") */
export function nodeConditionIs(n: V1Node, type: string, statuses: string[]): ProbeResult {
  const c = nodeCond(n, type);
  return { done: c !== undefined && statuses.includes(c.status), detail: `node ${n.metadata?.name}: ${describeCond(c, type)}` };
}

/**
 * Ready endpoints of a Service across its EndpointSlices. An endpoint counts once however many slices
 * carry it (dual-stack has one slice per family): it is keyed by its targetRef, else its first address.
 * `ready` unset counts as ready (discovery/v1: "nil should be interpreted as true").
 */
export function endpointsReady(slices: V1EndpointSlice[], want: number): ProbeResult & { ready: string[]; notReady: string[] } {
  const ready = new Map<string, string>();
  const notReady = new Map<string, string>();
  for (const s of slices) {
    for (const e of s.endpoints ?? []) {
      const key = e.targetRef ? `${e.targetRef.kind ?? ""}/${e.targetRef.namespace ?? ""}/${e.targetRef.name ?? ""}` : e.addresses[0] ?? "";
      const label = e.addresses.join(",") + (e.targetRef?.name ? ` (${e.targetRef.name})` : "");
      if (e.conditions?.ready === false) {
        if (!ready.has(key)) notReady.set(key, label);
      } else {
        notReady.delete(key);
        ready.set(key, ready.has(key) ? `${ready.get(key)}, ${label}` : label);
      }
    }
  }
  const r = [...ready.values()];
  const nr = [...notReady.values()];
  const detail =
    `${r.length} ready endpoint${r.length === 1 ? "" : "s"}${r.length ? ` (${listSome(r)})` : ""}, want ${want}` +
    (nr.length ? `; ${nr.length} not ready (${listSome(nr)})` : "") +
    (slices.length === 0 ? "; no EndpointSlices" : "");
  return { done: r.length === want, detail, ready: r, notReady: nr };
}
