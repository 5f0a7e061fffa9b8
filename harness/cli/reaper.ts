/**
 * node harness/cli/reaper.ts <vitest-pid> <session>
 *
 * Started detached by the integration and suites global setups: waits until the vitest process
 * that started it is gone, then removes whatever its session left (containers, networks, volumes,
 * kind clusters named by a ledger), as `npm run clean` would. A run's own teardown normally left
 * nothing, so this finds nothing; it matters when vitest ends its workers before their teardown
 * finished (Ctrl-C: the worker's SIGINT handler starts the teardown, and vitest kills the worker
 * a moment later, measured: a kind cluster left half-deleted). It honours the configuration the
 * run had: keep=on-failure/always keeps everything (an interrupted run counts as failed), and a
 * cluster created with reuse is kept.
 */
import { deleteCluster } from "../adapters/kind.ts";
import { loadConfig } from "../config.ts";
import { sweep } from "../run.ts";

const [pidArg, session] = process.argv.slice(2);
const pid = Number(pidArg);
if (!(pid > 0) || !session) {
  process.stderr.write("usage: node harness/cli/reaper.ts <vitest-pid> <session>\n");
  process.exit(2);
}
const alive = (p: number): boolean => {
  try {
    process.kill(p, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
};
while (alive(pid)) await new Promise((r) => setTimeout(r, 1000));
const config = loadConfig();
if (config.keep !== "never") {
  process.stdout.write(`${new Date().toISOString()} reaper: session ${session}: keep=${config.keep}, leaving everything\n`);
  process.exit(0);
}
const kept: string[] = [];
const removed = (await sweep({ session }, config.reuse ? async (name) => void kept.push(name) : deleteCluster)).filter((r) => !kept.some((k) => r === `cluster ${k}`));
process.stdout.write(`${new Date().toISOString()} reaper: session ${session}: removed ${removed.length ? removed.join(", ") : "nothing"}${kept.length ? `; kept cluster ${kept.join(", ")} (reuse)` : ""}\n`);
