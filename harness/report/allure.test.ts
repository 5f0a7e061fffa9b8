import { describe, expect, it } from "vitest";
import { behaviour } from "./allure.ts";

describe("report/allure", () => {
  it("rejects a label that is not a behaviour id", async () => {
    await expect(behaviour("NOPE-1")).rejects.toThrow(/not a behaviour id/);
  });
  it("accepts a behaviour id", async () => {
    await expect(behaviour("SVC-02", "R")).resolves.toBeUndefined();
  });
});
