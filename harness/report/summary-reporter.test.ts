import { describe, expect, it } from "vitest";
import { setupFailure } from "./summary-reporter.ts";

const suite = (errors: { message: string }[], parent?: unknown) => ({ type: "suite", errors: () => errors, parent });
const mod = (errors: { message: string }[]) => ({ type: "module", errors: () => errors });

describe("summary reporter: tests of a suite whose setup failed", () => {
  it("names the enclosing suite's first error, one line", () => {
    const t = { parent: suite([{ message: "manifest netexec.yaml needs PULL_POLICY\n  at renderManifest" }], mod([])) };
    expect(setupFailure(t as never)).toBe("setup failed: manifest netexec.yaml needs PULL_POLICY");
  });
  it("looks through nested suites up to the module", () => {
    const t = { parent: suite([], suite([], mod([{ message: "beforeAll in the file failed" }]))) };
    expect(setupFailure(t as never)).toBe("setup failed: beforeAll in the file failed");
  });
  it("a skip in a healthy suite is not a setup failure (negative control)", () => {
    expect(setupFailure({ parent: suite([], mod([])) } as never)).toBeUndefined();
  });
});
