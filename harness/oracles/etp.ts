/**
 * Oracles for the ETP family (externalTrafficPolicy, the k3s lab; ETP-06/07 *ext*
 * from kubernetes test/e2e/network/loadbalancer.go). Pure functions of parsed evidence; every
 * failure reason names what is wrong. Source addresses are compared exactly — never by subnet.
 */
import { z } from "zod";
import { isIpAddress, splitHostPort } from "../evidence/parsers/common.ts";
import { comment, dport, moduleOptions, serviceRules, targetOption, type IptRule, type IptTable } from "../evidence/parsers/iptables-save.ts";
import { mapLookup, ruleMatches, ruleVerdict, type NftRule, type NftTable } from "../evidence/parsers/nft.ts";
import type { PodRow } from "../evidence/parsers/kubectl-get.ts";
import type { Tcpdump } from "../evidence/parsers/tcpdump.ts";
import { verdict, type Verdict } from "./verdict.ts";

const list = (xs: string[]): string => (xs.length ? xs.join(", ") : "none");

/** "ip:port" (agnhost /clientip), "[v6]:port" or a bare address → the address, or undefined */
function addressOf(seen: string): { address: string; port?: number } | undefined {
  const t = seen.trim();
  const hp = splitHostPort(t);
  if (hp) return hp;
  return isIpAddress(t) ? { address: t } : undefined;
}

/** Sources ("ip:port") of the TCP SYNs a backend captured towards ip:port, in order (the k3s lab). */
export function synSources(capture: Tcpdump, backendIp: string, backendPort: number): string[] {
  return capture.packets
    .filter((p) => p.ip?.proto === "tcp" && p.ip.dst === backendIp && p.ip.dport === backendPort && p.ip.tcpFlags === "S")
    .map((p) => `${p.ip!.src}:${p.ip!.sport}`);
}

function sourceCheck(id: string, want: "snat" | "preserved", clientIp: string, seen: string[]): Verdict {
  if (!isIpAddress(clientIp)) return verdict(id, [`client IP ${JSON.stringify(clientIp)} is not an IP address`]);
  if (seen.length === 0) return verdict(id, ["no source seen by the backend: no request reached it"]);
  const failures: string[] = [];
  const sources: string[] = [];
  for (const s of seen) {
    const a = addressOf(s);
    if (!a) {
      failures.push(`backend reply ${JSON.stringify(s.trim().slice(0, 80))} is not "ip:port" (agnhost /clientip) or an address`);
      continue;
    }
    sources.push(a.address);
    const shown = a.port !== undefined ? `${a.address}:${a.port}` : a.address;
    if (want === "snat" && a.address === clientIp) failures.push(`backend saw the external client's own address ${shown}: not source-NATed (externalTrafficPolicy Cluster masquerades)`);
    if (want === "preserved" && a.address !== clientIp) failures.push(`backend saw ${shown}, not the external client's address ${clientIp}: the source was NATed (SNAT) on the way`);
  }
  const uniq = [...new Set(sources)];
  return verdict(
    id,
    failures,
    [want === "snat" ? `SNAT: the backend saw ${list(uniq)}, never the client ${clientIp} (${seen.length} request(s))` : `preserved: the backend saw the client's own address ${clientIp} in all ${seen.length} request(s)`],
    { seen: list(uniq), verdict: want === "snat" ? (failures.length ? "preserved" : "SNAT") : failures.length ? "SNAT" : "preserved" },
  );
}

// ---------------------------------------------------------------------------------------------
// ETP-01: Cluster — the backend sees a source that is not the external client's IP (SNAT).

export interface EtpSourceInput {
  /** the external client container's own address */
  clientIp: string;
  /** per request: what the backend saw ("ip:port" from /clientip, or a SYN source from a capture) */
  seen: string[];
}

export function etp01(input: EtpSourceInput): Verdict {
  return sourceCheck("ETP-01", "snat", input.clientIp, input.seen);
}

// ---------------------------------------------------------------------------------------------
// ETP-02: Local — the backend sees the external client's exact IP.

export function etp02(input: EtpSourceInput): Verdict {
  return sourceCheck("ETP-02", "preserved", input.clientIp, input.seen);
}

// ---------------------------------------------------------------------------------------------
// ETP-03: Local — external requests are answered only by pods on the announcing node.

export interface Etp03Input {
  announcingNode: string;
  /** the service's pods (kubectl get pods -o wide) */
  pods: PodRow[];
  /** the pod IP that answered each external request */
  answeredBy: string[];
}

function podNode(pods: PodRow[], ip: string): string | undefined {
  return pods.find((p) => p.ip === ip)?.node;
}

export function etp03(input: Etp03Input): Verdict {
  const id = "ETP-03";
  const failures: string[] = [];
  if (input.answeredBy.length === 0) failures.push("no external request was answered");
  if (!input.pods.some((p) => p.node === input.announcingNode)) failures.push(`no pod of the service runs on the announcing node ${input.announcingNode}`);
  const seen = new Map<string, number>();
  for (const ip of input.answeredBy) seen.set(ip, (seen.get(ip) ?? 0) + 1);
  for (const [ip, n] of seen) {
    const node = podNode(input.pods, ip);
    if (!node) failures.push(`${ip} answered ${n} request(s) but is no pod of the service`);
    else if (node !== input.announcingNode) failures.push(`${ip} on ${node} answered ${n} external request(s); with Local only pods on the announcing node ${input.announcingNode} may`);
  }
  return verdict(id, failures, [`${input.answeredBy.length} external request(s) answered only by pods on ${input.announcingNode}: ${list([...seen.keys()].sort())}`], { requests: input.answeredBy.length });
}

// ---------------------------------------------------------------------------------------------
// ETP-04: Local — pods calling the VIP are still balanced cluster-wide.

export interface Etp04Input {
  announcingNode: string;
  pods: PodRow[];
  /** the pod IP that answered each request made from a client pod */
  answeredBy: string[];
}

export function etp04(input: Etp04Input): Verdict {
  const id = "ETP-04";
  const failures: string[] = [];
  const nodes = new Set<string>();
  for (const ip of input.answeredBy) {
    const n = podNode(input.pods, ip);
    if (!n) failures.push(`${ip} answered but is no pod of the service`);
    else nodes.add(n);
  }
  const others = [...nodes].filter((n) => n !== input.announcingNode).sort();
  if (input.answeredBy.length === 0) failures.push("no in-cluster request was answered");
  else if (others.length === 0) failures.push(`all ${input.answeredBy.length} in-cluster request(s) were answered on ${list([...nodes])}: in-cluster traffic was kept to the announcing node ${input.announcingNode} (KUBE-SVL), not balanced cluster-wide (KUBE-SVC)`);
  else if (nodes.size < 2 && input.pods.some((p) => p.node !== [...nodes][0])) failures.push(`in-cluster requests reached only ${list([...nodes])}`);
  return verdict(id, failures, [`${input.answeredBy.length} in-cluster request(s) answered on ${list([...nodes].sort())}, including ${list(others)} besides the announcing node ${input.announcingNode}`], { nodes: nodes.size });
}

// ---------------------------------------------------------------------------------------------
// ETP-05: rule shape. Cluster → KUBE-EXT = KUBE-MARK-MASQ + KUBE-SVC; Local → pod-CIDR rule to
// KUBE-SVC, LOCAL-source masquerade and route to KUBE-SVC, then KUBE-SVL-* listing only local
// endpoints (the k3s lab).

/**
 * The chain the KUBE-SERVICES loadbalancer-IP rule for vip:port jumps to (full iptables-save nat
 * table): KUBE-EXT-* (kube-proxy ≥ 1.24), else KUBE-FW-* / KUBE-XLB-* (earlier versions).
 */
export function extChainFor(nat: IptTable, vip: string, port: number, proto = "tcp"): string | undefined {
  const rules = serviceRules(nat, vip, port, proto);
  return (rules.find((r) => r.target?.name.startsWith("KUBE-EXT-")) ?? rules.find((r) => /^KUBE-(FW|XLB)-/.test(r.target?.name ?? "")))?.target?.name;
}

export interface Etp05Input {
  nat: IptTable;
  policy: "Cluster" | "Local";
  /** the service's KUBE-EXT chain (from the KUBE-SERVICES loadbalancer-IP rule) */
  extChain: string;
  /** Local: the cluster's pod CIDR and the endpoints ("podIP:port") on this node */
  podCidr?: string;
  localEndpoints?: string[];
}

const plain = (r: IptRule): boolean => !r.source && !r.destination && !r.protocol && !r.inInterface && !r.outInterface && r.matches.every((m) => m.module === "comment");
const srcTypeLocal = (r: IptRule): boolean => !r.source && !r.destination && r.matches.some((m) => m.module === "addrtype") && moduleOptions(r, "addrtype").some((o) => o.name === "--src-type" && o.args[0] === "LOCAL" && !o.negated);

/** "podIP:port" endpoints behind a KUBE-SVC/KUBE-SVL chain: the SEP chain's DNAT when present, else the rule comment. */
function chainEndpoints(nat: IptTable, chain: string): string[] {
  const out: string[] = [];
  for (const r of nat.chains[chain]?.rules ?? []) {
    const sep = r.target?.name;
    if (!sep?.startsWith("KUBE-SEP-")) continue;
    const dnat = (nat.chains[sep]?.rules ?? []).find((x) => x.target?.name === "DNAT");
    const to = dnat ? targetOption(dnat, "--to-destination") : undefined;
    const fromComment = /-> (\S+)$/.exec(comment(r) ?? "")?.[1];
    const ep = to ?? fromComment;
    if (ep) out.push(ep);
  }
  return out.sort();
}

/**
 * ETP-05 for both chain eras (issue 11 item 4): KUBE-XLB-* and KUBE-FW-* chains (kube-proxy before
 * 1.24) go to etp05Xlb(), KUBE-EXT-* chains to etp05Ext(); the verdict names the era.
 */
export function etp05(input: Etp05Input): Verdict {
  const xlb = /^KUBE-(XLB|FW)-/.test(input.extChain);
  const v = xlb ? etp05Xlb(input) : etp05Ext(input);
  const era = xlb ? "KUBE-XLB/KUBE-SVC era (kube-proxy before 1.24)" : "KUBE-EXT/KUBE-SVL era (kube-proxy 1.24 and later)";
  return { ...v, reasons: [...v.reasons, `chains judged as the ${era}`], measurements: { ...v.measurements, era: xlb ? "KUBE-XLB" : "KUBE-EXT" } };
}

function etp05Ext(input: Etp05Input): Verdict {
  const id = "ETP-05";
  const failures: string[] = [];
  const passes: string[] = [];
  const ext = input.nat.chains[input.extChain];
  if (!ext) return verdict(id, [`chain ${input.extChain} is not in the nat table`]);
  const hash = input.extChain.replace(/^KUBE-EXT-/, "");
  const svc = `KUBE-SVC-${hash}`, svl = `KUBE-SVL-${hash}`;
  const rules = ext.rules;
  const show = (r: IptRule | undefined) => (r ? `line ${r.line}: ${r.raw}` : "missing");
  if (input.policy === "Cluster") {
    if (rules.length !== 2) failures.push(`${input.extChain} has ${rules.length} rules, expected 2 (KUBE-MARK-MASQ, then ${svc})`);
    const [m, j] = rules;
    if (!m || m.target?.name !== "KUBE-MARK-MASQ" || !plain(m)) failures.push(`${input.extChain} rule 1 must mark every packet for masquerade (-j KUBE-MARK-MASQ): ${show(m)}`);
    if (!j || j.target?.name !== svc || !plain(j)) failures.push(`${input.extChain} rule 2 must jump to ${svc} for every packet: ${show(j)}`);
    if (rules.some((r) => r.target?.name === svl)) failures.push(`${input.extChain} jumps to ${svl}: that is the Local shape`);
    if (!failures.length) passes.push(`Cluster: ${input.extChain} = KUBE-MARK-MASQ, then ${svc}`);
    return verdict(id, failures, passes, { rules: rules.length });
  }
  // Local
  if (!input.podCidr) failures.push("Local shape needs the cluster pod CIDR");
  const [pod, masq, route, last] = rules;
  // No endpoint on this node: kube-proxy writes no jump to KUBE-SVL; the filter table's
  // KUBE-EXTERNAL-SERVICES drops the traffic ("has no local endpoints").
  if (rules.length === 3 && input.localEndpoints?.length === 0 && !rules.some((r) => r.target?.name === svl)) {
    const shapeOk = pod?.target?.name === svc && masq?.target?.name === "KUBE-MARK-MASQ" && srcTypeLocal(masq) && route?.target?.name === svc && srcTypeLocal(route);
    if (shapeOk) return verdict(id, [], [`Local, no endpoint on this node: ${input.extChain} = -s ${input.podCidr} → ${svc}, LOCAL → KUBE-MARK-MASQ, LOCAL → ${svc}, and no jump to ${svl}: external traffic is dropped here, never sent to another node`], { rules: 3 });
  }
  if (rules.length !== 4) failures.push(`${input.extChain} has ${rules.length} rules, expected 4 (pod CIDR → ${svc}, LOCAL masquerade, LOCAL → ${svc}, → ${svl})`);
  if (!pod || pod.target?.name !== svc || pod.source?.value !== input.podCidr || pod.source?.negated) failures.push(`${input.extChain} rule 1 must send pod traffic (-s ${input.podCidr}) to ${svc}: ${show(pod)}`);
  if (!masq || masq.target?.name !== "KUBE-MARK-MASQ" || !srcTypeLocal(masq)) failures.push(`${input.extChain} rule 2 must mark LOCAL-source traffic for masquerade (-m addrtype --src-type LOCAL -j KUBE-MARK-MASQ): ${show(masq)}`);
  if (!route || route.target?.name !== svc || !srcTypeLocal(route)) failures.push(`${input.extChain} rule 3 must route LOCAL-source traffic to ${svc}: ${show(route)}`);
  if (!last || last.target?.name !== svl || !plain(last)) failures.push(`${input.extChain} rule 4 must send everything else to ${svl}: ${show(last)}`);
  const bareMasq = rules.filter((r) => r.target?.name === "KUBE-MARK-MASQ" && plain(r));
  for (const r of bareMasq) failures.push(`${input.extChain} masquerades all traffic (line ${r.line}): external sources would be SNATed under Local`);
  if (!input.nat.chains[svl]) failures.push(`${svl} is not in the nat table`);
  else {
    const eps = chainEndpoints(input.nat, svl);
    const want = [...(input.localEndpoints ?? [])].sort();
    if (eps.length === 0) failures.push(`${svl} lists no endpoint`);
    for (const e of eps) if (!want.includes(e)) failures.push(`${svl} lists ${e}, which is not an endpoint on this node (local: ${list(want)})`);
    for (const e of want) if (!eps.includes(e)) failures.push(`${svl} misses the local endpoint ${e}`);
    if (!failures.length) passes.push(`Local: ${input.extChain} = -s ${input.podCidr} → ${svc}, LOCAL → KUBE-MARK-MASQ, LOCAL → ${svc}, rest → ${svl} (${list(eps)})`);
  }
  return verdict(id, failures, passes, { rules: rules.length });
}

/**
 * ETP-05 on kube-proxy's chains before 1.24 (pkg/proxy/iptables/proxier.go up to v1.23): the
 * load-balancer IP jumps to KUBE-FW-<h>, NodePorts and Local to KUBE-XLB-<h>, both with the hash of
 * KUBE-SVC-<h>.
 *   Cluster: KUBE-FW-<h> = KUBE-MARK-MASQ, KUBE-SVC-<h>, KUBE-MARK-DROP
 *   Local:   KUBE-FW-<h> = KUBE-XLB-<h>, KUBE-MARK-DROP
 *            KUBE-XLB-<h> = [-s podCIDR → KUBE-SVC-<h>], [LOCAL → KUBE-MARK-MASQ, LOCAL → KUBE-SVC-<h>],
 *                           then the local endpoints' KUBE-SEP-* jumps, or, when this node has none,
 *                           "… has no local endpoints" -j KUBE-MARK-DROP (external traffic dropped here).
 */
function etp05Xlb(input: Etp05Input): Verdict {
  const id = "ETP-05";
  const failures: string[] = [];
  const passes: string[] = [];
  const hash = input.extChain.replace(/^KUBE-(XLB|FW)-/, "");
  const svc = `KUBE-SVC-${hash}`, xlb = `KUBE-XLB-${hash}`;
  const show = (r: IptRule | undefined) => (r ? `line ${r.line}: ${r.raw}` : "missing");
  let chain = input.extChain;
  if (!input.nat.chains[chain]) return verdict(id, [`chain ${chain} is not in the nat table`]);
  if (chain.startsWith("KUBE-FW-")) {
    const fw = input.nat.chains[chain]!.rules;
    const toXlb = fw.find((r) => r.target?.name === xlb);
    if (input.policy === "Cluster") {
      if (toXlb) failures.push(`${chain} jumps to ${xlb}: that is the Local shape`);
      const m = fw.findIndex((r) => r.target?.name === "KUBE-MARK-MASQ");
      const j = fw.findIndex((r) => r.target?.name === svc);
      if (m < 0 || !plain(fw[m]!)) failures.push(`${chain} must mark every packet for masquerade (-j KUBE-MARK-MASQ): ${show(fw[m])}`);
      if (j < 0 || !plain(fw[j]!)) failures.push(`${chain} must jump to ${svc} for every packet: ${show(fw[j])}`);
      if (m >= 0 && j >= 0 && m > j) failures.push(`${chain} jumps to ${svc} before KUBE-MARK-MASQ`);
      if (!failures.length) passes.push(`Cluster: ${chain} = KUBE-MARK-MASQ, then ${svc}`);
      return verdict(id, failures, passes, { rules: fw.length });
    }
    if (!toXlb) return verdict(id, [`${chain} has no jump to ${xlb}: not the Local shape (${fw.map((r) => r.target?.name ?? "none").join(", ")})`]);
    if (fw.some((r) => r.target?.name === "KUBE-MARK-MASQ" && plain(r))) failures.push(`${chain} masquerades all traffic: external sources would be SNATed under Local`);
    chain = xlb;
    if (!input.nat.chains[chain]) return verdict(id, [...failures, `${chain} is jumped to from ${input.extChain} but not in the nat table`]);
  } else if (input.policy === "Cluster") {
    return verdict(id, [`${chain} is a KUBE-XLB chain: kube-proxy writes one only for externalTrafficPolicy Local`]);
  }
  const rules = input.nat.chains[chain]!.rules;
  if (!input.podCidr) failures.push("Local shape needs the cluster pod CIDR");
  let i = 0;
  const pod = rules[i];
  if (pod && pod.target?.name === svc && pod.source && !pod.source.negated) {
    if (pod.source.value !== input.podCidr) failures.push(`${chain} rule ${i + 1} sends -s ${pod.source.value} to ${svc}, expected the pod CIDR ${input.podCidr}: ${show(pod)}`);
    i++;
  } else failures.push(`${chain} rule 1 must send pod traffic (-s ${input.podCidr}) to ${svc}: ${show(pod)}`);
  const masq = rules[i], route = rules[i + 1];
  if (masq && masq.target?.name === "KUBE-MARK-MASQ" && srcTypeLocal(masq)) {
    if (!route || route.target?.name !== svc || !srcTypeLocal(route)) failures.push(`${chain} rule ${i + 2} must route LOCAL-source traffic to ${svc}: ${show(route)}`);
    i += 2;
  }
  for (const r of rules) if (r.target?.name === "KUBE-MARK-MASQ" && plain(r)) failures.push(`${chain} masquerades all traffic (line ${r.line}): external sources would be SNATed under Local`);
  const tail = rules.slice(i);
  const want = [...(input.localEndpoints ?? [])].sort();
  const drop = tail.find((r) => r.target?.name === "KUBE-MARK-DROP");
  const seps = tail.filter((r) => r.target?.name.startsWith("KUBE-SEP-"));
  const strays = tail.filter((r) => r !== drop && !seps.includes(r));
  for (const r of strays) failures.push(`${chain} ${show(r)}: expected only local KUBE-SEP-* jumps or KUBE-MARK-DROP after the pod/LOCAL rules`);
  if (drop) {
    const says = comment(drop) ?? "";
    if (seps.length) failures.push(`${chain} both drops (${show(drop)}) and lists endpoints`);
    if (want.length) failures.push(`${chain} says ${JSON.stringify(says || "no local endpoints")} and drops external traffic (KUBE-MARK-DROP), but ${want.length} endpoint(s) run on this node: ${list(want)}`);
    else if (!failures.length) passes.push(`Local, no endpoint on this node: ${chain} ${says ? `says "${says}" and ` : ""}marks external traffic for drop (KUBE-MARK-DROP): it is dropped here, never sent to another node`);
    return verdict(id, failures, passes, { rules: rules.length });
  }
  if (seps.length === 0) failures.push(`${chain} lists no endpoint and does not drop: external traffic would fall through`);
  const eps = chainEndpoints(input.nat, chain);
  for (const e of eps) if (!want.includes(e)) failures.push(`${chain} lists ${e}, which is not an endpoint on this node (local: ${list(want)})`);
  for (const e of want) if (!eps.includes(e)) failures.push(`${chain} misses the local endpoint ${e}`);
  if (!failures.length) passes.push(`Local: ${chain} = -s ${input.podCidr} → ${svc}${i > 1 ? `, LOCAL → KUBE-MARK-MASQ, LOCAL → ${svc}` : ""}, then only the local endpoints (${list(eps)})`);
  return verdict(id, failures, passes, { rules: rules.length });
}

// ---------------------------------------------------------------------------------------------
// ETP-06: switching the field Cluster ↔ Local switches the behaviour both ways (*ext*).

export const etpPhasesSchema = z
  .array(
    z.strictObject({
      policy: z.enum(["Cluster", "Local"]),
      clientIp: z.string().refine(isIpAddress, "not an IP address"),
      /** what the backend saw per request after the switch settled ("ip:port") */
      seen: z.array(z.string().min(1)).min(1),
    }),
  )
  .min(1);
export type EtpPhase = z.infer<typeof etpPhasesSchema>[number];

export function etp06(phases: EtpPhase[]): Verdict {
  const id = "ETP-06";
  const failures: string[] = [];
  const passes: string[] = [];
  phases.forEach((p, i) => {
    const v = p.policy === "Cluster" ? etp01(p) : etp02(p);
    if (v.ok) passes.push(`phase ${i + 1} (${p.policy}): ${v.reasons[0]}`);
    else failures.push(...v.reasons.map((r) => `phase ${i + 1} (${p.policy}): ${r}`));
  });
  const switches = phases.slice(1).map((p, i) => `${phases[i]!.policy}→${p.policy}`).filter((s) => s === "Cluster→Local" || s === "Local→Cluster");
  if (!switches.includes("Cluster→Local")) failures.push("no Cluster → Local switch in the phases");
  if (!switches.includes("Local→Cluster")) failures.push("no Local → Cluster switch in the phases");
  return verdict(id, failures, passes, { phases: phases.length });
}

// ---------------------------------------------------------------------------------------------
// ETP-07: Local allocates a healthCheckNodePort that answers only on nodes with an endpoint (*ext*).
// kube-proxy answers /healthz on it: 200 and localEndpoints ≥ 1 where an endpoint lives, 503 and
// localEndpoints 0 elsewhere.

export const healthzBodySchema = z.looseObject({
  service: z.looseObject({ namespace: z.string(), name: z.string() }),
  localEndpoints: z.number().int().nonnegative(),
  serviceProxyHealthy: z.boolean().optional(),
});

/** the recorded form of ETP-07's evidence (per-node /healthz answers and endpoint placement) */
export const etp07InputSchema = z.strictObject({
  healthCheckNodePort: z.number().int().min(1).max(65535).optional(),
  answers: z.record(z.string().min(1), z.strictObject({ status: z.number().int().min(100).max(599).nullable(), body: z.string().optional() })),
  endpointsByNode: z.record(z.string().min(1), z.number().int().nonnegative()),
});

export interface Etp07Input {
  healthCheckNodePort?: number | undefined;
  /** node → HTTP status (null: no answer) and body of GET http://node:hcnp/healthz */
  answers: Record<string, { status: number | null; body?: string }>;
  /** node → number of ready endpoints of the service on it */
  endpointsByNode: Record<string, number>;
}

export function etp07(input: Etp07Input): Verdict {
  const id = "ETP-07";
  const failures: string[] = [];
  const passes: string[] = [];
  if (!input.healthCheckNodePort) return verdict(id, ["the service has no healthCheckNodePort (spec.healthCheckNodePort unset: not Local, or not allocated)"]);
  for (const node of Object.keys(input.answers).sort()) {
    const a = input.answers[node]!;
    const want = input.endpointsByNode[node] ?? 0;
    const where = `${node}:${input.healthCheckNodePort}/healthz`;
    if (a.status === null) {
      failures.push(`${where} did not answer: kube-proxy serves the health check on every node`);
      continue;
    }
    let body: z.infer<typeof healthzBodySchema> | undefined;
    if (a.body !== undefined) {
      try {
        const r = healthzBodySchema.safeParse(JSON.parse(a.body));
        if (r.success) body = r.data;
        else failures.push(`${where}: body is not kube-proxy's health answer (${r.error.issues[0]?.path.join(".") || "root"}: ${r.error.issues[0]?.message})`);
      } catch {
        failures.push(`${where}: body is not JSON: ${JSON.stringify(a.body.slice(0, 80))}`);
      }
    }
    if (want > 0 && a.status !== 200) failures.push(`${where} answered ${a.status}, but ${want} endpoint(s) live on ${node}: expected 200`);
    if (want === 0 && a.status === 200) failures.push(`${where} answered 200 although no endpoint lives on ${node}: load balancers would send traffic there`);
    if (want === 0 && a.status !== 200 && a.status !== 503) failures.push(`${where} answered ${a.status}, expected 503 (no local endpoint)`);
    if (body && body.localEndpoints !== want) failures.push(`${where}: localEndpoints ${body.localEndpoints}, but ${want} endpoint(s) live on ${node}`);
    if ((want > 0 && a.status === 200) || (want === 0 && a.status === 503)) passes.push(`${where}: ${a.status}${body ? ` localEndpoints ${body.localEndpoints}` : ""} (${want} endpoint(s) there)`);
  }
  for (const n of Object.keys(input.endpointsByNode)) if (!(n in input.answers)) failures.push(`no health-check answer collected from ${n}, which has ${input.endpointsByNode[n]} endpoint(s)`);
  return verdict(id, failures, passes, { nodes: Object.keys(input.answers).length });
}

// ---------------------------------------------------------------------------------------------
// ETP-05 on NodePort services, and in kube-proxy's nftables mode (`nft list table ip kube-proxy`,
// parsed by harness/evidence/parsers/nft.ts). nftables shape of an external chain:
//   Cluster: external-X { jump mark-for-masquerade ; goto service-X }
//   Local:   external-X { ip saddr <pod CIDR> goto service-X ; fib saddr type local jump mark-for-masquerade ;
//                         fib saddr type local goto service-X ; goto local-X }
//            local-X { numgen random mod n vmap { … } } over this node's endpoints only.

/** The KUBE-EXT chain KUBE-NODEPORTS sends a node port to (iptables mode). */
export function extChainForNodePort(nat: IptTable, nodePort: number, proto = "tcp"): string | undefined {
  return (nat.chains["KUBE-NODEPORTS"]?.rules ?? []).find((r) => r.protocol?.value === proto && !r.protocol.negated && dport(r) === nodePort && r.target?.name.startsWith("KUBE-EXT-"))?.target?.name;
}

/** The external-* chain the service-ips map sends address . proto . port to (nftables mode). */
export function nftExtChainFor(table: NftTable, address: string, port: number, proto = "tcp"): string | undefined {
  return mapLookup(table, "service-ips", [address, proto, String(port)]).map((e) => e.verdict?.target).find((t) => t?.startsWith("external-"));
}

/** The external-* chain the service-nodeports map sends proto . nodePort to (nftables mode). */
export function nftExtChainForNodePort(table: NftTable, nodePort: number, proto = "tcp"): string | undefined {
  return mapLookup(table, "service-nodeports", [proto, String(nodePort)]).map((e) => e.verdict?.target).find((t) => t?.startsWith("external-"));
}

export interface Etp05NftInput {
  table: NftTable;
  policy: "Cluster" | "Local";
  /** the service's external-* chain */
  extChain: string;
  podCidr?: string;
  localEndpoints?: string[];
}

/** "podIP:port" behind a service-/local- chain's numgen dispatch */
function nftChainEndpoints(t: NftTable, chain: string): string[] {
  const out: string[] = [];
  for (const r of t.chains[chain]?.rules ?? []) {
    for (const s of r.stmts) {
      if (s.kind !== "vmap" || !/^numgen /.test(s.key)) continue;
      for (const e of s.elements ?? []) {
        const ep = e.verdict?.target ? t.chains[e.verdict.target] : undefined;
        const dnat = ep?.rules.flatMap((x) => x.stmts).find((x) => x.kind === "nat" && x.type === "dnat");
        if (dnat && dnat.kind === "nat" && dnat.to) out.push(dnat.to);
      }
    }
  }
  return out.sort();
}

const nftOnly = (r: NftRule | undefined, verdictName: string, target: string, matches: Array<[string, string, string]>): boolean => {
  if (!r) return false;
  const v = ruleVerdict(r);
  if (v?.verdict !== verdictName || v.target !== target) return false;
  const ms = ruleMatches(r);
  if (r.stmts.some((s) => s.kind !== "match" && s.kind !== "verdict" && s.kind !== "counter")) return false;
  return ms.length === matches.length && matches.every(([l, op, right]) => ms.some((m) => m.left === l && m.op === op && m.right === right));
};

export function etp05Nft(input: Etp05NftInput): Verdict {
  const id = "ETP-05";
  const failures: string[] = [];
  const passes: string[] = [];
  const t = input.table;
  const ext = t.chains[input.extChain];
  if (!ext) return verdict(id, [`chain ${input.extChain} is not in table ${t.family} ${t.name}`]);
  const base = input.extChain.replace(/^external-/, "");
  const svc = `service-${base}`, loc = `local-${base}`;
  const rules = ext.rules;
  const show = (r: NftRule | undefined) => (r ? `"${r.text}"` : "missing");
  if (input.policy === "Cluster") {
    if (rules.length !== 2) failures.push(`${input.extChain} has ${rules.length} rules, expected 2 (jump mark-for-masquerade, then goto ${svc})`);
    const [m, g] = rules;
    if (!nftOnly(m, "jump", "mark-for-masquerade", [])) failures.push(`${input.extChain} rule 1 must mark every packet for masquerade ("jump mark-for-masquerade"): ${show(m)}`);
    if (!nftOnly(g, "goto", svc, [])) failures.push(`${input.extChain} rule 2 must "goto ${svc}" for every packet: ${show(g)}`);
    if (rules.some((r) => ruleVerdict(r)?.target === loc)) failures.push(`${input.extChain} goes to ${loc}: that is the Local shape`);
    if (!failures.length) passes.push(`Cluster: ${input.extChain} = jump mark-for-masquerade, then goto ${svc}`);
    return verdict(id, failures, passes, { rules: rules.length });
  }
  if (!input.podCidr) failures.push("Local shape needs the cluster pod CIDR");
  const [pod, masq, route, last] = rules;
  if (rules.length !== 4) failures.push(`${input.extChain} has ${rules.length} rules, expected 4 (pod CIDR → ${svc}, local-source masquerade, local source → ${svc}, → ${loc})`);
  if (!nftOnly(pod, "goto", svc, [["ip saddr", "==", input.podCidr ?? "?"]])) failures.push(`${input.extChain} rule 1 must send pod traffic ("ip saddr ${input.podCidr} goto ${svc}"): ${show(pod)}`);
  if (!nftOnly(masq, "jump", "mark-for-masquerade", [["fib saddr type", "==", "local"]])) failures.push(`${input.extChain} rule 2 must mark local-source traffic for masquerade ("fib saddr type local jump mark-for-masquerade"): ${show(masq)}`);
  if (!nftOnly(route, "goto", svc, [["fib saddr type", "==", "local"]])) failures.push(`${input.extChain} rule 3 must send local-source traffic to ${svc} ("fib saddr type local goto ${svc}"): ${show(route)}`);
  if (!nftOnly(last, "goto", loc, [])) failures.push(`${input.extChain} rule 4 must send everything else to ${loc}: ${show(last)}`);
  for (const r of rules) if (nftOnly(r, "jump", "mark-for-masquerade", [])) failures.push(`${input.extChain} masquerades all traffic ("${r.text}"): external sources would be SNATed under Local`);
  if (!t.chains[loc]) failures.push(`${loc} is not in table ${t.name}`);
  else {
    const eps = nftChainEndpoints(t, loc);
    const want = [...(input.localEndpoints ?? [])].sort();
    if (eps.length === 0) failures.push(`${loc} lists no endpoint`);
    for (const e of eps) if (!want.includes(e)) failures.push(`${loc} lists ${e}, which is not an endpoint on this node (local: ${list(want)})`);
    for (const e of want) if (!eps.includes(e)) failures.push(`${loc} misses the local endpoint ${e}`);
    if (!failures.length) passes.push(`Local: ${input.extChain} = ip saddr ${input.podCidr} → ${svc}, local source → mark-for-masquerade, local source → ${svc}, rest → ${loc} (${list(eps)})`);
  }
  return verdict(id, failures, passes, { rules: rules.length });
}
