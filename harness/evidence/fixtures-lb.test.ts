import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { listFixtures, loadFixture } from "./fixtures.ts";

// the MLB, ETP and BGP families (catalogue/BEHAVIOURS.md): every id has recorded pass and fail evidence
const IDS = [
  ...Array.from({ length: 10 }, (_, i) => `MLB-${String(i + 1).padStart(2, "0")}`),
  ...Array.from({ length: 7 }, (_, i) => `ETP-0${i + 1}`),
  ...Array.from({ length: 5 }, (_, i) => `BGP-0${i + 1}`),
];

describe("evidence/fixtures for MLB, ETP, BGP", () => {
  it.each(IDS)("%s has at least one pass and one fail fixture, each with a source header and content", (id) => {
    for (const kind of ["pass", "fail"] as const) {
      const names = listFixtures(id, kind);
      expect(names.length, `${id}/${kind}`).toBeGreaterThan(0);
      for (const n of names) {
        expect(n, `${id}/${kind}/${n}: *.log is git-ignored`).not.toMatch(/\.log$/);
        const f = loadFixture(id, kind, n);
        expect(f.source, join(id, kind, n)).toMatch(/^(source: |derived from (pass|fail)\/|synthetic|written from )/);
        expect(f.text.trim().length, join(id, kind, n)).toBeGreaterThan(0);
      }
    }
  });
});
