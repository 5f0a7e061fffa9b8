/**
 * `npm run judge -- <ID> <file>… [--param value]…`: one behaviour's oracle on evidence a user saved
 * from a cluster netconform cannot build (production, a customer's lab). Files are read by content
 * (./detect.ts); what an oracle needs besides the files (a service address, the expected peers…)
 * comes as --params. The result: the verdict with its reasons, the parse warnings, and an exit code
 * 0 pass, 1 fail, 2 cannot decide (unknown id, unreadable file, missing evidence or parameter).
 */
import { basename } from "node:path";
import { canonicalCidr, canonicalHostPort, canonicalIp, isIpAddress, splitHostPort, tolerantNote } from "../evidence/parsers/common.ts";
import type { Conntrack } from "../evidence/parsers/conntrack.ts";
import type { KubeEvent } from "../evidence/parsers/events.ts";
import type { BgpSummary } from "../evidence/parsers/frr.ts";
import { dport, type IptablesSave } from "../evidence/parsers/iptables-save.ts";
import type { IpvsTable } from "../evidence/parsers/ipvsadm.ts";
import type { KlvsIngress } from "../evidence/parsers/klvs-ingress.ts";
import type { Endpoints } from "../evidence/parsers/kubectl-get.ts";
import type { IpamPrefix } from "../evidence/parsers/meridio-ipam.ts";
import type { Neighbour } from "../evidence/parsers/neigh.ts";
import type { IPPool } from "../evidence/parsers/nvipam.ts";
import type { SwanctlSas } from "../evidence/parsers/swanctl.ts";
import { bgp01, bgp03, type BfdView } from "../oracles/bgp.ts";
import { etp05, extChainFor } from "../oracles/etp.ts";
import { ipsec05 } from "../oracles/ipsec.ts";
import { klvs01 } from "../oracles/klvs.ts";
import { mipam04 } from "../oracles/mipam.ts";
import { mlb02 } from "../oracles/mlb.ts";
import { nvipam04 } from "../oracles/nvipam.ts";
import { svc02, svc03 } from "../oracles/svc.ts";
import { formatVerdict, verdict, withParseNotes, type Verdict } from "../oracles/verdict.ts";
import { EvidenceError, KINDS, readEvidence, type Evidence, type EvidenceKind } from "./detect.ts";

/** A problem that stops the judge from deciding: its message is printed, exit 2. */
export class CannotDecide extends Error {}

interface Need {
  kind: EvidenceKind;
  min: number;
  max: number;
  /** what the files are, e.g. "one per node, named after the node" */
  role: string;
}
interface Param {
  name: string;
  required: boolean | ((p: Record<string, string>) => boolean);
  help: string;
}
interface Judge {
  id: string;
  what: string;
  needs: Need[];
  params: Param[];
  run(ev: Record<string, Evidence[]>, p: Record<string, string>): Verdict;
}

const value = <T>(e: Evidence): T => e.parsed.value as T;
const nameOf = (e: Evidence): string => basename(e.file).replace(/\.[^.]*$/, "").replace(/\.(summary|iptables-save|iptables)$/, "");
const listParam = (s: string | undefined): string[] => (s === undefined || s.trim() === "" ? [] : s.split(",").map((x) => x.trim()).filter(Boolean));

/** "ip:port[/proto]" → parts */
function service(p: string, what: string): { address: string; port: number; proto: "tcp" | "udp" | "sctp" } {
  const m = /^(.*?)(?:\/(tcp|udp|sctp))?$/.exec(p.trim())!;
  const hp = splitHostPort(m[1]!);
  if (!hp) throw new CannotDecide(`--${what} ${JSON.stringify(p)}: expected ip:port[/tcp|udp|sctp] ([v6]:port for IPv6)`);
  return { address: canonicalIp(hp.address), port: hp.port, proto: (m[2] as "tcp" | "udp" | "sctp" | undefined) ?? "tcp" };
}

const nat = (e: Evidence): IptablesSave => value<IptablesSave>(e);

export const JUDGES: Judge[] = [
  {
    id: "SVC-02",
    what: "ClusterIP chain shape: KUBE-SERVICES → KUBE-SVC-* → KUBE-SEP-* with 1/k probabilities",
    needs: [{ kind: "iptables", min: 1, max: 1, role: "the node's nat table" }],
    params: [
      { name: "service", required: false, help: "ClusterIP ip:port[/proto]; without it every ClusterIP rule in KUBE-SERVICES is judged" },
      { name: "endpoints", required: false, help: "expected DNAT destinations ip:port,… (with --service)" },
    ],
    run(ev, p) {
      const save = nat(ev.iptables![0]!);
      if (p.service) {
        const s = service(p.service, "service");
        const input: Parameters<typeof svc02>[0] = { save, clusterIP: s.address, port: s.port, proto: s.proto };
        if (p.endpoints !== undefined) input.endpoints = listParam(p.endpoints).map(canonicalHostPort);
        return svc02(input);
      }
      const rules = (save.tables["nat"]?.chains["KUBE-SERVICES"]?.rules ?? []).filter((r) => r.target?.name.startsWith("KUBE-SVC-") && r.destination && !r.destination.negated && /\/(32|128)$/.test(r.destination.value) && dport(r) !== undefined && r.protocol);
      if (rules.length === 0) throw new CannotDecide("SVC-02: no KUBE-SERVICES rule jumping to a KUBE-SVC-* chain in the nat table; give --service ip:port to name one");
      const failures: string[] = [], passes: string[] = [];
      for (const r of rules) {
        const ip = r.destination!.value.replace(/\/(32|128)$/, "");
        const key = `${ip.includes(":") ? `[${ip}]` : ip}:${dport(r)}/${r.protocol!.value}`;
        const v = svc02({ save, clusterIP: ip, port: dport(r)!, proto: r.protocol!.value as "tcp" });
        (v.ok ? passes : failures).push(...v.reasons.map((x) => `${key}: ${x}`));
      }
      return verdict("SVC-02", failures, passes, { services: rules.length });
    },
  },
  {
    id: "SVC-03",
    what: "NodePort: KUBE-NODEPORTS → KUBE-EXT-* (KUBE-MARK-MASQ, then KUBE-SVC-*), the same on every node",
    needs: [{ kind: "iptables", min: 1, max: 64, role: "one nat table per node, each file named after its node" }],
    params: [
      { name: "nodeport", required: true, help: "the NodePort number" },
      { name: "proto", required: false, help: "tcp (default), udp or sctp" },
      { name: "cluster-ip", required: false, help: "the service's ClusterIP" },
    ],
    run(ev, p) {
      const nodes = Object.fromEntries(ev.iptables!.map((e) => [nameOf(e), nat(e)]));
      const input: Parameters<typeof svc03>[0] = { nodes, nodePort: Number(p.nodeport), proto: (p.proto as "tcp") ?? "tcp" };
      if (!/^\d{1,5}$/.test(p.nodeport!)) throw new CannotDecide(`--nodeport ${JSON.stringify(p.nodeport)} is not a port number`);
      if (p["cluster-ip"]) input.clusterIP = canonicalIp(p["cluster-ip"]);
      return svc03(input);
    },
  },
  {
    id: "ETP-05",
    what: "externalTrafficPolicy rule shape (KUBE-EXT/KUBE-SVL, or KUBE-FW/KUBE-XLB before kube-proxy 1.24)",
    needs: [{ kind: "iptables", min: 1, max: 1, role: "the node's nat table" }],
    params: [
      { name: "policy", required: true, help: "Cluster or Local" },
      { name: "vip", required: (p) => !p.chain, help: "load-balancer ip:port[/proto] (or give --chain)" },
      { name: "chain", required: false, help: "the KUBE-EXT-*/KUBE-FW-*/KUBE-XLB-* chain to judge" },
      { name: "pod-cidr", required: (p) => p.policy === "Local", help: "the cluster's pod CIDR (Local)" },
      { name: "local-endpoints", required: (p) => p.policy === "Local", help: 'the endpoints on this node, ip:port,… ("" for none) (Local)' },
    ],
    run(ev, p) {
      if (p.policy !== "Cluster" && p.policy !== "Local") throw new CannotDecide(`--policy ${JSON.stringify(p.policy)}: expected Cluster or Local`);
      const table = nat(ev.iptables![0]!).tables["nat"];
      if (!table) throw new CannotDecide(`${ev.iptables![0]!.file}: no nat table`);
      let chain = p.chain;
      if (!chain) {
        const s = service(p.vip!, "vip");
        chain = extChainFor(table, s.address, s.port, s.proto);
        if (!chain) return verdict("ETP-05", [`no KUBE-SERVICES rule for ${p.vip} jumping to a KUBE-EXT-*, KUBE-FW-* or KUBE-XLB-* chain`]);
      }
      const input: Parameters<typeof etp05>[0] = { nat: table, policy: p.policy, extChain: chain };
      if (p["pod-cidr"]) input.podCidr = canonicalCidr(p["pod-cidr"]);
      if (p["local-endpoints"] !== undefined) input.localEndpoints = listParam(p["local-endpoints"]).map(canonicalHostPort);
      return etp05(input);
    },
  },
  {
    id: "MLB-02",
    what: "exactly one node answers ARP for an L2 VIP (the client's neighbour entry is one node's MAC)",
    needs: [{ kind: "neighbours", min: 1, max: 1, role: "the external client's neighbour table" }],
    params: [
      { name: "vip", required: true, help: "the service's VIP" },
      { name: "node-macs", required: true, help: "node=mac,… of each node's interface on the client's segment" },
      { name: "owner", required: false, help: "the node that must own the VIP" },
    ],
    run(ev, p) {
      const nodeMacs: Record<string, string> = {};
      for (const x of listParam(p["node-macs"])) {
        const m = /^([^=]+)=([0-9a-fA-F:]{17})$/.exec(x);
        if (!m) throw new CannotDecide(`--node-macs: ${JSON.stringify(x)} is not node=mac`);
        nodeMacs[m[1]!] = m[2]!.toLowerCase();
      }
      const input: Parameters<typeof mlb02>[0] = { vip: canonicalIp(p.vip!), neighbours: value<Neighbour[]>(ev.neighbours![0]!), nodeMacs };
      if (p.owner) input.expectedOwner = p.owner;
      return mlb02(input);
    },
  },
  {
    id: "BGP-01",
    what: "every router has its BGP sessions Established",
    needs: [{ kind: "bgp-summary", min: 1, max: 64, role: "one per router, each file named after its router" }],
    params: [{ name: "peers", required: true, help: "neighbour addresses every router must have Established, a,b,…" }],
    run(ev, p) {
      const summaries = Object.fromEntries(ev["bgp-summary"]!.map((e) => [nameOf(e), value<BgpSummary>(e)]));
      return bgp01({ summaries, peers: listParam(p.peers).map(canonicalIp) });
    },
  },
  {
    id: "BGP-03",
    what: "a BFD session per router and peer is up, with the expected timers",
    needs: [{ kind: "bfd", min: 1, max: 64, role: "one per router, each file named after its router" }],
    params: [
      { name: "peers", required: true, help: "BFD peer addresses every router must have up, a,b,…" },
      { name: "timers", required: false, help: "expected receive/transmit interval (ms) and detect multiplier, e.g. 300/300/3" },
    ],
    run(ev, p) {
      const input: Parameters<typeof bgp03>[0] = { bfd: Object.fromEntries(ev.bfd!.map((e) => [nameOf(e), value<BfdView[]>(e)])), peers: listParam(p.peers).map(canonicalIp) };
      if (p.timers !== undefined) {
        const m = /^(\d+)\/(\d+)\/(\d+)$/.exec(p.timers);
        if (!m) throw new CannotDecide(`--timers ${JSON.stringify(p.timers)}: expected rx/tx/multiplier, e.g. 300/300/3`);
        input.timers = { receiveIntervalMs: Number(m[1]), transmitIntervalMs: Number(m[2]), detectMultiplier: Number(m[3]) };
      }
      return bgp03(input);
    },
  },
  {
    id: "IPSEC-05",
    what: "IPsec tunnel up, CHILD SA counters rise both ways, the client's probes are answered",
    needs: [
      { kind: "swanctl", min: 2, max: 2, role: "two samples, before and after the probes, in that order" },
      { kind: "client-replies", min: 1, max: 1, role: "what the client sent and got back" },
      { kind: "conntrack", min: 0, max: 1, role: "conntrack of the endpoint for the probed flow (with --flow)" },
    ],
    params: [
      { name: "child", required: true, help: "the CHILD SA name" },
      { name: "flow", required: false, help: "proto:dst[:port] of the probed flow, to judge the conntrack file" },
    ],
    run(ev, p) {
      const [before, after] = ev.swanctl!;
      const input: Parameters<typeof ipsec05>[0] = { sas: { before: value<SwanctlSas>(before!), after: value<SwanctlSas>(after!), child: p.child! }, client: value<{ sent: number; received: number }>(ev["client-replies"]![0]!) };
      if (ev.conntrack?.length) {
        const f = /^(\w+):([^:]+|\[[^\]]+\])(?::(\d+))?$/.exec(p.flow ?? "");
        if (!f) throw new CannotDecide("IPSEC-05 with a conntrack file needs --flow proto:dst[:port]");
        input.conntrack = value<Conntrack>(ev.conntrack[0]!).entries;
        input.flow = { proto: f[1]!, dst: canonicalIp(f[2]!.replace(/^\[|\]$/g, "")), ...(f[3] ? { dport: Number(f[3]) } : {}) };
      }
      return ipsec05(input);
    },
  },
  {
    id: "KLVS-01",
    what: "the IPVS table on a node matches the ingress CRs and their endpoints",
    needs: [
      { kind: "ipvs", min: 1, max: 1, role: "the node's table" },
      { kind: "lvs-ingress", min: 1, max: 1, role: "the LvsIngress/EricIngress CRs" },
      { kind: "endpoints", min: 1, max: 1, role: "the backend services' endpoints" },
    ],
    params: [],
    run(ev) {
      return klvs01({ table: value<IpvsTable>(ev.ipvs![0]!), ingresses: value<KlvsIngress[]>(ev["lvs-ingress"]![0]!), endpoints: value<Endpoints[]>(ev.endpoints![0]!) });
    },
  },
  {
    id: "MIPAM-04",
    what: "Meridio IPAM keeps every allocation across a takeover",
    needs: [{ kind: "ipam-prefixes", min: 2, max: 2, role: "the prefixes table before and after, in that order" }],
    params: [],
    run(ev) {
      return mipam04({ before: value<IpamPrefix[]>(ev["ipam-prefixes"]![0]!), after: value<IpamPrefix[]>(ev["ipam-prefixes"]![1]!) });
    },
  },
  {
    id: "NVIPAM-04",
    what: "a static IP outside every pool is refused with a clear event",
    needs: [
      { kind: "ip-pools", min: 1, max: 1, role: "the IPPools" },
      { kind: "describe-events", min: 1, max: 1, role: "kubectl describe pod of the pod asking for the IP" },
    ],
    params: [
      { name: "pod", required: true, help: "the pod's name" },
      { name: "ip", required: true, help: "the static IP it asks for" },
    ],
    run(ev, p) {
      if (!isIpAddress(p.ip!)) throw new CannotDecide(`--ip ${JSON.stringify(p.ip)} is not an IP address`);
      const events = value<KubeEvent[]>(ev["describe-events"]![0]!).map((e) => ({ ...e, object: { kind: "pod", name: p.pod! } }));
      return nvipam04({ pools: value<IPPool[]>(ev["ip-pools"]![0]!), pod: p.pod!, ip: p.ip!, events });
    },
  },
];

export interface JudgeResult {
  code: 0 | 1 | 2;
  out: string;
}

/** Parse "--name value" / "--name=value" options; the rest are files. */
export function splitArgs(argv: string[]): { id: string | undefined; files: string[]; params: Record<string, string> } {
  const params: Record<string, string> = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const m = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/.exec(a);
    if (m) {
      if (m[2] !== undefined) params[m[1]!] = m[2];
      else if (i + 1 < argv.length) params[m[1]!] = argv[++i]!;
      else throw new CannotDecide(`--${m[1]} needs a value`);
    } else rest.push(a);
  }
  return { id: rest[0], files: rest.slice(1), params };
}

export function usage(): string {
  const ids = JUDGES.map((j) => `  ${j.id.padEnd(9)} ${j.what}\n${j.needs.map((n) => `            file: ${KINDS[n.kind]}${n.min === 0 ? " (optional)" : n.max > 1 ? ` ×${n.min === n.max ? n.min : `${n.min}+`}` : ""}: ${n.role}`).join("\n")}${j.params.map((x) => `\n            --${x.name}: ${x.help}${x.required === true ? " (required)" : ""}`).join("")}`).join("\n");
  return `usage: npm run judge -- <ID> <file>… [--param value]…\n\nJudges one behaviour on evidence saved from a cluster. Exit 0 pass, 1 fail, 2 cannot decide.\n\n${ids}\n`;
}

/** Judge saved evidence. `files` maps a path to its content. Never throws: problems are exit 2. */
export function judge(id: string | undefined, files: { path: string; text: string }[], params: Record<string, string>): JudgeResult {
  try {
    if (!id) throw new CannotDecide(`no behaviour id given\n\n${usage()}`);
    const j = JUDGES.find((x) => x.id === id.toUpperCase());
    if (!j) throw new CannotDecide(`unknown or unsupported behaviour id ${JSON.stringify(id)}: the judge supports ${JUDGES.map((x) => x.id).join(", ")}`);
    if (files.length === 0) throw new CannotDecide(`${j.id} needs evidence files: ${j.needs.filter((n) => n.min > 0).map((n) => `${KINDS[n.kind]} (${n.role})`).join("; ")}`);
    const ev: Record<string, Evidence[]> = {};
    for (const f of files) {
      const e = readEvidence(f.path, f.text);
      (ev[e.kind] ??= []).push(e);
    }
    const problems: string[] = [];
    for (const n of j.needs) {
      const got = ev[n.kind]?.length ?? 0;
      if (got < n.min) problems.push(`missing evidence: ${n.min === 1 ? "a file" : `${n.min} files (got ${got})`} of ${KINDS[n.kind]}: ${n.role}`);
      if (got > n.max) problems.push(`${got} files of ${KINDS[n.kind]}, at most ${n.max} (${n.role})`);
    }
    for (const [k, es] of Object.entries(ev)) {
      if (!j.needs.some((n) => n.kind === k)) problems.push(`${es.map((e) => e.file).join(", ")}: ${KINDS[k as EvidenceKind]} is not evidence ${j.id} uses`);
    }
    for (const x of j.params) {
      const req = typeof x.required === "function" ? x.required(params) : x.required;
      if (req && params[x.name] === undefined) problems.push(`missing --${x.name}: ${x.help}`);
    }
    for (const k of Object.keys(params)) if (!j.params.some((x) => x.name === k)) problems.push(`unknown option --${k} for ${j.id}${j.params.length ? ` (options: ${j.params.map((x) => `--${x.name}`).join(", ")})` : ""}`);
    if (problems.length) throw new CannotDecide(`${j.id} cannot decide:\n${problems.map((x) => `  - ${x}`).join("\n")}`);
    const all = Object.values(ev).flat();
    const v = withParseNotes(j.run(ev, params), all.map((e) => tolerantNote(e.file, e.parsed)));
    const lines = [formatVerdict(v)];
    const warnings = all.flatMap((e) => e.parsed.warnings.map((w) => `  ${e.file} line ${w.line}: ${JSON.stringify(w.text.slice(0, 100))}: ${w.reason}`));
    if (warnings.length) lines.push(`warnings (lines skipped or read by a guess):\n${warnings.join("\n")}`);
    lines.push(`evidence: ${all.map((e) => `${e.file} (${KINDS[e.kind]}${e.parsed.tolerant ? ", read tolerantly" : ""})`).join("; ")}`);
    return { code: v.ok ? 0 : 1, out: `${lines.join("\n")}\n` };
  } catch (e) {
    if (e instanceof CannotDecide || e instanceof EvidenceError) return { code: 2, out: `cannot decide: ${e.message}\n` };
    // anything else is a bug in netconform, not in the evidence: say so, still without a stack trace
    return { code: 2, out: `cannot decide: internal error in netconform (please report): ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}\n` };
  }
}
