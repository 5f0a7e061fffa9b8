/**
 * tcpdump text output (`tcpdump -n`, `-e`, `-v`, `-i any`) for ARP and IP packets, as in seed 001
 * L727-728, L1064-1075 and L4012-4013, L4062-4067:
 *
 *   09:49:45.535241 IP 10.42.1.1.27659 > 10.42.1.21.8080: Flags [S], seq 568611649, win 64240, options […], length 0
 *   04:16:58.115088 52:54:00:41:4c:72 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Ethernet (len 6), IPv4 (len 4), Request who-has 10.123.123.100 tell 10.123.123.4, length 28
 *   04:16:58.115241 52:54:00:b2:5b:52 > 52:54:00:41:4c:72, ethertype ARP (0x0806), length 60: Ethernet (len 6), IPv4 (len 4), Reply 10.123.123.100 is-at 52:54:00:b2:5b:52, length 46
 *   05:59:14.860278 52:54:00:e4:50:da > 52:54:00:c0:87:a0, ethertype IPv4 (0x0800), length 98: (tos 0x0, ttl 64, id 32968, offset 0, flags [DF], proto ICMP (1), length 84)
 *       10.123.123.254 > 10.123.123.1: ICMP echo request, id 240, seq 1, length 64
 *   12:00:00.000001 ARP, Request who-has 10.1.1.1 tell 10.1.1.2, length 28
 *   12:00:00.000001 eth0  In  IP 10.1.1.2.5000 > 10.1.1.1.80: …        (-i any)
 *
 * tcpdump's own notes ("listening on …", "verbose output suppressed …", "N packets captured") are
 * recognised and kept apart; a "^C" line (the terminal's echo of the interrupt) is skipped. Any other line is a ParseError; so is an IP line without its trailing
 * `length N` (a cut line) and a -v header without its continuation line.
 */
import { ParseError } from "../parse-error.ts";
import { isIpAddress, lineStep, nothingUsable, type ParseOptions } from "./common.ts";
import { splitLines, type Line } from "./tokens.ts";

const P = "tcpdump";

export interface TcpdumpPacket {
  line: number;
  /** "HH:MM:SS.ffffff" as printed */
  time: string;
  /** seconds since midnight, for ordering and gaps */
  seconds: number;
  /** -i any: interface and direction */
  interface?: string;
  direction?: "In" | "Out" | "B" | "M" | "P";
  /** -e: link-layer addresses */
  srcMac?: string;
  dstMac?: string;
  kind: "arp-request" | "arp-reply" | "ip";
  /** arp-request: who-has `target` tell `sender`; arp-reply: `target` is-at `mac` */
  arp?: { target: string; sender?: string; mac?: string };
  ip?: {
    src: string;
    dst: string;
    sport?: number;
    dport?: number;
    proto: "tcp" | "udp" | "icmp" | "sctp" | "other";
    /** -v: ttl from the IP header */
    ttl?: number;
    /** TCP flags ("S", "S.", ".", "P.", "F.", "R"…) */
    tcpFlags?: string;
    /** the protocol summary after "src > dst: " */
    info: string;
  };
}

export interface Tcpdump {
  packets: TcpdumpPacket[];
  /** tcpdump's "listening on …" / "verbose output suppressed" notes */
  notes: string[];
  /** the statistics printed at exit, when present */
  stats?: { captured?: number; received?: number; dropped?: number };
}

const MAC = "[0-9a-f]{2}(?::[0-9a-f]{2}){5}";
const TIME = /^(\d\d):(\d\d):(\d\d)\.(\d{6})\s+(.*)$/;
const ANY = /^(\S+)\s+(In|Out|B|M|P)\s+(.*)$/;
const ETHER = new RegExp(`^(${MAC}) > (${MAC}|Broadcast), ethertype (ARP|IPv4|IPv6) \\(0x[0-9a-f]{4}\\), length (\\d+): (.*)$`);
const ARP_REQ = new RegExp(`^Request who-has (\\S+)(?: \\((${MAC})\\))? tell (\\S+), length (\\d+)$`);
const ARP_REP = new RegExp(`^Reply (\\S+) is-at (${MAC}), length (\\d+)$`);
const V_HDR = /^\(tos 0x[0-9a-f]+, ttl (\d+), id \d+, offset \d+, flags \[[^\]]*\], proto (\w+) \(\d+\), length \d+(?:, options \([^)]*\))?\)$/;
/** "a.b.c.d[.port] > e.f.g.h[.port]: info" */
const IPV4_FLOW = /^(\d+\.\d+\.\d+\.\d+)(?:\.(\d+))? > (\d+\.\d+\.\d+\.\d+)(?:\.(\d+))?: (.*)$/;
const IPV6_FLOW = /^([0-9a-f:]+?)(?:\.(\d+))? > ([0-9a-f:]+?)(?:\.(\d+))?: (.*)$/;
const ENDS_WITH_LENGTH = /\blength \d+(?:: .*)?$|\blength \d+ \(.*\)$/;

function ipFlow(line: Line, text: string, fam: "4" | "6", ttl?: number): NonNullable<TcpdumpPacket["ip"]> {
  const fail = (d: string): never => {
    throw new ParseError(P, line.no, line.text, d);
  };
  const m = (fam === "4" ? IPV4_FLOW : IPV6_FLOW).exec(text);
  if (!m) return fail("expected 'src > dst: …'");
  const [, src, sp, dst, dp, info] = m;
  if (!isIpAddress(src!) || !isIpAddress(dst!)) fail("bad address");
  if (!ENDS_WITH_LENGTH.test(info!)) fail("packet summary without its trailing length (truncated line?)");
  const port = (s: string | undefined): number | undefined => {
    if (s === undefined) return undefined;
    const n = Number(s);
    if (n > 65535) fail(`port ${s} out of range`);
    return n;
  };
  let proto: NonNullable<TcpdumpPacket["ip"]>["proto"] = "other";
  let tcpFlags: string | undefined;
  const f = /^Flags \[([^\]]*)\]/.exec(info!);
  if (f) {
    proto = "tcp";
    tcpFlags = f[1]!;
  } else if (/^(UDP|\w+(\.\w+)*: |\[udp sum ok\])/.test(info!) && sp !== undefined) proto = "udp";
  else if (/^ICMP6?\b/.test(info!)) proto = "icmp";
  else if (/^sctp\b/.test(info!)) proto = "sctp";
  if ((proto === "tcp" || proto === "udp" || proto === "sctp") && (sp === undefined || dp === undefined)) fail(`${proto} packet without ports`);
  if (proto === "icmp" && (sp !== undefined || dp !== undefined)) fail("icmp packet with ports");
  const out: NonNullable<TcpdumpPacket["ip"]> = { src: src!, dst: dst!, proto, info: info! };
  const s = port(sp), d = port(dp);
  if (s !== undefined) out.sport = s;
  if (d !== undefined) out.dport = d;
  if (tcpFlags !== undefined) out.tcpFlags = tcpFlags;
  if (ttl !== undefined) out.ttl = ttl;
  return out;
}

function arp(line: Line, text: string, p: TcpdumpPacket): void {
  const req = ARP_REQ.exec(text);
  const rep = ARP_REP.exec(text);
  if (req) {
    if (!isIpAddress(req[1]!) || !isIpAddress(req[3]!)) throw new ParseError(P, line.no, line.text, "bad ARP address");
    p.kind = "arp-request";
    p.arp = { target: req[1]!, sender: req[3]! };
    if (req[2]) p.arp.mac = req[2];
  } else if (rep) {
    if (!isIpAddress(rep[1]!)) throw new ParseError(P, line.no, line.text, "bad ARP address");
    p.kind = "arp-reply";
    p.arp = { target: rep[1]!, mac: rep[2]! };
  } else throw new ParseError(P, line.no, line.text, "unrecognised ARP packet (truncated line?)");
}

export function parseTcpdump(text: string, opts?: ParseOptions): Tcpdump {
  const out: Tcpdump = { packets: [], notes: [] };
  const ls = splitLines(text);
  for (let i = 0; i < ls.length; i++) {
    const line = ls[i]!;
    const t = line.text;
    // blank lines, and the terminal's echo of the Ctrl-C that stopped the capture (seed 001 L821)
    if (t.trim() === "" || t.trim() === "^C") continue;
    lineStep(opts, line, () => {
    // tcpdump 4.99 prints "listening on …" without its "tcpdump: " prefix (seed 001 L1066)
    if (/^(tcpdump: )?listening on \S+, link-type \S+ \([^)]*\), snapshot length \d+ bytes$/.test(t) || /^tcpdump: (verbose output suppressed, use -v\[v\]\.\.\. for full protocol decode|data link type \S+)$/.test(t)) {
      if (out.stats) throw new ParseError(P, line.no, t, "note after the statistics");
      out.notes.push(t);
      return;
    }
    const st = /^(\d+) packets? (captured|received by filter|dropped by kernel)$/.exec(t);
    if (st) {
      out.stats ??= {};
      const k = st[2] === "captured" ? "captured" : st[2] === "received by filter" ? "received" : "dropped";
      if (out.stats[k] !== undefined) throw new ParseError(P, line.no, t, `second "${st[2]}" line`);
      out.stats[k] = Number(st[1]);
      return;
    }
    if (out.stats) throw new ParseError(P, line.no, t, "packet after the statistics");
    const tm = TIME.exec(t);
    if (!tm) throw new ParseError(P, line.no, t, "unrecognised line");
    const [hh, mm, ss, us] = [Number(tm[1]), Number(tm[2]), Number(tm[3]), Number(tm[4])];
    if (hh > 23 || mm > 59 || ss > 60) throw new ParseError(P, line.no, t, "bad time");
    const p: TcpdumpPacket = { line: line.no, time: `${tm[1]}:${tm[2]}:${tm[3]}.${tm[4]}`, seconds: hh * 3600 + mm * 60 + ss + us / 1e6, kind: "ip" };
    let rest = tm[5]!;
    const any = ANY.exec(rest);
    if (any && !/^IP6?$|^ARP,$/.test(any[1]!) && !new RegExp(`^${MAC}$`).test(any[1]!)) {
      p.interface = any[1]!;
      p.direction = any[2] as TcpdumpPacket["direction"];
      rest = any[3]!;
    }
    const eth = ETHER.exec(rest);
    if (eth) {
      p.srcMac = eth[1]!;
      p.dstMac = eth[2] === "Broadcast" ? "ff:ff:ff:ff:ff:ff" : eth[2]!;
      const body = eth[5]!;
      if (eth[3] === "ARP") {
        arp(line, body.replace(/^Ethernet \(len 6\), IPv4 \(len 4\), /, ""), p);
      } else {
        const v = V_HDR.exec(body);
        if (v) {
          const next = ls[i + 1];
          if (!next || !/^\s+\S/.test(next.text)) throw new ParseError(P, line.no, t, "-v IP header without its continuation line (truncated output?)");
          i++;
          p.ip = ipFlow(next, next.text.trim(), eth[3] === "IPv6" ? "6" : "4", Number(v[1]));
        } else {
          p.ip = ipFlow(line, body, eth[3] === "IPv6" ? "6" : "4");
        }
      }
      out.packets.push(p);
      return;
    }
    const arpLine = /^ARP, (.*)$/.exec(rest);
    if (arpLine) {
      arp(line, arpLine[1]!.replace(/^Ethernet \(len 6\), IPv4 \(len 4\), /, ""), p);
      out.packets.push(p);
      return;
    }
    const ipLine = /^(IP6?) (.*)$/.exec(rest);
    if (ipLine) {
      const body = ipLine[2]!;
      const v = V_HDR.exec(body);
      if (v) {
        const next = ls[i + 1];
        if (!next || !/^\s+\S/.test(next.text)) throw new ParseError(P, line.no, t, "-v IP header without its continuation line (truncated output?)");
        i++;
        p.ip = ipFlow(next, next.text.trim(), ipLine[1] === "IP6" ? "6" : "4", Number(v[1]));
      } else p.ip = ipFlow(line, body, ipLine[1] === "IP6" ? "6" : "4");
      out.packets.push(p);
      return;
    }
    throw new ParseError(P, line.no, t, "unrecognised packet line");
    });
  }
  if (opts?.tolerant && out.packets.length === 0 && (opts.warnings?.length ?? 0) > 0) throw nothingUsable(P, opts, "packet");
  return out;
}

/** ARP requests for `ip` and the replies announcing it, in capture order. */
export function arpFor(d: Tcpdump, ip: string): { requests: TcpdumpPacket[]; replies: TcpdumpPacket[] } {
  return {
    requests: d.packets.filter((p) => p.kind === "arp-request" && p.arp?.target === ip),
    replies: d.packets.filter((p) => p.kind === "arp-reply" && p.arp?.target === ip),
  };
}
