import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { isAbsolute, join, normalize } from "node:path";
import { promisify } from "node:util";
import { z } from "zod";
import { type Catalogue, type ManifestEntry, loadCatalogue } from "./catalogue.ts";

/**
 * Upstream manifests, pinned in the catalogue (`manifests:`) by release URL + sha256 and by the Go
 * module that carries the same file. `loadManifest(name)` reads the file from the Go module cache
 * (`go mod download -json <path>@<version>` → Dir; the proxy serves modules, never raw GitHub) and
 * verifies its sha256 against the catalogue. Nothing is copied into this repository.
 */
const GO = process.env.NETCONFORM_GO ?? "/usr/local/go/bin/go";
const run = promisify(execFile);

const ModDownload = z.looseObject({ Path: z.string(), Version: z.string(), Dir: z.string().optional(), Error: z.string().optional() });

export class ManifestIntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ManifestIntegrityError";
  }
}

export function manifestEntry(name: string, cat: Catalogue = loadCatalogue()): ManifestEntry {
  const e = cat.manifests.find((m) => m.name === name);
  if (!e) throw new Error(`catalogue has no manifest named "${name}" (known: ${cat.manifests.map((m) => m.name).join(", ") || "none"})`);
  return e;
}

export const sha256 = (text: string | Buffer): string => createHash("sha256").update(text).digest("hex");

/** The pinned file's text, or a ManifestIntegrityError naming both digests when it differs from the catalogue. */
export function verifyManifest(entry: ManifestEntry, text: string, source: string): string {
  const got = sha256(text);
  if (got !== entry.sha256)
    throw new ManifestIntegrityError(
      `manifest ${entry.name} ${entry.version}: ${source} has sha256 ${got}, but the catalogue pins ${entry.sha256} ` +
        `(the file of ${entry.goModule.path}@${entry.goModule.version} and ${entry.url}): refusing to apply it`,
    );
  return text;
}

/** The module's directory in the Go module cache (downloaded through the Go module proxy when missing). */
export async function moduleDir(path: string, version: string): Promise<string> {
  let stdout: string;
  try {
    ({ stdout } = await run(GO, ["mod", "download", "-json", `${path}@${version}`], { timeout: 600_000, maxBuffer: 4 << 20 }));
  } catch (e) {
    // go prints the JSON (with Error) on stdout and exits 1 when the download fails
    stdout = (e as { stdout?: string }).stdout ?? "";
    if (!stdout.trim()) throw new Error(`go mod download ${path}@${version} failed: ${(e as Error).message}`);
  }
  const d = ModDownload.parse(JSON.parse(stdout));
  if (d.Error || !d.Dir) throw new Error(`go mod download ${path}@${version}: ${d.Error ?? "no Dir in the answer"}`);
  return d.Dir;
}

/** The file a manifest entry names, inside a module dir (a path that leaves the module is refused). */
export function fileInModule(dir: string, file: string): string {
  const rel = normalize(file);
  if (isAbsolute(rel) || rel.startsWith("..")) throw new Error(`manifest file ${file} is not a path inside the module`);
  return join(dir, rel);
}

/** Read a catalogue manifest from its pinned Go module and verify its sha256. */
export async function loadManifest(name: string, cat: Catalogue = loadCatalogue()): Promise<string> {
  const e = manifestEntry(name, cat);
  const dir = await moduleDir(e.goModule.path, e.goModule.version);
  const file = fileInModule(dir, e.goModule.file);
  return verifyManifest(e, readFileSync(file, "utf8"), file);
}
