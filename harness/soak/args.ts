/**
 * `npm run soak -- <suite or family>… --times N [--fresh] [--keep-cluster]`, parsed. Pure: the
 * caller gives the list of suite families and a test for paths, so every usage error is unit-tested.
 */
export interface SoakArgs {
  /** vitest file filters: "suites/cluster", "suites/metallb/l2.e2e.ts" */
  selections: string[];
  times: number;
  /** a new cluster for every run (created and deleted by the run) instead of one reused cluster */
  fresh: boolean;
  /** keep the reused cluster at the end even when the soak created it */
  keepCluster: boolean;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export const SOAK_USAGE = "usage: npm run soak -- <suite or family>… --times N [--fresh] [--keep-cluster]\n  e.g. npm run soak -- suites/cluster --times 10\n       npm run soak -- cluster metallb --times 3 --fresh";

export function parseSoakArgs(argv: string[], o: { families: string[]; exists: (path: string) => boolean }): SoakArgs {
  const selections: string[] = [];
  let times: number | undefined;
  let fresh = false;
  let keepCluster = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--times" || a.startsWith("--times=")) {
      const v = a.includes("=") ? a.slice("--times=".length) : argv[++i];
      if (v === undefined || !/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 1000) throw new UsageError(`--times: want a whole number from 1 to 1000, got ${v === undefined ? "nothing" : JSON.stringify(v)}`);
      times = Number(v);
    } else if (a === "--fresh") fresh = true;
    else if (a === "--keep-cluster") keepCluster = true;
    else if (a.startsWith("-")) throw new UsageError(`unknown option ${a}`);
    else {
      const path = a.replace(/^\.\//, "").replace(/\/$/, "");
      if (o.families.includes(path)) selections.push(`suites/${path}`);
      else if (path.startsWith("suites/") && o.exists(path)) selections.push(path);
      else throw new UsageError(`${JSON.stringify(a)} is neither a suite family (${o.families.join(", ")}) nor a path under suites/`);
    }
  }
  if (!selections.length) throw new UsageError("name at least one suite or family to soak");
  if (times === undefined) throw new UsageError("--times N is required (how many runs)");
  if (fresh && keepCluster) throw new UsageError("--keep-cluster goes with a reused cluster, not with --fresh");
  return { selections: [...new Set(selections)], times, fresh, keepCluster };
}
