/**
 * Oracles for the IPSEC family (strongSwan to a LoadBalancer VIP, the k3s lab).
 *
 * Pass/fail comes from three kinds of evidence, never from a client's exit code:
 *  - SA state and counters: two `swanctl --list-sas` samples taken before and after the traffic,
 *    on the tunnel end that owns the VIP; the CHILD SA must be INSTALLED (TUNNEL, ESP) and its
 *    bytes/packets must rise in the direction(s) the behaviour needs;
 *  - conntrack on the VIP owner (`conntrack -L` after the traffic): an entry of the probed flow
 *    still `[UNREPLIED]` means the backend's reply never made it back through conntrack. `[NEW]`
 *    events are ignored for this: conntrack prints every NEW event as UNREPLIED by construction;
 *  - the replies the client counted (`ClientReplies`: probes sent, replies received).
 *
 * P behaviours (IPSEC-01, -03, -05): ok = the tunnel works as documented.
 * N behaviours (IPSEC-02, -04): ok = the evidence shows the DOCUMENTED FAILURE — i.e. the test
 * reproduces the known-broken setup and observes exactly the breakage the lab describes. An N
 * oracle is not ok when the failure does not show (everything answered: the lab's claim is not
 * reproduced) and not ok when something else broke first (no tunnel at all: the evidence is about
 * a different failure). Reasons say which.
 */
import { z } from "zod";
import { flowEntries, type ConntrackEntry } from "../evidence/parsers/conntrack.ts";
import type { IpLink } from "../evidence/parsers/ip-json.ts";
import { findChild, type ChildSa, type SwanctlSas } from "../evidence/parsers/swanctl.ts";
import type { XfrmState } from "../evidence/parsers/xfrm.ts";
import { verdict, type Verdict } from "./verdict.ts";

/** What the client counted: probes sent and replies received (from its output, not its exit code). */
export const clientRepliesSchema = z.object({
  sent: z.number().int().nonnegative(),
  received: z.number().int().nonnegative(),
  /** the probe as run, for messages */
  probe: z.string().optional(),
});
export type ClientReplies = z.infer<typeof clientRepliesSchema>;

export interface SaSamples {
  before: SwanctlSas;
  after: SwanctlSas;
  /** the CHILD SA carrying the probed traffic, e.g. "net-net" */
  child: string;
}

export interface Flow {
  proto: string;
  /** the address the client targets through the tunnel (the service VIP, e.g. 1.2.3.4) */
  dst: string;
  dport?: number;
}

type Counter = "bytes" | "packets";
type Dir = "in" | "out";

interface SaCheck {
  child?: ChildSa;
  failures: string[];
  passes: string[];
  risen: Record<`${Counter}_${Dir}`, boolean>;
}

/** CHILD SA present and INSTALLED/TUNNEL/ESP in both samples; which counters rose. */
function checkSa(s: SaSamples): SaCheck {
  const failures: string[] = [];
  const passes: string[] = [];
  const risen = { bytes_in: false, bytes_out: false, packets_in: false, packets_out: false };
  const a = findChild(s.before, s.child);
  const b = findChild(s.after, s.child);
  if (!a || !b) {
    failures.push(`CHILD_SA ${s.child}: not listed in the ${!a ? "first" : "second"} swanctl --list-sas sample`);
    return { failures, passes, risen };
  }
  const c = b.child;
  for (const d of new Set([...a.duplicates, ...b.duplicates])) failures.push(d); // issue 11 item 9: duplicates are a fault, never collapsed
  if (b.ike.state !== "ESTABLISHED") failures.push(`IKE_SA ${b.ike.name}: state ${b.ike.state}, expected ESTABLISHED`);
  if (c.state !== "INSTALLED") failures.push(`CHILD_SA ${s.child}: state ${c.state}, expected INSTALLED`);
  if (c.mode !== "TUNNEL") failures.push(`CHILD_SA ${s.child}: mode ${c.mode}, expected TUNNEL`);
  if (c.protocol !== "ESP") failures.push(`CHILD_SA ${s.child}: protocol ${c.protocol}, expected ESP`);
  if (a.child.in.spi !== c.in.spi || a.child.out.spi !== c.out.spi) {
    failures.push(`CHILD_SA ${s.child}: rekeyed between the samples (SPIs ${a.child.in.spi}/${a.child.out.spi} → ${c.in.spi}/${c.out.spi}); counters are not comparable, sample again`);
    return { child: c, failures, passes, risen };
  }
  for (const dir of ["in", "out"] as const) {
    for (const k of ["bytes", "packets"] as const) {
      risen[`${k}_${dir}`] = c[dir][k] > a.child[dir][k];
    }
  }
  if (failures.length === 0) passes.push(`IKE_SA ${b.ike.name} ESTABLISHED, CHILD_SA ${s.child} INSTALLED, TUNNEL${c.udpEncap ? "-in-UDP" : ""}, ESP ${c.proposal}`);
  return { child: c, failures, passes, risen };
}

/** Require the given counters to have risen; reasons quote both samples. */
function requireRise(s: SaSamples, chk: SaCheck, dirs: Dir[]): void {
  const a = findChild(s.before, s.child)?.child;
  const c = chk.child;
  if (!a || !c) return;
  for (const dir of dirs) {
    for (const k of ["bytes", "packets"] as const) {
      if (!chk.risen[`${k}_${dir}`]) chk.failures.push(`CHILD_SA ${s.child}: ${k}_${dir} did not rise (${a[dir][k]} → ${c[dir][k]})`);
      else chk.passes.push(`CHILD_SA ${s.child}: ${k}_${dir} rose ${a[dir][k]} → ${c[dir][k]}`);
    }
  }
}

/** Snapshot entries of the flow; NEW events dropped (always UNREPLIED by construction). */
function flowSnapshot(entries: ConntrackEntry[], flow: Flow): ConntrackEntry[] {
  return flowEntries(entries, flow).filter((e) => e.event !== "NEW");
}

const backendOf = (e: ConntrackEntry): string => e.reply.src;
/** protocols whose conntrack entry becomes [ASSURED] once the handshake completed */
const handshake = (e: ConntrackEntry): boolean => e.proto === "tcp" || e.proto === "sctp";
const fmtFlow = (f: Flow): string => `${f.proto} → ${f.dst}${f.dport !== undefined ? `:${f.dport}` : ""}`;

function checkClient(client: ClientReplies, failures: string[], passes: string[]): void {
  const what = client.probe ? ` (${client.probe})` : "";
  if (client.sent === 0) failures.push(`client sent no probes${what}`);
  else if (client.received < client.sent) failures.push(`client received ${client.received} of ${client.sent} replies${what}`);
  else passes.push(`client received ${client.received} of ${client.sent} replies${what}`);
}

/** Every snapshot entry of the flow replied; optionally at least one from the given backends. */
function checkAllReplied(entries: ConntrackEntry[], flow: Flow, failures: string[], passes: string[], mustInclude?: { backends: string[]; what: string }): void {
  const snap = flowSnapshot(entries, flow);
  if (snap.length === 0) {
    failures.push(`conntrack: no entry for ${fmtFlow(flow)} (NEW events do not count; take a conntrack -L snapshot after the traffic)`);
    return;
  }
  const unreplied = snap.filter((e) => e.unreplied);
  for (const e of unreplied) failures.push(`conntrack line ${e.line}: ${e.orig.src}:${e.orig.sport ?? "-"} ${fmtFlow(flow)} DNATed to ${backendOf(e)} is [UNREPLIED] (${e.state ?? "no state"})`);
  if (unreplied.length === 0) passes.push(`conntrack: all ${snap.length} entries for ${fmtFlow(flow)} replied (backends ${[...new Set(snap.map(backendOf))].join(", ")})`);
  if (mustInclude) {
    const local = snap.filter((e) => mustInclude.backends.includes(backendOf(e)));
    if (local.length === 0) failures.push(`conntrack: no entry for ${fmtFlow(flow)} reached ${mustInclude.what} (${mustInclude.backends.join(", ")}); the case that breaks policy-based IPsec was not exercised`);
    else if (local.every((e) => !e.unreplied)) passes.push(`conntrack: ${local.length} flow(s) to ${mustInclude.what} replied`);
  }
}

// ---------------------------------------------------------------------------------------------

export interface Ipsec01Input {
  sas: SaSamples;
  /** "xfrmi": kernel XFRM interface (if_id required); "libipsec": strongSwan kernel-libipsec over TUN (no kernel SA, no if_id) */
  datapath: "xfrmi" | "libipsec";
  /** expected XFRM interface id (swanctl if_id_in/out), e.g. 123 */
  ifId?: number;
  /** `ip -s xfrm state` on the same host (xfrmi only; optional) */
  xfrm?: XfrmState[];
  conntrack: ConntrackEntry[];
  flow: Flow;
  /** backend pod IPs on the node that owns the VIP */
  vipOwnerBackends: string[];
  client: ClientReplies;
}

/** IPSEC-01 (P): route-based tunnel to the VIP works, including replies from a backend on the VIP owner. */
export function ipsec01(input: Ipsec01Input): Verdict {
  const id = "IPSEC-01";
  const chk = checkSa(input.sas);
  const { failures, passes } = chk;
  requireRise(input.sas, chk, ["in", "out"]);
  const c = chk.child;
  if (c && input.datapath === "xfrmi") {
    const want = input.ifId !== undefined ? `0x${input.ifId.toString(16).padStart(8, "0")}` : undefined;
    for (const dir of ["in", "out"] as const) {
      const got = c[dir].ifId;
      if (!got) failures.push(`CHILD_SA ${c.name}: no if_id on the ${dir} SA: not route-based (XFRM interface) — policy-based SAs break replies from VIP-owner backends`);
      else if (want && Number(got) !== input.ifId) failures.push(`CHILD_SA ${c.name}: if_id ${dir} ${got}, expected ${want} (the XFRM interface's if_id)`);
    }
    if (input.xfrm) {
      for (const dir of ["in", "out"] as const) {
        const spi = `0x${c[dir].spi}`;
        const st = input.xfrm.find((x) => x.spi === spi);
        if (!st) failures.push(`xfrm: no kernel state with SPI ${spi} (CHILD_SA ${c.name} ${dir})`);
        else {
          if (!st.ifId) failures.push(`xfrm: state ${spi} has no if_id`);
          if (st.stats && (st.stats.integrityFailed > 0 || st.stats.replay > 0)) failures.push(`xfrm: state ${spi} has ${st.stats.integrityFailed} integrity failures and ${st.stats.replay} replay drops`);
        }
      }
    }
  }
  checkAllReplied(input.conntrack, input.flow, failures, passes, { backends: input.vipOwnerBackends, what: "a backend on the VIP owner" });
  checkClient(input.client, failures, passes);
  return verdict(id, failures, passes);
}

export interface Ipsec02Input {
  sas: SaSamples;
  conntrack: ConntrackEntry[];
  flow: Flow;
  /** backend pod IPs on the node that owns the VIP (the replies that get lost) */
  vipOwnerBackends: string[];
  client: ClientReplies;
}

/**
 * IPSEC-02 (N): policy-based tunnel with pod-network backends loses the replies of backends on the
 * VIP-owner node. ok = the evidence shows exactly that: the tunnel is up and carries the requests
 * in, a flow to a VIP-owner backend is lost (stays [UNREPLIED], or — TCP/SCTP — was answered by the
 * backend but never became [ASSURED]), and the client misses replies.
 */
export function ipsec02(input: Ipsec02Input): Verdict {
  const id = "IPSEC-02";
  const chk = checkSa(input.sas);
  const failures = chk.failures.map((f) => `not the documented failure, the tunnel itself is broken: ${f}`);
  const passes = [...chk.passes];
  if (chk.child) {
    for (const dir of ["in", "out"] as const) {
      if (chk.child[dir].ifId) failures.push(`CHILD_SA ${chk.child.name}: if_id ${chk.child[dir].ifId} on the ${dir} SA: this is a route-based tunnel, not the policy-based setup IPSEC-02 is about`);
    }
    if (!chk.risen.packets_in) failures.push(`not the documented failure: no requests arrived through the tunnel (CHILD_SA ${input.sas.child} packets_in did not rise)`);
  }
  const snap = flowSnapshot(input.conntrack, input.flow);
  const local = snap.filter((e) => input.vipOwnerBackends.includes(backendOf(e)));
  // lost: [UNREPLIED], or (TCP/SCTP) answered by the backend but never [ASSURED]: measured in the kernel
  // lab, the pod's SCTP INIT ACK passes the VIP owner's conntrack (COOKIE_WAIT, no [UNREPLIED]) and is
  // lost after it, so the handshake never completes
  const lost = local.filter((e) => e.unreplied || (handshake(e) && !e.flags.includes("ASSURED")));
  const unreplied = lost.filter((e) => e.unreplied).length;
  const ips = [...new Set(lost.map(backendOf))].join(", ");
  if (local.length === 0) failures.push(`documented failure not exercised: no conntrack entry for ${fmtFlow(input.flow)} went to a backend on the VIP owner (${input.vipOwnerBackends.join(", ")})`);
  else if (lost.length === 0) failures.push(`documented failure not reproduced: all ${local.length} flow(s) to VIP-owner backends were replied`);
  else if (unreplied === lost.length) passes.push(`documented failure observed: ${lost.length} of ${local.length} flow(s) to VIP-owner backends stayed [UNREPLIED] (${ips})`);
  else passes.push(`documented failure observed: ${lost.length} of ${local.length} flow(s) to VIP-owner backends never completed the handshake (${unreplied} [UNREPLIED], ${lost.length - unreplied} answered by the backend but never [ASSURED]: ${[...new Set(lost.filter((e) => !e.unreplied).map((e) => e.state ?? "no state"))].join(", ")}) (${ips})`);
  const remoteOk = snap.filter((e) => !input.vipOwnerBackends.includes(backendOf(e)) && !e.unreplied);
  if (remoteOk.length > 0) passes.push(`flows to other nodes' backends were replied (${remoteOk.length}), as documented`);
  const c = input.client;
  if (c.sent === 0) failures.push("client sent no probes");
  else if (c.received >= c.sent) failures.push(`documented failure not reproduced: client received all ${c.sent} replies`);
  else passes.push(`client received only ${c.received} of ${c.sent} replies, as documented`);
  return verdict(id, failures, passes, { lostLocalFlows: lost.length, localFlows: local.length });
}

export interface Ipsec03Input {
  sas: SaSamples;
  conntrack: ConntrackEntry[];
  flow: Flow;
  /** hostNetwork backends = node IPs; every replied entry must come from one of them */
  hostNetworkBackends: string[];
  client: ClientReplies;
}

/** IPSEC-03 (P): policy-based tunnel with hostNetwork backends works. */
export function ipsec03(input: Ipsec03Input): Verdict {
  const id = "IPSEC-03";
  const chk = checkSa(input.sas);
  const { failures, passes } = chk;
  requireRise(input.sas, chk, ["in", "out"]);
  checkAllReplied(input.conntrack, input.flow, failures, passes);
  for (const e of flowSnapshot(input.conntrack, input.flow)) {
    if (!input.hostNetworkBackends.includes(backendOf(e))) failures.push(`conntrack line ${e.line}: backend ${backendOf(e)} is not a hostNetwork backend (${input.hostNetworkBackends.join(", ")})`);
  }
  checkClient(input.client, failures, passes);
  return verdict(id, failures, passes);
}

export interface Ipsec04Input {
  sas: SaSamples;
  /** `ip -j -s link show dev vti100` before and after the traffic */
  linkBefore: IpLink[];
  linkAfter: IpLink[];
  ifname: string;
  client: ClientReplies;
}

/**
 * IPSEC-04 (N): a route-based VTI tunnel with `mark` drops packets. ok = the evidence shows the
 * documented failure: the CHILD SA carries the mark, error/drop counters of the VTI rise, and the
 * client misses replies.
 */
export function ipsec04(input: Ipsec04Input): Verdict {
  const id = "IPSEC-04";
  const failures: string[] = [];
  const passes: string[] = [];
  const b = findChild(input.sas.after, input.sas.child);
  if (!b) failures.push(`not the documented setup: CHILD_SA ${input.sas.child} is not listed`);
  else if (!b.child.in.mark || !b.child.out.mark) failures.push(`not the documented setup: CHILD_SA ${b.child.name} has no mark (in ${b.child.in.mark ?? "none"}, out ${b.child.out.mark ?? "none"}); IPSEC-04 is about the mark-based VTI`);
  else passes.push(`CHILD_SA ${b.child.name} ${b.child.state} with mark ${b.child.in.mark}`);
  const l0 = input.linkBefore.find((l) => l.ifname === input.ifname);
  const l1 = input.linkAfter.find((l) => l.ifname === input.ifname);
  const s0 = l0?.stats64 ?? l0?.stats;
  const s1 = l1?.stats64 ?? l1?.stats;
  if (!l0 || !l1) failures.push(`${input.ifname}: not in both ip -j -s link samples`);
  else if (!s0 || !s1) failures.push(`${input.ifname}: no statistics (take the samples with ip -j -s link)`);
  else {
    const errs = (s: NonNullable<typeof s0>): number => s.rx.errors + s.rx.dropped + s.tx.errors + s.tx.dropped;
    const e0 = errs(s0);
    const e1 = errs(s1);
    const detail = `rx errors ${s0.rx.errors}→${s1.rx.errors}, rx dropped ${s0.rx.dropped}→${s1.rx.dropped}, tx errors ${s0.tx.errors}→${s1.tx.errors}, tx dropped ${s0.tx.dropped}→${s1.tx.dropped}`;
    if (e1 > e0) passes.push(`documented failure observed: ${input.ifname} errors/drops rose (${detail})`);
    else failures.push(`documented failure not reproduced: ${input.ifname} errors and drops did not rise (${detail})`);
  }
  const c = input.client;
  if (c.sent === 0) failures.push("client sent no probes");
  else if (c.received >= c.sent) failures.push(`documented failure not reproduced: client received all ${c.sent} replies`);
  else passes.push(`client received only ${c.received} of ${c.sent} replies, as documented`);
  return verdict(id, failures, passes);
}

export interface Ipsec05Input {
  sas: SaSamples;
  client: ClientReplies;
  /** optional: conntrack of the pod/node for the probed flow */
  conntrack?: ConntrackEntry[];
  flow?: Flow;
}

/** IPSEC-05 (P): IPsec endpoint and service in one pod: tunnel up, counters rise both ways, replies come back. */
export function ipsec05(input: Ipsec05Input): Verdict {
  const id = "IPSEC-05";
  const chk = checkSa(input.sas);
  const { failures, passes } = chk;
  requireRise(input.sas, chk, ["in", "out"]);
  if (input.conntrack && input.flow) checkAllReplied(input.conntrack, input.flow, failures, passes);
  checkClient(input.client, failures, passes);
  return verdict(id, failures, passes);
}
