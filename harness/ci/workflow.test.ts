import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { execa } from "execa";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { expandMatrix, loadMatrix, strategyMatrix } from "./matrix.ts";

const ROOT = resolve(import.meta.dirname, "..", "..");
const text = readFileSync(resolve(ROOT, ".github/workflows/nightly.yml"), "utf8");
type Step = { id?: string; name?: string; run?: string; uses?: string; env?: Record<string, string>; with?: Record<string, unknown>; if?: string };
type Job = { needs?: string | string[]; if?: string; strategy?: { matrix?: unknown; "fail-fast"?: boolean }; "timeout-minutes"?: unknown; env?: Record<string, string>; steps?: Step[]; outputs?: Record<string, string> };
const wf = parse(text) as { on: Record<string, { inputs?: Record<string, unknown> } | unknown>; concurrency: { group: string; "cancel-in-progress": boolean }; env: Record<string, string>; jobs: Record<string, Job> };

describe("nightly workflow (.github/workflows/nightly.yml)", () => {
  it("takes its matrix from `npm run matrix` only: one fromJSON strategy, no list of cells, versions or modes in the YAML", () => {
    const withMatrix = Object.entries(wf.jobs).filter(([, j]) => j.strategy?.matrix !== undefined);
    expect(withMatrix.map(([n]) => n)).toEqual(["cell"]);
    expect(wf.jobs.cell!.strategy!.matrix).toBe("${{ fromJSON(needs.plan.outputs.matrix) }}");
    expect(wf.jobs.plan!.outputs!.matrix).toBe("${{ steps.matrix.outputs.matrix }}");
    const step = wf.jobs.plan!.steps!.find((s) => s.id === "matrix")!;
    expect(step.run).toMatch(/matrix=\$\(npm run --silent matrix -- --families "\$FAMILIES" --versions "\$VERSIONS" --proxy-modes "\$PROXY_MODES"\)/);
    expect(step.run).toContain('>> "$GITHUB_OUTPUT"');
    // no second list: no cell id, Kubernetes version or proxy-mode name appears anywhere in the file
    const m = expandMatrix(loadMatrix());
    for (const word of [...m.cells.map((c) => c.cell), ...m.excluded.map((c) => c.cell), ...loadMatrix().kubernetes.map((v) => `"${v}"`), "iptables", "nftables", "ipvs"]) expect(text).not.toContain(word);
  });

  it("the plan step's command prints exactly the matrix of .ci/matrix.yaml (run here as the workflow runs it)", async () => {
    const step = wf.jobs.plan!.steps!.find((s) => s.id === "matrix")!;
    const cmd = /matrix=\$\((.*)\)/.exec(step.run!)![1]!;
    const r = await execa("bash", ["-c", cmd], { cwd: ROOT, env: { FAMILIES: "", VERSIONS: "", PROXY_MODES: "" } });
    expect(JSON.parse(r.stdout)).toEqual(strategyMatrix(expandMatrix(loadMatrix())));
    const narrowed = await execa("bash", ["-c", cmd], { cwd: ROOT, env: { FAMILIES: "cluster", VERSIONS: "1.34", PROXY_MODES: "iptables,nftables" } });
    expect((JSON.parse(narrowed.stdout) as { include: Array<{ cell: string }> }).include.map((c) => c.cell)).toEqual(["cluster-v1.34-iptables", "cluster-v1.34-nftables"]);
  });

  it("runs nightly and on dispatch (families, versions, proxy modes), never two at once", () => {
    expect(Object.keys(wf.on).sort()).toEqual(["schedule", "workflow_dispatch"]);
    expect(Object.keys((wf.on.workflow_dispatch as { inputs: object }).inputs).sort()).toEqual(["families", "proxy_modes", "versions"]);
    expect(wf.env).toMatchObject({ FAMILIES: "${{ inputs.families }}", VERSIONS: "${{ inputs.versions }}", PROXY_MODES: "${{ inputs.proxy_modes }}" });
    expect(wf.concurrency["cancel-in-progress"]).toBe(false);
    expect(wf.concurrency.group).toBeTruthy();
  });

  it("one job per cell runs `npm run matrix -- --run <cell>` with its timeout, pull-through mirrors, and uploads its evidence", () => {
    const cell = wf.jobs.cell!;
    expect(cell.strategy!["fail-fast"]).toBe(false);
    expect(cell["timeout-minutes"]).toBe("${{ matrix.timeoutMinutes }}");
    expect(cell.env).toMatchObject({ NETCONFORM_KEEP: "on-failure", NETCONFORM_STRICT_OFFLINE: "false", NETCONFORM_IMAGE_SOURCE: "mirror" });
    const run = cell.steps!.find((s) => s.run?.includes("--run"))!;
    expect(run.run).toMatch(/npm run matrix -- --run "\$CELL"/);
    expect(run.env).toEqual({ CELL: "${{ matrix.cell }}" });
    const upload = cell.steps!.find((s) => s.uses?.startsWith("actions/upload-artifact"))!;
    expect(upload.if).toBe("always()");
    expect(upload.with!.path).toBe("reports/cells/${{ matrix.cell }}");
    const cache = cell.steps!.find((s) => s.uses?.startsWith("actions/cache") && s.with?.path === "/tmp/nc-mirrors")!;
    expect(cache.with!.key).toContain("hashFiles('harness/images/catalogue.yaml')");
    expect(cell.env!.NETCONFORM_MIRROR_DATA).toBe("/tmp/nc-mirrors");
  });

  it("a final job merges every cell with the history into one report, whatever the cells' outcome", () => {
    const rep = wf.jobs.report!;
    expect(rep.needs).toEqual(["plan", "cell"]);
    expect(rep.if).toContain("always()");
    const merge = rep.steps!.find((s) => s.run?.includes("report:merge"))!;
    expect(merge.run).toContain("--history reports/history/history.jsonl");
    expect(merge.run).toContain('--families "$FAMILIES" --versions "$VERSIONS" --proxy-modes "$PROXY_MODES"');
    expect(rep.steps!.some((s) => s.uses?.startsWith("actions/cache/restore") && s.with?.path === "reports/history")).toBe(true);
    expect(rep.steps!.some((s) => s.uses?.startsWith("actions/upload-artifact") && s.with?.path === "reports/nightly")).toBe(true);
    expect(wf.jobs.publish!.steps!.some((s) => s.uses?.startsWith("actions/deploy-pages"))).toBe(true);
  });

  it("the per-push workflow runs no live suite (those are the nightly's), so its green means what it ran", () => {
    const ci = readFileSync(resolve(ROOT, ".github/workflows/ci.yml"), "utf8");
    expect(ci).toMatch(/npm test -- --project unit --project integration/);
    expect(ci).not.toMatch(/schedule/);
  });
});
