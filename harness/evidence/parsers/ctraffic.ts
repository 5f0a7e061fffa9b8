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
 */
import { z } from "zod";
import { ParseError } from "../parse-error.ts";
import { check, jsonValue, lines } from "./common.ts";

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

/** the statistics JSON (one object; a trailing newline is fine, anything else is not) */
export function parseCtrafficStats(text: string): CtrafficStats {
  return check("ctraffic-stats", CtrafficStatsSchema, jsonValue("ctraffic-stats", text));
}

export interface CtrafficHosts {
  lost: number;
  lostByHost: Record<string, number>;
  lasting: number;
  lastingByHost: Record<string, number>;
}

/** `ctraffic -analyze hosts`; the per-host counts must add up to the totals */
export function parseCtrafficHosts(text: string): CtrafficHosts {
  const P = "ctraffic-hosts";
  const all = lines(text);
  const out: CtrafficHosts = { lost: 0, lostByHost: {}, lasting: 0, lastingByHost: {} };
  let section: "lost" | "lasting" | undefined;
  const seen = new Set<string>();
  all.forEach((raw, i) => {
    const n = i + 1;
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
  });
  if (!seen.has("lost") || !seen.has("lasting")) throw new ParseError(P, undefined, text.slice(0, 200), "missing the Lost or Lasting section");
  const sum = (m: Record<string, number>) => Object.values(m).reduce((a, b) => a + b, 0);
  if (sum(out.lostByHost) !== out.lost) throw new ParseError(P, undefined, text.slice(0, 200), `lost per host adds up to ${sum(out.lostByHost)}, not ${out.lost}`);
  if (sum(out.lastingByHost) !== out.lasting) throw new ParseError(P, undefined, text.slice(0, 200), `lasting per host adds up to ${sum(out.lastingByHost)}, not ${out.lasting}`);
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
