import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

// every `npm run <cli> -- --help` answers with its usage and exit 0, without doing anything
const ROOT = resolve(import.meta.dirname, "..", "..");
const CLIS = ["clean", "judge", "soak", "report", "catalogue", "bundle", "matrix", "report-merge", "forge"];

describe("the project's CLIs answer --help", () => {
  for (const cli of CLIS) {
    it(`${cli} --help prints its usage and exits 0`, () => {
      const r = spawnSync(process.execPath, [`harness/cli/${cli}.ts`, "--help"], { cwd: ROOT, encoding: "utf8", timeout: 15_000 });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^usage: npm run /m);
    });
  }
  it("negative control: an unknown option is refused with exit 2 and the usage", () => {
    const r = spawnSync(process.execPath, ["harness/cli/clean.ts", "--bogus"], { cwd: ROOT, encoding: "utf8", timeout: 15_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown option --bogus");
    expect(r.stderr).toMatch(/usage: npm run clean/);
  });
});
