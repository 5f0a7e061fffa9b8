/**
 * Recorded evidence for oracle tests: fixtures/evidence/<ID>/{pass,fail}/<name>.
 *
 * Every fixture file starts with a header naming where its content comes from, in a form a user
 * of this repository can follow (checkSource() is the rule, enforced for every fixture by
 * fixtures.test.ts):
 *
 *   # source: https://github.com/robric/k8s-svc-and-lb-testing (README §4.4) (…)       a public source
 *   # source: recorded live by suites/metallb/bgp.e2e.ts (BGP-04), <date>: <cluster, versions, what was done>
 *   # source: recorded by harness/controls/bgp.int.test.ts (…)                         a test of this repo
 *   # source: recorded in the nvidia-ipam lab described in catalogue entry NVIPAM-01     catalogue/BEHAVIOURS.md
 *   # written from the format's documentation (<doc or URL>): …
 *   # derived from pass/nat.iptables-save: the KUBE-SEP-Z33JJVRDNG7R4HVW chain removed
 *   # synthetic, modelled on <any of the sources above>
 *
 * followed by any number of continuation lines starting with "#  " (hash, two spaces). No header
 * names a file outside the repository (lab notes, ../, absolute paths). The loader strips the
 * header and returns the text as the tool printed it; parsers never see headers.
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

const FIRST = /^# (source: |derived from |synthetic|written from )/;

/** Split a fixture file into header and text; exported for tests of the header rule itself. */
export function splitFixture(content: string, path = "(fixture)"): { source: string; text: string } {
  const lines = content.split("\n");
  if (!FIRST.test(lines[0] ?? "")) {
    throw new Error(`${path}: a fixture must start with "# source: …", "# derived from …", "# written from …" or "# synthetic…"`);
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

const REPO_ROOT = resolve(FIXTURES_ROOT, "..", "..");
/** something a reader of this repository cannot open: a lab-notes file, a line reference into one, a path outside the repo */
const OUTSIDE = /(\bseeds?\/|\.txt L\d|\bL\d+-\d+\b|\.\.\/|(^|[\s(])\/(work|tmp|home|root)\/|\bshared\/|~\/)/;
/** a source a user can follow */
const FOLLOWABLE = [
  /https:\/\/\S+/,
  /\b(suites|harness)\/\S+\.(e2e|test)\.ts/,
  /catalogue entry [A-Z]+-\d{2}/,
  /format's documentation/,
];

/**
 * The header rule: problems with one fixture's source (empty when it is fine). `ids` are the
 * behaviour ids of the catalogue, to check "catalogue entry <ID>" references.
 */
export function checkSource(source: string, at: { id: string; kind: FixtureKind; ids: ReadonlySet<string> }): string[] {
  const problems: string[] = [];
  const out = OUTSIDE.exec(source);
  if (out) problems.push(`points outside the repository ("${out[0].trim()}"): name a public source, a test of this repo or a catalogue entry instead`);
  if (/^(source: |synthetic)/.test(source) && !FOLLOWABLE.some((r) => r.test(source))) {
    problems.push(`names no source a user can follow: give an https URL, the suite or test that recorded it ("recorded live by suites/….e2e.ts", "recorded by harness/….test.ts"), "catalogue entry <ID>" or "the format's documentation"`);
  }
  for (const m of source.matchAll(/\b((?:harness|suites|fixtures|catalogue)\/[\w./-]*\w)/g)) {
    if (!exists(join(REPO_ROOT, m[1]!))) problems.push(`names ${m[1]}, which is not in the repository`);
  }
  for (const m of source.matchAll(/(?<![\w/])((?:pass|fail)\/[\w.-]*\w)/g)) {
    if (!exists(join(FIXTURES_ROOT, at.id, m[1]!))) problems.push(`names ${m[1]}, which is not a fixture of ${at.id}`);
  }
  for (const m of source.matchAll(/catalogue entry ([A-Z]+-\d{2})/g)) {
    if (!at.ids.has(m[1]!)) problems.push(`names catalogue entry ${m[1]}, which catalogue/behaviours.yaml lacks`);
  }
  return problems;
}

function exists(path: string): boolean {
  try {
    readFileSync(path);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EISDIR";
  }
}
