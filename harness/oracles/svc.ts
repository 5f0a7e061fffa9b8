/**
 * Oracles for the SVC family (ClusterIP and NodePort, seed 001 §4). Pure functions of parsed
 * evidence; every failure reason names the thing that is wrong.
 */
import { ParseError } from "../evidence/parse-error.ts";
import { parseResolvConf } from "../evidence/parsers/dns.ts";
import { comment, dport, moduleOptions, probability, serviceRules, targetOption, type IptablesSave, type IptRule, type IptTable } from "../evidence/parsers/iptables-save.ts";
import { isIpAddress, splitHostPort } from "../evidence/parsers/common.ts";
import { verdict, type Verdict } from "./verdict.ts";

// ---------------------------------------------------------------------------------------------
// SVC-01: pod → ClusterIP is DNAT only; the backend sees the client pod's own IP.

export interface Svc01Input {
  /** the client pod's IP (status.podIP) */
  clientPodIP: string;
  /** what the backend's agnhost netexec /clientip answered: "ip:port" */
  clientIpReply: string;
}

export function svc01(input: Svc01Input): Verdict {
  const id = "SVC-01";
  // agnhost netexec /clientip answers "10.42.1.4:49186" ("[fd00::4]:49186" for IPv6)
  const seen = splitHostPort(input.clientIpReply.trim());
  if (!isIpAddress(input.clientPodIP)) return verdict(id, [`client pod IP ${JSON.stringify(input.clientPodIP)} is not an IP address`]);
  if (!seen) return verdict(id, [`backend reply ${JSON.stringify(input.clientIpReply.trim().slice(0, 80))} is not "ip:port" (agnhost /clientip)`]);
  if (seen.address !== input.clientPodIP) {
    return verdict(id, [`backend saw source ${seen.address}:${seen.port}, not the client pod IP ${input.clientPodIP}: the connection was source-NATed on the way to the ClusterIP`]);
  }
  return verdict(id, [], [`backend saw the client pod IP ${seen.address} (port ${seen.port}): DNAT only, no SNAT`], { seenSource: `${seen.address}:${seen.port}` });
}

// ---------------------------------------------------------------------------------------------
// SVC-02: KUBE-SERVICES → KUBE-SVC-* → KUBE-SEP-* shape for one ClusterIP:port/proto.

export interface Svc02Input {
  save: IptablesSave;
  clusterIP: string;
  port: number;
  proto?: "tcp" | "udp" | "sctp";
  /** expected DNAT destinations ("podIP:targetPort"), when known from the EndpointSlice */
  endpoints?: string[];
  /**
   * allowed |probability − 1/k|, overriding the default, which follows the printed precision
   * (see probabilityMatches: kube-proxy writes 10 decimals, older versions 5, iptables-save
   * prints 11 of a 31-bit fraction)
   */
  tolerance?: number;
}

const fmt = (x: number): string => x.toFixed(11);

function natTable(save: IptablesSave, failures: string[]): IptTable | undefined {
  const t = save.tables["nat"];
  if (!t) failures.push("no nat table in the iptables-save output");
  return t;
}

/** The KUBE-SVC chain a service address:port jumps to, or a reason why there is none. */
function svcChainFor(nat: IptTable, address: string, port: number, proto: string, failures: string[], what: string): string | undefined {
  const rules = serviceRules(nat, address, port, proto).filter((r) => r.target?.name.startsWith("KUBE-SVC-"));
  if (rules.length === 0) {
    failures.push(`no KUBE-SERVICES rule for ${what} ${address}:${port}/${proto} jumping to a KUBE-SVC-* chain`);
    return undefined;
  }
  if (rules.length > 1) failures.push(`${rules.length} KUBE-SERVICES rules for ${address}:${port}/${proto} (lines ${rules.map((r) => r.line).join(", ")}); expected one`);
  return rules[0]!.target!.name;
}

const isMarkMasq = (r: IptRule): boolean => r.target?.name === "KUBE-MARK-MASQ";

/** The DNAT destinations ("podIP:port") a KUBE-SVC chain's KUBE-SEP chains lead to, sorted. */
function endpointsOf(nat: IptTable, svcName: string): string[] {
  const out: string[] = [];
  for (const r of nat.chains[svcName]?.rules ?? []) {
    const sep = r.target?.name;
    if (!sep?.startsWith("KUBE-SEP-")) continue;
    for (const x of nat.chains[sep]?.rules ?? []) {
      const to = x.target?.name === "DNAT" ? targetOption(x, "--to-destination") : undefined;
      if (to) out.push(to);
    }
  }
  return out.sort();
}

/** Check one KUBE-SVC chain's endpoint rules and their KUBE-SEP chains. Returns the DNAT destinations. */
function checkSvcChain(nat: IptTable, svcName: string, proto: string, tol: number, failures: string[], passes: string[]): string[] {
  const svc = nat.chains[svcName];
  if (!svc) {
    failures.push(`${svcName} is jumped to but not declared in the nat table`);
    return [];
  }
  const epRules = svc.rules.filter((r) => !isMarkMasq(r));
  const strays = epRules.filter((r) => !r.target?.name.startsWith("KUBE-SEP-"));
  for (const r of strays) failures.push(`${svcName} line ${r.line}: unexpected rule (target ${r.target?.name ?? "none"}), expected only KUBE-MARK-MASQ and KUBE-SEP-* jumps`);
  const seps = epRules.filter((r) => r.target?.name.startsWith("KUBE-SEP-"));
  const n = seps.length;
  if (n === 0) {
    failures.push(`${svcName} has no KUBE-SEP-* jump: no endpoints programmed`);
    return [];
  }
  const seen = new Set<string>();
  const dests: string[] = [];
  const older = new Set<string>();
  seps.forEach((r, i) => {
    const sep = r.target!.name;
    const label = `${svcName} endpoint rule ${i + 1}/${n} (→ ${sep})`;
    if (seen.has(sep)) failures.push(`${label}: ${sep} is jumped to twice`);
    seen.add(sep);
    const p = probability(r);
    const hasStatistic = r.matches.some((m) => m.module === "statistic");
    if (i < n - 1) {
      const want = 1 / (n - i);
      if (p === undefined) failures.push(`${label}: no --probability, expected 1/${n - i} = ${fmt(want)}`);
      else if (tol > 0 && Math.abs(p - want) > tol) failures.push(`${label}: probability ${fmt(p)}, expected 1/${n - i} = ${fmt(want)} (±${tol})`);
      else if (tol <= 0) {
        const m = probabilityMatches(probabilityText(r) ?? String(p), n - i);
        if (!m.ok) failures.push(`${label}: probability ${probabilityText(r)}, expected 1/${n - i} = ${fmt(want)} (${m.expected})`);
        else if (m.writer === 5) older.add(`1/${n - i} as ${want.toFixed(5)}`);
      }
    } else if (hasStatistic || r.matches.length > (comment(r) !== undefined ? 1 : 0) || r.source || r.destination || r.protocol) {
      failures.push(`${label}: the last endpoint rule must be an unconditional jump, found ${p !== undefined ? `probability ${fmt(p)}` : "extra matches"}`);
    }
    // The SEP chain: -s podIP/32 -j KUBE-MARK-MASQ, then -p proto -j DNAT --to-destination podIP:port.
    const chain = nat.chains[sep];
    if (!chain) {
      failures.push(`${sep} (jumped to from ${svcName} line ${r.line}) does not exist in the nat table`);
      return;
    }
    const masq = chain.rules.find(isMarkMasq);
    const dnat = chain.rules.find((x) => x.target?.name === "DNAT");
    const to = dnat ? targetOption(dnat, "--to-destination") : undefined;
    if (!dnat || !to) {
      failures.push(`${sep}: no -j DNAT --to-destination rule`);
      return;
    }
    const podIP = to.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");
    dests.push(to);
    if (dnat.protocol?.value !== proto) failures.push(`${sep}: DNAT rule matches protocol ${dnat.protocol?.value ?? "any"}, expected ${proto}`);
    if (!masq) failures.push(`${sep}: no "-s ${podIP}/32 -j KUBE-MARK-MASQ" rule (hairpin masquerade)`);
    else {
      if (chain.rules.indexOf(masq) > chain.rules.indexOf(dnat)) failures.push(`${sep}: KUBE-MARK-MASQ comes after DNAT`);
      const src = masq.source?.value.replace(/\/(32|128)$/, "");
      if (src !== podIP || masq.source?.negated) failures.push(`${sep}: KUBE-MARK-MASQ matches source ${masq.source?.value ?? "any"}, expected its own pod ${podIP}/32`);
    }
    const c = comment(r);
    const announced = c ? /-> (\S+)$/.exec(c)?.[1] : undefined;
    if (announced && announced !== to) failures.push(`${label}: comment says ${announced} but ${sep} DNATs to ${to}`);
  });
  if (failures.length === 0) {
    passes.push(`${svcName}: ${n} endpoint rule(s) with probabilities ${seps.map((r, i) => (i < n - 1 ? fmt(probability(r) ?? NaN) : "unconditional")).join(", ")}`);
    passes.push(`each KUBE-SEP marks its own pod IP for masquerade, then DNATs: ${dests.join(", ")}`);
    if (older.size) passes.push(`probabilities written with 5 decimals, as older kube-proxy versions did (${[...older].join(", ")}), judged to that precision`);
  }
  return dests;
}

// --- probability precision (issue 11 item 3) ------------------------------------------------
// kube-proxy writes --probability as 1/k with 10 decimals; older versions wrote 5 ("0.33333").
// iptables stores it as a 31-bit fraction and iptables-save prints that back with 11 decimals
// (libxt_statistic: lround(p × 2^31), printed as %.11f), so 0.33333 comes back as 0.33332999982.
// The allowed error therefore follows the precision printed: half a unit of the last printed
// decimal, plus the 2^-31 step when iptables-save printed it; and the value is compared with 1/k
// rounded as each known writer rounds it, never with a tolerance wide enough to accept 1/(k±1).

const WRITERS = [10, 5] as const;

/** the printed --probability argument of a rule, as text */
function probabilityText(r: IptRule): string | undefined {
  return moduleOptions(r, "statistic").find((x) => x.name === "--probability")?.args[0];
}

/** Is `printed` the probability 1/k as some kube-proxy version wrote it? */
export function probabilityMatches(printed: string, k: number): { ok: boolean; writer?: number; expected: string } {
  const p = Number(printed);
  const decimals = /\.(\d+)$/.exec(printed)?.[1]?.length ?? 0;
  const quantum = 0.5 * 10 ** -decimals + (decimals >= 11 ? 2 ** -31 : 0) + 1e-15;
  const want = 1 / k;
  if (Math.abs(p - want) <= 1e-12) return { ok: true, writer: decimals, expected: printed }; // exact (0.5, 0.25)
  for (const w of WRITERS) {
    if (decimals < w && decimals < 11) continue; // a 5-decimal text cannot hold a 10-decimal writer's value
    if (Math.abs(p - Number(want.toFixed(w))) <= quantum) return { ok: true, writer: w, expected: `${want.toFixed(w)}` };
  }
  const forms = WRITERS.filter((w) => decimals >= 11 || decimals >= w).map((w) => (w === 10 ? `${want.toFixed(w)} as kube-proxy writes it` : `${want.toFixed(w)} as older versions wrote it`));
  if (forms.length === 0) return { ok: false, expected: `only ${decimals} decimal(s) printed: kube-proxy writes 10 (older versions 5)` };
  return { ok: false, expected: `${forms.join(", or ")}; ${decimals} decimals printed, so ±${quantum.toPrecision(2)}` };
}

export function svc02(input: Svc02Input): Verdict {
  const id = "SVC-02";
  const proto = input.proto ?? "tcp";
  const tol = input.tolerance ?? 0; // 0: follow the printed precision (probabilityMatches)
  const failures: string[] = [];
  const passes: string[] = [];
  const nat = natTable(input.save, failures);
  if (!nat) return verdict(id, failures);
  const svcName = svcChainFor(nat, input.clusterIP, input.port, proto, failures, "ClusterIP");
  if (!svcName) return verdict(id, failures);
  passes.push(`KUBE-SERVICES -d ${input.clusterIP}/32 -p ${proto} --dport ${input.port} → ${svcName}`);
  const dests = checkSvcChain(nat, svcName, proto, tol, failures, passes);
  if (input.endpoints) {
    const want = new Set(input.endpoints);
    const got = new Set(dests);
    for (const e of want) if (!got.has(e)) failures.push(`endpoint ${e} has no KUBE-SEP chain DNATing to it`);
    for (const e of got) if (!want.has(e)) failures.push(`KUBE-SEP DNAT to ${e}, which is not an endpoint of the service`);
  }
  return verdict(id, failures, passes, { endpoints: dests.length, svcChain: svcName });
}

// ---------------------------------------------------------------------------------------------
// SVC-03: NodePort: KUBE-NODEPORTS --dport N → KUBE-EXT-* (KUBE-MARK-MASQ, then KUBE-SVC-*), the
// same on every node, and the service has a ClusterIP (KUBE-SERVICES jumps to the same KUBE-SVC).

export interface Svc03Input {
  /** node name → its parsed iptables-save */
  nodes: Record<string, IptablesSave>;
  nodePort: number;
  proto?: "tcp" | "udp" | "sctp";
  /** the service's ClusterIP and port, when known (kubectl get svc); else any ClusterIP rule jumping to the same KUBE-SVC counts */
  clusterIP?: string;
  port?: number;
}

interface NodeShape {
  ext: string;
  svc: string;
  clusterIP?: string;
  /** DNAT destinations behind the KUBE-SVC chain */
  endpoints: string[];
}

const isPlainJump = (r: IptRule, to: string): boolean =>
  r.target?.name === to && !r.source && !r.destination && !r.protocol && r.matches.every((m) => m.module === "comment");

function nodePortShape(node: string, save: IptablesSave, input: Svc03Input, failures: string[]): NodeShape | undefined {
  const proto = input.proto ?? "tcp";
  const nat = save.tables["nat"];
  if (!nat) {
    failures.push(`${node}: no nat table`);
    return undefined;
  }
  const np = (nat.chains["KUBE-NODEPORTS"]?.rules ?? []).filter((r) => r.protocol?.value === proto && dport(r) === input.nodePort && r.target?.name.startsWith("KUBE-EXT-"));
  if (np.length === 0) {
    failures.push(`${node}: no KUBE-NODEPORTS rule -p ${proto} --dport ${input.nodePort} jumping to a KUBE-EXT-* chain`);
    return undefined;
  }
  if (np.length > 1) failures.push(`${node}: ${np.length} KUBE-NODEPORTS rules for --dport ${input.nodePort}`);
  const ext = np[0]!.target!.name;
  const chain = nat.chains[ext];
  if (!chain) {
    failures.push(`${node}: ${ext} is jumped to from KUBE-NODEPORTS but not declared`);
    return undefined;
  }
  const masqIdx = chain.rules.findIndex((r) => r.target?.name === "KUBE-MARK-MASQ");
  const svcIdx = chain.rules.findIndex((r) => r.target?.name.startsWith("KUBE-SVC-") ?? false);
  if (svcIdx < 0) {
    failures.push(`${node}: ${ext} has no jump to a KUBE-SVC-* chain`);
    return undefined;
  }
  const svc = chain.rules[svcIdx]!.target!.name;
  if (masqIdx < 0) failures.push(`${node}: ${ext} has no KUBE-MARK-MASQ rule before ${svc} (external traffic would not be masqueraded)`);
  else if (masqIdx > svcIdx) failures.push(`${node}: ${ext} jumps to ${svc} before KUBE-MARK-MASQ`);
  else if (!isPlainJump(chain.rules[masqIdx]!, "KUBE-MARK-MASQ")) failures.push(`${node}: ${ext} KUBE-MARK-MASQ rule (line ${chain.rules[masqIdx]!.line}) is conditional: ${chain.rules[masqIdx]!.raw}`);
  if (!isPlainJump(chain.rules[svcIdx]!, svc)) failures.push(`${node}: ${ext} jump to ${svc} (line ${chain.rules[svcIdx]!.line}) is conditional: ${chain.rules[svcIdx]!.raw}`);
  if (ext.slice("KUBE-EXT-".length) !== svc.slice("KUBE-SVC-".length)) failures.push(`${node}: ${ext} jumps to ${svc}, the KUBE-SVC chain of another service port`);
  if (!nat.chains[svc]) failures.push(`${node}: ${svc} is jumped to from ${ext} but not declared`);
  else if (!nat.chains[svc].rules.some((r) => r.target?.name.startsWith("KUBE-SEP-"))) failures.push(`${node}: ${svc} has no endpoints (no KUBE-SEP-* jump)`);
  // The ClusterIP: a KUBE-SERVICES rule -d <ip>/32 … -j <svc>.
  const cip = (nat.chains["KUBE-SERVICES"]?.rules ?? []).filter((r) => r.target?.name === svc && r.destination && !r.destination.negated && /\/(32|128)$/.test(r.destination.value));
  const shape: NodeShape = { ext, svc, endpoints: endpointsOf(nat, svc) };
  if (cip.length === 0) failures.push(`${node}: no KUBE-SERVICES ClusterIP rule jumps to ${svc}: the NodePort service has no ClusterIP programmed`);
  else {
    const rule = cip.find((r) => input.clusterIP === undefined || r.destination!.value.replace(/\/(32|128)$/, "") === input.clusterIP) ?? cip[0]!;
    shape.clusterIP = rule.destination!.value.replace(/\/(32|128)$/, "");
    if (input.clusterIP !== undefined && shape.clusterIP !== input.clusterIP) failures.push(`${node}: ${svc} is reached from ClusterIP ${shape.clusterIP}, expected ${input.clusterIP}`);
    if (input.port !== undefined && dport(rule) !== input.port) failures.push(`${node}: ClusterIP rule for ${svc} matches --dport ${dport(rule) ?? "none"}, expected ${input.port}`);
  }
  return shape;
}

export function svc03(input: Svc03Input): Verdict {
  const id = "SVC-03";
  const failures: string[] = [];
  const names = Object.keys(input.nodes).sort();
  if (names.length === 0) return verdict(id, ["no node evidence given"]);
  const shapes = new Map<string, NodeShape>();
  for (const node of names) {
    const s = nodePortShape(node, input.nodes[node]!, input, failures);
    if (s) shapes.set(node, s);
  }
  // The same on every node: compare each node with the first complete one.
  const ref = [...shapes.entries()][0];
  if (ref) {
    for (const [node, s] of shapes) {
      if (s.ext !== ref[1].ext || s.svc !== ref[1].svc || s.clusterIP !== ref[1].clusterIP) {
        failures.push(`${node} differs from ${ref[0]}: ${s.ext} → ${s.svc} (ClusterIP ${s.clusterIP ?? "none"}) vs ${ref[1].ext} → ${ref[1].svc} (ClusterIP ${ref[1].clusterIP ?? "none"})`);
      } else if (s.endpoints.join(" ") !== ref[1].endpoints.join(" ")) {
        failures.push(`${node} differs from ${ref[0]}: ${s.svc} leads to endpoints ${s.endpoints.join(", ") || "none"} vs ${ref[1].endpoints.join(", ") || "none"}`);
      }
    }
  }
  const r = ref?.[1];
  return verdict(
    id,
    failures,
    r ? [`on ${names.join(", ")}: KUBE-NODEPORTS --dport ${input.nodePort} → ${r.ext} (KUBE-MARK-MASQ, then ${r.svc}); ClusterIP ${r.clusterIP} → ${r.svc}; endpoints ${r.endpoints.join(", ")}`] : [],
    { nodes: names.length },
  );
}

// ---------------------------------------------------------------------------------------------
// SVC-04: pod DNS — resolv.conf names kube-dns, the cluster search path and ndots:5; the service
// name resolves to its ClusterIP.

export interface Svc04Input {
  /** the pod's /etc/resolv.conf, as read from inside the pod */
  resolvConf: string;
  namespace: string;
  /** kube-dns Service ClusterIP */
  kubeDnsIP: string;
  clusterDomain?: string;
  /** the name looked up and the addresses it resolved to (getent hosts / nslookup) */
  name: string;
  resolved: string[];
  /** the looked-up Service's ClusterIP */
  serviceClusterIP: string;
}

export function svc04(input: Svc04Input): Verdict {
  const id = "SVC-04";
  const cd = input.clusterDomain ?? "cluster.local";
  const failures: string[] = [];
  let rc;
  try {
    rc = parseResolvConf(input.resolvConf);
  } catch (e) {
    if (e instanceof ParseError) return verdict(id, [`resolv.conf does not parse: ${e.message}`]);
    throw e;
  }
  if (rc.nameservers[0] !== input.kubeDnsIP) {
    failures.push(`nameserver is ${rc.nameservers.join(", ") || "missing"}, expected the kube-dns ClusterIP ${input.kubeDnsIP}`);
  } else if (rc.nameservers.length > 1) {
    failures.push(`extra nameservers after kube-dns: ${rc.nameservers.slice(1).join(", ")}`);
  }
  const want = [`${input.namespace}.svc.${cd}`, `svc.${cd}`, cd];
  const head = rc.search.slice(0, 3);
  if (want.some((w, i) => head[i] !== w)) {
    failures.push(`search is "${rc.search.join(" ") || "(none)"}", expected it to start with "${want.join(" ")}"`);
  }
  const ndots = rc.options["ndots"];
  if (ndots !== "5") failures.push(`options ndots is ${ndots === undefined ? "not set (resolver default 1)" : ndots}, expected ndots:5`);
  if (input.resolved.length === 0) failures.push(`${input.name} did not resolve`);
  else if (!input.resolved.includes(input.serviceClusterIP) || input.resolved.some((a) => a !== input.serviceClusterIP)) {
    failures.push(`${input.name} resolved to ${input.resolved.join(", ")}, expected only the Service ClusterIP ${input.serviceClusterIP}`);
  }
  return verdict(id, failures, [
    `nameserver ${input.kubeDnsIP} (kube-dns)`,
    `search ${rc.search.join(" ")}`,
    `ndots:5`,
    `${input.name} → ${input.serviceClusterIP}`,
  ]);
}
