import { parseConfig } from "../config.ts";
import { ensureMirrors, pushImage } from "../registry/mirrors.ts";
import { splitRef } from "../registry/render.ts";
import { Run } from "../run.ts";
import { loadCatalogue } from "./catalogue.ts";
import { ensureImage } from "./forge-lib.ts";
import "./steps.ts";

/**
 * Push every catalogue image that has an upstream name into the mirror of its upstream host, so a
 * cluster pulls it exactly as it would from the internet. The mirrors started here are kept (they
 * serve the next runs); remove them with `npm run clean -- --all`.
 */
export async function pushCatalogue(network = "kind"): Promise<void> {
  const cat = loadCatalogue();
  const withRef = cat.images.filter((i) => i.ref);
  const hosts = [...new Set(withRef.map((i) => splitRef(i.ref!).host))];
  const run = new Run(parseConfig({ runId: `nc-forge-${Date.now().toString(36)}`, keep: "always" }));
  const mirrors = await ensureMirrors(run, { network, hosts: [...hosts, "local"] });
  for (const i of withRef) await pushImage(await ensureImage(i.name), i.ref!, mirrors);
  await run.teardown(); // keep=always: records what is kept
}
