/**
 * A stand-in for a suite process, used by the leak test: it creates a network and two hosts for a
 * run, then either fails (mode "fail") or waits to be interrupted (mode "sigint"). The harness's
 * own teardown paths must leave nothing of the run behind.
 * usage: node leak-child.ts fail|sigint <run-id> [keep]
 */
import { parseConfig } from "../config.ts";
import { World } from "../network/world.ts";
import { Run } from "../run.ts";

const [mode, runId, keep = "never"] = process.argv.slice(2);
const run = new Run(parseConfig({ runId, keep }));
run.installSignalHandlers();
try {
  const world = new World(run);
  const net = await world.network("leak");
  await world.host({ name: "client", role: "client", networks: [{ network: net.name }] });
  await world.router("router", [{ network: net.name }]);
  process.stdout.write("READY\n");
  if (mode === "fail") throw new Error("deliberate failure inside a run");
  setInterval(() => {}, 60_000); // stay alive until SIGINT
  await new Promise(() => {});
} catch (e) {
  run.failed = true;
  process.stderr.write(`${(e as Error).message}\n`);
  process.exitCode = 1;
} finally {
  if (mode === "fail") await run.teardown();
}
