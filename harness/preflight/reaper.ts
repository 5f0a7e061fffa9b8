import { spawn } from "node:child_process";
import { mkdirSync, openSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadConfig } from "../config.ts";
import { log } from "../log.ts";
import { pruneRuns } from "../report/prune.ts";

/**
 * Start (once per vitest process) the detached reaper of this session: harness/cli/reaper.ts.
 * Its output goes to <artifactsDir>/reaper-<session>.log.
 */
export function startReaper(): void {
  const session = process.env.NETCONFORM_RUN_ID;
  if (!session || process.env.NETCONFORM_REAPER_PID) return;
  const dir = loadConfig().artifactsDir;
  mkdirSync(dir, { recursive: true });
  const out = openSync(join(dir, `reaper-${session}.log`), "a");
  const child = spawn(process.execPath, [resolve(import.meta.dirname, "..", "cli", "reaper.ts"), String(process.pid), session], { detached: true, stdio: ["ignore", out, out], env: process.env });
  child.unref();
  process.env.NETCONFORM_REAPER_PID = String(child.pid);
}

/** Prune old runs' folders in artifactsDir (keepRuns newest stay; this session's and kept clusters' stay). */
export function pruneArtifacts(): void {
  const c = loadConfig();
  const removed = pruneRuns(c.artifactsDir, c.keepRuns, [process.env.NETCONFORM_RUN_ID ?? ""]);
  if (removed.length) log.info(`pruned ${removed.length} old run folder(s) from ${c.artifactsDir} (keeping ${c.keepRuns}; NETCONFORM_KEEP_RUNS)`);
}
