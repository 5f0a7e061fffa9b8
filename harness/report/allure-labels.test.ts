import { beforeEach, describe, expect, it, vi } from "vitest";

// capture what behaviour() tells Allure, instead of writing results
const calls: string[] = [];
vi.mock("allure-js-commons", () => ({
  label: async (n: string, v: string) => void calls.push(`label ${n}=${v}`),
  epic: async (v: string) => void calls.push(`epic ${v}`),
  feature: async (v: string) => void calls.push(`feature ${v}`),
  link: async (u: string) => void calls.push(`link ${u}`),
  tag: async (v: string) => void calls.push(`tag ${v}`),
  description: async (v: string) => void calls.push(`description ${v}`),
  attachment: async () => {},
  step: async () => {},
}));
// the setup file (harness/report/setup.ts) loaded allure.ts with the real module: load it afresh
vi.resetModules();
const { behaviour } = await import("./allure.ts");
// ids passed through a variable: these tests check labels, they prove no behaviour (the catalogue scan skips them)
const tag = (id: string, depth: "R" | "D" | "L") => behaviour(id, depth);

describe("report/allure labels", () => {
  beforeEach(() => {
    calls.length = 0;
  });

  it("a test naming two ids of one family (MLB-05, MLB-06) gets one epic for the family, a feature, link and label per id, one depth", async () => {
    await tag("MLB-05", "L");
    await tag("MLB-06", "L");
    expect(calls.filter((c) => c.startsWith("epic"))).toEqual(["epic MLB: MetalLB layer 2"]);
    expect(calls.filter((c) => c.startsWith("feature"))).toEqual(["feature MLB-05 no ready endpoint, no announcement", "feature MLB-06 announcement follows readiness"]);
    expect(calls.filter((c) => c.startsWith("label"))).toEqual(["label behaviour=MLB-05", "label depth=L", "label behaviour=MLB-06"]);
    expect(calls.filter((c) => c.startsWith("tag"))).toEqual(["tag depth L"]);
    expect(calls.filter((c) => c.startsWith("link"))).toEqual(["link behaviours.html#mlb-05", "link behaviours.html#mlb-06"]);
    const description = calls.filter((c) => c.startsWith("description")).at(-1)!;
    expect(description).toMatch(/^description \*\*MLB-05 no ready endpoint, no announcement\*\* \(must happen\): A LoadBalancer service/);
    expect(description).toMatch(/\n\n\*\*MLB-06 announcement follows readiness\*\* \(must happen\): Once an endpoint/);
  });

  it("a test naming ids of two families gets an epic per family", async () => {
    await tag("HARN-01", "R");
    await tag("BGP-05", "R");
    expect(calls.filter((c) => c.startsWith("epic"))).toEqual(["epic HARN: the harness itself", "epic BGP: MetalLB BGP and BFD"]);
  });
});
