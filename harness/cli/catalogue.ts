/**
 * npm run catalogue                      write catalogue/BEHAVIOURS.md from catalogue/behaviours.yaml
 * npm run catalogue -- --check           exit 1 when the page is stale or the catalogue and the tests disagree
 * npm run catalogue -- --html <file>     only write the page as standalone HTML (npm run report puts it in the report)
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { CATALOGUE_PAGE, loadCatalogue } from "../behaviours/catalogue.ts";
import { renderHtml, renderMarkdown } from "../behaviours/render.ts";
import { checkCoverage, scanTests } from "../behaviours/scan.ts";
import { answerHelp } from "./main.ts";

const args = process.argv.slice(2);
const usage = "usage: npm run catalogue [-- --check] [-- --html <file>]";
answerHelp(usage);
const htmlAt = args.indexOf("--html");
const known = new Set(["--check", "--html"]);
if (args.includes("--check") && htmlAt >= 0) {
  process.stderr.write(`--check and --html go separately\n${usage}\n`);
  process.exit(2);
}
const bad = args.find((a, i) => a.startsWith("-") ? !known.has(a) : args[i - 1] !== "--html");
if (bad !== undefined || (htmlAt >= 0 && !args[htmlAt + 1])) {
  process.stderr.write(`${bad !== undefined ? `unknown argument ${bad}\n` : "--html needs a file\n"}${usage}\n`);
  process.exit(2);
}
try {
  const c = loadCatalogue();
  const uses = scanTests();
  const md = renderMarkdown(c, uses);
  if (htmlAt >= 0 && !args.includes("--check")) {
    const file = args[htmlAt + 1]!;
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, renderHtml(md));
    process.stdout.write(`${file}: the behaviour catalogue page\n`);
    process.exit(0);
  }
  const problems = checkCoverage(new Map(c.behaviours.map((b) => [b.id, b.depths])), uses);
  if (args.includes("--check")) {
    let current = "";
    try {
      current = readFileSync(CATALOGUE_PAGE, "utf8");
    } catch {}
    if (current !== md) problems.push("catalogue/BEHAVIOURS.md is stale: run `npm run catalogue`");
  } else {
    writeFileSync(CATALOGUE_PAGE, md);
    process.stdout.write(`catalogue/BEHAVIOURS.md: ${c.behaviours.length} behaviours, ${uses.length} behaviour() calls in tests\n`);
  }
  if (problems.length) {
    process.stderr.write(`catalogue and tests disagree:\n${problems.map((p) => `  ${p}`).join("\n")}\n`);
    process.exit(1);
  }
} catch (e) {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(1);
}
