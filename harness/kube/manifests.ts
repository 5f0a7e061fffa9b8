import { readFileSync } from "node:fs";
import { join } from "node:path";

export const MANIFEST_DIR = join(import.meta.dirname, "..", "..", "fixtures", "manifests");

/** Read fixtures/manifests/<name>.yaml and substitute ${VARS}; a variable left unset is an error naming it. */
export function renderManifest(name: string, vars: Record<string, string | number>): string {
  const text = readFileSync(join(MANIFEST_DIR, `${name}.yaml`), "utf8");
  const missing = new Set<string>();
  const out = text.replace(/\$\{([A-Z_]+)\}/g, (_, k: string) => {
    if (!(k in vars)) {
      missing.add(k);
      return "";
    }
    return String(vars[k]);
  });
  if (missing.size) throw new Error(`manifest ${name}.yaml needs ${[...missing].join(", ")}`);
  return out;
}
