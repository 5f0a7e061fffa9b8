/**
 * npm run report    build reports/allure-report from the Allure results of the last `npm test`:
 *                   the allure 3 CLI (allurerc.mjs), the behaviour catalogue as behaviours.html
 *                   inside the report, and every test's catalogue link made absolute.
 *
 * The report only makes absolute http(s) URLs clickable, so the relative links that behaviour()
 * records ("behaviours.html#mlb-05") are rewritten here against NETCONFORM_REPORT_URL, the address
 * the report is served from (default http://127.0.0.1:4040/, where `npm run report:open` serves
 * it). With NETCONFORM_BEHAVIOURS_URL set at test time the links are absolute already and kept.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadCatalogue } from "../behaviours/catalogue.ts";
import { renderHtml, renderMarkdown } from "../behaviours/render.ts";
import { scanTests } from "../behaviours/scan.ts";
import { absoluteLinks } from "../report/links.ts";
import { answerHelp } from "./main.ts";

const USAGE = "usage: npm run report   (builds reports/allure-report from the last npm test; NETCONFORM_REPORT_URL=<http(s) address ending in /> sets where the catalogue links point)";
answerHelp(USAGE);
const extra = process.argv.slice(2);
if (extra.length) {
  process.stderr.write(`report: unexpected argument ${extra[0]}\n${USAGE}\n`);
  process.exit(2);
}

const OUT = "reports/allure-report";
const base = process.env.NETCONFORM_REPORT_URL || "http://127.0.0.1:4040/";
if (!/^https?:\/\/\S+\/$/.test(base)) {
  process.stderr.write(`NETCONFORM_REPORT_URL=${base}: give the http(s) address the report is served from, ending in "/"\n`);
  process.exit(2);
}

rmSync(OUT, { recursive: true, force: true });
const r = spawnSync("allure", ["generate"], { stdio: "inherit" });
if (r.status !== 0) {
  process.stderr.write(`allure generate failed (exit ${r.status ?? r.signal}); see its log above\n`);
  process.exit(1);
}
mkdirSync(OUT, { recursive: true });
writeFileSync(join(OUT, "behaviours.html"), renderHtml(renderMarkdown(loadCatalogue(), scanTests())));
const links = absoluteLinks(join(OUT, "data", "test-results"), base);
process.stdout.write(`${OUT}/index.html: the report (${links} behaviour links point to ${base}behaviours.html); view it with npm run report:open\n`);
