/**
 * Neighbour (ARP/NDP) tables in their three forms, normalised to one record:
 *
 *   ip neigh        10.123.123.100 dev ens3.100 lladdr 52:54:00:c0:87:a0 REACHABLE
 *                   10.123.123.99 dev ens3.100 INCOMPLETE
 *                   fe80::1 dev eth0 lladdr 52:54:00:00:00:01 router STALE
 *   arp -na         ? (10.123.123.100) at 52:54:00:c0:87:a0 [ether] on mpqemubr0.100      (seed 001 L711-713, L1382-1386)
 *                   ? (10.123.123.99) at <incomplete> on ens3.100                          (seed 001 L4073)
 *   ip -j neigh     parsed by ./ip-json.ts, converted with fromIpJson()
 *
 * Any line that is not one of these shapes is a ParseError (tolerant mode: a warning, line skipped).
 * Addresses are returned canonical (RFC 5952).
 */
import { ParseError } from "../parse-error.ts";
import { canonicalIp, ELISION, isIpAddress, lineStep, nothingUsable, warn, type ParseOptions } from "./common.ts";
import type { IpNeigh } from "./ip-json.ts";
import { splitLines } from "./tokens.ts";

export interface Neighbour {
  ip: string;
  dev: string;
  /** link-layer address, lower case; absent when unresolved */
  mac?: string;
  /** NUD states (REACHABLE, STALE, INCOMPLETE, FAILED, PERMANENT…); arp -na gives [] or ["INCOMPLETE"] */
  state: string[];
  router?: boolean;
  /** the line it came from (ip -j: the array index + 1) */
  line: number;
}

const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
const NUD = new Set(["REACHABLE", "STALE", "DELAY", "PROBE", "INCOMPLETE", "FAILED", "NOARP", "PERMANENT", "NONE"]);

/** Parse `ip neigh [show]` text output. */
export function parseIpNeighText(text: string, opts?: ParseOptions): Neighbour[] {
  const P = "ip-neigh";
  const out: Neighbour[] = [];
  for (const line of splitLines(text)) {
    const t = line.text.trim();
    if (t === "") continue;
    if (opts?.tolerant && ELISION.test(t)) {
      warn(opts, line.no, line.text, "elision or comment in a pasted excerpt");
      continue;
    }
    lineStep(opts, line, () => ipNeighLine(P, line, t, out));
  }
  if (opts?.tolerant && out.length === 0 && (opts.warnings?.length ?? 0) > 0) throw nothingUsable(P, opts, "neighbour");
  return out;
}

function ipNeighLine(P: string, line: { no: number; text: string }, t: string, out: Neighbour[]): void {
  {
    const fail = (d: string): never => {
      throw new ParseError(P, line.no, line.text, d);
    };
    const w = t.split(/\s+/);
    const ip = w[0]!;
    if (!isIpAddress(ip)) fail("first word is not an IP address");
    const n: Neighbour = { ip: canonicalIp(ip), dev: "", state: [], line: line.no };
    let i = 1;
    while (i < w.length) {
      const k = w[i]!;
      if (k === "dev" || k === "lladdr") {
        const v = w[i + 1];
        if (v === undefined) fail(`${k} without a value`);
        if (k === "dev") n.dev = v!;
        else {
          if (!MAC.test(v!)) fail(`lladdr ${v} is not a MAC address`);
          n.mac = v!.toLowerCase();
        }
        i += 2;
      } else if (k === "router") {
        n.router = true;
        i++;
      } else if (k === "proxy" || k === "extern_learn" || k === "offload" || k === "managed" || k === "extern_valid") {
        i++;
      } else if ((k === "proto" || k === "vrf" || k === "probes") && w[i + 1] !== undefined) {
        i += 2; // `proto zebra`, `vrf red`, `probes 1` (ip -s neigh)
      } else if (k === "used" && /^\d+\/\d+\/\d+$/.test(w[i + 1] ?? "")) {
        i += 2; // ip -s neigh: used <confirmed>/<used>/<updated>
      } else if (NUD.has(k)) {
        n.state.push(k);
        i++;
      } else fail(`unexpected word ${JSON.stringify(k)}`);
    }
    if (!n.dev) fail("no dev");
    // iproute2 always ends a neighbour line with its NUD state: a line without one was cut short
    if (n.state.length === 0) fail("no NUD state (truncated line?)");
    if (n.mac === undefined && n.state.some((s) => s === "REACHABLE" || s === "STALE" || s === "DELAY" || s === "PROBE" || s === "PERMANENT")) fail(`${n.state.join(" ")} without lladdr`);
    out.push(n);
  }
}

/** Parse `arp -na` (net-tools) output. */
export function parseArpNa(text: string, opts?: ParseOptions): Neighbour[] {
  const P = "arp-na";
  const out: Neighbour[] = [];
  for (const line of splitLines(text)) {
    const t = line.text.trim();
    if (t === "") continue;
    lineStep(opts, line, () => arpLine(P, line, t, out));
  }
  if (opts?.tolerant && out.length === 0 && (opts.warnings?.length ?? 0) > 0) throw nothingUsable(P, opts, "neighbour");
  return out;
}

function arpLine(P: string, line: { no: number; text: string }, t: string, out: Neighbour[]): void {
  {
    const ok = /^\? \(([^)]+)\) at ([0-9a-fA-F:]{17}) \[(\w+)\]((?: [A-Z]+)*) on (\S+)$/.exec(t);
    const inc = /^\? \(([^)]+)\) at <incomplete> on (\S+)$/.exec(t);
    if (ok) {
      if (!isIpAddress(ok[1]!)) throw new ParseError(P, line.no, line.text, "not an IP address");
      if (!MAC.test(ok[2]!)) throw new ParseError(P, line.no, line.text, "not a MAC address");
      const flags = ok[4]!.trim().split(/\s+/).filter(Boolean);
      if (flags.some((f) => f !== "PERM" && f !== "PUB")) throw new ParseError(P, line.no, line.text, `unknown flag in ${ok[4]}`);
      out.push({ ip: canonicalIp(ok[1]!), dev: ok[5]!, mac: ok[2]!.toLowerCase(), state: flags.includes("PERM") ? ["PERMANENT"] : [], line: line.no });
    } else if (inc) {
      if (!isIpAddress(inc[1]!)) throw new ParseError(P, line.no, line.text, "not an IP address");
      out.push({ ip: canonicalIp(inc[1]!), dev: inc[2]!, state: ["INCOMPLETE"], line: line.no });
    } else throw new ParseError(P, line.no, line.text, "unrecognised line");
  }
}

/** Convert `ip -j neigh` entries (../ip-json.ts) to Neighbour records. */
export function fromIpJson(items: IpNeigh[]): Neighbour[] {
  return items.map((e, i) => {
    const n: Neighbour = { ip: canonicalIp(e.dst), dev: e.dev ?? "", state: [...e.state], line: i + 1 };
    if (e.lladdr) n.mac = e.lladdr.toLowerCase();
    if (e.router === null) n.router = true;
    return n;
  });
}

/** Entries that resolve an address to a MAC (not INCOMPLETE/FAILED). */
export const resolved = (ns: Neighbour[]): Neighbour[] => ns.filter((n) => n.mac !== undefined && !n.state.includes("FAILED") && !n.state.includes("INCOMPLETE"));
