import { describe, expect, it } from "vitest";
import { prng } from "../evidence/parsers/fuzz-util.ts";
import { attachJson, behaviour } from "../report/allure.ts";
import { binomialInterval, binomialPmf, logGamma, spread } from "./spread.ts";
import { formatVerdict } from "./verdict.ts";

/** the fuzz tests' seeded PRNG (mulberry32), so the statistical tests are reproducible */
const rng = prng;

/** kube-proxy's chain: 1/3, then 1/2 of the rest, then the last one unconditionally */
function kubeProxyPick(r: () => number, probs: number[], backends: string[]): string {
  for (let i = 0; i < probs.length; i++) if (r() < probs[i]!) return backends[i]!;
  return backends[backends.length - 1]!;
}

const B = ["be1", "be2", "be3"];
const tally = (seq: string[]) => seq.reduce<Record<string, number>>((m, b) => ({ ...m, [b]: (m[b] ?? 0) + 1 }), {});

describe("spread: exact binomial bounds", () => {
  it("SVC-02 logGamma and the binomial pmf are exact enough (Γ(n+1) = n!, pmf sums to 1)", async () => {
    await behaviour("SVC-02", "R");
    expect(logGamma(5)).toBeCloseTo(Math.log(24), 12);
    expect(logGamma(171)).toBeCloseTo(706.5730622457874, 8); // ln 170!
    expect(logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 12);
    for (const [n, p] of [[300, 1 / 3], [10, 0.5], [100_000, 0.01]] as const) {
      let s = 0;
      for (let x = 0; x <= n; x++) s += binomialPmf(n, p, x);
      expect(s).toBeCloseTo(1, 9);
    }
    expect(binomialPmf(4, 0.5, 2)).toBeCloseTo(6 / 16, 14);
  });

  it("SVC-02 the interval for N=300, p=1/3, alpha 0.001 over 3 backends is [71, 130] and each tail outside it is ≤ alpha/6", async () => {
    await behaviour("SVC-02", "R");
    const a = 0.001 / 6;
    const { lo, hi } = binomialInterval(300, 1 / 3, a);
    expect([lo, hi]).toEqual([71, 130]);
    const cdf = (x: number) => Array.from({ length: x + 1 }, (_, i) => binomialPmf(300, 1 / 3, i)).reduce((s, v) => s + v, 0);
    expect(cdf(lo - 1)).toBeLessThanOrEqual(a);
    expect(cdf(lo)).toBeGreaterThan(a);
    expect(1 - cdf(hi)).toBeLessThanOrEqual(a);
    expect(1 - cdf(hi - 1)).toBeGreaterThan(a);
  });

  it("SVC-02 rejects nonsense parameters", async () => {
    await behaviour("SVC-02", "R");
    expect(() => binomialInterval(-1, 0.5, 0.01)).toThrow(/non-negative integer/);
    expect(() => binomialInterval(10, 1.5, 0.01)).toThrow(/p must be/);
    expect(() => binomialInterval(10, 0.5, 0.7)).toThrow(/tail probability/);
  });
});

describe("spread oracle", () => {
  it("SVC-02 an even random spread passes and every backend's line states its count and bound", async () => {
    await behaviour("SVC-02", "R");
    const v = spread({ id: "SVC-02", backends: B, counts: { be1: 104, be2: 95, be3: 101 } });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.reasons).toEqual([
      "be1: 104 of 300 (34.7 %), expected 100.0 (p = 1/3), acceptance [71, 130] (exact binomial, alpha 0.001 over 3 backends)",
      "be2: 95 of 300 (31.7 %), expected 100.0 (p = 1/3), acceptance [71, 130] (exact binomial, alpha 0.001 over 3 backends)",
      "be3: 101 of 300 (33.7 %), expected 100.0 (p = 1/3), acceptance [71, 130] (exact binomial, alpha 0.001 over 3 backends)",
    ]);
    expect(v.measurements).toMatchObject({ connections: 300, answered: 300, "bound:be1": "[71, 130]", "count:be2": 95 });
  });

  it("SVC-02 a skewed chain (0.9, then 0.5) fails naming the over- and under-loaded backends", async () => {
    await behaviour("SVC-02", "R");
    const v = spread({ id: "SVC-02", backends: B, counts: { be1: 268, be2: 17, be3: 15 } });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual([
      expect.stringMatching(/^be1: 268 of 300 \(89\.3 %\), .*acceptance \[71, 130\].*: too many$/),
      expect.stringMatching(/^be2: 17 of 300 .*: too few$/),
      expect.stringMatching(/^be3: 15 of 300 .*: too few$/),
    ]);
  });

  it("MLB-10 a backend that never answers fails, an answer from a stranger fails, failed connections fail", async () => {
    await behaviour("MLB-10", "R");
    const missing = spread({ id: "MLB-10", backends: B, counts: { be1: 150, be2: 150 } });
    expect(missing.ok).toBe(false);
    expect(missing.reasons).toContainEqual(expect.stringMatching(/^be3: 0 of 300 .*too few$/));
    const stranger = spread({ id: "MLB-10", backends: B, counts: { be1: 100, be2: 100, be3: 99, "10.0.0.9": 1 } });
    expect(stranger.reasons).toEqual(['1 answer(s) from "10.0.0.9", which is not one of the backends (be1, be2, be3)']);
    const timeouts = spread({ id: "MLB-10", backends: B, counts: { be1: 100, be2: 100, be3: 98 }, failed: 2 });
    expect(timeouts.reasons).toEqual(["2 of 300 connections got no backend's answer (at most 0 allowed)"]);
    expect(spread({ id: "MLB-10", backends: B, counts: { be1: 100, be2: 100, be3: 98 }, failed: 2, maxFailed: 2 }).ok).toBe(true);
    expect(spread({ id: "MLB-10", backends: B, counts: {} }).reasons).toEqual(["no connection was answered by a backend: nothing to judge the spread on"]);
  });

  it("MLB-10 uneven expected shares (e.g. 2 of 4 endpoints on one node) are judged against their own share", async () => {
    await behaviour("MLB-10", "R");
    const shares = { be1: 0.5, be2: 0.25, be3: 0.25 };
    expect(spread({ id: "MLB-10", backends: B, shares, counts: { be1: 148, be2: 80, be3: 72 } }).ok).toBe(true);
    const even = spread({ id: "MLB-10", backends: B, shares, counts: { be1: 100, be2: 100, be3: 100 } });
    expect(even.ok).toBe(false);
    expect(even.reasons[0]).toMatch(/^be1: 100 of 300 .*expected 150\.0 \(p = 0\.5000\).*too few$/);
    expect(spread({ id: "MLB-10", backends: B, shares: { be1: 0.5, be2: 0.25, be3: 0.2 }, counts: {} }).reasons[0]).toMatch(/sum to 0\.95/);
    expect(spread({ id: "MLB-10", backends: B, shares: { be1: 0.5, be2: 0.25, be9: 0.25 }, counts: {} }).ok).toBe(false);
  });

  it("MLB-10 round robin fails even with a perfect 100/100/100, a random sequence passes", async () => {
    await behaviour("MLB-10", "R");
    const rr = Array.from({ length: 300 }, (_, i) => B[i % 3]!);
    const v = spread({ id: "MLB-10", backends: B, counts: tally(rr), sequence: rr });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual([expect.stringMatching(/^answer i equals answer i−3 in 297 of 297 positions \(random order of these counts: about 98, bound \d+\): the backends take turns in a fixed cycle \(round robin\), not a random choice$/)]);
    const r = rng(42);
    const seq = Array.from({ length: 300 }, () => kubeProxyPick(r, [1 / 3, 1 / 2], B));
    const ok = spread({ id: "MLB-10", backends: B, counts: tally(seq), sequence: seq });
    expect(ok.ok, formatVerdict(ok)).toBe(true);
    expect(ok.reasons.at(-1)).toMatch(/no fixed cycle, consistent with random choice$/);
    expect(spread({ id: "MLB-10", backends: B, counts: tally(seq), sequence: seq.slice(1) }).reasons).toEqual([expect.stringMatching(/sequence has 299 entries but the counts add up to 300/)]);
  });

  it("SVC-02 calibration: a correct kube-proxy chain fails at most about alpha of the time, a 0.9/0.5 chain always fails", async () => {
    await behaviour("SVC-02", "R");
    const r = rng(7);
    const runs = 2000;
    let falseAlarms = 0;
    let caught = 0;
    let cycleMistakes = 0;
    for (let i = 0; i < runs; i++) {
      const good = Array.from({ length: 300 }, () => kubeProxyPick(r, [1 / 3, 1 / 2], B));
      if (!spread({ id: "SVC-02", backends: B, counts: tally(good), sequence: good }).ok) falseAlarms++;
      const bad = Array.from({ length: 300 }, () => kubeProxyPick(r, [0.9, 0.5], B));
      const vb = spread({ id: "SVC-02", backends: B, counts: tally(bad), sequence: bad });
      if (!vb.ok) caught++;
      // skewed but random: the shares are wrong, the order is not a cycle
      if (vb.reasons.some((x) => x.includes("round robin"))) cycleMistakes++;
    }
    await attachJson("calibration", { runs, falseAlarms, caught, cycleMistakes });
    process.stderr.write(`[spread calibration] ${JSON.stringify({ runs, falseAlarms, caught, cycleMistakes })}\n`);
    // expected ≤ 0.001 (+ the cycle check's ≤ 0.001) × 2000 ≈ 4; allow for chance
    expect(falseAlarms).toBeLessThanOrEqual(10);
    expect(caught).toBe(runs);
    expect(cycleMistakes).toBeLessThanOrEqual(10);
  });
});
