import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { execa } from "execa";
import { CellResult } from "../ci/cell.ts";
import type { ExcludedCell } from "../ci/matrix.ts";
import { loadCatalogue } from "../behaviours/catalogue.ts";
import { renderHtml, renderMarkdown } from "../behaviours/render.ts";
import { scanTests } from "../behaviours/scan.ts";
import { absoluteLinks } from "./links.ts";

/**
 * The nightly merge: every matrix cell's Allure results in one report, with the history of the
 * previous nights (Allure 3 keeps it in a JSON-lines file, `historyPath`, and appends this
 * report's results to it), plus a Markdown table of the cells for the job summary.
 *
 * The same test runs in several cells. So that Allure keeps one entry per test and cell (not
 * retries of one test, and one history trend per test and cell), each result is copied with a
 * `cell` parameter, `cell`/`kubernetes`/`proxyMode` labels, and a historyId (and test case id)
 * derived from the original and the cell; everything else, attachments included, is unchanged.
 */
export interface MergeOptions {
  /** cell directories: each holds cell.json and allure-results/ (what `npm run matrix -- --run` writes) */
  cellDirs: string[];
  /** output directory: allure-report/, summary.md, cells.json */
  out: string;
  /** the history file (JSON lines) read and appended to */
  history: string;
  /** cells the plan asked for: a planned cell without a result is reported as such */
  planned?: string[];
  excluded?: ExcludedCell[];
  /** report name (default "netconform nightly") */
  name?: string;
  /** repository root, where an allurerc.* is looked for */
  root?: string;
  /** where the merged report is served (its catalogue links point there); default http://127.0.0.1:4040/ */
  reportUrl?: string;
}

export interface MergeResult { report: string; summary: string; cells: CellResult[]; missing: string[] }

const md5 = (s: string) => createHash("md5").update(s).digest("hex");

/** Read a cell directory's cell.json; throws naming the directory when it is absent or invalid. */
export function readCell(dir: string): CellResult {
  const p = join(dir, "cell.json");
  if (!existsSync(p)) throw new Error(`merge: ${dir} has no cell.json (not a cell's result directory)`);
  const r = CellResult.safeParse(JSON.parse(readFileSync(p, "utf8")));
  if (!r.success) throw new Error(`merge: ${p} is not a cell result: ${r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return r.data;
}

interface AllureLabel { name: string; value: string }
interface AllureResult {
  historyId?: string;
  testCaseId?: string;
  labels?: AllureLabel[];
  parameters?: Array<{ name: string; value: string }>;
  [k: string]: unknown;
}

/** One result, made specific to its cell. Pure: the same input gives the same output. */
export function tagResult(r: AllureResult, cell: CellResult): AllureResult {
  const salt = (id: string) => `${md5(`${id}|${cell.cell}`)}`;
  const labels = (r.labels ?? []).filter((l) => !["cell", "kubernetes", "proxyMode"].includes(l.name)).map((l) => (l.name === "_fallbackTestCaseId" ? { ...l, value: salt(l.value) } : l));
  labels.push({ name: "cell", value: cell.cell }, { name: "kubernetes", value: cell.kubernetes }, { name: "proxyMode", value: cell.proxyMode });
  return {
    ...r,
    ...(r.historyId ? { historyId: salt(r.historyId) } : {}),
    ...(r.testCaseId ? { testCaseId: salt(r.testCaseId) } : {}),
    labels,
    parameters: [...(r.parameters ?? []).filter((p) => p.name !== "cell"), { name: "cell", value: cell.cell }],
  };
}

/** Copy one cell's results into `dest`, tagging every test result with the cell. Returns how many results. */
export function stageCell(resultsDir: string, cell: CellResult, dest: string): number {
  mkdirSync(dest, { recursive: true });
  if (!existsSync(resultsDir)) return 0;
  let n = 0;
  for (const f of readdirSync(resultsDir)) {
    const src = join(resultsDir, f);
    if (f.endsWith("-result.json")) {
      writeFileSync(join(dest, f), JSON.stringify(tagResult(JSON.parse(readFileSync(src, "utf8")) as AllureResult, cell)));
      n++;
    } else copyFileSync(src, join(dest, f));
  }
  return n;
}

const fmtSeconds = (s: number) => (s >= 60 ? `${Math.floor(s / 60)} min ${String(Math.round(s % 60)).padStart(2, "0")} s` : `${Math.round(s)} s`);

/** The job-summary table: one row per cell (ran, could not run, no result), then the excluded cells. */
export function summaryMarkdown(cells: CellResult[], missing: string[], excluded: ExcludedCell[]): string {
  const icon = (s: CellResult["status"]) => (s === "passed" ? "✅ passed" : s === "failed" ? "❌ failed" : "⚪ cannot run");
  const esc = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
  const rows = cells
    .slice()
    .sort((a, b) => a.cell.localeCompare(b.cell))
    .map((c) => `| ${c.cell} | ${icon(c.status)} | ${c.passed} | ${c.failed} | ${c.skipped} | ${fmtSeconds(c.seconds)} | ${c.reason ? esc(c.reason) : ""} |`);
  for (const m of missing) rows.push(`| ${m} | ❌ no result | – | – | – | – | the job ended before writing its results (timeout, cancel or setup failure: see its log) |`);
  const total = cells.reduce((t, c) => ({ passed: t.passed + c.passed, failed: t.failed + c.failed, skipped: t.skipped + c.skipped }), { passed: 0, failed: 0, skipped: 0 });
  const lines = [
    "## netconform nightly",
    "",
    `${cells.length} cells ran or were probed, ${missing.length} without result; tests: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped.`,
    "",
    "| cell | result | passed | failed | skipped | wall time | note |",
    "|---|---|---:|---:|---:|---:|---|",
    ...rows,
  ];
  if (excluded.length) {
    lines.push("", "Excluded cells (.ci/matrix.yaml):", "", "| cell | why |", "|---|---|", ...excluded.map((x) => `| ${x.cell} | ${esc(x.reason)} |`));
  }
  return `${lines.join("\n")}\n`;
}

/** The repository's Allure config, if any (allurerc.mjs/js/json/yaml/yml at the root). */
export function findAllureConfig(root: string): string | undefined {
  return ["allurerc.mjs", "allurerc.js", "allurerc.json", "allurerc.yaml", "allurerc.yml"].map((f) => join(root, f)).find((p) => existsSync(p));
}

/** Allure 3 environment ids allow [A-Za-z0-9_-] only; the cell id stays the environment's name. */
export const environmentId = (cell: string) => cell.replace(/[^A-Za-z0-9_-]/g, "_");

/**
 * An Allure config file for the merge: the repository's own (allurerc.*), with the history file,
 * the report name and one Allure environment per cell (matched by the `cell` label), so the report
 * shows each cell apart and can be narrowed to one.
 */
export function writeMergeConfig(dir: string, o: { base?: string; history: string; name: string; output: string; cells: string[] }): string {
  const p = join(dir, "allurerc.merge.mjs");
  const over = JSON.stringify({ name: o.name, historyPath: resolve(o.history), output: resolve(o.output) });
  const envs = [
    `const cells = ${JSON.stringify(o.cells.map((c) => [environmentId(c), c]))};`,
    `const environments = Object.fromEntries(cells.map(([id, cell]) => [id, { name: cell, matcher: ({ labels }) => labels.some((l) => l.name === "cell" && l.value === cell) }]));`,
  ];
  const tail = `const { environment: _single, ...rest } = base;\nexport default { ...rest, ...${over}, environments: { ...(rest.environments ?? {}), ...environments } };`;
  const lines = o.base
    ? /\.m?js$/.test(o.base)
      ? [`import base from ${JSON.stringify(pathToFileURL(resolve(o.base)).href)};`, ...envs, tail]
      : [`import { readFileSync } from "node:fs";`, `import { parse } from ${JSON.stringify(pathToFileURL(resolve(import.meta.dirname, "..", "..", "node_modules", "yaml", "dist", "index.js")).href)};`, `const base = parse(readFileSync(${JSON.stringify(resolve(o.base))}, "utf8")) ?? {};`, ...envs, tail]
    : ["const base = {};", ...envs, tail];
  writeFileSync(p, `${lines.join("\n")}\n`);
  return p;
}

export async function mergeCells(o: MergeOptions): Promise<MergeResult> {
  const root = resolve(o.root ?? ".");
  const out = resolve(o.out);
  rmSync(out, { recursive: true, force: true });
  const staging = join(out, "staged-results");
  mkdirSync(staging, { recursive: true });
  mkdirSync(dirname(resolve(o.history)), { recursive: true });
  const cells: CellResult[] = [];
  const stagedDirs: string[] = [];
  for (const dir of o.cellDirs) {
    const cell = readCell(dir);
    if (cells.some((c) => c.cell === cell.cell)) throw new Error(`merge: cell ${cell.cell} is given twice (${dir})`);
    cells.push(cell);
    const dest = join(staging, cell.cell);
    stageCell(join(dir, "allure-results"), cell, dest);
    stagedDirs.push(dest);
  }
  const missing = (o.planned ?? []).filter((p) => !cells.some((c) => c.cell === p));
  const report = join(out, "allure-report");
  const config = writeMergeConfig(out, { ...(findAllureConfig(root) ? { base: findAllureConfig(root)! } : {}), history: o.history, name: o.name ?? "netconform nightly", output: report, cells: cells.map((c) => c.cell) });
  const allure = join(root, "node_modules", ".bin", "allure");
  const r = await execa(allure, ["generate", "--config", config, "--output", report, ...stagedDirs], { cwd: root, reject: false, all: true });
  if (r.exitCode !== 0) throw new Error(`merge: allure generate failed (exit ${r.exitCode}): ${(r.all ?? "").trim().split("\n").slice(-10).join("\n")}`);
  // as npm run report does: the behaviour catalogue inside the report, and the tests' catalogue
  // links made absolute against where the report is served (the report only follows absolute ones)
  writeFileSync(join(report, "behaviours.html"), renderHtml(renderMarkdown(loadCatalogue(), scanTests())));
  absoluteLinks(join(report, "data", "test-results"), o.reportUrl ?? "http://127.0.0.1:4040/");
  const summary = summaryMarkdown(cells, missing, o.excluded ?? []);
  writeFileSync(join(out, "summary.md"), summary);
  writeFileSync(join(out, "cells.json"), `${JSON.stringify({ cells, missing, excluded: o.excluded ?? [] }, null, 2)}\n`);
  return { report, summary, cells, missing };
}

