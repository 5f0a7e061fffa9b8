/**
 * npm run forge [-- name …]: build every catalogue image missing on this machine (or the named ones)
 * from Debian packages and pinned Go modules, then print what was built and what was cached.
 * A full forge (no names) also starts the mirrors and pushes every image that has an upstream name
 * into them (--no-push skips that; --push forces it when names are given).
 * With --mirrors-only, build nothing: start the mirrors and print where to push (skopeo, docker push).
 */
import { loadCatalogue } from "../images/catalogue.ts";
import { type ForgeRecord, ensureImage } from "../images/forge-lib.ts";
import { ensureHostTools as ensureForgeBinaries } from "../images/node-forge.ts";
import "../images/steps.ts";
import { requireDocker } from "../preflight/docker.ts";
import { FORGE_TOOLS, ensureHostTools } from "../preflight/host-tools.ts";

import { cliErrors } from "./main.ts";

// expected failures (a missing tool, no engine, a failed build) end with one message, not a stack trace
const fail = cliErrors("forge");

const args = process.argv.slice(2);
// a full forge fills the mirrors too (every image under its upstream name); naming images, or
// --no-push, only builds
const push = args.includes("--push") || (!args.includes("--no-push") && args.filter((a) => !a.startsWith("--")).length === 0);
if (args.includes("--help") || args.includes("-h")) {
  process.stdout.write("usage: npm run forge [-- image…] [--no-push|--push] [--mirrors-only]\n");
  process.exit(0);
}
await requireDocker().catch(fail);
if (args.includes("--mirrors-only")) {
  const { startMirrors } = await import("../images/push.ts");
  await startMirrors();
  process.exit(0);
}
const names = args.filter((a) => !a.startsWith("--"));
const cat = loadCatalogue();
for (const n of names) if (!cat.images.some((i) => i.name === n)) {
  process.stderr.write(`forge: unknown image "${n}"; the catalogue has: ${cat.images.map((i) => i.name).join(", ")}\n`);
  process.exit(2);
}
// the host programs the forge runs itself: installed here (Debian/Ubuntu, root) or named
await ensureHostTools(FORGE_TOOLS, { go: true }).catch(fail);
const t0 = Date.now();
const records: ForgeRecord[] = [];
for (const img of cat.images) if (!names.length || names.includes(img.name)) await ensureImage(img.name, { records });
// the host tools the harness runs (kind, kubectl), built from the same pinned modules
if (!names.length) process.stdout.write(`forge: host tools in ${await ensureForgeBinaries()}\n`);
const seen = new Set<string>();
process.stdout.write("\nimage                  tag                                   built   seconds  size MB\n");
for (const r of records) {
  if (seen.has(r.tag)) continue;
  seen.add(r.tag);
  process.stdout.write(`${r.name.padEnd(22)} ${r.tag.padEnd(37)} ${(r.built ? "yes" : "cached").padEnd(7)} ${r.seconds.toFixed(1).padStart(7)}  ${r.sizeMB ?? ""}\n`);
}
process.stdout.write(`forge: ${records.filter((r) => r.built).length} built, ${seen.size - records.filter((r) => r.built).length} cached, ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
if (push) {
  const { pushCatalogue } = await import("../images/push.ts");
  await pushCatalogue();
}
