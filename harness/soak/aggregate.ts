/**
 * The soak's arithmetic, pure: read one run's vitest JSON report into outcomes, gather the outcomes
 * of N runs per test (passes, fails, skips, the distinct failure reasons, wall time min/median/max),
 * name the tests whose verdict changed between runs (flaky), and render the table. No I/O here.
 */
import { z } from "zod";
import { ParseError } from "../evidence/parse-error.ts";

export type Verdict = "passed" | "failed" | "skipped";

export interface Outcome {
  /** the test file, relative to the project root */
  file: string;
  /** "describe > test" as vitest names it; "(file: hooks and setup)" for errors outside any test */
  name: string;
  verdict: Verdict;
  durationMs: number | null;
  /** the failure, normalised to one line (see normaliseReason) */
  reason?: string;
}

export interface RunResult {
  /** 1-based */
  index: number;
  runId: string;
  exitCode: number | null;
  wallMs: number;
  outcomes: Outcome[];
  /** where this run's evidence is (output log, vitest JSON, Allure results) */
  evidence: string;
  /** the run produced no report (vitest died, bad selection): why */
  error?: string;
}

export const FILE_HOOKS = "(file: hooks and setup)";

const Assertion = z.object({
  fullName: z.string(),
  status: z.string(),
  duration: z.number().nullish(),
  failureMessages: z.array(z.string()).nullish(),
});
const FileResult = z.object({ name: z.string(), status: z.string(), message: z.string().default(""), assertionResults: z.array(Assertion) });
const Report = z.object({ testResults: z.array(FileResult) });

/**
 * Failure text → one line that is the same for the same failure in another run: the first line
 * that says something, with run ids, timestamps, durations, hex ids and ports made generic.
 */
export function normaliseReason(message: string): string {
  const clean = message.replace(/\x1b\[[0-9;]*m/g, "");
  const line = clean.split("\n").map((l) => l.trim()).find((l) => l && !/^at\s/.test(l)) ?? "(no message)";
  return line
    // run ids: nc-<time>-<pid>, nct-<tag>-<time>, soak-<time>-<n> (their parts carry digits; nc-mirror-docker-io does not)
    .replace(/\b(?:nct?|soak)-(?:[a-z]+-)?[a-z]*\d[a-z0-9]*(?:-[a-z]*\d[a-z0-9]*)?/g, "<run>")
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z/g, "<time>")
    .replace(/\b\d+(?:\.\d+)? ?(ms|s)\b/g, "N $1")
    .replace(/\b[0-9a-f]{12,64}\b/g, "<id>")
    .replace(/127\.0\.0\.1:\d+/g, "127.0.0.1:<port>")
    .slice(0, 240);
}

const VERDICT: Record<string, Verdict> = { passed: "passed", failed: "failed", skipped: "skipped", pending: "skipped", todo: "skipped", disabled: "skipped" };

/** One run's vitest JSON report (`--reporter=json`) → outcomes; file paths made relative to `root`. */
export function parseVitestJson(text: string, root: string): Outcome[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new ParseError("vitest-json", undefined, text, `not JSON: ${(e as Error).message}`);
  }
  const r = Report.safeParse(data);
  if (!r.success) throw new ParseError("vitest-json", undefined, text, `not a vitest JSON report: ${r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  const out: Outcome[] = [];
  const rel = (p: string) => (p.startsWith(`${root}/`) ? p.slice(root.length + 1) : p);
  for (const f of r.data.testResults) {
    const file = rel(f.name);
    for (const a of f.assertionResults) {
      const verdict = VERDICT[a.status];
      if (!verdict) throw new ParseError("vitest-json", undefined, a.fullName, `unknown status "${a.status}"`);
      const reason = verdict === "failed" ? normaliseReason(a.failureMessages?.[0] ?? "") : undefined;
      out.push({ file, name: a.fullName, verdict, durationMs: a.duration ?? null, ...(reason ? { reason } : {}) });
    }
    // an error outside any test (beforeAll, afterAll, import): its own line, so a run whose setup broke is not a silent row of skips
    // (a describe block's beforeAll that throws leaves the file "failed" with no message and its
    // tests "skipped": measured in a soak, where such a run had read as "0 failed")
    const testFailed = f.assertionResults.some((a) => a.status === "failed");
    const hookFailed = f.status === "failed" && (f.message.trim() !== "" || !testFailed);
    const hookReason = f.message.trim() !== "" ? normaliseReason(f.message) : "the file failed outside any test (a suite's setup); see the run's output.log";
    out.push({ file, name: FILE_HOOKS, verdict: hookFailed ? "failed" : "passed", durationMs: null, ...(hookFailed ? { reason: hookReason } : {}) });
  }
  return out;
}

export interface TestStats {
  file: string;
  name: string;
  passes: number;
  fails: number;
  skips: number;
  /** runs that did not report this test at all (the run broke before it) */
  absent: number;
  /** distinct failure reasons, each with the runs (1-based) it happened in */
  reasons: Array<{ reason: string; runs: number[] }>;
  /** wall time of the runs that ran it (passed or failed), ms */
  wall: { min: number; median: number; max: number } | null;
  /** the verdict changed between runs */
  flaky: boolean;
  failingRuns: number[];
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function aggregate(runs: RunResult[]): TestStats[] {
  const byTest = new Map<string, { file: string; name: string; seen: Array<{ run: number; o: Outcome }> }>();
  for (const r of runs)
    for (const o of r.outcomes) {
      const key = `${o.file}\u0000${o.name}`;
      const t = byTest.get(key) ?? { file: o.file, name: o.name, seen: [] };
      t.seen.push({ run: r.index, o });
      byTest.set(key, t);
    }
  const stats: TestStats[] = [];
  for (const t of byTest.values()) {
    const count = (v: Verdict) => t.seen.filter((s) => s.o.verdict === v).length;
    const reasons = new Map<string, number[]>();
    for (const s of t.seen) if (s.o.verdict === "failed") reasons.set(s.o.reason ?? "(no message)", [...(reasons.get(s.o.reason ?? "(no message)") ?? []), s.run]);
    const times = t.seen.filter((s) => s.o.verdict !== "skipped" && s.o.durationMs !== null).map((s) => s.o.durationMs!);
    const absent = runs.length - new Set(t.seen.map((s) => s.run)).size;
    stats.push({
      file: t.file,
      name: t.name,
      passes: count("passed"),
      fails: count("failed"),
      skips: count("skipped"),
      absent,
      reasons: [...reasons].map(([reason, rs]) => ({ reason, runs: rs })),
      wall: times.length ? { min: Math.min(...times), median: median(times), max: Math.max(...times) } : null,
      flaky: new Set(t.seen.map((s) => s.o.verdict)).size > 1,
      failingRuns: t.seen.filter((s) => s.o.verdict === "failed").map((s) => s.run),
    });
  }
  // file hook lines that never failed say nothing: leave them out of the table
  return stats.filter((s) => s.name !== FILE_HOOKS || s.fails > 0).sort((a, b) => a.file.localeCompare(b.file) || 0);
}

const secs = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}`;

/** The per-test table (plain text, fixed-width columns), then the failure reasons and a verdict line. */
export function renderTable(stats: TestStats[], runs: RunResult[]): string {
  const header = ["test", "pass", "fail", "skip", "min s", "median s", "max s", "verdict"];
  const rows = stats.map((s) => [
    `${s.file} > ${s.name}`,
    String(s.passes),
    String(s.fails),
    String(s.skips + s.absent),
    s.wall ? secs(s.wall.min) : "-",
    s.wall ? secs(s.wall.median) : "-",
    s.wall ? secs(s.wall.max) : "-",
    s.flaky ? "FLAKY" : s.fails ? "fails" : s.passes ? "stable" : "skipped",
  ]);
  const width = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(width[i]!) : c.padStart(width[i]!))).join("  ").trimEnd();
  const out = [line(header), width.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)];
  const failing = stats.filter((s) => s.fails);
  if (failing.length) {
    out.push("", "failure reasons:");
    for (const s of failing) {
      out.push(`  ${s.file} > ${s.name}`);
      for (const r of s.reasons) out.push(`    runs ${r.runs.join(", ")}: ${r.reason}`);
    }
  }
  const broken = runs.filter((r) => r.error);
  if (broken.length) {
    out.push("", "runs without a report:");
    for (const r of broken) out.push(`  run ${r.index} (${r.runId}): ${r.error}`);
  }
  const walls = runs.map((r) => r.wallMs);
  out.push("", `${runs.length} runs, wall time per run ${secs(Math.min(...walls))}/${secs(median(walls))}/${secs(Math.max(...walls))} s (min/median/max); ${verdictLine(stats, runs)}`);
  return out.join("\n");
}

export function verdictLine(stats: TestStats[], runs: RunResult[]): string {
  const flaky = stats.filter((s) => s.flaky);
  const failing = stats.filter((s) => !s.flaky && s.fails);
  const broken = runs.filter((r) => r.error).length;
  if (!flaky.length && !failing.length && !broken) return "no verdict changed";
  return [
    flaky.length ? `${flaky.length} flaky: ${flaky.map((s) => `${s.name} (failed in runs ${s.failingRuns.join(", ") || "-"})`).join("; ")}` : "",
    failing.length ? `${failing.length} failing in every run: ${failing.map((s) => s.name).join("; ")}` : "",
    broken ? `${broken} runs without a report` : "",
  ].filter(Boolean).join("; ");
}

/** 0: every verdict held and nothing failed; 1 otherwise */
export function soakExitCode(stats: TestStats[], runs: RunResult[]): 0 | 1 {
  return stats.some((s) => s.flaky || s.fails) || runs.some((r) => r.error) ? 1 : 0;
}
