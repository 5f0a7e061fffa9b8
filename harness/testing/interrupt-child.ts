/**
 * A stand-in for a suite process that is interrupted (Ctrl-C) at a chosen point of its run, used by
 * suites/lifecycle/interrupt.e2e.ts. It drives the harness as a suite session does: a run with a
 * world (a network, a host, a volume), then a real kind cluster (control plane + one worker, from
 * the forged node image), then a "test" (a command in flight on a node while the API is polled).
 * It prints "PHASE <name>" as it goes (world, creating, created, testing) and, at the point it was
 * asked to stop at, waits for the signal; its SIGINT handler is the harness's own (Run teardown).
 * usage: node interrupt-child.ts <run-id> <cluster-name> before|creating|created|testing
 */
import { ensureCluster } from "../cluster/cluster.ts";
import { parseTopology } from "../cluster/topology.ts";
import { parseConfig } from "../config.ts";
import { resolveNodeImage } from "../images/node-image.ts";
import { kubeClient, waitForNodesReady } from "../kube/index.ts";
import { World } from "../network/world.ts";
import { Run } from "../run.ts";

const POINTS = ["before", "creating", "created", "testing"] as const;
const [runId, clusterName, point] = process.argv.slice(2) as [string, string, (typeof POINTS)[number]];
if (!runId || !clusterName || !POINTS.includes(point)) {
  process.stderr.write(`usage: node interrupt-child.ts <run-id> <cluster-name> ${POINTS.join("|")}\n`);
  process.exit(2);
}
const phase = (p: string): void => void process.stdout.write(`PHASE ${p}\n`);
const forever = (): Promise<never> => {
  setInterval(() => {}, 60_000);
  return new Promise(() => {});
};

const config = parseConfig({ runId, clusterName, keep: "never", reuse: false, ...(process.env.NETCONFORM_NODE_IMAGE ? { nodeImage: process.env.NETCONFORM_NODE_IMAGE } : {}) });
const run = new Run(config);
run.installSignalHandlers();
try {
  const world = new World(run);
  const net = await world.network("int");
  await world.host({ name: "client", role: "client", networks: [{ network: net.name }] });
  await run.volume(`${run.id}-data`);
  phase("world");
  if (point === "before") await forever();
  const img = await resolveNodeImage(config);
  if ("missing" in img) throw new Error(img.missing);
  const topology = parseTopology("name: interrupt\nnodes:\n  - role: control-plane\n  - role: worker\n", "interrupt test topology");
  phase("creating");
  const cluster = await ensureCluster(run, { topology, nodeImage: img.image, kubeadmApi: img.kubeadmApi });
  const kube = kubeClient(cluster.kubeconfig);
  await waitForNodesReady(kube, { config, count: 2 });
  phase("created");
  if (point === "created") await forever();
  phase("testing");
  const worker = cluster.nodes.find((n) => n.endsWith("-worker"))!;
  await Promise.all([
    cluster.node(worker).run(["sleep", "300"], { timeoutMs: 400_000 }),
    (async () => {
      for (;;) {
        await kube.core.listNode();
        await new Promise((r) => setTimeout(r, 500));
      }
    })(),
  ]);
} catch (e) {
  run.failed = true;
  process.stderr.write(`${(e as Error).message}\n`);
  await run.teardown();
  process.exit(1);
}
