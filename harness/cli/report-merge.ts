/**
 * npm run report:merge -- [--out DIR] [--history FILE] [--families …] [--versions …] [--proxy-modes …] <cell dir>…
 *
 * Merge matrix cells' results (each directory as `npm run matrix -- --run <cell>` leaves it:
 * cell.json + allure-results/) into one Allure report with the history of earlier merges, and print
 * the cells × results table (also appended to $GITHUB_STEP_SUMMARY when set). The matrix filters
 * name the cells that were planned, so a planned cell without a result shows up as such.
 */
import { appendFileSync, existsSync } from "node:fs";
import { MatrixError, expandMatrix, loadMatrix, splitList } from "../ci/matrix.ts";
import { mergeCells } from "../report/merge.ts";

/** NETCONFORM_REPORT_URL: where the merged report is served, for its catalogue links */
function reportUrl(u: string): string {
  if (!/^https?:\/\/\S+\/$/.test(u)) throw new MatrixError(`NETCONFORM_REPORT_URL=${u}: give the http(s) address the report is served from, ending in "/"`);
  return u;
}

const USAGE = "usage: npm run report:merge -- [--out reports/nightly] [--history reports/history/history.jsonl] [--families a,b] [--versions 1.34] [--proxy-modes iptables] <cell dir>…";
const valued = new Set(["--out", "--history", "--families", "--versions", "--proxy-modes", "--name"]);
const flags = new Map<string, string>();
const dirs: string[] = [];
const argv = process.argv.slice(2);
try {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--help" || a === "-h") {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    if (a.startsWith("--")) {
      if (!valued.has(a)) throw new MatrixError(`unknown argument "${a}"\n${USAGE}`);
      const v = argv[++i];
      if (v === undefined) throw new MatrixError(`${a} needs a value\n${USAGE}`);
      flags.set(a, v);
    } else if (existsSync(a)) dirs.push(a);
    else if (a.includes("*")) process.stderr.write(`report:merge: no cell directory matches ${a}\n`);
    else throw new MatrixError(`no such cell directory: ${a}`);
  }
  const matrix = expandMatrix(loadMatrix(), { families: splitList(flags.get("--families")), kubernetes: splitList(flags.get("--versions")), proxyModes: splitList(flags.get("--proxy-modes")) });
  const r = await mergeCells({
    cellDirs: dirs,
    out: flags.get("--out") ?? "reports/nightly",
    history: flags.get("--history") ?? "reports/history/history.jsonl",
    planned: matrix.cells.map((c) => c.cell),
    excluded: matrix.excluded,
    ...(flags.get("--name") ? { name: flags.get("--name")! } : {}),
    ...(process.env.NETCONFORM_REPORT_URL ? { reportUrl: reportUrl(process.env.NETCONFORM_REPORT_URL) } : {}),
  });
  process.stdout.write(r.summary);
  process.stdout.write(`\nreport:merge: ${r.cells.length} cells merged into ${r.report}\n`);
  if (process.env.GITHUB_STEP_SUMMARY) appendFileSync(process.env.GITHUB_STEP_SUMMARY, r.summary);
} catch (e) {
  process.stderr.write(`report:merge: ${(e as Error).message}\n`);
  process.exit(2);
}
