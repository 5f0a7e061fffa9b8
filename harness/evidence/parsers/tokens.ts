/**
 * Line-oriented lexical helpers for the text parsers (iptables-save, conntrack, swanctl, xfrm,
 * dns): numbered lines, a tokeniser for double-quoted arguments, and typed field readers. Every
 * reader either returns a value or throws a ParseError naming the parser, the line and the text.
 * Generic pieces (line splitting, zod checks, IP address tests) come from ./common.ts.
 */
import { ParseError } from "../parse-error.ts";
import { isCidr, isIpAddress, lines } from "./common.ts";

export interface Line {
  /** 1-based line number in the parsed text */
  no: number;
  text: string;
}

/** Split text into numbered lines; a trailing newline does not make an extra empty line. */
export function splitLines(text: string): Line[] {
  return lines(text).map((t, i) => ({ no: i + 1, text: t }));
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

/** A 0x-prefixed hexadecimal number (up to 64 bits), returned in lower case. */
export function hex(parser: string, line: Line, s: string | undefined, what: string): string {
  if (s === undefined || !/^0x[0-9a-fA-F]{1,16}$/.test(s)) {
    throw new ParseError(parser, line.no, line.text, `${what}: expected a 0x hex number, got ${JSON.stringify(s ?? "")}`);
  }
  return s.toLowerCase();
}

/** An IPv4/IPv6 address; else ParseError. */
export function ip(parser: string, line: Line, s: string | undefined, what: string): string {
  if (s === undefined || !isIpAddress(s)) {
    throw new ParseError(parser, line.no, line.text, `${what}: expected an IP address, got ${JSON.stringify(s ?? "")}`);
  }
  return s;
}

/** An address with an optional /prefix ("10.42.0.0/16", "10.43.0.10"); else ParseError. */
export function cidr(parser: string, line: Line, s: string | undefined, what: string): string {
  if (s === undefined || !(isIpAddress(s) || isCidr(s))) {
    throw new ParseError(parser, line.no, line.text, `${what}: expected an address or prefix, got ${JSON.stringify(s ?? "")}`);
  }
  return s;
}
