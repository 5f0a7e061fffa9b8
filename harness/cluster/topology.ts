import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { z } from "zod";

/**
 * A cluster topology: what a suite needs of the cluster, independent of kind's config format.
 * Rendered to a kind config by render.ts. Files live in fixtures/topologies/<name>.yaml.
 */
const labelKey = z.string().regex(/^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/, "a Kubernetes label key");
const taint = z
  .string()
  .regex(/^[A-Za-z0-9./-]+(=[A-Za-z0-9._-]*)?:(NoSchedule|PreferNoSchedule|NoExecute)$/, "key[=value]:NoSchedule|PreferNoSchedule|NoExecute");

export const TopologyNode = z
  .object({
    role: z.enum(["control-plane", "worker"]),
    /** node labels, registered by the kubelet (kubeletExtraArgs node-labels) */
    labels: z.record(labelKey, z.string()).default({}),
    /** taints registered by the kubelet (kubeletExtraArgs register-with-taints) */
    taints: z.array(taint).default([]),
    /** further kubelet flags, e.g. container-log-max-size: 100Mi */
    kubeletExtraArgs: z.record(z.string(), z.string()).default({}),
    extraMounts: z
      .array(z.object({ hostPath: z.string(), containerPath: z.string().startsWith("/"), readOnly: z.boolean().default(false) }).strict())
      .default([]),
  })
  .strict();
export type TopologyNode = z.infer<typeof TopologyNode>;

const cidr = z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, "an IPv4 CIDR such as 10.244.0.0/16");

export const Topology = z
  .object({
    name: z.string().regex(/^[a-z0-9-]+$/),
    description: z.string().optional(),
    nodes: z.array(TopologyNode).min(1),
    /** overrides the run config's kubeProxyMode when a suite needs one mode */
    kubeProxyMode: z.enum(["iptables", "ipvs", "nftables", "none"]).optional(),
    networking: z
      .object({ podSubnet: cidr.optional(), serviceSubnet: cidr.optional(), disableDefaultCNI: z.boolean().default(false) })
      .strict()
      .prefault({}),
    /** docker networks beside the kind network (seed 002's second network), created by the world */
    extraNetworks: z.array(z.object({ name: z.string().regex(/^[a-z0-9-]+$/), subnet: cidr, gateway: z.string().optional() }).strict()).default([]),
  })
  .strict()
  .superRefine((t, ctx) => {
    if (!t.nodes.some((n) => n.role === "control-plane")) ctx.addIssue({ code: "custom", path: ["nodes"], message: "needs at least one control-plane node" });
  });
export type Topology = z.infer<typeof Topology>;

export function parseTopology(text: string, source: string): Topology {
  const r = Topology.safeParse(parse(text));
  if (!r.success) throw new Error(`${source}: invalid topology:\n${r.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`).join("\n")}`);
  return r.data;
}

export function loadTopology(path: string): Topology {
  return parseTopology(readFileSync(path, "utf8"), path);
}

/** kind names nodes <cluster>-control-plane, <cluster>-control-plane2, <cluster>-worker, <cluster>-worker2, … */
export function nodeNames(cluster: string, t: Topology): string[] {
  const count = { "control-plane": 0, worker: 0 };
  return t.nodes.map((n) => {
    const i = ++count[n.role];
    return `${cluster}-${n.role}${i > 1 ? i : ""}`;
  });
}
