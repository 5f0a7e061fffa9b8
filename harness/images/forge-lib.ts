import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join, relative } from "node:path";
import { HostExecutor } from "../exec/host.ts";
import type { Executor } from "../exec/types.ts";
import { CATALOGUE_DIR, type Catalogue, type ImageEntry, imageEntry, loadCatalogue } from "./catalogue.ts";

/**
 * Offline image forge primitives: every image is built here from Debian packages (debootstrap +
 * docker import) or FROM such an image, and tagged netconform/<name>:<input hash>. The hash covers
 * the catalogue entry, its parents' hashes and every file of its build context, so a second forge
 * with nothing changed finds every tag present and does no work.
 */
export const FORGE_LABEL = "io.netconform.forge";
/** image repository prefix of forged images; another prefix gives a separate, cold cache (for measuring) */
export const FORGE_REPO = process.env.NETCONFORM_FORGE_REPO ?? "netconform";
export const DEBIAN_MIRROR = process.env.NETCONFORM_DEBIAN_MIRROR ?? "http://deb.debian.org/debian";

/** the project's cache directory `sub` ($XDG_CACHE_HOME or ~/.cache, then netconform/<sub>) */
export function cacheDir(sub: string): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "netconform", sub);
}

export function forgeCacheDir(): string {
  return cacheDir("forge");
}

/** Steps for `build.kind: custom` entries, registered by the modules that implement them. */
export type CustomStep = (ctx: { entry: ImageEntry; tag: string; hash: string; baseTag?: string; exec: Executor; log: (m: string) => void }) => Promise<void>;
/** What a custom step's output depends on, for one catalogue entry (hashed into the entry's tag). */
export type StepInputs = (entry: ImageEntry) => string;
const customSteps = new Map<string, { inputs: StepInputs; build: CustomStep }>();
export function registerCustomStep(step: string, inputs: StepInputs, build: CustomStep): void {
  customSteps.set(step, { inputs, build });
}

export function hashFiles(dir: string): string {
  const h = createHash("sha256");
  const walk = (d: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else h.update(`${relative(dir, p)}\0`).update(readFileSync(p)).update("\0");
    }
  };
  walk(dir);
  return h.digest("hex");
}

export function inputHash(name: string, cat: Catalogue = loadCatalogue()): string {
  const e = imageEntry(name, cat);
  const h = createHash("sha256").update(JSON.stringify(e));
  const b = e.build;
  if (b.kind === "dockerfile") {
    for (const d of [b.from, ...b.uses]) h.update(inputHash(d, cat));
    h.update(hashFiles(join(CATALOGUE_DIR, b.dir)));
  } else if (b.kind === "custom") {
    if (b.from) h.update(inputHash(b.from, cat));
    const s = customSteps.get(b.step);
    // an unregistered step would hash differently from the forge's: never guess a tag
    if (!s) throw new Error(`forge: no step "${b.step}" is registered for image ${name}; import harness/images/steps.ts first`);
    h.update(s.inputs(e));
  }
  return h.digest("hex").slice(0, 16);
}

export function localTag(name: string, cat: Catalogue = loadCatalogue()): string {
  return `${FORGE_REPO}/${name}:${inputHash(name, cat)}`;
}

export async function imageExists(tag: string, exec: Executor = new HostExecutor()): Promise<boolean> {
  const r = await exec.run(["docker", "image", "inspect", "--format", "{{.Id}}", tag], { allowFailure: true });
  return r.exitCode === 0;
}

export interface ForgeRecord { name: string; tag: string; built: boolean; seconds: number; sizeMB?: number }

/** Make sure the image (and what it builds from) exists; build only what is missing. */
export async function ensureImage(
  name: string,
  opts: { exec?: Executor; log?: (m: string) => void; records?: ForgeRecord[]; cat?: Catalogue } = {},
): Promise<string> {
  const exec = opts.exec ?? new HostExecutor();
  const log = opts.log ?? ((m: string) => process.stderr.write(`forge: ${m}\n`));
  const cat = opts.cat ?? loadCatalogue();
  const e = imageEntry(name, cat);
  const tag = localTag(name, cat);
  const parents = e.build.kind === "dockerfile" ? [e.build.from, ...e.build.uses] : e.build.kind === "custom" && e.build.from ? [e.build.from] : [];
  const parentTags: Record<string, string> = {};
  for (const p of parents) parentTags[p] = await ensureImage(p, { ...opts, exec, log, cat });
  const t0 = Date.now();
  if (await imageExists(tag, exec)) {
    opts.records?.push({ name, tag, built: false, seconds: (Date.now() - t0) / 1000 });
    return tag;
  }
  log(`building ${tag}`);
  const hash = tag.split(":")[1]!;
  const labels = ["--label", `${FORGE_LABEL}=1`, "--label", `${FORGE_LABEL}.name=${name}`, "--label", `${FORGE_LABEL}.inputs=${hash}`];
  const b = e.build;
  if (b.kind === "debootstrap") {
    mkdirSync(forgeCacheDir(), { recursive: true });
    const work = mkdtempSync(join(forgeCacheDir(), `rootfs-${name}-`));
    try {
      const args = ["debootstrap", `--variant=${b.variant}`];
      if (b.packages.length) args.push(`--include=${b.packages.join(",")}`);
      await exec.run([...args, b.suite, join(work, "rootfs"), DEBIAN_MIRROR], { timeoutMs: 1_200_000 });
      // keep the image small and free of host-specific state
      await exec.run(["sh", "-c", `cd ${join(work, "rootfs")} && rm -rf var/cache/apt/archives/*.deb var/lib/apt/lists/* var/log/*.log tmp/*`]);
      const changes = ["--change", 'CMD ["/bin/bash"]', ...labels.flatMap((l, i) => (i % 2 ? ["--change", `LABEL ${l}`] : []))];
      await exec.run(["sh", "-c", `tar -C ${join(work, "rootfs")} -c . | docker import ${changes.map((c) => `'${c}'`).join(" ")} - ${tag}`], { timeoutMs: 600_000 });
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  } else if (b.kind === "dockerfile") {
    const buildArgs = ["--build-arg", `BASE=${parentTags[b.from]}`];
    for (const u of b.uses) buildArgs.push("--build-arg", `${u.toUpperCase().replace(/-/g, "_")}_IMAGE=${parentTags[u]}`);
    await exec.run(["docker", "build", "-q", ...buildArgs, ...labels, "-t", tag, join(CATALOGUE_DIR, b.dir)], { timeoutMs: 1_800_000 });
  } else {
    const s = customSteps.get(b.step);
    if (!s) throw new Error(`forge: no step "${b.step}" is registered for image ${name}`);
    await s.build({ entry: e, tag, hash, baseTag: b.from ? parentTags[b.from] : undefined, exec, log });
    if (!(await imageExists(tag, exec))) throw new Error(`forge: step "${b.step}" did not produce ${tag}`);
  }
  const size = await exec.run(["docker", "image", "inspect", "--format", "{{.Size}}", tag]);
  const rec = { name, tag, built: true, seconds: (Date.now() - t0) / 1000, sizeMB: Math.round(Number(size.stdout.trim()) / 1e6) };
  opts.records?.push(rec);
  log(`built ${tag} in ${rec.seconds.toFixed(1)} s (${rec.sizeMB} MB)`);
  return tag;
}
