/**
 * Records a project's setup failure in the Allure results. The full implementation lives in
 * global-error.ts (when present); this shim keeps setup code independent of its arrival.
 */
export async function recordGlobalError(project: string, error: Error): Promise<void> {
  try {
    const mod = (await import("./global-error.ts")) as { reportGlobalError?: (p: string, e: Error) => Promise<void> | void };
    if (mod.reportGlobalError) await mod.reportGlobalError(project, error);
  } catch {
    // global-error.ts not there yet: the thrown error still fails the run loudly
  }
}
