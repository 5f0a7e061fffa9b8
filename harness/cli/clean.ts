/**
 * npm run clean -- <run-id>…   remove everything labelled with those run ids (and their kind clusters)
 * npm run clean -- --all       remove every netconform run's objects and the shared mirror registries
 *                              (not the image cache, not the mirrors' data volumes, not the "kind" network)
 */
import { LABEL_ROLE, LABEL_RUN, listByLabel, removeContainer } from "../adapters/docker.ts";
import { deleteCluster } from "../adapters/kind.ts";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../config.ts";
import { sweep } from "../run.ts";
import { cliErrors } from "./main.ts";

cliErrors("clean");

const args = process.argv.slice(2);
let ids = args.filter((a) => !a.startsWith("--"));
if (args.includes("--all")) {
  const all = await listByLabel(LABEL_RUN);
  ids = [...new Set([...all.containers, ...all.networks].map((o) => o.labels[LABEL_RUN]!).filter(Boolean))];
}
if (args.includes("--all")) {
  const mirrors = (await listByLabel(LABEL_ROLE, "mirror")).containers;
  for (const m of mirrors) await removeContainer(m.name);
  process.stdout.write(`mirrors: removed ${mirrors.map((m) => m.name).join(", ") || "none"}\n`);
  if (!ids.length) process.exit(0);
}
if (!ids.length) {
  process.stderr.write("usage: npm run clean -- <run-id>… | --all\n");
  process.exit(2);
}
for (const id of ids) {
  const removed = await sweep({ run: id }, deleteCluster, true);
  process.stdout.write(`${id}: removed ${removed.length ? removed.join(", ") : "nothing"}\n`);
  // its folder in reports/runs is no longer protected from pruning
  rmSync(join(loadConfig().artifactsDir, id, "KEPT"), { force: true });
}
