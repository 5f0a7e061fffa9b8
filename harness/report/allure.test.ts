import { describe, expect, it } from "vitest";
import { behaviour, behavioursUrl } from "./allure.ts";

// built at run time so the behaviour scan (harness/behaviours/scan.ts) does not count it as a use
const unknownId = ["SVC", "99"].join("-");

describe("report/allure", () => {
  it("rejects an id the behaviour catalogue lacks, naming the catalogue", async () => {
    await expect(behaviour(unknownId)).rejects.toThrow(/not a behaviour id of catalogue\/behaviours\.yaml/);
    await expect(behaviour("nope")).rejects.toThrow(/not a behaviour id/);
  });
  it("SVC-02 accepts a catalogue id with a depth, twice in one test", async () => {
    await expect(behaviour("SVC-02", "R")).resolves.toBeUndefined();
    await expect(behaviour("SVC-02", "R")).resolves.toBeUndefined();
  });
  it("rejects a depth that is not R, D or L", async () => {
    await expect(behaviour("SVC-02", "X" as "R")).rejects.toThrow(/not one of R, D, L/);
  });
  it("links to the catalogue page inside the report unless NETCONFORM_BEHAVIOURS_URL says otherwise", () => {
    const saved = process.env.NETCONFORM_BEHAVIOURS_URL;
    try {
      delete process.env.NETCONFORM_BEHAVIOURS_URL;
      expect(behavioursUrl("MLB-05")).toBe("behaviours.html#mlb-05");
      process.env.NETCONFORM_BEHAVIOURS_URL = "https://example.org/netconform/catalogue/BEHAVIOURS.md";
      expect(behavioursUrl("MLB-05")).toBe("https://example.org/netconform/catalogue/BEHAVIOURS.md#mlb-05");
    } finally {
      if (saved === undefined) delete process.env.NETCONFORM_BEHAVIOURS_URL;
      else process.env.NETCONFORM_BEHAVIOURS_URL = saved;
    }
  });
});
