import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { absoluteLinks } from "./links.ts";

describe("report/links", () => {
  it("makes relative behaviour links absolute against the report's address and leaves the others alone", () => {
    const dir = mkdtempSync(join(tmpdir(), "nc-links-"));
    try {
      writeFileSync(join(dir, "a.json"), JSON.stringify({ links: [{ type: "behaviour", url: "behaviours.html#mlb-05" }, { type: "issue", url: "x#1" }] }));
      writeFileSync(join(dir, "b.json"), JSON.stringify({ links: [{ type: "behaviour", url: "https://example.org/BEHAVIOURS.md#mlb-05" }] }));
      writeFileSync(join(dir, "c.json"), JSON.stringify({ name: "no links" }));
      expect(absoluteLinks(dir, "http://127.0.0.1:4040/")).toBe(1);
      expect(JSON.parse(readFileSync(join(dir, "a.json"), "utf8")).links).toEqual([{ type: "behaviour", url: "http://127.0.0.1:4040/behaviours.html#mlb-05" }, { type: "issue", url: "x#1" }]);
      expect(JSON.parse(readFileSync(join(dir, "b.json"), "utf8")).links[0].url).toBe("https://example.org/BEHAVIOURS.md#mlb-05");
      expect(absoluteLinks(join(dir, "missing"), "http://127.0.0.1:4040/")).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
