/**
 * Oracles for the MLB family (MetalLB layer 2, the k3s lab). Pure functions of parsed
 * evidence; every failure reason names what is wrong (the address, the MAC, the speaker, the probe).
 */
import { ipValue, parseCidr, type IpValue, sameIp } from "../evidence/parsers/common.ts";
import type { Conntrack, ConntrackEntry } from "../evidence/parsers/conntrack.ts";
import { serviceRules, type IptablesSave, type IptRule } from "../evidence/parsers/iptables-save.ts";
import type { ServiceRow } from "../evidence/parsers/kubectl-svc.ts";
import { resolved, type Neighbour } from "../evidence/parsers/neigh.ts";
import type { PingResult, Probe } from "../evidence/parsers/ping.ts";
import type { SpeakerEntry } from "../evidence/parsers/metallb-speaker.ts";
import { arpFor, type Tcpdump } from "../evidence/parsers/tcpdump.ts";
import { spread } from "./spread.ts";
import { verdict, type Verdict } from "./verdict.ts";

const list = (xs: string[]): string => (xs.length ? xs.join(", ") : "none");
const norm = (mac: string): string => mac.toLowerCase();

/** node name → MAC (lower-cased), and the reverse lookup */
function macOwner(nodeMacs: Record<string, string>): (mac: string) => string | undefined {
  const by = new Map(Object.entries(nodeMacs).map(([n, m]) => [norm(m), n]));
  return (mac) => by.get(norm(mac));
}

// ---------------------------------------------------------------------------------------------
// Pools: CIDRs ("10.123.123.64/26") and ranges ("10.123.123.64-10.123.123.127"), as in an IPAddressPool.

interface PoolEntry {
  text: string;
  family: 4 | 6;
  first: bigint;
  last: bigint;
}

function poolEntry(text: string): PoolEntry {
  const t = text.trim();
  const range = /^([^-\s]+)\s*-\s*([^-\s]+)$/.exec(t);
  if (range) {
    const a = ipValue(range[1]!), b = ipValue(range[2]!);
    if (!a || !b || a.family !== b.family || a.value > b.value) throw new Error(`pool entry "${text}" is not a valid address range`);
    return { text: t, family: a.family, first: a.value, last: b.value };
  }
  const c = parseCidr(t);
  if (!c) throw new Error(`pool entry "${text}" is neither a CIDR nor a range`);
  return { text: t, family: c.family, first: c.first, last: c.last };
}

const inEntry = (e: PoolEntry, ip: IpValue): boolean => e.family === ip.family && ip.value >= e.first && ip.value <= e.last;

export interface PoolOverlap {
  address: string;
  /** the pool entry containing it */
  entry: string;
  /** the node owning the address, when names were given */
  node?: string;
}

/**
 * MLB-03, harness side: which node addresses a pool would hand out as VIPs. MetalLB masks a CIDR
 * to its network ("10.123.123.64/24" is all of 10.123.123.0/24, the k3s lab). Throws on a pool
 * entry that is not a CIDR or range.
 */
export function poolOverlapsNodes(pool: string[], nodeIPs: string[] | Record<string, string>): PoolOverlap[] {
  const entries = pool.map(poolEntry);
  const nodes: Array<[string | undefined, string]> = Array.isArray(nodeIPs) ? nodeIPs.map((ip) => [undefined, ip]) : Object.entries(nodeIPs);
  const out: PoolOverlap[] = [];
  for (const [node, ip] of nodes) {
    const v = ipValue(ip);
    if (!v) throw new Error(`node address "${ip}" is not an IP address`);
    const e = entries.find((x) => inEntry(x, v));
    if (e) out.push({ address: ip, entry: e.text, ...(node !== undefined ? { node } : {}) });
  }
  return out;
}

/** The harness's refusal: throws naming the overlapping addresses, before any test uses the pool. */
export function refuseOverlappingPool(pool: string[], nodeIPs: string[] | Record<string, string>): void {
  const o = poolOverlapsNodes(pool, nodeIPs);
  if (o.length) throw new Error(`IPAddressPool ${list(pool)} overlaps node addresses ${o.map((x) => `${x.address}${x.node ? ` (${x.node})` : ""} in ${x.entry}`).join(", ")}: a speaker would answer ARP for them (seed 001 L706-745)`);
}

// ---------------------------------------------------------------------------------------------
// MLB-01: the service gets a VIP from the pool plus a nodePort; an external client reaches it;
// several backends answer.

export interface Mlb01Input {
  service: ServiceRow;
  /** the IPAddressPool's addresses */
  pool: string[];
  /** backend identity per request made by the external client ("" or undefined for a failed request) */
  answeredBy: Array<string | undefined>;
  /** the service's backends (pod IPs or names) */
  backends: string[];
  /** distinct backends that must answer (default 2: "several") */
  minDistinct?: number;
}

export function mlb01(input: Mlb01Input): Verdict {
  const id = "MLB-01";
  const failures: string[] = [];
  const s = input.service;
  if (s.type !== "LoadBalancer") failures.push(`service ${s.name} is ${s.type}, not LoadBalancer`);
  if (s.pending || s.externalIPs.length === 0) failures.push(`service ${s.name} has no external IP (${s.pending ? "<pending>" : "<none>"})`);
  const entries = input.pool.map(poolEntry);
  for (const ip of s.externalIPs) {
    const v = ipValue(ip)!;
    if (!entries.some((e) => inEntry(e, v))) failures.push(`external IP ${ip} is not in the pool ${list(input.pool)}`);
  }
  const noNodePort = s.ports.filter((p) => p.nodePort === undefined);
  if (s.ports.length === 0) failures.push(`service ${s.name} has no ports`);
  for (const p of noNodePort) failures.push(`port ${p.port}/${p.protocol} has no nodePort`);
  for (const p of s.ports) if (p.nodePort !== undefined && (p.nodePort < 30000 || p.nodePort > 32767)) failures.push(`nodePort ${p.nodePort} is outside the default range 30000-32767`);
  const failed = input.answeredBy.filter((a) => !a).length;
  if (input.answeredBy.length === 0) failures.push("the external client made no request");
  if (failed) failures.push(`${failed} of ${input.answeredBy.length} requests from the external client got no answer`);
  const known = new Set(input.backends);
  const answers = input.answeredBy.filter((a): a is string => !!a);
  const strangers = [...new Set(answers.filter((a) => !known.has(a)))];
  if (strangers.length) failures.push(`answers from ${list(strangers)}, which are not backends of the service (${list(input.backends)})`);
  const distinct = [...new Set(answers.filter((a) => known.has(a)))].sort();
  const min = input.minDistinct ?? 2;
  if (distinct.length < min) failures.push(`only ${distinct.length} distinct backend(s) answered (${list(distinct)}) in ${answers.length} requests; expected at least ${min}`);
  return verdict(id, failures, [`${s.name}: VIP ${list(s.externalIPs)} from pool ${list(input.pool)}, ports ${s.ports.map((p) => `${p.port}:${p.nodePort}/${p.protocol}`).join(", ")}`, `${answers.length} requests answered by ${list(distinct)}`], { requests: input.answeredBy.length, distinct: distinct.length });
}

/** The pod IP an nginx backend of the k3s lab prints ("This is the pod IP address: 10.42.1.21" or "nginx server => 10.42.1.35:8080"). */
export function nginxPodIp(body: string): string | undefined {
  return /pod IP address: (\d+\.\d+\.\d+\.\d+)/.exec(body)?.[1] ?? /nginx server => (\d+\.\d+\.\d+\.\d+):\d+/.exec(body)?.[1];
}

// ---------------------------------------------------------------------------------------------
// MLB-02: exactly one node answers ARP for an L2 VIP: the client's neighbour entry is one node's MAC.

export interface Mlb02Input {
  vip: string;
  /** the external client's neighbour table */
  neighbours: Neighbour[];
  /** node name → MAC of its interface on the client's segment */
  nodeMacs: Record<string, string>;
  /** when known (e.g. from the speaker logs), the node that must own the VIP */
  expectedOwner?: string;
}

export function mlb02(input: Mlb02Input): Verdict {
  const id = "MLB-02";
  const owner = macOwner(input.nodeMacs);
  const all = input.neighbours.filter((n) => sameIp(n.ip, input.vip));
  const res = resolved(all);
  if (all.length === 0) return verdict(id, [`the client has no neighbour entry for ${input.vip}: nobody answered ARP`]);
  if (res.length === 0) return verdict(id, [`the client's entry for ${input.vip} is ${all.map((n) => n.state.join(" ") || "unresolved").join(", ")}: no node answered ARP`]);
  const macs = [...new Set(res.map((n) => n.mac!))];
  if (macs.length > 1) return verdict(id, [`${input.vip} resolves to ${macs.length} MACs (${macs.map((m) => `${m} = ${owner(m) ?? "not a node"}`).join(", ")}): more than one node answers ARP`]);
  const mac = macs[0]!;
  const node = owner(mac);
  const failures: string[] = [];
  if (!node) failures.push(`${input.vip} is at ${mac}, which is no node's MAC (${Object.entries(input.nodeMacs).map(([n, m]) => `${n} ${norm(m)}`).join(", ")})`);
  else if (input.expectedOwner && node !== input.expectedOwner) failures.push(`${input.vip} is at ${mac} = ${node}, but ${input.expectedOwner} announces it`);
  return verdict(id, failures, [`${input.vip} is at ${mac} = ${node}: exactly one node answers ARP`], { owner: node ?? mac });
}

// ---------------------------------------------------------------------------------------------
// MLB-03: a pool overlapping node IPs hijacks node ARP. The oracle checks that every node address
// in the client's table resolves to that node's own MAC; it names each hijacked address. With a
// pool given, it also names the overlapping pool entries (what the harness refuses up front).

export interface Mlb03Input {
  neighbours: Neighbour[];
  /** node name → { ip on the client's segment, its MAC } */
  nodes: Record<string, { ip: string; mac: string }>;
  pool?: string[];
}

export function mlb03(input: Mlb03Input): Verdict {
  const id = "MLB-03";
  const failures: string[] = [];
  const passes: string[] = [];
  const owner = macOwner(Object.fromEntries(Object.entries(input.nodes).map(([n, x]) => [n, x.mac])));
  let checked = 0;
  for (const [node, x] of Object.entries(input.nodes).sort()) {
    const entries = resolved(input.neighbours.filter((n) => sameIp(n.ip, x.ip)));
    for (const e of entries) {
      checked++;
      if (norm(e.mac!) !== norm(x.mac)) {
        const by = owner(e.mac!);
        failures.push(`${node}'s address ${x.ip} is at ${e.mac} (${by ? `${by}'s MAC` : "not a node MAC"}), not ${node}'s own ${norm(x.mac)}: ARP for a node address is answered by ${by ? `the speaker on ${by}` : "another host"}`);
      } else passes.push(`${node} ${x.ip} is at its own MAC ${norm(x.mac)}`);
    }
  }
  if (input.pool) {
    const o = poolOverlapsNodes(input.pool, Object.fromEntries(Object.entries(input.nodes).map(([n, x]) => [n, x.ip])));
    for (const x of o) failures.push(`pool entry ${x.entry} contains ${x.node}'s address ${x.address}`);
    if (!o.length) passes.push(`pool ${list(input.pool)} contains no node address`);
  }
  if (checked === 0 && !input.pool) failures.push("the client's table resolves no node address: nothing to check");
  return verdict(id, failures, passes, { checked });
}

// ---------------------------------------------------------------------------------------------
// MLB-04: in-cluster traffic to the VIP is handled on the sending node: the sending node's
// KUBE-SERVICES VIP rule counts the connections, and the announcing node sees none of them.

export interface Mlb04Input {
  vip: string;
  port: number;
  proto?: string;
  sendingNode: string;
  announcingNode: string;
  /** connections opened from the sending node (or a pod on it) to the VIP */
  connections: number;
  /** iptables-save -c of the sending node, before and after the connections */
  before: IptablesSave;
  after: IptablesSave;
  /** capture on the announcing node during the connections (filtered on the VIP or not) */
  capture: Tcpdump;
}

function vipRule(save: IptablesSave, vip: string, port: number, proto: string): IptRule | undefined {
  const nat = save.tables["nat"];
  return nat ? serviceRules(nat, vip, port, proto)[0] : undefined;
}

export function mlb04(input: Mlb04Input): Verdict {
  const id = "MLB-04";
  const proto = input.proto ?? "tcp";
  const failures: string[] = [];
  if (input.sendingNode === input.announcingNode) failures.push(`the sending node ${input.sendingNode} is the announcing node: choose another node to show local handling`);
  const b = vipRule(input.before, input.vip, input.port, proto), a = vipRule(input.after, input.vip, input.port, proto);
  let delta = NaN;
  if (!b || !a) failures.push(`${input.sendingNode}: no KUBE-SERVICES rule for ${input.vip}:${input.port}/${proto}${!b ? " before" : ""}${!a ? " after" : ""}`);
  else if (!b.counters || !a.counters) failures.push(`${input.sendingNode}: iptables-save without counters (use -c)`);
  else {
    delta = a.counters.packets - b.counters.packets;
    if (delta < input.connections) failures.push(`${input.sendingNode}: the VIP rule counted ${delta} new connection(s) for ${input.connections} made: traffic bypassed the local NAT`);
  }
  const seen = input.capture.packets.filter((p) => p.ip && (p.ip.dst === input.vip || p.ip.src === input.vip));
  if (seen.length) failures.push(`${input.announcingNode} captured ${seen.length} packet(s) to/from the VIP (first at line ${seen[0]!.line}: ${seen[0]!.ip!.src} > ${seen[0]!.ip!.dst}): in-cluster traffic reached the announcing node`);
  return verdict(id, failures, [`${input.sendingNode}: VIP rule counted ${delta} connection(s) for ${input.connections} made`, `${input.announcingNode}: no packet to or from ${input.vip} captured (${input.capture.stats?.captured ?? input.capture.packets.length} captured)`], { natDelta: delta });
}

// ---------------------------------------------------------------------------------------------
// MLB-05: readiness gating — no ready endpoint: the service still has its IP, but it is never
// announced: a speaker says "failed no active endpoints", ARP for the VIP is unanswered, ping loses 100 %.

export interface Mlb05Input {
  vip: string;
  service: ServiceRow;
  /** speaker name → its log */
  speakerLogs: Record<string, SpeakerEntry[]>;
  /** ARP capture on the segment while the client tries to reach the VIP */
  arp: Tcpdump;
  ping: PingResult;
  /** the client's neighbour table afterwards, optional */
  neighbours?: Neighbour[];
}

export function mlb05(input: Mlb05Input): Verdict {
  const id = "MLB-05";
  const failures: string[] = [];
  const passes: string[] = [];
  if (!input.service.externalIPs.includes(input.vip)) failures.push(`service ${input.service.name} does not have ${input.vip} (external IPs: ${list(input.service.externalIPs)}${input.service.pending ? ", <pending>" : ""}): gating must not withhold the IP itself`);
  else passes.push(`service ${input.service.name} has ${input.vip}`);
  const refusing: string[] = [];
  for (const [sp, log] of Object.entries(input.speakerLogs).sort()) {
    const ann = log.filter((e) => e.event === "serviceAnnounced" && e.ips.includes(input.vip));
    if (ann.length) failures.push(`${sp} announced ${input.vip} (line ${ann[0]!.line}, ${ann[0]!.ts}) although no endpoint is ready`);
    if (log.some((e) => e.event === "shouldannounce" && e.ips.includes(input.vip) && /failed no active endpoints/.test(e.text))) refusing.push(sp);
  }
  if (refusing.length === 0) failures.push(`no speaker logs "failed no active endpoints" for ${input.vip} (is the speaker at --log-level=debug?)`);
  else passes.push(`${list(refusing)} log "failed no active endpoints" for ${input.vip}`);
  const { requests, replies } = arpFor(input.arp, input.vip);
  if (requests.length === 0) failures.push(`no ARP request for ${input.vip} captured: the capture does not show the client trying`);
  if (replies.length) failures.push(`ARP for ${input.vip} was answered: ${replies.map((r) => `line ${r.line} is-at ${r.arp!.mac}`).join(", ")}`);
  else if (requests.length) passes.push(`${requests.length} ARP request(s) for ${input.vip}, none answered`);
  if (input.ping.target !== input.vip) failures.push(`the ping went to ${input.ping.target}, not ${input.vip}`);
  if (input.ping.transmitted === 0) failures.push("the ping sent nothing");
  else if (input.ping.received > 0) failures.push(`ping ${input.vip}: ${input.ping.received} of ${input.ping.transmitted} answered (${input.ping.lossPercent}% loss), expected 100% loss`);
  else passes.push(`ping ${input.vip}: ${input.ping.transmitted} sent, 100% loss`);
  for (const n of resolved((input.neighbours ?? []).filter((x) => sameIp(x.ip, input.vip)))) failures.push(`the client resolved ${input.vip} to ${n.mac} on ${n.dev}`);
  return verdict(id, failures, passes);
}

// ---------------------------------------------------------------------------------------------
// MLB-06: gating release — once an endpoint turns ready the VIP is announced and reachable; when
// it turns unready again the announcement stops.

export interface Mlb06Input {
  vip: string;
  /** when the endpoint turned ready / unready (epoch ms, from the pod's conditions or events) */
  readyAtMs: number;
  unreadyAtMs: number;
  speakerLogs: Record<string, SpeakerEntry[]>;
  /** reachability probes (ARP resolution or ping) from the external client, over the whole run */
  probes: Probe[];
  /** how long announce/withdraw may take after the transition (stated in the verdict) */
  settleMs: number;
}

export function mlb06(input: Mlb06Input): Verdict {
  const id = "MLB-06";
  const failures: string[] = [];
  const passes: string[] = [];
  if (!(input.readyAtMs < input.unreadyAtMs)) return verdict(id, [`ready (${new Date(input.readyAtMs).toISOString()}) must come before unready (${new Date(input.unreadyAtMs).toISOString()})`]);
  const entries = Object.entries(input.speakerLogs).flatMap(([sp, log]) => log.map((e) => ({ sp, e })));
  const annAfterReady = entries.filter(({ e }) => e.event === "serviceAnnounced" && e.ips.includes(input.vip) && e.atMs >= input.readyAtMs - 1000 && e.atMs < input.unreadyAtMs);
  const annBefore = entries.filter(({ e }) => e.event === "serviceAnnounced" && e.ips.includes(input.vip) && e.atMs < input.readyAtMs - 1000);
  for (const { sp, e } of annBefore) failures.push(`${sp} announced ${input.vip} at ${e.ts}, before the endpoint was ready`);
  const t = (ms: number) => new Date(ms).toISOString();
  let announcedAt: number | undefined;
  if (annAfterReady.length === 0) failures.push(`no speaker announced ${input.vip} after the endpoint turned ready at ${t(input.readyAtMs)}`);
  else {
    const first = annAfterReady.sort((a, b) => a.e.atMs - b.e.atMs)[0]!;
    announcedAt = first.e.atMs;
    // log timestamps have 1 s resolution: allow the second the transition happened in
    const lag = first.e.atMs - input.readyAtMs;
    if (lag > input.settleMs) failures.push(`${first.sp} announced ${input.vip} ${lag} ms after the endpoint turned ready, more than ${input.settleMs} ms`);
    else passes.push(`${first.sp} announced ${input.vip} at ${first.e.ts} (${Math.max(0, lag)} ms after ready)`);
    const announcers = [...new Set(annAfterReady.map((x) => x.sp))];
    if (announcers.length > 1) failures.push(`${announcers.length} speakers announced ${input.vip}: ${list(announcers)}`);
  }
  // every speaker that announced must itself stop: a withdrawal or an l2 refusal after the unready transition
  const announcers = [...new Set(annAfterReady.map((x) => x.sp))];
  for (const sp of announcers) {
    const stop = (input.speakerLogs[sp] ?? []).find((e) => e.ips.includes(input.vip) && e.atMs >= input.unreadyAtMs - 1000 && (e.event === "serviceWithdrawn" || (e.event === "shouldannounce" && /^failed\b/.test(e.text))));
    if (!stop) failures.push(`${sp} announced ${input.vip} and never withdrew it (no serviceWithdrawn / "failed no active endpoints" after the endpoint turned unready at ${t(input.unreadyAtMs)})`);
    else passes.push(`${sp} stopped announcing ${input.vip} at ${stop.ts} (${stop.event}${stop.text ? `: ${stop.text}` : ""})`);
  }
  const before = input.probes.filter((p) => p.atMs < input.readyAtMs);
  const whileReady = input.probes.filter((p) => p.atMs >= input.readyAtMs + input.settleMs && p.atMs < input.unreadyAtMs);
  const afterUnready = input.probes.filter((p) => p.atMs >= input.unreadyAtMs + input.settleMs);
  const probeName = (p: Probe) => `${t(p.atMs)}${p.detail ? ` (${p.detail})` : ""}`;
  const okBefore = before.filter((p) => p.ok);
  if (okBefore.length) failures.push(`${okBefore.length} probe(s) reached ${input.vip} before the endpoint was ready, first at ${probeName(okBefore[0]!)}`);
  if (whileReady.length === 0) failures.push(`no probe between ready + ${input.settleMs} ms and unready: reachability while ready not shown`);
  const lost = whileReady.filter((p) => !p.ok);
  if (lost.length) failures.push(`${lost.length} of ${whileReady.length} probe(s) failed while the endpoint was ready, first at ${probeName(lost[0]!)}`);
  else if (whileReady.length) passes.push(`${whileReady.length} probe(s) reached ${input.vip} while ready`);
  if (afterUnready.length === 0) failures.push(`no probe after unready + ${input.settleMs} ms: the stop is not shown`);
  const still = afterUnready.filter((p) => p.ok);
  if (still.length) failures.push(`${still.length} of ${afterUnready.length} probe(s) still reached ${input.vip} after the endpoint turned unready, last at ${probeName(still[still.length - 1]!)}`);
  else if (afterUnready.length) passes.push(`${afterUnready.length} probe(s) after unready: none answered`);
  return verdict(id, failures, passes, { settleMs: input.settleMs, ...(announcedAt !== undefined ? { announceLagMs: announcedAt - input.readyAtMs } : {}) });
}

// ---------------------------------------------------------------------------------------------
// MLB-07: only the announcing speaker logs serviceAnnounced for the VIP.

export interface Mlb07Input {
  vip: string;
  speakerLogs: Record<string, SpeakerEntry[]>;
  /** the speaker that must be the announcer (e.g. the one on the node owning the VIP's MAC) */
  announcer?: string;
}

export function mlb07(input: Mlb07Input): Verdict {
  const id = "MLB-07";
  const failures: string[] = [];
  const speakers = Object.keys(input.speakerLogs).sort();
  if (speakers.length < 2) failures.push(`logs of ${speakers.length} speaker(s) given: need every speaker's log to show the others stay silent`);
  // a speaker announces the VIP if its last announce/withdraw event for it is serviceAnnounced
  const current = speakers.filter((sp) => {
    const ev = input.speakerLogs[sp]!.filter((e) => (e.event === "serviceAnnounced" || e.event === "serviceWithdrawn") && e.ips.includes(input.vip));
    return ev[ev.length - 1]?.event === "serviceAnnounced";
  });
  const ever = speakers.filter((sp) => input.speakerLogs[sp]!.some((e) => e.event === "serviceAnnounced" && e.ips.includes(input.vip)));
  if (current.length === 0) failures.push(`no speaker logs serviceAnnounced for ${input.vip}${ever.length ? ` (withdrawn by ${list(ever)})` : ""}`);
  else if (current.length > 1) failures.push(`${current.length} speakers log serviceAnnounced for ${input.vip}: ${list(current)}`);
  if (input.announcer && current.length >= 1 && !current.includes(input.announcer)) failures.push(`${list(current)} announce(s) ${input.vip}, but the VIP's owner is ${input.announcer}`);
  if (input.announcer && !speakers.includes(input.announcer)) failures.push(`no log given for the expected announcer ${input.announcer}`);
  const e = current.length === 1 ? [...input.speakerLogs[current[0]!]!].reverse().find((x) => x.event === "serviceAnnounced" && x.ips.includes(input.vip)) : undefined;
  return verdict(id, failures, e ? [`only ${current[0]} logs serviceAnnounced for ${input.vip} (line ${e.line}, pool ${e.pool ?? "?"}, protocol ${e.protocol ?? "?"}); ${list(speakers.filter((s) => s !== current[0]))} do not`] : [], { speakers: speakers.length });
}

// ---------------------------------------------------------------------------------------------
// MLB-08: L2Advertisement nodeSelectors — a zone's VIP is announced only by that zone's nodes.

export interface Mlb08Input {
  /** VIP → the zone its L2Advertisement selects */
  vips: Record<string, string>;
  /** node → zone label */
  nodeZones: Record<string, string>;
  nodeMacs: Record<string, string>;
  /** the external client's neighbour table */
  neighbours: Neighbour[];
}

export function mlb08(input: Mlb08Input): Verdict {
  const id = "MLB-08";
  const failures: string[] = [];
  const passes: string[] = [];
  const owner = macOwner(input.nodeMacs);
  for (const [vip, zone] of Object.entries(input.vips).sort()) {
    const r = resolved(input.neighbours.filter((n) => n.ip === vip));
    const macs = [...new Set(r.map((n) => n.mac!))];
    if (macs.length === 0) {
      failures.push(`${vip} (${zone}) is not resolved by the client: nobody announces it`);
      continue;
    }
    if (macs.length > 1) failures.push(`${vip} resolves to several MACs: ${list(macs)}`);
    for (const mac of macs) {
      const node = owner(mac);
      if (!node) failures.push(`${vip} (${zone}) is at ${mac}, no node's MAC`);
      else if (input.nodeZones[node] !== zone) failures.push(`${vip} belongs to ${zone} but is announced by ${node} (${mac}) in ${input.nodeZones[node] ?? "no zone"}`);
      else passes.push(`${vip} (${zone}) announced by ${node} (${mac}) in ${zone}`);
    }
  }
  return verdict(id, failures, passes);
}

// ---------------------------------------------------------------------------------------------
// MLB-09: SCTP through a LoadBalancer VIP; conntrack walks COOKIE_WAIT → ESTABLISHED → CLOSED.

export interface Mlb09Input {
  vip: string;
  port: number;
  /** `conntrack -E -p sctp` on the VIP owner */
  events: Conntrack;
  /** the service's backends (pod IPs), optional */
  backends?: string[];
}

export function mlb09(input: Mlb09Input): Verdict {
  const id = "MLB-09";
  const failures: string[] = [];
  const passes: string[] = [];
  const flows = new Map<string, ConntrackEntry[]>();
  for (const e of input.events.entries) {
    if (e.proto !== "sctp" || e.orig.dst !== input.vip || e.orig.dport !== input.port) continue;
    const k = `${e.orig.src}:${e.orig.sport}`;
    flows.set(k, [...(flows.get(k) ?? []), e]);
  }
  if (flows.size === 0) return verdict(id, [`no sctp conntrack event for ${input.vip}:${input.port}`]);
  let complete = 0;
  for (const [k, es] of flows) {
    const states = es.map((e) => e.state ?? "?");
    const iw = states.indexOf("COOKIE_WAIT");
    const ie = states.indexOf("ESTABLISHED", iw + 1);
    const ic = states.indexOf("CLOSED", ie + 1);
    const path = states.join(" → ");
    if (iw < 0 || ie < 0 || ic < 0) {
      const missing = iw < 0 ? "COOKIE_WAIT" : ie < 0 ? "ESTABLISHED after COOKIE_WAIT" : "CLOSED after ESTABLISHED";
      failures.push(`flow ${k} → ${input.vip}:${input.port}: states ${path}, no ${missing}`);
      continue;
    }
    const est = es[ie]!;
    if (est.unreplied) failures.push(`flow ${k}: ESTABLISHED while [UNREPLIED]`);
    if (!est.flags.includes("ASSURED")) failures.push(`flow ${k}: ESTABLISHED without [ASSURED]`);
    const backend = est.reply.src;
    if (backend === input.vip) failures.push(`flow ${k}: reply tuple comes from the VIP itself: no DNAT to a backend`);
    else if (input.backends && !input.backends.includes(backend)) failures.push(`flow ${k}: DNATed to ${backend}, not a backend (${list(input.backends)})`);
    else {
      complete++;
      passes.push(`flow ${k} → ${input.vip}:${input.port} DNATed to ${backend}:${est.reply.sport}: ${path}`);
    }
  }
  return verdict(id, failures, passes, { flows: flows.size, complete });
}

// ---------------------------------------------------------------------------------------------
// MLB-10: load spreading is random, not round robin: over N connections every backend gets a share
// within a stated statistical bound (./spread.ts: exact binomial intervals, Bonferroni over the
// backends, family-wise alpha 0.001), and the sequence is no fixed cycle (spread.ts's lag-k check).

export interface Mlb10Input {
  /** the backend chosen for each connection, in order (conntrack NEW events' reply source) */
  sequence: string[];
  backends: string[];
  /** family-wise false-alarm probability for a correct random spreader (default 0.001) */
  alpha?: number;
  /** fewer connections than this cannot show a spread (default 30 per backend) */
  minConnections?: number;
}

/** The backend of each new connection to vip:port in `conntrack -E -e new` output, in order. */
export function backendSequence(events: Conntrack, vip: string, port?: number): string[] {
  return events.entries.filter((e) => e.orig.dst === vip && (port === undefined || e.orig.dport === port) && (e.event === undefined || e.event === "NEW")).map((e) => e.reply.src);
}

export function mlb10(input: Mlb10Input): Verdict {
  const id = "MLB-10";
  const n = input.sequence.length;
  const min = input.minConnections ?? 30 * input.backends.length;
  const counts: Record<string, number> = {};
  for (const b of input.sequence) counts[b] = (counts[b] ?? 0) + 1;
  const v = spread({ id, backends: input.backends, counts, sequence: input.sequence, ...(input.alpha !== undefined ? { alpha: input.alpha } : {}) });
  if (n >= min) return v;
  return verdict(id, [`${n} connections: too few to judge the spread over ${input.backends.length} backends (need ${min})`, ...(v.ok ? [] : v.reasons)], [], v.measurements);
}
