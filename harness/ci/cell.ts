import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { execa } from "execa";
import { z } from "zod";
import { loadConfig, parseConfig } from "../config.ts";
import { HostExecutor } from "../exec/host.ts";
import { loadCatalogue } from "../images/catalogue.ts";
import { ensureImage, imageExists, localTag } from "../images/forge-lib.ts";
import { ensureHostTools } from "../images/node-forge.ts";
import "../images/steps.ts";
import { requireFeatures } from "../preflight/kernel.ts";
import { ensureMirrors, pullThroughMirror } from "../registry/mirrors.ts";
import { Run } from "../run.ts";
import type { Cell } from "./matrix.ts";

/**
 * One matrix cell, run the way the nightly job runs it (and the same on any machine):
 *   1. the kernel features the cell needs, probed here; absent ones make the cell "cannot-run"
 *      with the reason (a kernel gap is a skip, never a failure),
 *   2. the node image of the cell's Kubernetes version: NETCONFORM_NODE_IMAGE when set; with
 *      pull-through mirrors (strictOffline=false, imageSource=mirror) the pinned kindest/node,
 *      pulled through the docker.io mirror; else the forge's image for that version, built now
 *      if missing (only the version a cell asks for is ever built),
 *   3. `vitest run <suites>` with the cell's kube-proxy mode, Allure results, JUnit XML and run
 *      evidence under reports/cells/<cell>/,
 *   4. reports/cells/<cell>/cell.json: status, counts, wall time (the merge step's input).
 */
export const CELLS_DIR = "reports/cells";

export const CellResult = z.object({
  cell: z.string(),
  family: z.string(),
  kubernetes: z.string(),
  proxyMode: z.string(),
  status: z.enum(["passed", "failed", "cannot-run"]),
  reason: z.string().optional(),
  passed: z.number().int(),
  failed: z.number().int(),
  skipped: z.number().int(),
  seconds: z.number(),
  nodeImage: z.string().optional(),
});
export type CellResult = z.infer<typeof CellResult>;

/** Count Allure results by status (broken counts as failed, unknown as skipped). */
export function countResults(resultsDir: string): { passed: number; failed: number; skipped: number } {
  const n = { passed: 0, failed: 0, skipped: 0 };
  if (!existsSync(resultsDir)) return n;
  for (const f of readdirSync(resultsDir).filter((f) => f.endsWith("-result.json"))) {
    const s = (JSON.parse(readFileSync(join(resultsDir, f), "utf8")) as { status?: string }).status;
    if (s === "passed") n.passed++;
    else if (s === "failed" || s === "broken") n.failed++;
    else n.skipped++;
  }
  return n;
}

/** A kind cluster name for the cell (a DNS label of at most 32 characters). */
export function cellClusterName(cell: Cell): string {
  return `nc-${cell.family}-${cell.kubernetes.replace(".", "")}-${cell.proxyMode}`.slice(0, 32).replace(/-+$/, "");
}

/**
 * Where this cell's node image comes from here: "given" (NETCONFORM_NODE_IMAGE), "pull-through"
 * (the pinned kindest/node through the docker.io mirror) or "forge". Throws, naming the way out,
 * when none applies (a version the forge does not build, under strict offline).
 */
export function nodeImageSource(cell: Cell, env: NodeJS.ProcessEnv): "given" | "pull-through" | "forge" {
  const config = loadConfig(env);
  if (config.nodeImage) return "given";
  const entry = loadCatalogue().nodeImages.find((n) => n.kubernetes === cell.kubernetes);
  if (!entry) throw new Error(`cell ${cell.cell}: Kubernetes ${cell.kubernetes} has no node image in harness/images/catalogue.yaml (nodeImages)`);
  if (!config.strictOffline && config.imageSource === "mirror") return "pull-through";
  if (!entry.forge)
    throw new Error(
      `cell ${cell.cell}: no node image for Kubernetes ${cell.kubernetes} on this machine: the forge does not build that version (catalogue nodeImages: forge null), ` +
        `and strict offline forbids pulling ${entry.kindest}; run the cell with NETCONFORM_STRICT_OFFLINE=false NETCONFORM_IMAGE_SOURCE=mirror where the internet is reachable, or set NETCONFORM_NODE_IMAGE`,
    );
  return "forge";
}

/** The node image this cell uses here, after making sure it exists; throws naming what is missing. */
export async function cellNodeImage(cell: Cell, env: NodeJS.ProcessEnv, log: (m: string) => void): Promise<string> {
  const config = loadConfig(env);
  const source = nodeImageSource(cell, env);
  if (config.nodeImage) return config.nodeImage;
  const entry = loadCatalogue().nodeImages.find((n) => n.kubernetes === cell.kubernetes)!;
  if (source === "pull-through") {
    const run = new Run(parseConfig({ ...config, runId: `nc-cell-${Date.now().toString(36)}`, keep: "always" }));
    const mirrors = await ensureMirrors(run, { network: "kind" });
    const tag = `kindest/node:${/:(v[\d.]+)@/.exec(entry.kindest)![1]}`;
    log(`node image: ${entry.kindest} through the docker.io mirror (pull-through)`);
    return pullThroughMirror(entry.kindest, tag, mirrors);
  }
  const tag = localTag(entry.forge!);
  if (!(await imageExists(tag))) log(`node image: forging ${entry.forge} for Kubernetes ${cell.kubernetes} (${tag}); cold this takes 10-25 min`);
  await ensureImage(entry.forge!, { log });
  return tag;
}

export async function runCell(cell: Cell, o: { env?: NodeJS.ProcessEnv; outDir?: string; log?: (m: string) => void; vitestArgs?: string[] } = {}): Promise<CellResult> {
  const env = { ...(o.env ?? process.env) };
  const log = o.log ?? ((m: string) => process.stderr.write(`matrix: ${m}\n`));
  const out = resolve(o.outDir ?? join(CELLS_DIR, cell.cell));
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const t0 = Date.now();
  const base = { cell: cell.cell, family: cell.family, kubernetes: cell.kubernetes, proxyMode: cell.proxyMode };
  const finish = (r: CellResult): CellResult => {
    writeFileSync(join(out, "cell.json"), `${JSON.stringify(r, null, 2)}\n`);
    return r;
  };
  if (cell.kernel.length) {
    const k = await requireFeatures(new HostExecutor(), cell.kernel);
    if (!k.ok) {
      log(`cell ${cell.cell} cannot run here: ${k.reason}`);
      return finish({ ...base, status: "cannot-run", reason: k.reason, passed: 0, failed: 0, skipped: 0, seconds: (Date.now() - t0) / 1000 });
    }
  }
  let nodeImage: string;
  try {
    nodeImageSource(cell, env); // a cell that cannot get a node image here says so before anything is built
    await ensureHostTools({ log });
    nodeImage = await cellNodeImage(cell, env, log);
  } catch (e) {
    // the cell could not even start: its result says why (the merge shows it), then the error goes on
    finish({ ...base, status: "failed", reason: (e as Error).message, passed: 0, failed: 0, skipped: 0, seconds: (Date.now() - t0) / 1000 });
    throw e;
  }
  const results = join(out, "allure-results");
  const cellEnv: NodeJS.ProcessEnv = {
    ...env,
    NETCONFORM_KUBE_PROXY_MODE: cell.proxyMode,
    NETCONFORM_NODE_IMAGE: nodeImage,
    NETCONFORM_CLUSTER: env.NETCONFORM_CLUSTER || cellClusterName(cell),
    NETCONFORM_ALLURE_RESULTS: results,
    NETCONFORM_JUNIT: join(out, "junit.xml"),
    NETCONFORM_ARTIFACTS: join(out, "runs"),
    NETCONFORM_CELL: cell.cell,
  };
  log(`cell ${cell.cell}: vitest run ${cell.suites} (kube-proxy ${cell.proxyMode}, node image ${nodeImage}, cluster ${cellEnv.NETCONFORM_CLUSTER})`);
  const vitest = resolve(import.meta.dirname, "..", "..", "node_modules", ".bin", "vitest");
  const r = await execa(vitest, ["run", cell.suites, ...(o.vitestArgs ?? [])], { env: cellEnv, stdio: "inherit", reject: false });
  const counts = countResults(results);
  const failed = r.exitCode !== 0 || counts.failed > 0;
  const reason = r.exitCode !== 0 && counts.failed === 0 ? `vitest exited with ${r.exitCode ?? r.signal} and no failed test result (a setup or collection error: see the job log)` : undefined;
  return finish({ ...base, status: failed ? "failed" : "passed", ...(reason ? { reason } : {}), ...counts, seconds: (Date.now() - t0) / 1000, nodeImage });
}
