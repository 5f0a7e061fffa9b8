import { readFileSync, writeFileSync } from "node:fs";

/**
 * Every kind node runs systemd, containerd and the kubelet, each holding inotify instances; the
 * kernel's default of 128 instances per user is spent by about four 3-node clusters. Measured
 * here: with four clusters up, a fifth node's systemd died at start with "Failed to create control
 * group inotify object: Too many open files" and kind create cluster failed. kind's documentation
 * gives the limits below. As root they are raised (saying so); otherwise the reason names the sysctls.
 */
export const INOTIFY_MIN = { max_user_instances: 8192, max_user_watches: 524288 } as const;

export function inotifyShortfall(read: (name: string) => number): Array<{ name: string; have: number; want: number }> {
  return Object.entries(INOTIFY_MIN)
    .map(([name, want]) => ({ name, have: read(name), want }))
    .filter((x) => x.have < x.want);
}

const path = (n: string) => `/proc/sys/fs/inotify/${n}`;

/** Raise the inotify limits where they are too low; returns the missing prerequisite when that is not possible. */
export function ensureInotifyLimits(say: (m: string) => void = (m) => process.stderr.write(`preflight: ${m}\n`)): string | undefined {
  const read = (n: string) => Number.parseInt(readFileSync(path(n), "utf8"), 10);
  let low;
  try {
    low = inotifyShortfall(read);
  } catch {
    return undefined; // not Linux, or no /proc: nothing to decide here
  }
  if (!low.length) return undefined;
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  if (root) {
    try {
      for (const l of low) writeFileSync(path(l.name), String(l.want));
      say(`raised ${low.map((l) => `fs.inotify.${l.name} ${l.have} → ${l.want}`).join(", ")} (each kind node holds inotify instances)`);
      return undefined;
    } catch (e) {
      return `fs.inotify limits too low for kind nodes and could not be raised (${(e as Error).message})`;
    }
  }
  return `fs.inotify limits too low for several kind clusters: run sudo sysctl ${low.map((l) => `fs.inotify.${l.name}=${l.want}`).join(" ")}`;
}
