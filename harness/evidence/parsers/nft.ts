/**
 * nftables rulesets as `nft list table …` / `nft list ruleset` print them (text, with or without
 * `-a` handles) and as `nft -j list …` prints them (libnftables JSON, schema version 1), parsed into
 * one model: tables with their chains (hook, priority, policy), rules broken into statements,
 * sets and maps with their elements. Written from nftables' documented syntax (nft(8) and
 * libnftables-json(5)) and checked against what kube-proxy's nftables mode prints.
 *
 * Both forms give the same model: expressions are normalised to nft's text spelling
 * ("ip daddr . meta l4proto . th dport", "numgen random mod 3", "fib daddr type"), bare meta keys
 * get their "meta" prefix ("iifname" → "meta iifname"), numbers are decimal (0x00004000 → 16384),
 * quoted strings lose their quotes.
 *
 * Every token must be accounted for: an unknown table item, set property, statement or JSON
 * object is a ParseError naming it, and so is unbalanced `{ }`.
 */
import { z } from "zod";
import { ParseError } from "../parse-error.ts";
import { check } from "./common.ts";

const P = "nft";

const VERDICTS = ["jump", "goto", "accept", "drop", "return", "continue", "queue"] as const;
const verdictSchema = z.object({ verdict: z.enum(VERDICTS), target: z.string().min(1).optional() });
const elementSchema = z.object({
  /** the key, one string per part of a concatenation ("10.96.0.10 . tcp . 53" → 3 parts) */
  key: z.array(z.string().min(1)).min(1),
  /** a verdict map's verdict */
  verdict: verdictSchema.optional(),
  /** a data map's value */
  data: z.string().optional(),
  comment: z.string().optional(),
});
const stmtSchema = z.discriminatedUnion("kind", [
  /** `ip daddr 10.0.0.1`, `ip saddr != 10.244.0.0/16`, `ip daddr @cluster-ips`, `fib daddr type local` */
  z.object({ kind: z.literal("match"), left: z.string().min(1), op: z.enum(["==", "!=", "<", ">", "<=", ">="]), right: z.string().min(1) }),
  z.object({ kind: z.literal("verdict"), verdict: z.enum(VERDICTS), target: z.string().min(1).optional() }),
  /** `<key> vmap @map` or `<key> vmap { 0 : goto a, 1 : goto b }` */
  z.object({ kind: z.literal("vmap"), key: z.string().min(1), map: z.string().min(2).optional(), elements: z.array(elementSchema).optional() }),
  /** `meta mark set meta mark | 16384` */
  z.object({ kind: z.literal("set"), left: z.string().min(1), value: z.string().min(1) }),
  /** dnat/snat/masquerade/redirect; `to` is "addr", "addr:port" or ":port" */
  z.object({ kind: z.literal("nat"), type: z.enum(["dnat", "snat", "masquerade", "redirect"]), family: z.enum(["ip", "ip6"]).optional(), to: z.string().min(1).optional(), flags: z.array(z.string()) }),
  z.object({ kind: z.literal("counter"), packets: z.number().int().nonnegative().optional(), bytes: z.number().int().nonnegative().optional() }),
  z.object({ kind: z.literal("reject"), with: z.string().optional() }),
  z.object({ kind: z.literal("notrack") }),
  z.object({ kind: z.literal("log"), prefix: z.string().optional() }),
]);
export const nftRuleSchema = z.object({
  chain: z.string().min(1),
  /** 1-based line of the text form; absent for JSON */
  line: z.number().int().positive().optional(),
  handle: z.number().int().nonnegative().optional(),
  comment: z.string().optional(),
  /** the rule in normalised nft text (the same for both input forms) */
  text: z.string(),
  stmts: z.array(stmtSchema).min(1),
});
export const nftChainSchema = z.object({
  name: z.string().min(1),
  /** base chains: `type nat hook prerouting priority dstnat; policy accept;` */
  type: z.string().optional(),
  hook: z.string().optional(),
  /** as printed: "dstnat", "dstnat - 10", "-100" (JSON gives the number) */
  priority: z.string().optional(),
  policy: z.string().optional(),
  comment: z.string().optional(),
  rules: z.array(nftRuleSchema),
});
export const nftSetSchema = z.object({
  name: z.string().min(1),
  /** true for `map` (key : data) */
  map: z.boolean(),
  keyType: z.array(z.string().min(1)).min(1),
  /** a map's data type: "verdict", "ipv4_addr", … */
  dataType: z.string().optional(),
  flags: z.array(z.string()),
  comment: z.string().optional(),
  elements: z.array(elementSchema),
});
export const nftTableSchema = z.object({
  family: z.enum(["ip", "ip6", "inet", "arp", "bridge", "netdev"]),
  name: z.string().min(1),
  comment: z.string().optional(),
  flags: z.array(z.string()),
  chains: z.record(z.string(), nftChainSchema),
  /** sets and maps by name */
  sets: z.record(z.string(), nftSetSchema),
});
export const nftRulesetSchema = z.object({
  form: z.enum(["text", "json"]),
  /** `nft -j` metainfo version */
  version: z.string().optional(),
  tables: z.array(nftTableSchema),
});

export type NftVerdict = z.infer<typeof verdictSchema>;
export type NftElement = z.infer<typeof elementSchema>;
export type NftStmt = z.infer<typeof stmtSchema>;
export type NftRule = z.infer<typeof nftRuleSchema>;
export type NftChain = z.infer<typeof nftChainSchema>;
export type NftSet = z.infer<typeof nftSetSchema>;
export type NftTable = z.infer<typeof nftTableSchema>;
export type NftRuleset = z.infer<typeof nftRulesetSchema>;

const FAMILIES = new Set(["ip", "ip6", "inet", "arp", "bridge", "netdev"]);
const IDENT = /^[A-Za-z_.][A-Za-z0-9/\-_.]*$/;

// ---------------------------------------------------------------------------------------------
// Shared normalisation

/** 0x00004000 → "16384"; anything else unchanged. */
function num(v: string): string {
  return /^0x[0-9a-fA-F]{1,16}$/.test(v) ? String(Number.parseInt(v, 16)) : v;
}

/** meta keys nft prints without the "meta" prefix */
const BARE_META = new Set(["iif", "oif", "iifname", "oifname", "iiftype", "oiftype", "mark", "skuid", "skgid", "nfproto", "rtclassid", "ibrname", "obrname", "ibriport", "obriport", "cpu", "iifgroup", "oifgroup", "cgroup"]);
/** protocols whose header fields `<proto> <field>` name a payload expression */
const PAYLOAD = new Set(["ip", "ip6", "tcp", "udp", "udplite", "sctp", "dccp", "th", "ether", "vlan", "arp", "icmp", "icmpv6", "igmp", "ah", "esp", "comp", "ip6h"]);
const FIELDS = new Set([
  "saddr", "daddr", "sport", "dport", "protocol", "nexthdr", "length", "ttl", "hoplimit", "dscp", "ecn", "id", "frag-off", "version", "hdrlength", "checksum",
  "flags", "sequence", "ackseq", "window", "urgptr", "doff", "type", "code", "vtag", "flowlabel", "priority", "spi", "vid", "pcp", "cfi", "htype", "ptype", "hlen", "plen", "operation", "l4proto",
]);
/** what a bare `reject` means (nft prints it bare, nft -j spells it out): normalised to no "with" */
const DEFAULT_REJECT = new Set(["icmp port-unreachable", "icmpv6 port-unreachable", "icmpx port-unreachable"]);
const BINOPS = new Set(["&", "|", "^", "<<", ">>"]);
const OPS = new Set(["==", "!=", "<", ">", "<=", ">=", "eq", "ne", "lt", "gt", "le", "ge"]);
const OP_NAMES: Record<string, "==" | "!=" | "<" | ">" | "<=" | ">="> = { "==": "==", eq: "==", "!=": "!=", ne: "!=", "<": "<", lt: "<", ">": ">", gt: ">", "<=": "<=", le: "<=", ">=": ">=", ge: ">=" };

/** The rule in normalised text, rebuilt from its statements (the same for text and JSON input). */
export function renderStmt(s: NftStmt): string {
  switch (s.kind) {
    case "match":
      // `meta mark & 16384 == 0`: after a binary operation the == is printed
      return s.op === "==" && !/ (&|\||\^|<<|>>) /.test(s.left) ? `${s.left} ${s.right}` : `${s.left} ${s.op} ${s.right}`;
    case "verdict":
      return s.target ? `${s.verdict} ${s.target}` : s.verdict;
    case "vmap":
      return `${s.key} vmap ${s.map ?? `{ ${(s.elements ?? []).map(renderElement).join(", ")} }`}`;
    case "set":
      return `${s.left} set ${s.value}`;
    case "nat":
      return [s.type, s.family, s.to ? `to ${s.to}` : undefined, ...s.flags].filter(Boolean).join(" ");
    case "counter":
      return s.packets !== undefined ? `counter packets ${s.packets} bytes ${s.bytes ?? 0}` : "counter";
    case "reject":
      return s.with ? `reject with ${s.with}` : "reject";
    case "notrack":
      return "notrack";
    case "log":
      return s.prefix !== undefined ? `log prefix ${JSON.stringify(s.prefix)}` : "log";
  }
}

function renderElement(e: NftElement): string {
  const k = e.key.join(" . ") + (e.comment !== undefined ? ` comment ${JSON.stringify(e.comment)}` : "");
  if (e.verdict) return `${k} : ${e.verdict.target ? `${e.verdict.verdict} ${e.verdict.target}` : e.verdict.verdict}`;
  if (e.data !== undefined) return `${k} : ${e.data}`;
  return k;
}

// ---------------------------------------------------------------------------------------------
// Text form: tokens

interface Tok {
  /** "word", "string", "{", "}", ";", ",", "nl" */
  t: "word" | "string" | "{" | "}" | ";" | "," | "nl";
  v: string;
  line: number;
  /** whitespace (or line start) before it */
  spaced: boolean;
}

function lex(text: string): { toks: Tok[]; lines: string[] } {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  const toks: Tok[] = [];
  lines.forEach((l, idx) => {
    const line = idx + 1;
    let i = 0;
    let spaced = true;
    while (i < l.length) {
      const c = l[i]!;
      if (c === " " || c === "\t") {
        spaced = true;
        i++;
        continue;
      }
      if (c === "#") {
        // `# handle 7` (nft -a) and other trailing comments: kept as one token for the rule parser
        toks.push({ t: "word", v: l.slice(i).trimEnd(), line, spaced: true });
        break;
      }
      if (c === "{" || c === "}" || c === ";" || c === ",") {
        toks.push({ t: c, v: c, line, spaced });
        spaced = false;
        i++;
        continue;
      }
      if (c === '"') {
        let v = "";
        i++;
        let closed = false;
        while (i < l.length) {
          const d = l[i]!;
          if (d === "\\" && i + 1 < l.length) {
            v += l[i + 1];
            i += 2;
          } else if (d === '"') {
            closed = true;
            i++;
            break;
          } else {
            v += d;
            i++;
          }
        }
        if (!closed) throw new ParseError(P, line, l, "unterminated quoted string");
        toks.push({ t: "string", v, line, spaced });
        spaced = false;
        continue;
      }
      let v = "";
      while (i < l.length && !" \t{};,\"#".includes(l[i]!)) v += l[i++];
      if (/[\u0000-\u001f\u007f]/.test(v)) throw new ParseError(P, line, l, `control character in ${JSON.stringify(v)}`);
      toks.push({ t: "word", v, line, spaced });
      spaced = false;
    }
    toks.push({ t: "nl", v: "\n", line, spaced: true });
  });
  return { toks, lines };
}

class Cursor {
  i = 0;
  readonly toks: Tok[];
  readonly lines: string[];
  constructor(toks: Tok[], lines: string[]) {
    this.toks = toks;
    this.lines = lines;
  }
  peek(o = 0): Tok | undefined {
    return this.toks[this.i + o];
  }
  next(): Tok | undefined {
    return this.toks[this.i++];
  }
  fail(detail: string, at: Tok | undefined = this.peek() ?? this.toks[this.toks.length - 1]): never {
    const line = at?.line;
    throw new ParseError(P, line, line !== undefined ? this.lines[line - 1] ?? "" : "", detail);
  }
  word(what: string): string {
    const t = this.next();
    if (!t || (t.t !== "word" && t.t !== "string")) this.fail(`${what}: expected a word, got ${t ? JSON.stringify(t.v) : "end of input"}`, t);
    return t!.v;
  }
  expect(kind: Tok["t"], what: string): Tok {
    const t = this.next();
    if (!t || t.t !== kind) this.fail(`${what}: expected ${JSON.stringify(kind === "nl" ? "end of line" : kind)}, got ${t ? JSON.stringify(t.v) : "end of input"}`, t);
    return t!;
  }
  skipBlank(): void {
    while (this.peek()?.t === "nl" || this.peek()?.t === ";") this.i++;
  }
  /** tokens up to the end of the line (or `;`) at brace depth 0; the terminator is consumed */
  statementTokens(what: string): Tok[] {
    const out: Tok[] = [];
    let depth = 0;
    for (;;) {
      const t = this.peek();
      if (!t) {
        if (depth > 0) this.fail(`${what}: unbalanced "{"`);
        return out;
      }
      if (depth === 0 && (t.t === "nl" || t.t === ";")) {
        this.i++;
        return out;
      }
      if (depth === 0 && t.t === "}") return out; // the closing brace of the enclosing block
      if (t.t === "{") depth++;
      if (t.t === "}") depth--;
      if (t.t === "nl") {
        this.i++;
        continue; // a set literal spanning lines
      }
      out.push(t);
      this.i++;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Text form: expressions and statements over one statement's tokens

class Expr {
  i = 0;
  readonly toks: Tok[];
  readonly c: Cursor;
  constructor(toks: Tok[], c: Cursor) {
    this.toks = toks;
    this.c = c;
  }
  peek(o = 0): Tok | undefined {
    return this.toks[this.i + o];
  }
  done(): boolean {
    return this.i >= this.toks.length;
  }
  fail(detail: string, at?: Tok): never {
    return this.c.fail(detail, at ?? this.peek() ?? this.toks[this.toks.length - 1]);
  }
  word(what: string): string {
    const t = this.toks[this.i++];
    if (!t || (t.t !== "word" && t.t !== "string")) this.fail(`${what}: expected a word, got ${t ? JSON.stringify(t.v) : "end of rule"}`, t);
    return t!.v;
  }
  isWord(v: string, o = 0): boolean {
    const t = this.peek(o);
    return !!t && t.t === "word" && t.v === v;
  }

  /** A selector (an expression reading the packet or its metadata) starting here, or undefined. */
  selector(valuePosition: boolean): string | undefined {
    const t = this.peek();
    if (!t || t.t !== "word") return undefined;
    const w = t.v;
    const nextW = this.peek(1)?.t === "word" ? this.peek(1)!.v : undefined;
    if (PAYLOAD.has(w) && nextW !== undefined && FIELDS.has(nextW)) {
      this.i += 2;
      return `${w} ${nextW}`;
    }
    if (w === "meta") {
      this.i++;
      return `meta ${this.word("meta key")}`;
    }
    if (BARE_META.has(w) && !valuePosition) {
      this.i++;
      return `meta ${w}`;
    }
    if (w === "ct") {
      this.i++;
      const parts = ["ct"];
      let k = this.word("ct key");
      if (k === "original" || k === "reply") {
        parts.push(k);
        k = this.word("ct key");
        if ((k === "ip" || k === "ip6") && this.peek()?.t === "word") {
          parts.push(k);
          k = this.word("ct key");
        }
      }
      parts.push(k);
      return parts.join(" ");
    }
    if (w === "fib") {
      this.i++;
      const parts = ["fib"];
      for (let n = 0; n < 8; n++) {
        const x = this.word("fib expression");
        parts.push(x);
        if (x === "type" || x === "oif" || x === "oifname") return parts.join(" ");
      }
      this.fail("fib expression: no result (type, oif, oifname)");
    }
    if (w === "numgen") {
      this.i++;
      const mode = this.word("numgen mode");
      if (mode !== "random" && mode !== "inc") this.fail(`numgen mode ${JSON.stringify(mode)}: expected random or inc`);
      if (this.word("numgen") !== "mod") this.fail("numgen: expected mod");
      const mod = this.word("numgen modulus");
      if (!/^\d{1,10}$/.test(mod)) this.fail(`numgen modulus ${JSON.stringify(mod)} is not a number`);
      let s = `numgen ${mode} mod ${mod}`;
      if (this.isWord("offset")) {
        this.i++;
        const off = this.word("numgen offset");
        if (!/^\d{1,10}$/.test(off)) this.fail(`numgen offset ${JSON.stringify(off)} is not a number`);
        if (off !== "0") s += ` offset ${off}`;
      }
      return s;
    }
    return undefined;
  }

  /** A literal value: a word, a quoted string, a set reference, or `{ … }`. */
  literal(what: string): string {
    const t = this.peek();
    if (!t) this.fail(`${what}: missing value`);
    if (t!.t === "{") return `{ ${this.setLiteral().map((e) => renderElement(e)).join(", ")} }`;
    if (t!.t !== "word" && t!.t !== "string") this.fail(`${what}: unexpected ${JSON.stringify(t!.v)}`, t);
    if (t!.t === "word" && (OPS.has(t!.v) || BINOPS.has(t!.v) || t!.v === "." || t!.v === ":" || t!.v.startsWith("#"))) this.fail(`${what}: unexpected ${JSON.stringify(t!.v)}`, t);
    this.i++;
    let v = t!.t === "word" ? num(t!.v) : t!.v;
    // `ct state established,related`: comma-joined flags without spaces
    while (this.peek()?.t === "," && !this.peek()!.spaced && this.peek(1)?.t === "word" && !this.peek(1)!.spaced) {
      v += `,${this.peek(1)!.v}`;
      this.i += 2;
    }
    return v;
  }

  /** primary (binop primary)* (. primary)* ; in value position a selector only where it cannot be a literal */
  expr(what: string, valuePosition: boolean): string {
    const parts: string[] = [];
    for (;;) {
      let p = this.selector(valuePosition) ?? this.literal(what);
      while (this.peek()?.t === "word" && BINOPS.has(this.peek()!.v)) {
        const op = this.peek()!.v;
        this.i++;
        p += ` ${op} ${this.selector(true) ?? this.literal(`${what} after ${op}`)}`;
      }
      parts.push(p);
      if (this.isWord(".")) {
        this.i++;
        continue;
      }
      return parts.join(" . ");
    }
  }

  /** `{ a, b }` / `{ 0 : goto x, 1 : goto y }` with optional per-element comments */
  setLiteral(): NftElement[] {
    const open = this.toks[this.i++];
    if (open?.t !== "{") this.fail("expected {", open);
    const out: NftElement[] = [];
    for (;;) {
      const t = this.peek();
      if (!t) this.fail("unterminated { … }");
      if (t!.t === "}") {
        this.i++;
        return out;
      }
      out.push(this.element());
      const sep = this.peek();
      if (sep?.t === ",") this.i++;
      else if (sep?.t !== "}") this.fail(`set literal: expected "," or "}", got ${sep ? JSON.stringify(sep.v) : "end of rule"}`, sep);
    }
  }

  element(): NftElement {
    const key: string[] = [];
    for (;;) {
      key.push(this.literalNoSet("element"));
      if (this.isWord(".")) {
        this.i++;
        continue;
      }
      break;
    }
    const e: NftElement = { key };
    // element options nft prints: comment, timeout, expires, counter
    for (;;) {
      if (this.isWord("comment")) {
        this.i++;
        const s = this.toks[this.i++];
        if (s?.t !== "string" && s?.t !== "word") this.fail("element comment: expected a string", s);
        e.comment = s!.v;
      } else if (this.isWord("timeout") || this.isWord("expires")) {
        this.i += 2;
      } else if (this.isWord("counter")) {
        this.i++;
        if (this.isWord("packets")) this.i += 4;
      } else break;
    }
    if (this.isWord(":")) {
      this.i++;
      const w = this.peek();
      if (w?.t === "word" && (VERDICTS as readonly string[]).includes(w.v)) {
        this.i++;
        const v: NftVerdict = { verdict: w.v as NftVerdict["verdict"] };
        if (v.verdict === "jump" || v.verdict === "goto") {
          const target = this.word(`${v.verdict} target`);
          if (!IDENT.test(target)) this.fail(`${v.verdict} target ${JSON.stringify(target)} is not a chain name`);
          v.target = target;
        }
        e.verdict = v;
      } else {
        const parts = [this.literalNoSet("map value")];
        while (this.isWord(".")) {
          this.i++;
          parts.push(this.literalNoSet("map value"));
        }
        e.data = parts.join(" . ");
      }
    }
    return e;
  }

  literalNoSet(what: string): string {
    const t = this.peek();
    if (t?.t === "{") this.fail(`${what}: nested set`, t);
    return this.literal(what);
  }
}

function natStatement(x: Expr, type: "dnat" | "snat" | "masquerade" | "redirect"): NftStmt {
  const s: Extract<NftStmt, { kind: "nat" }> = { kind: "nat", type, flags: [] };
  if (x.isWord("ip") || x.isWord("ip6")) {
    if (type === "masquerade") x.fail("masquerade takes no address family");
    s.family = x.word("family") as "ip" | "ip6";
  }
  if (x.isWord("to")) {
    x.i++;
    s.to = x.expr(`${type} to`, true);
  } else if (type === "dnat" || type === "snat") x.fail(`${type} needs "to <address>"`);
  while (x.isWord("random") || x.isWord("fully-random") || x.isWord("persistent")) s.flags.push(x.word("flag"));
  return s;
}

/** The statements of one rule's tokens, plus its comment and handle. */
function ruleFromTokens(c: Cursor, chain: string, toks: Tok[]): NftRule {
  const first = toks[0]!;
  const rule: NftRule = { chain, line: first.line, text: "", stmts: [] };
  let body = toks;
  const last = toks[toks.length - 1]!;
  if (last.t === "word" && last.v.startsWith("#")) {
    const h = /^# handle (\d{1,10})$/.exec(last.v);
    if (!h) c.fail(`unknown trailing comment ${JSON.stringify(last.v)}`, last);
    rule.handle = Number(h![1]);
    body = toks.slice(0, -1);
  }
  const x = new Expr(body, c);
  while (!x.done()) {
    const t = x.peek()!;
    if (t.t !== "word") x.fail(`unexpected ${JSON.stringify(t.v)} at the start of a statement`, t);
    const w = t.v;
    if ((VERDICTS as readonly string[]).includes(w)) {
      x.i++;
      const v: NftStmt = { kind: "verdict", verdict: w as NftVerdict["verdict"] };
      if (w === "jump" || w === "goto") {
        const target = x.word(`${w} target`);
        if (!IDENT.test(target)) x.fail(`${w} target ${JSON.stringify(target)} is not a chain name`);
        v.target = target;
      }
      rule.stmts.push(v);
      continue;
    }
    if (w === "counter") {
      x.i++;
      const s: NftStmt = { kind: "counter" };
      if (x.isWord("packets")) {
        x.i++;
        const p = x.word("packets");
        if (x.word("counter") !== "bytes") x.fail("counter: expected bytes");
        const b = x.word("bytes");
        if (!/^\d{1,16}$/.test(p) || !/^\d{1,16}$/.test(b)) x.fail("counter: packets and bytes must be numbers");
        s.packets = Number(p);
        s.bytes = Number(b);
      }
      rule.stmts.push(s);
      continue;
    }
    if (w === "comment") {
      x.i++;
      const s = x.peek();
      if (!s || (s.t !== "string" && s.t !== "word")) x.fail("comment: expected a string", s);
      if (rule.comment !== undefined) x.fail("two comments on one rule", s);
      rule.comment = s!.v;
      x.i++;
      continue;
    }
    if (w === "dnat" || w === "snat" || w === "masquerade" || w === "redirect") {
      x.i++;
      rule.stmts.push(natStatement(x, w));
      continue;
    }
    if (w === "reject") {
      x.i++;
      const s: NftStmt = { kind: "reject" };
      if (x.isWord("with")) {
        x.i++;
        const parts = [x.word("reject with")];
        if (parts[0] !== "tcp" && x.isWord("type")) x.i++;
        parts.push(x.word("reject with"));
        if (!DEFAULT_REJECT.has(parts.join(" "))) s.with = parts.join(" ");
      }
      rule.stmts.push(s);
      continue;
    }
    if (w === "notrack") {
      x.i++;
      rule.stmts.push({ kind: "notrack" });
      continue;
    }
    if (w === "log") {
      x.i++;
      const s: NftStmt = { kind: "log" };
      if (x.isWord("prefix")) {
        x.i++;
        s.prefix = x.word("log prefix");
      }
      rule.stmts.push(s);
      continue;
    }
    // an expression statement: match, vmap or set
    const startAt = x.i;
    const left = x.selector(false);
    if (left === undefined) x.fail(`unknown statement ${JSON.stringify(w)}`, t);
    let key = left!;
    while (x.peek()?.t === "word" && BINOPS.has(x.peek()!.v)) {
      const op = x.word("operator");
      key += ` ${op} ${x.selector(true) ?? x.literal(`${left} ${op}`)}`;
    }
    while (x.isWord(".")) {
      x.i++;
      const more = x.selector(false);
      if (more === undefined) x.fail("concatenation: expected a selector after \".\"");
      key += ` . ${more}`;
    }
    if (x.isWord("vmap")) {
      x.i++;
      const m = x.peek();
      if (m?.t === "word" && m.v.startsWith("@")) {
        x.i++;
        if (!IDENT.test(m.v.slice(1))) x.fail(`vmap reference ${JSON.stringify(m.v)} is not a map name`, m);
        rule.stmts.push({ kind: "vmap", key, map: m.v });
      } else if (m?.t === "{") {
        const elements = x.setLiteral();
        for (const e of elements) if (!e.verdict) x.fail(`vmap element ${e.key.join(" . ")} has no verdict`, m);
        rule.stmts.push({ kind: "vmap", key, elements });
      } else x.fail("vmap: expected @map or { … }", m);
      continue;
    }
    if (x.isWord("set")) {
      x.i++;
      rule.stmts.push({ kind: "set", left: key, value: x.expr(`${key} set`, true) });
      continue;
    }
    let op: "==" | "!=" | "<" | ">" | "<=" | ">=" = "==";
    const o = x.peek();
    if (o?.t === "word" && OPS.has(o.v)) {
      x.i++;
      op = OP_NAMES[o.v]!;
    }
    if (x.done()) x.fail(`${key}: no value to compare with`, toks[startAt]);
    rule.stmts.push({ kind: "match", left: key, op, right: x.expr(key, true) });
  }
  if (rule.stmts.length === 0) c.fail("rule without statements", first);
  rule.text = rule.stmts.map(renderStmt).join(" ");
  return rule;
}

function chainBody(c: Cursor, chain: NftChain): void {
  for (;;) {
    c.skipBlank();
    const t = c.peek();
    if (!t) c.fail(`chain ${chain.name}: missing "}"`);
    if (t!.t === "}") {
      c.i++;
      return;
    }
    if (t!.t === "word" && t!.v === "type" && c.peek(2)?.v === "hook") {
      const toks = c.statementTokens(`chain ${chain.name} type`);
      // type nat hook prerouting priority dstnat; (the `;` ended the statement)
      const w = toks.map((x) => x.v);
      if (w[2] !== "hook" || w.length < 6) c.fail(`chain ${chain.name}: bad base chain declaration`, t);
      chain.type = w[1]!;
      chain.hook = w[3]!;
      let k = 4;
      if (w[k] === "device") k += 2;
      if (w[k] !== "priority" || w.length <= k + 1) c.fail(`chain ${chain.name}: base chain without priority`, t);
      chain.priority = w.slice(k + 1).join(" ");
      continue;
    }
    if (t!.t === "word" && t!.v === "policy") {
      const toks = c.statementTokens(`chain ${chain.name} policy`);
      if (toks.length !== 2 || !/^(accept|drop)$/.test(toks[1]!.v)) c.fail(`chain ${chain.name}: bad policy`, t);
      chain.policy = toks[1]!.v;
      continue;
    }
    if (t!.t === "word" && t!.v === "comment" && c.peek(1)?.t === "string" && (c.peek(2)?.t === "nl" || c.peek(2)?.t === ";")) {
      chain.comment = c.peek(1)!.v;
      c.i += 3;
      continue;
    }
    const toks = c.statementTokens(`chain ${chain.name}`);
    if (toks.length === 0) continue;
    chain.rules.push(ruleFromTokens(c, chain.name, toks));
  }
}

function setBody(c: Cursor, set: NftSet, opener: Tok): void {
  let typed = false;
  for (;;) {
    c.skipBlank();
    const t = c.peek();
    if (!t) c.fail(`${set.map ? "map" : "set"} ${set.name}: missing "}"`, opener);
    if (t!.t === "}") {
      c.i++;
      if (!typed) c.fail(`${set.map ? "map" : "set"} ${set.name}: no type`, opener);
      return;
    }
    const toks = c.statementTokens(`set ${set.name}`);
    const w = toks[0]!;
    const x = new Expr(toks.slice(1), c);
    switch (w.t === "word" ? w.v : "") {
      case "type":
      case "typeof": {
        const parts: string[] = [];
        const key: string[] = [];
        for (const tk of toks.slice(1)) parts.push(tk.v);
        const colon = parts.indexOf(":");
        if (set.map !== (colon >= 0)) c.fail(`${set.map ? "map" : "set"} ${set.name}: ${set.map ? "a map type needs key : data" : "a set type has no data"}`, w);
        const keyParts = colon >= 0 ? parts.slice(0, colon) : parts;
        let cur: string[] = [];
        for (const p of keyParts) {
          if (p === ".") {
            if (!cur.length) c.fail(`set ${set.name}: bad type`, w);
            key.push(cur.join(" "));
            cur = [];
          } else cur.push(p);
        }
        if (!cur.length) c.fail(`set ${set.name}: bad type`, w);
        key.push(cur.join(" "));
        set.keyType = key;
        if (colon >= 0) {
          const d = parts.slice(colon + 1).join(" ");
          if (!d) c.fail(`map ${set.name}: no data type`, w);
          set.dataType = d;
        }
        typed = true;
        break;
      }
      case "flags":
        set.flags = toks.slice(1).filter((x) => x.t === "word").map((x) => x.v);
        if (!set.flags.length) c.fail(`set ${set.name}: flags without a value`, w);
        break;
      case "comment":
        if (toks.length !== 2 || toks[1]!.t !== "string") c.fail(`set ${set.name}: bad comment`, w);
        set.comment = toks[1]!.v;
        break;
      case "elements": {
        if (!x.isWord("=")) c.fail(`set ${set.name}: expected "elements = {"`, w);
        x.i++;
        set.elements = x.setLiteral();
        if (!x.done()) c.fail(`set ${set.name}: text after the elements`, x.peek());
        for (const e of set.elements) {
          if (e.key.length !== set.keyType.length && set.keyType.length) c.fail(`set ${set.name}: element ${e.key.join(" . ")} has ${e.key.length} part(s), the type has ${set.keyType.length}`, w);
          if (set.map && !e.verdict && e.data === undefined) c.fail(`map ${set.name}: element ${e.key.join(" . ")} has no value`, w);
          if (!set.map && (e.verdict || e.data !== undefined)) c.fail(`set ${set.name}: element ${e.key.join(" . ")} has a value`, w);
          if (set.dataType === "verdict" && !e.verdict) c.fail(`map ${set.name}: element ${e.key.join(" . ")} is not a verdict`, w);
        }
        break;
      }
      case "size":
      case "timeout":
      case "gc-interval":
      case "policy":
        if (toks.length !== 2) c.fail(`set ${set.name}: bad ${w.v}`, w);
        break;
      case "auto-merge":
      case "counter":
        if (toks.length !== 1) c.fail(`set ${set.name}: bad ${w.v}`, w);
        break;
      default:
        c.fail(`${set.map ? "map" : "set"} ${set.name}: unknown property ${JSON.stringify(w.v)}`, w);
    }
  }
}

/** Parse `nft list ruleset` / `nft list table …` / `nft -a list …` text. */
export function parseNftText(text: string): NftRuleset {
  const { toks, lines } = lex(text);
  const c = new Cursor(toks, lines);
  const tables: NftTable[] = [];
  for (;;) {
    c.skipBlank();
    const t = c.peek();
    if (!t) break;
    if (t.t !== "word" || t.v !== "table") c.fail(`expected "table", got ${JSON.stringify(t.v)}`, t);
    c.i++;
    let family = c.word("table family");
    let name: string;
    if (FAMILIES.has(family) && c.peek()?.t === "word") name = c.word("table name");
    else {
      // `table filter {` means family ip
      name = family;
      family = "ip";
    }
    if (!IDENT.test(name)) c.fail(`table name ${JSON.stringify(name)}`, t);
    if (tables.some((x) => x.family === family && x.name === name)) c.fail(`table ${family} ${name} listed twice`, t);
    const open = c.expect("{", `table ${name}`);
    if (c.peek()?.t === "word" && c.peek()!.v.startsWith("#")) c.i++; // `# handle 1`
    const table: NftTable = { family: family as NftTable["family"], name, flags: [], chains: {}, sets: {} };
    for (;;) {
      c.skipBlank();
      const it = c.peek();
      if (!it) c.fail(`table ${name}: missing "}"`, open);
      if (it!.t === "}") {
        c.i++;
        break;
      }
      const kw = it!.t === "word" ? it!.v : "";
      if (kw === "comment") {
        c.i++;
        const s = c.next();
        if (s?.t !== "string") c.fail(`table ${name}: bad comment`, s);
        table.comment = s!.v;
        continue;
      }
      if (kw === "flags") {
        c.i++;
        table.flags = c.statementTokens(`table ${name} flags`).filter((x) => x.t === "word").map((x) => x.v);
        continue;
      }
      if (kw === "chain" || kw === "set" || kw === "map") {
        c.i++;
        const n = c.word(`${kw} name`);
        if (!IDENT.test(n)) c.fail(`${kw} name ${JSON.stringify(n)}`, it);
        const o = c.expect("{", `${kw} ${n}`);
        if (c.peek()?.t === "word" && c.peek()!.v.startsWith("#")) c.i++; // `# handle 3`
        if (kw === "chain") {
          if (table.chains[n]) c.fail(`chain ${n} listed twice`, it);
          const chain: NftChain = { name: n, rules: [] };
          chainBody(c, chain);
          table.chains[n] = chain;
        } else {
          if (table.sets[n]) c.fail(`${kw} ${n} listed twice`, it);
          const set: NftSet = { name: n, map: kw === "map", keyType: [], flags: [], elements: [] };
          setBody(c, set, o);
          table.sets[n] = set;
        }
        continue;
      }
      c.fail(`table ${name}: unknown item ${JSON.stringify(it!.v)}`, it);
    }
    tables.push(table);
  }
  if (tables.length === 0) throw new ParseError(P, undefined, text.slice(0, 200), "no table in the output");
  // every jump/goto target and @set reference must exist in its table
  for (const t of tables) validateRefs(t, (detail, rule) => c.fail(detail, rule?.line !== undefined ? toks.find((x) => x.line === rule.line) : undefined));
  return check(P, nftRulesetSchema, { form: "text", tables });
}

function validateRefs(t: NftTable, fail: (detail: string, rule?: NftRule) => never): void {
  const target = (v: { verdict: string; target?: string | undefined }, where: string, rule?: NftRule) => {
    if (v.target !== undefined && !t.chains[v.target]) fail(`${where}: ${v.verdict} to chain ${v.target}, which table ${t.family} ${t.name} does not have`, rule);
  };
  for (const s of Object.values(t.sets)) for (const e of s.elements) if (e.verdict) target(e.verdict, `map ${s.name}`);
  for (const ch of Object.values(t.chains)) {
    for (const r of ch.rules) {
      for (const s of r.stmts) {
        if (s.kind === "verdict") target(s, `chain ${ch.name}`, r);
        if (s.kind === "vmap") {
          if (s.map && !t.sets[s.map.slice(1)]?.map) fail(`chain ${ch.name}: vmap ${s.map}, which is not a map of table ${t.name}`, r);
          for (const e of s.elements ?? []) if (e.verdict) target(e.verdict, `chain ${ch.name}`, r);
        }
        if (s.kind === "match") for (const ref of s.right.match(/(?<=^|[\s{,])@[A-Za-z0-9/\-_.]+/g) ?? []) if (!t.sets[ref.slice(1)]) fail(`chain ${ch.name}: ${ref} is not a set of table ${t.name}`, r);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// JSON form (libnftables-json(5))

type J = unknown;
const isObj = (x: J): x is Record<string, J> => typeof x === "object" && x !== null && !Array.isArray(x);

class JsonFail extends Error {}
const jfail = (detail: string): never => {
  throw new JsonFail(detail);
};

function oneKey(x: J, what: string): [string, J] {
  if (!isObj(x)) jfail(`${what}: expected an object, got ${JSON.stringify(x)?.slice(0, 80)}`);
  const ks = Object.keys(x as object);
  if (ks.length !== 1) jfail(`${what}: expected one key, got ${ks.join(", ") || "none"}`);
  return [ks[0]!, (x as Record<string, J>)[ks[0]!]];
}

function str(x: J, what: string): string {
  if (typeof x !== "string" || x === "") jfail(`${what}: expected a string`);
  return x as string;
}

function jnum(x: J, what: string): number {
  if (typeof x !== "number" || !Number.isSafeInteger(x) || x < 0) jfail(`${what}: expected a non-negative integer`);
  return x as number;
}

/** A JSON expression as nft's text spelling. */
function jexpr(x: J, what: string): string {
  if (typeof x === "string") {
    if (x === "") jfail(`${what}: empty string`);
    return x;
  }
  if (typeof x === "number") {
    if (!Number.isFinite(x)) jfail(`${what}: bad number`);
    return String(x);
  }
  if (typeof x === "boolean") return x ? "exists" : "missing";
  if (Array.isArray(x)) {
    if (!x.length) jfail(`${what}: empty list`);
    return x.map((y) => jexpr(y, what)).join(",");
  }
  const [k, v] = oneKey(x, what);
  switch (k) {
    case "payload": {
      if (!isObj(v)) jfail(`${what}: payload`);
      const o = v as Record<string, J>;
      if (o["base"] !== undefined) return `@${str(o["base"], "payload base")},${jnum(o["offset"], "payload offset")},${jnum(o["len"], "payload len")}`;
      return `${str(o["protocol"], "payload protocol")} ${str(o["field"], "payload field")}`;
    }
    case "meta":
      if (!isObj(v)) jfail(`${what}: meta`);
      return `meta ${str((v as Record<string, J>)["key"], "meta key")}`;
    case "ct": {
      if (!isObj(v)) jfail(`${what}: ct`);
      const o = v as Record<string, J>;
      const parts = ["ct"];
      if (o["dir"] !== undefined) parts.push(str(o["dir"], "ct dir"));
      if (o["family"] !== undefined) parts.push(str(o["family"], "ct family"));
      parts.push(str(o["key"], "ct key"));
      return parts.join(" ");
    }
    case "fib": {
      if (!isObj(v)) jfail(`${what}: fib`);
      const o = v as Record<string, J>;
      const flags = Array.isArray(o["flags"]) ? (o["flags"] as J[]).map((f) => str(f, "fib flag")) : o["flags"] !== undefined ? [str(o["flags"], "fib flag")] : [];
      return ["fib", flags.join(" . "), str(o["result"], "fib result")].filter(Boolean).join(" ");
    }
    case "numgen": {
      if (!isObj(v)) jfail(`${what}: numgen`);
      const o = v as Record<string, J>;
      const mode = str(o["mode"], "numgen mode");
      const off = o["offset"] === undefined ? 0 : jnum(o["offset"], "numgen offset");
      return `numgen ${mode} mod ${jnum(o["mod"], "numgen mod")}${off ? ` offset ${off}` : ""}`;
    }
    case "concat":
      if (!Array.isArray(v) || v.length < 2) jfail(`${what}: concat needs two or more parts`);
      return (v as J[]).map((y) => jexpr(y, what)).join(" . ");
    case "prefix": {
      if (!isObj(v)) jfail(`${what}: prefix`);
      const o = v as Record<string, J>;
      return `${jexpr(o["addr"], "prefix addr")}/${jnum(o["len"], "prefix len")}`;
    }
    case "range":
      if (!Array.isArray(v) || v.length !== 2) jfail(`${what}: range needs two ends`);
      return `${jexpr((v as J[])[0], what)}-${jexpr((v as J[])[1], what)}`;
    case "set":
      if (!Array.isArray(v)) return `{ ${jexpr(v, what)} }`;
      return `{ ${(v as J[]).map((e) => renderElement(jelement(e, what))).join(", ")} }`;
    case "elem": {
      if (!isObj(v)) jfail(`${what}: elem`);
      return jexpr((v as Record<string, J>)["val"], what);
    }
    case "&":
    case "|":
    case "^":
    case "<<":
    case ">>":
      if (!Array.isArray(v) || v.length !== 2) jfail(`${what}: ${k} needs two operands`);
      return `${jexpr((v as J[])[0], what)} ${k} ${jexpr((v as J[])[1], what)}`;
    default:
      return jfail(`${what}: unknown expression ${JSON.stringify(k)}`);
  }
}

function jverdict(x: J, what: string): NftVerdict | undefined {
  if (!isObj(x)) return undefined;
  const ks = Object.keys(x);
  if (ks.length !== 1 || !(VERDICTS as readonly string[]).includes(ks[0]!)) return undefined;
  const k = ks[0] as NftVerdict["verdict"];
  const v: NftVerdict = { verdict: k };
  if (k === "jump" || k === "goto") {
    const o = x[k];
    if (!isObj(o)) jfail(`${what}: ${k} without a target`);
    const target = str((o as Record<string, J>)["target"], `${k} target`);
    if (!IDENT.test(target)) jfail(`${what}: ${k} target ${JSON.stringify(target)} is not a chain name`);
    v.target = target;
  }
  return v;
}

function keyParts(x: J, what: string): string[] {
  if (isObj(x) && "concat" in x && Object.keys(x).length === 1) {
    const c = x["concat"];
    if (!Array.isArray(c) || c.length < 2) jfail(`${what}: concat needs two or more parts`);
    return (c as J[]).map((y) => jexpr(y, what));
  }
  return [jexpr(x, what)];
}

/** A set/map element: "a", {"elem": {...}}, or [key, value] for maps. */
function jelement(x: J, what: string): NftElement {
  let key: J = x;
  let value: J | undefined;
  if (Array.isArray(x)) {
    if (x.length !== 2) jfail(`${what}: a map element is [key, value]`);
    key = x[0];
    value = x[1];
  }
  let comment: string | undefined;
  if (isObj(key) && "elem" in key && Object.keys(key).length === 1) {
    const e = key["elem"];
    if (!isObj(e)) jfail(`${what}: elem`);
    const eo = e as Record<string, J>;
    if (eo["comment"] !== undefined) comment = str(eo["comment"], "element comment");
    key = eo["val"];
  }
  const el: NftElement = { key: keyParts(key, what) };
  if (comment !== undefined) el.comment = comment;
  if (value !== undefined) {
    const v = jverdict(value, what);
    if (v) el.verdict = v;
    else el.data = keyParts(value, what).join(" . ");
  }
  return el;
}

function jstmt(x: J, rule: NftRule): NftStmt | undefined {
  const [k, v] = oneKey(x, `rule in chain ${rule.chain}`);
  const what = `rule in chain ${rule.chain}: ${k}`;
  const verdict = jverdict(x, what);
  if (verdict) return { kind: "verdict", ...verdict };
  const o = isObj(v) ? v : {};
  switch (k) {
    case "match": {
      if (!isObj(v)) jfail(`${what}: expected an object`);
      const op = str(o["op"], "match op");
      const norm = op === "in" ? "==" : OP_NAMES[op];
      if (!norm) jfail(`${what}: unknown operator ${JSON.stringify(op)}`);
      return { kind: "match", left: jexpr(o["left"], what), op: norm!, right: jexpr(o["right"], what) };
    }
    case "vmap": {
      if (!isObj(v)) jfail(`${what}: expected an object`);
      const key = jexpr(o["key"], what);
      const data = o["data"];
      if (typeof data === "string") {
        if (!data.startsWith("@") || !IDENT.test(data.slice(1))) jfail(`${what}: vmap data ${JSON.stringify(data)} is not a map reference`);
        return { kind: "vmap", key, map: data };
      }
      const [sk, sv] = oneKey(data, what);
      if (sk !== "set" || !Array.isArray(sv)) jfail(`${what}: vmap data must be @map or a set`);
      const elements = (sv as J[]).map((e) => jelement(e, what));
      for (const e of elements) if (!e.verdict) jfail(`${what}: vmap element ${e.key.join(" . ")} has no verdict`);
      return { kind: "vmap", key, elements };
    }
    case "mangle":
      if (!isObj(v)) jfail(`${what}: expected an object`);
      return { kind: "set", left: jexpr(o["key"], what), value: jexpr(o["value"], what) };
    case "counter": {
      if (v === null) return { kind: "counter" };
      if (!isObj(v)) jfail(`${what}: expected an object`);
      return { kind: "counter", packets: jnum(o["packets"], "counter packets"), bytes: jnum(o["bytes"], "counter bytes") };
    }
    case "dnat":
    case "snat":
    case "masquerade":
    case "redirect": {
      const s: Extract<NftStmt, { kind: "nat" }> = { kind: "nat", type: k, flags: [] };
      if (v !== null) {
        if (!isObj(v)) jfail(`${what}: expected an object`);
        if (o["family"] !== undefined) {
          const f = str(o["family"], "nat family");
          if (f !== "ip" && f !== "ip6") jfail(`${what}: family ${f}`);
          s.family = f as "ip" | "ip6";
        }
        const addr = o["addr"] !== undefined ? jexpr(o["addr"], what) : undefined;
        const port = o["port"] !== undefined ? jexpr(o["port"], what) : undefined;
        if (addr !== undefined || port !== undefined) s.to = `${addr ?? ""}${port !== undefined ? `:${port}` : ""}`;
        const fl = o["flags"];
        if (fl !== undefined) s.flags = (Array.isArray(fl) ? fl : [fl]).map((f) => str(f, "nat flag"));
      }
      if ((k === "dnat" || k === "snat") && !s.to) jfail(`${what}: no address`);
      return s;
    }
    case "reject": {
      if (v === null) return { kind: "reject" };
      if (!isObj(v)) jfail(`${what}: expected an object`);
      const type = o["type"] !== undefined ? str(o["type"], "reject type") : undefined;
      const expr = o["expr"] !== undefined ? jexpr(o["expr"], what) : undefined;
      const s: NftStmt = { kind: "reject" };
      const w = [type === "tcp reset" ? "tcp reset" : type, type === "tcp reset" ? undefined : expr].filter(Boolean).join(" ");
      if (w && !DEFAULT_REJECT.has(w)) s.with = w;
      return s;
    }
    case "notrack":
      return { kind: "notrack" };
    case "log": {
      const s: NftStmt = { kind: "log" };
      if (isObj(v) && o["prefix"] !== undefined) s.prefix = str(o["prefix"], "log prefix");
      return s;
    }
    case "comment":
      // not a statement in libnftables, but tolerated inside expr by some producers
      rule.comment = str(v, "comment");
      return undefined;
    default:
      return jfail(`${what}: unknown statement`);
  }
}

/** Parse `nft -j list table …` / `nft -j list ruleset` output. */
export function parseNftJson(text: string): NftRuleset {
  let doc: J;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ParseError(P, undefined, text.slice(0, 200), `not JSON: ${(e as Error).message}`);
  }
  try {
    if (!isObj(doc) || !Array.isArray(doc["nftables"])) jfail('expected {"nftables": [ … ]}');
    const out: NftRuleset = { form: "json", tables: [] };
    const tableOf = (o: Record<string, J>, what: string): NftTable => {
      const family = str(o["family"], `${what} family`);
      const name = str(o["table"], `${what} table`);
      const t = out.tables.find((x) => x.family === family && x.name === name);
      if (!t) return jfail(`${what} belongs to table ${family} ${name}, which was not listed before it`);
      return t;
    };
    for (const item of (doc as Record<string, J>)["nftables"] as J[]) {
      const [k, v] = oneKey(item, "nftables entry");
      if (!isObj(v)) jfail(`${k}: expected an object`);
      const o = v as Record<string, J>;
      switch (k) {
        case "metainfo":
          if (o["version"] !== undefined) out.version = str(o["version"], "metainfo version");
          break;
        case "table": {
          const family = str(o["family"], "table family");
          if (!FAMILIES.has(family)) jfail(`table family ${JSON.stringify(family)}`);
          const name = str(o["name"], "table name");
          if (out.tables.some((x) => x.family === family && x.name === name)) jfail(`table ${family} ${name} listed twice`);
          const t: NftTable = { family: family as NftTable["family"], name, flags: [], chains: {}, sets: {} };
          if (o["comment"] !== undefined) t.comment = str(o["comment"], "table comment");
          if (o["flags"] !== undefined) t.flags = (Array.isArray(o["flags"]) ? (o["flags"] as J[]) : [o["flags"]]).map((f) => str(f, "table flag"));
          out.tables.push(t);
          break;
        }
        case "chain": {
          const t = tableOf(o, "chain");
          const name = str(o["name"], "chain name");
          if (!IDENT.test(name)) jfail(`chain name ${JSON.stringify(name)}`);
          if (t.chains[name]) jfail(`chain ${name} listed twice`);
          const ch: NftChain = { name, rules: [] };
          if (o["type"] !== undefined) ch.type = str(o["type"], "chain type");
          if (o["hook"] !== undefined) ch.hook = str(o["hook"], "chain hook");
          if (o["prio"] !== undefined) ch.priority = typeof o["prio"] === "number" ? String(o["prio"]) : str(o["prio"], "chain prio");
          if (o["policy"] !== undefined) ch.policy = str(o["policy"], "chain policy");
          if (o["comment"] !== undefined) ch.comment = str(o["comment"], "chain comment");
          t.chains[name] = ch;
          break;
        }
        case "set":
        case "map": {
          const t = tableOf(o, k);
          const name = str(o["name"], `${k} name`);
          if (t.sets[name]) jfail(`${k} ${name} listed twice`);
          const ty = o["type"];
          const keyType = Array.isArray(ty) ? (ty as J[]).map((x) => str(x, `${k} type`)) : [str(ty, `${k} type`)];
          const s: NftSet = { name, map: k === "map", keyType, flags: [], elements: [] };
          if (k === "map") s.dataType = str(o["map"], "map data type");
          if (o["flags"] !== undefined) s.flags = (Array.isArray(o["flags"]) ? (o["flags"] as J[]) : [o["flags"]]).map((f) => str(f, `${k} flag`));
          if (o["comment"] !== undefined) s.comment = str(o["comment"], `${k} comment`);
          if (o["elem"] !== undefined) {
            if (!Array.isArray(o["elem"])) jfail(`${k} ${name}: elem must be a list`);
            s.elements = (o["elem"] as J[]).map((e) => jelement(e, `${k} ${name}`));
            for (const e of s.elements) {
              if (e.key.length !== keyType.length) jfail(`${k} ${name}: element ${e.key.join(" . ")} has ${e.key.length} part(s), the type has ${keyType.length}`);
              if (s.map !== (e.verdict !== undefined || e.data !== undefined)) jfail(`${k} ${name}: element ${e.key.join(" . ")} ${s.map ? "has no value" : "has a value"}`);
              if (s.dataType === "verdict" && !e.verdict) jfail(`map ${name}: element ${e.key.join(" . ")} is not a verdict`);
            }
          }
          t.sets[name] = s;
          break;
        }
        case "rule": {
          const t = tableOf(o, "rule");
          const chain = str(o["chain"], "rule chain");
          const ch = t.chains[chain];
          if (!ch) jfail(`rule for chain ${chain}, which was not listed before it`);
          const rule: NftRule = { chain, text: "", stmts: [] };
          if (o["handle"] !== undefined) rule.handle = jnum(o["handle"], "rule handle");
          if (o["comment"] !== undefined) rule.comment = str(o["comment"], "rule comment");
          if (!Array.isArray(o["expr"]) || !(o["expr"] as J[]).length) jfail(`rule in chain ${chain}: no expr list`);
          for (const e of o["expr"] as J[]) {
            const s = jstmt(e, rule);
            if (s) rule.stmts.push(s);
          }
          rule.text = rule.stmts.map(renderStmt).join(" ");
          ch!.rules.push(rule);
          break;
        }
        default:
          jfail(`unknown entry ${JSON.stringify(k)}`);
      }
    }
    if (out.tables.length === 0) jfail("no table in the output");
    for (const t of out.tables) validateRefs(t, (d) => jfail(d));
    return check(P, nftRulesetSchema, out);
  } catch (e) {
    if (e instanceof JsonFail) throw new ParseError(`${P} -j`, undefined, text.slice(0, 200), e.message);
    throw e;
  }
}

/** Text or JSON, decided by the first character. */
export function parseNft(text: string): NftRuleset {
  return text.trimStart().startsWith("{") ? parseNftJson(text) : parseNftText(text);
}

// ---------------------------------------------------------------------------------------------
// Queries

/** The table of that family and name, or undefined. */
export function nftTable(rs: NftRuleset, family: string, name: string): NftTable | undefined {
  return rs.tables.find((t) => t.family === family && t.name === name);
}

/** The verdict elements of a map whose key is exactly `key` (one string per concatenation part). */
export function mapLookup(t: NftTable, map: string, key: string[]): NftElement[] {
  return (t.sets[map]?.elements ?? []).filter((e) => e.key.length === key.length && e.key.every((k, i) => k === key[i]));
}

/** The rules anywhere in the table that consult `@map` through a vmap. */
export function vmapUsers(t: NftTable, map: string): NftRule[] {
  return Object.values(t.chains).flatMap((c) => c.rules.filter((r) => r.stmts.some((s) => s.kind === "vmap" && s.map === `@${map}`)));
}

/** The rule's final verdict statement, if any. */
export function ruleVerdict(r: NftRule): Extract<NftStmt, { kind: "verdict" }> | undefined {
  const v = r.stmts.filter((s) => s.kind === "verdict");
  return v[v.length - 1] as Extract<NftStmt, { kind: "verdict" }> | undefined;
}

/** The rule's match statements (left → op + right). */
export function ruleMatches(r: NftRule): Array<Extract<NftStmt, { kind: "match" }>> {
  return r.stmts.filter((s): s is Extract<NftStmt, { kind: "match" }> => s.kind === "match");
}
