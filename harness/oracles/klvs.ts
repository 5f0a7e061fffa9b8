/**
 * KLVS — ENM ingress: IPVS programming by the KLVS router (the ingress design report). Pure functions of parsed
 * evidence; one oracle per behaviour id of catalogue/behaviours.yaml.
 */
import { z } from "zod";
import { hostPort } from "../evidence/parsers/common.ts";
import type { IptablesSave, IptRule } from "../evidence/parsers/iptables-save.ts";
import type { IpvsService, IpvsTable } from "../evidence/parsers/ipvsadm.ts";
import type { KeepalivedConf } from "../evidence/parsers/keepalived.ts";
import { ingressRules, type IngressRule, type KlvsIngress } from "../evidence/parsers/klvs-ingress.ts";
import type { Endpoints, NodeInfo, PodRow } from "../evidence/parsers/kubectl-get.ts";
import { verdict, type Verdict } from "./verdict.ts";

/** one virtual service the CRs ask for, with the real servers the endpoints give it */
export interface DesiredService {
  key: string;
  rule: IngressRule;
  /** "ip:port" of every ready endpoint address on svcPort, sorted */
  realServers: string[];
}

/**
 * What IPVS should hold for these CRs: one virtual service per VIP:port/protocol, real servers =
 * the ready addresses of the backend service's Endpoints on svcPort. A rule whose service has no
 * Endpoints object is reported in `problems` (the oracle cannot know what to expect).
 */
export function desiredServices(crs: KlvsIngress[], endpoints: Endpoints[]): { services: DesiredService[]; problems: string[] } {
  const services: DesiredService[] = [];
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const cr of crs) {
    for (const rule of ingressRules(cr)) {
      const key = `${rule.protocol} ${hostPort(rule.vip, rule.vipPort)}`;
      const other = seen.get(key);
      if (other) {
        problems.push(`${key} is asked for by both ${other} and ${rule.source}`);
        continue;
      }
      seen.set(key, rule.source);
      const ep = endpoints.find((e) => e.metadata.name === rule.service && (!rule.namespace || !e.metadata.namespace || e.metadata.namespace === rule.namespace));
      if (!ep) problems.push(`no Endpoints object for service ${rule.service} (needed by ${rule.source})`);
      const real = (ep?.subsets ?? []).flatMap((s) => s.addresses.map((a) => hostPort(a.ip, rule.svcPort)));
      services.push({ key, rule, realServers: [...new Set(real)].sort() });
    }
  }
  return { services, problems };
}

const describeRule = (d: DesiredService) => `${d.key} (${d.rule.scheduler}, ${d.rule.source})`;

/**
 * Compare desired services to a parsed table. Services of the table on VIPs outside `vips` are not
 * the CRs' business (kube-proxy in IPVS mode puts ClusterIPs there) and are ignored.
 */
export function compareToTable(desired: DesiredService[], table: IpvsTable, vips: Set<string>, where = ""): { failures: string[]; passes: string[] } {
  const failures: string[] = [];
  const passes: string[] = [];
  const at = where ? ` on ${where}` : "";
  const byKey = new Map(table.services.map((s) => [s.key, s]));
  for (const d of desired) {
    const s = byKey.get(d.key);
    if (!s) {
      failures.push(`missing virtual service ${describeRule(d)}${at}`);
      continue;
    }
    const before = failures.length;
    if (s.scheduler !== d.rule.scheduler) failures.push(`${d.key}${at}: scheduler ${s.scheduler}, want ${d.rule.scheduler} (${d.rule.source})`);
    const have = new Map(s.realServers.map((r) => [r.key, r]));
    for (const rs of d.realServers) if (!have.has(rs)) failures.push(`${d.key}${at}: missing real server ${rs}`);
    for (const r of s.realServers) {
      if (!d.realServers.includes(r.key)) failures.push(`${d.key}${at}: extra real server ${r.key} (not a ready endpoint of ${d.rule.service})`);
      else {
        if (r.forward !== d.rule.forward) failures.push(`${d.key}${at}: real server ${r.key} forward ${r.forward}, want ${d.rule.forward}`);
        if (r.weight !== 1) failures.push(`${d.key}${at}: real server ${r.key} weight ${r.weight}, want 1`);
      }
    }
    if (failures.length === before) passes.push(`${d.key}${at}: ${s.scheduler}, ${d.realServers.length} real server(s) ${d.rule.forward} weight 1`);
  }
  const wanted = new Set(desired.map((d) => d.key));
  for (const s of table.services) {
    if (s.address !== undefined && vips.has(s.address) && !wanted.has(s.key)) failures.push(`extra virtual service ${s.key} (${s.scheduler})${at}: no CR asks for it`);
  }
  return { failures, passes };
}

/** KLVS-01: the IPVS table is exactly what the LvsIngress/EricIngress CRs and the endpoints ask for */
export function klvs01(input: { ingresses: KlvsIngress[]; endpoints: Endpoints[]; table: IpvsTable; node?: string }): Verdict {
  const { services, problems } = desiredServices(input.ingresses, input.endpoints);
  const vips = new Set(services.map((d) => d.rule.vip));
  const c = compareToTable(services, input.table, vips, input.node);
  return verdict("KLVS-01", [...problems, ...c.failures], c.passes, { virtualServices: services.length, realServers: services.reduce((n, d) => n + d.realServers.length, 0) });
}

/** a service's programming, without its counters, for comparing tables */
function shape(s: IpvsService): string {
  const flags = [s.persistent !== undefined ? `persistent ${s.persistent}` : "", s.ops ? "ops" : "", s.schedFlags.length ? `(${s.schedFlags.join(",")})` : ""].filter(Boolean).join(" ");
  return `${s.scheduler}${flags ? ` ${flags}` : ""}`;
}

/**
 * Differences between two tables in programming (services, scheduler, flags, real servers with
 * forward and weight); connection counters are ignored. Names say which side has what.
 */
export function diffTables(a: IpvsTable, aName: string, b: IpvsTable, bName: string, only?: (s: IpvsService) => boolean): string[] {
  const keep = only ?? (() => true);
  const A = new Map(a.services.filter(keep).map((s) => [s.key, s]));
  const B = new Map(b.services.filter(keep).map((s) => [s.key, s]));
  const out: string[] = [];
  for (const [k, s] of A) {
    const t = B.get(k);
    if (!t) {
      out.push(`${k} (${shape(s)}) is on ${aName} but not on ${bName}`);
      continue;
    }
    if (shape(s) !== shape(t)) out.push(`${k}: ${aName} has ${shape(s)}, ${bName} has ${shape(t)}`);
    const ra = new Map(s.realServers.map((r) => [r.key, r]));
    const rb = new Map(t.realServers.map((r) => [r.key, r]));
    for (const [rk, r] of ra) {
      const q = rb.get(rk);
      if (!q) out.push(`${k}: real server ${rk} is on ${aName} but not on ${bName}`);
      else if (q.forward !== r.forward || q.weight !== r.weight) out.push(`${k}: real server ${rk} is ${r.forward}/${r.weight} on ${aName}, ${q.forward}/${q.weight} on ${bName}`);
    }
    for (const rk of rb.keys()) if (!ra.has(rk)) out.push(`${k}: real server ${rk} is on ${bName} but not on ${aName}`);
  }
  for (const [k, t] of B) if (!A.has(k)) out.push(`${k} (${shape(t)}) is on ${bName} but not on ${aName}`);
  return out;
}

/** KLVS-02: deleting a CR removes exactly its virtual services; everything else stays as it was */
export function klvs02(input: { before: IpvsTable; after: IpvsTable; deleted: KlvsIngress; remaining: KlvsIngress[] }): Verdict {
  const gone = new Set(ingressRules(input.deleted).map((r) => `${r.protocol} ${hostPort(r.vip, r.vipPort)}`));
  const vips = new Set([...ingressRules(input.deleted), ...input.remaining.flatMap(ingressRules)].map((r) => r.vip));
  const failures: string[] = [];
  const passes: string[] = [];
  const beforeKeys = new Set(input.before.services.map((s) => s.key));
  const afterKeys = new Set(input.after.services.map((s) => s.key));
  const name = `${input.deleted.kind}/${input.deleted.metadata.name}`;
  for (const k of gone) {
    if (!beforeKeys.has(k)) failures.push(`${k} of deleted ${name} was not in the table before the delete: the before table proves nothing`);
    else if (afterKeys.has(k)) failures.push(`${k} of deleted ${name} is still programmed`);
    else passes.push(`${k} of deleted ${name} removed`);
  }
  const others = diffTables(input.before, "before", input.after, "after", (s) => !gone.has(s.key) && s.address !== undefined && vips.has(s.address));
  failures.push(...others.map((d) => `not part of ${name}: ${d}`));
  if (others.length === 0) passes.push(`every other virtual service on the CRs' VIPs unchanged (${input.after.services.filter((s) => s.address !== undefined && vips.has(s.address)).length})`);
  return verdict("KLVS-02", failures, passes, { removed: [...gone].filter((k) => beforeKeys.has(k) && !afterKeys.has(k)).length });
}

/** router pods compared across a change: same pods (by name), no restart */
function noRestart(before: PodRow[], after: PodRow[]): { failures: string[]; passes: string[] } {
  const failures: string[] = [];
  const passes: string[] = [];
  if (before.length === 0) failures.push("no router pods listed before the change");
  for (const b of before) {
    const a = after.find((p) => p.name === b.name);
    if (!a) failures.push(`router pod ${b.name} is gone after the change (recreated?)`);
    else if (a.restarts !== b.restarts) failures.push(`router pod ${b.name} restarted (restarts ${b.restarts} → ${a.restarts})`);
    else if (!a.ready) failures.push(`router pod ${b.name} is not ready after the change`);
    else passes.push(`router pod ${b.name} kept running (restarts ${a.restarts})`);
  }
  for (const a of after) if (!before.some((b) => b.name === a.name)) failures.push(`router pod ${a.name} appeared during the change (recreated?)`);
  return { failures, passes };
}

/**
 * KLVS-03: an edited CR (ports or scheduler) is applied without restarting the router pods.
 * `before` (optional) is the table before the edit: it must match the previous CR, or the edit
 * was not what changed it.
 */
export function klvs03(input: { previous: KlvsIngress; edited: KlvsIngress; others?: KlvsIngress[]; endpoints: Endpoints[]; before?: IpvsTable; after: IpvsTable; routerPodsBefore: PodRow[]; routerPodsAfter: PodRow[] }): Verdict {
  const crs = [input.edited, ...(input.others ?? [])];
  const { services, problems } = desiredServices(crs, input.endpoints);
  const vips = new Set([...services.map((d) => d.rule.vip), ...ingressRules(input.previous).map((r) => r.vip)]);
  const c = compareToTable(services, input.after, vips);
  const p = noRestart(input.routerPodsBefore, input.routerPodsAfter);
  const changed = diffRules(input.previous, input.edited);
  const pre: string[] = [];
  if (input.before) {
    const prev = desiredServices([input.previous, ...(input.others ?? [])], input.endpoints).services;
    pre.push(...compareToTable(prev, input.before, vips).failures.map((f) => `before the edit: ${f}`));
  }
  const failures = [...pre, ...problems, ...c.failures, ...p.failures];
  if (changed.length === 0) failures.push("the edited CR asks for the same virtual services as before: nothing was edited");
  return verdict("KLVS-03", failures, [...changed.map((d) => `edit: ${d}`), ...c.passes, ...p.passes]);
}

function diffRules(a: KlvsIngress, b: KlvsIngress): string[] {
  const fmt = (r: IngressRule) => `${r.protocol} ${hostPort(r.vip, r.vipPort)} ${r.scheduler} → ${r.svcPort}`;
  const A = new Set(ingressRules(a).map(fmt));
  const B = new Set(ingressRules(b).map(fmt));
  return [...[...A].filter((x) => !B.has(x)).map((x) => `- ${x}`), ...[...B].filter((x) => !A.has(x)).map((x) => `+ ${x}`)];
}

/** KLVS-04: after scaling the backend the real servers are the new endpoints */
export function klvs04(input: { ingresses: KlvsIngress[]; endpointsBefore: Endpoints[]; endpointsAfter: Endpoints[]; after: IpvsTable }): Verdict {
  const before = desiredServices(input.ingresses, input.endpointsBefore).services;
  const { services, problems } = desiredServices(input.ingresses, input.endpointsAfter);
  const vips = new Set(services.map((d) => d.rule.vip));
  const c = compareToTable(services, input.after, vips);
  const count = (ds: DesiredService[]) => ds.reduce((n, d) => n + d.realServers.length, 0);
  const failures = [...problems, ...c.failures];
  if (count(before) === count(services)) failures.push(`the endpoints did not change in number (${count(before)} real servers before and after): no scaling to check`);
  return verdict("KLVS-04", failures, c.passes, { realServersBefore: count(before), realServersAfter: count(services) });
}

/** KLVS-05: every router node carries the same IPVS programming (active:active, the ingress design report) */
export function klvs05(input: { tables: { node: string; table: IpvsTable }[] }): Verdict {
  if (input.tables.length < 2) return verdict("KLVS-05", [`need the tables of at least two router nodes, got ${input.tables.length}`]);
  const [first, ...rest] = input.tables;
  const failures: string[] = [];
  for (const t of rest) failures.push(...diffTables(first!.table, first!.node, t.table, t.node));
  if (first!.table.services.length === 0) failures.push(`${first!.node} has an empty table: identical but proves nothing`);
  return verdict("KLVS-05", failures, [`${input.tables.map((t) => t.node).join(", ")} carry the same ${first!.table.services.length} virtual services`]);
}

/** a timeline the harness records while failing a router node (KLVS-06) */
export const VipTimelineSchema = z
  .object({
    vip: z.string(),
    routerNodes: z.array(z.string()).min(2),
    /** the node that was stopped, and when (ms from the start of the recording) */
    lost: z.object({ node: z.string(), atMs: z.number().min(0) }),
    /** which router nodes held the VIP at each sample (from `ip -o addr` on each node) */
    samples: z.array(z.object({ atMs: z.number().min(0), holders: z.array(z.string()) })).min(2),
    /** new connections to the VIP attempted after the loss */
    newConnections: z.array(z.object({ atMs: z.number().min(0), ok: z.boolean() })),
    /** what happened to a connection established through the old holder before the loss */
    established: z.enum(["reset", "survived", "hung"]),
  })
  .strict();
export type VipTimeline = z.output<typeof VipTimelineSchema>;

/** one router node's keepalived.conf and the address it speaks VRRP from */
export interface RouterVrrp {
  node: string;
  address: string;
  conf: KeepalivedConf;
}

/**
 * The keepalived pair behind the VIP (the ingress design report): each node has a VRRP instance listing the VIP,
 * with the same virtual_router_id, speaking unicast from its own address to the other's.
 */
export function vrrpPairProblems(vip: string, routers: RouterVrrp[]): { failures: string[]; passes: string[] } {
  const failures: string[] = [];
  const passes: string[] = [];
  const inst = routers.map((r) => ({ r, v: r.conf.vrrpInstances.find((i) => i.virtualIpaddresses.some((a) => a.split("/")[0] === vip)) }));
  for (const { r, v } of inst) {
    if (!v) {
      failures.push(`${r.node}: no vrrp_instance lists the VIP ${vip}`);
      continue;
    }
    if (v.unicastSrcIp !== undefined && v.unicastSrcIp !== r.address) failures.push(`${r.node}: vrrp_instance ${v.name} speaks from ${v.unicastSrcIp}, not the node's ${r.address}`);
    for (const o of routers) {
      if (o !== r && v.unicastPeers.length > 0 && !v.unicastPeers.includes(o.address)) failures.push(`${r.node}: vrrp_instance ${v.name} does not list ${o.node} (${o.address}) as a unicast peer`);
    }
  }
  const ids = [...new Set(inst.map(({ v }) => v?.virtualRouterId).filter((x) => x !== undefined))];
  if (ids.length > 1) failures.push(`the router nodes use different virtual_router_id for ${vip}: ${inst.map(({ r, v }) => `${r.node} ${v?.virtualRouterId}`).join(", ")}`);
  if (failures.length === 0) passes.push(`keepalived: ${routers.map((r) => r.node).join(" and ")} share VRRP instance id ${ids[0]} for ${vip}, unicast to each other`);
  return { failures, passes };
}

/**
 * KLVS-06: the VIP sits on exactly one router node; when that node is lost it moves to another
 * within `boundMs`, new connections work afterwards, and established ones are reset (ingress
 * connections are not replicated, the ingress design report). `vrrp` (optional) adds the keepalived pair's
 * configuration to the evidence.
 */
export function klvs06(t: VipTimeline, params: { boundMs: number; vrrp?: RouterVrrp[] }): Verdict {
  const failures: string[] = [];
  const passes: string[] = [];
  if (params.vrrp) {
    const k = vrrpPairProblems(t.vip, params.vrrp);
    failures.push(...k.failures);
    passes.push(...k.passes);
  }
  const samples = [...t.samples].sort((a, b) => a.atMs - b.atMs);
  for (const s of samples) {
    const h = s.holders.filter((n) => !(s.atMs >= t.lost.atMs && n === t.lost.node));
    const strangers = s.holders.filter((n) => !t.routerNodes.includes(n));
    if (strangers.length) failures.push(`at ${s.atMs} ms the VIP ${t.vip} is on ${strangers.join(", ")}, which is not a router node`);
    if (h.length > 1) failures.push(`at ${s.atMs} ms the VIP ${t.vip} is on ${h.length} nodes (${h.join(", ")})`);
    if (h.length === 0 && s.atMs < t.lost.atMs) failures.push(`at ${s.atMs} ms, before the loss, no router node holds the VIP ${t.vip}`);
  }
  const pre = samples.filter((s) => s.atMs < t.lost.atMs);
  const holderBefore = pre[pre.length - 1]?.holders[0];
  if (!holderBefore) failures.push("no sample before the loss");
  else if (holderBefore !== t.lost.node) failures.push(`the lost node ${t.lost.node} did not hold the VIP (${holderBefore} did): the loss tests nothing`);
  const moved = samples.find((s) => s.atMs >= t.lost.atMs && s.holders.some((n) => n !== t.lost.node && t.routerNodes.includes(n)));
  const moveMs = moved ? moved.atMs - t.lost.atMs : undefined;
  if (moveMs === undefined) failures.push(`the VIP ${t.vip} never moved off ${t.lost.node}`);
  else if (moveMs > params.boundMs) failures.push(`the VIP moved after ${moveMs} ms, more than the bound ${params.boundMs} ms`);
  else passes.push(`the VIP ${t.vip} moved from ${t.lost.node} to ${moved!.holders.find((n) => n !== t.lost.node)} in ${moveMs} ms (bound ${params.boundMs} ms)`);
  const after = t.newConnections.filter((c) => moved && c.atMs >= moved.atMs);
  if (after.length === 0) failures.push("no new connection was tried after the VIP moved");
  else if (!after[after.length - 1]!.ok) failures.push(`new connections fail after the move (last at ${after[after.length - 1]!.atMs} ms)`);
  else passes.push(`new connections work after the move (${after.filter((c) => c.ok).length}/${after.length} ok)`);
  if (t.established !== "reset") failures.push(`an established connection ${t.established === "hung" ? "hung instead of being reset" : "survived"}: 004 L736-750 says ingress connections are not replicated and are reset`);
  else passes.push("the established connection was reset, as designed");
  const m: Record<string, number | string> = { boundMs: params.boundMs, established: t.established };
  if (moveMs !== undefined) m.vipMoveMs = moveMs;
  return verdict("KLVS-06", failures, passes, m);
}

/**
 * KLVS-07: after `ipvsadm -C` or a router restart the rules come back: the table is again what it
 * was. `flushed` (optional) is a table seen right after the flush; it must be empty on the CRs'
 * VIPs, or the flush did not happen.
 */
export function klvs07(input: { before: IpvsTable; flushed?: IpvsTable; after: IpvsTable; rebuiltAfterMs?: number; boundMs?: number }): Verdict {
  const failures: string[] = [];
  const passes: string[] = [];
  if (input.before.services.length === 0) failures.push("the table was empty before the flush: nothing to rebuild");
  if (input.flushed && input.flushed.services.length > 0) failures.push(`the table still held ${input.flushed.services.length} virtual services right after the flush: the flush did not happen`);
  const d = diffTables(input.before, "before", input.after, "after");
  failures.push(...d.map((x) => `not rebuilt: ${x}`));
  if (d.length === 0) passes.push(`all ${input.before.services.length} virtual services rebuilt with their real servers`);
  const m: Record<string, number> = {};
  if (input.rebuiltAfterMs !== undefined) {
    m.rebuiltAfterMs = input.rebuiltAfterMs;
    if (input.boundMs !== undefined) {
      m.boundMs = input.boundMs;
      if (input.rebuiltAfterMs > input.boundMs) failures.push(`rebuilt after ${input.rebuiltAfterMs} ms, more than the bound ${input.boundMs} ms`);
    }
  }
  return verdict("KLVS-07", failures, passes, m);
}

/** `-A POSTROUTING -o tunl0 -j MASQUERADE`: only the out-interface restricts it (a comment is fine) */
function isTunlMasquerade(r: IptRule): boolean {
  return (
    r.outInterface?.value === "tunl0" &&
    !r.outInterface.negated &&
    r.target?.kind === "jump" &&
    r.target.name === "MASQUERADE" &&
    !r.source && !r.destination && !r.protocol && !r.inInterface && !r.fragment &&
    r.matches.every((m) => m.module === "comment")
  );
}

/** KLVS-08: the router node masquerades towards the tunnel and has IPVS conntrack on (the ingress design report) */
export function klvs08(input: { node: string; iptables: IptablesSave; sysctl: Record<string, string> }): Verdict {
  const failures: string[] = [];
  const passes: string[] = [];
  const want = "-A POSTROUTING -o tunl0 -j MASQUERADE";
  const post = input.iptables.tables.nat?.chains.POSTROUTING;
  if (!post) failures.push(`${input.node}: iptables-save has no nat POSTROUTING chain`);
  else {
    const hit = post.rules.find(isTunlMasquerade);
    if (hit) passes.push(`${input.node}: nat has "${want}" (line ${hit.line})`);
    else {
      const near = post.rules.filter((r) => r.target?.name === "MASQUERADE").map((r) => r.raw);
      failures.push(`${input.node}: nat POSTROUTING lacks "${want}"${near.length ? ` (its MASQUERADE rules: ${near.join("; ")})` : ""}`);
    }
  }
  const ct = input.sysctl["net.ipv4.vs.conntrack"];
  if (ct === undefined) failures.push(`${input.node}: net.ipv4.vs.conntrack not reported (IPVS not loaded?)`);
  else if (ct.trim() !== "1") failures.push(`${input.node}: net.ipv4.vs.conntrack = ${ct}, want 1`);
  else passes.push(`${input.node}: net.ipv4.vs.conntrack = 1`);
  return verdict("KLVS-08", failures, passes);
}

/** how router nodes and router pods are recognised (the ingress design report: taint node=routing, a label, a StatefulSet) */
export interface RouterPlacement {
  /** the label that marks router nodes, e.g. {key: "node", value: "routing"} */
  nodeLabel: { key: string; value: string };
  /** the taint that keeps other pods off, e.g. {key: "node", value: "routing", effect: "NoSchedule"} */
  taint: { key: string; value?: string; effect: string };
  /** router pod names, e.g. /^klvs-router-\d+$/ */
  routerPod: RegExp;
  /** namespaces whose pods may run anywhere (node agents of the platform); default kube-system */
  agentNamespaces?: string[];
}

/** KLVS-09: ordinary pods never on router nodes; router pods never elsewhere */
export function klvs09(input: { pods: PodRow[]; nodes: NodeInfo[]; placement: RouterPlacement }): Verdict {
  const pl = input.placement;
  const agents = new Set(pl.agentNamespaces ?? ["kube-system"]);
  const failures: string[] = [];
  const passes: string[] = [];
  const routerNodes = new Set(input.nodes.filter((n) => n.labels[pl.nodeLabel.key] === pl.nodeLabel.value).map((n) => n.name));
  if (routerNodes.size === 0) failures.push(`no node carries the router label ${pl.nodeLabel.key}=${pl.nodeLabel.value}`);
  for (const n of input.nodes) {
    if (!routerNodes.has(n.name)) continue;
    const tainted = n.taints.some((t) => t.key === pl.taint.key && (pl.taint.value === undefined || t.value === pl.taint.value) && t.effect === pl.taint.effect);
    if (!tainted) failures.push(`router node ${n.name} lacks the taint ${pl.taint.key}${pl.taint.value !== undefined ? `=${pl.taint.value}` : ""}:${pl.taint.effect}`);
  }
  const nodeNames = new Set(input.nodes.map((n) => n.name));
  let routers = 0;
  for (const p of input.pods) {
    const id = `${p.namespace ? `${p.namespace}/` : ""}${p.name}`;
    if (!p.node) continue; // not scheduled: nowhere to be wrong
    if (!nodeNames.has(p.node)) failures.push(`pod ${id} runs on ${p.node}, which is not in the node list`);
    const isRouter = pl.routerPod.test(p.name);
    const onRouter = routerNodes.has(p.node);
    if (isRouter) {
      routers++;
      if (!onRouter) failures.push(`router pod ${id} runs on ${p.node}, which is not a router node`);
    } else if (onRouter && !(p.namespace && agents.has(p.namespace))) failures.push(`ordinary pod ${id} runs on router node ${p.node}`);
  }
  if (routers === 0) failures.push(`no router pod (${pl.routerPod}) is scheduled`);
  if (failures.length === 0) passes.push(`${routers} router pod(s) only on ${[...routerNodes].join(", ")}; no other workload there`);
  return verdict("KLVS-09", failures, passes, { routerNodes: routerNodes.size, routerPods: routers });
}
