import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MANIFEST_DIR, renderManifest } from "./manifests.ts";

const ROOT = join(import.meta.dirname, "..", "..");

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts") && !e.name.endsWith(".test.ts"))
    .map((e) => join(e.parentPath, e.name));
}

/** Every `renderManifest("name", { K: …, SHORT, … })` call written on one line, with the keys it passes. */
function calls(): { file: string; name: string; keys: Set<string> }[] {
  const out: { file: string; name: string; keys: Set<string> }[] = [];
  for (const file of [...sources(join(ROOT, "suites")), ...sources(join(ROOT, "harness"))]) {
    for (const m of readFileSync(file, "utf8").matchAll(/renderManifest\("([a-z0-9-]+)", \{([^}]*(?:\{[^}]*\}[^}]*)*)\}\)/g)) {
      const body = m[2]!.replace(/\([^()]*\)/g, "()").replace(/\{[^}]*\}/g, "{}");
      const keys = new Set(body.split(",").map((p) => p.trim().split(":")[0]!.trim()).filter((k) => /^[A-Z_]+$/.test(k)));
      out.push({ file: file.slice(ROOT.length + 1), name: m[1]!, keys });
    }
  }
  return out;
}

describe("renderManifest", () => {
  it("names every variable left unset", () => {
    expect(() => renderManifest("netexec", { NAMESPACE: "n", NAME: "x", REPLICAS: 1, IMAGE: "i" })).toThrow("manifest netexec.yaml needs PULL_POLICY");
  });

  // A manifest that gains a variable must not leave a suite that renders it failing in its
  // beforeAll (found by CI: suites/services rendered netexec without PULL_POLICY).
  it("every call site in suites/ and harness/ passes every variable its manifest uses", () => {
    const found = calls();
    expect(found.length).toBeGreaterThanOrEqual(5);
    const problems: string[] = [];
    for (const c of found) {
      const text = readFileSync(join(MANIFEST_DIR, `${c.name}.yaml`), "utf8");
      const need = new Set([...text.matchAll(/\$\{([A-Z_]+)\}/g)].map((m) => m[1]!));
      const missing = [...need].filter((k) => !c.keys.has(k));
      if (missing.length) problems.push(`${c.file}: ${c.name}.yaml needs ${missing.join(", ")}`);
    }
    expect(problems).toEqual([]);
  });
});
