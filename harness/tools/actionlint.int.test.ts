import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { HostExecutor } from "../exec/host.ts";
import { ensureTool, toolVersion } from "./tools.ts";

const ROOT = resolve(import.meta.dirname, "..", "..");
const WF = join(ROOT, ".github", "workflows");
const host = new HostExecutor();

describe("GitHub workflows pass actionlint (built from its pinned module by harness/tools)", () => {
  it(`every .github/workflows/*.yml passes actionlint ${toolVersion("actionlint")}`, async () => {
    const bin = await ensureTool("actionlint", { log: (m) => process.stderr.write(`${m}\n`) });
    const files = readdirSync(WF).filter((f) => /\.ya?ml$/.test(f)).map((f) => join(WF, f));
    expect(files.map((f) => f.slice(WF.length + 1)).sort()).toEqual(expect.arrayContaining(["ci.yml", "nightly.yml"]));
    const r = await host.run([bin, "-no-color", ...files], { allowFailure: true, timeoutMs: 120_000 });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
  }, 900_000);

  it("negative control: a workflow whose matrix reads an output the plan job does not have fails actionlint", async () => {
    const bin = await ensureTool("actionlint");
    const dir = mkdtempSync(join(tmpdir(), "nc-actionlint-"));
    const broken = join(dir, "nightly.yml");
    writeFileSync(broken, readFileSync(join(WF, "nightly.yml"), "utf8").replace("needs.plan.outputs.matrix", "needs.plan.outputs.matirx"));
    const r = await host.run([bin, "-no-color", broken], { allowFailure: true, timeoutMs: 120_000 });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/property "matirx" is not defined/);
  });
});
