/**
 * nv-ipam (nvidia-k8s-ipam) IPPool custom resources (nv-ipam.nvidia.com/v1alpha1), as a manifest or
 * as `kubectl get ippools -o yaml|json`, and the allocation listing of seed 003 L87-91:
 *
 *   pool1
 *           kind-control-plane => Start IP: 192.168.0.1 End IP: 192.168.0.100
 *
 * Facts from the nv-ipam docs (static-ip.md, api/v1alpha1): subnet is a CIDR; perNodeBlockSize ≥ 1
 * and not larger than the subnet; exclusions are startIP/endIP ranges inside the subnet; gateway
 * lies in the subnet; nodeSelector is a core/v1 NodeSelector (empty = every node);
 * status.allocations lists one {nodeName, startIP, endIP} block per selected node.
 */
import { z } from "zod";
import { ParseError } from "../parse-error.ts";
import { check, cidrContains, ipValue, isCidr, isIpAddress, lines, parseCidr, structuredDocuments, lineStep, type ParseOptions } from "./common.ts";

const Ip = z.string().refine(isIpAddress, "not an IP address");

const Requirement = z
  .object({
    key: z.string().min(1),
    operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]),
    values: z.array(z.string()).optional(),
  })
  .strict();
export const NodeSelectorSchema = z
  .object({
    nodeSelectorTerms: z.array(z.object({ matchExpressions: z.array(Requirement).optional(), matchFields: z.array(Requirement).optional() }).strict()),
  })
  .strict();
export type NodeSelector = z.output<typeof NodeSelectorSchema>;

export const AllocationSchema = z.object({ nodeName: z.string().min(1), startIP: Ip, endIP: Ip }).strict();
export type Allocation = z.output<typeof AllocationSchema>;

export const IPPoolSchema = z
  .object({
    apiVersion: z.literal("nv-ipam.nvidia.com/v1alpha1"),
    kind: z.literal("IPPool"),
    metadata: z.object({ name: z.string().min(1), namespace: z.string().min(1).optional() }).loose(),
    spec: z
      .object({
        subnet: z.string().refine(isCidr, "not a CIDR"),
        perNodeBlockSize: z.number().int().min(1),
        gateway: Ip.optional(),
        exclusions: z.array(z.object({ startIP: Ip, endIP: Ip }).strict()).default([]),
        perNodeExclusions: z.array(z.object({ startIndex: z.number().int().min(0), endIndex: z.number().int().min(0) }).strict()).default([]),
        nodeSelector: NodeSelectorSchema.optional(),
        defaultGateway: z.boolean().optional(),
        routes: z.array(z.object({ dst: z.string().refine(isCidr, "not a CIDR") }).strict()).optional(),
      })
      .strict()
      .superRefine((s, ctx) => {
        // zod runs this even when a field check above failed: look before trusting any value
        const net = parseCidr(s.subnet);
        if (!net) return;
        const inNet = (ip: string) => {
          const v = ipValue(ip);
          return v !== undefined && cidrContains(net, v);
        };
        const size = net.last - net.first + 1n;
        if (Number.isInteger(s.perNodeBlockSize) && BigInt(s.perNodeBlockSize) > size) ctx.addIssue({ code: "custom", path: ["perNodeBlockSize"], message: "larger than the subnet" });
        if (s.gateway && !inNet(s.gateway)) ctx.addIssue({ code: "custom", path: ["gateway"], message: "not in the subnet" });
        if (Array.isArray(s.exclusions)) s.exclusions.forEach((e, i) => {
          if (!e || !inNet(e.startIP) || !inNet(e.endIP)) ctx.addIssue({ code: "custom", path: ["exclusions", i], message: "not in the subnet" });
          else if (ipValue(e.startIP)!.value > ipValue(e.endIP)!.value) ctx.addIssue({ code: "custom", path: ["exclusions", i], message: "startIP after endIP" });
        });
        if (!Number.isInteger(s.perNodeBlockSize) || !Array.isArray(s.perNodeExclusions)) return;
        s.perNodeExclusions.forEach((e, i) => {
          if (e && e.startIndex > e.endIndex || e.endIndex >= s.perNodeBlockSize) ctx.addIssue({ code: "custom", path: ["perNodeExclusions", i], message: "index range outside the block" });
        });
      }),
    status: z.object({ allocations: z.array(AllocationSchema).default([]) }).loose().optional(),
  })
  .loose();
export type IPPool = z.output<typeof IPPoolSchema>;

/** IPPool objects from a manifest, a `kubectl get -o yaml|json` List, or several documents */
export function parseIPPools(text: string): IPPool[] {
  const P = "nvipam-ippool";
  const out: IPPool[] = [];
  for (const d of structuredDocuments(P, text)) {
    const items = d && typeof d === "object" && !Array.isArray(d) && (d as { kind?: unknown }).kind === "List" ? (d as { items?: unknown }).items : [d];
    if (!Array.isArray(items)) throw new ParseError(P, undefined, text.slice(0, 200), "List without items");
    for (const o of items) out.push(check(P, IPPoolSchema, o));
  }
  if (out.length === 0) throw new ParseError(P, undefined, text, "no IPPool");
  return out;
}

/**
 * The listing printed by seed 003 L87:
 * `kubectl get ippools.nv-ipam.nvidia.com -A -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}
 * {range .status.allocations[*]}{"\t"}{.nodeName} => Start IP: {.startIP} End IP: {.endIP}{"\n"}{end}{"\n"}{end}'`
 * → pool name → allocations. Pools are separated by blank lines; every other line must fit.
 */
export function parseAllocationListing(text: string, opts?: ParseOptions): Map<string, Allocation[]> {
  const P = "nvipam-allocations";
  const out = new Map<string, Allocation[]>();
  let current: Allocation[] | undefined;
  lines(text).forEach((raw, i) => lineStep(opts, { no: i + 1, text: raw }, () => {
    const n = i + 1;
    if (raw.trim() === "") {
      current = undefined;
      return;
    }
    const alloc = /^\s+(\S+) => Start IP: (\S+) End IP: (\S+)$/.exec(raw);
    if (alloc) {
      if (!current) throw new ParseError(P, n, raw, "allocation line before a pool name");
      const a = check(P, AllocationSchema, { nodeName: alloc[1], startIP: alloc[2], endIP: alloc[3] }, n, raw);
      if (current.some((c) => c.nodeName === a.nodeName)) throw new ParseError(P, n, raw, `node ${a.nodeName} listed twice`);
      current.push(a);
      return;
    }
    const pool = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/.exec(raw);
    if (pool) {
      if (out.has(pool[1]!)) throw new ParseError(P, n, raw, `pool ${pool[1]} listed twice`);
      current = [];
      out.set(pool[1]!, current);
      return;
    }
    throw new ParseError(P, n, raw, "neither a pool name nor a \"node => Start IP: … End IP: …\" line");
  }));
  if (out.size === 0) throw new ParseError(P, undefined, text, "no pool");
  return out;
}

/** a node's labels and name, for evaluating a pool's nodeSelector */
export interface SelectableNode {
  name: string;
  labels: Record<string, string>;
}

/** core/v1 NodeSelector semantics: terms are ORed, requirements inside a term ANDed; none = all */
export function nodeMatches(sel: NodeSelector | undefined, node: SelectableNode): boolean {
  if (!sel || sel.nodeSelectorTerms.length === 0) return true;
  const req = (r: z.output<typeof Requirement>, value: string | undefined): boolean => {
    const vals = r.values ?? [];
    switch (r.operator) {
      case "In":
        return value !== undefined && vals.includes(value);
      case "NotIn":
        return value === undefined || !vals.includes(value);
      case "Exists":
        return value !== undefined;
      case "DoesNotExist":
        return value === undefined;
      case "Gt":
        return value !== undefined && vals.length === 1 && Number(value) > Number(vals[0]);
      case "Lt":
        return value !== undefined && vals.length === 1 && Number(value) < Number(vals[0]);
    }
  };
  return sel.nodeSelectorTerms.some((t) => {
    const exprs = t.matchExpressions ?? [];
    const fields = t.matchFields ?? [];
    if (exprs.length + fields.length === 0) return false;
    return exprs.every((r) => req(r, node.labels[r.key])) && fields.every((r) => req(r, r.key === "metadata.name" ? node.name : undefined));
  });
}
