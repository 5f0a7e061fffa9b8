import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");
const ID = /^(HARN|SVC|MLB|ETP|BGP|IPSEC|NVIPAM|MIPAM|KLVS)-\d{2}\b/;

function files(dir: string, match: (p: string) => boolean): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (match(p)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** titles of it()/test() calls in a source file (string literal titles) */
function titles(src: string): string[] {
  return [...src.matchAll(/\b(?:it|test)(?:\.(?:skipIf\([^)]*\)|runIf\([^)]*\)|each\([^)]*\)|only|skip|todo|concurrent))*\(\s*(["'`])((?:(?!\1).)*)\1/g)].map((m) => m[2]!);
}

describe("naming: every suite and oracle test carries its behaviour id", () => {
  const suiteFiles = files(join(ROOT, "suites"), (p) => p.endsWith(".e2e.ts"));
  const oracleFiles = files(join(ROOT, "harness", "oracles"), (p) => p.endsWith(".test.ts"));
  for (const f of [...suiteFiles, ...oracleFiles]) {
    it(`${relative(ROOT, f)}: test names start with a behaviour id`, () => {
      const bad = titles(readFileSync(f, "utf8")).filter((t) => !ID.test(t));
      expect(bad, `tests without a behaviour id in ${relative(ROOT, f)}`).toEqual([]);
    });
  }
  it("the title scanner finds an unnamed test (negative control)", () => {
    expect(titles(`it("no id here", () => {}); it.skipIf(x)("SVC-01 ok", () => {})`).filter((t) => !ID.test(t))).toEqual(["no id here"]);
  });
});
