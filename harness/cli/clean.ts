/**
 * npm run clean -- <run-id>…            remove everything labelled with those run ids (and their kind clusters)
 * npm run clean -- --all                remove every netconform run's objects, the shared mirror registries
 *                                       and their data volumes (not the forge's images, not the "kind" network)
 * npm run clean -- --all --dry-run      say what --all would remove, remove nothing
 *
 * Every removed object is printed (containers, networks, volumes, images, clusters); an object that
 * cannot be removed is printed too and the rest is still removed (exit 1).
 */
import { LABEL_ROLE, LABEL_RUN, dockerode, listByLabel, removeContainer, removeVolume, volumeLabels } from "../adapters/docker.ts";
import { deleteCluster } from "../adapters/kind.ts";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../config.ts";
import { LABEL_CLUSTER, sweep } from "../run.ts";
import { answerHelp, cliErrors } from "./main.ts";

cliErrors("clean");

const USAGE = "usage: npm run clean -- <run-id>… | --all [--dry-run]";
answerHelp(USAGE);
const args = process.argv.slice(2);
const unknown = args.filter((a) => a.startsWith("-") && a !== "--all" && a !== "--dry-run");
const all = args.includes("--all");
const dryRun = args.includes("--dry-run");
let ids = args.filter((a) => !a.startsWith("-"));
if (unknown.length || (!all && !ids.length) || (dryRun && !all)) {
  process.stderr.write(`${unknown.length ? `clean: unknown option ${unknown.join(", ")}\n` : ""}${dryRun && !all ? "clean: --dry-run goes with --all\n" : ""}${USAGE}\n`);
  process.exit(2);
}

const removed: string[] = [];
const errors: string[] = [];
const out = (line: string): void => void process.stdout.write(`${line}\n`);

try {
  if (all) {
    const labelled = await listByLabel(LABEL_RUN);
    const volumeRuns = await Promise.all(labelled.volumes.map(async (v) => (await volumeLabels(v))?.[LABEL_RUN]));
    const d = await dockerode();
    const imageRuns = (await d.listImages({ filters: JSON.stringify({ label: [LABEL_RUN] }) })).map((i) => i.Labels?.[LABEL_RUN]);
    ids = [...new Set([...ids, ...[...labelled.containers, ...labelled.networks].map((o) => o.labels[LABEL_RUN]), ...volumeRuns, ...imageRuns].filter((x): x is string => Boolean(x)))].sort();
  }
  if (dryRun) {
    for (const id of ids) {
      const l = await listByLabel(LABEL_RUN, id);
      const clusters = (await Promise.all(l.volumes.map(async (v) => (await volumeLabels(v))?.[LABEL_CLUSTER]))).filter(Boolean).map((c) => `cluster ${c}`);
      const objs = [...clusters, ...l.containers.map((c) => `container ${c.name}`), ...l.networks.map((n) => `network ${n.name}`), ...l.volumes.map((v) => `volume ${v}`), ...l.images.map((i) => `image ${i}`)];
      out(`${id}: would remove ${objs.join(", ") || "nothing"}`);
    }
  } else {
    for (const id of ids) {
      const r = await sweep({ run: id }, deleteCluster, true);
      removed.push(...r.removed);
      errors.push(...r.errors);
      out(`${id}: removed ${r.removed.length ? r.removed.join(", ") : "nothing"}`);
      // its folder in reports/runs is no longer protected from pruning
      rmSync(join(loadConfig().artifactsDir, id, "KEPT"), { force: true });
      for (const e of r.errors) out(`${id}: could not remove ${e}`);
    }
  }
  if (all) {
    // the shared mirrors (machine infrastructure, kept by every run) and their data volumes, including
    // those of run-scoped mirrors from before they were labelled with their run
    const mirrors = (await listByLabel(LABEL_ROLE, "mirror")).containers.map((c) => c.name);
    const data = (await listByLabel(LABEL_ROLE, "mirror-data")).volumes;
    if (dryRun) {
      out(`mirrors: would remove ${mirrors.map((m) => `container ${m}`).join(", ") || "no container"}`);
      out(`mirror data: would remove ${data.map((v) => `volume ${v}`).join(", ") || "no volume"}`);
    } else {
      for (const [what, fn] of [
        ...mirrors.map((m) => [`container ${m}`, () => removeContainer(m)] as const),
        ...data.map((v) => [`volume ${v}`, () => removeVolume(v)] as const),
      ]) {
        try {
          await fn();
          removed.push(what);
          out(`mirrors: removed ${what}`);
        } catch (e) {
          errors.push(`${what}: ${(e as Error).message.split("\n")[0]}`);
          out(`mirrors: could not remove ${what}: ${(e as Error).message.split("\n")[0]}`);
        }
      }
    }
  }
  if (!dryRun) {
    const count = (kind: string) => removed.filter((r) => r.startsWith(`${kind} `)).length;
    const plural = (kind: string) => `${count(kind)} ${kind}${count(kind) === 1 ? "" : "s"}`;
    out(`clean: removed ${plural("cluster")}, ${plural("container")}, ${plural("network")}, ${plural("volume")}, ${plural("image")}${errors.length ? `; ${errors.length} could not be removed (see above)` : ""}`);
  }
  if (errors.length) process.exitCode = 1;
} catch (e) {
  process.stderr.write(`clean: ${(e as Error).message}\n`);
  process.exitCode = 1;
}
