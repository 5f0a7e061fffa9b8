/**
 * Evidence in the formats real clusters print, kept to prove the parsers on more than what this
 * project records itself: fixtures/formats/<name>. Each file starts with the same header rule as
 * fixtures/evidence (./fixtures.ts): "# source: …" naming a public source, or "written from the
 * format's documentation (<which>)". The loader strips the header.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { splitFixture, type Fixture } from "./fixtures.ts";

export const FORMATS_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../fixtures/formats");

export function loadFormat(name: string): Fixture {
  if (name.includes("/") || name.startsWith(".")) throw new Error(`bad format fixture name ${name}`);
  const path = join(FORMATS_ROOT, name);
  const { source, text } = splitFixture(readFileSync(path, "utf8"), path);
  return { source, text, path };
}

export function listFormats(): string[] {
  return readdirSync(FORMATS_ROOT).filter((f) => !f.startsWith(".")).sort();
}
