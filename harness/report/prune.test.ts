import { existsSync, mkdirSync, mkdtempSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { pruneRuns } from "./prune.ts";

function runDir(dir: string, id: string, ageS: number, kept = false): void {
  mkdirSync(join(dir, id), { recursive: true });
  writeFileSync(join(dir, id, "kind-config.yaml"), "x");
  if (kept) writeFileSync(join(dir, id, "KEPT"), "kept on purpose");
  writeFileSync(join(dir, `reaper-${id}.log`), "removed nothing");
  const t = Date.now() / 1000 - ageS;
  for (const p of [join(dir, id), join(dir, `reaper-${id}.log`)]) utimesSync(p, t, t);
}

describe("pruning reports/runs", () => {
  it("keeps the newest N runs, the current session and runs that kept their cluster; removes the rest with their reaper logs", () => {
    const dir = mkdtempSync(join(tmpdir(), "nc-prune-"));
    runDir(dir, "nc-old1", 500);
    runDir(dir, "nc-old2", 400, true);
    runDir(dir, "nc-old3", 300);
    runDir(dir, "nc-new1", 20);
    runDir(dir, "nc-new2", 10);
    runDir(dir, "nc-now", 1000);
    const removed = pruneRuns(dir, 2, ["nc-now"]);
    expect(removed.sort()).toEqual(["nc-old1", "nc-old3"]);
    expect(existsSync(join(dir, "reaper-nc-old1.log"))).toBe(false);
    for (const id of ["nc-old2", "nc-new1", "nc-new2", "nc-now"]) expect(existsSync(join(dir, id))).toBe(true);
  });

  it("does nothing on a missing folder or with room to spare", () => {
    expect(pruneRuns(join(tmpdir(), "nc-prune-absent-x"), 5)).toEqual([]);
    const dir = mkdtempSync(join(tmpdir(), "nc-prune-"));
    runDir(dir, "nc-a", 5);
    expect(pruneRuns(dir, 5)).toEqual([]);
  });
});
