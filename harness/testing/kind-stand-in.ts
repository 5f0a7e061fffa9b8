import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A stand-in for the kind binary (NETCONFORM_KIND=<bin>): a shell script that answers its n-th call
 * with answers[n-1] (exit code and stderr, as kind words it) and succeeds after those. A double for
 * tests of the harness's retry and error paths: a real "already in progress" race cannot be
 * produced on demand (the real one is exercised by suites/lifecycle).
 */
export function kindStandIn(answers: Array<{ code: number; stderr?: string }>): { bin: string; calls: () => number } {
  const dir = mkdtempSync(join(tmpdir(), "nc-kind-"));
  const count = join(dir, "count");
  writeFileSync(count, "0");
  const cases = answers.map((a, i) => `  ${i + 1}) printf '%s\\n' '${(a.stderr ?? "").replace(/'/g, "")}' >&2; exit ${a.code};;`).join("\n");
  const bin = join(dir, "kind");
  writeFileSync(bin, `#!/bin/sh\nn=$(( $(cat ${count}) + 1 )); echo $n > ${count}\ncase $n in\n${cases}\n  *) exit 0;;\nesac\n`);
  chmodSync(bin, 0o755);
  return { bin, calls: () => Number(readFileSync(count, "utf8")) };
}

export const KIND_IN_PROGRESS = 'ERROR: failed to delete cluster "nc-x": failed to delete nodes: Error response from daemon: removal of container nc-x-worker is already in progress';
