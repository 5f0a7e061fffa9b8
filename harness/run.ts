import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LABEL_KEEP, LABEL_ROLE, LABEL_RUN, createVolume, listByLabel, removeContainer, removeImage, removeNetwork, removeVolume, volumeLabels } from "./adapters/docker.ts";
import { type RunConfig, loadConfig } from "./config.ts";
import { log } from "./log.ts";

/**
 * A run: the id every object it creates is labelled with, and the list of what to undo.
 * Teardown runs in reverse order on success, on failure and on SIGINT/SIGTERM; `keep` decides
 * whether anything is left on purpose. A ledger volume (nc-run-<id>) records in docker itself which
 * kind cluster the run created, so a later `sweep(id)` can find it even after the process died.
 */
export const LABEL_CLUSTER = "io.netconform.cluster";
/** one `npm test` invocation (vitest.config.ts sets NETCONFORM_RUN_ID); groups the runs of its test files */
export const LABEL_SESSION = "io.netconform.session";

export class Run {
  readonly id: string;
  readonly session: string;
  readonly config: RunConfig;
  readonly dir: string;
  failed = false;
  private readonly undo: Array<{ what: string; fn: () => Promise<void> }> = [];
  /** the one teardown of this run: a second caller (a second signal) waits for it instead of racing it */
  private tearing: Promise<{ removed: string[]; kept: string[]; errors: string[] }> | undefined;
  private signalHandler: ((sig: NodeJS.Signals) => void) | undefined;

  constructor(config: RunConfig = loadConfig()) {
    this.config = config;
    this.id = config.runId ?? process.env.NETCONFORM_RUN_ID ?? `nc-${Date.now().toString(36)}`;
    this.session = process.env.NETCONFORM_RUN_ID ?? this.id;
    this.dir = join(config.artifactsDir, this.id);
    mkdirSync(this.dir, { recursive: true });
  }

  labels(role: string, extra: Record<string, string> = {}): Record<string, string> {
    return { [LABEL_RUN]: this.id, [LABEL_SESSION]: this.session, [LABEL_ROLE]: role, ...extra };
  }

  /** register how to undo something just created; undone last-in first-out */
  defer(what: string, fn: () => Promise<void>): void {
    this.undo.push({ what, fn });
  }

  /** should teardown keep what this run created? */
  keeping(): boolean {
    return this.config.keep === "always" || (this.config.keep === "on-failure" && this.failed);
  }

  teardown(): Promise<{ removed: string[]; kept: string[]; errors: string[] }> {
    this.tearing ??= this.tearDownOnce();
    return this.tearing;
  }

  private async tearDownOnce(): Promise<{ removed: string[]; kept: string[]; errors: string[] }> {
    const out = { removed: [] as string[], kept: [] as string[], errors: [] as string[] };
    if (this.keeping()) {
      out.kept = this.undo.map((u) => u.what);
      // tells the pruning of reports/runs to leave this folder (its kubeconfig reaches the kept cluster)
      try {
        writeFileSync(join(this.dir, "KEPT"), `${out.kept.join("\n")}\nremove with: npm run clean -- ${this.id}\n`);
      } catch { /* the folder may be gone; keeping matters more than the marker */ }
      log.warn(`keeping ${out.kept.length} objects of run ${this.id} (keep=${this.config.keep}${this.failed ? ", a test failed" : ""}): ${out.kept.join(", ")}; remove them later with: npm run clean -- ${this.id}`);
      return out;
    }
    for (const u of this.undo.reverse()) {
      try {
        await u.fn();
        out.removed.push(u.what);
      } catch (e) {
        out.errors.push(`${u.what}: ${(e as Error).message}`);
      }
    }
    this.undo.length = 0;
    if (out.errors.length) log.error(`teardown of run ${this.id} left errors:\n  ${out.errors.join("\n  ")}`);
    return out;
  }

  /**
   * On SIGINT/SIGTERM: tear down (honouring keep), then exit 130/143. The handlers stay installed
   * while the teardown runs: a second signal (Ctrl-C pressed again, or one a child passed on; measured:
   * a run interrupted during `kind create` got a second SIGINT and died by it mid-teardown) waits for
   * the same teardown instead of killing the process half-way.
   */
  installSignalHandlers(): void {
    if (this.signalHandler) return;
    let first: NodeJS.Signals | undefined;
    this.signalHandler = (sig) => {
      if (first) {
        log.warn(`${sig}: the teardown of run ${this.id} is under way; waiting for it`);
        return;
      }
      first = sig;
      log.warn(`${sig}: tearing down run ${this.id}`);
      this.failed = true;
      void this.teardown().finally(() => process.exit(sig === "SIGINT" ? 130 : 143));
    };
    process.on("SIGINT", this.signalHandler);
    process.on("SIGTERM", this.signalHandler);
  }

  removeSignalHandlers(): void {
    if (!this.signalHandler) return;
    process.off("SIGINT", this.signalHandler);
    process.off("SIGTERM", this.signalHandler);
    this.signalHandler = undefined;
  }

  /** record in docker that this run created cluster `name` (see sweep) */
  async recordCluster(name: string): Promise<void> {
    await createVolume(`nc-run-${this.id}`, this.labels("ledger", { [LABEL_CLUSTER]: name }));
  }

  /** a named docker volume of this run: labelled with it, removed by its teardown */
  async volume(name: string, role = "data"): Promise<string> {
    await createVolume(name, this.labels(role));
    this.defer(`volume ${name}`, () => removeVolume(name));
    return name;
  }

  /** remove the record of recordCluster (the caller does, right after deleting the cluster, so an interrupted teardown leaves neither or both) */
  async forgetCluster(): Promise<void> {
    await removeVolume(`nc-run-${this.id}`);
  }
}

export interface SweepResult {
  removed: string[];
  /** left on purpose (io.netconform.keep=true, without force) */
  kept: string[];
  /** one line per object that could not be removed; the sweep went on with the rest */
  errors: string[];
}

/**
 * Remove everything labelled with a run id or a session (containers with their anonymous volumes,
 * networks, volumes, images, and the kind cluster a ledger volume names), whatever state the run
 * ended in. Objects labelled keep=true are left alone unless `force`. Each removal that fails is
 * recorded and the sweep goes on with the rest; a ledger volume stays when its cluster could not be
 * deleted, so a later `npm run clean` finds the cluster again.
 */
export async function sweep(
  by: { run: string } | { session: string },
  deleteCluster: (name: string) => Promise<void>,
  force = false,
): Promise<SweepResult> {
  const out: SweepResult = { removed: [], kept: [], errors: [] };
  const found = "run" in by ? await listByLabel(LABEL_RUN, by.run) : await listByLabel(LABEL_SESSION, by.session);
  const attempt = async (what: string, fn: () => Promise<void>): Promise<boolean> => {
    try {
      await fn();
      out.removed.push(what);
      return true;
    } catch (e) {
      out.errors.push(`${what}: ${((e as Error).message ?? String(e)).split("\n")[0]}`);
      return false;
    }
  };
  const ledgersLeft = new Set<string>();
  for (const v of found.volumes) {
    let cluster: string | undefined;
    try {
      cluster = (await volumeLabels(v))?.[LABEL_CLUSTER];
    } catch (e) {
      out.errors.push(`volume ${v}: ${(e as Error).message}`);
      ledgersLeft.add(v);
      continue;
    }
    if (cluster && !(await attempt(`cluster ${cluster}`, () => deleteCluster(cluster)))) ledgersLeft.add(v);
  }
  for (const c of found.containers) {
    if (c.labels[LABEL_KEEP] === "true" && !force) out.kept.push(`container ${c.name}`);
    else await attempt(`container ${c.name}`, () => removeContainer(c.name));
  }
  for (const n of found.networks) {
    if (n.labels[LABEL_KEEP] === "true" && !force) out.kept.push(`network ${n.name}`);
    else await attempt(`network ${n.name}`, () => removeNetwork(n.name));
  }
  for (const v of found.volumes) {
    if (ledgersLeft.has(v)) continue;
    await attempt(`volume ${v}`, () => removeVolume(v));
  }
  for (const i of found.images) await attempt(`image ${i}`, () => removeImage(i));
  return out;
}
