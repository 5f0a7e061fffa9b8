import { createHash } from "node:crypto";
import { createReadStream, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { inspectContainer } from "../adapters/docker.ts";
import { HostExecutor } from "../exec/host.ts";
import type { Executor } from "../exec/types.ts";
import { log } from "../log.ts";
import { type Mirrors, pushImage } from "../registry/mirrors.ts";
import { mirrorName, splitRef } from "../registry/render.ts";
import { type BundleEntry, type BundleManifest, type Catalogue, bundleEntry, loadCatalogue } from "./catalogue.ts";
import { forgeBinDir } from "./node-forge.ts";
import { forgeCacheDir } from "./forge-lib.ts";
import { sha256 } from "./manifests.ts";

/**
 * Components that arrive as bundles (catalogue `bundles:`): their manifests are pinned by upstream
 * URL (or kustomize target) + sha256, their images by upstream reference. Where each comes from:
 *
 *  manifest: the local manifest cache (filled by `npm run bundle -- load` and by earlier fetches,
 *            keyed by sha256) → a bundle directory's manifests/<file> → the internet (the URL, or
 *            `kubectl kustomize <target>`). A text whose sha256 differs from the pin is refused
 *            wherever it came from (BundleIntegrityError), never skipped over.
 *  image:    the mirror of its upstream host already holds it (filled by `bundle load`, skopeo, or
 *            an earlier run) → a bundle directory's images/<archive>, `docker load`ed and pushed
 *            into that mirror → with strictOffline off, the nodes pull it through the mirror from
 *            the upstream registry.
 *
 * A bundle directory holds images/<archive> (+ optional images/SHA256SUMS, checked when present)
 * and manifests/<file>. Nothing of it is copied into this repository.
 */

export class BundleIntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BundleIntegrityError";
  }
}
export class BundleMissingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BundleMissingError";
  }
}

/** content-addressed cache of verified manifests: <dir>/<sha256> */
export function manifestCacheDir(): string {
  return process.env.NETCONFORM_MANIFEST_CACHE ?? join(forgeCacheDir(), "..", "manifests");
}

export function bundleDirs(dirs: string[], cwd = process.cwd()): string[] {
  return dirs.map((d) => resolve(cwd, d));
}

/** the catalogue manifest of that name, with the component carrying it */
export function bundleManifest(name: string, cat: Catalogue = loadCatalogue()): { bundle: BundleEntry; manifest: BundleManifest } {
  for (const b of cat.bundles) {
    const m = b.manifests.find((x) => x.name === name);
    if (m) return { bundle: b, manifest: m };
  }
  throw new Error(`catalogue has no bundle manifest named "${name}" (known: ${cat.bundles.flatMap((b) => b.manifests.map((m) => m.name)).join(", ") || "none"})`);
}

export const upstreamOf = (m: BundleManifest): string => m.url ?? `kubectl kustomize '${m.kustomize}'`;

/** The text, or a BundleIntegrityError naming both digests and the source. */
export function verifyBundleManifest(m: BundleManifest, text: string, source: string): string {
  const got = sha256(text);
  if (got !== m.sha256)
    throw new BundleIntegrityError(
      `manifest ${m.name}: ${source} has sha256 ${got}, but the catalogue pins ${m.sha256} (upstream: ${upstreamOf(m)}): refusing to apply it`,
    );
  return text;
}

export type ManifestSource = "cache" | "bundle" | "online";

/** Where the manifest is on this machine without the internet (not read, not verified): cache, then bundles. */
export function localManifest(m: BundleManifest, dirs: string[]): { path: string; source: "cache" | "bundle" } | undefined {
  const cached = join(manifestCacheDir(), m.sha256);
  if (existsSync(cached)) return { path: cached, source: "cache" };
  for (const d of dirs) {
    const p = join(d, "manifests", m.file);
    if (existsSync(p)) return { path: p, source: "bundle" };
  }
  return undefined;
}

export function cacheManifest(m: BundleManifest, text: string): string {
  verifyBundleManifest(m, text, "the text to cache");
  const dir = manifestCacheDir();
  mkdirSync(dir, { recursive: true });
  const p = join(dir, m.sha256);
  const tmp = `${p}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, p);
  return p;
}

/** The manifest from the internet: its URL, or its kustomize target rendered by the forged kubectl (or one on PATH). */
export async function fetchManifest(m: BundleManifest, timeoutMs = 20_000, exec: Executor = new HostExecutor()): Promise<string> {
  if (m.url) {
    const r = await fetch(m.url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!r.ok) throw new Error(`GET ${m.url}: HTTP ${r.status}`);
    return await r.text();
  }
  const forged = join(forgeBinDir(), "kubectl");
  const kubectl = existsSync(forged) ? forged : "kubectl";
  const r = await exec.run([kubectl, "kustomize", m.kustomize!], { timeoutMs: Math.max(timeoutMs, 120_000) });
  return r.stdout;
}

/**
 * The verified text of a catalogue bundle manifest (see the file comment for the order). A copy
 * found in a bundle or fetched is cached for the next runs. Throws BundleIntegrityError on a
 * digest mismatch, BundleMissingError when no source has it.
 */
export async function loadBundleManifest(name: string, o: { dirs: string[]; online?: boolean; cat?: Catalogue }): Promise<{ text: string; source: ManifestSource; path?: string }> {
  const { manifest: m } = bundleManifest(name, o.cat);
  const local = localManifest(m, o.dirs);
  if (local) {
    const text = verifyBundleManifest(m, readFileSync(local.path, "utf8"), local.path);
    if (local.source === "bundle") cacheManifest(m, text);
    return { text, source: local.source, path: local.path };
  }
  if (o.online === false) throw new BundleMissingError(`manifest ${m.name}: ${missingManifestText(m, o.dirs)}`);
  let text: string;
  try {
    text = await fetchManifest(m);
  } catch (e) {
    throw new BundleMissingError(`manifest ${m.name}: ${missingManifestText(m, o.dirs)}, and fetching it failed: ${(e as Error).message}`);
  }
  verifyBundleManifest(m, text, upstreamOf(m));
  cacheManifest(m, text);
  return { text, source: "online" };
}

function missingManifestText(m: BundleManifest, dirs: string[]): string {
  return `no bundle holds manifests/${m.file} (${dirs.length ? `looked in ${dirs.join(", ")}` : "no bundle directory given: NETCONFORM_BUNDLES is unset"}) and it is not in the manifest cache`;
}

/**
 * Rewrite the manifest's pinned image references (upstream's floating tags → the release): every
 * `from` must occur as an image: value (else the pin no longer matches the file) and no image of
 * the same repository may be left at another tag than the release.
 */
export function renderImages(m: BundleManifest, text: string): string {
  let out = text;
  for (const [from, to] of Object.entries(m.images)) {
    const re = new RegExp(`(^\\s*-?\\s*image:\\s*["']?)${from.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}(["']?\\s*$)`, "gm");
    let n = 0;
    out = out.replace(re, (_, a: string, b: string) => {
      n++;
      return `${a}${to}${b}`;
    });
    if (n === 0) throw new Error(`manifest ${m.name}: no "image: ${from}" to render as ${to}`);
  }
  const repos = new Map(Object.values(m.images).map((to) => [to.replace(/:[^:/]+$/, ""), to]));
  for (const mm of out.matchAll(/^\s*-?\s*image:\s*["']?([^\s"']+)["']?\s*$/gm)) {
    const ref = mm[1]!;
    const want = repos.get(ref.replace(/:[^:/]+$/, "").replace(/@sha256:[0-9a-f]+$/, ""));
    if (want && ref !== want) throw new Error(`manifest ${m.name}: image ${ref} left unrendered (the release is ${want})`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// images

export type BundleImage = BundleEntry["images"][number];

/** the bundle directory and path of an image's archive, when a bundle carries it */
export function findArchive(img: BundleImage, dirs: string[]): { dir: string; path: string } | undefined {
  for (const dir of dirs) {
    const path = join(dir, "images", img.archive);
    if (existsSync(path)) return { dir, path };
  }
  return undefined;
}

export async function fileSha256(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest("hex");
}

/** `sha256  name` lines of a SHA256SUMS file (sha256sum's format; a '*' before the name is binary mode) */
export function parseSha256Sums(text: string, source = "SHA256SUMS"): Map<string, string> {
  const out = new Map<string, string>();
  text.split("\n").forEach((l, i) => {
    if (l.trim() === "" || l.startsWith("#")) return;
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(l.trim());
    if (!m) throw new BundleIntegrityError(`${source} line ${i + 1} is not "<sha256>  <file>": ${JSON.stringify(l.slice(0, 120))}`);
    out.set(m[2]!, m[1]!);
  });
  return out;
}

/** When the bundle lists the archive in images/SHA256SUMS, its digest must match (a bundle damaged in transit). */
export async function verifyArchive(dir: string, img: BundleImage): Promise<{ sha256: string; listed: boolean }> {
  const path = join(dir, "images", img.archive);
  const got = await fileSha256(path);
  const sums = join(dir, "images", "SHA256SUMS");
  if (!existsSync(sums)) return { sha256: got, listed: false };
  const want = parseSha256Sums(readFileSync(sums, "utf8"), sums).get(img.archive);
  if (want === undefined) return { sha256: got, listed: false };
  if (want !== got) throw new BundleIntegrityError(`image archive ${path} has sha256 ${got}, but ${sums} lists ${want}: refusing to load it`);
  return { sha256: got, listed: true };
}

/** Does the mirror of the image's host hold it (manifest HEAD)? Undefined when that mirror is not running. */
export async function mirrorHolds(ref: string, mirrors?: Mirrors): Promise<boolean | undefined> {
  const { host, path, tag } = splitRef(ref);
  let fromHost = mirrors?.byHost.get(host)?.fromHost;
  if (!fromHost) {
    const c = await inspectContainer(mirrorName(host)).catch(() => undefined);
    if (!c || c.state !== "running" || !c.ports[5000]) return undefined;
    fromHost = `127.0.0.1:${c.ports[5000]}`;
  }
  try {
    const r = await fetch(`http://${fromHost}/v2/${path}/manifests/${tag}`, {
      method: "HEAD",
      headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json" },
      signal: AbortSignal.timeout(5_000),
    });
    return r.status === 200;
  } catch {
    return undefined;
  }
}

/** `docker load` an archive; the image must then exist under its catalogue reference. */
export async function loadArchive(path: string, ref: string, exec: Executor = new HostExecutor()): Promise<void> {
  const r = await exec.run(["docker", "load", "-i", path], { timeoutMs: 600_000 });
  const loaded = [...r.stdout.matchAll(/Loaded image(?: ID)?: (\S+)/g)].map((m) => m[1]!);
  const there = await exec.run(["docker", "image", "inspect", "--format", "{{.Id}}", ref], { allowFailure: true });
  if (there.exitCode !== 0) throw new BundleIntegrityError(`image archive ${path} does not carry ${ref} (it loaded: ${loaded.join(", ") || "nothing named"})`);
}

export interface ImagePlacement {
  ref: string;
  how: "in mirror" | "loaded from bundle" | "upstream through the mirror";
  seconds: number;
  archive?: string;
}

/**
 * Make every image of the named components pullable by the nodes through the mirrors: already in
 * the mirror → nothing; else from a bundle archive (SHA256SUMS checked, docker load, push into
 * the mirror of its upstream host); else, with strictOffline off, the mirror falls back to the
 * upstream registry; else BundleMissingError naming what is missing.
 */
export async function ensureBundleImages(components: string[], mirrors: Mirrors, o: { dirs: string[]; strictOffline: boolean; exec?: Executor; cat?: Catalogue }): Promise<ImagePlacement[]> {
  const exec = o.exec ?? new HostExecutor();
  const out: ImagePlacement[] = [];
  for (const c of components) {
    for (const img of bundleEntry(c, o.cat).images) {
      const t0 = Date.now();
      if (await mirrorHolds(img.ref, mirrors)) {
        out.push({ ref: img.ref, how: "in mirror", seconds: (Date.now() - t0) / 1000 });
        continue;
      }
      const a = findArchive(img, o.dirs);
      if (a) {
        await verifyArchive(a.dir, img);
        await loadArchive(a.path, img.ref, exec);
        await pushImage(img.ref, img.ref, mirrors, exec);
        out.push({ ref: img.ref, how: "loaded from bundle", seconds: (Date.now() - t0) / 1000, archive: a.path });
        continue;
      }
      if (!o.strictOffline) {
        out.push({ ref: img.ref, how: "upstream through the mirror", seconds: 0 });
        continue;
      }
      throw new BundleMissingError(`image ${img.ref}: ${missingImageText(img, o.dirs)}`);
    }
  }
  for (const p of out) log.info(`bundle image ${p.ref}: ${p.how}${p.archive ? ` (${p.archive})` : ""} in ${p.seconds.toFixed(1)} s`);
  return out;
}

function missingImageText(img: BundleImage, dirs: string[]): string {
  return `not in the mirror of ${splitRef(img.ref).host}, no bundle holds images/${img.archive} (${dirs.length ? `looked in ${dirs.join(", ")}` : "NETCONFORM_BUNDLES is unset"}), and strictOffline forbids the upstream registry`;
}

// ---------------------------------------------------------------------------------------------
// availability (the suites' gate)

export interface Availability {
  component: string;
  version: string;
  manifests: Array<{ name: string; file: string; upstream: string; source?: ManifestSource; problem?: string }>;
  images: Array<{ ref: string; archive: string; source?: "mirror" | "bundle" | "upstream" }>;
}

/**
 * What is missing for these components, worded for a person, or undefined when every manifest and
 * image has a source. Pure: the caller gathered `avail` (bundleAvailability).
 */
export function missingComponents(avail: Availability[], dirs: string[]): string | undefined {
  const parts: string[] = [];
  for (const a of avail) {
    const bad = a.manifests.filter((m) => m.problem);
    const noManifest = a.manifests.filter((m) => !m.source && !m.problem);
    const noImage = a.images.filter((i) => !i.source);
    const what = [
      ...bad.map((m) => m.problem!),
      ...noManifest.map((m) => `manifest ${m.file} (offline: no bundle holds it, and ${m.upstream} is unreachable)`),
      ...noImage.map((i) => `image ${i.ref} (not in its mirror; no bundle holds images/${i.archive})`),
    ];
    if (what.length) parts.push(`${a.component} ${a.version}: ${what.join("; ")}`);
  }
  if (!parts.length) return undefined;
  const where = dirs.length ? `bundle directories ${dirs.join(", ")}` : "NETCONFORM_BUNDLES is unset";
  return `${parts.join(". ")} (${where}). Give a bundle directory (images/<archive>, manifests/<file>) with NETCONFORM_BUNDLES=<dir>, load one with \`npm run bundle -- load <dir>\`, or run where the internet is reachable`;
}

/** Can the machine reach this upstream? One request, a short timeout; false on any error. */
export async function reachable(m: BundleManifest, timeoutMs = 4_000): Promise<boolean> {
  const url = m.url ?? "https://github.com/";
  try {
    const r = await fetch(url, { method: "HEAD", signal: AbortSignal.timeout(timeoutMs) });
    return r.status < 500;
  } catch {
    return false;
  }
}

/**
 * Where each manifest and image of the components would come from, found without changing
 * anything: local manifests are read and verified (a mismatch is a problem, reported), archives
 * only looked for, mirrors asked, the internet probed only for what is not local.
 */
export async function bundleAvailability(
  components: string[],
  o: { dirs: string[]; strictOffline: boolean; probe?: (m: BundleManifest) => Promise<boolean>; holds?: (ref: string) => Promise<boolean | undefined>; cat?: Catalogue },
): Promise<Availability[]> {
  const probe = o.probe ?? ((m: BundleManifest) => reachable(m));
  const holds = o.holds ?? ((ref: string) => mirrorHolds(ref));
  const out: Availability[] = [];
  for (const c of components) {
    const b = bundleEntry(c, o.cat);
    const a: Availability = { component: b.name, version: b.version, manifests: [], images: [] };
    for (const m of b.manifests) {
      const row: Availability["manifests"][number] = { name: m.name, file: m.file, upstream: m.url ?? m.kustomize! };
      const local = localManifest(m, o.dirs);
      if (local) {
        try {
          verifyBundleManifest(m, readFileSync(local.path, "utf8"), local.path);
          row.source = local.source;
        } catch (e) {
          row.problem = (e as Error).message;
        }
      } else if (await probe(m)) row.source = "online";
      a.manifests.push(row);
    }
    for (const img of b.images) {
      const row: Availability["images"][number] = { ref: img.ref, archive: img.archive };
      if (findArchive(img, o.dirs)) row.source = "bundle";
      else if (await holds(img.ref)) row.source = "mirror";
      else if (!o.strictOffline) row.source = "upstream";
      a.images.push(row);
    }
    out.push(a);
  }
  return out;
}

/** a directory given as a bundle must exist and look like one */
export function checkBundleDir(dir: string): void {
  if (!existsSync(dir)) throw new BundleMissingError(`bundle directory ${dir} does not exist`);
  if (!statSync(dir).isDirectory()) throw new BundleMissingError(`bundle ${dir} is not a directory`);
  if (!existsSync(join(dir, "images")) && !existsSync(join(dir, "manifests"))) throw new BundleMissingError(`bundle directory ${dir} has neither images/ nor manifests/`);
}
