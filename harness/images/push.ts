import { parseConfig } from "../config.ts";
import { type Mirrors, ensureMirrors, isLocalRef, pushImage } from "../registry/mirrors.ts";
import { DEFAULT_UPSTREAMS, splitRef } from "../registry/render.ts";
import { Run } from "../run.ts";
import { loadCatalogue } from "./catalogue.ts";
import { ensureImage } from "./forge-lib.ts";
import "./steps.ts";

/**
 * Push every catalogue image that has an upstream name into the mirror of its upstream host, so a
 * cluster pulls it exactly as it would from the internet. The mirrors started here are kept (they
 * serve the next runs); remove them with `npm run clean -- --all`.
 */
/** Start the mirrors (kept), print where each listens; returns them. */
export async function startMirrors(network = "kind"): Promise<Mirrors> {
  const cat = loadCatalogue();
  const hosts = [...new Set([...DEFAULT_UPSTREAMS, ...cat.images.filter((i) => i.ref && !isLocalRef(i.ref)).map((i) => splitRef(i.ref!).host)])];
  const run = new Run(parseConfig({ runId: `nc-mirrors-${Date.now().toString(36)}`, keep: "always" }));
  const mirrors = await ensureMirrors(run, { network, hosts: [...hosts, "local"] });
  for (const m of mirrors.byHost.values()) process.stdout.write(`mirror ${m.host.padEnd(18)} ${m.container.padEnd(28)} push to ${m.fromHost}\n`);
  return mirrors;
}

export async function pushCatalogue(network = "kind"): Promise<void> {
  const mirrors = await startMirrors(network);
  for (const i of loadCatalogue().images.filter((x) => x.ref)) await pushImage(await ensureImage(i.name), i.ref!, mirrors);
}
