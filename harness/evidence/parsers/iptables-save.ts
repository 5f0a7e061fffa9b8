/**
 * `iptables-save` (nft and legacy flavours, with or without `-c`) and `iptables -S [-v]` output as
 * structured data: tables, chains with policies and counters, and rules broken into their
 * addressing options, match modules and target. The raw rule text is kept on every rule.
 *
 * Every line must be accounted for: a line that is not a known comment, table header, chain
 * declaration, rule or COMMIT is a ParseError, and so is a table that is never committed.
 *
 * Tolerant mode (ParseOptions) reads what a person pastes: rules grepped out of iptables-save
 * without the `*table` header or the `:CHAIN` declarations (the table is guessed from the chain
 * names kube-proxy uses, the chains declared as they are met), a missing COMMIT, and "..." or
 * "# comment" lines; each such liberty is a warning beside the result.
 * Addresses in -s/-d and in --to-destination/--to-source come back canonical (RFC 5952).
 */
import { z } from "zod";
import { ParseError } from "../parse-error.ts";
import { canonicalCidr, canonicalHostPort, canonicalIp, check, ELISION, isIpAddress, lineStep, nothingUsable, sameIp, warn, type ParseOptions } from "./common.ts";
import { cidr, splitLines, tokenize, uint, type Line, type Token } from "./tokens.ts";

const P = "iptables-save";

const counters = z.object({ packets: z.number().int().nonnegative(), bytes: z.number().int().nonnegative() });
const negatable = z.object({ value: z.string().min(1), negated: z.boolean() });
const option = z.object({ name: z.string().regex(/^--?[A-Za-z0-9][A-Za-z0-9_-]*$/), args: z.array(z.string()), negated: z.boolean() });
const match = z.object({ module: z.string().min(1), implicit: z.boolean(), options: z.array(option) });
const target = z.object({ kind: z.enum(["jump", "goto"]), name: z.string().min(1), options: z.array(option) });

export const iptRuleSchema = z.object({
  table: z.string(),
  chain: z.string(),
  /** the rule exactly as it appeared, counters prefix included */
  raw: z.string(),
  line: z.number().int().positive(),
  counters: counters.optional(),
  source: negatable.optional(),
  destination: negatable.optional(),
  protocol: negatable.optional(),
  inInterface: negatable.optional(),
  outInterface: negatable.optional(),
  fragment: z.object({ negated: z.boolean() }).optional(),
  matches: z.array(match),
  target: target.optional(),
});
export const iptChainSchema = z.object({
  name: z.string().min(1),
  /** ACCEPT/DROP/… for built-in chains, null for user chains ("-") */
  policy: z.string().nullable(),
  counters: counters.optional(),
  rules: z.array(iptRuleSchema),
});
export const iptTableSchema = z.object({ name: z.string().min(1), chains: z.record(z.string(), iptChainSchema) });
export const iptablesSaveSchema = z.object({
  /** "nft" for iptables-nft-save, "legacy" for iptables(-legacy)-save, "unknown" without a header */
  flavour: z.enum(["nft", "legacy", "unknown"]),
  generatedBy: z.string().optional(),
  /** `# Warning: …` lines ("iptables-legacy tables present, use iptables-legacy-save to see them") and
   *  "Table `filter' is incompatible, use 'nft' tool." notes; an incompatible table is not listed */
  warnings: z.array(z.string()),
  tables: z.record(z.string(), iptTableSchema),
});

export type IptOption = z.infer<typeof option>;
export type IptMatch = z.infer<typeof match>;
export type IptRule = z.infer<typeof iptRuleSchema>;
export type IptChain = z.infer<typeof iptChainSchema>;
export type IptTable = z.infer<typeof iptTableSchema>;
export type IptablesSave = z.infer<typeof iptablesSaveSchema>;

const CHAIN_NAME = /^[A-Za-z0-9_.@:+-]{1,64}$/;
const TABLES = new Set(["filter", "nat", "mangle", "raw", "security"]);

// Top-level (non-module) rule options and the field they fill.
const ADDRESSING: Record<string, "source" | "destination" | "protocol" | "inInterface" | "outInterface"> = {
  "-s": "source",
  "--source": "source",
  "--src": "source",
  "-d": "destination",
  "--destination": "destination",
  "--dst": "destination",
  "-p": "protocol",
  "--protocol": "protocol",
  "-i": "inInterface",
  "--in-interface": "inInterface",
  "-o": "outInterface",
  "--out-interface": "outInterface",
};

function isOptionToken(t: Token): boolean {
  return !t.quoted && /^--?[A-Za-z0-9]/.test(t.value);
}

/** Parse the words of one rule after `-A CHAIN` into addressing options, matches and target. */
function parseRuleTokens(line: Line, table: string, chain: string, toks: Token[], raw: string, counters?: { packets: number; bytes: number }): IptRule {
  const rule: IptRule = { table, chain, raw, line: line.no, matches: [] };
  if (counters) rule.counters = counters;
  let i = 0;
  let current: IptMatch | undefined; // module collecting --options
  let pendingNot = false;
  const fail = (detail: string): never => {
    throw new ParseError(P, line.no, line.text, detail);
  };
  const takeArgs = (): string[] => {
    const args: string[] = [];
    while (i < toks.length && !isOptionToken(toks[i]!) && !(toks[i]!.value === "!" && !toks[i]!.quoted)) {
      args.push(toks[i]!.value);
      i++;
    }
    return args;
  };
  while (i < toks.length) {
    const t = toks[i]!;
    if (!t.quoted && t.value === "!") {
      if (pendingNot) fail("double negation");
      pendingNot = true;
      i++;
      continue;
    }
    if (!isOptionToken(t)) fail(`unexpected word ${JSON.stringify(t.value)}`);
    const name = t.value;
    i++;
    const field = ADDRESSING[name];
    if (field) {
      const v = toks[i];
      if (!v || isOptionToken(v)) fail(`${name} needs a value`);
      if (rule[field]) fail(`${name} given twice`);
      if (field === "source" || field === "destination") cidr(P, line, v!.value, name);
      rule[field] = { value: field === "source" || field === "destination" ? canonicalCidr(v!.value) : v!.value, negated: pendingNot };
      pendingNot = false;
      current = undefined;
      i++;
      continue;
    }
    if (name === "-f" || name === "--fragment") {
      rule.fragment = { negated: pendingNot };
      pendingNot = false;
      current = undefined;
      continue;
    }
    if (name === "-m" || name === "--match") {
      if (pendingNot) fail("! before -m");
      const v = toks[i];
      if (!v || isOptionToken(v) || v.value === "") fail("-m needs a module name");
      current = { module: v!.value, implicit: false, options: [] };
      rule.matches.push(current);
      i++;
      continue;
    }
    if (name === "-c" || name === "--set-counters") {
      if (pendingNot) fail("! before -c");
      const p = uint(P, line, toks[i]?.value, "-c packets");
      const b = uint(P, line, toks[i + 1]?.value, "-c bytes");
      if (rule.counters) fail("counters given twice");
      rule.counters = { packets: p, bytes: b };
      i += 2;
      continue;
    }
    if (name === "-j" || name === "--jump" || name === "-g" || name === "--goto") {
      if (pendingNot) fail(`! before ${name}`);
      const v = toks[i];
      if (!v || isOptionToken(v) || !CHAIN_NAME.test(v.value)) fail(`${name} needs a target`);
      if (rule.target) fail("two targets");
      i++;
      const tgt = { kind: name === "-j" || name === "--jump" ? ("jump" as const) : ("goto" as const), name: v!.value, options: [] as IptOption[] };
      // Everything after the target belongs to the target (iptables-save prints it last).
      let not = false;
      while (i < toks.length) {
        const o = toks[i]!;
        if (!o.quoted && o.value === "!") {
          if (not) fail("double negation");
          not = true;
          i++;
          continue;
        }
        if (!isOptionToken(o)) fail(`unexpected word ${JSON.stringify(o.value)} after target ${tgt.name}`);
        if (o.value === "-c" || o.value === "--set-counters") break; // `iptables -S -v` puts -c before -j, but accept it after too
        if (!o.value.startsWith("--")) fail(`unexpected option ${o.value} after target ${tgt.name}`);
        i++;
        const args = takeArgs();
        tgt.options.push({ name: o.value, args: o.value === "--to-destination" || o.value === "--to-source" ? args.map((a) => (isIpAddress(a) ? canonicalIp(a) : canonicalHostPort(a))) : args, negated: not });
        not = false;
      }
      if (not) fail("dangling !");
      rule.target = tgt;
      continue;
    }
    if (name.startsWith("--")) {
      // A module option. Without an explicit -m, iptables accepts protocol options implicitly
      // (`-p tcp --dport 80`): they belong to an implicit module named after the protocol.
      if (!current) {
        const proto = rule.protocol?.value;
        if (!proto) fail(`option ${name} outside any match module`);
        current = { module: proto!, implicit: true, options: [] };
        rule.matches.push(current);
      }
      current!.options.push({ name, args: takeArgs(), negated: pendingNot });
      pendingNot = false;
      continue;
    }
    fail(`unknown option ${name}`);
  }
  if (pendingNot) fail("dangling !");
  return rule;
}

interface Builder {
  name: string;
  chains: Record<string, IptChain>;
  declaredAt: number;
}

function counterPair(line: Line, s: string): { packets: number; bytes: number } {
  const m = /^\[(\d+):(\d+)\]$/.exec(s);
  if (!m) throw new ParseError(P, line.no, line.text, `bad counters ${JSON.stringify(s)}`);
  return { packets: uint(P, line, m[1], "packets"), bytes: uint(P, line, m[2], "bytes") };
}

/** Split `[p:b] -A CHAIN rest` / `-A CHAIN rest`, tokenising the rest. */
function appendLine(line: Line): { counters?: { packets: number; bytes: number }; chain: string; toks: Token[] } {
  let text = line.text;
  let counters: { packets: number; bytes: number } | undefined;
  const pre = /^(\[\S*\])\s+/.exec(text);
  if (pre) {
    counters = counterPair(line, pre[1]!);
    text = text.slice(pre[0].length);
  }
  const toks = tokenize(P, line, text);
  if (toks[0]?.value !== "-A" || toks[0].quoted) throw new ParseError(P, line.no, line.text, "expected -A");
  const chain = toks[1]?.value;
  if (chain === undefined || toks[1]!.quoted || !CHAIN_NAME.test(chain)) throw new ParseError(P, line.no, line.text, "-A needs a chain name");
  const r: { counters?: { packets: number; bytes: number }; chain: string; toks: Token[] } = { chain, toks: toks.slice(2) };
  if (counters) r.counters = counters;
  return r;
}

/** The table a kube-proxy (or built-in) chain lives in, for rules pasted without their `*table` line. */
function guessTable(chain: string): string {
  if (/^(KUBE-(SVC|SEP|EXT|SVL|XLB|FW|NODEPORTS|SERVICES|MARK-MASQ|MARK-DROP|POSTROUTING)(-|$))|^(PREROUTING|POSTROUTING)$/.test(chain)) return "nat";
  return "filter";
}

/** Parse full `iptables-save` / `ip6tables-save` output (any number of tables). */
export function parseIptablesSave(text: string, opts?: ParseOptions): IptablesSave {
  const out: IptablesSave = { flavour: "unknown", warnings: [], tables: {} };
  let table: Builder | undefined;
  const implicit: Record<string, Builder> = {};
  let rules = 0;
  const commit = (b: Builder): void => {
    const have = out.tables[b.name];
    out.tables[b.name] = { name: b.name, chains: { ...(have?.chains ?? {}), ...b.chains } };
  };
  const step = (line: Line): void => {
    const t = line.text;
    if (t.startsWith("#")) {
      const gen = /^# Generated by (\S+) (v\d[\w.-]*)(?: \(([\w-]+)\))?(?: on .+)?$/.exec(t);
      if (gen) {
        const prog = gen[1]!;
        const flav = prog.includes("nft") || gen[3] === "nf_tables" ? "nft" : prog.includes("legacy") || gen[3] === "legacy" || /^ip6?tables-save$/.test(prog) ? "legacy" : null;
        if (!flav || !/^ip6?tables(-nft|-legacy)?-save$/.test(prog)) throw new ParseError(P, line.no, t, `unknown generator ${prog}`);
        if (out.generatedBy && out.flavour !== flav) throw new ParseError(P, line.no, t, "mixed nft and legacy output");
        out.flavour = flav;
        out.generatedBy = `${prog} ${gen[2]}`;
        return;
      }
      if (/^# Completed on .+$/.test(t)) return;
      const w = /^# Warning: (.+)$/.exec(t);
      if (w) {
        out.warnings.push(w[1]!);
        return;
      }
      // iptables-nft-save on a table that other nft users changed (seed 001 L539 shows the chain form)
      if (/^# Table `\w+' is incompatible, use 'nft' tool\.$/.test(t)) {
        out.warnings.push(t.slice(2));
        return;
      }
      throw new ParseError(P, line.no, t, "unknown comment line");
    }
    if (opts?.tolerant && ELISION.test(t)) throw new ParseError(P, line.no, t, "elision in a pasted excerpt");
    if (t.startsWith("*")) {
      if (table) throw new ParseError(P, line.no, t, `table ${table.name} (line ${table.declaredAt}) not committed before the next table`);
      const name = t.slice(1);
      if (!TABLES.has(name)) throw new ParseError(P, line.no, t, `unknown table ${JSON.stringify(name)}`);
      if (out.tables[name]) throw new ParseError(P, line.no, t, `table ${name} appears twice`);
      table = { name, chains: {}, declaredAt: line.no };
      return;
    }
    if (!table && opts?.tolerant && (t.startsWith("-A") || t.startsWith("[") || t.startsWith(":"))) {
      // a grep without the *table line: the table is guessed from the chain name
      const chainName = t.startsWith(":") ? (/^:(\S+)/.exec(t)?.[1] ?? "") : appendLine(line).chain;
      const name = guessTable(chainName);
      if (!implicit[name]) {
        implicit[name] = { name, chains: {}, declaredAt: line.no };
        warn(opts, line.no, t, `no *${name} table line before this rule: read as table ${name} (guessed from the chain name)`);
      }
      inTable(implicit[name]!, line);
      return;
    }
    if (!table) throw new ParseError(P, line.no, t, "line outside a table");
    if (t === "COMMIT") {
      commit(table);
      table = undefined;
      return;
    }
    inTable(table, line);
  };
  const inTable = (tb: Builder, line: Line): void => {
    const t = line.text;
    if (t.startsWith(":")) {
      const m = /^:(\S+) (\S+)(?: (\S+))?$/.exec(t);
      if (!m || !CHAIN_NAME.test(m[1]!)) throw new ParseError(P, line.no, t, "bad chain declaration");
      const name = m[1]!;
      if (tb.chains[name]) throw new ParseError(P, line.no, t, `chain ${name} declared twice`);
      const pol = m[2]!;
      if (pol !== "-" && !/^(ACCEPT|DROP|RETURN|QUEUE)$/.test(pol)) throw new ParseError(P, line.no, t, `bad policy ${pol}`);
      const chain: IptChain = { name, policy: pol === "-" ? null : pol, rules: [] };
      if (m[3] !== undefined) chain.counters = counterPair(line, m[3]);
      tb.chains[name] = chain;
      return;
    }
    if (t.startsWith("-A") || t.startsWith("[")) {
      const a = appendLine(line);
      let chain = tb.chains[a.chain];
      if (!chain && opts?.tolerant) {
        warn(opts, line.no, t, `rule for undeclared chain ${a.chain}: chain declared here`);
        chain = tb.chains[a.chain] = { name: a.chain, policy: null, rules: [] };
      }
      if (!chain) throw new ParseError(P, line.no, t, `rule for undeclared chain ${a.chain}`);
      chain.rules.push(parseRuleTokens(line, tb.name, a.chain, a.toks, t, a.counters));
      rules++;
      return;
    }
    throw new ParseError(P, line.no, t, "unrecognised line");
  };
  for (const line of splitLines(text)) {
    if (line.text.trim() === "") continue;
    lineStep(opts, line, () => step(line));
  }
  if (table) {
    const err = new ParseError(P, table.declaredAt, `*${table.name}`, `table ${table.name} has no COMMIT (truncated output?)`);
    if (!opts?.tolerant) throw err;
    warn(opts, table.declaredAt, `*${table.name}`, err.detail);
    commit(table);
  }
  for (const b of Object.values(implicit)) commit(b);
  const chains = Object.values(out.tables).reduce((n, t) => n + Object.keys(t.chains).length, 0);
  if (opts?.tolerant && rules === 0 && chains === 0 && (opts.warnings?.length ?? 0) > 0) throw nothingUsable(P, opts, "chain or rule");
  return check(P, iptablesSaveSchema, out);
}

/**
 * Parse `iptables [-t table] -S [chain] [-v]` output: `-P` policies, `-N` chains and `-A` rules
 * (with `-c pkts bytes` under -v) of one table. Built-in chains come from `-P`, user chains from
 * `-N` (a `-S CHAIN` listing prints `-N CHAIN` itself); a rule for an undeclared chain is an error
 * (tolerant mode: the chain is declared with a warning).
 */
export function parseIptablesS(text: string, tableName = "filter", opts?: ParseOptions): IptTable {
  const chains: Record<string, IptChain> = {};
  let rules = 0;
  const step = (line: Line): void => {
    const t = line.text;
    if (opts?.tolerant && ELISION.test(t)) throw new ParseError(P, line.no, t, "elision or comment in a pasted excerpt");
    if (t.startsWith("-P ")) {
      const toks = tokenize(P, line);
      const name = toks[1]?.value ?? "";
      const pol = toks[2]?.value ?? "";
      if (!CHAIN_NAME.test(name) || !/^(ACCEPT|DROP|RETURN|QUEUE)$/.test(pol)) throw new ParseError(P, line.no, t, "bad -P line");
      if (chains[name]) throw new ParseError(P, line.no, t, `chain ${name} declared twice`);
      const chain: IptChain = { name, policy: pol, rules: [] };
      if (toks.length === 6 && toks[3]!.value === "-c") chain.counters = { packets: uint(P, line, toks[4]!.value, "packets"), bytes: uint(P, line, toks[5]!.value, "bytes") };
      else if (toks.length !== 3) throw new ParseError(P, line.no, t, "bad -P line");
      chains[name] = chain;
      return;
    }
    if (t.startsWith("-N ")) {
      const m = /^-N (\S+)$/.exec(t);
      if (!m || !CHAIN_NAME.test(m[1]!)) throw new ParseError(P, line.no, t, "bad -N line");
      if (chains[m[1]!]) throw new ParseError(P, line.no, t, `chain ${m[1]} declared twice`);
      chains[m[1]!] = { name: m[1]!, policy: null, rules: [] };
      return;
    }
    if (t.startsWith("-A ")) {
      const a = appendLine(line);
      let chain = chains[a.chain];
      if (!chain && opts?.tolerant) {
        warn(opts, line.no, t, `rule for undeclared chain ${a.chain}: chain declared here`);
        chain = chains[a.chain] = { name: a.chain, policy: null, rules: [] };
      }
      if (!chain) throw new ParseError(P, line.no, t, `rule for undeclared chain ${a.chain}`);
      chain.rules.push(parseRuleTokens(line, tableName, a.chain, a.toks, t, a.counters));
      rules++;
      return;
    }
    throw new ParseError(P, line.no, t, "unrecognised line");
  };
  for (const line of splitLines(text)) {
    if (line.text.trim() === "") continue;
    lineStep(opts, line, () => step(line));
  }
  if (opts?.tolerant && Object.keys(chains).length === 0 && (opts.warnings?.length ?? 0) > 0) throw nothingUsable(P, opts, "chain or rule");
  return check(P, iptTableSchema, { name: tableName, chains });
}

// ---------------------------------------------------------------------------------------------
// Queries over parsed rules

/** The options of a match module (first module of that name), or [] when absent. */
export function moduleOptions(rule: IptRule, module: string): IptOption[] {
  return rule.matches.find((m) => m.module === module)?.options ?? [];
}

/** First option with that name across all match modules. */
export function matchOption(rule: IptRule, name: string): IptOption | undefined {
  for (const m of rule.matches) {
    const o = m.options.find((x) => x.name === name);
    if (o) return o;
  }
  return undefined;
}

/** `-m comment --comment "…"` text, if any. */
export function comment(rule: IptRule): string | undefined {
  return moduleOptions(rule, "comment").find((o) => o.name === "--comment")?.args[0];
}

/** `-m statistic --mode random --probability p` as a number, if present. */
export function probability(rule: IptRule): number | undefined {
  const o = moduleOptions(rule, "statistic").find((x) => x.name === "--probability");
  const v = o?.args[0];
  return v !== undefined && /^\d+(\.\d+)?$/.test(v) ? Number(v) : undefined;
}

/** `--dport N` of the rule's protocol module (explicit `-m tcp` or implicit), if a single port. */
export function dport(rule: IptRule): number | undefined {
  const o = matchOption(rule, "--dport") ?? matchOption(rule, "--destination-port");
  const v = o?.args[0];
  return v !== undefined && /^\d{1,5}$/.test(v) && !o!.negated ? Number(v) : undefined;
}

/** A target option's first argument, e.g. targetOption(rule, "--to-destination"). */
export function targetOption(rule: IptRule, name: string): string | undefined {
  return rule.target?.options.find((o) => o.name === name)?.args[0];
}

/** Does the rule match exactly this destination address (with or without /32 or /128)? */
export function matchesDestination(rule: IptRule, address: string): boolean {
  const d = rule.destination;
  if (!d || d.negated) return false;
  const bare = d.value.replace(/\/(32|128)$/, "");
  return sameIp(bare, address);
}

export interface JumpEdge {
  rule: IptRule;
  to: JumpNode;
}
export interface JumpNode {
  chain: string;
  /** false when the target is a user chain that the table does not declare */
  exists: boolean;
  /** true when this chain was already visited on the path (a loop); its edges are not expanded */
  loop: boolean;
  edges: JumpEdge[];
}

/**
 * Follow jumps and gotos from a chain to every user chain it reaches, as a tree (depth-first, in
 * rule order). Built-in targets (ACCEPT, DNAT, MASQUERADE, …) end a path and are not nodes.
 * `keep` filters which rules are followed, e.g. only the KUBE-SERVICES rule for one ClusterIP.
 */
export function jumpTree(table: IptTable, chain: string, keep: (r: IptRule) => boolean = () => true, path: string[] = []): JumpNode {
  const c = table.chains[chain];
  if (!c) return { chain, exists: false, loop: false, edges: [] };
  if (path.includes(chain)) return { chain, exists: true, loop: true, edges: [] };
  const edges: JumpEdge[] = [];
  for (const r of c.rules) {
    const to = r.target?.name;
    if (!to || !keep(r)) continue;
    if (!table.chains[to] && /^[A-Z]+$/.test(to)) continue; // a built-in target
    edges.push({ rule: r, to: jumpTree(table, to, () => true, [...path, chain]) });
  }
  return { chain, exists: true, loop: false, edges };
}

/** The chains a jump tree reaches, in depth-first order, the root first, each once. */
export function reachableChains(node: JumpNode): string[] {
  const seen: string[] = [];
  const walk = (n: JumpNode): void => {
    if (!seen.includes(n.chain)) seen.push(n.chain);
    for (const e of n.edges) walk(e.to);
  };
  walk(node);
  return seen;
}

/**
 * The KUBE-SERVICES rules for a service address and port (ClusterIP, external or load-balancer
 * IP): `-d ip/32 -p proto … --dport port -j KUBE-…`.
 */
export function serviceRules(table: IptTable, address: string, port: number, proto: string): IptRule[] {
  return (table.chains["KUBE-SERVICES"]?.rules ?? []).filter(
    (r) => matchesDestination(r, address) && r.protocol?.value === proto && !r.protocol.negated && dport(r) === port,
  );
}

// ---------------------------------------------------------------------------------------------
// `iptables [-t table] -L -n [-v]`: the listing form, for evidence saved without -S or -save.
//
//   Chain KUBE-SVC-ECF5TUORC5E2ZCRD (1 references)
//   target     prot opt source               destination
//   KUBE-SEP-2ZVXHLZ3RZIBPYD4  all  --  0.0.0.0/0  0.0.0.0/0  /* default/web: */ statistic mode random probability 0.33332999982
//
// Rows become the same IptRule as iptables-save gives, for the match texts iptables prints for the
// modules kube-proxy uses (comment, statistic, tcp/udp/sctp ports, addrtype, mark, conntrack/state,
// set) and the targets' texts (DNAT/SNAT to:, MARK, MASQUERADE, REJECT). Any other text after the
// destination is a ParseError naming it (tolerant mode: a warning, the rule skipped).

const ANY = new Set(["0.0.0.0/0", "::/0"]);
const LIST_PROTO = /^!?(all|tcp|udp|icmp|icmpv6|ipv6-icmp|sctp|udplite|dccp|esp|ah|gre|\d+)$/;

function listAddress(line: Line, s: string, what: string): { value: string; negated: boolean } | undefined {
  const negated = s.startsWith("!");
  const v = negated ? s.slice(1) : s;
  if (ANY.has(v) && !negated) return undefined;
  cidr(P, line, v, what);
  const bare = /\//.test(v) ? v : `${v}/${v.includes(":") ? 128 : 32}`;
  return { value: canonicalCidr(bare), negated };
}

function listExtras(line: Line, rule: IptRule, words: string[]): void {
  const fail = (d: string): never => {
    throw new ParseError(P, line.no, line.text, d);
  };
  const mod = (name: string, implicit = false): IptMatch => {
    const m = { module: name, implicit, options: [] as IptOption[] };
    rule.matches.push(m);
    return m;
  };
  const tgtOpt = (name: string, args: string[]): void => {
    if (!rule.target) fail(`${name} text on a rule without a target`);
    rule.target!.options.push({ name, args, negated: false });
  };
  let i = 0;
  while (i < words.length) {
    const w = words[i]!;
    let m: RegExpExecArray | null;
    if (w === "/*") {
      const end = words.indexOf("*/", i + 1);
      if (end < 0) fail("unterminated /* comment */");
      mod("comment").options.push({ name: "--comment", args: [words.slice(i + 1, end).join(" ")], negated: false });
      i = end + 1;
    } else if (w === "statistic" && words[i + 1] === "mode" && words[i + 2] === "random" && words[i + 3] === "probability" && /^\d+(\.\d+)?$/.test(words[i + 4] ?? "")) {
      const s = mod("statistic");
      s.options.push({ name: "--mode", args: ["random"], negated: false }, { name: "--probability", args: [words[i + 4]!], negated: false });
      i += 5;
    } else if (/^(tcp|udp|sctp|udplite|dccp)$/.test(w)) {
      const p = mod(w, rule.protocol?.value === w);
      i++;
      while (i < words.length && (m = /^(!)?(dpt|spt|dpts|spts):(\S+)$/.exec(words[i]!))) {
        p.options.push({ name: m[2]!.startsWith("d") ? "--dport" : "--sport", args: [m[3]!], negated: m[1] !== undefined });
        i++;
      }
      while (i < words.length && /^(flags:\S+|option=\d+)$/.test(words[i]!)) i++;
    } else if (w === "ADDRTYPE" && words[i + 1] === "match") {
      const a = mod("addrtype");
      i += 2;
      while (i < words.length && (m = /^(src|dst)-type$/.exec(words[i]!))) {
        const neg = words[i + 1] === "!";
        const v = words[i + (neg ? 2 : 1)];
        if (!v || !/^[A-Z]+$/.test(v)) fail(`${m[1]}-type without a type`);
        a.options.push({ name: `--${m[1]}-type`, args: [v!], negated: neg });
        i += neg ? 3 : 2;
        if (words[i] === "limit-in" || words[i] === "limit-out") i++;
      }
    } else if (w === "mark" && words[i + 1] === "match") {
      const neg = words[i + 2] === "!";
      const v = words[i + (neg ? 3 : 2)];
      if (!v || !/^0x[0-9a-f]+(\/0x[0-9a-f]+)?$/.test(v)) fail("mark match without a mark");
      mod("mark").options.push({ name: "--mark", args: [v!], negated: neg });
      i += neg ? 4 : 3;
    } else if ((w === "ctstate" || w === "state") && /^[A-Z,]+$/.test(words[i + 1] ?? "")) {
      mod(w === "ctstate" ? "conntrack" : "state").options.push({ name: w === "ctstate" ? "--ctstate" : "--state", args: [words[i + 1]!], negated: false });
      i += 2;
    } else if (w === "match-set" && words[i + 1] && /^(src|dst)(,(src|dst))*$/.test(words[i + 2] ?? "")) {
      mod("set").options.push({ name: "--match-set", args: [words[i + 1]!, words[i + 2]!], negated: false });
      i += 3;
    } else if ((m = /^to:(\S+)$/.exec(w))) {
      tgtOpt(rule.target?.name === "SNAT" ? "--to-source" : "--to-destination", [canonicalHostPort(m[1]!)]);
      i++;
    } else if (w === "MARK" && /^(or|xset|set|and|xor)$/.test(words[i + 1] ?? "") && words[i + 2]) {
      tgtOpt(`--${words[i + 1] === "xset" ? "set-xmark" : `${words[i + 1]}-mark`}`, [words[i + 2]!]);
      i += 3;
    } else if (w === "random-fully" || w === "random" || w === "persistent") {
      tgtOpt(`--${w}`, []);
      i++;
    } else if (w === "masq" && words[i + 1] === "ports:" && words[i + 2]) {
      tgtOpt("--to-ports", [words[i + 2]!]);
      i += 3;
    } else if (w === "reject-with" && words[i + 1]) {
      tgtOpt("--reject-with", [words[i + 1]!]);
      i += 2;
    } else fail(`unknown match or target text ${JSON.stringify(words.slice(i).join(" ").slice(0, 60))}`);
  }
}

/** Parse `iptables [-t table] -L -n [-v] [-x]` output into one table (name as given: -L does not print it). */
export function parseIptablesList(text: string, tableName = "filter", opts?: ParseOptions): IptTable {
  const chains: Record<string, IptChain> = {};
  let chain: IptChain | undefined;
  let cols: string[] | undefined;
  for (const line of splitLines(text)) {
    if (line.text.trim() === "") continue;
    lineStep(opts, line, () => {
      const t = line.text;
      if (opts?.tolerant && ELISION.test(t)) throw new ParseError(P, line.no, t, "elision or comment in a pasted excerpt");
      let m = /^Chain (\S+) \((?:policy (ACCEPT|DROP|RETURN|QUEUE)(?: (\d+) packets, (\d+) bytes)?|(\d+) references)\)$/.exec(t.trim());
      if (m) {
        if (!CHAIN_NAME.test(m[1]!)) throw new ParseError(P, line.no, t, "bad chain name");
        if (chains[m[1]!]) throw new ParseError(P, line.no, t, `chain ${m[1]} listed twice`);
        chain = chains[m[1]!] = { name: m[1]!, policy: m[2] ?? null, rules: [] };
        if (m[3] !== undefined) chain.counters = { packets: Number(m[3]), bytes: Number(m[4]) };
        cols = undefined;
        return;
      }
      if (!chain) throw new ParseError(P, line.no, t, 'line before any "Chain" header');
      const w = t.trim().split(/\s+/);
      if (w.join(" ") === "target prot opt source destination" || w.join(" ") === "pkts bytes target prot opt in out source destination") {
        cols = w;
        return;
      }
      if (!cols) throw new ParseError(P, line.no, t, "rule before the column header");
      const verbose = cols[0] === "pkts";
      // the target column is empty for a rule without a target: the row then starts with prot
      const hasTarget = !LIST_PROTO.test(w[verbose ? 2 : 0] ?? "");
      let k = 0;
      const rule: IptRule = { table: tableName, chain: chain!.name, raw: t, line: line.no, matches: [] };
      if (verbose) {
        const num = (x: string | undefined): number => {
          const mm = x === undefined ? null : /^(\d+)([KMGT])?$/.exec(x);
          if (!mm) throw new ParseError(P, line.no, t, `counter "${x ?? ""}" is not a count`);
          return Number(mm[1]) * ({ K: 1e3, M: 1e6, G: 1e9, T: 1e12 }[mm[2] as "K"] ?? 1);
        };
        rule.counters = { packets: num(w[0]), bytes: num(w[1]) };
        k = 2;
      }
      if (hasTarget) {
        const name = w[k]!;
        if (!CHAIN_NAME.test(name)) throw new ParseError(P, line.no, t, `bad target ${JSON.stringify(name)}`);
        rule.target = { kind: "jump", name, options: [] };
        k++;
      }
      const prot = w[k], opt = w[k + 1];
      if (!prot || !LIST_PROTO.test(prot)) throw new ParseError(P, line.no, t, `prot "${prot ?? ""}" unreadable`);
      if (!opt || !/^(--|-f|!f)$/.test(opt)) throw new ParseError(P, line.no, t, `opt "${opt ?? ""}" unreadable`);
      if (prot !== "all") rule.protocol = { value: prot.replace(/^!/, ""), negated: prot.startsWith("!") };
      if (opt !== "--") rule.fragment = { negated: opt === "!f" };
      k += 2;
      if (verbose) {
        const [inIf, outIf] = [w[k], w[k + 1]];
        if (inIf === undefined || outIf === undefined) throw new ParseError(P, line.no, t, "in/out columns missing");
        if (inIf !== "*") rule.inInterface = { value: inIf.replace(/^!/, ""), negated: inIf.startsWith("!") };
        if (outIf !== "*") rule.outInterface = { value: outIf.replace(/^!/, ""), negated: outIf.startsWith("!") };
        k += 2;
      }
      const [src, dst] = [w[k], w[k + 1]];
      if (src === undefined || dst === undefined) throw new ParseError(P, line.no, t, "source/destination missing (truncated line?)");
      const s = listAddress(line, src, "source"), d = listAddress(line, dst, "destination");
      if (s) rule.source = s;
      if (d) rule.destination = d;
      listExtras(line, rule, w.slice(k + 2));
      chain!.rules.push(rule);
    });
  }
  if (opts?.tolerant && Object.keys(chains).length === 0 && (opts.warnings?.length ?? 0) > 0) throw nothingUsable(P, opts, "chain");
  if (Object.keys(chains).length === 0) throw new ParseError(P, undefined, text.slice(0, 200), 'no "Chain" header');
  return check(P, iptTableSchema, { name: tableName, chains });
}
