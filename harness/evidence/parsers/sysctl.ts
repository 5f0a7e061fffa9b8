/**
 * `sysctl KEY…` / `sysctl -a` output: "net.ipv4.vs.conntrack = 1" per line. Keys are dotted
 * lower-case paths (a few carry digits, dashes or interface names); values run to the end of the
 * line and may contain tabs (net.ipv4.tcp_rmem = 4096\t131072\t6291456), kept as printed.
 */
import { ParseError } from "../parse-error.ts";
import { lineStep, lines, nothingUsable, type ParseOptions } from "./common.ts";

export function parseSysctl(text: string, opts?: ParseOptions): Record<string, string> {
  const out: Record<string, string> = {};
  lines(text).forEach((raw, i) => lineStep(opts, { no: i + 1, text: raw }, () => {
    const m = /^([a-z0-9_][a-z0-9_.@:-]*(?:\.[A-Za-z0-9_@:-]+)*) = (.*)$/.exec(raw);
    if (!m || /[\u0000-\u0008\u000a-\u001f\u007f]/.test(raw)) throw new ParseError("sysctl", i + 1, raw, 'expected "key = value"');
    if (m[1]! in out) throw new ParseError("sysctl", i + 1, raw, `key ${m[1]} appears twice`);
    out[m[1]!] = m[2]!;
  }));
  if (opts?.tolerant && Object.keys(out).length === 0 && (opts.warnings?.length ?? 0) > 0) throw nothingUsable("sysctl", opts, "key = value line");
  return out;
}
