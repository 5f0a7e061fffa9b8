/**
 * npm run bundle -- load <dir>…   the air-gapped way in: every catalogue bundle component's image
 *                                 archive found in <dir>/images is checked (SHA256SUMS, when the
 *                                 bundle has one), `docker load`ed and pushed into the mirror of its
 *                                 upstream host; every manifest found in <dir>/manifests is verified
 *                                 against its pinned sha256 and kept in the manifest cache.
 * npm run bundle -- status [dir…]  where each component's manifests and images would come from.
 *
 * Exit codes: 0 done; 2 bad input (no such directory, nothing the catalogue pins in it, a sha256
 * that differs from the pin or from the bundle's SHA256SUMS); 1 anything else (docker, mirrors).
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadConfig } from "../config.ts";
import { loadCatalogue } from "../images/catalogue.ts";
import {
  BundleIntegrityError, BundleMissingError, bundleAvailability, bundleDirs, cacheManifest, checkBundleDir, findArchive, loadArchive, verifyArchive,
  verifyBundleManifest,
} from "../images/bundles.ts";
import { pushImage } from "../registry/mirrors.ts";
import { answerHelp } from "./main.ts";

const USAGE = "usage: npm run bundle -- load <dir>…   |   npm run bundle -- status [<dir>…]";

function fail(code: number, message: string): never {
  process.stderr.write(`bundle: ${message}\n`);
  process.exit(code);
}

async function load(dirs: string[]): Promise<void> {
  if (dirs.length === 0) fail(2, `load needs a bundle directory\n${USAGE}`);
  const cat = loadCatalogue();
  const resolved = dirs.map((d) => resolve(d));
  for (const d of resolved) checkBundleDir(d);
  // verify everything first: a bad bundle changes nothing
  const manifests: Array<{ component: string; name: string; path: string; text: string }> = [];
  const images: Array<{ component: string; ref: string; dir: string; path: string; sha256: string; listed: boolean }> = [];
  for (const b of cat.bundles) {
    for (const m of b.manifests)
      for (const d of resolved) {
        const p = join(d, "manifests", m.file);
        let text: string;
        try {
          text = readFileSync(p, "utf8");
        } catch {
          continue;
        }
        manifests.push({ component: b.name, name: m.name, path: p, text: verifyBundleManifest(m, text, p) });
        break;
      }
    for (const img of b.images) {
      const a = findArchive(img, resolved);
      if (a) images.push({ component: b.name, ref: img.ref, dir: a.dir, path: a.path, ...(await verifyArchive(a.dir, img)) });
    }
  }
  if (manifests.length + images.length === 0)
    fail(2, `${resolved.join(", ")} holds nothing the catalogue pins (looked for ${cat.bundles.flatMap((b) => [...b.manifests.map((m) => `manifests/${m.file}`), ...b.images.map((i) => `images/${i.archive}`)]).join(", ")})`);
  for (const m of manifests) {
    const p = cacheManifest(cat.bundles.flatMap((b) => b.manifests).find((x) => x.name === m.name)!, m.text);
    process.stdout.write(`manifest ${m.name.padEnd(22)} ${m.component.padEnd(8)} sha256 ok, cached as ${p}\n`);
  }
  if (images.length) {
    const { startMirrors } = await import("../images/push.ts");
    const mirrors = await startMirrors();
    for (const i of images) {
      const t0 = Date.now();
      await loadArchive(i.path, i.ref);
      await pushImage(i.ref, i.ref, mirrors);
      process.stdout.write(`image    ${i.ref.padEnd(48)} ${i.listed ? "SHA256SUMS ok" : "not in SHA256SUMS"}, loaded and pushed in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    }
  }
  for (const b of cat.bundles) {
    const lacking = [...b.manifests.filter((m) => !manifests.some((x) => x.name === m.name)).map((m) => `manifest ${m.file}`), ...b.images.filter((i) => !images.some((x) => x.ref === i.ref)).map((i) => `image ${i.archive}`)];
    if (lacking.length) process.stdout.write(`note: the bundle has no ${lacking.join(", ")} for ${b.name} ${b.version}\n`);
  }
}

async function status(dirs: string[]): Promise<void> {
  const config = loadConfig();
  const all = bundleDirs(dirs.length ? dirs : config.bundles);
  const cat = loadCatalogue();
  const avail = await bundleAvailability(cat.bundles.map((b) => b.name), { dirs: all, strictOffline: config.strictOffline });
  for (const a of avail) {
    process.stdout.write(`${a.component} ${a.version}\n`);
    for (const m of a.manifests) process.stdout.write(`  manifest ${m.file}: ${m.problem ?? m.source ?? "MISSING"}\n`);
    for (const i of a.images) process.stdout.write(`  image    ${i.ref}: ${i.source ?? "MISSING"}\n`);
  }
}

answerHelp(USAGE);
const [verb, ...rest] = process.argv.slice(2);
try {
  if (verb === "load") await load(rest);
  else if (verb === "status") await status(rest);
  else fail(2, verb ? `unknown verb "${verb}"\n${USAGE}` : USAGE);
} catch (e) {
  if (e instanceof BundleIntegrityError || e instanceof BundleMissingError) fail(2, e.message);
  fail(1, e instanceof Error ? e.message : String(e));
}
