/**
 * A stand-in for a suite process, used by the leak tests: it creates for a run a network, two hosts
 * (one with an anonymous volume and a named volume of the run mounted), and an image, then either
 * fails (mode "fail") or waits to be interrupted (mode "sigint"). The harness's own teardown paths
 * must leave nothing of the run behind. Mode "leak-volume" (the negative control of the leak test)
 * also mounts a volume kept on purpose and not labelled with the run, as the run-scoped mirrors once
 * did, and then fails.
 * After READY it waits for a line on stdin (sigint: for the signal).
 * usage: node leak-child.ts fail|sigint|leak-volume <run-id> [keep]
 */
import { LABEL_KEEP, LABEL_ROLE, createVolume, removeContainer, runContainer } from "../adapters/docker.ts";
import { parseConfig } from "../config.ts";
import { ensureImage } from "../images/forge-lib.ts";
import { World } from "../network/world.ts";
import { Run } from "../run.ts";
import { probeImage } from "./probe-image.ts";

const [mode, runId, keep = "never"] = process.argv.slice(2);
if (!["fail", "sigint", "leak-volume"].includes(mode ?? "") || !runId) {
  process.stderr.write("usage: node leak-child.ts fail|sigint|leak-volume <run-id> [keep]\n");
  process.exit(2);
}
const run = new Run(parseConfig({ runId, keep }));
run.installSignalHandlers();
try {
  const world = new World(run);
  const net = await world.network("leak");
  await world.host({ name: "client", role: "client", networks: [{ network: net.name }] });
  await world.router("router", [{ network: net.name }]);
  const data = await run.volume(`${run.id}-data`);
  const extra = mode === "leak-volume" ? `${run.id}-kept` : undefined;
  if (extra) await createVolume(extra, { [LABEL_ROLE]: "mirror-data", [LABEL_KEEP]: "true" });
  const store = `${run.id}-store`;
  await runContainer({
    name: store,
    image: await ensureImage("toolbox"),
    labels: run.labels("store"),
    cmd: ["sleep", "600"],
    volumes: [{ name: data, target: "/data" }, ...(extra ? [{ name: extra, target: "/kept" }] : [])],
    anonymousVolumes: ["/scratch"],
  });
  run.defer(`container ${store}`, () => removeContainer(store));
  await probeImage(run, "leak-probe");
  process.stdout.write("READY\n");
  // the leak test takes the run's footprint now; it says when to go on (a line on stdin)
  if (mode !== "sigint") {
    await new Promise((res) => process.stdin.once("data", res));
    process.stdin.destroy();
  }
  if (mode !== "sigint") throw new Error("deliberate failure inside a run");
  setInterval(() => {}, 60_000); // stay alive until SIGINT
  await new Promise(() => {});
} catch (e) {
  run.failed = true;
  process.stderr.write(`${(e as Error).message}\n`);
  process.exitCode = 1;
} finally {
  if (mode !== "sigint") await run.teardown();
}
