/**
 * `ip [-s] xfrm state` and `ip [-s] xfrm policy` output.
 *
 * Key material is never kept: before anything else looks at the text, every algorithm line's hex
 * key is replaced by a marker holding only its length, so neither the result (`keyRedacted: true`)
 * nor a ParseError message can carry a key. `<<Keys hidden>>` (ip xfrm state -nokeys) is accepted.
 *
 * Each block starts with `src …` (at column 0 as iproute2 prints it, or indented as documentation
 * pages show it: the first head's indentation counts) and continues with more-indented lines; every
 * line of a block must be one iproute2 prints, else ParseError (tolerant mode: a warning, and the
 * line — or a block that cannot stand — is skipped). Addresses come back canonical (RFC 5952).
 */
import { z } from "zod";
import { ParseError } from "../parse-error.ts";
import { canonicalCidr, canonicalIp, check, ELISION, lineStep, nothingUsable, warn, type ParseOptions } from "./common.ts";
import { cidr, hex, ip, splitLines, uint, type Line } from "./tokens.ts";

const P = "xfrm";

const algo = z.object({
  /** enc, auth, auth-trunc, aead, comp */
  type: z.string(),
  /** kernel algorithm name, e.g. "cbc(aes)", "hmac(sha256)", "rfc4106(gcm(aes))" */
  name: z.string(),
  keyBits: z.number().int().nonnegative().optional(),
  /** ICV length (aead) or truncation length (auth-trunc), in bits */
  icvBits: z.number().int().nonnegative().optional(),
  /** always true: the key was present in the text and has been dropped */
  keyRedacted: z.literal(true),
});

const lifetimeCurrent = z.object({ bytes: z.number().int().nonnegative(), packets: z.number().int().nonnegative(), add: z.string().optional(), use: z.string().optional() });

const selector = z.object({
  src: z.string(),
  dst: z.string(),
  proto: z.string().optional(),
  sport: z.number().int().optional(),
  dport: z.number().int().optional(),
  type: z.number().int().optional(),
  code: z.number().int().optional(),
  dev: z.string().optional(),
});

export const xfrmStateSchema = z.object({
  line: z.number().int().positive(),
  src: z.string(),
  dst: z.string(),
  proto: z.string(),
  spi: z.string().optional(),
  reqid: z.number().int().nonnegative(),
  mode: z.string(),
  replayWindow: z.number().int().nonnegative().optional(),
  flags: z.array(z.string()),
  algorithms: z.array(algo),
  selector: selector.optional(),
  encap: z.object({ type: z.string(), sport: z.number().int(), dport: z.number().int(), addr: z.string() }).optional(),
  mark: z.string().optional(),
  outputMark: z.string().optional(),
  ifId: z.string().optional(),
  dir: z.string().optional(),
  lifetimeCurrent: lifetimeCurrent.optional(),
  stats: z.object({ replayWindow: z.number().int().nonnegative(), replay: z.number().int().nonnegative(), integrityFailed: z.number().int().nonnegative() }).optional(),
});

export const xfrmPolicySchema = z.object({
  line: z.number().int().positive(),
  selector,
  dir: z.string(),
  socket: z.boolean(),
  action: z.string().optional(),
  index: z.number().int().optional(),
  priority: z.number().int().nonnegative(),
  ptype: z.string().optional(),
  mark: z.string().optional(),
  ifId: z.string().optional(),
  lifetimeCurrent: lifetimeCurrent.optional(),
  templates: z.array(z.object({ src: z.string(), dst: z.string(), proto: z.string(), spi: z.string().optional(), reqid: z.number().int().nonnegative(), mode: z.string(), level: z.string().optional() })),
});

export type XfrmState = z.infer<typeof xfrmStateSchema>;
export type XfrmPolicy = z.infer<typeof xfrmPolicySchema>;

interface Block {
  head: Line;
  body: Line[];
}

function blocks(text: string, opts?: ParseOptions): Block[] {
  const out: Block[] = [];
  let headIndent: number | undefined;
  const indentOf = (t: string): number => /^[\t ]*/.exec(t)![0].replace(/\t/g, "        ").length;
  for (const line of splitLines(text)) {
    if (line.text.trim() === "") continue;
    if (opts?.tolerant && ELISION.test(line.text)) {
      warn(opts, line.no, line.text, "elision or comment in a pasted excerpt");
      continue;
    }
    const ind = indentOf(line.text);
    if (line.text.trimStart().startsWith("src ") && (headIndent === undefined || ind <= headIndent)) {
      headIndent ??= ind;
      out.push({ head: { no: line.no, text: line.text.trim() }, body: [] });
    } else if (headIndent !== undefined && ind > headIndent && out.length > 0) out[out.length - 1]!.body.push(line);
    else lineStep(opts, line, () => {
      throw new ParseError(P, line.no, line.text, "line outside a src … dst … block");
    });
  }
  return out;
}

/** ip xfrm "id" line: `proto esp spi 0xc1a2b3c4[(3248665540)] reqid 1[(0x00000001)] mode tunnel`. */
const ID_LINE = /^proto (\S+) (?:spi (0x[0-9a-f]{8})(?:\((\d+)\))? )?reqid (\d+)(?:\(0x[0-9a-f]{8}\))? mode (\S+)$/;
const ALGO_LINE = /^(enc|auth|auth-trunc|aead|comp) (\S+) (?:<<key (\d+) hex digits>>(?: \((\d+) bits\))?|<<Keys hidden>>)(?: (\d+))?$/;

/** Replace algorithm keys by their length before any parsing (a malformed key by a marker that fails to parse). */
function redactKeys(text: string): string {
  return text.replace(/^(\s*(?:enc|auth|auth-trunc|aead|comp) \S+ )0x(\S*)/gm, (_m, pre: string, key: string) =>
    /^[0-9a-fA-F]*$/.test(key) ? `${pre}<<key ${key.length} hex digits>>` : `${pre}<<malformed key redacted>>`,
  );
}
const SEL_LINE = /^sel (.+)$/;

function parseSelector(line: Line, text: string): z.infer<typeof selector> {
  const w = text.trim().split(/\s+/);
  const sel: z.infer<typeof selector> = { src: "", dst: "" };
  for (let i = 0; i < w.length; i += 2) {
    const k = w[i]!;
    const v = w[i + 1];
    if (v === undefined) throw new ParseError(P, line.no, line.text, `selector key ${k} without value`);
    if (k === "src" || k === "dst") sel[k] = canonicalCidr(cidr(P, line, v, `selector ${k}`));
    else if (k === "proto") sel.proto = v;
    else if (k === "sport" || k === "dport" || k === "type" || k === "code") sel[k] = uint(P, line, v, `selector ${k}`);
    else if (k === "dev") sel.dev = v;
    else if (k === "uid") uint(P, line, v, "selector uid"); // printed with -s; not needed by any oracle
    else throw new ParseError(P, line.no, line.text, `unknown selector key ${k}`);
  }
  if (!sel.src || !sel.dst) throw new ParseError(P, line.no, line.text, "selector without src/dst");
  return sel;
}

/** Lines shared by states and policies: lifetime and mark/if_id. Returns true when consumed. */
function commonLine(line: Line, t: string, target: { lifetimeCurrent?: z.infer<typeof lifetimeCurrent>; mark?: string; ifId?: string; outputMark?: string }, ctx: { section?: string }): boolean {
  let m: RegExpExecArray | null;
  if (t === "lifetime config:" || t === "lifetime current:" || t === "stats:") {
    ctx.section = t;
    if (t === "lifetime current:") target.lifetimeCurrent = { bytes: 0, packets: 0 };
    return true;
  }
  if (ctx.section === "lifetime config:" && /^(limit: soft (\(INF\)|\d+)\((bytes|packets)\), hard (\(INF\)|\d+)\((bytes|packets)\)|expire (add|use): soft \d+\(sec\), hard \d+\(sec\))$/.test(t)) return true;
  if (ctx.section === "lifetime current:" && (m = /^(\d+)\(bytes\), (\d+)\(packets\)$/.exec(t))) {
    target.lifetimeCurrent = { bytes: uint(P, line, m[1], "bytes"), packets: uint(P, line, m[2], "packets") };
    return true;
  }
  if (ctx.section === "lifetime current:" && (m = /^add (\S+(?: \S+)?) use (\S+(?: \S+)?)$/.exec(t))) {
    if (!target.lifetimeCurrent) target.lifetimeCurrent = { bytes: 0, packets: 0 };
    target.lifetimeCurrent.add = m[1]!;
    target.lifetimeCurrent.use = m[2]!;
    return true;
  }
  if ((m = /^mark (0x[0-9a-f]+\/0x[0-9a-f]+)(?: output-mark (0x[0-9a-f]+(?:\/0x[0-9a-f]+)?))?$/.exec(t))) {
    target.mark = m[1]!;
    if (m[2]) target.outputMark = m[2];
    return true;
  }
  if ((m = /^output-mark (0x[0-9a-f]+(?:\/0x[0-9a-f]+)?)$/.exec(t))) {
    target.outputMark = m[1]!;
    return true;
  }
  if ((m = /^if_id (0x[0-9a-f]+)$/.exec(t))) {
    target.ifId = hex(P, line, m[1], "if_id");
    return true;
  }
  return false;
}

/** Parse `ip [-s] xfrm state [list]` output. */
export function parseXfrmState(text: string, opts?: ParseOptions): XfrmState[] {
  const out: XfrmState[] = [];
  for (const b of blocks(redactKeys(text), opts)) lineStep(opts, b.head, () => {
    const hm = /^src (\S+) dst (\S+)$/.exec(b.head.text.trimEnd());
    if (!hm) throw new ParseError(P, b.head.no, b.head.text, "bad state head (expected `src ADDR dst ADDR`)");
    const st: Partial<XfrmState> & { flags: string[]; algorithms: XfrmState["algorithms"] } = {
      line: b.head.no,
      src: canonicalIp(ip(P, b.head, hm[1], "src")),
      dst: canonicalIp(ip(P, b.head, hm[2], "dst")),
      flags: [],
      algorithms: [],
    };
    const ctx: { section?: string } = {};
    let sawId = false;
    for (const line of b.body) lineStep(opts, line, () => {
      const t = line.text.trim();
      const fail = (d: string): never => {
        throw new ParseError(P, line.no, line.text, d);
      };
      let m: RegExpExecArray | null;
      if ((m = ID_LINE.exec(t))) {
        if (sawId) fail("second proto line");
        sawId = true;
        st.proto = m[1]!;
        if (m[2]) st.spi = m[2];
        st.reqid = uint(P, line, m[4], "reqid");
        st.mode = m[5]!;
        ctx.section = undefined;
        return;
      }
      if (!sawId) fail("state block must start with its proto/spi/reqid/mode line");
      if ((m = /^replay-window (\d+)(?: seq 0x[0-9a-f]+)?(?: flag (\S+(?: \S+)*?))?(?: extra_flag (\S+(?: \S+)*?))?(?: \(0x[0-9a-f]+\))?$/.exec(t))) {
        st.replayWindow = uint(P, line, m[1], "replay-window");
        if (m[2]) st.flags.push(...m[2].split(" "));
        if (m[3]) st.flags.push(...m[3].split(" "));
        return;
      }
      if ((m = ALGO_LINE.exec(t))) {
        // m[3] is the key's length in hex digits; the key itself was removed by redactKeys().
        const a: XfrmState["algorithms"][number] = { type: m[1]!, name: m[2]!, keyRedacted: true };
        const digits = m[3] !== undefined ? uint(P, line, m[3], "key length") : undefined;
        if (digits !== undefined && digits % 2 !== 0) fail("odd-length key");
        if (m[4] !== undefined) a.keyBits = uint(P, line, m[4], "key bits");
        else if (digits !== undefined) a.keyBits = digits * 4;
        if (digits !== undefined && a.keyBits !== digits * 4) fail(`key of ${digits * 4} bits announced as ${a.keyBits} bits`);
        if (m[5] !== undefined) {
          if (a.type !== "aead" && a.type !== "auth-trunc") fail(`${a.type} has no ICV length`);
          a.icvBits = uint(P, line, m[5], "icv bits");
        } else if (a.type === "aead" || a.type === "auth-trunc") fail(`${a.type} without its ICV length`);
        st.algorithms.push(a);
        return;
      }
      if ((m = SEL_LINE.exec(t))) {
        st.selector = parseSelector(line, m[1]!);
        return;
      }
      if ((m = /^encap type (\S+) sport (\d+) dport (\d+) addr (\S+)$/.exec(t))) {
        st.encap = { type: m[1]!, sport: uint(P, line, m[2], "sport"), dport: uint(P, line, m[3], "dport"), addr: canonicalIp(ip(P, line, m[4], "encap addr")) };
        return;
      }
      if ((m = /^dir (in|out|other \(\d+\))$/.exec(t))) {
        st.dir = m[1]!;
        return;
      }
      if (/^(anti-replay context: seq 0x[0-9a-f]+, oseq 0x[0-9a-f]+, bitmap 0x[0-9a-f]{8}|anti-replay esn context:|seq-hi 0x[0-9a-f]+, seq 0x[0-9a-f]+, oseq-hi 0x[0-9a-f]+, oseq 0x[0-9a-f]+|replay_window \d+, bitmap-length \d+|([0-9a-f]{8} ?)+|lastused .+|tfcpad \d+|pcpu-num \d+|crypto offload parameters: .+|security context .+|coa .+)$/.test(t)) {
        return; // recognised, not needed by any oracle
      }
      if (ctx.section === "stats:" && (m = /^replay-window (\d+) replay (\d+) failed (\d+)$/.exec(t))) {
        st.stats = { replayWindow: uint(P, line, m[1], "replay-window"), replay: uint(P, line, m[2], "replay"), integrityFailed: uint(P, line, m[3], "failed") };
        return;
      }
      if (commonLine(line, t, st, ctx)) return;
      fail("unrecognised state line");
    });
    if (!sawId) throw new ParseError(P, b.head.no, b.head.text, "state block without its proto line (truncated output?)");
    if (ctx.section === "lifetime current:" && st.lifetimeCurrent?.add === undefined) throw new ParseError(P, b.head.no, b.head.text, "lifetime current section is incomplete (truncated output?)");
    if (ctx.section === "stats:" && !st.stats) throw new ParseError(P, b.head.no, b.head.text, "stats section is empty (truncated output?)");
    out.push(st as XfrmState);
  });
  if (opts?.tolerant && out.length === 0 && (opts.warnings?.length ?? 0) > 0) throw nothingUsable(P, opts, "xfrm state");
  return check(P, z.array(xfrmStateSchema), out);
}

/** Parse `ip [-s] xfrm policy [list]` output. */
export function parseXfrmPolicy(text: string, opts?: ParseOptions): XfrmPolicy[] {
  const out: XfrmPolicy[] = [];
  for (const b of blocks(text, opts)) lineStep(opts, b.head, () => {
    const pol: Partial<XfrmPolicy> & { templates: XfrmPolicy["templates"] } = { line: b.head.no, selector: parseSelector(b.head, b.head.text), templates: [] };
    const ctx: { section?: string } = {};
    let sawDir = false;
    let tmpl: XfrmPolicy["templates"][number] | undefined;
    let tmplOpen = false; // a "tmpl src dst" line waiting for its proto line
    for (const line of b.body) lineStep(opts, line, () => {
      const t = line.text.trim();
      const fail = (d: string): never => {
        throw new ParseError(P, line.no, line.text, d);
      };
      let m: RegExpExecArray | null;
      if ((m = /^(?:(socket) (in|out|\d+)|dir (in|out|fwd|\d+)) (?:action (allow|block|\d+) )?(?:index (\d+) )?priority (\d+)(?: ptype (\S+))?(?: share \S+)?(?: flag \S+(?: \S+)*? \(0x[0-9a-f]+\))?$/.exec(t))) {
        if (sawDir) fail("second dir line");
        sawDir = true;
        pol.socket = m[1] !== undefined;
        pol.dir = (m[2] ?? m[3])!;
        if (m[4]) pol.action = m[4];
        if (m[5]) pol.index = uint(P, line, m[5], "index");
        pol.priority = uint(P, line, m[6], "priority");
        if (m[7]) pol.ptype = m[7];
        return;
      }
      if (!sawDir) fail("policy block must start with its dir line");
      if ((m = /^tmpl src (\S+) dst (\S+)$/.exec(t))) {
        if (tmplOpen) fail("tmpl without its proto line");
        tmpl = { src: canonicalIp(ip(P, line, m[1], "tmpl src")), dst: canonicalIp(ip(P, line, m[2], "tmpl dst")), proto: "", reqid: 0, mode: "" };
        tmplOpen = true;
        return;
      }
      if (tmplOpen && (m = ID_LINE.exec(t))) {
        tmpl!.proto = m[1]!;
        if (m[2]) tmpl!.spi = m[2];
        tmpl!.reqid = uint(P, line, m[4], "reqid");
        tmpl!.mode = m[5]!;
        pol.templates.push(tmpl!);
        tmplOpen = false;
        return;
      }
      if (tmpl && !tmplOpen && (m = /^level (required|use|\d+)(?: share \S+)?$/.exec(t))) {
        tmpl.level = m[1]!;
        return;
      }
      if (tmpl && /^(enc|auth|comp)-mask \S+ (enc|auth|comp)-mask \S+ (enc|auth|comp)-mask \S+$/.test(t)) return;
      if (tmplOpen) fail("tmpl without its proto line");
      if (commonLine(line, t, pol, ctx)) return;
      fail("unrecognised policy line");
    });
    if (!sawDir) throw new ParseError(P, b.head.no, b.head.text, "policy block without its dir line (truncated output?)");
    if (tmplOpen) throw new ParseError(P, b.head.no, b.head.text, "tmpl without its proto line (truncated output?)");
    out.push(pol as XfrmPolicy);
  });
  if (opts?.tolerant && out.length === 0 && (opts.warnings?.length ?? 0) > 0) throw nothingUsable(P, opts, "xfrm policy");
  return check(P, z.array(xfrmPolicySchema), out);
}
