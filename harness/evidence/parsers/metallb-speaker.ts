/**
 * MetalLB speaker log (`kubectl logs -n metallb-system speaker-…`): one JSON object per line, as in
 * seed 001 L3972-3974, L3983-3992, L4000-4002 and L4044-4045:
 *
 *   {"caller":"main.go:409","event":"serviceAnnounced","ips":["10.123.123.100"],"level":"info","msg":"service has IP, announcing","pool":"external-pool","protocol":"layer2","ts":"…"}
 *   {"caller":"layer2_controller.go:87","event":"shouldannounce","ips":["10.123.123.99"],"level":"debug","message":"failed no active endpoints",…}
 *   {"caller":"arp.go:110","interface":"ens3","ip":"10.123.123.100","level":"debug","msg":"got ARP request for service IP, sending response","responseMAC":…}
 *
 * A v0.15.2 speaker also writes controller-runtime (zap) lines, which have no `caller`
 * (`{"level":"info","ts":…,"msg":"Starting EventSource","controller":"bgppeer",…}`), and its
 * serviceWithdrawn event carries `"ip"` as an array (both measured on the live cluster, 2026-11-23).
 * Speakers before v0.13 logged through go-kit: no `level` key at all (`{"caller":"main.go:267",
 * "event":"serviceAnnounced","ip":"192.168.1.240","msg":"service has IP, announcing",…,"ts":…}`),
 * and their serviceWithdrawn lines may carry `"ip":""` or `"ip":null` (nothing was announced). Such
 * lines are read with `level` absent and no IPs.
 * `ts` is required on every line; `caller` when present is file.go:line; every other key is
 * optional and kept. A line that is not a complete JSON object with those keys is a ParseError (a
 * log cut mid-line never passes as a shorter log); in tolerant mode it is skipped with a warning.
 * Blank lines are skipped; the prefixes `kubectl logs --timestamps` and `--prefix` add are dropped.
 * Addresses are returned canonical (RFC 5952).
 */
import { z } from "zod";
import { ParseError } from "../parse-error.ts";
import { canonicalIp, check, isIpAddress, lineStep, nothingUsable, type ParseOptions } from "./common.ts";
import { splitLines } from "./tokens.ts";

const P = "metallb-speaker";

const ip = z.string().refine(isIpAddress, "not an IP address");

export const speakerLineSchema = z.looseObject({
  caller: z.string().regex(/^[\w./-]+:\d+$/, "not file.go:line").optional(),
  /** absent on go-kit-era lines (speakers before v0.13) */
  level: z.enum(["debug", "info", "warn", "error"]).optional(),
  ts: z.string().regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/, "not an RFC 3339 time"),
  msg: z.string().optional(),
  /** the l2 controller's debug lines carry their text under "message" */
  message: z.string().optional(),
  event: z.string().optional(),
  ips: z.array(ip).optional(),
  /** one address, a list (v0.15 serviceWithdrawn), or "" / null when there was none (go-kit era) */
  ip: z.union([ip, z.array(ip), z.literal(""), z.null()]).optional(),
  pool: z.string().optional(),
  protocol: z.string().optional(),
  service: z.string().optional(),
  reason: z.string().optional(),
  interface: z.string().optional(),
  component: z.string().optional(),
  responseMAC: z.string().optional(),
  senderIP: ip.optional(),
  senderMAC: z.string().optional(),
});

export type SpeakerLine = z.infer<typeof speakerLineSchema>;

export interface SpeakerEntry {
  /** 1-based line number in the log text */
  line: number;
  ts: string;
  /** epoch milliseconds of ts */
  atMs: number;
  /** absent on go-kit-era lines, which carry no level */
  level?: SpeakerLine["level"];
  /** file.go:line; "" on controller-runtime lines, which name no caller */
  caller: string;
  /** msg, or message when only that is present; "" when neither */
  text: string;
  event?: string;
  /** ips, or [ip], or [] */
  ips: string[];
  service?: string;
  pool?: string;
  protocol?: string;
  raw: SpeakerLine;
}

export function parseSpeakerLog(text: string, opts?: ParseOptions): SpeakerEntry[] {
  const out: SpeakerEntry[] = [];
  for (const line of splitLines(text)) {
    const t = line.text.trim();
    if (t === "") continue;
    const e = lineStep(opts, line, () => speakerLine(line.no, line.text, t));
    if (e) out.push(e);
  }
  if (opts?.tolerant && out.length === 0 && (opts.warnings?.length ?? 0) > 0) throw nothingUsable(P, opts, "speaker log line");
  return out;
}

// `kubectl logs --timestamps` puts an RFC 3339 time before each line, `--prefix` the pod and container
const LOG_PREFIX = /^(?:\[[^\]\s]+\] )?(?:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d) )?(?=\{)/;

function speakerLine(no: number, raw: string, t: string): SpeakerEntry {
  t = t.replace(LOG_PREFIX, "");
  if (!t.startsWith("{") || !t.endsWith("}")) throw new ParseError(P, no, raw, "not a JSON object line");
  let v: unknown;
  try {
    v = JSON.parse(t);
  } catch (e) {
    throw new ParseError(P, no, raw, `not JSON: ${(e as Error).message}`);
  }
  const r = check(P, speakerLineSchema, v, no, raw);
  const atMs = Date.parse(r.ts);
  if (Number.isNaN(atMs)) throw new ParseError(P, no, raw, `bad ts ${r.ts}`);
  const ips = (r.ips ?? (Array.isArray(r.ip) ? r.ip : r.ip ? [r.ip] : [])).map(canonicalIp);
  const e: SpeakerEntry = { line: no, ts: r.ts, atMs, caller: r.caller ?? "", text: r.msg ?? r.message ?? "", ips, raw: r };
  if (r.level !== undefined) e.level = r.level;
  if (r.event !== undefined) e.event = r.event;
  if (r.service !== undefined) e.service = r.service;
  if (r.pool !== undefined) e.pool = r.pool;
  if (r.protocol !== undefined) e.protocol = r.protocol;
  return e;
}

/** `serviceAnnounced` entries for an IP. */
export const announcements = (log: SpeakerEntry[], vip: string): SpeakerEntry[] => log.filter((e) => e.event === "serviceAnnounced" && e.ips.includes(canonicalIp(vip)));

/** `serviceWithdrawn` entries for an IP (the speaker stops announcing). */
export const withdrawals = (log: SpeakerEntry[], vip: string): SpeakerEntry[] => log.filter((e) => e.event === "serviceWithdrawn" && e.ips.includes(canonicalIp(vip)));

/** the l2 controller's `shouldannounce` refusals for an IP, with their reason ("failed no active endpoints", …) */
export const l2Refusals = (log: SpeakerEntry[], vip: string): SpeakerEntry[] =>
  log.filter((e) => e.event === "shouldannounce" && e.ips.includes(canonicalIp(vip)) && /^failed\b/.test(e.text));
