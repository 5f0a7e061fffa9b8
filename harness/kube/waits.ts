/** Waits on cluster state, each a waitFor over a pure verdict of readiness.ts, with a named timeout. */
import type { RunConfig } from "../config.ts";
import { type KubeClient, apiErrorMessage } from "./client.ts";
import { daemonSetReady, deploymentReady, endpointsReady, nodeConditionIs, nodesReady, podsReady } from "./readiness.ts";
import { type ProbeResult, type TimeoutName, type WaitOptions, waitFor } from "./wait.ts";

export interface WaitContext {
  config: Pick<RunConfig, "timeouts">;
  /** override the timeout this wait uses by default */
  timeoutName?: TimeoutName;
  wait?: WaitOptions;
}

/** a probe whose API errors read as one line ("HTTP 404 NotFound: deployments.apps "x" not found") */
function api<T>(fn: () => Promise<T>): Promise<T> {
  return fn().catch((e: unknown) => {
    throw new Error(apiErrorMessage(e));
  });
}

function run(description: string, probe: () => Promise<ProbeResult>, ctx: WaitContext, dflt: TimeoutName): Promise<ProbeResult> {
  return waitFor(description, probe, { timeoutName: ctx.timeoutName ?? dflt, config: ctx.config }, ctx.wait);
}

/** every pod matching the selector Ready (at least `min`, default 1); timeouts.podReady */
export function waitForPodsReady(kube: KubeClient, namespace: string, labelSelector: string, ctx: WaitContext & { min?: number }): Promise<ProbeResult> {
  return run(`pods ${namespace}/{${labelSelector}} Ready`, async () => podsReady((await api(() => kube.core.listNamespacedPod({ namespace, labelSelector }))).items, ctx.min ?? 1), ctx, "podReady");
}

/** rolled out: generation observed, all replicas updated, ready and available; timeouts.deploymentReady */
export function waitForDeploymentReady(kube: KubeClient, namespace: string, name: string, ctx: WaitContext): Promise<ProbeResult> {
  return run(`deployment ${namespace}/${name} Ready`, async () => deploymentReady(await api(() => kube.apps.readNamespacedDeployment({ namespace, name }))), ctx, "deploymentReady");
}

/** rolled out on every node it is scheduled on (and on at least one unless allowZero); timeouts.deploymentReady */
export function waitForDaemonSetReady(kube: KubeClient, namespace: string, name: string, ctx: WaitContext & { allowZero?: boolean }): Promise<ProbeResult> {
  return run(`daemonset ${namespace}/${name} Ready`, async () => daemonSetReady(await api(() => kube.apps.readNamespacedDaemonSet({ namespace, name })), ctx.allowZero), ctx, "deploymentReady");
}

/**
 * all nodes Ready and rid of the lifecycle controller's not-ready/unreachable taints (and exactly
 * `count` of them when given); timeouts.nodeReady
 */
export function waitForNodesReady(kube: KubeClient, ctx: WaitContext & { count?: number }): Promise<ProbeResult> {
  return run(`nodes Ready and untainted${ctx.count !== undefined ? ` (${ctx.count})` : ""}`, async () => nodesReady((await api(() => kube.core.listNode())).items, ctx.count), ctx, "nodeReady");
}

/**
 * A node condition reaching one of the given statuses: `waitForNodeCondition(kube, "kind-worker",
 * "Ready", ["False", "Unknown"], …)` observes a node turning NotReady after a fault (timeouts.nodeNotReady);
 * waiting for Ready=True uses timeouts.nodeReady.
 */
export function waitForNodeCondition(kube: KubeClient, node: string, type: string, status: string | string[], ctx: WaitContext): Promise<ProbeResult> {
  const want = Array.isArray(status) ? status : [status];
  const dflt: TimeoutName = type === "Ready" && !want.includes("True") ? "nodeNotReady" : "nodeReady";
  return run(`node ${node} condition ${type} to be ${want.join(" or ")}`, async () => nodeConditionIs(await api(() => kube.core.readNode({ name: node })), type, want), ctx, dflt);
}

/** exactly `count` ready endpoints in the Service's EndpointSlices; timeouts.podReady */
export function waitForEndpoints(kube: KubeClient, namespace: string, service: string, count: number, ctx: WaitContext): Promise<ProbeResult> {
  return run(
    `service ${namespace}/${service} to have ${count} ready endpoint${count === 1 ? "" : "s"}`,
    async () => endpointsReady((await api(() => kube.discovery.listNamespacedEndpointSlice({ namespace, labelSelector: `kubernetes.io/service-name=${service}` }))).items, count),
    ctx,
    "podReady",
  );
}
