import { parseConfig } from "../config.ts";
import { Run } from "../run.ts";

/** A Run for a harness integration test: its own id (so tests never touch each other's objects) and keep=never. */
export function testRun(tag: string): Run {
  const id = `nct-${tag}-${Date.now().toString(36)}`.slice(0, 40);
  return new Run(parseConfig({ runId: id, keep: "never", artifactsDir: "reports/runs" }));
}
