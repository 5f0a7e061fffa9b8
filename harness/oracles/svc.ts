/**
 * Oracles for the SVC family (ClusterIP and NodePort, seed 001 §4). Pure functions of parsed
 * evidence; every failure reason names the thing that is wrong.
 */
import { ParseError } from "../evidence/parse-error.ts";
import { parseResolvConf } from "../evidence/parsers/dns.ts";
import { comment, dport, moduleOptions, probability, serviceRules, targetOption, type IptablesSave, type IptRule, type IptTable } from "../evidence/parsers/iptables-save.ts";
import { canonicalHostPort, canonicalIp, hostPort, isIpAddress, splitHostPort } from "../evidence/parsers/common.ts";
import type { IpvsService, IpvsTable } from "../evidence/parsers/ipvsadm.ts";
import { mapLookup, ruleMatches, ruleVerdict, vmapUsers, type NftRule, type NftStmt, type NftTable } from "../evidence/parsers/nft.ts";
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

const isLocalhostNodePort = (r: IptRule): boolean => r.destination?.value === "127.0.0.0/8" && !r.destination.negated;

function nodePortShape(node: string, save: IptablesSave, input: Svc03Input, failures: string[]): NodeShape | undefined {
  const proto = input.proto ?? "tcp";
  const nat = save.tables["nat"];
  if (!nat) {
    failures.push(`${node}: no nat table`);
    return undefined;
  }
  // kube-proxy adds a second rule `-d 127.0.0.0/8 … -m nfacct --nfacct-name localhost_nps_accepted_pkts`
  // on nodes with net.ipv4.conf.all.route_localnet=1 (NodePorts on localhost; measured live on a
  // kind control plane): the same jump for a narrower destination, not a second NodePort rule
  const np = (nat.chains["KUBE-NODEPORTS"]?.rules ?? []).filter((r) => r.protocol?.value === proto && dport(r) === input.nodePort && r.target?.name.startsWith("KUBE-EXT-") && !isLocalhostNodePort(r));
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

// =============================================================================================
// kube-proxy nftables mode (`nft list table ip kube-proxy`, text or -j JSON, parsed by
// harness/evidence/parsers/nft.ts). The same behaviours, kube-proxy's nftables shape:
//   map service-ips { clusterIP . proto . port : goto service-<hash>-<ns>/<name>/<proto>/<port> }
//   chain service-… { [ip daddr … ip saddr != <pod cidr> jump mark-for-masquerade]
//                     numgen random mod n vmap { 0 : goto endpoint-…, …, n-1 : goto endpoint-… } }
//   chain endpoint-… { ip saddr <pod IP> jump mark-for-masquerade ; meta l4proto <proto> dnat to <pod IP:port> }
//   map service-nodeports { proto . nodePort : goto external-… }
//   chain external-… { jump mark-for-masquerade ; goto service-… }
// `numgen random mod n` picks each index with probability exactly 1/n, so the iptables chain's
// 1/n, 1/(n−1), …, unconditional becomes: the indices 0..n−1, each once, each to its own endpoint.

type NftVerdictStmt = Extract<NftStmt, { kind: "verdict" }>;

const isMasqJump = (r: NftRule): boolean => ruleVerdict(r)?.verdict === "jump" && ruleVerdict(r)?.target === "mark-for-masquerade";
/** a rule that is only a verdict (comments and counters allowed) */
const isPlainVerdict = (r: NftRule, verdict: NftVerdictStmt["verdict"], target?: string): boolean =>
  r.stmts.every((s) => s.kind === "counter" || s.kind === "verdict") && r.stmts.filter((s) => s.kind === "verdict").length === 1 && ruleVerdict(r)?.verdict === verdict && (target === undefined || ruleVerdict(r)?.target === target);

/** The chain a verdict map sends key to (goto/jump), or a failure. */
function nftMapTarget(t: NftTable, map: string, key: string[], what: string, failures: string[]): string | undefined {
  if (!t.sets[map]) {
    failures.push(`table ${t.family} ${t.name} has no map ${map}`);
    return undefined;
  }
  if (vmapUsers(t, map).length === 0) failures.push(`no rule of table ${t.name} looks up @${map} (vmap): its elements are never consulted`);
  const els = mapLookup(t, map, key);
  if (els.length === 0) {
    failures.push(`map ${map} has no element ${key.join(" . ")} (${what})`);
    return undefined;
  }
  if (els.length > 1) failures.push(`map ${map} has ${els.length} elements ${key.join(" . ")}; expected one`);
  const v = els[0]!.verdict;
  if (!v?.target || (v.verdict !== "goto" && v.verdict !== "jump")) {
    failures.push(`map ${map} element ${key.join(" . ")} is not a goto/jump to a chain`);
    return undefined;
  }
  return v.target;
}

interface NftDispatch {
  /** endpoint chain per numgen index */
  chains: string[];
  /** DNAT destinations ("podIP:port"), in index order */
  dests: string[];
}

/**
 * Check a service (or local-policy) chain's endpoint dispatch: `numgen random mod n vmap {…}` with
 * indices 0..n−1 once each, each to its own endpoint chain, which masquerades its own pod IP and
 * DNATs to it. Rules that only jump to mark-for-masquerade are allowed before the dispatch.
 */
export function nftDispatch(t: NftTable, chainName: string, proto: string, failures: string[]): NftDispatch | undefined {
  const chain = t.chains[chainName];
  if (!chain) {
    failures.push(`chain ${chainName} is jumped to but not in table ${t.name}`);
    return undefined;
  }
  const dispatch = chain.rules.filter((r) => r.stmts.some((s) => s.kind === "vmap" && /^numgen random mod \d+$/.test(s.key)));
  for (const r of chain.rules) if (!isMasqJump(r) && !dispatch.includes(r)) failures.push(`${chainName}: unexpected rule "${r.text}", expected only mark-for-masquerade jumps and the numgen dispatch`);
  if (dispatch.length !== 1) {
    failures.push(dispatch.length === 0 ? `${chainName} has no "numgen random mod n vmap { … }" rule: no endpoints programmed` : `${chainName} has ${dispatch.length} numgen dispatch rules; expected one`);
    return undefined;
  }
  const rule = dispatch[0]!;
  if (chain.rules.indexOf(rule) !== chain.rules.length - 1) failures.push(`${chainName}: the numgen dispatch is not the last rule`);
  const vm = rule.stmts.find((s) => s.kind === "vmap")! as Extract<NftStmt, { kind: "vmap" }>;
  if (rule.stmts.some((s) => s.kind === "match")) failures.push(`${chainName}: the numgen dispatch is conditional: "${rule.text}"`);
  const n = Number(/mod (\d+)$/.exec(vm.key)![1]);
  const els = vm.elements ?? [];
  const byIndex = new Map<number, string>();
  for (const e of els) {
    const idx = e.key.length === 1 && /^\d+$/.test(e.key[0]!) ? Number(e.key[0]) : NaN;
    if (!(idx >= 0 && idx < n)) failures.push(`${chainName}: numgen mod ${n} element ${e.key.join(" . ")} is not an index 0..${n - 1}`);
    else if (byIndex.has(idx)) failures.push(`${chainName}: index ${idx} appears twice`);
    else if (e.verdict?.verdict !== "goto" || !e.verdict.target) failures.push(`${chainName}: index ${idx} does not goto an endpoint chain`);
    else byIndex.set(idx, e.verdict.target);
  }
  for (let i = 0; i < n; i++) if (!byIndex.has(i)) failures.push(`${chainName}: numgen random mod ${n} has no element for index ${i}: that share of connections matches nothing`);
  const chains = [...byIndex.entries()].sort((a, b) => a[0] - b[0]).map(([, c]) => c);
  const dup = chains.filter((c, i) => chains.indexOf(c) !== i);
  for (const c of new Set(dup)) failures.push(`${chainName}: endpoint chain ${c} is chosen by ${chains.filter((x) => x === c).length} of ${n} indices (probability ${chains.filter((x) => x === c).length}/${n}, expected 1/${n})`);
  const dests: string[] = [];
  for (const c of chains) {
    const ep = t.chains[c];
    if (!ep) {
      failures.push(`${c} (from ${chainName}) is not in table ${t.name}`);
      continue;
    }
    const dnatIdx = ep.rules.findIndex((r) => r.stmts.some((s) => s.kind === "nat" && s.type === "dnat"));
    if (dnatIdx < 0) {
      failures.push(`${c}: no dnat rule`);
      continue;
    }
    const dnatRule = ep.rules[dnatIdx]!;
    const dnat = dnatRule.stmts.find((s) => s.kind === "nat")! as Extract<NftStmt, { kind: "nat" }>;
    const to = dnat.to ?? "";
    const podIP = to.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");
    dests.push(to);
    const l4 = ruleMatches(dnatRule).find((m) => m.left === "meta l4proto");
    if (l4?.right !== proto || l4.op !== "==") failures.push(`${c}: dnat rule matches ${l4 ? `meta l4proto ${l4.op} ${l4.right}` : "any protocol"}, expected meta l4proto ${proto}`);
    const masqIdx = ep.rules.findIndex(isMasqJump);
    if (masqIdx < 0) failures.push(`${c}: no "ip saddr ${podIP} jump mark-for-masquerade" rule (hairpin masquerade)`);
    else {
      if (masqIdx > dnatIdx) failures.push(`${c}: mark-for-masquerade comes after dnat`);
      const src = ruleMatches(ep.rules[masqIdx]!).find((m) => m.left === "ip saddr" || m.left === "ip6 saddr");
      if (!src || src.op !== "==" || src.right.replace(/\/(32|128)$/, "") !== podIP) failures.push(`${c}: mark-for-masquerade matches source ${src ? `${src.op === "==" ? "" : `${src.op} `}${src.right}` : "any"}, expected its own pod ${podIP}`);
    }
  }
  return { chains, dests };
}

export interface Svc02NftInput {
  /** the parsed `table ip kube-proxy` */
  table: NftTable;
  clusterIP: string;
  port: number;
  proto?: "tcp" | "udp" | "sctp";
  endpoints?: string[];
}

export function svc02Nft(input: Svc02NftInput): Verdict {
  const id = "SVC-02";
  const proto = input.proto ?? "tcp";
  const failures: string[] = [];
  const t = input.table;
  const svc = nftMapTarget(t, "service-ips", [input.clusterIP, proto, String(input.port)], "ClusterIP", failures);
  if (!svc) return verdict(id, failures);
  if (!svc.startsWith("service-")) failures.push(`service-ips sends ${input.clusterIP} . ${proto} . ${input.port} to ${svc}, not a service-* chain`);
  const d = nftDispatch(t, svc, proto, failures);
  const dests = [...(d?.dests ?? [])].sort();
  if (input.endpoints && d) {
    const want = new Set(input.endpoints);
    const got = new Set(dests);
    for (const e of want) if (!got.has(e)) failures.push(`endpoint ${e} has no endpoint chain DNATing to it`);
    for (const e of got) if (!want.has(e)) failures.push(`an endpoint chain DNATs to ${e}, which is not an endpoint of the service`);
  }
  const n = d?.chains.length ?? 0;
  return verdict(
    id,
    failures,
    [
      `service-ips: ${input.clusterIP} . ${proto} . ${input.port} → goto ${svc} (looked up by: ${vmapUsers(t, "service-ips").map((r) => `${r.chain}: ${r.text}`).join("; ")})`,
      `${svc}: numgen random mod ${n} → indices 0..${n - 1}, each to its own endpoint chain: every endpoint chosen with probability 1/${n}`,
      `each endpoint chain marks its own pod IP for masquerade, then DNATs: ${dests.join(", ")}`,
    ],
    { endpoints: n, svcChain: svc },
  );
}

export interface Svc03NftInput {
  /** node name → its parsed `table ip kube-proxy` */
  nodes: Record<string, NftTable>;
  nodePort: number;
  proto?: "tcp" | "udp" | "sctp";
  clusterIP?: string;
  port?: number;
}

function nftNodePortShape(node: string, t: NftTable, input: Svc03NftInput, failures: string[]): NodeShape | undefined {
  const proto = input.proto ?? "tcp";
  const f: string[] = [];
  const ext = nftMapTarget(t, "service-nodeports", [proto, String(input.nodePort)], "NodePort", f);
  failures.push(...f.map((x) => `${node}: ${x}`));
  if (!ext) return undefined;
  const chain = t.chains[ext];
  if (!ext.startsWith("external-") || !chain) {
    failures.push(`${node}: service-nodeports sends ${proto} . ${input.nodePort} to ${ext}, ${chain ? "not an external-* chain" : "which is not in the table"}`);
    return undefined;
  }
  const base = ext.slice("external-".length);
  const svc = `service-${base}`;
  const [m, g] = chain.rules;
  if (chain.rules.length !== 2) failures.push(`${node}: ${ext} has ${chain.rules.length} rules, expected 2 (jump mark-for-masquerade, then goto ${svc})`);
  if (!m || !isPlainVerdict(m, "jump", "mark-for-masquerade")) failures.push(`${node}: ${ext} rule 1 must mark every packet for masquerade ("jump mark-for-masquerade"): ${m ? `"${m.text}"` : "missing"}`);
  if (!g || !isPlainVerdict(g, "goto", svc)) failures.push(`${node}: ${ext} rule 2 must "goto ${svc}" for every packet: ${g ? `"${g.text}"` : "missing"}`);
  const f2: string[] = [];
  const d = nftDispatch(t, svc, proto, f2);
  failures.push(...f2.map((x) => `${node}: ${x}`));
  const shape: NodeShape = { ext, svc, endpoints: [...(d?.dests ?? [])].sort() };
  // the ClusterIP: a service-ips element sending to the same service chain
  const cips = (t.sets["service-ips"]?.elements ?? []).filter((e) => e.verdict?.target === svc && e.key[1] === proto);
  if (cips.length === 0) failures.push(`${node}: no service-ips element goes to ${svc}: the NodePort service has no ClusterIP programmed`);
  else {
    const e = cips.find((x) => input.clusterIP === undefined || x.key[0] === input.clusterIP) ?? cips[0]!;
    shape.clusterIP = e.key[0]!;
    if (input.clusterIP !== undefined && shape.clusterIP !== input.clusterIP) failures.push(`${node}: ${svc} is reached from ClusterIP ${shape.clusterIP}, expected ${input.clusterIP}`);
    if (input.port !== undefined && e.key[2] !== String(input.port)) failures.push(`${node}: the ClusterIP element for ${svc} has port ${e.key[2]}, expected ${input.port}`);
  }
  return shape;
}

export function svc03Nft(input: Svc03NftInput): Verdict {
  const id = "SVC-03";
  const failures: string[] = [];
  const names = Object.keys(input.nodes).sort();
  if (names.length === 0) return verdict(id, ["no node evidence given"]);
  const shapes = new Map<string, NodeShape>();
  for (const node of names) {
    const s = nftNodePortShape(node, input.nodes[node]!, input, failures);
    if (s) shapes.set(node, s);
  }
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
  const proto = input.proto ?? "tcp";
  return verdict(
    id,
    failures,
    r ? [`on ${names.join(", ")}: service-nodeports ${proto} . ${input.nodePort} → ${r.ext} (jump mark-for-masquerade, then goto ${r.svc}); ClusterIP ${r.clusterIP} → ${r.svc}; endpoints ${r.endpoints.join(", ")}`] : [],
    { nodes: names.length },
  );
}

// =============================================================================================
// SVC-02/03 in kube-proxy's ipvs mode: one IPVS virtual service per ClusterIP:port (and per node
// address:NodePort), its real servers the endpoints, NAT forwarding ("Masq"), equal weights.
//
//   TCP  10.0.1.175:80 rr
//     -> 10.244.0.5:9376               Masq    1      0          0
//
// (kubernetes pkg/proxy/ipvs/README.md, "Check IPVS proxy rules"; the kubernetes.io task "Debug
// Services", "IPVS mode".) Equal weights are the ipvs analogue of the iptables 1/n probabilities:
// with kube-proxy's default scheduler rr every real server takes every n-th new connection, and any
// other scheduler (--ipvs-scheduler) still shares by weight. kube-proxy's graceful termination sets
// a removed endpoint's weight to 0 and deletes the real server once its connections are gone
// (ActiveConn and InActConn 0; an IPVS TCP entry lingers up to 2 minutes in TIME_WAIT): such a
// draining real server takes no new connection, so it is named but not a failure unless `strict`.
// Masquerading (KUBE-POSTROUTING, ipsets) stays in iptables and is not judged here.

export interface Svc02IpvsInput {
  /** parseIpvsadm of `ipvsadm -Ln` or /proc/net/ip_vs on one node */
  table: IpvsTable;
  clusterIP: string;
  port: number;
  proto?: "tcp" | "udp" | "sctp";
  /**
   * the service's ready endpoints, "podIP:targetPort". An empty list means the service is expected
   * to have no ready endpoint: kube-proxy keeps the virtual service with no real server (the
   * README's first ipvsadm example lists kube-dns that way), so the verdict is green when the
   * virtual service exists and has no real server taking new connections, red when it is absent.
   */
  endpoints: string[];
  /** a weight-0 real server that is not an endpoint (draining) is a failure too */
  strict?: boolean;
}

interface RealServerCheck {
  /** "10.244.1.2:8080 (1)", per real server taking new connections */
  serving: string[];
  draining: string[];
  weight?: number;
}

/** Check one virtual service's real servers against the endpoints; failures prefixed with `where`. */
function checkRealServers(where: string, svc: IpvsService, endpoints: string[], strict: boolean, failures: string[]): RealServerCheck {
  const want = new Set(endpoints.map(canonicalHostPort));
  const counts = new Map<string, number>();
  for (const rs of svc.realServers) counts.set(rs.key, (counts.get(rs.key) ?? 0) + 1);
  for (const [k, c] of counts) if (c > 1) failures.push(`${where}: real server ${k} is listed ${c} times`);
  for (const e of [...want].sort()) if (!counts.has(e)) failures.push(`${where}: endpoint ${e} is not a real server: it never gets a connection`);
  const serving: IpvsService["realServers"] = [];
  const draining: string[] = [];
  for (const rs of svc.realServers) {
    const isEndpoint = want.has(rs.key);
    if (!isEndpoint && rs.weight === 0 && !strict) {
      draining.push(`${rs.key} (weight 0, ${rs.activeConn} active, ${rs.inActConn} inactive connection(s))`);
      continue;
    }
    if (!isEndpoint) failures.push(`${where}: real server ${rs.key} (weight ${rs.weight}) is not an endpoint of the service${rs.weight === 0 ? " (weight 0: draining, refused with strict)" : ""}`);
    if (rs.forward !== "Masq") failures.push(`${where}: real server ${rs.key} forwards by ${rs.forward}, expected Masq (NAT: kube-proxy rewrites the destination to the pod's IP and port)`);
    if (isEndpoint && rs.weight === 0) failures.push(`${where}: real server ${rs.key} has weight 0: IPVS sends it no new connection, as kube-proxy does for a terminating endpoint`);
    serving.push(rs);
  }
  const weights = [...new Set(serving.filter((r) => r.weight > 0).map((r) => r.weight))];
  if (weights.length > 1) {
    failures.push(`${where}: real servers have unequal weights (${serving.map((r) => `${r.key} ${r.weight}`).join(", ")}): new connections are not shared equally, expected the same weight for every endpoint (kube-proxy writes 1)`);
  }
  return { serving: serving.map((r) => `${r.key} (weight ${r.weight})`), draining, ...(weights.length === 1 ? { weight: weights[0]! } : {}) };
}

/** the virtual service proto address:port, or a failure naming what is at that address instead */
function findVirtual(where: string, table: IpvsTable, proto: string, address: string, port: number, what: string, failures: string[]): IpvsService | undefined {
  const P = proto.toUpperCase();
  const addr = canonicalIp(address);
  const svc = table.services.filter((s) => s.protocol === P && s.address === addr && s.port === port);
  if (svc.length === 1) return svc[0];
  if (svc.length > 1) {
    failures.push(`${where}: ${svc.length} ${P} virtual services at ${hostPort(addr, port)}; expected one`);
    return svc[0];
  }
  const near = table.services.filter((s) => s.address === addr).map((s) => s.key);
  failures.push(`${where}: no ${P} virtual service at the ${what}: expected ${hostPort(addr, port)}${near.length ? ` (at ${addr}: ${near.join(", ")})` : ` (nothing at ${addr}; ${table.services.length} virtual service(s) in all)`}`);
  return undefined;
}

function schedulerNote(svc: IpvsService): string {
  const s = svc.scheduler === "rr" ? "scheduler rr (kube-proxy's default)" : `scheduler ${svc.scheduler} (not kube-proxy's default rr: --ipvs-scheduler chose it)`;
  return svc.persistent !== undefined ? `${s}, persistent ${svc.persistent} s (sessionAffinity ClientIP)` : s;
}

export function svc02Ipvs(input: Svc02IpvsInput): Verdict {
  const id = "SVC-02";
  const proto = input.proto ?? "tcp";
  const failures: string[] = [];
  const where = `${proto.toUpperCase()} ${hostPort(canonicalIp(input.clusterIP), input.port)}`;
  const svc = findVirtual("ipvs", input.table, proto, input.clusterIP, input.port, "ClusterIP", failures);
  if (!svc) return verdict(id, failures);
  const c = checkRealServers(where, svc, input.endpoints, input.strict ?? false, failures);
  const passes = [
    input.endpoints.length === 0
      ? `virtual service ${where} ${schedulerNote(svc)} is kept with no real server taking connections: the service has no ready endpoint`
      : `virtual service ${where} ${schedulerNote(svc)}: real servers are exactly the ${c.serving.length} endpoint(s), forward Masq, each weight ${c.weight}: every endpoint gets 1/${c.serving.length} of new connections`,
    ...(c.serving.length ? [`real servers: ${c.serving.join(", ")}`] : []),
    ...(c.draining.length ? [`draining (kube-proxy's graceful termination, no new connection): ${c.draining.join(", ")}`] : []),
  ];
  return verdict(id, failures, passes, { endpoints: c.serving.length, scheduler: svc.scheduler, draining: c.draining.length });
}

export interface Svc03IpvsInput {
  /** node name → its parsed ipvs table and the addresses the NodePort must answer on (its InternalIP at least) */
  nodes: Record<string, { table: IpvsTable; addresses: string[] }>;
  nodePort: number;
  proto?: "tcp" | "udp" | "sctp";
  /** the service's ready endpoints, "podIP:targetPort" */
  endpoints: string[];
  /** the service's ClusterIP and port, when known: each node has that virtual service with the same real servers */
  clusterIP?: string;
  port?: number;
  strict?: boolean;
}

export function svc03Ipvs(input: Svc03IpvsInput): Verdict {
  const id = "SVC-03";
  const proto = input.proto ?? "tcp";
  const P = proto.toUpperCase();
  const failures: string[] = [];
  const passes: string[] = [];
  const names = Object.keys(input.nodes).sort();
  if (names.length === 0) return verdict(id, ["no node evidence given"]);
  for (const node of names) {
    const { table, addresses } = input.nodes[node]!;
    if (addresses.length === 0) failures.push(`${node}: no node address given to look for NodePort ${input.nodePort} on`);
    const ok: string[] = [];
    const f0 = failures.length;
    for (const a of addresses) {
      const where = `${node}: ${P} ${hostPort(canonicalIp(a), input.nodePort)}`;
      const svc = findVirtual(node, table, proto, a, input.nodePort, `node address ${canonicalIp(a)} and NodePort ${input.nodePort}`, failures);
      if (!svc) continue;
      const c = checkRealServers(where, svc, input.endpoints, input.strict ?? false, failures);
      ok.push(`${hostPort(canonicalIp(a), input.nodePort)} ${svc.scheduler}${c.draining.length ? ` (+${c.draining.length} draining)` : ""}`);
    }
    if (input.clusterIP !== undefined) {
      const port = input.port ?? 80;
      const svc = findVirtual(node, table, proto, input.clusterIP, port, "ClusterIP", failures);
      if (svc) checkRealServers(`${node}: ${P} ${hostPort(canonicalIp(input.clusterIP), port)} (ClusterIP)`, svc, input.endpoints, input.strict ?? false, failures);
    }
    // the NodePort on addresses the caller did not ask about (other interfaces, 127.0.0.1): named, not judged
    const asked = new Set(addresses.map(canonicalIp));
    const others = table.services.filter((s) => s.protocol === P && s.port === input.nodePort && s.address !== undefined && !asked.has(s.address)).map((s) => s.address!);
    if (failures.length === f0) passes.push(`${node}: ${P} virtual service(s) ${ok.join(", ")}${input.clusterIP !== undefined ? ` and ClusterIP ${hostPort(canonicalIp(input.clusterIP), input.port ?? 80)}` : ""}, each with exactly the endpoints as Masq real servers of equal weight${others.length ? `; NodePort ${input.nodePort} also on ${others.join(", ")}` : ""}`);
  }
  if (failures.length === 0) passes.unshift(`NodePort ${input.nodePort}/${proto} on every node (${names.join(", ")}), real servers ${[...input.endpoints].map(canonicalHostPort).sort().join(", ") || "none"}`);
  return verdict(id, failures, passes, { nodes: names.length });
}

// =============================================================================================
// Live-suite helpers (suites/services): several clients, reachability through every node, and one
// verdict out of several.

/** One verdict for an id out of several partial ones: red when any is red, every reason kept (prefixed). */
export function combine(id: string, parts: Array<{ label: string; v: Verdict }>): Verdict {
  const failures = parts.flatMap((p) => (p.v.ok ? [] : p.v.reasons.map((r) => `${p.label}: ${r}`)));
  const passes = parts.flatMap((p) => p.v.reasons.map((r) => `${p.label}: ${r}`));
  const measurements: Record<string, number | string> = {};
  for (const p of parts) for (const [k, x] of Object.entries(p.v.measurements ?? {})) measurements[`${p.label}:${k}`] = x;
  return verdict(id, failures, passes, measurements);
}

export interface Svc01Client {
  /** the client pod and the node it runs on, for the reasons */
  name: string;
  clientPodIP: string;
  /** the /clientip answers it got through the ClusterIP, one per connection ("" for a failed one) */
  replies: string[];
}

/** SVC-01 over several client pods: every connection of every client shows its own pod IP to the backend. */
export function svc01Clients(clients: Svc01Client[]): Verdict {
  const id = "SVC-01";
  if (clients.length === 0) return verdict(id, ["no client pod"]);
  const parts: Array<{ label: string; v: Verdict }> = [];
  for (const c of clients) {
    if (c.replies.length === 0) {
      parts.push({ label: c.name, v: verdict(id, ["no request made"]) });
      continue;
    }
    const vs = c.replies.map((r) => svc01({ clientPodIP: c.clientPodIP, clientIpReply: r }));
    // the same finding on several connections is one reason with its count (source ports differ)
    const counts = new Map<string, number>();
    for (const v of vs) if (!v.ok) for (const r of v.reasons) counts.set(r.replace(/:\d+,/, ":<port>,"), (counts.get(r.replace(/:\d+,/, ":<port>,")) ?? 0) + 1);
    parts.push({
      label: c.name,
      v: counts.size
        ? verdict(id, [...counts].map(([r, k]) => `${k} of ${vs.length} connection(s): ${r}`))
        : verdict(id, [], [`all ${vs.length} connection(s) reached a backend that saw the client pod IP ${c.clientPodIP}: DNAT only, no SNAT`]),
    });
  }
  return combine(id, parts);
}

export interface Svc03ReachInput {
  nodePort: number;
  /** node name → the answers (agnhost /hostname, "" for a failed request) of requests to <node address>:<nodePort> */
  answers: Record<string, string[]>;
  /** the service's backend pod names */
  backends: string[];
}

/** SVC-03 reachability: every node's address answers on the NodePort, and only backends answer. */
export function svc03Reach(input: Svc03ReachInput): Verdict {
  const id = "SVC-03";
  const failures: string[] = [];
  const passes: string[] = [];
  const nodes = Object.keys(input.answers).sort();
  if (nodes.length === 0) return verdict(id, ["no node was asked"]);
  for (const n of nodes) {
    const a = input.answers[n]!;
    const failed = a.filter((x) => x === "").length;
    const strangers = [...new Set(a.filter((x) => x !== "" && !input.backends.includes(x)))];
    if (a.length === 0) failures.push(`${n}: no request made to its NodePort ${input.nodePort}`);
    if (failed) failures.push(`${n}: ${failed} of ${a.length} request(s) to port ${input.nodePort} got no answer`);
    if (strangers.length) failures.push(`${n}: answered by ${strangers.join(", ")}, not a backend of the service (${input.backends.join(", ")})`);
    if (a.length && !failed && !strangers.length) passes.push(`${n}:${input.nodePort} answered ${a.length}/${a.length} by backends ${[...new Set(a)].sort().join(", ")}`);
  }
  return verdict(id, failures, passes, { nodes: nodes.length });
}
