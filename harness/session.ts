import { afterAll, afterEach, beforeAll } from "vitest";
import { type Cluster, ensureCluster, resolveTopology } from "./cluster/cluster.ts";
import { loadConfig } from "./config.ts";
import { type ProxyMode, clusterProxyMode, proxyModeMismatch } from "./cluster/proxy-mode.ts";
import { loadCatalogue } from "./images/catalogue.ts";
import { ensureImage } from "./images/forge-lib.ts";
import { loadIntoNodes } from "./images/load.ts";
import "./images/steps.ts";
import { type KubeClient, apply, kubeClient, waitForNodesReady } from "./kube/index.ts";
import { log } from "./log.ts";
import type { SuitePreflight } from "./preflight/global-suites.ts";
import { type Mirrors, ensureMirrors, isLocalRef, localRegistryHostingConfigMap, pushImage } from "./registry/mirrors.ts";
import { Run } from "./run.ts";
import { World } from "./network/world.ts";
import { recordEnvironment } from "./report/environment.ts";
import { parse as parseYaml } from "yaml";

/**
 * One live cluster session for a suite file: mirrors up and filled with the images the suite
 * needs, the cluster created (or reused), nodes Ready, the KEP-1755 ConfigMap applied. Failing
 * tests mark the run failed (keep=on-failure then keeps everything); teardown runs in afterAll and
 * on SIGINT.
 */
export interface Session {
  run: Run;
  mirrors: Mirrors;
  cluster: Cluster;
  kube: KubeClient;
  world: World;
  /** the kube-proxy mode the cluster runs (checked against the run's; a reused cluster in another mode is refused) */
  kubeProxyMode: ProxyMode;
  /** the upstream reference of a catalogue image, as pods name it */
  image(name: string): string;
}

export function clusterSession(o: { preflight: SuitePreflight; enabled: boolean; topology?: string; images: string[] }): Session {
  const s = {} as Session;
  beforeAll(async () => {
    if (!o.enabled) return;
    try {
      await setUp();
    } catch (e) {
      if (s.run) s.run.failed = true;
      throw e;
    }
  });
  async function setUp(): Promise<void> {
    const config = loadConfig();
    const run = new Run(config);
    run.installSignalHandlers();
    s.run = run;
    s.world = new World(run);
    const cat = loadCatalogue();
    s.image = (name) => {
      const ref = cat.images.find((i) => i.name === name)?.ref;
      if (!ref) throw new Error(`catalogue image ${name} has no upstream reference`);
      return ref;
    };
    if (!config.kubeconfig) {
      s.mirrors = await ensureMirrors(run, { network: "kind" });
      // images with no upstream twin (named under the local registry) come from the forge whatever the source
      for (const n of o.images) if (config.imageSource === "forge" || isLocalRef(s.image(n))) await pushImage(await ensureImage(n), s.image(n), s.mirrors);
    }
    const topology = resolveTopology(o.topology ?? config.topology);
    s.cluster = await ensureCluster(run, {
      topology,
      nodeImage: o.preflight.nodeImage!,
      kubeadmApi: o.preflight.kubeadmApi,
      ...(s.mirrors ? { mirrors: s.mirrors } : {}),
      ...(o.preflight.existing ? { existing: o.preflight.existing } : {}),
    });
    // a cluster given by kubeconfig whose nodes are docker containers here (a kind cluster made
    // outside the harness) does not pull through the mirrors: the forged images go into its nodes
    if (config.kubeconfig && s.cluster.nodes.length && config.imageSource === "forge")
      for (const n of o.images) await loadIntoNodes(await ensureImage(n), s.image(n), s.cluster.nodes);
    s.kube = kubeClient(s.cluster.kubeconfig);
    await waitForNodesReady(s.kube, { config, ...(s.cluster.nodes.length ? { count: s.cluster.nodes.length } : {}) });
    // a kind cluster this harness manages must run the mode the run asks for (a reused one may not)
    const wanted = topology.kubeProxyMode ?? config.kubeProxyMode;
    s.kubeProxyMode = await clusterProxyMode(s.kube);
    if (!config.kubeconfig) {
      const from = topology.kubeProxyMode ? `topology ${topology.name}` : "NETCONFORM_KUBE_PROXY_MODE / kubeProxyMode";
      const bad = proxyModeMismatch(s.cluster.name, s.kubeProxyMode, wanted, from);
      if (bad) throw new Error(bad);
    }
    if (s.mirrors) await apply(s.kube, localRegistryHostingConfigMap(s.mirrors));
    const env = await clusterEnvironment(s.kube).catch((e: Error) => ({ "kubernetes.version": `unknown (${e.message})`, "kube-proxy.mode": "unknown" }));
    recordEnvironment({
      cluster: config.kubeconfig ? `existing cluster (${s.kube.server})` : s.cluster.name,
      ...env,
      topology: config.kubeconfig ? "-" : (o.topology ?? config.topology),
      "node.image": config.kubeconfig ? "-" : o.preflight.nodeImage!,
    });
  }
  afterEach((ctx) => {
    if (ctx.task.result?.state === "fail" && s.run) s.run.failed = true;
  });
  afterAll(async () => {
    if (!s.run) return;
    if (s.run.failed && s.cluster) await s.cluster.exportLogs(`${s.run.dir}/kind-logs`).catch((e) => log.warn(`log export failed: ${(e as Error).message}`));
    await s.run.teardown();
    s.run.removeSignalHandlers();
  });
  return s;
}

/** Kubernetes version (the nodes' kubelets) and kube-proxy mode (its ConfigMap) of a running cluster, for the report. */
export async function clusterEnvironment(kube: KubeClient): Promise<Record<string, string>> {
  const nodes = (await kube.core.listNode()).items;
  const versions = [...new Set(nodes.map((n) => n.status?.nodeInfo?.kubeletVersion ?? "?"))].join(", ");
  let mode: string;
  try {
    const cm = await kube.core.readNamespacedConfigMap({ namespace: "kube-system", name: "kube-proxy" });
    const conf = (parseYaml(cm.data?.["config.conf"] ?? "") ?? {}) as { mode?: string };
    mode = conf.mode ? conf.mode : "iptables (the default: mode is empty)";
  } catch {
    mode = "none (no kube-proxy ConfigMap in kube-system)";
  }
  return { "kubernetes.version": versions, "kube-proxy.mode": mode };
}
