/**
 * ctraffic (github.com/Nordix/ctraffic), the continuous-traffic client Meridio uses (seed 000
 * L729-747, L789-792):
 *  - the statistics JSON printed on stdout (`-stats summary|all`): totals, and with `-stats all`
 *    one ConnStats entry per connection (times in ns from the start, Err when it failed, the
 *    answering Host) and one Samples entry per second;
 *  - the text of `ctraffic -analyze hosts -stat_file …`:
 *      Lost connections: 2
 *        target-a-6fc4d776b7-9m9g9 2
 *      Lasting connections: 398
 *        target-a-6fc4d776b7-gcd5f 101
 *  - `-monitor` lines, which go to stderr and so precede the JSON when both are captured
 *    (`Conn act/fail/connecting: 200/0/0, Packets send/rec/dropped: 86/86/0`, ctraffic's README);
 *  - the table of `ctraffic -analyze connections` (`Time Active New Failed Connecting`, one row
 *    per second, ctraffic's README).
 */
import { z } from "zod";
import { ParseError } from "../parse-error.ts";
import { check, ELISION, jsonValue, lineStep, lines, nothingUsable, softFail, type ParseOptions } from "./common.ts";
import { splitLines } from "./tokens.ts";

const Count = z.number().int().min(0);
/** Go time.Duration: integer nanoseconds */
const Nanos = z.number().int().min(0);

export const ConnStatSchema = z
  .object({
    Started: Nanos,
    Connect: Nanos,
    Ended: Nanos,
    Err: z.string(),
    Sent: Count,
    Received: Count,
    Dropped: Count,
    Retransmits: Count,
    Local: z.string().optional(),
    Remote: z.string().optional(),
    Host: z.string().optional(),
  })
  .strict()
  .refine((c) => typeof c.Ended !== "number" || typeof c.Started !== "number" || c.Ended === 0 || c.Ended >= c.Started, "Ended before Started");
export type ConnStat = z.output<typeof ConnStatSchema>;

export const SampleSchema = z.object({ Time: Nanos, Sent: Count, Received: Count, Dropped: Count }).strict();
export type Sample = z.output<typeof SampleSchema>;

export const CtrafficStatsSchema = z
  .object({
    Started: z.string().regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/, "not an RFC 3339 time"),
    Duration: Nanos,
    Rate: z.number().min(0),
    Connections: Count,
    PacketSize: Count,
    FailedConnections: Count,
    Sent: Count,
    Received: Count,
    Dropped: Count,
    Retransmits: Count,
    FailedConnects: Count,
    ConnStats: z.array(ConnStatSchema).optional(),
    Samples: z.array(SampleSchema).optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    // zod runs this even when a field check failed: compare only what is well-formed
    if (typeof s.Received === "number" && typeof s.Sent === "number" && s.Received > s.Sent) ctx.addIssue({ code: "custom", path: ["Received"], message: "more received than sent" });
    const samples = Array.isArray(s.Samples) ? s.Samples : [];
    for (let i = 1; i < samples.length; i++) {
      const a = samples[i - 1]!, b = samples[i]!;
      if (!a || !b || typeof a !== "object" || typeof b !== "object") return;
      if (b.Time < a.Time || b.Sent < a.Sent || b.Received < a.Received || b.Dropped < a.Dropped) {
        ctx.addIssue({ code: "custom", path: ["Samples", i], message: "sample counters or time go backwards" });
        return;
      }
    }
  });
export type CtrafficStats = z.output<typeof CtrafficStatsSchema>;

const MONITOR = /^Conn act\/fail\/connecting: (\d+)\/(\d+)\/(\d+), Packets send\/rec\/dropped: (\d+)\/(\d+)\/(\d+)$/;

/**
 * The statistics JSON (one object; a trailing newline is fine). `-monitor` lines before it (stderr
 * captured with stdout) are accepted; any other line before the JSON is a ParseError (tolerant
 * mode: a warning, and "..." elisions as the README prints them are skipped).
 */
export function parseCtrafficStats(text: string, opts?: ParseOptions): CtrafficStats {
  const P = "ctraffic-stats";
  const all = splitLines(text);
  const at = all.findIndex((l) => l.text.trimStart().startsWith("{"));
  if (at > 0) {
    for (const l of all.slice(0, at)) {
      if (l.text.trim() === "" || MONITOR.test(l.text.trim())) continue;
      lineStep(opts, l, () => {
        throw new ParseError(P, l.no, l.text, opts?.tolerant && ELISION.test(l.text) ? "elision in a pasted excerpt" : "not a -monitor line before the statistics JSON");
      });
    }
    text = all.slice(at).map((l) => l.text).join("\n");
  }
  return check(P, CtrafficStatsSchema, jsonValue(P, text));
}

export interface CtrafficConnectionsRow {
  /** seconds from the start (the middle of the one-second slot) */
  time: number;
  active: number;
  new: number;
  failed: number;
  connecting: number;
}

/** `ctraffic -stat_file … -analyze connections`: a header, then one row per second */
export function parseCtrafficConnections(text: string, opts?: ParseOptions): CtrafficConnectionsRow[] {
  const P = "ctraffic-connections";
  const all = splitLines(text).filter((l) => l.text.trim() !== "");
  const head = all[0];
  if (!head || head.text.trim().split(/\s+/).join(" ") !== "Time Active New Failed Connecting") throw new ParseError(P, head?.no, head?.text ?? "", 'expected the header "Time Active New Failed Connecting"');
  const out: CtrafficConnectionsRow[] = [];
  for (const l of all.slice(1)) {
    lineStep(opts, l, () => {
      const m = /^(\d+(?:\.\d+)?)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$/.exec(l.text.trim());
      if (!m) throw new ParseError(P, l.no, l.text, "expected Time Active New Failed Connecting as numbers");
      const row = { time: Number(m[1]), active: Number(m[2]), new: Number(m[3]), failed: Number(m[4]), connecting: Number(m[5]) };
      if (out.length && row.time <= out[out.length - 1]!.time) throw new ParseError(P, l.no, l.text, "time does not increase");
      out.push(row);
    });
  }
  if (opts?.tolerant && out.length === 0 && (opts.warnings?.length ?? 0) > 0) throw nothingUsable(P, opts, "row");
  return out;
}

export interface CtrafficHosts {
  lost: number;
  lostByHost: Record<string, number>;
  lasting: number;
  lastingByHost: Record<string, number>;
}

/** `ctraffic -analyze hosts`; the per-host counts must add up to the totals */
export function parseCtrafficHosts(text: string, opts?: ParseOptions): CtrafficHosts {
  const P = "ctraffic-hosts";
  const all = lines(text);
  const out: CtrafficHosts = { lost: 0, lostByHost: {}, lasting: 0, lastingByHost: {} };
  let section: "lost" | "lasting" | undefined;
  const seen = new Set<string>();
  all.forEach((raw, i) => lineStep(opts, { no: i + 1, text: raw }, () => {
    const n = i + 1;
    if (opts?.tolerant && ELISION.test(raw)) throw new ParseError(P, n, raw, "elision or comment in a pasted excerpt");
    const head = /^(Lost|Lasting) connections: (\d+)$/.exec(raw);
    if (head) {
      const s = head[1] === "Lost" ? "lost" : "lasting";
      if (seen.has(s) || (s === "lost" && seen.has("lasting"))) throw new ParseError(P, n, raw, "section out of order or repeated");
      seen.add(s);
      section = s;
      out[s] = Number(head[2]);
      return;
    }
    const kv = /^ {2}(\S+) (\d+)$/.exec(raw);
    if (kv && section) {
      const map = section === "lost" ? out.lostByHost : out.lastingByHost;
      if (kv[1]! in map) throw new ParseError(P, n, raw, `host ${kv[1]} listed twice`);
      map[kv[1]!] = Number(kv[2]);
      return;
    }
    throw new ParseError(P, n, raw, 'expected "Lost connections: n", "Lasting connections: n" or "  host n"');
  }));
  if (!seen.has("lost") || !seen.has("lasting")) throw new ParseError(P, undefined, text.slice(0, 200), "missing the Lost or Lasting section");
  const sum = (m: Record<string, number>) => Object.values(m).reduce((a, b) => a + b, 0);
  // a tolerant parse that skipped host lines cannot expect the sums to match: a warning instead
  if (sum(out.lostByHost) !== out.lost) softFail(opts, new ParseError(P, undefined, text.slice(0, 200), `lost per host adds up to ${sum(out.lostByHost)}, not ${out.lost}`));
  if (sum(out.lastingByHost) !== out.lasting) softFail(opts, new ParseError(P, undefined, text.slice(0, 200), `lasting per host adds up to ${sum(out.lastingByHost)}, not ${out.lasting}`));
  return out;
}

/** the same summary computed from `-stats all` data (connections without a Host are not counted, as ctraffic does) */
export function hostsFromStats(s: CtrafficStats): CtrafficHosts {
  const out: CtrafficHosts = { lost: 0, lostByHost: {}, lasting: 0, lastingByHost: {} };
  for (const c of s.ConnStats ?? []) {
    if (!c.Host) continue;
    const [k, m] = c.Err ? (["lost", out.lostByHost] as const) : (["lasting", out.lastingByHost] as const);
    out[k]++;
    m[c.Host] = (m[c.Host] ?? 0) + 1;
  }
  return out;
}
