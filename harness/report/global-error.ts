/**
 * A project whose setup (vitest globalSetup) fails runs no test, so nothing of it would reach the
 * Allure report. This records the failure there: a test result "<project> setup failed" with status
 * broken (Allure 2 and 3 show it among the tests), plus an Allure 3 global error. allure-js-commons'
 * own `globalError()` cannot be used from globalSetup: it needs a running test's runtime, and
 * globalSetup runs in vitest's main process with none, so the results are written here with the same
 * library's ReporterRuntime and FileSystemWriter (the format the allure-vitest reporter writes).
 */
import { resolve } from "node:path";
import { type Label, Stage, Status } from "allure-js-commons";
import { FileSystemWriter, ReporterRuntime, getHostLabel, getLanguageLabel, md5 } from "allure-js-commons/sdk/reporter";
import { redact } from "./redact.ts";

/** where vitest.config.ts's allure reporter writes: $NETCONFORM_ALLURE_RESULTS or reports/allure-results */
export function allureResultsDir(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  return resolve(cwd, env.NETCONFORM_ALLURE_RESULTS ?? "reports/allure-results");
}

export interface GlobalErrorOptions {
  resultsDir?: string;
  /** when the setup started (ms since epoch); default now */
  start?: number;
}

function messageAndTrace(error: unknown): { message: string; trace: string } {
  if (error instanceof Error) {
    let trace = error.stack ?? `${error.name}: ${error.message}`;
    let cause: unknown = error.cause;
    for (let depth = 0; cause !== undefined && depth < 5; depth++) {
      trace += `\nCaused by: ${cause instanceof Error ? (cause.stack ?? cause.message) : String(cause)}`;
      cause = cause instanceof Error ? cause.cause : undefined;
    }
    return { message: error.message || error.name, trace };
  }
  return { message: String(error), trace: String(error) };
}

/**
 * Record a project's setup failure in the Allure results (the entry point global-error-shim.ts calls
 * from globalSetup). Returns nothing, as the shim expects; writeGlobalError says what it wrote.
 */
export function reportGlobalError(project: string, error: unknown, opts: GlobalErrorOptions = {}): void {
  writeGlobalError(project, error, opts);
}

/** Write "<project> setup failed" (status broken) and a global error into the Allure results. */
export function writeGlobalError(project: string, error: unknown, opts: GlobalErrorOptions = {}): { uuid: string; resultsDir: string } {
  const resultsDir = opts.resultsDir ?? allureResultsDir();
  const { message, trace } = messageAndTrace(error);
  const details = { message: redact(message), trace: redact(trace) };
  const runtime = new ReporterRuntime({ writer: new FileSystemWriter({ resultsDir }) });
  const fullName = `${project}: globalSetup`;
  const labels: Label[] = [
    { name: "parentSuite", value: "setup" },
    { name: "suite", value: project },
    { name: "tag", value: "setup" },
    { name: "framework", value: "vitest" },
    getLanguageLabel(),
    getHostLabel(),
  ];
  const start = opts.start ?? Date.now();
  const uuid = runtime.startTest({
    name: `${project} setup failed`,
    fullName,
    historyId: md5(fullName),
    testCaseId: md5(fullName),
    start,
    labels,
  });
  runtime.updateTest(uuid, (r) => {
    r.status = Status.BROKEN;
    r.statusDetails = details;
    r.stage = Stage.FINISHED;
  });
  runtime.stopTest(uuid, { stop: Math.max(Date.now(), start) });
  runtime.writeTest(uuid);
  runtime.applyGlobalRuntimeMessages([{ type: "global_error", data: { ...details, message: `${project} setup failed: ${details.message}` } }]);
  return { uuid, resultsDir };
}
