/**
 * Vitest setup (every project): a test that names no behaviour (a parser, a config check, a
 * harness unit) still gets a place in the report's family → behaviour → test tree, under
 * "netconform internals" with its file as the second level.
 */
import * as allure from "allure-js-commons";
import { relative } from "node:path";
import { afterEach, expect } from "vitest";
import { taggedBehaviours } from "./allure.ts";

afterEach(async () => {
  const s = expect.getState();
  if (taggedBehaviours().length) return;
  await allure.epic("netconform internals (no behaviour id)");
  await allure.feature(relative(process.cwd(), s.testPath ?? "unknown file"));
});
