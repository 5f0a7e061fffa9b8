/**
 * node harness/cli/reaper.ts <vitest-pid> <session>
 *
 * Started detached by the integration and suites global setups: waits until the vitest process
 * that started it is gone, then removes whatever its session left (containers, networks, volumes,
 * images, kind clusters named by a ledger), as `npm run clean` would. A run's own teardown normally
 * left nothing, so this finds nothing; it matters when vitest ends its workers before their teardown
 * finished (Ctrl-C: the worker's SIGINT handler starts the teardown, and vitest kills the worker
 * a moment later, measured: a kind cluster left half-deleted). The run's own teardown may still be
 * deleting the cluster then: a deletion already in progress is waited for (harness/adapters/kind.ts),
 * and an object that cannot be removed is logged and the sweep goes on with the rest (exit 1).
 * It honours the configuration the run had: keep=on-failure/always keeps everything (an interrupted
 * run counts as failed), and a cluster created with reuse is kept.
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
const say = (line: string): void => void process.stdout.write(`${new Date().toISOString()} reaper: session ${session}: ${line}\n`);
const alive = (p: number): boolean => {
  try {
    process.kill(p, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
};
try {
  while (alive(pid)) await new Promise((r) => setTimeout(r, 1000));
  const config = loadConfig();
  if (config.keep !== "never") {
    say(`keep=${config.keep}, leaving everything`);
    process.exit(0);
  }
  const kept: string[] = [];
  const r = await sweep({ session }, config.reuse ? async (name) => void kept.push(name) : (name) => deleteCluster(name, { timeoutMs: config.timeouts.teardown }));
  const removed = r.removed.filter((x) => !kept.some((k) => x === `cluster ${k}`));
  say(`removed ${removed.length ? removed.join(", ") : "nothing"}${kept.length ? `; kept cluster ${kept.join(", ")} (reuse)` : ""}`);
  for (const e of r.errors) say(`could not remove ${e}`);
  if (r.errors.length) {
    say(`${r.errors.length} object(s) left; remove them with: npm run clean -- --all`);
    process.exitCode = 1;
  }
} catch (e) {
  say(`stopped: ${(e as Error).message ?? String(e)}`);
  process.exitCode = 1;
}
