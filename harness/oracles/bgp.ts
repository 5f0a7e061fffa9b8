/**
 * Oracles for the BGP family (MetalLB BGP + BFD with FRR peers, the BGP/BFD lab). Pure functions of parsed
 * vtysh JSON (../evidence/parsers/frr.ts) and routes; every failure reason names the router, the
 * session or the path that is wrong.
 */
import type { BgpNeighbors, BgpPath, BgpRoutes, BgpSummary } from "../evidence/parsers/frr.ts";
import { cidrContains, ipValue, parseCidr } from "../evidence/parsers/common.ts";
import type { IpRoute } from "../evidence/parsers/ip-json.ts";
import { verdict, type Verdict } from "./verdict.ts";

export interface BfdTimers {
  receiveIntervalMs: number;
  transmitIntervalMs: number;
  detectMultiplier: number;
}

/** MetalLB's BFDProfile defaults, the profile the BGP/BFD lab applies (bfdprofile.yaml) */
export const DEFAULT_BFD: BfdTimers = { receiveIntervalMs: 300, transmitIntervalMs: 300, detectMultiplier: 3 };

const list = (xs: string[]): string => (xs.length ? xs.join(", ") : "none");
const forRouter = (peers: string[] | Record<string, string[]>, router: string): string[] => (Array.isArray(peers) ? peers : (peers[router] ?? []));

// ---------------------------------------------------------------------------------------------
// BGP-01: every speaker establishes BGP with both FRR peers (Established, messages exchanged).

export interface Bgp01Input {
  /** router (speaker or peer) name → its `show bgp summary json` */
  summaries: Record<string, BgpSummary>;
  /** the neighbours every router must have, or per router */
  peers: string[] | Record<string, string[]>;
  family?: string;
}

export function bgp01(input: Bgp01Input): Verdict {
  const id = "BGP-01";
  const fam = input.family ?? "ipv4Unicast";
  const failures: string[] = [];
  const passes: string[] = [];
  const names = Object.keys(input.summaries).sort();
  if (names.length === 0) return verdict(id, ["no BGP summary given"]);
  let sessions = 0;
  for (const r of names) {
    const want = forRouter(input.peers, r);
    if (want.length === 0) failures.push(`${r}: no expected peers given`);
    const afi = input.summaries[r]![fam];
    if (!afi) {
      failures.push(`${r}: no ${fam} section in show bgp summary (no ${fam} neighbour activated)`);
      continue;
    }
    for (const p of want) {
      const s = afi.peers[p];
      if (!s) {
        failures.push(`${r}: neighbour ${p} is not configured (summary lists ${list(Object.keys(afi.peers))})`);
        continue;
      }
      if (s.state !== "Established") failures.push(`${r}: session with ${p} is ${s.state}${s.peerState && s.peerState !== "OK" ? ` (${s.peerState})` : ""}, not Established`);
      else if (s.msgRcvd === 0 || s.msgSent === 0) failures.push(`${r}: session with ${p} is Established but exchanged no messages (rcvd ${s.msgRcvd}, sent ${s.msgSent})`);
      else {
        sessions++;
        passes.push(`${r} ↔ ${p}: Established for ${s.peerUptime}, ${s.msgRcvd} messages received, ${s.msgSent} sent`);
      }
    }
  }
  return verdict(id, failures, passes, { routers: names.length, established: sessions });
}

// ---------------------------------------------------------------------------------------------
// BGP-02: each peer receives the VIP /32 with a node as next hop; PfxSnt 1 per peer.

export interface Bgp02Input {
  vip: string;
  /** the cluster nodes' addresses: the only acceptable next hops */
  nodes: string[];
  /** peer name → its `show bgp ipv4 unicast json` */
  peerRoutes: Record<string, BgpRoutes>;
  /** the nodes that announce the VIP (BGP mode: every speaker with an endpoint, or all): each must be a next hop at every peer */
  announcers?: string[];
  /** speaker name → its `show bgp summary json`, to check PfxSnt towards each peer */
  speakerSummaries?: Record<string, BgpSummary>;
  /** peer addresses as the speakers see them */
  peerAddresses?: string[];
  /** prefixes each speaker should send each peer (1: the VIP) */
  expectedPfxSnt?: number;
  family?: string;
}

function vipPaths(routes: BgpRoutes, vip: string): BgpPath[] | undefined {
  const key = vip.includes(":") ? `${vip}/128` : `${vip}/32`;
  return routes.routes[key];
}

export function bgp02(input: Bgp02Input): Verdict {
  const id = "BGP-02";
  const failures: string[] = [];
  const passes: string[] = [];
  const prefix = input.vip.includes(":") ? `${input.vip}/128` : `${input.vip}/32`;
  const nodes = new Set(input.nodes);
  const peers = Object.keys(input.peerRoutes).sort();
  if (peers.length === 0) failures.push("no peer route table given");
  for (const peer of peers) {
    const paths = vipPaths(input.peerRoutes[peer]!, input.vip);
    if (!paths) {
      const other = Object.keys(input.peerRoutes[peer]!.routes);
      failures.push(`${peer}: no route for ${prefix} (table has ${list(other)})`);
      continue;
    }
    const hops = new Set<string>();
    for (const p of paths) {
      const nh = p.nexthops.map((n) => n.ip);
      if (p.valid === false) failures.push(`${peer}: path for ${prefix} from ${p.peerId} is not valid`);
      for (const h of nh) {
        if (!nodes.has(h)) failures.push(`${peer}: ${prefix} has next hop ${h} (path from ${p.peerId}), which is not a node (${list(input.nodes)})`);
        else hops.add(h);
      }
    }
    for (const a of input.announcers ?? []) if (!hops.has(a)) failures.push(`${peer}: ${prefix} has no path with next hop ${a} (announcing node); next hops: ${list([...hops])}`);
    if (!paths.some((p) => p.bestpath)) failures.push(`${peer}: no best path for ${prefix}`);
    passes.push(`${peer}: ${prefix} via ${list([...hops].sort())}`);
  }
  const want = input.expectedPfxSnt ?? 1;
  const fam = input.family ?? "ipv4Unicast";
  for (const [sp, sum] of Object.entries(input.speakerSummaries ?? {}).sort()) {
    const afi = sum[fam];
    if (!afi) {
      failures.push(`speaker ${sp}: no ${fam} summary`);
      continue;
    }
    for (const pa of input.peerAddresses ?? Object.keys(afi.peers)) {
      const s = afi.peers[pa];
      if (!s) failures.push(`speaker ${sp}: no session with peer ${pa}`);
      else if (s.pfxSnt !== want) failures.push(`speaker ${sp}: PfxSnt ${s.pfxSnt ?? "absent"} to peer ${pa} (state ${s.state}), expected ${want}`);
      else passes.push(`speaker ${sp}: PfxSnt ${want} to ${pa}`);
    }
  }
  return verdict(id, failures, passes, { peers: peers.length });
}

// ---------------------------------------------------------------------------------------------
// BGP-03: a BFD session per node and peer is up with the BFDProfile's timers.

/** the part of a BFD peer the oracles read (show bfd peers json, or brief rows for status only) */
export interface BfdView {
  peer: string;
  status: string;
  local?: string;
  multihop?: boolean;
  "receive-interval"?: number;
  "transmit-interval"?: number;
  "detect-multiplier"?: number;
  diagnostic?: string;
  downtime?: number;
}

export interface Bgp03Input {
  /** router name → its `show bfd peers json` */
  bfd: Record<string, BfdView[]>;
  /** the BFD peers each router must have, or per router */
  peers: string[] | Record<string, string[]>;
  timers?: BfdTimers;
}

export function bgp03(input: Bgp03Input): Verdict {
  const id = "BGP-03";
  const t = input.timers ?? DEFAULT_BFD;
  const failures: string[] = [];
  const passes: string[] = [];
  const names = Object.keys(input.bfd).sort();
  if (names.length === 0) return verdict(id, ["no BFD peer listing given"]);
  let up = 0;
  for (const r of names) {
    const want = forRouter(input.peers, r);
    if (want.length === 0) failures.push(`${r}: no expected BFD peers given`);
    for (const p of want) {
      const s = input.bfd[r]!.filter((x) => x.peer === p);
      if (s.length === 0) {
        failures.push(`${r}: no BFD session with ${p} (sessions: ${list(input.bfd[r]!.map((x) => x.peer))})`);
        continue;
      }
      if (s.length > 1) failures.push(`${r}: ${s.length} BFD sessions with ${p}`);
      const b = s[0]!;
      const bad: string[] = [];
      if (b.status !== "up") bad.push(`status ${b.status}${b.diagnostic && b.diagnostic !== "ok" ? ` (${b.diagnostic})` : ""}${b.downtime !== undefined ? `, down for ${b.downtime} s` : ""}`);
      const chk = (k: "receive-interval" | "transmit-interval" | "detect-multiplier", want: number, unit: string): void => {
        const v = b[k];
        if (v === undefined) bad.push(`${k} not reported (need show bfd peers json)`);
        else if (v !== want) bad.push(`${k} ${v}${unit}, profile says ${want}${unit}`);
      };
      chk("receive-interval", t.receiveIntervalMs, " ms");
      chk("transmit-interval", t.transmitIntervalMs, " ms");
      chk("detect-multiplier", t.detectMultiplier, "");
      if (bad.length) failures.push(`${r}: BFD session with ${p}: ${bad.join("; ")}`);
      else {
        up++;
        passes.push(`${r} ↔ ${p}: BFD up${b.multihop ? " (multihop)" : ""}, ${t.receiveIntervalMs}/${t.transmitIntervalMs} ms ×${t.detectMultiplier}`);
      }
    }
  }
  return verdict(id, failures, passes, { up });
}

// ---------------------------------------------------------------------------------------------
// BGP-04: losing a node drops its BFD session within multiplier × interval (+ margin), the other
// sessions stay up, and the peers withdraw that next hop.

export interface BfdSampleView {
  atMs: number;
  peers: BfdView[];
}

export interface Bgp04Input {
  /** the peer router these samples come from (for messages) */
  router: string;
  /** `show bfd peers json` samples over time, in order, some before the fault */
  samples: BfdSampleView[];
  /** when the fault was injected (epoch ms, same clock as the samples) */
  faultAtMs: number;
  /** the lost node's address (its BFD peer address and its BGP next hop) */
  lostNode: string;
  /** the sessions that must stay up (the other nodes) */
  others: string[];
  timers?: BfdTimers;
  /** allowance for sampling and scheduling on top of multiplier × interval; stated in the verdict */
  marginMs: number;
  /** after the detection: peer name → its routes, to check the next hop was withdrawn */
  vip?: string;
  routesAfter?: Record<string, BgpRoutes>;
}

export function bgp04(input: Bgp04Input): Verdict {
  const id = "BGP-04";
  const t = input.timers ?? DEFAULT_BFD;
  const failures: string[] = [];
  const passes: string[] = [];
  const interval = Math.max(t.receiveIntervalMs, t.transmitIntervalMs);
  const budget = t.detectMultiplier * interval;
  const bound = budget + input.marginMs;
  const s = [...input.samples].sort((a, b) => a.atMs - b.atMs);
  const statusAt = (x: BfdSampleView, p: string): string => x.peers.find((q) => q.peer === p)?.status ?? "absent";
  const before = s.filter((x) => x.atMs <= input.faultAtMs);
  const after = s.filter((x) => x.atMs > input.faultAtMs);
  const measurements: Record<string, number | string> = { budgetMs: budget, marginMs: input.marginMs, boundMs: bound };
  if (before.length === 0 || statusAt(before[before.length - 1]!, input.lostNode) !== "up") {
    failures.push(`${input.router}: no sample before the fault shows the BFD session with ${input.lostNode} up (baseline missing: ${before.length ? statusAt(before[before.length - 1]!, input.lostNode) : "no samples before the fault"})`);
  }
  const firstDown = after.find((x) => statusAt(x, input.lostNode) !== "up");
  if (!firstDown) {
    const last = after[after.length - 1];
    failures.push(`${input.router}: the BFD session with ${input.lostNode} never left up in ${after.length} samples over ${last ? last.atMs - input.faultAtMs : 0} ms after the fault`);
  } else {
    const detect = firstDown.atMs - input.faultAtMs;
    const lastUp = [...s].reverse().find((x) => x.atMs < firstDown.atMs && statusAt(x, input.lostNode) === "up");
    const lower = lastUp ? Math.max(0, lastUp.atMs - input.faultAtMs) : 0;
    measurements.detectionMs = detect;
    measurements.detectionLowerMs = lower;
    const st = statusAt(firstDown, input.lostNode);
    if (detect > bound) failures.push(`${input.router}: the BFD session with ${input.lostNode} went ${st} ${detect} ms after the fault, more than ${t.detectMultiplier} × ${interval} ms + ${input.marginMs} ms margin = ${bound} ms`);
    else passes.push(`${input.router}: BFD session with ${input.lostNode} ${st} between ${lower} and ${detect} ms after the fault (bound ${t.detectMultiplier} × ${interval} ms + ${input.marginMs} ms margin = ${bound} ms)`);
    // it must stay down for the rest of the samples (a flapping session would re-announce the node)
    const back = after.find((x) => x.atMs > firstDown.atMs && statusAt(x, input.lostNode) === "up");
    if (back) failures.push(`${input.router}: the BFD session with ${input.lostNode} came back up ${back.atMs - input.faultAtMs} ms after the fault while the node was still lost`);
  }
  for (const o of input.others) {
    const bad = after.find((x) => statusAt(x, o) !== "up");
    if (bad) failures.push(`${input.router}: the BFD session with ${o} (not faulted) was ${statusAt(bad, o)} ${bad.atMs - input.faultAtMs} ms after the fault`);
    else if (after.length) passes.push(`${input.router}: BFD session with ${o} stayed up in all ${after.length} samples after the fault`);
  }
  if (input.routesAfter) {
    if (!input.vip) failures.push("routesAfter given without the vip");
    else {
      for (const [peer, r] of Object.entries(input.routesAfter).sort()) {
        const paths = vipPaths(r, input.vip) ?? [];
        const hops = paths.flatMap((p) => p.nexthops.map((n) => n.ip));
        if (hops.includes(input.lostNode)) failures.push(`${peer}: still routes ${input.vip} via the lost node ${input.lostNode} (next hops ${list(hops)})`);
        else passes.push(`${peer}: withdrew next hop ${input.lostNode} for ${input.vip}; remaining ${list(hops)}`);
        const missing = input.others.filter((o) => !hops.includes(o));
        if (missing.length && input.others.length) failures.push(`${peer}: ${input.vip} lost the surviving next hop(s) ${list(missing)} too`);
      }
    }
  }
  return verdict(id, failures, passes, measurements);
}

// ---------------------------------------------------------------------------------------------
// BGP-05: the peers sit behind a next-hop router on a second network (multi-hop), reached by
// static routes.

export interface Bgp05Input {
  /** the peer router's name, for messages */
  peer: string;
  /** the peer's `ip -j route` */
  routes: IpRoute[];
  /** the peer's `show bgp neighbors json` */
  neighbors: BgpNeighbors;
  /** the peer's `show bfd peers json`, optional */
  bfd?: BfdView[];
  /** node addresses (the speakers) */
  nodes: string[];
  /** the next-hop router's address on the peer's network */
  router: string;
  /** TTL of replies from each node as seen at the peer (ping), optional: 64 − hops */
  replyTtl?: Record<string, number>;
}

/** the most specific route covering `ip` (default included) */
function lookup(routes: IpRoute[], ip: string): IpRoute | undefined {
  const v = ipValue(ip);
  if (!v) return undefined;
  let best: { r: IpRoute; len: number } | undefined;
  for (const r of routes) {
    if (r.table && r.table !== "main") continue;
    if (r.type && r.type !== "unicast") continue;
    const c = r.dst === "default" ? parseCidr(v.family === 4 ? "0.0.0.0/0" : "::/0") : parseCidr(r.dst.includes("/") ? r.dst : `${r.dst}/${v.family === 4 ? 32 : 128}`);
    if (!c || !cidrContains(c, v)) continue;
    if (!best || c.prefix > best.len) best = { r, len: c.prefix };
  }
  return best?.r;
}

export function bgp05(input: Bgp05Input): Verdict {
  const id = "BGP-05";
  const failures: string[] = [];
  const passes: string[] = [];
  for (const n of input.nodes) {
    const r = lookup(input.routes, n);
    if (!r) failures.push(`${input.peer}: no route to node ${n}`);
    else if (!r.gateway) failures.push(`${input.peer}: node ${n} is directly connected (route ${r.dst} dev ${r.dev ?? "?"}), not behind the next-hop router`);
    else if (r.gateway !== input.router) failures.push(`${input.peer}: node ${n} is reached via ${r.gateway} (route ${r.dst}), not the next-hop router ${input.router}`);
    else passes.push(`${input.peer}: node ${n} via ${input.router} (route ${r.dst}${r.protocol ? `, proto ${r.protocol}` : ""})`);
    if (r?.gateway && r.dst === "default") failures.push(`${input.peer}: node ${n} only reached through the default route; expected a static route to the node network`);
    const nb = input.neighbors[n];
    if (!nb) failures.push(`${input.peer}: no BGP neighbour ${n}`);
    else {
      const ebgp = nb.remoteAs !== nb.localAs;
      if (nb.bgpState !== "Established") failures.push(`${input.peer}: BGP session with ${n} is ${nb.bgpState}`);
      if (ebgp && (nb.externalBgpNbrMaxHopsAway ?? 1) < 2) failures.push(`${input.peer}: eBGP neighbour ${n} has no ebgp-multihop (max hops ${nb.externalBgpNbrMaxHopsAway ?? 1}); a session one router away cannot come up`);
      else if (nb.bgpState === "Established") passes.push(`${input.peer}: ${ebgp ? `eBGP multihop ${nb.externalBgpNbrMaxHopsAway}` : "iBGP"} session with ${n} Established`);
      if (nb.peerBfdInfo && !/multi/i.test(nb.peerBfdInfo.type)) failures.push(`${input.peer}: BFD for ${n} is ${nb.peerBfdInfo.type}, expected multi hop`);
    }
    const b = input.bfd?.find((x) => x.peer === n);
    if (input.bfd && !b) failures.push(`${input.peer}: no BFD session with ${n}`);
    else if (b && b.multihop === false) failures.push(`${input.peer}: BFD session with ${n} is single-hop, expected multihop`);
    const ttl = input.replyTtl?.[n];
    if (ttl !== undefined) {
      if (ttl >= 64) failures.push(`${input.peer}: replies from ${n} arrive with TTL ${ttl}: no router in between`);
      else passes.push(`${input.peer}: replies from ${n} arrive with TTL ${ttl} (${64 - ttl} hop(s))`);
    }
  }
  return verdict(id, failures, passes, { nodes: input.nodes.length });
}
