/**
 * Which tests prove which behaviour, found by reading the test files (so a new suite is picked up
 * without registering it anywhere): every `behaviour("ID")` / `behaviour("ID", "D")` call in
 * harness/** and suites/** test files. Without an explicit depth the file decides: *.e2e.ts is L,
 * *.int.test.ts and *.lab.test.ts (the kernel lab) are D, any other *.test.ts is R.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import type { Depth } from "./catalogue.ts";

export const REPO_ROOT = resolve(import.meta.dirname, "..", "..");

export interface Use {
  id: string;
  depth: Depth;
  /** path relative to the repository root */
  file: string;
  line: number;
}

const TEST_FILE = /\.(test|e2e)\.ts$/;
const CALL = /\bbehaviour\(\s*["'`]([A-Z]+-\d+)["'`]\s*(?:,\s*["'`]([A-Z])["'`]\s*)?\)/g;

export function fileDepth(file: string): Depth {
  if (file.endsWith(".e2e.ts")) return "L";
  if (file.endsWith(".int.test.ts") || file.endsWith(".lab.test.ts")) return "D";
  return "R";
}

/** The behaviour() calls of one test file's text. */
export function scanText(text: string, file: string): Use[] {
  const out: Use[] = [];
  for (const m of text.matchAll(CALL)) {
    const depth = (m[2] ?? fileDepth(file)) as Depth;
    out.push({ id: m[1]!, depth, file, line: text.slice(0, m.index).split("\n").length });
  }
  return out;
}

function walk(dir: string, acc: string[]): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === "node_modules" || e.name.startsWith(".")) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, acc);
    else if (TEST_FILE.test(e.name)) acc.push(p);
  }
  return acc;
}

/** Every behaviour() call in the repository's test files (harness/ and suites/). */
export function scanTests(root = REPO_ROOT): Use[] {
  const files = ["harness", "suites"].flatMap((d) => {
    try {
      return walk(join(root, d), []);
    } catch {
      return [];
    }
  });
  return files.sort().flatMap((f) => scanText(readFileSync(f, "utf8"), relative(root, f)));
}

/** Compare the catalogue's declared depths with the tests found; one message per disagreement. */
export function checkCoverage(declared: Map<string, readonly Depth[]>, uses: Use[]): string[] {
  const problems: string[] = [];
  const found = new Map<string, Map<Depth, Use[]>>();
  for (const u of uses) {
    if (!declared.has(u.id)) {
      problems.push(`${u.file}:${u.line} names ${u.id}, which is not in catalogue/behaviours.yaml: add an entry (or fix the id)`);
      continue;
    }
    const byDepth = found.get(u.id) ?? new Map<Depth, Use[]>();
    byDepth.set(u.depth, [...(byDepth.get(u.depth) ?? []), u]);
    found.set(u.id, byDepth);
  }
  for (const [id, depths] of declared) {
    const f = found.get(id);
    if (!f) {
      problems.push(`${id} is in catalogue/behaviours.yaml but no test calls behaviour("${id}", …)`);
      continue;
    }
    for (const d of depths) if (!f.has(d)) problems.push(`${id}: catalogue depths list ${d} but no test proves it at depth ${d}: remove ${d} from its depths`);
    for (const [d, us] of f) if (!depths.includes(d)) problems.push(`${id}: tested at depth ${d} (${us[0]!.file}:${us[0]!.line}) but its catalogue depths are [${depths.join(", ")}]: add ${d}`);
  }
  return problems;
}
