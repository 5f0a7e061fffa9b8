import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Slots of a resource shared by concurrent runs on one machine (e.g. address ranges on the shared
 * `kind` docker network, where two clusters' MetalLB pools must not overlap). A slot is a lock file
 * created with O_EXCL, so two processes never take the same one; a slot whose holder process is
 * gone is stale and taken over. Release removes the file (run teardown does).
 */
export const LEASE_DIR = process.env.NETCONFORM_LEASE_DIR ?? join(tmpdir(), "netconform-leases");

export interface Lease {
  slot: number;
  release(): void;
}

interface Holder { pid: number; owner: string; at: string }

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function read(path: string): Holder | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Holder;
  } catch {
    return undefined;
  }
}

/** Take the lowest free slot of `resource` (0 ≤ slot < max) for `owner`; the same owner in the same process gets its slot back. */
export function acquireSlot(resource: string, owner: string, max: number, dir = LEASE_DIR): Lease {
  if (!/^[a-z0-9-]+$/.test(resource)) throw new Error(`lease: resource "${resource}" must be lower-case letters, digits and dashes`);
  mkdirSync(dir, { recursive: true });
  for (let slot = 0; slot < max; slot++) {
    const path = join(dir, `${resource}-${slot}.lock`);
    const me: Holder = { pid: process.pid, owner, at: new Date().toISOString() };
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(path, JSON.stringify(me), { flag: "wx" });
        return { slot, release: () => releaseIfMine(path, me) };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        const h = read(path);
        if (h && h.pid === process.pid && h.owner === owner) return { slot, release: () => releaseIfMine(path, h) };
        // a holder that died (or an unreadable file older than a write) frees the slot
        if (h && !alive(h.pid)) rmSync(path, { force: true });
        else break;
      }
    }
  }
  throw new Error(`lease: all ${max} slots of ${resource} are held by other runs on this machine (see ${dir}); wait for one to finish`);
}

function releaseIfMine(path: string, me: Holder): void {
  const h = read(path);
  if (h && h.pid === me.pid && h.owner === me.owner) rmSync(path, { force: true });
}
