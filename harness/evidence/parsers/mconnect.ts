/**
 * mconnect (github.com/Nordix/mconnect) client output, as its README shows it:
 *
 *   2018/09/21 08:53:21 Using timeout; 3s
 *   Failed connects; 0
 *   Failed reads; 0
 *   mconnect-deployment-5897ffb75c-dbgt5 250
 *   mconnect-deployment-5897ffb75c-25cgp 250
 *
 * Go log lines (date time message) are accepted and kept; so are `time`'s real/user/sys lines,
 * which the README's examples include. Any other line is a ParseError (tolerant mode: a warning).
 */
import { ParseError } from "../parse-error.ts";
import { ELISION, lineStep, nothingUsable, type ParseOptions } from "./common.ts";
import { splitLines } from "./tokens.ts";

export interface Mconnect {
  failedConnects: number;
  failedReads: number;
  /** the host that answered → how many connects it answered, in printed order */
  hosts: Record<string, number>;
  /** answered connects: the sum over hosts */
  answered: number;
  /** the Go log lines, e.g. "Using timeout; 3s" */
  log: string[];
}

export function parseMconnect(text: string, opts?: ParseOptions): Mconnect {
  const P = "mconnect";
  const out: Partial<Mconnect> & { hosts: Record<string, number>; log: string[] } = { hosts: {}, log: [] };
  for (const l of splitLines(text)) {
    const t = l.text.trim();
    if (t === "") continue;
    lineStep(opts, l, () => {
      let m: RegExpExecArray | null;
      if (opts?.tolerant && ELISION.test(t)) throw new ParseError(P, l.no, l.text, "elision or comment in a pasted excerpt");
      if ((m = /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d (.+)$/.exec(t))) return void out.log.push(m[1]!);
      if (/^(real|user|sys)\s+\S+(?: \S+)?$/.test(t)) return;
      if ((m = /^Failed (connects|reads); (\d+)$/.exec(t))) {
        const k = m[1] === "connects" ? "failedConnects" : "failedReads";
        if (out[k] !== undefined) throw new ParseError(P, l.no, l.text, `second "Failed ${m[1]}" line`);
        out[k] = Number(m[2]);
        return;
      }
      if ((m = /^(\S+) (\d+)$/.exec(t))) {
        if (out.failedReads === undefined) throw new ParseError(P, l.no, l.text, 'host count before the "Failed reads" line');
        if (out.hosts[m[1]!] !== undefined) throw new ParseError(P, l.no, l.text, `host ${m[1]} listed twice`);
        out.hosts[m[1]!] = Number(m[2]);
        return;
      }
      throw new ParseError(P, l.no, l.text, "not an mconnect output line");
    });
  }
  if (out.failedConnects === undefined || out.failedReads === undefined) {
    if (opts?.tolerant && Object.keys(out.hosts).length === 0) throw nothingUsable(P, opts, '"Failed connects"/"Failed reads" line');
    if (!opts?.tolerant) throw new ParseError(P, undefined, text.slice(0, 200), 'no "Failed connects; N" and "Failed reads; N" lines (truncated output?)');
  }
  const answered = Object.values(out.hosts).reduce((a, b) => a + b, 0);
  return { failedConnects: out.failedConnects ?? 0, failedReads: out.failedReads ?? 0, hosts: out.hosts, answered, log: out.log };
}
