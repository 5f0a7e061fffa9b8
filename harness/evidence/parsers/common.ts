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
