/**
 * The kube verbs against a real cluster: the one NETCONFORM_KUBECONFIG names when set, else a
 * one-node kind cluster the harness makes for this file (forged node image; removed afterwards).
 * Where neither can be had, each test is reported skipped with the reason. No cluster is faked.
 */
import { existsSync } from "node:fs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ensureCluster, resolveTopology } from "../cluster/cluster.ts";
import { parseConfig } from "../config.ts";
import { suitePreflight } from "../preflight/global-suites.ts";
import { Run } from "../run.ts";
import { apply, deleteObjects } from "./apply.ts";
import { type KubeClient, apiAnswers, kubeClient } from "./client.ts";
import { PodExecutor, execInPod } from "./exec.ts";
import { events, podLogs } from "./inspect.ts";
import { waitForNodeCondition, waitForNodesReady } from "./waits.ts";
import { waitFor } from "./wait.ts";
import { collectEvidence } from "../evidence/collector.ts";
import { behaviour } from "../report/allure.ts";

const path = process.env.NETCONFORM_KUBECONFIG;
let kube: KubeClient | undefined;
let reason: string | undefined;
let made: Run | undefined;

async function answers(kube: KubeClient, where: string): Promise<string | undefined> {
  const silent = await apiAnswers(kube, 10_000);
  return silent && `no cluster — the API server of ${where} (${kube.server}) does not answer: ${silent}`;
}

/** the user's cluster, or one made here (then `made` is its run) */
async function reach(): Promise<{ kube?: KubeClient; reason?: string }> {
  if (path) {
    if (!existsSync(path)) return { reason: `no cluster — NETCONFORM_KUBECONFIG=${path} does not exist` };
    let kube: KubeClient;
    try {
      kube = kubeClient(path);
    } catch (e) {
      return { reason: `no cluster — ${(e as Error).message}` };
    }
    const r = await answers(kube, path);
    return r ? { reason: r } : { kube };
  }
  const p = await suitePreflight();
  if (p.missing) return { reason: `no cluster — NETCONFORM_KUBECONFIG is unset and the harness cannot make one here: ${p.missing}` };
  const run = new Run(parseConfig({ clusterName: `nc-kv-${Date.now().toString(36)}`, runId: `nc-kv-${Date.now().toString(36)}-${process.pid.toString(36)}` }));
  run.installSignalHandlers();
  made = run; // torn down in afterAll, even when creating the cluster fails half-way
  const cluster = await ensureCluster(run, { topology: resolveTopology("single"), nodeImage: p.nodeImage!, kubeadmApi: p.kubeadmApi });
  const kube = kubeClient(cluster.kubeconfig);
  await waitForNodesReady(kube, { config: run.config, count: 1 });
  return { kube };
}

const config = parseConfig({ timeouts: { nodeReady: "60s", podReady: "60s" } });
// everything this test creates is named after this namespace (its CRD's group too), so it can share a cluster
const ns = `nc-kube-${Date.now().toString(36)}`;

const MANIFEST = `
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {mode: "a"}
---
apiVersion: ${ns}.netconform.io/v1
kind: Probe
metadata: {name: p1}
spec: {target: 10.0.0.1}
---
apiVersion: v1
kind: Namespace
metadata: {name: ${ns}}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: probes.${ns}.netconform.io}
spec:
  group: ${ns}.netconform.io
  scope: Namespaced
  names: {plural: probes, singular: probe, kind: Probe}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: {type: object, properties: {target: {type: string}}}
`;

describe("kube verbs on a real cluster", () => {
  beforeAll(async () => {
    try {
      ({ kube, reason } = await reach());
    } catch (e) {
      // the cluster could not be made: that is a failure of the harness, not a reason to skip
      if (made) await made.teardown();
      throw e;
    }
  });
  // the reason reaches the summary reporter and Allure as the skip note, not only the test name
  beforeEach((ctx) => {
    if (reason !== undefined) ctx.skip(reason);
  });
  afterAll(async () => {
    if (kube && !made) await deleteObjects(kube, MANIFEST, { namespace: ns });
    if (made) {
      await made.teardown();
      made.removeSignalHandlers();
    }
  });

  it(`applies a CRD, a Namespace and objects in dependency order, re-applies idempotently`, async () => {
    const applied = await apply(kube!, MANIFEST, { namespace: ns });
    expect(applied.map((a) => a.kind)).toEqual(["CustomResourceDefinition", "Namespace", "ConfigMap", "Probe"]);
    expect(applied.find((a) => a.kind === "Probe")?.namespace).toBe(ns);
    const again = await apply(kube!, MANIFEST.replace('mode: "a"', 'mode: "b"'), { namespace: ns });
    expect(again.find((a) => a.kind === "ConfigMap")!.uid).toBe(applied.find((a) => a.kind === "ConfigMap")!.uid);
    const cm = await kube!.core.readNamespacedConfigMap({ namespace: ns, name: "settings" });
    expect(cm.data?.mode).toBe("b");
    expect(cm.metadata?.managedFields?.some((f) => f.manager === "netconform" && f.operation === "Apply")).toBe(true);
  });

  it(`names the document the API server refused`, async () => {
    const bad = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok, namespace: ${ns}}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: bad, namespace: ${ns}}\nspec: {ports: [{port: 99999}]}\n`;
    await expect(apply(kube!, bad)).rejects.toThrow(new RegExp(`^apply document 2 of 2 \\(Service ${ns}/bad\\): HTTP 422`));
    await deleteObjects(kube!, bad);
  });

  it(`waits for nodes Ready and sees a Ready node's condition`, async (ctx) => {
    if ((await kube!.core.listNode()).items.length === 0) return ctx.skip("the API server has no nodes registered");
    const r = await waitForNodesReady(kube!, { config });
    expect(r.detail).toMatch(/^(\d+)\/\1 nodes Ready$/);
    const node = (await kube!.core.listNode()).items[0]!.metadata!.name!;
    await expect(waitForNodeCondition(kube!, node, "Ready", "True", { config })).resolves.toMatchObject({ done: true });
  });

  it(`lists events, reads logs and execs in a kube-proxy pod`, async (ctx) => {
    const evs = await events(kube!);
    expect(Array.isArray(evs)).toBe(true);
    const pods = (await kube!.core.listNamespacedPod({ namespace: "kube-system", labelSelector: "k8s-app=kube-proxy" })).items;
    if (pods.length === 0) return ctx.skip("no kube-proxy pod in kube-system (kubeProxyMode none?)");
    const pod = pods[0]!.metadata!.name!;
    const container = pods[0]!.spec!.containers[0]!.name;
    expect(typeof (await podLogs(kube!, "kube-system", pod, container, { sinceSeconds: 3600 }))).toBe("string");
    const ok = await execInPod(kube!, "kube-system", pod, container, ["kube-proxy", "--version"], 30_000);
    expect(ok).toMatchObject({ exitCode: 0, timedOut: false });
    expect(ok.stdout).toMatch(/Kubernetes v\d+\.\d+/);
    const px = new PodExecutor(kube!, "kube-system", pod, container);
    const bad = await px.run(["kube-proxy", "--no-such-flag"], { allowFailure: true });
    expect(bad.exitCode).not.toBe(0);
    await expect(px.run(["/no/such/binary"])).rejects.toThrow(/exited 12[67]/);
  });

  it(`a wait that cannot succeed names its timeout`, async (ctx) => {
    const short = parseConfig({ timeouts: { nodeNotReady: "2s" } });
    const nodes = (await kube!.core.listNode()).items;
    if (nodes.length === 0) return ctx.skip("the API server has no nodes registered");
    const node = nodes[0]!.metadata!.name!;
    await expect(waitForNodeCondition(kube!, node, "Ready", ["False", "Unknown"], { config: short })).rejects.toThrow(
      new RegExp(`^timed out after 2 s \\(timeouts.nodeNotReady\\) waiting for node ${node} condition Ready to be False or Unknown: node ${node}: Ready=True`),
    );
    await expect(waitFor("nothing", async () => ({ done: false, detail: "never" }), { timeoutMs: 500, timeoutLabel: "test" })).rejects.toThrow(/never$/);
  });

  it(`HARN-05 collects the cluster's events and pod logs as evidence items`, async () => {
    await behaviour("HARN-05", "L");
    const b = await collectEvidence({ kube: { client: kube!, eventNamespaces: ["kube-system"], logs: [{ namespace: "kube-system", tailLines: 50 }] } });
    const ev = b.items.find((i) => i.name === "events")!;
    expect(ev).toMatchObject({ where: "namespace:kube-system", exitCode: 0, contentType: "application/json" });
    expect(JSON.parse(ev.text)).toMatchObject({ kind: "EventList" });
    expect(b.items.find((i) => i.name === "pods")).toMatchObject({ where: "namespace:kube-system", exitCode: 0 });
    const logs = b.items.filter((i) => i.name.startsWith("logs "));
    if ((await kube!.core.listNamespacedPod({ namespace: "kube-system" })).items.length) expect(logs.length).toBeGreaterThan(0);
    expect(logs.every((l) => l.where.startsWith("pod:kube-system/") && (l.exitCode === 0 || l.text.startsWith("collection failed:")))).toBe(true);
  });
});
