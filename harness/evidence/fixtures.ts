/**
 * Recorded evidence for oracle tests: fixtures/evidence/<ID>/{pass,fail}/<name>.
 *
 * Every fixture file starts with a header naming where its content comes from, so a reader can
 * check it against the seed:
 *
 *   # source: seeds/001_919fbbaee19d3aed.txt L453-477
 *   # source: recorded live by suites/metallb/bgp.e2e.ts (BGP-04), <date>: <cluster, versions, what was done>
 *   # derived from pass/nat.iptables-save: the KUBE-SEP-Z33JJVRDNG7R4HVW chain removed
 *   # synthetic, modelled on seeds/001_919fbbaee19d3aed.txt L2083-2111
 *
 * followed by any number of continuation lines starting with "#  " (hash, two spaces). The loader
 * strips the header and returns the text as the tool printed it; parsers never see headers.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export type FixtureKind = "pass" | "fail";

export interface Fixture {
  /** the header without its leading "# ", continuation lines joined with "\n" */
  source: string;
  /** the recorded output, header removed */
  text: string;
  /** absolute path, for messages */
  path: string;
}

export const FIXTURES_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../fixtures/evidence");

const FIRST = /^# (source: |derived from |synthetic)/;

/** Split a fixture file into header and text; exported for tests of the header rule itself. */
export function splitFixture(content: string, path = "(fixture)"): { source: string; text: string } {
  const lines = content.split("\n");
  if (!FIRST.test(lines[0] ?? "")) {
    throw new Error(`${path}: a fixture must start with "# source: …", "# derived from …" or "# synthetic…"`);
  }
  let n = 1;
  while (n < lines.length && lines[n]!.startsWith("#  ")) n++;
  const source = lines
    .slice(0, n)
    .map((l) => l.replace(/^#\s+/, ""))
    .join("\n");
  return { source, text: lines.slice(n).join("\n") };
}

export function loadFixture(id: string, kind: FixtureKind, name: string): Fixture {
  if (!/^[A-Z]+-\d{2}$/.test(id) || name.includes("/") || name.startsWith(".")) throw new Error(`bad fixture reference ${id}/${kind}/${name}`);
  const path = join(FIXTURES_ROOT, id, kind, name);
  const { source, text } = splitFixture(readFileSync(path, "utf8"), path);
  return { source, text, path };
}

/** Names of the fixtures of one id and kind (empty when the directory does not exist). */
export function listFixtures(id: string, kind: FixtureKind): string[] {
  try {
    return readdirSync(join(FIXTURES_ROOT, id, kind)).filter((f) => !f.startsWith(".")).sort();
  } catch {
    return [];
  }
}
