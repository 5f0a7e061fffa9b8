/**
 * `conntrack -L` (and `conntrack -E` event lines) for tcp, udp, udplite, sctp, dccp, icmp, icmpv6
 * and gre: protocol, timeout, state, both tuples, flags, mark, use, zone and accounting counters.
 *
 * Accepted line shapes:
 *   [EVENT] [ipv4 2] proto num [timeout] [STATE] orig-tuple [UNREPLIED] reply-tuple [flags] [k=v…]
 * A snapshot (-L) line must end its key=values with use=N, as conntrack always prints it; that is
 * how a line cut short is told from a complete one.
 *   conntrack v1.4.6 (conntrack-tools): 3 flow entries have been shown.   (the -L summary, on stderr)
 *   conntrack v1.4.6 (conntrack-tools): 7 flow events have been shown.    (-E's summary when interrupted)
 * EVENT is `[NEW]`, `[UPDATE]` or `[DESTROY]` (conntrack -E), optionally after `-o timestamp`'s
 * `[1700000000.123456]`. /proc/net/nf_conntrack lines (`ipv6 10 tcp 6 …`, addresses as eight
 * zero-padded groups) parse the same way. Every address is returned canonical (RFC 5952).
 * Any other line is a ParseError (tolerant mode: a warning, and the line is skipped).
 *
 * Note for oracles: a `[NEW]` event is printed when the first packet is seen, so it always carries
 * `[UNREPLIED]`; only a snapshot (`-L`) or a later `[UPDATE]`/`[DESTROY]` says whether a reply came.
 */
import { z } from "zod";
import { ParseError } from "../parse-error.ts";
import { canonicalIp, check, ELISION, lineStep, nothingUsable, sameIp, softFail, type ParseOptions } from "./common.ts";
import { ip, splitLines, uint, type Line } from "./tokens.ts";

const P = "conntrack";

const TCP_STATES = ["NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE", "SYN_SENT2", "LISTEN"] as const;
const SCTP_STATES = ["NONE", "CLOSED", "COOKIE_WAIT", "COOKIE_ECHOED", "ESTABLISHED", "SHUTDOWN_SENT", "SHUTDOWN_RECD", "SHUTDOWN_ACK_SENT", "HEARTBEAT_SENT", "HEARTBEAT_ACKED"] as const;
const DCCP_STATES = ["NONE", "REQUEST", "RESPOND", "PARTOPEN", "OPEN", "CLOSEREQ", "CLOSING", "TIMEWAIT", "IGNORE", "INVALID"] as const;

const PROTOS: Record<string, { num: number; ports: boolean; icmp: boolean; states: readonly string[] }> = {
  tcp: { num: 6, ports: true, icmp: false, states: TCP_STATES },
  udp: { num: 17, ports: true, icmp: false, states: [] },
  udplite: { num: 136, ports: true, icmp: false, states: [] },
  sctp: { num: 132, ports: true, icmp: false, states: SCTP_STATES },
  dccp: { num: 33, ports: true, icmp: false, states: DCCP_STATES },
  icmp: { num: 1, ports: false, icmp: true, states: [] },
  icmpv6: { num: 58, ports: false, icmp: true, states: [] },
  gre: { num: 47, ports: false, icmp: false, states: [] },
};

const tuple = z.object({
  src: z.string(),
  dst: z.string(),
  sport: z.number().int().min(0).max(65535).optional(),
  dport: z.number().int().min(0).max(65535).optional(),
  /** icmp type/code/id */
  type: z.number().int().optional(),
  code: z.number().int().optional(),
  id: z.number().int().optional(),
  /** gre keys */
  srckey: z.string().optional(),
  dstkey: z.string().optional(),
  packets: z.number().int().nonnegative().optional(),
  bytes: z.number().int().nonnegative().optional(),
});

export const conntrackEntrySchema = z.object({
  line: z.number().int().positive(),
  raw: z.string(),
  event: z.enum(["NEW", "UPDATE", "DESTROY"]).optional(),
  l3: z.enum(["ipv4", "ipv6"]).optional(),
  proto: z.string(),
  protoNum: z.number().int(),
  /** seconds left; absent on [DESTROY] events */
  timeout: z.number().int().nonnegative().optional(),
  /** tcp/sctp/dccp state; absent for udp/icmp */
  state: z.string().optional(),
  orig: tuple,
  reply: tuple,
  /** [UNREPLIED] (between the tuples) — no packet seen in the reply direction */
  unreplied: z.boolean(),
  /** [ASSURED], [OFFLOAD], [HW_OFFLOAD], [DYING], … in order of appearance (UNREPLIED excluded) */
  flags: z.array(z.string()),
  mark: z.number().int().nonnegative().optional(),
  use: z.number().int().nonnegative().optional(),
  zone: z.number().int().nonnegative().optional(),
  /** `conntrack -E -o timestamp`: seconds.microseconds */
  timestamp: z.string().optional(),
  /** any other key=value the tool printed after the tuples (secctx, labels, id, delta-time, …) */
  extra: z.record(z.string(), z.string()),
});
export const conntrackSchema = z.object({
  entries: z.array(conntrackEntrySchema),
  /** the count from the "N flow entries have been shown." summary, when present */
  shown: z.number().int().nonnegative().optional(),
  version: z.string().optional(),
  /** "entries" (-L) or "events" (-E), from the summary line */
  shownKind: z.enum(["entries", "events"]).optional(),
});

export type ConntrackTuple = z.infer<typeof tuple>;
export type ConntrackEntry = z.infer<typeof conntrackEntrySchema>;
export type Conntrack = z.infer<typeof conntrackSchema>;

const SUMMARY = /^conntrack (v[\w.-]+) \(conntrack-tools\): (\d+) flow (entries|events) have been shown\.$/;
const FLAG = /^\[([A-Z_]+)\]$/;
const KNOWN_EXTRA = /^(secctx|labels|id|delta-time|zone-orig|zone-reply|helper|timestamp|start|stop)$/;

function parseEntry(line: Line): ConntrackEntry {
  const fail = (d: string): never => {
    throw new ParseError(P, line.no, line.text, d);
  };
  const w = line.text.trim().split(/\s+/);
  let i = 0;
  const e: ConntrackEntry = { line: line.no, raw: line.text, proto: "", protoNum: 0, orig: { src: "", dst: "" }, reply: { src: "", dst: "" }, unreplied: false, flags: [], extra: {} };
  if (/^\[\d+\.\d+\]$/.test(w[0] ?? "")) {
    e.timestamp = w[0]!.slice(1, -1);
    i++;
  }
  const ev = /^\[(NEW|UPDATE|DESTROY)\]$/.exec(w[i] ?? "");
  if (ev) {
    e.event = ev[1] as "NEW" | "UPDATE" | "DESTROY";
    i++;
  }
  if (w[i] === "ipv4" || w[i] === "ipv6") {
    e.l3 = w[i] as "ipv4" | "ipv6";
    const fam = uint(P, line, w[i + 1], "l3 protocol number");
    if (fam !== (e.l3 === "ipv4" ? 2 : 10)) fail(`l3 number ${fam} does not match ${e.l3}`);
    i += 2;
  }
  const proto = w[i] ?? "";
  const spec = PROTOS[proto];
  if (!spec && proto !== "unknown") fail(`unknown protocol ${JSON.stringify(proto)}`);
  const num = uint(P, line, w[i + 1], "protocol number");
  if (spec && spec.num !== num) fail(`${proto} has protocol number ${spec.num}, not ${num}`);
  e.proto = proto;
  e.protoNum = num;
  i += 2;
  if (w[i] !== undefined && /^\d+$/.test(w[i]!)) {
    e.timeout = uint(P, line, w[i], "timeout");
    i++;
  } else if (e.event !== "DESTROY") {
    fail("missing timeout");
  }
  if (w[i] !== undefined && /^[A-Z][A-Z_0-9]*$/.test(w[i]!)) {
    if (!spec || !spec.states.includes(w[i]!)) fail(`state ${w[i]} is not a ${proto} state`);
    e.state = w[i]!;
    i++;
  } else if (spec && spec.states.length > 0 && e.event !== "DESTROY") {
    fail(`missing ${proto} state`);
  }
  // Tuples: key=value words; a second src= starts the reply tuple.
  const tuples: Record<string, string>[] = [];
  let afterTuples = false;
  for (; i < w.length; i++) {
    const word = w[i]!;
    const flag = FLAG.exec(word);
    if (flag) {
      if (flag[1] === "UNREPLIED") {
        if (tuples.length !== 1 || e.unreplied) fail("[UNREPLIED] out of place");
        e.unreplied = true;
      } else {
        if (tuples.length !== 2) fail(`${word} before the reply tuple`);
        e.flags.push(flag[1]!);
        afterTuples = true;
      }
      continue;
    }
    const kv = /^([a-z][a-z0-9_-]*)=(.*)$/.exec(word);
    if (!kv) fail(`unexpected word ${JSON.stringify(word)}`);
    const [, k, v] = kv!;
    if (k === "src" && !afterTuples) {
      if (tuples.length === 2) fail("a third tuple");
      tuples.push({});
    }
    const cur = tuples[tuples.length - 1];
    const tupleKey = /^(src|dst|sport|dport|type|code|id|srckey|dstkey|packets|bytes)$/.test(k!);
    if (cur && tupleKey && !afterTuples && !(k === "id" && !spec?.icmp)) {
      if (cur[k!] !== undefined) fail(`${k} twice in one tuple`);
      cur[k!] = v!;
      continue;
    }
    if (tuples.length !== 2) fail(`${k}= before both tuples`);
    afterTuples = true;
    if (k === "mark") e.mark = uint(P, line, v, "mark");
    else if (k === "use") e.use = uint(P, line, v, "use");
    else if (k === "zone") e.zone = uint(P, line, v, "zone");
    else if (KNOWN_EXTRA.test(k!)) e.extra[k!] = v!;
    else fail(`unknown key ${k}`);
  }
  if (tuples.length !== 2) fail(`expected two tuples, found ${tuples.length} (truncated line?)`);
  // A -L snapshot line always ends with use=N (events carry no use count): without it the line was cut.
  if (e.event === undefined && e.use === undefined) fail("snapshot entry without use= (truncated line?)");
  const mk = (t: Record<string, string>, which: string): ConntrackTuple => {
    const r: ConntrackTuple = { src: canonicalIp(ip(P, line, t.src, `${which} src`)), dst: canonicalIp(ip(P, line, t.dst, `${which} dst`)) };
    if (spec?.ports) {
      r.sport = uint(P, line, t.sport, `${which} sport`);
      r.dport = uint(P, line, t.dport, `${which} dport`);
      if (r.sport > 65535 || r.dport > 65535) fail(`${which} port out of range`);
    } else if (t.sport !== undefined || t.dport !== undefined) fail(`${proto} has no ports`);
    if (spec?.icmp) {
      r.type = uint(P, line, t.type, `${which} type`);
      r.code = uint(P, line, t.code, `${which} code`);
      r.id = uint(P, line, t.id, `${which} id`);
    } else if (t.type !== undefined || t.code !== undefined) fail(`${proto} has no icmp type/code`);
    if (proto === "gre") {
      if (t.srckey === undefined || t.dstkey === undefined) fail(`${which} gre keys missing`);
      r.srckey = t.srckey!;
      r.dstkey = t.dstkey!;
    } else if (t.srckey !== undefined || t.dstkey !== undefined) fail(`${proto} has no gre keys`);
    if (t.packets !== undefined) r.packets = uint(P, line, t.packets, `${which} packets`);
    if (t.bytes !== undefined) r.bytes = uint(P, line, t.bytes, `${which} bytes`);
    return r;
  };
  e.orig = mk(tuples[0]!, "orig");
  e.reply = mk(tuples[1]!, "reply");
  return e;
}

/** Parse conntrack -L / -E output (or /proc/net/nf_conntrack). */
export function parseConntrack(text: string, opts?: ParseOptions): Conntrack {
  const out: Conntrack = { entries: [] };
  let skipped = 0;
  for (const line of splitLines(text)) {
    if (line.text.trim() === "") continue;
    if (opts?.tolerant && ELISION.test(line.text)) {
      skipped++;
      lineStep(opts, line, () => {
        throw new ParseError(P, line.no, line.text, "elision or comment in a pasted excerpt");
      });
      continue;
    }
    const s = SUMMARY.exec(line.text.trim());
    if (s) {
      if (out.shown !== undefined) throw new ParseError(P, line.no, line.text, "second summary line");
      out.version = s[1]!;
      out.shown = uint(P, line, s[2], "flow count");
      out.shownKind = s[3] as "entries" | "events";
      continue;
    }
    if (out.shown !== undefined) {
      softFail(opts, new ParseError(P, line.no, line.text, "entry after the summary line"));
      continue;
    }
    const e = lineStep(opts, line, () => parseEntry(line));
    if (e) out.entries.push(e);
    else skipped++;
  }
  if (out.shown !== undefined && out.shown !== out.entries.length) {
    const err = new ParseError(P, undefined, text.slice(0, 200), `summary says ${out.shown} ${out.shownKind}, ${out.entries.length} parsed (truncated output?)`);
    // a tolerant parse that skipped lines cannot expect the count to match
    if (!(opts?.tolerant && skipped > 0)) softFail(opts, err);
  }
  if (opts?.tolerant && out.entries.length === 0 && (opts.warnings?.length ?? 0) > 0) throw nothingUsable(P, opts, "conntrack entry");
  return check(P, conntrackSchema, out);
}

/** Entries of one flow direction: protocol and original destination (and port when given). */
export function flowEntries(entries: ConntrackEntry[], f: { proto: string; dst: string; dport?: number; src?: string }): ConntrackEntry[] {
  return entries.filter((e) => e.proto === f.proto && sameIp(e.orig.dst, f.dst) && (f.dport === undefined || e.orig.dport === f.dport) && (f.src === undefined || sameIp(e.orig.src, f.src)));
}
