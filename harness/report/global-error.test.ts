import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { allureResultsDir, reportGlobalError, writeGlobalError } from "./global-error.ts";

function read(dir: string, suffix: string): Array<Record<string, unknown>> {
  return readdirSync(dir).filter((f) => f.endsWith(suffix)).map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as Record<string, unknown>);
}

describe("report/global-error", () => {
  it("writes a broken result '<project> setup failed' in the Allure results format", () => {
    const dir = mkdtempSync(join(tmpdir(), "nc-allure-"));
    const err = new Error("preflight: docker does not answer", { cause: new Error("connect ENOENT /var/run/docker.sock") });
    const { uuid } = writeGlobalError("integration", err, { resultsDir: dir, start: 1_700_000_000_000 });
    const [r, ...more] = read(dir, "-result.json");
    expect(more).toHaveLength(0);
    expect(r).toMatchObject({
      uuid,
      name: "integration setup failed",
      fullName: "integration: globalSetup",
      status: "broken",
      stage: "finished",
      start: 1_700_000_000_000,
      statusDetails: { message: "preflight: docker does not answer" },
    });
    expect(typeof r!.stop).toBe("number");
    expect((r!.statusDetails as { trace: string }).trace).toMatch(/^Error: preflight: docker does not answer\n\s+at .*\nCaused by: Error: connect ENOENT/s);
    expect(r!.labels).toEqual(expect.arrayContaining([{ name: "suite", value: "integration" }, { name: "parentSuite", value: "setup" }, { name: "tag", value: "setup" }]));
    expect(readdirSync(dir).find((f) => f === `${uuid}-result.json`)).toBeDefined();
    // and Allure 3's global errors
    const [g] = read(dir, "-globals.json");
    expect((g!.errors as Array<{ message: string }>)[0]!.message).toBe("integration setup failed: preflight: docker does not answer");
  });

  it("redacts secrets in the message and trace, and takes non-Error throws", () => {
    const dir = mkdtempSync(join(tmpdir(), "nc-allure-"));
    reportGlobalError("suites", new Error("kubeconfig rejected: token: abcdef123456 Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlMTIz"), { resultsDir: dir });
    const text = readFileSync(join(dir, readdirSync(dir).find((f) => f.endsWith("-result.json"))!), "utf8");
    expect(text).not.toContain("abcdef123456");
    expect(text).not.toContain("eyJhbGciOiJSUzI1NiJ9");
    expect(text).toContain("<redacted>");
    const dir2 = mkdtempSync(join(tmpdir(), "nc-allure-"));
    reportGlobalError("unit", "a string was thrown", { resultsDir: dir2 });
    expect(read(dir2, "-result.json")[0]).toMatchObject({ name: "unit setup failed", statusDetails: { message: "a string was thrown" } });
  });

  it("is what the projects' globalSetup calls, writing where the allure reporter writes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nc-allure-"));
    const before = process.env.NETCONFORM_ALLURE_RESULTS;
    process.env.NETCONFORM_ALLURE_RESULTS = dir;
    try {
      expect(allureResultsDir()).toBe(dir);
      reportGlobalError("integration", new Error("forge failed"));
    } finally {
      if (before === undefined) delete process.env.NETCONFORM_ALLURE_RESULTS;
      else process.env.NETCONFORM_ALLURE_RESULTS = before;
    }
    expect(read(dir, "-result.json")[0]).toMatchObject({ name: "integration setup failed", status: "broken" });
  });

  it("defaults to reports/allure-results under the working directory", () => {
    expect(allureResultsDir({}, "/work/x")).toBe("/work/x/reports/allure-results");
  });
});
