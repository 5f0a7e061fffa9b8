/**
 * `ipvsadm -Ln` (virtual services, scheduler, flags, real servers with forward method, weight and
 * connection counters) and `ipvsadm -Ln --stats` (Conns, InPkts, OutPkts, InBytes, OutBytes; large
 * numbers carry K/M/G/T suffixes in steps of 1000).
 *
 *   IP Virtual Server version 1.2.1 (size=4096)
 *   Prot LocalAddress:Port Scheduler Flags
 *     -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
 *   TCP  10.232.35.199:1389 lc persistent 300
 *     -> 192.168.67.114:1389          Masq    1      0          0
 *   FWM  7 IPv6 sh
 *
 * The kernel's own /proc/net/ip_vs (what a node without ipvsadm can read) has the same three
 * header lines but prints addresses and ports in hex (net/netfilter/ipvs/ip_vs_ctl.c,
 * ip_vs_info_seq_show): `TCP  0A600001:0050 rr ` (%08X:%04X), IPv6 as `[%pI6]:%04X` (eight
 * zero-padded groups), firewall marks as %08X, and persistence as `persistent <secs> <%08X netmask>`.
 * parseIpvsadm() reads both; the table says which it was (`source`). Port 0050 there is 80.
 * Every address is returned canonical (RFC 5952).
 */
import { ParseError } from "../parse-error.ts";
import { canonicalIp, ELISION, formatIp, hostPort, isIpAddress, lineStep, nothingUsable, splitHostPort, warn, type ParseOptions } from "./common.ts";
import { splitLines } from "./tokens.ts";

export type IpvsProtocol = "TCP" | "UDP" | "SCTP" | "FWM";
export type IpvsForward = "Masq" | "Route" | "Tunnel" | "Local";

interface ServiceId {
  protocol: IpvsProtocol;
  /** virtual address; absent for FWM services */
  address?: string;
  port?: number;
  /** firewall mark of an FWM service */
  fwmark?: number;
  family: 4 | 6;
  /** "TCP 10.0.0.1:80", "UDP [2001:db8::1]:53", "FWM 7", "FWM 7 IPv6": unique in a table */
  key: string;
}

export interface IpvsRealServer {
  address: string;
  port: number;
  /** "ip:port", brackets for IPv6 */
  key: string;
  forward: IpvsForward;
  weight: number;
  activeConn: number;
  inActConn: number;
}

export interface IpvsService extends ServiceId {
  scheduler: string;
  /** persistence timeout in seconds when the service is persistent */
  persistent?: number;
  /** persistence netmask when not the default */
  mask?: string;
  /** one-packet scheduling */
  ops: boolean;
  /** persistence engine */
  pe?: string;
  /** scheduler flags printed in parentheses, e.g. ["sh-fallback", "sh-port"] */
  schedFlags: string[];
  realServers: IpvsRealServer[];
}

export interface IpvsTable {
  /** "ipvsadm" for ipvsadm -Ln, "proc" for /proc/net/ip_vs */
  source: "ipvsadm" | "proc";
  version: string;
  size: number;
  services: IpvsService[];
}

export interface IpvsCounters {
  conns: number;
  inPkts: number;
  outPkts: number;
  inBytes: number;
  outBytes: number;
}

export interface IpvsStatsService extends ServiceId {
  stats: IpvsCounters;
  realServers: { address: string; port: number; key: string; stats: IpvsCounters }[];
}

export interface IpvsStatsTable {
  version: string;
  size: number;
  services: IpvsStatsService[];
}

const P = "ipvsadm";
const PROTOS = new Set(["TCP", "UDP", "SCTP", "FWM"]);
const FORWARDS = new Set(["Masq", "Route", "Tunnel", "Local"]);
/** the schedulers of the kernel's ip_vs_*.c modules */
const SCHED = /^(rr|wrr|lc|wlc|lblc|lblcr|dh|sh|sed|nq|fo|ovf|mh|twos)$/;
const UINT = /^\d{1,10}$/;

interface Header {
  version: string;
  size: number;
  mode: "list" | "stats";
  /** index of the first body line */
  start: number;
}

function header(all: string[], want: "list" | "stats", opts?: ParseOptions): Header {
  const h1 = /^IP Virtual Server version (\d+\.\d+\.\d+) \(size=(\d+)\)$/.exec(all[0]?.trim() ?? "");
  if (!h1) {
    // tolerant: a listing pasted without its header lines is read as the mode asked for
    if (opts?.tolerant) {
      let start = 0;
      const norm = (l: string | undefined) => (l ?? "").trim().split(/\s+/).join(" ");
      while (start < all.length && /^(Prot LocalAddress:Port|-> RemoteAddress:Port)/.test(norm(all[start]))) start++;
      warn(opts, 1, all[0] ?? "", 'no "IP Virtual Server version x.y.z (size=n)" header: version and table size unknown');
      return { version: "unknown", size: 0, mode: want, start };
    }
    throw new ParseError(P, 1, all[0] ?? "", 'expected "IP Virtual Server version x.y.z (size=n)"');
  }
  const h2 = (all[1] ?? "").trim().split(/\s+/).join(" ");
  const h3 = (all[2] ?? "").trim().split(/\s+/).join(" ");
  if (h2 === "Prot LocalAddress:Port Scheduler Flags") {
    if (h3 !== "-> RemoteAddress:Port Forward Weight ActiveConn InActConn") throw new ParseError(P, 3, all[2] ?? "", "expected the real-server header of -Ln");
    return { version: h1[1]!, size: Number(h1[2]), mode: "list", start: 3 };
  }
  if (h2 === "Prot LocalAddress:Port Conns InPkts OutPkts InBytes OutBytes") {
    if (h3 !== "-> RemoteAddress:Port") throw new ParseError(P, 3, all[2] ?? "", "expected the real-server header of --stats");
    return { version: h1[1]!, size: Number(h1[2]), mode: "stats", start: 3 };
  }
  throw new ParseError(P, 2, all[1] ?? "", "expected the column header of -Ln or -Ln --stats");
}

const PROC_V4 = /^([0-9A-F]{8}):([0-9A-F]{4})$/;
const PROC_V6 = /^\[((?:[0-9a-f]{4}:){7}[0-9a-f]{4})\]:([0-9A-F]{4})$/;

/**
 * Is this /proc/net/ip_vs rather than ipvsadm -Ln? The kernel prints IPv4 as %08X:%04X, IPv6
 * uncompressed with a %04X port and marks as %08X; ipvsadm never prints any of those.
 */
function isProcFormat(all: string[], start: number): boolean {
  for (const raw of all.slice(start)) {
    const t = raw.trim().split(/\s+/);
    const addr = t[0] === "->" ? t[1] : t[1];
    if (addr === undefined) continue;
    if (PROC_V4.test(addr) || PROC_V6.test(addr)) return true;
    if (t[0] === "FWM" && /^[0-9A-F]{8}$/.test(addr) && (/^0/.test(addr) || /[A-F]/.test(addr))) return true;
  }
  return false;
}

/** an address:port token of either format → canonical address and decimal port */
function addressPort(tok: string | undefined, proc: boolean): { address: string; port: number } | undefined {
  if (tok === undefined) return undefined;
  if (proc) {
    const v4 = PROC_V4.exec(tok);
    if (v4) return { address: formatIp({ family: 4, value: BigInt(parseInt(v4[1]!, 16)) }), port: parseInt(v4[2]!, 16) };
    const v6 = PROC_V6.exec(tok);
    if (v6 && isIpAddress(v6[1]!)) return { address: canonicalIp(v6[1]!), port: parseInt(v6[2]!, 16) };
    return undefined;
  }
  const hp = splitHostPort(tok);
  return hp ? { address: canonicalIp(hp.address), port: hp.port } : undefined;
}

/** protocol + address tokens of a service line → its identity; `rest` is what follows */
function serviceId(tokens: string[], n: number, raw: string, proc = false): { id: ServiceId; rest: string[] } {
  const [proto, addr, ...rest] = tokens;
  if (!proto || !PROTOS.has(proto) || addr === undefined) throw new ParseError(P, n, raw, "not a virtual service line");
  const protocol = proto as IpvsProtocol;
  if (protocol === "FWM") {
    const mark = proc ? (/^[0-9A-F]{8}$/.test(addr) ? parseInt(addr, 16) : NaN) : UINT.test(addr) ? Number(addr) : NaN;
    if (Number.isNaN(mark) || mark > 0xffffffff) throw new ParseError(P, n, raw, `firewall mark "${addr}" is not a ${proc ? "%08X hex " : ""}number`);
    const v6 = rest[0] === "IPv6";
    if (v6) rest.shift();
    return { id: { protocol, fwmark: mark, family: v6 ? 6 : 4, key: `FWM ${mark}${v6 ? " IPv6" : ""}` }, rest };
  }
  const hp = addressPort(addr, proc);
  if (!hp) throw new ParseError(P, n, raw, `"${addr}" is not ${proc ? "a /proc/net/ip_vs hex address:port" : "address:port"}`);
  const key = hostPort(hp.address, hp.port);
  return { id: { protocol, address: hp.address, port: hp.port, family: hp.address.includes(":") ? 6 : 4, key: `${protocol} ${key}` }, rest };
}

function realServerAddress(tok: string | undefined, n: number, raw: string, proc = false): { address: string; port: number; key: string } {
  const hp = addressPort(tok, proc);
  if (!hp) throw new ParseError(P, n, raw, `real server "${tok}" is not ${proc ? "a /proc/net/ip_vs hex address:port" : "address:port"}`);
  return { ...hp, key: hostPort(hp.address, hp.port) };
}

function uint(tok: string | undefined, what: string, n: number, raw: string): number {
  if (tok === undefined || !UINT.test(tok)) throw new ParseError(P, n, raw, `${what} "${tok ?? ""}" is not a count`);
  return Number(tok);
}

/** a --stats figure: digits, or digits with K/M/G/T (×1000 steps) */
function largeNum(tok: string | undefined, what: string, n: number, raw: string): number {
  const m = tok === undefined ? null : /^(\d{1,20})([KMGT])?$/.exec(tok);
  if (!m) throw new ParseError(P, n, raw, `${what} "${tok ?? ""}" is not a count`);
  const scale = { K: 1e3, M: 1e6, G: 1e9, T: 1e12 }[m[2] as "K"] ?? 1;
  return Number(m[1]) * scale;
}

function flags(rest: string[], svc: IpvsService, n: number, raw: string, proc = false): void {
  for (let i = 0; i < rest.length; i++) {
    const t = rest[i]!;
    if (t === "ops" && !svc.ops) svc.ops = true;
    else if (t === "persistent" && svc.persistent === undefined) {
      svc.persistent = uint(rest[++i], "persistence timeout", n, raw);
      if (proc) {
        // the kernel always prints the netmask, as %08X
        const m = rest[++i];
        if (!m || !/^[0-9A-F]{8}$/.test(m)) throw new ParseError(P, n, raw, `persistence netmask "${m ?? ""}" is not %08X hex`);
        const v = parseInt(m, 16);
        if (svc.family === 4 && v !== 0xffffffff) svc.mask = formatIp({ family: 4, value: BigInt(v) });
        else if (svc.family === 6 && v !== 128) svc.mask = String(v);
      }
    }
    else if (t === "mask" && svc.persistent !== undefined && svc.mask === undefined) {
      const m = rest[++i];
      if (!m || !/^(\d{1,3}(\.\d{1,3}){3}|\d{1,3})$/.test(m)) throw new ParseError(P, n, raw, `persistence mask "${m ?? ""}" unreadable`);
      svc.mask = m;
    } else if (t === "pe" && svc.pe === undefined) {
      const pe = rest[++i];
      if (!pe || !/^[a-z][a-z0-9]*$/.test(pe)) throw new ParseError(P, n, raw, `persistence engine "${pe ?? ""}" unreadable`);
      svc.pe = pe;
    } else if (/^\([a-z0-9-]+(,[a-z0-9-]+)*\)$/.test(t) && svc.schedFlags.length === 0) svc.schedFlags = t.slice(1, -1).split(",");
    else throw new ParseError(P, n, raw, `unknown service flag "${t}"`);
  }
}

function uniqueKey(seen: Set<string>, key: string, n: number, raw: string): void {
  if (seen.has(key)) throw new ParseError(P, n, raw, `${key} listed twice`);
  seen.add(key);
}

/** `ipvsadm -Ln`, or /proc/net/ip_vs (same layout, hex addresses and ports) */
export function parseIpvsadm(text: string, opts?: ParseOptions): IpvsTable {
  const all = splitLines(text).map((l) => l.text);
  const h = header(all, "list", opts);
  if (h.mode !== "list") throw new ParseError(P, 2, all[1]!, "this is --stats output; use parseIpvsadmStats");
  const proc = isProcFormat(all, h.start);
  const services: IpvsService[] = [];
  const seen = new Set<string>();
  let rsSeen = new Set<string>();
  let current: IpvsService | undefined;
  for (let i = h.start; i < all.length; i++) {
    const n = i + 1;
    const raw = all[i]!;
    lineStep(opts, { no: n, text: raw }, () => {
      if (opts?.tolerant && (raw.trim() === "" || ELISION.test(raw))) throw new ParseError(P, n, raw, "blank line, elision or comment in a pasted excerpt");
      if (raw.trim() === "") throw new ParseError(P, n, raw, "blank line inside the table");
      const tokens = raw.trim().split(/\s+/);
      if (/^\s+->/.test(raw) || (opts?.tolerant && tokens[0] === "->")) {
        const svc = current;
        if (!svc) throw new ParseError(P, n, raw, "real server before any virtual service");
        if (tokens[0] !== "->" || tokens.length !== 6) throw new ParseError(P, n, raw, "real server line needs address, Forward, Weight, ActiveConn, InActConn");
        const a = realServerAddress(tokens[1], n, raw, proc);
        if (!FORWARDS.has(tokens[2]!)) throw new ParseError(P, n, raw, `forward method "${tokens[2]}" unknown`);
        uniqueKey(rsSeen, a.key, n, raw);
        svc.realServers.push({
          ...a,
          forward: tokens[2] as IpvsForward,
          weight: uint(tokens[3], "weight", n, raw),
          activeConn: uint(tokens[4], "ActiveConn", n, raw),
          inActConn: uint(tokens[5], "InActConn", n, raw),
        });
        return;
      }
      // a service line that fails leaves `current` unset, so its real servers are not misfiled
      current = undefined;
      if (/^\s/.test(raw) && !opts?.tolerant) throw new ParseError(P, n, raw, "indented line that is not a real server");
      const { id, rest } = serviceId(tokens, n, raw, proc);
      const sched = rest.shift();
      if (!sched || !SCHED.test(sched)) throw new ParseError(P, n, raw, `scheduler "${sched ?? ""}" unreadable`);
      const svc: IpvsService = { ...id, scheduler: sched, ops: false, schedFlags: [], realServers: [] };
      flags(rest, svc, n, raw, proc);
      uniqueKey(seen, svc.key, n, raw);
      rsSeen = new Set();
      services.push(svc);
      current = svc;
    });
  }
  if (opts?.tolerant && services.length === 0 && (opts.warnings?.length ?? 0) > 0) throw nothingUsable(P, opts, "virtual service");
  return { source: proc ? "proc" : "ipvsadm", version: h.version, size: h.size, services };
}

/** `ipvsadm -Ln --stats` */
export function parseIpvsadmStats(text: string, opts?: ParseOptions): IpvsStatsTable {
  const all = splitLines(text).map((l) => l.text);
  const h = header(all, "stats", opts);
  if (h.mode !== "stats") throw new ParseError(P, 2, all[1]!, "this is -Ln output without --stats; use parseIpvsadm");
  const services: IpvsStatsService[] = [];
  const seen = new Set<string>();
  let rsSeen = new Set<string>();
  const counters = (toks: string[], n: number, raw: string): IpvsCounters => {
    if (toks.length !== 5) throw new ParseError(P, n, raw, "expected Conns InPkts OutPkts InBytes OutBytes");
    return {
      conns: largeNum(toks[0], "Conns", n, raw),
      inPkts: largeNum(toks[1], "InPkts", n, raw),
      outPkts: largeNum(toks[2], "OutPkts", n, raw),
      inBytes: largeNum(toks[3], "InBytes", n, raw),
      outBytes: largeNum(toks[4], "OutBytes", n, raw),
    };
  };
  let current: IpvsStatsService | undefined;
  for (let i = h.start; i < all.length; i++) {
    const n = i + 1;
    const raw = all[i]!;
    lineStep(opts, { no: n, text: raw }, () => {
      if (opts?.tolerant && (raw.trim() === "" || ELISION.test(raw))) throw new ParseError(P, n, raw, "blank line, elision or comment in a pasted excerpt");
      if (raw.trim() === "") throw new ParseError(P, n, raw, "blank line inside the table");
      const tokens = raw.trim().split(/\s+/);
      if (/^\s+->/.test(raw) || (opts?.tolerant && tokens[0] === "->")) {
        const svc = current;
        if (!svc) throw new ParseError(P, n, raw, "real server before any virtual service");
        if (tokens[0] !== "->") throw new ParseError(P, n, raw, "not a real server line");
        const a = realServerAddress(tokens[1], n, raw);
        uniqueKey(rsSeen, a.key, n, raw);
        svc.realServers.push({ ...a, stats: counters(tokens.slice(2), n, raw) });
        return;
      }
      current = undefined;
      if (/^\s/.test(raw) && !opts?.tolerant) throw new ParseError(P, n, raw, "indented line that is not a real server");
      const { id, rest } = serviceId(tokens, n, raw);
      uniqueKey(seen, id.key, n, raw);
      rsSeen = new Set();
      current = { ...id, stats: counters(rest, n, raw), realServers: [] };
      services.push(current);
    });
  }
  if (opts?.tolerant && services.length === 0 && (opts.warnings?.length ?? 0) > 0) throw nothingUsable(P, opts, "virtual service");
  return { version: h.version, size: h.size, services };
}

// ---------------------------------------------------------------------------------------------
// The connection table: `ipvsadm -Lcn` and the kernel's /proc/net/ip_vs_conn.
//
//   IPVS connection entries
//   pro expire state       source             virtual            destination
//   TCP 14:59  ESTABLISHED 10.244.1.5:51234   10.96.0.1:443      172.18.0.3:6443
//
//   Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
//   TCP 0AF40105 C862 0A600001 01BB AC120003 192B ESTABLISHED     899
//
// (ip_vs_conn_seq_show in net/netfilter/ipvs/ip_vs_conn.c: %08X addresses, %04X ports, IPv6 as
// %pI6, expiry in seconds; older kernels print no PEName/PEData columns.)

export interface IpvsConnection {
  line: number;
  protocol: string;
  /** seconds until the entry expires */
  expireSecs: number;
  state: string;
  source: { address: string; port: number };
  virtual: { address: string; port: number };
  destination: { address: string; port: number };
  /** persistence engine name and data, when printed */
  pe?: string;
  peData?: string;
}

export interface IpvsConnections {
  source: "ipvsadm" | "proc";
  connections: IpvsConnection[];
}

const CONN_STATE = /^[A-Z][A-Z0-9_]*$/;

function procAddr(tok: string | undefined, port: string | undefined): { address: string; port: number } | undefined {
  if (tok === undefined || port === undefined || !/^[0-9A-F]{4}$/.test(port)) return undefined;
  if (/^[0-9A-F]{8}$/.test(tok)) return { address: formatIp({ family: 4, value: BigInt(parseInt(tok, 16)) }), port: parseInt(port, 16) };
  const v6 = tok.replace(/^\[|\]$/g, "");
  if (/^([0-9a-f]{4}:){7}[0-9a-f]{4}$/.test(v6) && isIpAddress(v6)) return { address: canonicalIp(v6), port: parseInt(port, 16) };
  return undefined;
}

export function parseIpvsConnections(text: string, opts?: ParseOptions): IpvsConnections {
  const PC = "ipvsadm-connections";
  const all = splitLines(text).filter((l) => l.text.trim() !== "");
  let i = 0;
  let source: "ipvsadm" | "proc";
  const norm = (l: string | undefined) => (l ?? "").trim().split(/\s+/).join(" ");
  if (norm(all[0]?.text) === "IPVS connection entries") {
    i = 1;
    if (norm(all[1]?.text) !== "pro expire state source virtual destination" && norm(all[1]?.text) !== "pro expire state source virtual destination pe name pe_data") {
      throw new ParseError(PC, all[1]?.no, all[1]?.text ?? "", 'expected the header "pro expire state source virtual destination"');
    }
    i = 2;
    source = "ipvsadm";
  } else if (/^Pro FromIP FPrt ToIP TPrt DestIP DPrt State Expires( PEName PEData)?$/.test(norm(all[0]?.text))) {
    i = 1;
    source = "proc";
  } else if (opts?.tolerant) {
    warn(opts, all[0]?.no ?? 1, all[0]?.text ?? "", "no header: read as ipvsadm -Lcn rows");
    source = /^\S+ [0-9A-F]{8} [0-9A-F]{4} /.test(norm(all[0]?.text)) ? "proc" : "ipvsadm";
  } else throw new ParseError(PC, all[0]?.no ?? 1, all[0]?.text ?? "", 'expected "IPVS connection entries" (ipvsadm -Lcn) or the /proc/net/ip_vs_conn header');
  const connections: IpvsConnection[] = [];
  for (const l of all.slice(i)) {
    lineStep(opts, l, () => {
      if (opts?.tolerant && ELISION.test(l.text)) throw new ParseError(PC, l.no, l.text, "elision or comment in a pasted excerpt");
      const t = l.text.trim().split(/\s+/);
      const fail = (d: string): never => {
        throw new ParseError(PC, l.no, l.text, d);
      };
      if (!/^(TCP|UDP|SCTP|IP|ICMP|ICMPv6)$/i.test(t[0] ?? "")) fail(`protocol "${t[0] ?? ""}" unknown`);
      if (source === "ipvsadm") {
        const exp = /^(\d+):(\d\d)$/.exec(t[1] ?? "");
        if (!exp) fail(`expire "${t[1] ?? ""}" is not mm:ss`);
        if (!CONN_STATE.test(t[2] ?? "")) fail(`state "${t[2] ?? ""}" unreadable`);
        const [s, v, d] = [t[3], t[4], t[5]].map((x) => (x === undefined ? undefined : splitHostPort(x)));
        if (!s || !v || !d) fail("source, virtual and destination must be address:port");
        if (t.length !== 6 && t.length !== 8) fail("expected pro expire state source virtual destination [pe name pe_data]");
        const c: IpvsConnection = { line: l.no, protocol: t[0]!.toUpperCase(), expireSecs: Number(exp![1]) * 60 + Number(exp![2]), state: t[2]!, source: { address: canonicalIp(s!.address), port: s!.port }, virtual: { address: canonicalIp(v!.address), port: v!.port }, destination: { address: canonicalIp(d!.address), port: d!.port } };
        if (t.length === 8) [c.pe, c.peData] = [t[6]!, t[7]!];
        connections.push(c);
        return;
      }
      const [s, v, d] = [procAddr(t[1], t[2]), procAddr(t[3], t[4]), procAddr(t[5], t[6])];
      if (!s || !v || !d) fail("FromIP/ToIP/DestIP must be %08X (or %pI6) with %04X ports");
      if (!CONN_STATE.test(t[7] ?? "")) fail(`state "${t[7] ?? ""}" unreadable`);
      if (!/^\d+$/.test(t[8] ?? "")) fail(`Expires "${t[8] ?? ""}" is not seconds`);
      if (t.length !== 9 && t.length !== 11) fail("expected Pro FromIP FPrt ToIP TPrt DestIP DPrt State Expires [PEName PEData]");
      const c: IpvsConnection = { line: l.no, protocol: t[0]!.toUpperCase(), expireSecs: Number(t[8]), state: t[7]!, source: s!, virtual: v!, destination: d! };
      if (t.length === 11) [c.pe, c.peData] = [t[9]!, t[10]!];
      connections.push(c);
    });
  }
  if (opts?.tolerant && connections.length === 0 && (opts.warnings?.length ?? 0) > 0) throw nothingUsable(PC, opts, "connection");
  return { source, connections };
}
