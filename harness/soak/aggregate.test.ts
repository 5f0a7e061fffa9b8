import { describe, expect, it } from "vitest";
import { ParseError } from "../evidence/parse-error.ts";
import { fuzz } from "../evidence/parsers/fuzz-util.ts";
import { FILE_HOOKS, type Outcome, type RunResult, aggregate, median, normaliseReason, parseVitestJson, renderTable, soakExitCode, verdictLine } from "./aggregate.ts";
import { SOAK_USAGE, UsageError, parseSoakArgs } from "./args.ts";

const ROOT = "/repo";
const HARN01 = "cluster HARN-01 every node of the topology is Ready and kube-proxy runs in iptables mode";
const TAINT = "AssertionError: expected [ V1Taint{ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute', …(1) } ] to deeply equal []\n    at suites/cluster/cluster.e2e.ts:37:35";

/** a synthetic vitest JSON report (the fields the soak reads, as vitest's json reporter writes them) */
function report(tests: Array<{ name: string; status: string; duration?: number; failure?: string }>, file = { status: "passed", message: "" }): string {
  return JSON.stringify({
    numFailedTests: 0,
    testResults: [
      {
        name: `${ROOT}/suites/cluster/cluster.e2e.ts`,
        status: file.status,
        message: file.message,
        startTime: 0,
        endTime: 1,
        assertionResults: tests.map((t) => ({ ancestorTitles: ["cluster"], fullName: t.name, title: t.name, status: t.status, duration: t.duration ?? 1000, failureMessages: t.failure ? [t.failure] : [], meta: {} })),
      },
    ],
  });
}

function run(index: number, outcomes: Outcome[], wallMs = 60_000, error?: string): RunResult {
  return { index, runId: `soak-x-${index}`, exitCode: outcomes.some((o) => o.verdict === "failed") ? 1 : 0, wallMs, outcomes, evidence: `reports/soak/soak-x/run-${index}`, ...(error ? { error } : {}) };
}

describe("soak: reading a run's vitest JSON report", () => {
  it("turns each test into an outcome, relative file, failure reason on one line", () => {
    const o = parseVitestJson(report([{ name: HARN01, status: "failed", duration: 1234, failure: TAINT }, { name: "cluster HARN-04 x", status: "skipped", duration: 0 }]), ROOT);
    expect(o).toEqual([
      { file: "suites/cluster/cluster.e2e.ts", name: HARN01, verdict: "failed", durationMs: 1234, reason: "AssertionError: expected [ V1Taint{ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute', …(1) } ] to deeply equal []" },
      { file: "suites/cluster/cluster.e2e.ts", name: "cluster HARN-04 x", verdict: "skipped", durationMs: 0 },
      { file: "suites/cluster/cluster.e2e.ts", name: FILE_HOOKS, verdict: "passed", durationMs: null },
    ]);
  });

  it("an error outside any test (beforeAll) becomes a failed file-hooks line, not a silent row of skips", () => {
    const o = parseVitestJson(report([{ name: HARN01, status: "skipped" }], { status: "failed", message: "timed out after 300 s (timeouts.nodeReady) waiting for nodes Ready" }), ROOT);
    expect(o.find((x) => x.name === FILE_HOOKS)).toMatchObject({ verdict: "failed", reason: "timed out after N s (timeouts.nodeReady) waiting for nodes Ready" });
  });

  it("a describe block's beforeAll that threw (file failed, no message, tests skipped: the shape a live soak run left) is a failed file-hooks line", () => {
    const o = parseVitestJson(report([{ name: HARN01, status: "skipped" }], { status: "failed", message: "" }), ROOT);
    expect(o.find((x) => x.name === FILE_HOOKS)).toMatchObject({ verdict: "failed", reason: expect.stringMatching(/failed outside any test/) });
    // negative control: a file that failed because a test failed has no hook line of its own
    const t = parseVitestJson(report([{ name: HARN01, status: "failed" }], { status: "failed", message: "" }), ROOT);
    expect(t.find((x) => x.name === FILE_HOOKS)).toMatchObject({ verdict: "passed" });
  });

  it("refuses what is not a vitest report, with a ParseError", () => {
    expect(() => parseVitestJson("{", ROOT)).toThrow(ParseError);
    expect(() => parseVitestJson(JSON.stringify({ tests: [] }), ROOT)).toThrow(/vitest-json: not a vitest JSON report: testResults/);
    expect(() => parseVitestJson(report([{ name: "x", status: "exploded" }]), ROOT)).toThrow(/unknown status "exploded"/);
  });

  it("fuzz: a mangled report parses or fails with ParseError", () => {
    const pretty = (t: string) => JSON.stringify(JSON.parse(t), null, 2);
    const samples = [pretty(report([{ name: HARN01, status: "failed", failure: TAINT }, { name: "x", status: "passed" }])), pretty(report([{ name: "y", status: "skipped" }], { status: "failed", message: "boom" }))];
    const r = fuzz(samples, (t) => parseVitestJson(t, ROOT), () => undefined, 300, 7);
    expect(r.bad.slice(0, 3)).toEqual([]);
    expect(r.rejected).toBeGreaterThan(60);
  });

  it("normalises what differs between runs of the same failure", () => {
    expect(normaliseReason("\x1b[31mError: timed out after 61.5 s waiting for nc-mx6gi9kk-4kf-client at 2026-12-02T18:37:25.214Z\x1b[39m")).toBe("Error: timed out after N s waiting for <run>-client at <time>");
    expect(normaliseReason("pull 127.0.0.1:43127/x from nc-mirror-docker-io failed: sha256 0123456789abcdef0123")).toBe("pull 127.0.0.1:<port>/x from nc-mirror-docker-io failed: sha256 <id>");
    expect(normaliseReason("network nct-leakfail-mx6gpbhq-leak and soak-mx6h1-10-x")).toBe("network <run>-leak and <run>-x");
    expect(normaliseReason("\n   \n    at foo (x.ts:1)")).toBe("(no message)");
  });
});

describe("soak: aggregating runs", () => {
  const pass = (name: string, ms: number): Outcome => ({ file: "suites/cluster/cluster.e2e.ts", name, verdict: "passed", durationMs: ms });
  const failed = (name: string, ms: number, reason: string): Outcome => ({ file: "suites/cluster/cluster.e2e.ts", name, verdict: "failed", durationMs: ms, reason });
  const hooks: Outcome = { file: "suites/cluster/cluster.e2e.ts", name: FILE_HOOKS, verdict: "passed", durationMs: null };

  it("median of odd and even counts", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it("a test that passed in two runs and failed in one is flaky, with its reason, failing run and wall times", () => {
    const runs = [
      run(1, [pass(HARN01, 20_000), pass("cluster HARN-02 y", 5000), hooks]),
      run(2, [failed(HARN01, 21_000, "AssertionError: expected [ V1Taint… ] to deeply equal []"), pass("cluster HARN-02 y", 6000), hooks]),
      run(3, [pass(HARN01, 30_000), pass("cluster HARN-02 y", 7000), hooks]),
    ];
    const stats = aggregate(runs);
    expect(stats.map((s) => s.name)).toEqual([HARN01, "cluster HARN-02 y"]); // hook lines that never failed are left out
    expect(stats[0]).toEqual({
      file: "suites/cluster/cluster.e2e.ts",
      name: HARN01,
      passes: 2,
      fails: 1,
      skips: 0,
      absent: 0,
      reasons: [{ reason: "AssertionError: expected [ V1Taint… ] to deeply equal []", runs: [2] }],
      wall: { min: 20_000, median: 21_000, max: 30_000 },
      flaky: true,
      failingRuns: [2],
    });
    expect(stats[1]!.flaky).toBe(false);
    expect(verdictLine(stats, runs)).toBe(`1 flaky: ${HARN01} (failed in runs 2)`);
    expect(soakExitCode(stats, runs)).toBe(1);
    const table = renderTable(stats, runs);
    expect(table.split("\n")[0]).toMatch(/^test\s+pass\s+fail\s+skip\s+min s\s+median s\s+max s\s+verdict$/);
    expect(table).toMatch(new RegExp(`${HARN01.replace(/[()]/g, ".")}\\s+2\\s+1\\s+0\\s+20\\s+21\\s+30\\s+FLAKY`));
    expect(table).toMatch(/cluster HARN-02 y\s+3\s+0\s+0\s+5\.0\s+6\.0\s+7\.0\s+stable/);
    expect(table).toContain("failure reasons:\n  suites/cluster/cluster.e2e.ts > " + HARN01 + "\n    runs 2: AssertionError");
    expect(table).toContain("3 runs, wall time per run 60/60/60 s (min/median/max); 1 flaky");
  });

  it("every verdict held: exit 0, 'no verdict changed'", () => {
    const runs = [run(1, [pass("a", 1), { ...pass("b", 0), verdict: "skipped" }]), run(2, [pass("a", 3), { ...pass("b", 0), verdict: "skipped" }])];
    const stats = aggregate(runs);
    expect(stats.map((s) => [s.name, s.flaky, s.skips])).toEqual([["a", false, 0], ["b", false, 2]]);
    expect(stats[1]!.wall).toBeNull();
    expect(verdictLine(stats, runs)).toBe("no verdict changed");
    expect(soakExitCode(stats, runs)).toBe(0);
  });

  it("a test failing the same way in every run is failing, not flaky; distinct reasons are kept apart", () => {
    const runs = [run(1, [failed("a", 1, "X")]), run(2, [failed("a", 1, "Y")]), run(3, [failed("a", 1, "X")])];
    const [s] = aggregate(runs);
    expect(s!.flaky).toBe(false);
    expect(s!.reasons).toEqual([{ reason: "X", runs: [1, 3] }, { reason: "Y", runs: [2] }]);
    expect(verdictLine(aggregate(runs), runs)).toBe("1 failing in every run: a");
    expect(soakExitCode(aggregate(runs), runs)).toBe(1);
  });

  it("a run without a report counts its tests absent and is named (negative control for a silent gap)", () => {
    const runs = [run(1, [pass("a", 1)]), run(2, [], 5000, "vitest wrote no report (exit 1); see reports/soak/soak-x/run-2/output.log")];
    const stats = aggregate(runs);
    expect(stats[0]).toMatchObject({ passes: 1, absent: 1, flaky: false });
    expect(renderTable(stats, runs)).toContain("runs without a report:\n  run 2 (soak-x-2): vitest wrote no report");
    expect(soakExitCode(stats, runs)).toBe(1);
  });

  it("a setup error in one run shows as a flaky file-hooks line", () => {
    const broke: Outcome = { ...hooks, verdict: "failed", reason: "timed out waiting for nodes Ready" };
    const stats = aggregate([run(1, [pass("a", 1), hooks]), run(2, [{ ...pass("a", 0), verdict: "skipped" }, broke])]);
    expect(stats.map((s) => [s.name, s.flaky])).toEqual([["a", true], [FILE_HOOKS, true]]);
  });
});

describe("soak: usage", () => {
  const o = { families: ["cluster", "metallb"], exists: (p: string) => ["suites/cluster", "suites/metallb/l2.e2e.ts"].includes(p) };
  it("families, paths, --times, --fresh", () => {
    expect(parseSoakArgs(["cluster", "--times", "10"], o)).toEqual({ selections: ["suites/cluster"], times: 10, fresh: false, keepCluster: false });
    expect(parseSoakArgs(["suites/cluster/", "suites/metallb/l2.e2e.ts", "--times=3", "--fresh"], o)).toEqual({ selections: ["suites/cluster", "suites/metallb/l2.e2e.ts"], times: 3, fresh: true, keepCluster: false });
  });
  it("bad usage is a UsageError naming the problem", () => {
    const bad: Array<[string[], RegExp]> = [
      [["cluster"], /--times N is required/],
      [["--times", "3"], /name at least one suite or family/],
      [["cluster", "--times", "0"], /--times: want a whole number from 1 to 1000, got "0"/],
      [["cluster", "--times"], /got nothing/],
      [["cluster", "--times", "3", "--retry=2"], /unknown option --retry=2/],
      [["nosuch", "--times", "3"], /"nosuch" is neither a suite family \(cluster, metallb\) nor a path under suites\//],
      [["cluster", "--times", "3", "--fresh", "--keep-cluster"], /--keep-cluster goes with a reused cluster/],
    ];
    for (const [argv, msg] of bad) expect(() => parseSoakArgs(argv, o), argv.join(" ")).toThrow(msg);
    expect(() => parseSoakArgs([], o)).toThrow(UsageError);
    expect(SOAK_USAGE).toMatch(/^usage: npm run soak -- <suite or family>… --times N/);
  });
});
