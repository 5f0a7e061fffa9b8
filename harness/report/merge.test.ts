import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { CellResult } from "../ci/cell.ts";
import { mergeCells, readCell, summaryMarkdown, tagResult } from "./merge.ts";

const cell = (id: string, over: Partial<CellResult> = {}): CellResult => {
  const [family, v, mode] = id.split("-");
  return { cell: id, family: family!, kubernetes: v!.slice(1), proxyMode: mode!, status: "passed", passed: 1, failed: 0, skipped: 0, seconds: 61, ...over };
};
// an Allure result as allure-vitest writes it (fields trimmed to what the merge touches)
const result = (uuid: string, status: string) => ({
  uuid, name: "HARN-01 a test", fullName: "netconform:suites/cluster/cluster.e2e.ts#HARN-01 a test", status, stage: "finished",
  historyId: "b5d8cf78a5d90434a1040ce12df8fa54:d41d8cd98f00b204e9800998ecf8427e",
  labels: [{ name: "behaviour", value: "HARN-01" }, { name: "_fallbackTestCaseId", value: "3a4d94c1090e4451f36c6966198411f0" }],
  links: [{ name: "HARN-01 in the behaviour catalogue", url: "behaviours.html#harn-01", type: "behaviour" }],
  parameters: [], steps: [], attachments: [], start: 1, stop: 2,
});

function cellDir(root: string, c: CellResult, status: string): string {
  const d = join(root, `cell-${c.cell}`);
  mkdirSync(join(d, "allure-results"), { recursive: true });
  writeFileSync(join(d, "cell.json"), JSON.stringify(c));
  writeFileSync(join(d, "allure-results", `${c.cell}-1-result.json`), JSON.stringify(result(`${c.cell}-1`, status)));
  return d;
}

describe("report/merge", () => {
  it("makes a result specific to its cell: own historyId per cell, stable across nights, cell parameter and labels", () => {
    const r = result("u", "passed");
    const a = tagResult(r, cell("cluster-v1.34-iptables"));
    const b = tagResult(r, cell("cluster-v1.34-nftables"));
    expect(a.historyId).not.toBe(b.historyId);
    expect(a.historyId).not.toBe(r.historyId);
    expect(tagResult(r, cell("cluster-v1.34-iptables")).historyId).toBe(a.historyId);
    expect(a.parameters).toEqual([{ name: "cell", value: "cluster-v1.34-iptables" }]);
    expect(a.labels).toEqual(expect.arrayContaining([{ name: "cell", value: "cluster-v1.34-iptables" }, { name: "proxyMode", value: "iptables" }, { name: "kubernetes", value: "1.34" }, { name: "behaviour", value: "HARN-01" }]));
    // tagging twice does not stack
    expect(tagResult(a, cell("cluster-v1.34-iptables")).parameters).toHaveLength(1);
  });

  it("summary table: one row per cell with counts and wall time, reasons for cells that could not run, missing and excluded cells", () => {
    const md = summaryMarkdown(
      [cell("cluster-v1.34-iptables", { passed: 4, skipped: 1, seconds: 125 }), cell("cluster-v1.34-ipvs", { status: "cannot-run", passed: 0, reason: "kernel lacks IP_VS (/proc/net/ip_vs absent)" }), cell("metallb-v1.34-nftables", { status: "failed", failed: 2 })],
      ["cluster-v1.33-iptables"],
      [{ cell: "metallb-v1.34-ipvs", family: "metallb", kubernetes: "1.34", proxyMode: "ipvs", reason: "needs strictARP" }],
    );
    expect(md).toContain("| cluster-v1.34-iptables | ✅ passed | 4 | 0 | 1 | 2 min 05 s |  |");
    expect(md).toContain("| cluster-v1.34-ipvs | ⚪ cannot run | 0 | 0 | 0 | 1 min 01 s | kernel lacks IP_VS (/proc/net/ip_vs absent) |");
    expect(md).toContain("| metallb-v1.34-nftables | ❌ failed | 1 | 2 | 0 |");
    expect(md).toContain("| cluster-v1.33-iptables | ❌ no result |");
    expect(md).toContain("| metallb-v1.34-ipvs | needs strictARP |");
  });

  it("refuses a directory that is not a cell's results, naming it", () => {
    const d = mkdtempSync(join(tmpdir(), "nc-merge-bad-"));
    expect(() => readCell(d)).toThrow(`${d} has no cell.json`);
    writeFileSync(join(d, "cell.json"), JSON.stringify({ cell: "x" }));
    expect(() => readCell(d)).toThrow(/is not a cell result: family/);
  });

  it("merges two cells into one Allure report and appends each merge to the history file", async () => {
    const root = mkdtempSync(join(tmpdir(), "nc-merge-"));
    const dirs = [cellDir(root, cell("cluster-v1.34-iptables"), "passed"), cellDir(root, cell("cluster-v1.34-nftables", { status: "failed", passed: 0, failed: 1 }), "failed")];
    const history = join(root, "history", "history.jsonl");
    const one = await mergeCells({ cellDirs: dirs, out: join(root, "out"), history, planned: ["cluster-v1.34-iptables", "cluster-v1.34-nftables"] });
    expect(existsSync(join(one.report, "index.html"))).toBe(true);
    // one Allure environment per cell, named after it
    expect(readFileSync(join(one.report, "widgets", "environments.json"), "utf8")).toMatch(/cluster-v1\.34-iptables[\s\S]*cluster-v1\.34-nftables/);
    expect(one.missing).toEqual([]);
    // the catalogue inside the merged report, and each test's catalogue link absolute (the report follows only those)
    expect(readFileSync(join(one.report, "behaviours.html"), "utf8")).toMatch(/id="harn-01"/);
    const links = readdirSync(join(one.report, "data", "test-results")).flatMap((f) => (JSON.parse(readFileSync(join(one.report, "data", "test-results", f), "utf8")) as { links?: { url: string }[] }).links ?? []);
    expect(links.map((l) => l.url)).toContain("http://127.0.0.1:4040/behaviours.html#harn-01");
    expect(readFileSync(history, "utf8").trim().split("\n")).toHaveLength(1);
    await mergeCells({ cellDirs: dirs, out: join(root, "out"), history });
    const lines = readFileSync(history, "utf8").trim().split("\n");
    expect(lines).toHaveLength(2);
    // both cells' copies of the test are in the history, apart
    const last = JSON.parse(lines[1]!) as { testResults: Record<string, { status: string }> };
    expect(Object.values(last.testResults).map((t) => t.status).sort()).toEqual(["failed", "passed"]);
    await expect(mergeCells({ cellDirs: [dirs[0]!, dirs[0]!], out: join(root, "out2"), history })).rejects.toThrow(/given twice/);
  });
});
