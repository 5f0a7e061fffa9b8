/**
 * Small pieces shared by the evidence parsers: line splitting, zod → ParseError, YAML/JSON
 * documents, and IP address arithmetic. Pure functions, no I/O.
 */
import { isIP, isIPv4, isIPv6 } from "node:net";
import { parseAllDocuments } from "yaml";
import type { z } from "zod";
import { ParseError } from "../parse-error.ts";

/** Split text into lines, dropping one trailing newline and any carriage returns. */
export function lines(text: string): string[] {
  const out = text.replace(/\r\n?/g, "\n").split("\n");
  if (out.length > 0 && out[out.length - 1] === "") out.pop();
  return out;
}

/** Validate with a zod schema; a mismatch becomes a ParseError naming the first offending path. */
export function check<S extends z.ZodType>(parser: string, schema: S, value: unknown, line?: number, text = ""): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue && issue.path.length > 0 ? issue.path.join(".") : "(root)";
  throw new ParseError(parser, line, text || safeJson(value), `invalid ${where}: ${issue?.message ?? "does not match the schema"}`);
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/**
 * Parse text holding one or more YAML documents (JSON is YAML). Empty documents are dropped.
 * Any syntax problem is a ParseError.
 */
export function structuredDocuments(parser: string, text: string): unknown[] {
  let docs;
  try {
    docs = parseAllDocuments(text, { uniqueKeys: true });
  } catch (e) {
    throw new ParseError(parser, undefined, text, `not YAML/JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(docs)) throw new ParseError(parser, undefined, text, "not a YAML/JSON document stream");
  const out: unknown[] = [];
  for (const d of docs) {
    const err = d.errors[0];
    if (err) {
      const line = err.linePos?.[0]?.line;
      throw new ParseError(parser, line, text.split("\n")[(line ?? 1) - 1] ?? "", `YAML/JSON error: ${err.message.split("\n")[0]}`);
    }
    let v: unknown;
    try {
      v = d.toJS({ maxAliasCount: 100 });
    } catch (e) {
      throw new ParseError(parser, undefined, text, `YAML/JSON error: ${(e as Error).message}`);
    }
    if (v !== null && v !== undefined) out.push(v);
  }
  return out;
}

/** Strict JSON: one value, nothing else. */
export function jsonValue(parser: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ParseError(parser, undefined, text, `not JSON: ${(e as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// IP addresses

export const isIpAddress = (s: string): boolean => isIP(s) !== 0;

/** An IP address as a number, with its family; IPv4 in 32 bits, IPv6 in 128. */
export interface IpValue {
  family: 4 | 6;
  value: bigint;
}

export function ipValue(s: string): IpValue | undefined {
  if (isIPv4(s)) {
    const p = s.split(".").map(Number);
    return { family: 4, value: BigInt(((p[0]! << 24) >>> 0) + (p[1]! << 16) + (p[2]! << 8) + p[3]!) };
  }
  if (isIPv6(s)) {
    let text = s;
    let tail: bigint[] = [];
    const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
    if (v4) {
      const n = ipValue(v4[1]!)!.value;
      tail = [n >> 16n, n & 0xffffn];
      text = text.slice(0, -v4[1]!.length) + "0:0";
    }
    const [head, rest] = text.includes("::") ? text.split("::") as [string, string] : [text, undefined];
    const a = head ? head.split(":") : [];
    const b = rest !== undefined && rest !== "" ? rest.split(":") : [];
    const fill = rest !== undefined ? 8 - a.length - b.length : 0;
    const groups = [...a, ...Array<string>(fill).fill("0"), ...b].map((g) => BigInt(parseInt(g, 16)));
    if (tail.length) groups.splice(6, 2, ...tail);
    return { family: 6, value: groups.reduce((acc, g) => (acc << 16n) | g, 0n) };
  }
  return undefined;
}

export function formatIp(v: IpValue): string {
  if (v.family === 4) {
    const n = Number(v.value);
    return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
  }
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((v.value >> BigInt(i * 16)) & 0xffffn).toString(16));
  // RFC 5952: the longest run (≥ 2) of zero groups becomes "::"
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  if (best < 0) return groups.join(":");
  return `${groups.slice(0, best).join(":")}::${groups.slice(best + bestLen).join(":")}`;
}

export interface Cidr {
  family: 4 | 6;
  /** first address (the network address) */
  first: bigint;
  /** last address (the IPv4 broadcast address) */
  last: bigint;
  prefix: number;
  text: string;
}

export function parseCidr(s: string): Cidr | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const ip = ipValue(m[1]!);
  const prefix = Number(m[2]);
  if (!ip) return undefined;
  const bits = ip.family === 4 ? 32 : 128;
  if (prefix > bits) return undefined;
  const host = (1n << BigInt(bits - prefix)) - 1n;
  const first = ip.value & ~host & ((1n << BigInt(bits)) - 1n);
  return { family: ip.family, first, last: first | host, prefix, text: s };
}

export const isCidr = (s: string): boolean => parseCidr(s) !== undefined;

export function cidrContains(c: Cidr, ip: IpValue): boolean {
  return c.family === ip.family && ip.value >= c.first && ip.value <= c.last;
}

/** "IP:port" or "[IPv6]:port" → parts, or undefined when malformed. */
export function splitHostPort(s: string): { address: string; port: number } | undefined {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(s) ?? /^(\d+\.\d+\.\d+\.\d+):(\d{1,5})$/.exec(s);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (!isIpAddress(m[1]!) || port > 65535) return undefined;
  return { address: m[1]!, port };
}

/** the canonical "ip:port" key, brackets for IPv6 */
export const hostPort = (address: string, port: number): string => (address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`);

// ---------------------------------------------------------------------------------------------
// Canonical addresses (RFC 5952). Tools print IPv6 in several spellings: the kernel's
// /proc/net/nf_conntrack and /proc/net/ip_vs use eight zero-padded groups
// (0000:0000:0000:0000:0000:0000:0000:0001), iproute2 and iptables the compressed form (::1),
// some tools upper case. Every parser returns addresses in one form, and comparisons go through
// sameIp(), so a lookup by "::1" finds what the kernel printed as eight groups.

/**
 * An address in canonical text: IPv4 dotted quad without leading zeros, IPv6 per RFC 5952 (lower
 * case, no leading zeros, the longest run of two or more zero groups as "::", the first on a tie,
 * IPv4-mapped addresses as ::ffff:a.b.c.d). Anything that is not an address comes back unchanged.
 */
export function canonicalIp(s: string): string {
  const v = ipValue(s);
  if (!v) return s;
  if (v.family === 6 && v.value >> 32n === 0xffffn) {
    return `::ffff:${formatIp({ family: 4, value: v.value & 0xffffffffn })}`;
  }
  return formatIp(v);
}

/** "address/prefix" or a bare address, canonical; anything else unchanged ("default", "any"). */
export function canonicalCidr(s: string): string {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s);
  if (m && isIpAddress(m[1]!)) return `${canonicalIp(m[1]!)}/${m[2]}`;
  return canonicalIp(s);
}

/** "ip:port" / "[ipv6]:port" with the address canonical; anything else unchanged. */
export function canonicalHostPort(s: string): string {
  const hp = splitHostPort(s);
  return hp ? hostPort(canonicalIp(hp.address), hp.port) : s;
}

/** Do two spellings name the same address? (false when either is not an address) */
export function sameIp(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  const x = ipValue(a), y = ipValue(b);
  return x !== undefined && y !== undefined && x.family === y.family && x.value === y.value;
}

// ---------------------------------------------------------------------------------------------
// Strict by default, tolerant on request.
//
// Every line-based parser takes an optional ParseOptions as its last argument. Strict (the
// default) is right for evidence the harness collects itself: an unknown line means the format
// drifted, and that must be seen. Tolerant is for excerpts a person pasted (a grep of
// iptables-save without its table header, a listing without its column header, a log with "..."
// elisions or "# comments"): a line the parser cannot account for is skipped and reported as a
// ParseWarning (line number, text, why), and parsing goes on. Input that holds nothing the parser
// understands is still a ParseError in both modes.

export interface ParseWarning {
  /** 1-based line number in the parsed text (0 when the problem is not one line) */
  line: number;
  text: string;
  /** what the strict parser would have said */
  reason: string;
}

export interface ParseOptions {
  tolerant?: boolean;
  /** where a tolerant parse records what it skipped; parseTolerant() supplies one */
  warnings?: ParseWarning[];
}

/** A result with the lines skipped to get it; `tolerant` says which mode produced it. */
export interface Parsed<T> {
  value: T;
  warnings: ParseWarning[];
  tolerant: boolean;
}

/**
 * Run a parser in tolerant or strict mode and return its result beside the warnings. A parser
 * that skipped lines but found nothing at all is a ParseError, so "tolerant" never turns garbage
 * into an empty pass.
 */
export function parseWith<T>(parse: (text: string, opts: ParseOptions) => T, text: string, opts: { tolerant?: boolean } = {}): Parsed<T> {
  const warnings: ParseWarning[] = [];
  const value = parse(text, { tolerant: opts.tolerant === true, warnings });
  return { value, warnings, tolerant: opts.tolerant === true };
}

export const parseTolerant = <T>(parse: (text: string, opts: ParseOptions) => T, text: string): Parsed<T> => parseWith(parse, text, { tolerant: true });

/** Lines a person adds to a paste: "...", "…", "[...]", "# comment", "<snip>". Skipped only in tolerant mode. */
export const ELISION = /^\s*(\.{3,}|…|\[\.\.\.\]|\[…\]|<snip>|\(snip\)|#.*|\/\/.*)\s*$/;

/**
 * Run one line's parsing step. Strict: a ParseError propagates. Tolerant: it is recorded as a
 * warning (the error's own line and text when it names them) and `undefined` comes back, so the
 * caller skips the line. Anything that is not a ParseError always propagates.
 */
export function lineStep<T>(opts: ParseOptions | undefined, line: { no: number; text: string }, step: () => T): T | undefined {
  if (!opts?.tolerant) return step();
  try {
    return step();
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
    warn(opts, e.line ?? line.no, e.line !== undefined && e.line !== line.no ? e.text : line.text, e.detail);
    return undefined;
  }
}

/** Record a skipped line (tolerant mode only; strict callers throw instead). */
export function warn(opts: ParseOptions | undefined, line: number, text: string, reason: string): void {
  opts?.warnings?.push({ line, text: text.slice(0, 300), reason });
}

/** Tolerant: skip a whole-input problem with a warning; strict: throw it. */
export function softFail(opts: ParseOptions | undefined, err: ParseError): void {
  if (!opts?.tolerant) throw err;
  warn(opts, err.line ?? 0, err.text, err.detail);
}

/** Tolerant mode found nothing usable: one ParseError that lists the first few skipped lines. */
export function nothingUsable(parser: string, opts: ParseOptions | undefined, what: string): ParseError {
  const w = opts?.warnings ?? [];
  const list = w.slice(0, 3).map((x) => `line ${x.line}: ${x.reason}`).join("; ");
  return new ParseError(parser, undefined, w[0]?.text ?? "", `no ${what} found${w.length ? ` (${w.length} line(s) skipped: ${list})` : ""}`);
}

/** A one-line summary for oracle reasons: "tolerant parse of <what>: N line(s) skipped (line 3: …)". */
export function tolerantNote(what: string, p: { warnings: ParseWarning[]; tolerant: boolean }): string | undefined {
  if (!p.tolerant) return undefined;
  if (p.warnings.length === 0) return `tolerant parse of ${what}: nothing skipped`;
  const first = p.warnings.slice(0, 3).map((w) => `line ${w.line} ${JSON.stringify(w.text.slice(0, 60))}`).join(", ");
  return `tolerant parse of ${what}: ${p.warnings.length} warning(s), lines skipped or read by a guess (${first}${p.warnings.length > 3 ? ", …" : ""})`;
}
