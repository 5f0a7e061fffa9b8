/**
 * npm run soak -- <suite or family>… --times N [--fresh] [--keep-cluster]
 *
 * Runs the selection N times (`vitest run <selection> --retry=0`, one child process per run: a retry
 * would hide exactly what a soak measures), on one reused cluster (created by the first run when
 * absent, deleted at the end if the soak created it, unless --keep-cluster) or on a fresh cluster
 * per run (--fresh). Prints a progress line per run, then a table per test: passes/fails/skips, the
 * distinct failure reasons, wall time min/median/max, and names every test whose verdict changed
 * (flaky). Everything goes to reports/soak/<soak id>/: soak.json, table.txt, and per run
 * run-<n>/{output.log, vitest.json, allure-results/} — a run's Allure results (its evidence bundles)
 * are kept when something failed in it, removed when all passed. Exit 0 when every verdict held and
 * nothing failed, 1 otherwise, 2 on bad usage.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { clusterExists, deleteCluster, kindBinary } from "../adapters/kind.ts";
import { ConfigError, loadConfig } from "../config.ts";
import { type Outcome, type RunResult, aggregate, parseVitestJson, renderTable, soakExitCode, verdictLine } from "../soak/aggregate.ts";
import { SOAK_USAGE, UsageError, parseSoakArgs } from "../soak/args.ts";
import { answerHelp } from "./main.ts";

const ROOT = resolve(import.meta.dirname, "..", "..");
const out = (line: string): void => void process.stdout.write(`${line}\n`);
const fail = (message: string, code: number): never => {
  process.stderr.write(`soak: ${message}\n`);
  process.exit(code);
};

const suitesDir = join(ROOT, "suites");
const families = existsSync(suitesDir) ? readdirSync(suitesDir).filter((d) => statSync(join(suitesDir, d)).isDirectory()).sort() : [];
answerHelp(SOAK_USAGE);
let args;
try {
  args = parseSoakArgs(process.argv.slice(2), { families, exists: (p) => existsSync(join(ROOT, p)) });
} catch (e) {
  if (e instanceof UsageError) fail(`${e.message}\n${SOAK_USAGE}`, 2);
  throw e;
}
let config;
try {
  config = loadConfig();
} catch (e) {
  if (e instanceof ConfigError) fail(e.message, 2);
  throw e;
}

const soakId = `soak-${Date.now().toString(36)}`;
const dir = join(ROOT, "reports", "soak", soakId);
const cluster = config.clusterName;
let existed = false;
if (!config.kubeconfig) {
  if (!kindBinary()) fail("the kind binary is missing: run `npm run forge` (it builds kind from its pinned Go module) or set NETCONFORM_KIND", 2);
  existed = await clusterExists(cluster);
  if (args.fresh && existed)
    fail(`--fresh creates a cluster for every run, but cluster "${cluster}" exists: delete it (kind delete cluster --name ${cluster}) or pick another NETCONFORM_CLUSTER`, 2);
}
mkdirSync(dir, { recursive: true });
const where = config.kubeconfig ? `the cluster of ${config.kubeconfig}` : args.fresh ? `a fresh cluster "${cluster}" per run` : `cluster "${cluster}" (${existed ? "exists, reused" : "created by run 1, reused"})`;
out(`soak ${soakId}: ${args.selections.join(" ")} × ${args.times} on ${where}; vitest retries off; keep=never; evidence in ${relative(ROOT, dir)}`);

let child: ReturnType<typeof spawn> | undefined;
let interrupted = false;
for (const sig of ["SIGINT", "SIGTERM"] as const)
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    out(`soak: ${sig}: stopping after the current run (its own teardown runs)`);
    child?.kill(sig);
  });

const runs: RunResult[] = [];
for (let i = 1; i <= args.times && !interrupted; i++) {
  const runId = `${soakId}-${i}`;
  const rdir = join(dir, `run-${i}`);
  mkdirSync(rdir, { recursive: true });
  const report = join(rdir, "vitest.json");
  const allure = join(rdir, "allure-results");
  const env = {
    ...process.env,
    NETCONFORM_RUN_ID: runId,
    NETCONFORM_REUSE: args.fresh ? "false" : "true",
    NETCONFORM_KEEP: "never",
    NETCONFORM_ALLURE_RESULTS: allure,
    NETCONFORM_JSON_REPORT: report,
  };
  const t0 = Date.now();
  const log = join(rdir, "output.log");
  const code = await new Promise<number | null>((res) => {
    child = spawn(process.execPath, [join(ROOT, "node_modules", "vitest", "vitest.mjs"), "run", ...args.selections, "--retry=0"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    child.stdout!.on("data", (d: Buffer) => (text += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (text += d.toString()));
    child.on("exit", (c) => {
      writeFileSync(log, text);
      res(c);
    });
  });
  child = undefined;
  const wallMs = Date.now() - t0;
  let outcomes: Outcome[] = [];
  let error: string | undefined;
  if (existsSync(report)) {
    try {
      outcomes = parseVitestJson(readFileSync(report, "utf8"), ROOT);
    } catch (e) {
      error = (e as Error).message;
    }
  } else error = `vitest wrote no report (exit ${code}); see ${relative(ROOT, log)}`;
  const r: RunResult = { index: i, runId, exitCode: code, wallMs, outcomes, evidence: relative(ROOT, rdir), ...(error ? { error } : {}) };
  runs.push(r);
  const n = (v: string) => outcomes.filter((o) => o.verdict === v && !o.name.startsWith("(file")).length;
  const hooks = outcomes.filter((o) => o.name.startsWith("(file") && o.verdict === "failed").length;
  const failedHere = n("failed") + hooks > 0 || error !== undefined || code !== 0;
  if (!failedHere) rmSync(allure, { recursive: true, force: true });
  out(
    `soak run ${i}/${args.times}: ${n("passed")} passed, ${n("failed")} failed, ${n("skipped")} skipped${hooks ? `, ${hooks} file hook errors` : ""}${error ? ` (${error})` : ""}; exit ${code}; ${Math.round(wallMs / 1000)} s` +
      (failedHere ? `; evidence kept: ${relative(ROOT, rdir)}, reports/runs/${runId}` : ""),
  );
}

if (!args.fresh && !existed && !args.keepCluster && !config.kubeconfig && (await clusterExists(cluster).catch(() => false))) {
  await deleteCluster(cluster).then(
    () => out(`soak: deleted cluster ${cluster} (the soak created it; --keep-cluster keeps it)`),
    (e: Error) => out(`soak: could not delete cluster ${cluster}: ${e.message}`),
  );
}

if (!runs.length) fail("interrupted before the first run ended: nothing to report", 1);
const stats = aggregate(runs);
const table = renderTable(stats, runs);
out(`\n${table}`);
writeFileSync(join(dir, "table.txt"), `${table}\n`);
writeFileSync(
  join(dir, "soak.json"),
  `${JSON.stringify({ soakId, selections: args.selections, times: args.times, completed: runs.length, fresh: args.fresh, cluster: config.kubeconfig ? null : cluster, interrupted, verdict: verdictLine(stats, runs), tests: stats, runs }, null, 2)}\n`,
);
out(`\nsoak: ${relative(ROOT, join(dir, "soak.json"))}`);
process.exitCode = soakExitCode(stats, runs);
