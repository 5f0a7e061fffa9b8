import type { V1DaemonSet, V1Deployment, V1EndpointSlice, V1Node, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { daemonSetReady, deploymentReady, endpointsReady, nodeConditionIs, nodesReady, podsReady } from "./readiness.ts";

const pod = (name: string, ready: boolean, extra: Partial<V1Pod["status"]> = {}): V1Pod => ({
  metadata: { name },
  status: { phase: "Running", conditions: [{ type: "Ready", status: ready ? "True" : "False", ...(ready ? {} : { reason: "ContainersNotReady" }) }], ...extra },
});

describe("kube/readiness: pods", () => {
  it("is done when every live pod is Ready", () => {
    expect(podsReady([pod("a", true), pod("b", true)])).toEqual({ done: true, detail: "2/2 ready" });
  });
  it("says which pod is not ready and why (waiting reason of its container)", () => {
    const p = pod("speaker-x", false, { containerStatuses: [{ name: "speaker", ready: false, restartCount: 3, image: "i", imageID: "", state: { waiting: { reason: "CrashLoopBackOff", message: "back-off 40s" } } }] });
    const r = podsReady([pod("a", true), p]);
    expect(r.done).toBe(false);
    expect(r.detail).toBe("1/2 ready; not ready: speaker-x (Running; ContainersNotReady; speaker: waiting CrashLoopBackOff (back-off 40s))");
  });
  it("reports an unschedulable pod with the scheduler's message", () => {
    const p: V1Pod = { metadata: { name: "p" }, status: { phase: "Pending", conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/3 nodes are available" }] } };
    expect(podsReady([p]).detail).toBe("0/1 ready; not ready: p (Pending; Unschedulable: 0/3 nodes are available)");
  });
  it("is not done with no pod at all, nor with fewer than min; terminating and finished pods do not count", () => {
    expect(podsReady([])).toEqual({ done: false, detail: "no pods" });
    expect(podsReady([pod("a", true)], 2)).toEqual({ done: false, detail: "1/1 ready; want at least 2" });
    const gone = { ...pod("old", false), metadata: { name: "old", deletionTimestamp: new Date() } };
    const job = { ...pod("job", false), status: { phase: "Succeeded" } };
    expect(podsReady([pod("a", true), gone, job])).toEqual({ done: true, detail: "1/1 ready" });
  });
});

describe("kube/readiness: deployments and daemonsets", () => {
  const dep = (s: V1Deployment["status"], gen = 1, replicas = 1): V1Deployment => ({ metadata: { name: "controller", generation: gen }, spec: { replicas, selector: {}, template: {} }, status: s });
  it("is done when the rollout is complete", () => {
    expect(deploymentReady(dep({ observedGeneration: 1, replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1 }))).toEqual({ done: true, detail: "1/1 ready" });
  });
  it("starts its detail with ready/wanted and lists what is missing", () => {
    expect(deploymentReady(dep({ observedGeneration: 1, replicas: 1, updatedReplicas: 1 })).detail).toBe("0/1 ready; 0/1 available; 1 not ready");
    expect(deploymentReady(dep({ observedGeneration: 1, replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1 }, 2)).detail).toBe(
      "1/1 ready; generation 2 not yet observed (observed 1)",
    );
    expect(deploymentReady(dep({ observedGeneration: 2, replicas: 3, updatedReplicas: 2, readyReplicas: 3, availableReplicas: 3 }, 2, 2)).detail).toBe(
      "3/2 ready; 1 old replicas pending termination",
    );
  });
  it("surfaces ProgressDeadlineExceeded", () => {
    const r = deploymentReady(dep({ observedGeneration: 1, replicas: 1, updatedReplicas: 1, conditions: [{ type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded", message: 'ReplicaSet "c-1" has timed out progressing.' }] }));
    expect(r.done).toBe(false);
    expect(r.detail).toContain('ProgressDeadlineExceeded: ReplicaSet "c-1" has timed out progressing.');
  });
  it("a DaemonSet is ready on all its nodes, and on at least one unless allowZero", () => {
    const ds = (s: Partial<NonNullable<V1DaemonSet["status"]>>): V1DaemonSet => ({ metadata: { generation: 1 }, status: { currentNumberScheduled: 0, desiredNumberScheduled: 0, numberMisscheduled: 0, numberReady: 0, observedGeneration: 1, ...s } });
    expect(daemonSetReady(ds({ desiredNumberScheduled: 3, numberReady: 3, updatedNumberScheduled: 3, numberAvailable: 3 }))).toEqual({ done: true, detail: "3/3 ready" });
    expect(daemonSetReady(ds({ desiredNumberScheduled: 3, numberReady: 2, updatedNumberScheduled: 3, numberAvailable: 2 })).detail).toBe("2/3 ready; 2/3 available; 1 not ready");
    expect(daemonSetReady(ds({}))).toEqual({ done: false, detail: "0/0 ready; scheduled on no node (desiredNumberScheduled=0)" });
    expect(daemonSetReady(ds({}), true).done).toBe(true);
  });
});

describe("kube/readiness: nodes", () => {
  const node = (name: string, status: string, reason = "KubeletReady", message?: string): V1Node => ({
    metadata: { name },
    status: { conditions: [{ type: "Ready", status, reason, ...(message ? { message } : {}), lastTransitionTime: new Date("2026-11-23T18:00:00Z") }] },
  });
  it("all nodes Ready, optionally a given number of them", () => {
    expect(nodesReady([node("cp", "True"), node("w", "True")])).toEqual({ done: true, detail: "2/2 nodes Ready" });
    expect(nodesReady([node("cp", "True")], 2)).toEqual({ done: false, detail: "1/1 nodes Ready; want 2 nodes, the API lists 1" });
    expect(nodesReady([node("cp", "True"), node("w", "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")]).detail).toBe(
      "1/2 nodes Ready; not ready: w (Ready=Unknown (NodeStatusUnknown: Kubelet stopped posting node status.) since 2026-11-23T18:00:00.000Z)",
    );
  });
  it("a node Ready but still carrying the lifecycle controller's not-ready taint is not ready yet (HARN-01 flake)", () => {
    const w = node("w", "True");
    w.spec = { taints: [{ key: "node.kubernetes.io/not-ready", effect: "NoExecute", timeAdded: new Date("2026-11-23T18:00:00Z") }] };
    expect(nodesReady([node("cp", "True"), w])).toEqual({
      done: false,
      detail: "2/2 nodes Ready; Ready but still tainted by the node lifecycle controller: w (node.kubernetes.io/not-ready:NoExecute)",
    });
    // a topology's own taint is no lifecycle taint
    w.spec = { taints: [{ key: "netconform.io/spare", value: "true", effect: "PreferNoSchedule" }] };
    expect(nodesReady([node("cp", "True"), w]).done).toBe(true);
  });
  it("a node turning NotReady: Ready in False or Unknown", () => {
    expect(nodeConditionIs(node("w", "True"), "Ready", ["False", "Unknown"])).toEqual({ done: false, detail: "node w: Ready=True (KubeletReady) since 2026-11-23T18:00:00.000Z" });
    expect(nodeConditionIs(node("w", "Unknown", "NodeStatusUnknown"), "Ready", ["False", "Unknown"]).done).toBe(true);
    expect(nodeConditionIs(node("w", "True"), "NetworkUnavailable", ["False"])).toEqual({ done: false, detail: "node w: NetworkUnavailable: no such condition" });
  });
});

describe("kube/readiness: endpoints", () => {
  const ep = (addr: string, pod: string, ready?: boolean) => ({ addresses: [addr], targetRef: { kind: "Pod", namespace: "ns", name: pod }, ...(ready === undefined ? {} : { conditions: { ready } }) });
  const slice = (type: string, endpoints: ReturnType<typeof ep>[]): V1EndpointSlice => ({ addressType: type, endpoints, metadata: { name: `s-${type}` } });
  it("counts ready endpoints across slices, once per pod (dual-stack), unset ready as ready", () => {
    const r = endpointsReady([slice("IPv4", [ep("10.0.0.1", "a", true), ep("10.0.0.2", "b")]), slice("IPv6", [ep("fd00::1", "a", true), ep("fd00::2", "b")])], 2);
    expect(r.done).toBe(true);
    expect(r.detail).toBe("2 ready endpoints (10.0.0.1 (a), fd00::1 (a), 10.0.0.2 (b), fd00::2 (b)), want 2");
  });
  it("says which endpoints are not ready, and when there is no slice", () => {
    const r = endpointsReady([slice("IPv4", [ep("10.0.0.1", "a", true), ep("10.0.0.3", "c", false)])], 2);
    expect(r).toMatchObject({ done: false, detail: "1 ready endpoint (10.0.0.1 (a)), want 2; 1 not ready (10.0.0.3 (c))" });
    expect(endpointsReady([], 1).detail).toBe("0 ready endpoints, want 1; no EndpointSlices");
    expect(endpointsReady([], 0).done).toBe(true);
  });
});
