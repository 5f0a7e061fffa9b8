import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { defineConfig } from "vitest/config";
import { ConfigError, loadConfig } from "./harness/config.ts";
import { labMode } from "./harness/lab/targets.ts";
import { recordEnvironment } from "./harness/report/environment.ts";

// Bad settings are refused here, before any project starts, in one line naming the variable or
// field (a throw from a project's global setup would reach the user as vitest's stack trace).
if (!process.env.VITEST_WORKER_ID) {
  try {
    loadConfig();
    labMode();
  } catch (e) {
    if (!(e instanceof ConfigError) && !/^NETCONFORM_/.test((e as Error).message)) throw e;
    process.stderr.write(`netconform: ${(e as Error).message}\n`);
    process.exit(2);
  }
}

// `npm test -- suites/metallb` passes "suites/metallb" as a file filter. Remember which suite
// families the user asked for by name: a missing prerequisite then fails loudly instead of
// turning into a reported skip (see harness/preflight/gate.ts).
const VALUE_FLAGS = new Set(["--project", "-t", "--testNamePattern", "--reporter", "--config", "-c", "--root", "-r", "--dir", "--shard", "--outputFile", "--mode"]);
const filters = process.argv.slice(2).filter((a, i, all) => !a.startsWith("-") && a !== "run" && a !== "vitest" && !VALUE_FLAGS.has(all[i - 1] ?? ""));
process.env.NETCONFORM_FILTERS = JSON.stringify(filters);
process.env.NETCONFORM_RUN_ID ??= `nc-${Date.now().toString(36)}-${process.pid.toString(36)}`;

const resultsDir = process.env.NETCONFORM_ALLURE_RESULTS || "reports/allure-results";
// workers write the run's environment (cluster, Kubernetes version, kube-proxy mode) next to the results
process.env.NETCONFORM_ALLURE_RESULTS = resultsDir;
// each `npm test` leaves the results of that run only (set NETCONFORM_ALLURE_KEEP=1 to accumulate)
if (process.env.NETCONFORM_ALLURE_KEEP !== "1" && !process.env.VITEST_WORKER_ID) rmSync(resultsDir, { recursive: true, force: true });
// the report's environment until a live session records its cluster (harness/session.ts)
if (!process.env.VITEST_WORKER_ID && !existsSync(join(resultsDir, "environment.properties"))) {
  recordEnvironment({ cluster: "none: no live suite ran", "netconform.run": process.env.NETCONFORM_RUN_ID! }, resultsDir);
}

export default defineConfig({
  test: {
    reporters: [
      "default",
      // reportMatchers: false keeps expect(…) calls out of the report's steps, so a test's own
      // steps and evidence attachments are what a reader sees
      ["allure-vitest/reporter", { resultsDir, reportMatchers: false }],
      // JUnit XML beside Allure, for tools that read it (each matrix cell writes its own)
      "./harness/report/junit-reporter.ts",
      "./harness/report/summary-reporter.ts",
      // npm run soak reads each run's verdicts from this file (harness/cli/soak.ts)
      ...(process.env.NETCONFORM_JSON_REPORT ? [["json", { outputFile: process.env.NETCONFORM_JSON_REPORT }] as ["json", { outputFile: string }]] : []),
    ],
    setupFiles: ["allure-vitest/setup", "./harness/report/setup.ts"],
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["harness/**/*.test.ts"],
          exclude: ["harness/**/*.int.test.ts", "harness/**/*.lab.test.ts", "node_modules/**"],
          testTimeout: 20_000,
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["harness/**/*.int.test.ts"],
          globalSetup: ["harness/preflight/global-integration.ts"],
          testTimeout: 300_000,
          hookTimeout: 900_000,
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          name: "suites",
          include: ["suites/**/*.e2e.ts"],
          globalSetup: ["harness/preflight/global-suites.ts"],
          testTimeout: 600_000,
          hookTimeout: 1_800_000,
          fileParallelism: false,
        },
      },
      // the kernel lab (harness/lab): the controls the host kernel cannot run, on Debian kernels under
      // QEMU/TCG, or on the host kernel directly when it has their features (NETCONFORM_LAB, see
      // harness/lab/targets.ts); measured times are in the README's "Kernel lab" section
      {
        extends: true,
        test: {
          name: "lab",
          include: ["harness/**/*.lab.test.ts"],
          globalSetup: ["harness/lab/global-lab.ts"],
          // TCG boots take ~25 s idle and minutes on a loaded machine; the image build runs in the global setup
          testTimeout: 600_000,
          hookTimeout: 900_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
