import { expect } from "vitest";
import { LABEL_RUN, listByLabel } from "../adapters/docker.ts";
import { parseConfig } from "../config.ts";
import { Run } from "../run.ts";

/** A Run for a harness integration test: its own id (so tests never touch each other's objects) and keep=never. */
export function testRun(tag: string): Run {
  const id = `nct-${tag}-${Date.now().toString(36)}`.slice(0, 40);
  return new Run(parseConfig({ runId: id, keep: "never", artifactsDir: "reports/runs" }));
}

/** Tear a test's run down and assert that no container or network labelled with it is left. */
export async function tearDownLeavingNothing(run: Run): Promise<void> {
  const t = await run.teardown();
  expect(t.errors).toEqual([]);
  const left = await listByLabel(LABEL_RUN, run.id);
  expect([...left.containers.map((c) => c.name), ...left.networks.map((n) => n.name)]).toEqual([]);
}
