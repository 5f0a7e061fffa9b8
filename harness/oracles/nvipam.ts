/**
 * NVIPAM — nv-ipam static and per-node IP allocation (seed 003; nv-ipam docs/static-ip.md). Pure
 * functions of parsed evidence; one oracle per behaviour id of catalogue/behaviours.yaml.
 */
import { cidrContains, formatIp, ipValue, parseCidr, type Cidr } from "../evidence/parsers/common.ts";
import type { KubeEvent } from "../evidence/parsers/events.ts";
import { attachment, type NetworkStatusEntry } from "../evidence/parsers/network-status.ts";
import { nodeMatches, type Allocation, type IPPool, type SelectableNode } from "../evidence/parsers/nvipam.ts";
import { verdict, type Verdict } from "./verdict.ts";

interface Range {
  first: bigint;
  last: bigint;
  family: 4 | 6;
}

const range = (a: Allocation): Range | undefined => {
  const s = ipValue(a.startIP);
  const e = ipValue(a.endIP);
  return s && e && s.family === e.family ? { first: s.value, last: e.value, family: s.family } : undefined;
};
const inRange = (r: Range, ip: string) => {
  const v = ipValue(ip);
  return v !== undefined && v.family === r.family && v.value >= r.first && v.value <= r.last;
};
const blockText = (a: Allocation) => `${a.startIP}-${a.endIP}`;
const subnetOf = (pool: IPPool): Cidr => parseCidr(pool.spec.subnet)!;

/** the pool's allocations: from status, or from the jsonpath listing when given */
function allocationsOf(pool: IPPool, listing?: Allocation[]): Allocation[] {
  return listing ?? pool.status?.allocations ?? [];
}

/** which exclusion range (if any) holds ip */
function exclusionOf(pool: IPPool, ip: string): string | undefined {
  const e = pool.spec.exclusions.find((x) => {
    const r = range({ nodeName: "", startIP: x.startIP, endIP: x.endIP });
    return r !== undefined && inRange(r, ip);
  });
  return e ? `${e.startIP}-${e.endIP}` : undefined;
}

/** a pod's secondary-network addresses, from its network-status annotation */
export interface PodAttachment {
  pod: string;
  node: string;
  status: NetworkStatusEntry[];
}

/**
 * NVIPAM-01: every node the pool's nodeSelector selects gets one block, inside the subnet (without
 * its network or IPv4 broadcast address), of exactly perNodeBlockSize addresses, disjoint from every
 * other block; unselected nodes get none. `dynamic` (optional) are pods that got addresses without
 * asking for one: none of those may be an excluded address or the gateway.
 */
export function nvipam01(input: { pool: IPPool; allocations?: Allocation[]; nodes: SelectableNode[]; network?: string; dynamic?: PodAttachment[] }): Verdict {
  const { pool } = input;
  const failures: string[] = [];
  const passes: string[] = [];
  const net = subnetOf(pool);
  const size = BigInt(pool.spec.perNodeBlockSize);
  const allocs = allocationsOf(pool, input.allocations);
  if (allocs.length === 0) failures.push(`pool ${pool.metadata.name} has no allocations`);
  const seenNodes = new Map<string, Allocation>();
  const ranges: { a: Allocation; r: Range }[] = [];
  for (const a of allocs) {
    const r = range(a);
    if (!r) {
      failures.push(`${a.nodeName}'s block ${blockText(a)} mixes address families`);
      continue;
    }
    if (seenNodes.has(a.nodeName)) failures.push(`${a.nodeName} has two blocks (${blockText(seenNodes.get(a.nodeName)!)} and ${blockText(a)})`);
    seenNodes.set(a.nodeName, a);
    const node = input.nodes.find((n) => n.name === a.nodeName);
    if (!node) failures.push(`${a.nodeName} has block ${blockText(a)} but is not a node of the cluster`);
    else if (!nodeMatches(pool.spec.nodeSelector, node)) failures.push(`${a.nodeName} has block ${blockText(a)} but the pool's nodeSelector does not select it`);
    if (r.first > r.last) failures.push(`${a.nodeName}'s block ${blockText(a)} ends before it starts`);
    else {
      const n = r.last - r.first + 1n;
      if (n !== size) failures.push(`${a.nodeName}'s block ${blockText(a)} holds ${n} addresses, not perNodeBlockSize ${size}`);
    }
    const ipOf = (v: bigint) => formatIp({ family: r.family, value: v });
    if (!cidrContains(net, { family: r.family, value: r.first }) || !cidrContains(net, { family: r.family, value: r.last })) {
      failures.push(`${a.nodeName}'s block ${blockText(a)} is not inside the subnet ${pool.spec.subnet}`);
    } else {
      if (r.first <= net.first) failures.push(`${a.nodeName}'s block ${blockText(a)} holds the subnet's network address ${ipOf(net.first)}`);
      if (net.family === 4 && r.last >= net.last) failures.push(`${a.nodeName}'s block ${blockText(a)} holds the subnet's broadcast address ${ipOf(net.last)}`);
    }
    ranges.push({ a, r });
  }
  ranges.sort((x, y) => (x.r.first < y.r.first ? -1 : x.r.first > y.r.first ? 1 : 0));
  for (let i = 1; i < ranges.length; i++) {
    const p = ranges[i - 1]!, q = ranges[i]!;
    if (q.r.first <= p.r.last) failures.push(`${q.a.nodeName}'s block ${blockText(q.a)} overlaps ${p.a.nodeName}'s block ${blockText(p.a)}`);
  }
  for (const n of input.nodes) {
    if (nodeMatches(pool.spec.nodeSelector, n) && !seenNodes.has(n.name)) failures.push(`${n.name} is selected by the pool's nodeSelector but has no block`);
  }
  for (const d of input.dynamic ?? []) {
    const att = attachment(d.status, input.network ?? "");
    for (const ip of att?.ips ?? []) {
      const ex = exclusionOf(pool, ip);
      if (ex) failures.push(`${d.pod} got ${ip}, inside the exclusion ${ex}`);
      else if (ip === pool.spec.gateway) failures.push(`${d.pod} got the pool's gateway ${ip}`);
      else passes.push(`${d.pod} got ${ip}: no exclusion, not the gateway`);
    }
    if (!att || att.ips.length === 0) failures.push(`${d.pod} has no address on ${input.network}`);
  }
  if (failures.length === 0) passes.unshift(`${allocs.length} disjoint blocks of ${size} in ${pool.spec.subnet}, one per selected node: ${allocs.map((a) => `${a.nodeName} ${blockText(a)}`).join(", ")}`);
  return verdict("NVIPAM-01", failures, passes, { blocks: allocs.length, perNodeBlockSize: pool.spec.perNodeBlockSize });
}

/** NVIPAM-02: a pod on the secondary network gets its address from its own node's block */
export function nvipam02(input: { pool: IPPool; allocations?: Allocation[]; network: string; pods: PodAttachment[] }): Verdict {
  const failures: string[] = [];
  const passes: string[] = [];
  const allocs = allocationsOf(input.pool, input.allocations);
  if (input.pods.length === 0) failures.push("no pods to check");
  for (const p of input.pods) {
    const att = attachment(p.status, input.network);
    if (!att || att.ips.length === 0) {
      failures.push(`${p.pod} has no address on ${input.network}`);
      continue;
    }
    const own = allocs.find((a) => a.nodeName === p.node);
    if (!own) {
      failures.push(`${p.pod} runs on ${p.node}, which has no block in pool ${input.pool.metadata.name}`);
      continue;
    }
    for (const ip of att.ips) {
      if (inRange(range(own)!, ip)) passes.push(`${p.pod} on ${p.node} got ${ip} from its node's block ${blockText(own)}`);
      else {
        const other = allocs.find((a) => range(a) && inRange(range(a)!, ip));
        failures.push(`${p.pod} on ${p.node} got ${ip}, outside its node's block ${blockText(own)}${other ? ` (it lies in ${other.nodeName}'s block ${blockText(other)})` : ""}`);
      }
    }
  }
  return verdict("NVIPAM-02", failures, passes, { pods: input.pods.length });
}

/**
 * NVIPAM-03: a static IP inside the pool's subnet is granted as asked, even outside the node's
 * block or inside an exclusion (nv-ipam docs/static-ip.md); the reasons say which it was.
 */
export function nvipam03(input: { pool: IPPool; allocations?: Allocation[]; network: string; pod: PodAttachment; requested: string[] }): Verdict {
  const failures: string[] = [];
  const passes: string[] = [];
  const allocs = allocationsOf(input.pool, input.allocations);
  const net = subnetOf(input.pool);
  const att = attachment(input.pod.status, input.network);
  const got = att?.ips ?? [];
  if (input.requested.length === 0) failures.push(`${input.pod.pod} asks for no static IP`);
  for (const ip of input.requested) {
    const v = ipValue(ip);
    if (!v || !cidrContains(net, v)) failures.push(`requested ${ip} is outside the pool's subnet ${input.pool.spec.subnet}: NVIPAM-04's case, not this one`);
    if (!got.includes(ip)) {
      failures.push(`${input.pod.pod} asked for ${ip} on ${input.network} but got ${got.length ? got.join(", ") : "no address"}`);
      continue;
    }
    const own = allocs.find((a) => a.nodeName === input.pod.node);
    const where = [
      own && !inRange(range(own)!, ip) ? `outside ${input.pod.node}'s block ${blockText(own)}` : own ? `inside ${input.pod.node}'s block` : `${input.pod.node} has no block`,
      exclusionOf(input.pool, ip) ? `in the exclusion ${exclusionOf(input.pool, ip)}` : "",
      ip === input.pool.spec.gateway ? "the pool's gateway" : "",
    ].filter(Boolean);
    passes.push(`${input.pod.pod} on ${input.pod.node} got the static ${ip} (${where.join(", ")})`);
  }
  const extra = got.filter((ip) => !input.requested.includes(ip));
  if (extra.length) failures.push(`${input.pod.pod} got ${extra.join(", ")} besides what it asked for`);
  return verdict("NVIPAM-03", failures, passes);
}

const RAN = new Set(["Started", "Created", "Pulled", "Pulling"]);

/** a pod that must never have run: no container started, not Running */
function neverRan(pod: string, events: KubeEvent[], status?: string): string[] {
  const out: string[] = [];
  const ran = events.find((e) => RAN.has(e.reason) && (!e.object || e.object.name === pod));
  if (ran) out.push(`${pod} ran: event ${ran.reason} "${ran.message}"`);
  if (status !== undefined && status !== "Pending" && status !== "ContainerCreating") out.push(`${pod} is ${status}, not waiting for its sandbox`);
  return out;
}

function sandboxFailure(pod: string, events: KubeEvent[], pattern: RegExp): KubeEvent | undefined {
  return events.find((e) => e.type === "Warning" && e.reason === "FailedCreatePodSandBox" && (!e.object || e.object.name === pod) && pattern.test(e.message));
}

/**
 * NVIPAM-04: a static IP in no pool is refused: the pod never runs and its events carry
 * `FailedCreatePodSandBox … ip <ip> has no matching Pool` (003 L248-274).
 */
export function nvipam04(input: { pools: IPPool[]; pod: string; ip: string; events: KubeEvent[]; podStatus?: string }): Verdict {
  const failures: string[] = [];
  const passes: string[] = [];
  const v = ipValue(input.ip);
  const holder = input.pools.find((p) => v && cidrContains(subnetOf(p), v));
  if (holder) failures.push(`${input.ip} is inside pool ${holder.metadata.name} (${holder.spec.subnet}): the pod asks for a pool address, this checks nothing`);
  const esc = input.ip.replace(/[.:]/g, (c) => `\\${c}`);
  const hit = sandboxFailure(input.pod, input.events, new RegExp(`ip ${esc} has no matching Pool`));
  if (hit) passes.push(`${input.pod}: ${hit.reason} … "ip ${input.ip} has no matching Pool"`);
  else {
    // what the sandbox failure said instead, if there was one: the reader sees it beside the verdict
    const other = sandboxFailure(input.pod, input.events, /./);
    const said = other ? `; its FailedCreatePodSandBox says instead: "…${other.message.slice(-160)}"` : "";
    failures.push(`${input.pod}: no FailedCreatePodSandBox event saying "ip ${input.ip} has no matching Pool"${said}`);
  }
  const ran = neverRan(input.pod, input.events, input.podStatus);
  failures.push(...ran);
  if (ran.length === 0) passes.push(`${input.pod} never ran`);
  return verdict("NVIPAM-04", failures, passes);
}

/**
 * NVIPAM-05: the same static IP asked for twice on one node: the first pod holds it, the second is
 * refused (nv-ipam keeps reservations per node: "requested IP is already reserved in the pool").
 */
export function nvipam05(input: { network: string; ip: string; first: PodAttachment; second: { pod: string; node: string; status?: NetworkStatusEntry[]; events: KubeEvent[]; podStatus?: string } }): Verdict {
  const failures: string[] = [];
  const passes: string[] = [];
  const { first, second, ip } = input;
  if (first.node !== second.node) failures.push(`${first.pod} runs on ${first.node} and ${second.pod} on ${second.node}: uniqueness is per node, put both on one node`);
  const a = attachment(first.status, input.network);
  if (!a?.ips.includes(ip)) failures.push(`${first.pod} does not hold ${ip} (got ${a?.ips.join(", ") || "no address"})`);
  else passes.push(`${first.pod} on ${first.node} holds ${ip}`);
  const b = second.status ? attachment(second.status, input.network) : undefined;
  if (b?.ips.includes(ip)) failures.push(`duplicate: ${second.pod} on ${second.node} also got ${ip}`);
  const hit = sandboxFailure(second.pod, second.events, /already reserved|already allocated/);
  if (hit) passes.push(`${second.pod} refused: ${hit.reason} … "${/requested IP is already reserved[^,]*|already allocated[^,]*/.exec(hit.message)?.[0] ?? "already reserved"}"`);
  else failures.push(`${second.pod}: no FailedCreatePodSandBox event saying the IP is already reserved`);
  failures.push(...neverRan(second.pod, second.events, second.podStatus));
  return verdict("NVIPAM-05", failures, passes);
}
