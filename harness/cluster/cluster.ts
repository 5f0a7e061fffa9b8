import { writeFileSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { clusterExists, createCluster, deleteCluster, exportLogs, listNodes, writeKubeconfig } from "../adapters/kind.ts";
import { nodeExecutor } from "../exec/host.ts";
import type { Executor } from "../exec/types.ts";
import { log } from "../log.ts";
import { type Mirrors, writeHostsDir } from "../registry/mirrors.ts";
import type { Run } from "../run.ts";
import { renderKindConfig } from "./render.ts";
import { type Topology, loadTopology } from "./topology.ts";

/**
 * A cluster for a run: created from a topology when absent, reused when asked, or an existing
 * cluster given by kubeconfig. Only a cluster this run created is ever deleted.
 */
export interface Cluster {
  name: string;
  kubeconfig: string;
  /** kind node names (container names); empty for an existing cluster reached by kubeconfig */
  nodes: string[];
  created: boolean;
  /** run a command on a node; undefined when the cluster is not a kind cluster this machine can reach */
  node(name: string): Executor;
  exportLogs(dir: string): Promise<void>;
}

export const TOPOLOGY_DIR = resolve(import.meta.dirname, "..", "..", "fixtures", "topologies");

export function resolveTopology(nameOrPath: string): Topology {
  const p = nameOrPath.endsWith(".yaml") || nameOrPath.includes("/") ? (isAbsolute(nameOrPath) ? nameOrPath : resolve(nameOrPath)) : join(TOPOLOGY_DIR, `${nameOrPath}.yaml`);
  return loadTopology(p);
}

export async function ensureCluster(
  run: Run,
  o: { topology: Topology; nodeImage: string; kubeadmApi: "v1beta3" | "v1beta4"; mirrors?: Mirrors; existing?: { nodes: string[]; network?: string; nodesMissing?: string } },
): Promise<Cluster> {
  const c = run.config;
  if (c.kubeconfig) {
    // its nodes were looked for among this machine's docker containers by the suites preflight
    const nodes = o.existing?.nodes ?? [];
    return {
      name: "existing",
      kubeconfig: c.kubeconfig,
      nodes,
      created: false,
      node: (n) => {
        if (nodes.includes(n)) return nodeExecutor(n);
        throw new Error(`node ${n}: the cluster was given by kubeconfig (${c.kubeconfig}); ${o.existing?.nodesMissing ?? "its nodes are not docker containers on this machine"}`);
      },
      exportLogs: async () => {},
    };
  }
  const name = c.clusterName;
  const kubeconfig = resolve(run.dir, "kubeconfig");
  let created = false;
  if (await clusterExists(name)) {
    if (!c.reuse)
      throw new Error(`cluster "${name}" already exists and this run did not create it: set NETCONFORM_REUSE=1 to use it, pick another NETCONFORM_CLUSTER, or delete it yourself (kind delete cluster --name ${name})`);
    log.info(`reusing cluster ${name}`);
    await writeKubeconfig(name, kubeconfig);
  } else {
    const certsDir = o.mirrors ? writeHostsDir(resolve(run.dir, "certs.d"), o.mirrors) : undefined;
    const cfgPath = resolve(run.dir, "kind-config.yaml");
    writeFileSync(cfgPath, renderKindConfig(o.topology, { nodeImage: o.nodeImage, kubeProxyMode: c.kubeProxyMode, kubeadmApi: o.kubeadmApi, ...(certsDir ? { certsDir } : {}) }));
    log.info(`creating cluster ${name} (${o.topology.nodes.length} nodes, topology ${o.topology.name}, image ${o.nodeImage})`);
    await run.recordCluster(name);
    if (!c.reuse)
      run.defer(`cluster ${name} (and its ledger volume)`, async () => {
        await deleteCluster(name);
        await run.forgetCluster();
      });
    else run.defer(`ledger volume of cluster ${name} (kept: reuse)`, () => run.forgetCluster());
    const t0 = Date.now();
    try {
      await createCluster(name, cfgPath, kubeconfig, c.timeouts.clusterCreate);
    } catch (e) {
      await exportLogs(name, join(run.dir, "kind-logs")).catch(() => {});
      throw e;
    }
    log.info(`cluster ${name} created in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    created = true;
  }
  const nodes = await listNodes(name);
  return { name, kubeconfig, nodes, created, node: (n) => nodeExecutor(n), exportLogs: (dir) => exportLogs(name, dir) };
}
