import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { expect } from "vitest";

export const GOLDEN_DIR = join(import.meta.dirname, "..", "..", "fixtures", "golden");

/**
 * Compare text to fixtures/golden/<name>. A missing golden file is a failure, not a silent pass;
 * NETCONFORM_UPDATE_GOLDEN=1 (re)writes it, to be reviewed in the diff before committing.
 */
export function expectGolden(name: string, actual: string): void {
  const path = join(GOLDEN_DIR, name);
  if (process.env.NETCONFORM_UPDATE_GOLDEN === "1") {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
  }
  if (!existsSync(path)) throw new Error(`golden file ${path} is missing; run with NETCONFORM_UPDATE_GOLDEN=1 and review it`);
  expect(actual).toBe(readFileSync(path, "utf8"));
}
