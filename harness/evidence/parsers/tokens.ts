/**
 * Small lexical helpers shared by the evidence parsers (iptables-save, conntrack, swanctl, xfrm,
 * dns). Everything here either returns a value or throws a ParseError naming the parser, the line
 * and the text, so a parser built on these helpers never leaks any other exception.
 */
import type { z } from "zod";
import { ParseError } from "../parse-error.ts";

export interface Line {
  /** 1-based line number in the parsed text */
  no: number;
  text: string;
}

/** Split text into numbered lines; a trailing newline does not make an extra empty line. */
export function splitLines(text: string): Line[] {
  const raw = text.split(/\r?\n/);
  if (raw.length > 0 && raw[raw.length - 1] === "") raw.pop();
  return raw.map((t, i) => ({ no: i + 1, text: t }));
}

export interface Token {
  value: string;
  /** true when any part of the token was inside double quotes: never an option name */
  quoted: boolean;
}

/**
 * Split a command-line-like string (an iptables rule as iptables-save prints it) into tokens.
 * Whitespace separates tokens; double quotes group, and inside them `\"` and `\\` are escapes
 * (iptables-save escapes exactly those). An unterminated quote is a ParseError.
 */
export function tokenize(parser: string, line: Line, text: string = line.text): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && (text[i] === " " || text[i] === "\t")) i++;
    if (i >= n) break;
    let value = "";
    let quoted = false;
    while (i < n && text[i] !== " " && text[i] !== "\t") {
      const c = text[i]!;
      if (c === '"') {
        quoted = true;
        i++;
        let closed = false;
        while (i < n) {
          const d = text[i]!;
          if (d === "\\" && i + 1 < n && (text[i + 1] === '"' || text[i + 1] === "\\")) {
            value += text[i + 1];
            i += 2;
          } else if (d === '"') {
            closed = true;
            i++;
            break;
          } else {
            value += d;
            i++;
          }
        }
        if (!closed) throw new ParseError(parser, line.no, line.text, "unterminated quoted string");
      } else {
        value += c;
        i++;
      }
    }
    out.push({ value, quoted });
  }
  return out;
}

/** A non-negative decimal integer with no sign, no exponent, no leading junk; else ParseError. */
export function uint(parser: string, line: Line, s: string | undefined, what: string): number {
  if (s === undefined || !/^\d{1,16}$/.test(s)) {
    throw new ParseError(parser, line.no, line.text, `${what}: expected an unsigned integer, got ${JSON.stringify(s ?? "")}`);
  }
  const v = Number(s);
  if (!Number.isSafeInteger(v)) throw new ParseError(parser, line.no, line.text, `${what}: ${s} is out of range`);
  return v;
}

/** A 0x-prefixed hexadecimal number (up to 64 bits, kept as a lower-case string and a number). */
export function hex(parser: string, line: Line, s: string | undefined, what: string): string {
  if (s === undefined || !/^0x[0-9a-fA-F]{1,16}$/.test(s)) {
    throw new ParseError(parser, line.no, line.text, `${what}: expected a 0x hex number, got ${JSON.stringify(s ?? "")}`);
  }
  return s.toLowerCase();
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
// Loose but bounded IPv6 check: hex groups, colons, at most one "::", optional dotted IPv4 tail.
const IPV6 = /^(?=.*:)[0-9a-fA-F:]{2,39}(\.\d{1,3}){0,3}$/;

export function isIPv4(s: string): boolean {
  return IPV4.test(s);
}

export function isIPv6(s: string): boolean {
  if (!IPV6.test(s)) return false;
  if ((s.match(/::/g) ?? []).length > 1) return false;
  const groups = s.split(":");
  return groups.every((g) => g.length <= 4 || /\./.test(g)) && groups.length <= 8;
}

export function isIP(s: string): boolean {
  return isIPv4(s) || isIPv6(s);
}

/** An IPv4/IPv6 address; else ParseError. */
export function ip(parser: string, line: Line, s: string | undefined, what: string): string {
  if (s === undefined || !isIP(s)) {
    throw new ParseError(parser, line.no, line.text, `${what}: expected an IP address, got ${JSON.stringify(s ?? "")}`);
  }
  return s;
}

/** An address with an optional /prefix ("10.42.0.0/16", "10.43.0.10"); else ParseError. */
export function cidr(parser: string, line: Line, s: string | undefined, what: string): string {
  const [addr, len, ...rest] = (s ?? "").split("/");
  const max = addr !== undefined && isIPv4(addr) ? 32 : 128;
  if (s === undefined || rest.length > 0 || addr === undefined || !isIP(addr) || (len !== undefined && (!/^\d{1,3}$/.test(len) || Number(len) > max))) {
    throw new ParseError(parser, line.no, line.text, `${what}: expected an address or prefix, got ${JSON.stringify(s ?? "")}`);
  }
  return s;
}

/**
 * Validate a parser's finished result against its zod schema. A mismatch is a parser bug or an
 * input shape the parser let through; either way the caller gets a ParseError, never a result that
 * does not match its declared type.
 */
export function validated<S extends z.ZodType>(parser: string, schema: S, value: unknown): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new ParseError(parser, undefined, JSON.stringify(value).slice(0, 200), `result does not match its schema at ${issue?.path.join(".") ?? "?"}: ${issue?.message ?? ""}`);
  }
  return r.data;
}
