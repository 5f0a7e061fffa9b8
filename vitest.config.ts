import { rmSync } from "node:fs";
import { defineConfig } from "vitest/config";

// `npm test -- suites/metallb` passes "suites/metallb" as a file filter. Remember which suite
// families the user asked for by name: a missing prerequisite then fails loudly instead of
// turning into a reported skip (see harness/preflight/gate.ts).
const VALUE_FLAGS = new Set(["--project", "-t", "--testNamePattern", "--reporter", "--config", "-c", "--root", "-r", "--dir", "--shard", "--outputFile", "--mode"]);
const filters = process.argv.slice(2).filter((a, i, all) => !a.startsWith("-") && a !== "run" && a !== "vitest" && !VALUE_FLAGS.has(all[i - 1] ?? ""));
process.env.NETCONFORM_FILTERS = JSON.stringify(filters);
process.env.NETCONFORM_RUN_ID ??= `nc-${Date.now().toString(36)}-${process.pid.toString(36)}`;

const resultsDir = process.env.NETCONFORM_ALLURE_RESULTS ?? "reports/allure-results";
// each `npm test` leaves the results of that run only (set NETCONFORM_ALLURE_KEEP=1 to accumulate)
if (process.env.NETCONFORM_ALLURE_KEEP !== "1" && !process.env.VITEST_WORKER_ID) rmSync(resultsDir, { recursive: true, force: true });

export default defineConfig({
  test: {
    reporters: [
      "default",
      ["allure-vitest/reporter", { resultsDir }],
      // JUnit XML beside Allure, for tools that read it (each matrix cell writes its own)
      "./harness/report/junit-reporter.ts",
      "./harness/report/summary-reporter.ts",
    ],
    setupFiles: ["allure-vitest/setup"],
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["harness/**/*.test.ts"],
          exclude: ["harness/**/*.int.test.ts", "node_modules/**"],
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
    ],
  },
});
