import { inspectContainer } from "../adapters/docker.ts";
import type { KubeClient } from "../kube/client.ts";

/**
 * A cluster given by kubeconfig (NETCONFORM_KUBECONFIG) may still be made of docker containers on
 * this machine (kind, k3d, minikube's docker driver…): then node-level evidence (iptables-save,
 * conntrack, ip -j) and node faults work as on a cluster the harness created. A node counts as a
 * docker node when a running container of the same name holds one of the node's InternalIP
 * addresses; anything else is said in `reason`, which suites show as their skip reason.
 */
export interface NodeView { name: string; internalIps: string[] }
export interface ContainerView { name: string; state: string; ips: Record<string, string> }
export interface DockerNodes {
  /** node names whose containers were found (all of the cluster's nodes, or none) */
  nodes: string[];
  /** the docker network the nodes share (their InternalIP is on it) */
  network?: string;
  /** why node-level access is not available; undefined when it is */
  reason?: string;
}

/** Pure: which nodes are docker containers here, and on which network. */
export function matchDockerNodes(nodes: NodeView[], containers: Record<string, ContainerView | undefined>): DockerNodes {
  if (!nodes.length) return { nodes: [], reason: "the cluster lists no nodes" };
  const why: string[] = [];
  const nets = new Set<string>();
  for (const n of nodes) {
    const c = containers[n.name];
    if (!c) {
      why.push(`${n.name}: no docker container of that name on this machine`);
      continue;
    }
    if (c.state !== "running") {
      why.push(`${n.name}: its container is ${c.state}`);
      continue;
    }
    const net = Object.entries(c.ips).find(([, ip]) => n.internalIps.includes(ip))?.[0];
    if (!net) {
      why.push(`${n.name}: the container of that name has ${Object.values(c.ips).join(", ") || "no address"}, the node reports ${n.internalIps.join(", ") || "no InternalIP"}`);
      continue;
    }
    nets.add(net);
  }
  if (why.length) return { nodes: [], reason: `node-level evidence needs the nodes as docker containers on this machine: ${why.join("; ")}` };
  if (nets.size > 1) return { nodes: [], reason: `the node containers are on different docker networks (${[...nets].join(", ")})` };
  return { nodes: nodes.map((n) => n.name).sort(), network: [...nets][0]! };
}

/** Look for the nodes of the cluster behind `kube` among this machine's docker containers. */
export async function findDockerNodes(kube: KubeClient): Promise<DockerNodes> {
  const list = await kube.core.listNode();
  const nodes: NodeView[] = list.items.map((n) => ({
    name: n.metadata?.name ?? "",
    internalIps: (n.status?.addresses ?? []).filter((a) => a.type === "InternalIP").map((a) => a.address),
  }));
  const containers: Record<string, ContainerView | undefined> = {};
  try {
    for (const n of nodes) containers[n.name] = await inspectContainer(n.name);
  } catch (e) {
    return { nodes: [], reason: `node-level evidence needs the nodes as docker containers on this machine, and no Docker engine answers here (${(e as Error).message.split("\n")[0]})` };
  }
  return matchDockerNodes(nodes, containers);
}
