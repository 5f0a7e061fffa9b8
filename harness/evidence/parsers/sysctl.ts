/**
 * `sysctl KEY…` / `sysctl -a` output: "net.ipv4.vs.conntrack = 1" per line. Keys are dotted
 * lower-case paths (a few carry digits, dashes or interface names); values run to the end of the
 * line and may contain tabs (net.ipv4.tcp_rmem = 4096\t131072\t6291456), kept as printed.
 */
import { ParseError } from "../parse-error.ts";
import { lines } from "./common.ts";

export function parseSysctl(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  lines(text).forEach((raw, i) => {
    const m = /^([a-z0-9_][a-z0-9_.@:-]*(?:\.[A-Za-z0-9_@:-]+)*) = (.*)$/.exec(raw);
    if (!m || /[\u0000-\u0008\u000a-\u001f\u007f]/.test(raw)) throw new ParseError("sysctl", i + 1, raw, 'expected "key = value"');
    if (m[1]! in out) throw new ParseError("sysctl", i + 1, raw, `key ${m[1]} appears twice`);
    out[m[1]!] = m[2]!;
  });
  return out;
}
