import { expect } from "vitest";
import { parseConfig } from "../config.ts";
import { Run } from "../run.ts";
import { footprint, leftOf } from "./footprint.ts";

/** A Run for a harness integration test: its own id (so tests never touch each other's objects) and keep=never. */
export function testRun(tag: string): Run {
  const id = `nct-${tag}-${Date.now().toString(36)}`.slice(0, 40);
  return new Run(parseConfig({ runId: id, keep: "never", artifactsDir: "reports/runs" }));
}

/**
 * Tear a test's run down and assert that nothing of it is left: no container, network, volume
 * (named or anonymous, labelled or merely mounted by its containers) or image (see footprint.ts).
 */
export async function tearDownLeavingNothing(run: Run): Promise<void> {
  const seen = await footprint(run.id);
  const t = await run.teardown();
  expect(t.errors).toEqual([]);
  expect(await leftOf(run.id, seen), `objects of run ${run.id} left after its teardown`).toEqual([]);
}
