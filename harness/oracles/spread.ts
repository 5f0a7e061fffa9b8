/**
 * Load spreading over backends (SVC-02's `--probability` chain in action; MLB-10 "random, not round
 * robin"): N connections, each answered by one backend; is every backend's share within a stated
 * statistical bound of its expected share, and does the order look random rather than a cycle?
 *
 * The bound (exact, no normal approximation): under independent random choice with shares p_b,
 * backend b's count is Binomial(N, p_b). Each backend gets the acceptance interval [lo, hi] with
 * P(X < lo) ≤ a and P(X > hi) ≤ a, a = alpha / (2k) for k backends (two-sided, Bonferroni over
 * the k backends), so a correct random spreader fails this oracle with probability ≤ alpha
 * (default 0.001) in all. For N = 300, k = 3, p = 1/3 that is [71, 130] (expected 100).
 *
 * Round robin (optional, when the answer sequence is given): a cycle over the k backends repeats
 * itself every k answers, so seq[i] = seq[i−k] for (nearly) every i; in a random order of the same
 * counts c_b that agreement has probability q = Σ c_b(c_b−1) / (N(N−1)) per position (≈ 1/3 for
 * three even backends). The oracle fails when the agreements exceed the upper Binomial(N−k, q)
 * quantile at alpha/2 (the positions are not quite independent; the bound is a screen: round robin
 * scores N−k, a random order about N/3, and a skewed random spread is judged against its own counts).
 *
 * Pure function: counts in, verdict out.
 */
import { verdict, type Verdict } from "./verdict.ts";

export interface SpreadInput {
  /** the behaviour the spread is evidence for: "SVC-02", "MLB-10" */
  id: string;
  /** the backends that should share the load (names or IPs as the answers carry them) */
  backends: string[];
  /** answers per backend; a backend absent here counted 0; an answer from no listed backend is a failure */
  counts: Record<string, number>;
  /** expected share per backend (must sum to 1); default 1/k each */
  shares?: Record<string, number>;
  /** connections that got no backend's answer (timeouts, resets) */
  failed?: number;
  /** how many failed connections are tolerated; default 0 */
  maxFailed?: number;
  /** family-wise false-alarm probability for a correct random spreader; default 0.001 */
  alpha?: number;
  /** the answering backend of each connection, in order; enables the round-robin check */
  sequence?: string[];
}

export interface Interval {
  lo: number;
  hi: number;
}

// --- exact binomial tails --------------------------------------------------------------------

const LANCZOS = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];

/** ln Γ(x) for x > 0 (Lanczos, g = 7; ~15 significant digits). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = LANCZOS[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** P(X = x) for X ~ Binomial(n, p), computed in log space (no underflow for large n). */
export function binomialPmf(n: number, p: number, x: number): number {
  if (x < 0 || x > n) return 0;
  if (p === 0) return x === 0 ? 1 : 0;
  if (p === 1) return x === n ? 1 : 0;
  return Math.exp(logGamma(n + 1) - logGamma(x + 1) - logGamma(n - x + 1) + x * Math.log(p) + (n - x) * Math.log1p(-p));
}

/**
 * The acceptance interval [lo, hi] of Binomial(n, p) with each tail outside it ≤ a:
 * lo = the smallest x with P(X < x) ≤ a < P(X ≤ x); hi = the largest x with P(X > x) ≤ a < P(X ≥ x).
 */
export function binomialInterval(n: number, p: number, a: number): Interval {
  if (!Number.isInteger(n) || n < 0) throw new Error(`binomialInterval: n must be a non-negative integer, got ${n}`);
  if (!(p >= 0 && p <= 1)) throw new Error(`binomialInterval: p must be in [0, 1], got ${p}`);
  if (!(a > 0 && a < 0.5)) throw new Error(`binomialInterval: tail probability must be in (0, 0.5), got ${a}`);
  const pmf = Array.from({ length: n + 1 }, (_, x) => binomialPmf(n, p, x));
  let lo = 0;
  for (let below = 0; lo <= n && below + pmf[lo]! <= a; lo++) below += pmf[lo]!;
  let hi = n;
  for (let above = 0; hi >= 0 && above + pmf[hi]! <= a; hi--) above += pmf[hi]!;
  return { lo, hi };
}

const tally = (seq: string[]): Record<string, number> => {
  const m: Record<string, number> = {};
  for (const b of seq) m[b] = (m[b] ?? 0) + 1;
  return m;
};

// --- the oracle ----------------------------------------------------------------------------

const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;
const frac = (p: number, k: number): string => (Math.abs(p - 1 / k) < 1e-12 ? `1/${k}` : p.toFixed(4));

export function spread(input: SpreadInput): Verdict {
  const alpha = input.alpha ?? 0.001;
  const k = input.backends.length;
  const failures: string[] = [];
  const passes: string[] = [];
  if (k === 0) return verdict(input.id, ["spread: no backends given"]);
  if (new Set(input.backends).size !== k) return verdict(input.id, [`spread: backends listed twice: ${input.backends.join(", ")}`]);
  if (!(alpha > 0 && alpha < 1)) return verdict(input.id, [`spread: alpha must be in (0, 1), got ${alpha}`]);

  const shares: Record<string, number> = {};
  for (const b of input.backends) shares[b] = input.shares ? (input.shares[b] ?? 0) : 1 / k;
  const sum = Object.values(shares).reduce((s, x) => s + x, 0);
  if (input.shares && Math.abs(sum - 1) > 1e-9) return verdict(input.id, [`spread: expected shares sum to ${sum}, not 1`]);
  for (const s of Object.keys(input.shares ?? {})) if (!input.backends.includes(s)) return verdict(input.id, [`spread: a share is given for ${s}, which is not a backend`]);

  const strangers = Object.entries(input.counts).filter(([b, n]) => !input.backends.includes(b) && n > 0);
  for (const [b, n] of strangers) failures.push(`${n} answer(s) from ${JSON.stringify(b)}, which is not one of the backends (${input.backends.join(", ")})`);

  const counts = input.backends.map((b) => input.counts[b] ?? 0);
  const n = counts.reduce((s, x) => s + x, 0);
  const failed = input.failed ?? 0;
  const maxFailed = input.maxFailed ?? 0;
  const total = n + failed + strangers.reduce((s, [, x]) => s + x, 0);
  if (failed > maxFailed) failures.push(`${failed} of ${total} connections got no backend's answer (at most ${maxFailed} allowed)`);
  if (n === 0) {
    failures.push("no connection was answered by a backend: nothing to judge the spread on");
    return verdict(input.id, failures, [], { connections: total, answered: 0, failed });
  }

  const a = alpha / (2 * k);
  const measurements: Record<string, number | string> = { connections: total, answered: n, failed, alpha, tailPerSide: Number(a.toPrecision(3)) };
  input.backends.forEach((b, i) => {
    const p = shares[b]!;
    const c = counts[i]!;
    const { lo, hi } = binomialInterval(n, p, a);
    measurements[`count:${b}`] = c;
    measurements[`bound:${b}`] = `[${lo}, ${hi}]`;
    const line = `${b}: ${c} of ${n} (${pct(c / n)}), expected ${(n * p).toFixed(1)} (p = ${frac(p, k)}), acceptance [${lo}, ${hi}] (exact binomial, alpha ${alpha} over ${k} backends)`;
    if (c < lo || c > hi) failures.push(`${line}: ${c < lo ? "too few" : "too many"}`);
    else passes.push(line);
  });

  if (input.sequence) {
    const seq = input.sequence;
    if (seq.length !== n + strangers.reduce((s, [, x]) => s + x, 0)) {
      failures.push(`the answer sequence has ${seq.length} entries but the counts add up to ${n}`);
    } else if (k > 1 && seq.length > 2 * k) {
      let agree = 0;
      for (let i = k; i < seq.length; i++) if (seq[i] === seq[i - k]) agree++;
      const m = seq.length - k;
      // conditional on the observed counts, a random order repeats itself at lag k with probability
      // Σ c(c−1) / (n(n−1)) (drawing two positions without replacement): skewed but random spreads
      // are not mistaken for a cycle, and a cycle is caught whatever its counts
      const len = seq.length;
      const q = Object.values(tally(seq)).reduce((s, c) => s + c * (c - 1), 0) / (len * (len - 1));
      const { hi } = binomialInterval(m, q, alpha / 2);
      measurements["periodAgreement"] = `${agree}/${m}`;
      const line = `answer i equals answer i−${k} in ${agree} of ${m} positions (random order of these counts: about ${(m * q).toFixed(0)}, bound ${hi})`;
      if (agree > hi) failures.push(`${line}: the backends take turns in a fixed cycle (round robin), not a random choice`);
      else passes.push(`${line}: no fixed cycle, consistent with random choice`);
    }
  }
  return verdict(input.id, failures, passes, measurements);
}
