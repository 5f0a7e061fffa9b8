import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

/**
 * Keep reports/runs/ from growing without end: the newest `keep` runs stay (a run is its folder
 * `<id>/` plus `reaper-<id>.log`), so do the runs of the current session and every run that kept
 * its cluster on purpose (a `KEPT` file in its folder, written by the run's teardown: its kubeconfig
 * is how the user reaches that cluster). Returns the ids removed.
 */
export function pruneRuns(dir: string, keep: number, current: string[] = []): string[] {
  if (!existsSync(dir)) return [];
  const runs = new Map<string, { newest: number; paths: string[]; kept: boolean }>();
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    let st;
    try {
      st = statSync(path);
    } catch {
      continue;
    }
    const id = st.isDirectory() ? name : /^reaper-(.+)\.log$/.exec(name)?.[1];
    if (!id) continue;
    const r = runs.get(id) ?? { newest: 0, paths: [], kept: false };
    r.newest = Math.max(r.newest, st.mtimeMs);
    r.paths.push(path);
    if (st.isDirectory() && existsSync(join(path, "KEPT"))) r.kept = true;
    runs.set(id, r);
  }
  const candidates = [...runs.entries()].filter(([id, r]) => !current.includes(id) && !r.kept).sort((a, b) => b[1].newest - a[1].newest);
  const removed: string[] = [];
  for (const [id, r] of candidates.slice(Math.max(0, keep))) {
    for (const p of r.paths) rmSync(p, { recursive: true, force: true });
    removed.push(id);
  }
  return removed;
}
