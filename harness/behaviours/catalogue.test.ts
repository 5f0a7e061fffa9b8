import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CATALOGUE_FILE, CATALOGUE_PAGE, loadCatalogue, parseCatalogue } from "./catalogue.ts";
import { renderHtml, renderMarkdown } from "./render.ts";
import { checkCoverage, scanTests, scanText } from "./scan.ts";

const yaml = readFileSync(CATALOGUE_FILE, "utf8");
// test-file text for the scanner, built so that the scanner does not count this file's own lines
const call = (id: string, depth?: string, q = '"') => `behaviour(${q}${id}${q}${depth ? `, "${depth}"` : ""})`;
const entry = (over: string) => `labs: { l: { title: a lab, description: what was there } }
families: { SVC: { title: services, summary: s } }
behaviours:
  - { id: SVC-01, title: t, kind: P, promise: p, why: { lab: l, observed: o }, depths: [R], live: x${over} }
`;

describe("behaviour catalogue", () => {
  it("loads catalogue/behaviours.yaml: every id once, FAMILY-NN, each family with behaviours", () => {
    const c = loadCatalogue();
    expect(c.behaviours.length).toBeGreaterThanOrEqual(50);
    expect(new Set(c.behaviours.map((b) => b.id)).size).toBe(c.behaviours.length);
    expect(Object.keys(c.families)).toEqual(["HARN", "SVC", "MLB", "ETP", "BGP", "IPSEC", "NVIPAM", "MIPAM", "KLVS"]);
  });

  it("points nowhere outside the repository: no lab-note file, no ../shared path, only https links", () => {
    expect(yaml).not.toMatch(/seeds?\/|\.\.\/shared|\/work\/|\.txt\b/);
    for (const m of yaml.matchAll(/url: "?([^"\s,}]+)/g)) expect(m[1]).toMatch(/^https:\/\//);
  });

  it("accepts a minimal entry", () => {
    expect(parseCatalogue(entry("")).byId.get("SVC-01")?.depths).toEqual(["R"]);
  });

  it("refuses bad entries, naming the id and the field (negative controls)", () => {
    expect(() => parseCatalogue(entry(", depths: [R, Q]").replace("depths: [R], ", ""))).toThrow(/\[SVC-01\]\.depths\.1/);
    expect(() => parseCatalogue(entry("").replace("promise: p, ", ""))).toThrow(/\[SVC-01\]\.promise/);
    expect(() => parseCatalogue(entry("").replace("lab: l", "lab: nowhere"))).toThrow(/SVC-01: why.lab "nowhere" is not under labs/);
    expect(() => parseCatalogue(entry("").replace("why: { lab: l, observed: o }", "why: {}"))).toThrow(/lab observation or at least one public reference/);
    expect(() => parseCatalogue(entry("").replace("id: SVC-01", "id: SVC-1"))).toThrow(/FAMILY-NN/);
    expect(() => parseCatalogue(entry(", colour: red"))).toThrow(/colour/);
    expect(() => parseCatalogue(entry("").replace("behaviours:", "behaviours:\n  - { id: SVC-01, title: t, kind: P, promise: p, why: { refs: [{ title: r, url: \"https://example.org\" }] }, depths: [R], live: x }"))).toThrow(/SVC-01: listed twice/);
    expect(() => parseCatalogue(entry("").replace("url:", "x:").replace("live: x", "live: x, why2: 1"))).toThrow(/why2/);
    expect(() => parseCatalogue("behaviours: [")).toThrow(/not valid YAML/);
  });

  it("every id the tests name is in the catalogue, every entry is tested, and its depths are exactly the depths tested", () => {
    const c = loadCatalogue();
    expect(checkCoverage(new Map(c.behaviours.map((b) => [b.id, b.depths])), scanTests())).toEqual([]);
  });

  it("the coverage check fails on an unknown id, an untested entry and a depth mismatch (negative controls)", () => {
    const declared = new Map([["SVC-01", ["R", "L"] as const], ["SVC-02", ["R"] as const]]);
    const uses = [
      ...scanText(`await ${call("SVC-01")};\nawait ${call("SVC-77", "R")};`, "harness/oracles/x.test.ts"),
      ...scanText(`await ${call("SVC-01", "D", "'")}`, "suites/x/y.e2e.ts"),
    ];
    expect(checkCoverage(declared, uses)).toEqual([
      "harness/oracles/x.test.ts:2 names SVC-77, which is not in catalogue/behaviours.yaml: add an entry (or fix the id)",
      "SVC-01: catalogue depths list L but no test proves it at depth L: remove L from its depths",
      "SVC-01: tested at depth D (suites/x/y.e2e.ts:1) but its catalogue depths are [R, L]: add D",
      `SVC-02 is in catalogue/behaviours.yaml but no test calls behaviour("SVC-02", …)`,
    ]);
  });

  it("takes the depth from the file when a call names none: e2e L, int.test D, test R", () => {
    expect(scanText(call("MLB-01"), "suites/metallb/l2.e2e.ts")[0]?.depth).toBe("L");
    expect(scanText(call("MLB-01"), "harness/controls/a.int.test.ts")[0]?.depth).toBe("D");
    expect(scanText(call("MLB-01"), "harness/oracles/mlb.test.ts")[0]?.depth).toBe("R");
  });

  it("catalogue/BEHAVIOURS.md is up to date (run `npm run catalogue` after editing the catalogue or adding tests)", () => {
    const page = readFileSync(CATALOGUE_PAGE, "utf8");
    expect(page === renderMarkdown(loadCatalogue(), scanTests()), "catalogue/BEHAVIOURS.md is stale: run `npm run catalogue`").toBe(true);
  });

  it("renders every entry with an anchor, in Markdown and in the report's HTML page", () => {
    const c = loadCatalogue();
    const md = renderMarkdown(c, scanTests());
    const html = renderHtml(md);
    for (const b of c.behaviours) {
      expect(md).toContain(`<a id="${b.id.toLowerCase()}"></a>`);
      expect(html).toContain(`<a id="${b.id.toLowerCase()}"></a>`);
      expect(html).toContain(`<h3>${b.id} `);
    }
    expect(html).not.toMatch(/<script|\*\*|\]\(/);
  });
});
