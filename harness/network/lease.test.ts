import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { acquireSlot } from "./lease.ts";

describe("slot leases shared by concurrent runs", () => {
  it("gives two owners two different slots and frees a slot on release", () => {
    const dir = mkdtempSync(join(tmpdir(), "nc-lease-"));
    const a = acquireSlot("kind-pool", "cluster-a", 4, dir);
    const b = acquireSlot("kind-pool", "cluster-b", 4, dir);
    expect([a.slot, b.slot]).toEqual([0, 1]);
    expect(acquireSlot("kind-pool", "cluster-a", 4, dir).slot).toBe(0);
    a.release();
    expect(acquireSlot("kind-pool", "cluster-c", 4, dir).slot).toBe(0);
  });

  it("takes over the slot of a process that is gone, and refuses when every slot is held", () => {
    const dir = mkdtempSync(join(tmpdir(), "nc-lease-"));
    const gone = spawnSync("true").pid!; // exited: its pid is no longer a live holder
    writeFileSync(join(dir, "kind-pool-0.lock"), JSON.stringify({ pid: gone, owner: "old", at: "" }));
    writeFileSync(join(dir, "kind-pool-1.lock"), JSON.stringify({ pid: process.ppid, owner: "live", at: "" }));
    expect(acquireSlot("kind-pool", "new", 3, dir).slot).toBe(0);
    expect(acquireSlot("kind-pool", "other", 3, dir).slot).toBe(2);
    expect(() => acquireSlot("kind-pool", "third", 3, dir)).toThrow(/all 3 slots of kind-pool are held/);
  });
});
