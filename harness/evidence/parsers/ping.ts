/**
 * iputils `ping` output (seed 001 L4053-4057) and the harness's own probe series (JSON written by
 * a probe loop: one record per attempt, time and outcome), both validated strictly.
 *
 *   PING 10.123.123.99 (10.123.123.99) 56(84) bytes of data.
 *   64 bytes from 10.123.123.100: icmp_seq=1 ttl=63 time=0.412 ms
 *   From 10.123.123.4 icmp_seq=1 Destination Host Unreachable
 *   ^C
 *   --- 10.123.123.99 ping statistics ---
 *   3 packets transmitted, 0 received, 100% packet loss, time 2049ms
 *   rtt min/avg/max/mdev = 0.293/0.351/0.412/0.049 ms
 *
 * iputils ends the statistics with one line of up to three parts, comma-separated, each optional:
 * "rtt min/avg/max/mdev = … ms" (when a reply was timed), "pipe N" (more than one probe was
 * outstanding at once, e.g. with -i 0.2 on a slow path) and "ipg/ewma a/b ms" (flood, adaptive or
 * interval 0), e.g. "rtt min/avg/max/mdev = 20.053/223.487/427.790/166.459 ms, pipe 3".
 */
import { z } from "zod";
import { ParseError } from "../parse-error.ts";
import { canonicalIp, check, isIpAddress, jsonValue, lineStep, type ParseOptions } from "./common.ts";
import { splitLines } from "./tokens.ts";

export interface PingResult {
  target: string;
  transmitted: number;
  received: number;
  errors?: number;
  lossPercent: number;
  /** per-reply TTLs, in order */
  ttls: number[];
  /** "From X … Destination Host Unreachable" lines */
  unreachable: number;
}

const RTT = String.raw`rtt min\/avg\/max\/mdev = [\d.]+\/[\d.]+\/[\d.]+\/[\d.]+ ms`;
const PIPE = String.raw`pipe \d+`;
const IPG = String.raw`ipg\/ewma [\d.]+\/[\d.]+ ms`;
const TAIL = new RegExp(`^(?:${RTT}(?:, ${PIPE})?(?:, ${IPG})?|${PIPE}(?:, ${IPG})?|${IPG})$`);

export function parsePing(text: string, opts?: ParseOptions): PingResult {
  const P = "ping";
  let target: string | undefined;
  let stats: Omit<PingResult, "target" | "ttls" | "unreachable"> | undefined;
  let inStats = false;
  const ttls: number[] = [];
  let unreachable = 0;
  for (const line of splitLines(text)) {
    const t = line.text.trim();
    if (t === "" || t === "^C") continue;
    lineStep(opts, line, () => {
    const fail = (d: string): never => {
      throw new ParseError(P, line.no, line.text, d);
    };
    let m: RegExpExecArray | null;
    if ((m = /^PING (\S+) \(([^)]+)\) \d+\(\d+\) bytes of data\.$/.exec(t))) {
      if (target !== undefined) fail("second PING header");
      if (!isIpAddress(m[2]!)) fail("target is not an address");
      target = canonicalIp(m[2]!);
    } else if ((m = /^\d+ bytes from ([^:]+): icmp_seq=\d+ ttl=(\d+) time=[\d.]+ ms( \(DUP!\))?$/.exec(t))) {
      if (target === undefined || inStats) fail("reply outside the ping run");
      ttls.push(Number(m[2]));
    } else if (/^From \S+ icmp_seq=\d+ (Destination (Host|Net|Port) Unreachable|Time to live exceeded)$/.test(t)) {
      if (target === undefined || inStats) fail("error line outside the ping run");
      unreachable++;
    } else if ((m = /^--- (\S+) ping statistics ---$/.exec(t))) {
      if (target === undefined || inStats) fail("statistics header out of place");
      inStats = true;
    } else if ((m = /^(\d+) packets transmitted, (\d+) received,(?: \+(\d+) errors,)?(?: \+\d+ duplicates,)? (\d+(?:\.\d+)?)% packet loss(?:, time \d+ms)?$/.exec(t))) {
      if (!inStats || stats) fail("statistics line out of place");
      stats = { transmitted: Number(m[1]), received: Number(m[2]), lossPercent: Number(m[4]) };
      if (m[3] !== undefined) stats.errors = Number(m[3]);
      if (stats.received > stats.transmitted) fail("more received than transmitted");
    } else if (TAIL.test(t)) {
      if (!stats) fail("rtt line before the statistics");
    } else fail("unrecognised line");
    });
  }
  if (target === undefined || !stats) throw new ParseError(P, undefined, text.slice(0, 200), "no PING header or no statistics (truncated output?)");
  return { target, ...stats, ttls, unreachable };
}

// ---------------------------------------------------------------------------------------------
// A probe series: [{ "at": "2025-02-05T14:30:01.250Z", "ok": true, "detail": "…" }, …]

export const probeSeriesSchema = z
  .array(
    z.strictObject({
      at: z.iso.datetime({ offset: true }),
      ok: z.boolean(),
      /** what the probe saw: "arp reply 52:54:00:…", "ping 100% loss", "200 10.42.1.20" */
      detail: z.string().optional(),
    }),
  )
  .min(1);

export interface Probe {
  atMs: number;
  ok: boolean;
  detail?: string;
}

export function parseProbeSeries(text: string): Probe[] {
  const P = "probe-series";
  const v = check(P, probeSeriesSchema, jsonValue(P, text));
  const out = v.map((p) => {
    const r: Probe = { atMs: Date.parse(p.at), ok: p.ok };
    if (p.detail !== undefined) r.detail = p.detail;
    return r;
  });
  for (let i = 1; i < out.length; i++) if (out[i]!.atMs < out[i - 1]!.atMs) throw new ParseError(P, undefined, JSON.stringify(v[i]), `probe ${i + 1} is earlier than probe ${i}`);
  return out;
}
