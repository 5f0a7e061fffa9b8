/**
 * MIPAM — Meridio IPAM high availability (the Meridio IPAM lab): a two-replica IPAM StatefulSet on tainted
 * `ipam-worker` nodes, one leader (the only Ready replica) behind the IPAM service, a shared SQLite
 * database on an RWX NFS claim. Pure functions of parsed evidence; one oracle per behaviour id.
 */
import { z } from "zod";
import { ipValue, parseCidr, splitHostPort } from "../evidence/parsers/common.ts";
import type { CtrafficStats } from "../evidence/parsers/ctraffic.ts";
import type { PodRow, PvcRow, StorageClass } from "../evidence/parsers/kubectl-get.ts";
import type { IpamPrefix } from "../evidence/parsers/meridio-ipam.ts";
import { verdict, type Verdict } from "./verdict.ts";

/** how the IPAM workload is recognised */
export interface IpamPlacement {
  /** StatefulSet name: replicas are <name>-<ordinal> */
  statefulSet: string;
  /** the label of the dedicated nodes (the Meridio IPAM lab: ipam-worker=true) */
  nodeLabel: { key: string; value: string };
}

const replicaRe = (sts: string) => new RegExp(`^${sts.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}-\\d+$`);

/**
 * MIPAM-01: one replica on each ipam-worker node and none elsewhere; exactly one Ready (the
 * leader); the IPAM service's endpoints list only the leader.
 */
export function mipam01(input: { pods: PodRow[]; nodes: { name: string; labels: Record<string, string> }[]; endpoints: string[]; placement: IpamPlacement }): Verdict {
  const { placement: pl } = input;
  const failures: string[] = [];
  const passes: string[] = [];
  const re = replicaRe(pl.statefulSet);
  const replicas = input.pods.filter((p) => re.test(p.name));
  const workers = input.nodes.filter((n) => n.labels[pl.nodeLabel.key] === pl.nodeLabel.value).map((n) => n.name);
  if (workers.length === 0) failures.push(`no node is labelled ${pl.nodeLabel.key}=${pl.nodeLabel.value}`);
  for (const w of workers) {
    const on = replicas.filter((p) => p.node === w);
    if (on.length !== 1) failures.push(`${on.length} ${pl.statefulSet} replicas on ipam-worker node ${w}${on.length ? ` (${on.map((p) => p.name).join(", ")})` : ""}, want 1`);
  }
  for (const p of replicas) if (!p.node || !workers.includes(p.node)) failures.push(`replica ${p.name} runs on ${p.node ?? "no node"}, not on an ipam-worker node`);
  const ready = replicas.filter((p) => p.ready);
  if (ready.length !== 1) failures.push(`${ready.length} replicas Ready (${ready.map((p) => p.name).join(", ") || "none"}): exactly one, the leader, must be`);
  const leader = ready.length === 1 ? ready[0]! : undefined;
  const ips = input.endpoints.map((e) => splitHostPort(e)?.address ?? e);
  if (leader) {
    passes.push(`leader ${leader.name} on ${leader.node} is the only Ready replica of ${replicas.length}`);
    if (ips.length !== 1 || ips[0] !== leader.ip) {
      const who = ips.map((ip) => `${ip}${replicas.find((p) => p.ip === ip) ? ` (${replicas.find((p) => p.ip === ip)!.name})` : ""}`);
      failures.push(`the IPAM service's endpoints list ${who.join(", ") || "nothing"}, want only the leader ${leader.name} (${leader.ip})`);
    } else passes.push(`the IPAM service's endpoints list only the leader (${input.endpoints[0]})`);
  }
  if (failures.length === 0) passes.push(`one replica on each of ${workers.join(", ")}`);
  return verdict("MIPAM-01", failures, passes, { replicas: replicas.length, ready: ready.length });
}

/**
 * What the harness records while it stops the leader's node (MIPAM-02). `ready` is the pod's Ready
 * condition as the API reports it (not the kubectl READY column, which stays 1/1 on a node that
 * stopped reporting — the Meridio IPAM lab); `endpoints` are the IPAM service's "ip:port" entries.
 */
export const TakeoverTimelineSchema = z
  .object({
    statefulSet: z.string().min(1),
    fault: z.object({ node: z.string().min(1), atMs: z.number().min(0), action: z.string().min(1) }).strict(),
    samples: z
      .array(
        z
          .object({
            atMs: z.number().min(0),
            nodes: z.record(z.string(), z.enum(["Ready", "NotReady", "Unknown"])),
            pods: z.array(z.object({ name: z.string(), node: z.string(), ready: z.boolean(), ip: z.string() }).strict()),
            endpoints: z.array(z.string()),
          })
          .strict(),
      )
      .min(2),
  })
  .strict();
export type TakeoverTimeline = z.output<typeof TakeoverTimelineSchema>;

/**
 * MIPAM-02: after the leader's node is stopped it turns NotReady, the standby turns Ready and the
 * endpoints move to it (and only it) within `boundMs`; takeover = fault → endpoints list only the
 * standby.
 */
export function mipam02(t: TakeoverTimeline, params: { boundMs: number }): Verdict {
  const failures: string[] = [];
  const passes: string[] = [];
  const samples = [...t.samples].sort((a, b) => a.atMs - b.atMs);
  const re = replicaRe(t.statefulSet);
  const before = samples.filter((s) => s.atMs < t.fault.atMs).pop();
  const m: Record<string, number> = { boundMs: params.boundMs };
  if (!before) return verdict("MIPAM-02", ["no sample before the fault: the leader is unknown"], [], m);
  const leaders = before.pods.filter((p) => re.test(p.name) && p.ready);
  if (leaders.length !== 1) return verdict("MIPAM-02", [`${leaders.length} Ready replicas before the fault: the leader is unknown`], [], m);
  const leader = leaders[0]!;
  if (leader.node !== t.fault.node) failures.push(`the fault hit ${t.fault.node} but the leader ${leader.name} ran on ${leader.node}: nothing to take over`);
  const after = samples.filter((s) => s.atMs >= t.fault.atMs);
  const rel = (s: { atMs: number }) => s.atMs - t.fault.atMs;
  const notReady = after.find((s) => s.nodes[t.fault.node] !== undefined && s.nodes[t.fault.node] !== "Ready");
  if (notReady) {
    m.nodeNotReadyMs = rel(notReady);
    passes.push(`${t.fault.node} turned ${notReady.nodes[t.fault.node]} after ${rel(notReady)} ms`);
  } else failures.push(`${t.fault.node} never turned NotReady after "${t.fault.action}"`);
  const standbyReady = after.find((s) => s.pods.some((p) => re.test(p.name) && p.name !== leader.name && p.ready));
  const standby = standbyReady?.pods.find((p) => re.test(p.name) && p.name !== leader.name && p.ready);
  if (!standby) failures.push(`no standby replica of ${t.statefulSet} turned Ready`);
  else {
    m.standbyReadyMs = rel(standbyReady!);
    passes.push(`standby ${standby.name} on ${standby.node} turned Ready after ${rel(standbyReady!)} ms`);
    const only = (s: (typeof samples)[number]) => s.endpoints.length === 1 && splitHostPort(s.endpoints[0]!)?.address === standby.ip;
    const moved = after.find(only);
    if (!moved) failures.push(`the endpoints never listed only ${standby.name} (${standby.ip}); last: ${after[after.length - 1]!.endpoints.join(", ") || "none"}`);
    else {
      m.takeoverMs = rel(moved);
      if (rel(moved) > params.boundMs) failures.push(`takeover took ${rel(moved)} ms, more than the bound ${params.boundMs} ms`);
      else passes.push(`endpoints list only ${standby.name} after ${rel(moved)} ms (bound ${params.boundMs} ms)`);
      const back = after.find((s) => s.atMs > moved.atMs && !only(s));
      if (back) failures.push(`at ${rel(back)} ms the endpoints changed again to ${back.endpoints.join(", ") || "nothing"}`);
    }
  }
  return verdict("MIPAM-02", failures, passes, m);
}

/**
 * MIPAM-03: traffic through the VIPs continues across the takeover: at most `maxLost` connections
 * lost (ConnStats with an error, as `ctraffic -analyze hosts` counts them), traffic still flowing
 * at the end, and no stall longer than `maxStallMs` when given. `takeover` (ms from ctraffic's
 * start, from the MIPAM-02 timeline) reports how many of the losses fell inside it.
 */
export function mipam03(stats: CtrafficStats, params: { maxLost: number; maxStallMs?: number; takeover?: { fromMs: number; toMs: number } }): Verdict {
  const failures: string[] = [];
  const passes: string[] = [];
  if (!stats.ConnStats || !stats.Samples) return verdict("MIPAM-03", ["statistics without ConnStats/Samples: run ctraffic with -stats all"]);
  const lost = stats.ConnStats.filter((c) => c.Err !== "");
  const lasting = stats.ConnStats.filter((c) => c.Err === "");
  const samples = stats.Samples;
  let stall = 0, run = 0;
  for (let i = 1; i < samples.length; i++) {
    run = samples[i]!.Received === samples[i - 1]!.Received ? run + (samples[i]!.Time - samples[i - 1]!.Time) : 0;
    stall = Math.max(stall, run);
  }
  const stallMs = Math.round(stall / 1e6);
  const m: Record<string, number> = { lostConnections: lost.length, lastingConnections: lasting.length, failedConnects: stats.FailedConnects, maxStallMs: stallMs, maxLost: params.maxLost, sent: stats.Sent, received: stats.Received };
  if (lost.length > params.maxLost) {
    const byHost = new Map<string, number>();
    for (const c of lost) byHost.set(c.Host || "?", (byHost.get(c.Host || "?") ?? 0) + 1);
    const first = lost[0]!;
    failures.push(`${lost.length} connections lost, more than the bound ${params.maxLost} (by host: ${[...byHost].map(([h, n]) => `${h} ${n}`).join(", ")}; first error at ${(first.Ended / 1e9).toFixed(1)} s: ${first.Err})`);
  } else passes.push(`${lost.length} connections lost (bound ${params.maxLost}), ${lasting.length} lasting`);
  if (params.takeover) {
    // connections that failed while the takeover ran (ms from ctraffic's start), for the report
    const { fromMs, toMs } = params.takeover;
    m.lostDuringTakeover = lost.filter((c) => c.Ended / 1e6 >= fromMs && c.Ended / 1e6 <= toMs).length;
    passes.push(`${m.lostDuringTakeover} of the lost connections ended during the takeover (${fromMs}-${toMs} ms)`);
  }
  if (params.maxStallMs !== undefined && stallMs > params.maxStallMs) failures.push(`no packet received for ${stallMs} ms, more than ${params.maxStallMs} ms`);
  const tail = samples.slice(-2);
  if (tail.length < 2 || tail[1]!.Received <= tail[0]!.Received) failures.push("traffic is not flowing at the end of the run");
  else passes.push(`traffic still flowing at the end (${stats.Received}/${stats.Sent} packets answered)`);
  return verdict("MIPAM-03", failures, passes, m);
}

/**
 * MIPAM-04: the allocations survive the takeover (shared SQLite): every prefix present before is
 * present after with the same CIDR (none reallocated or lost), and after it no address is handed
 * out twice and no two sibling prefixes overlap.
 */
export function mipam04(input: { before: IpamPrefix[]; after: IpamPrefix[] }): Verdict {
  const failures: string[] = [];
  const passes: string[] = [];
  const after = new Map(input.after.map((p) => [p.id, p]));
  let kept = 0;
  for (const b of input.before) {
    const a = after.get(b.id);
    if (!a) failures.push(`lost: ${b.name} (${b.id}) held ${b.cidr} before and is gone after`);
    else if (a.cidr !== b.cidr) failures.push(`reallocated: ${b.name} (${b.id}) held ${b.cidr} before and ${a.cidr} after`);
    else kept++;
  }
  if (input.before.length === 0) failures.push("no allocations before the takeover: nothing to survive");
  const byAddr = new Map<string, IpamPrefix[]>();
  for (const p of input.after) {
    const ip = p.cidr.split("/")[0]!;
    const key = `${ipValue(ip)?.family}:${ipValue(ip)?.value}:${p.cidr.split("/")[1]}`;
    byAddr.set(key, [...(byAddr.get(key) ?? []), p]);
  }
  for (const ps of byAddr.values()) if (ps.length > 1) failures.push(`duplicated: ${ps[0]!.cidr} is held by ${ps.map((p) => `${p.name} (${p.id})`).join(" and ")}`);
  const networks = input.after.filter((p) => {
    const c = parseCidr(p.cidr)!;
    return ipValue(p.cidr.split("/")[0]!)!.value === c.first;
  });
  for (let i = 0; i < networks.length; i++) {
    for (let j = i + 1; j < networks.length; j++) {
      const a = networks[i]!, b = networks[j]!;
      if (a.parent_id !== b.parent_id || a.cidr === b.cidr) continue;
      const x = parseCidr(a.cidr)!, y = parseCidr(b.cidr)!;
      if (x.family === y.family && x.first <= y.last && y.first <= x.last) failures.push(`overlapping: ${a.name} ${a.cidr} and ${b.name} ${b.cidr} under ${a.parent_id || "the root"}`);
    }
  }
  const added = input.after.filter((p) => !input.before.some((b) => b.id === p.id)).length;
  passes.push(`${kept} of ${input.before.length} allocations unchanged, ${added} added after the takeover, no duplicates`);
  return verdict("MIPAM-04", failures, passes, { before: input.before.length, after: input.after.length, kept, added });
}

/** MIPAM-05: the RWX claim of the nfs-ganesha class is Bound at once (volumeBindingMode Immediate) */
export function mipam05(input: { pvc: PvcRow; storageClass: StorageClass; accessMode?: string; consumers?: number }): Verdict {
  const failures: string[] = [];
  const passes: string[] = [];
  const sc = input.storageClass;
  const mode = input.accessMode ?? "RWX";
  if (input.pvc.storageClass !== sc.metadata.name) failures.push(`claim ${input.pvc.name} uses class ${input.pvc.storageClass || "(default)"}, not ${sc.metadata.name}`);
  if (sc.volumeBindingMode !== "Immediate") failures.push(`StorageClass ${sc.metadata.name} has volumeBindingMode ${sc.volumeBindingMode}, not Immediate`);
  else passes.push(`StorageClass ${sc.metadata.name} (${sc.provisioner}) binds Immediate`);
  if (input.pvc.status !== "Bound") failures.push(`claim ${input.pvc.name} is ${input.pvc.status}, not Bound`);
  else {
    if (!input.pvc.accessModes.includes(mode)) failures.push(`claim ${input.pvc.name} is bound ${input.pvc.accessModes.join(",")}, not ${mode}`);
    else passes.push(`claim ${input.pvc.name} Bound to ${input.pvc.volume} (${input.pvc.capacity}, ${input.pvc.accessModes.join(",")})${input.consumers === 0 ? " with no pod using it yet" : ""}`);
    if (input.consumers !== undefined && input.consumers > 0) passes.push(`(${input.consumers} pod(s) already use it: binding before a consumer is not shown)`);
  }
  return verdict("MIPAM-05", failures, passes);
}

/**
 * What the kernel lab records of the IPAM's leader lock on the shared NFS volume (MIPAM-02 at depth
 * D, harness/lab/nfs.lab.test.ts): each replica's own log (guest clock, ms) of when it started, got
 * the exclusive lock, allocated a prefix and finished, and when the leader's node was lost.
 * mipam02's timeline cannot stand for this: it is made of Kubernetes node conditions, pod Ready and
 * the service's endpoints, none of which exists there; the lock on the volume is what makes one
 * replica the writer.
 */
export const LockTakeoverSchema = z
  .object({
    lock: z.string().min(1),
    fault: z.object({ node: z.string().min(1), atMs: z.number().min(0), action: z.string().min(1) }).strict(),
    writers: z
      .array(
        z
          .object({
            node: z.string().min(1),
            events: z.array(
              z.discriminatedUnion("kind", [
                z.object({ kind: z.literal("start"), atMs: z.number().min(0) }).strict(),
                z.object({ kind: z.literal("acquired"), atMs: z.number().min(0) }).strict(),
                z.object({ kind: z.literal("alloc"), atMs: z.number().min(0), cidr: z.string().min(1) }).strict(),
                z.object({ kind: z.literal("done"), atMs: z.number().min(0) }).strict(),
              ]),
            ),
          })
          .strict(),
      )
      .min(2),
  })
  .strict();
export type LockTakeover = z.output<typeof LockTakeoverSchema>;

/**
 * MIPAM-02 on a lock timeline: one writer at a time (no allocation without the lock, no two holders
 * at once; a writer holds it from "acquired" (or its first allocation) until "done", the faulted
 * node until the fault unless it was done before), the lock held
 * by the faulted node before the fault, a standby getting it within `boundMs` of the fault (takeover
 * = fault → the standby's "acquired") and allocating after it. Times in reasons are relative to the
 * fault.
 */
export function mipam02Lock(t: LockTakeover, params: { boundMs: number }): Verdict {
  const failures: string[] = [];
  const passes: string[] = [];
  const m: Record<string, number> = { boundMs: params.boundMs };
  const rel = (ms: number) => ms - t.fault.atMs;
  const when = (ms: number) => (rel(ms) < 0 ? `${-rel(ms)} ms before the fault` : rel(ms) === 0 ? "the fault" : `${rel(ms)} ms after the fault`);
  const writers = t.writers.map((w) => {
    const ev = [...w.events].sort((a, b) => a.atMs - b.atMs);
    const acquired = ev.find((e) => e.kind === "acquired")?.atMs;
    // a writer holds the lock until it is done; the faulted one until the fault if it was not done by then
    const done = ev.find((e) => e.kind === "done")?.atMs;
    const end = w.node === t.fault.node && (done === undefined || done > t.fault.atMs) ? t.fault.atMs : (done ?? ev[ev.length - 1]?.atMs ?? 0);
    return { node: w.node, ev, acquired, end, allocs: ev.filter((e) => e.kind === "alloc") };
  });
  for (const w of writers) {
    const free = w.allocs.filter((a) => w.acquired === undefined || a.atMs < w.acquired);
    if (free.length) failures.push(`${w.node} allocated ${free.length} prefixes without holding the lock, the first ${free[0]!.cidr} ${when(free[0]!.atMs)}`);
  }
  // hold intervals [acquired or first allocation, end]; two that overlap are two writers at once
  const holds = writers.map((w) => ({ w, from: Math.min(w.acquired ?? Infinity, w.allocs[0]?.atMs ?? Infinity) })).filter((h) => h.from !== Infinity);
  for (let i = 0; i < holds.length; i++) {
    for (let j = i + 1; j < holds.length; j++) {
      const [a, b] = [holds[i]!, holds[j]!].sort((x, y) => x.from - y.from) as [(typeof holds)[number], (typeof holds)[number]];
      if (b.from < a.w.end) failures.push(`two writers at once: ${b.w.node} wrote from ${when(b.from)} while ${a.w.node} held ${t.lock} (from ${when(a.from)} until ${when(a.w.end)})`);
    }
  }
  const leader = writers.filter((w) => w.acquired !== undefined && w.acquired < t.fault.atMs).sort((a, b) => a.acquired! - b.acquired!)[0];
  if (!leader) failures.push(`no writer held ${t.lock} before the fault`);
  else if (leader.node !== t.fault.node) failures.push(`the fault hit ${t.fault.node} but ${leader.node} held ${t.lock}: nothing to take over`);
  else {
    m.leaderAllocs = leader.allocs.length;
    passes.push(`${leader.node} held ${t.lock} from ${when(leader.acquired!)} and allocated ${leader.allocs.length} prefixes`);
    const standby = writers.filter((w) => w.node !== leader.node && w.acquired !== undefined && w.acquired >= t.fault.atMs).sort((a, b) => a.acquired! - b.acquired!)[0];
    if (!standby) {
      if (!writers.some((w) => w.node !== leader.node && w.acquired !== undefined)) failures.push(`no standby acquired ${t.lock} after ${t.fault.node} was lost (${t.fault.action})`);
    } else {
      m.takeoverMs = rel(standby.acquired!);
      if (m.takeoverMs > params.boundMs) failures.push(`takeover took ${m.takeoverMs} ms, more than the bound ${params.boundMs} ms`);
      else passes.push(`${standby.node} acquired ${t.lock} ${m.takeoverMs} ms after ${t.fault.node} was lost (bound ${params.boundMs} ms)`);
      const next = standby.allocs.filter((a) => a.atMs >= standby.acquired!);
      m.standbyAllocs = next.length;
      if (!next.length) failures.push(`${standby.node} took ${t.lock} but allocated nothing after it`);
      else {
        m.firstAllocMs = rel(next[0]!.atMs);
        passes.push(`${standby.node} continued: ${next.length} prefixes from ${next[0]!.cidr} (${when(next[0]!.atMs)})`);
      }
    }
  }
  return verdict("MIPAM-02", failures, passes, m);
}
