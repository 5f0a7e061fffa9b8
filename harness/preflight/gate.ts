import { relative } from "node:path";
import { beforeEach } from "vitest";

/**
 * Prerequisite gate for suites. `npm test -- suites/metallb` names the suite: a missing prerequisite
 * is then an error with a clear message. Plain `npm test` did not ask for it by name: the suite's
 * tests are reported skipped, each with the exact missing prerequisite as its note (printed by the
 * summary reporter and shown in Allure). A behaviour the kernel cannot host is always a skip.
 */
export function explicitlyRequested(file: string): boolean {
  const filters = JSON.parse(process.env.NETCONFORM_FILTERS ?? "[]") as string[];
  const rel = relative(process.cwd(), file);
  return filters.some((f) => f.length > 0 && rel.includes(f.replace(/^\.\//, "").replace(/\/$/, "")));
}

export class PrerequisiteMissing extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PrerequisiteMissing";
  }
}

/**
 * Call at the top of a suite file (module scope) with the missing prerequisite, or undefined.
 * Returns true when the suite may run.
 */
export function gateSuite(file: string, missing: string | undefined): boolean {
  if (!missing) return true;
  if (explicitlyRequested(file))
    throw new PrerequisiteMissing(`${relative(process.cwd(), file)} was asked for but cannot run: ${missing}`);
  beforeEach((ctx) => ctx.skip(`prerequisite missing: ${missing}`));
  return false;
}

/** Inside a test: skip for a kernel feature this machine lacks (always a skip, never a failure). */
export function skipForKernel(ctx: { skip: (note?: string) => void }, reason: string | undefined): void {
  if (reason) ctx.skip(`kernel: ${reason}`);
}

/**
 * The first missing prerequisite of a suite: the preflight's, or, for a suite that reads evidence
 * on the nodes or injects node faults, the reason a cluster given by kubeconfig offers no node access.
 */
export function suiteMissing(p: { missing?: string; existing?: { nodesMissing?: string } }, o: { nodes: boolean }): string | undefined {
  return p.missing ?? (o.nodes ? p.existing?.nodesMissing : undefined);
}
