import { describe, expect, inject, it } from "vitest";
import { loadConfig } from "../../harness/config.ts";
import { gateSuite } from "../../harness/preflight/gate.ts";
import { attachText, behaviour } from "../../harness/report/allure.ts";
import { type InterruptPoint, interruptRun } from "../../harness/testing/interrupt.ts";
import { describeFootprint } from "../../harness/testing/footprint.ts";

/**
 * Ctrl-C at several points of a run leaves nothing of it: its world (network, host, volume), the
 * kind cluster it created (node containers and their anonymous volumes), the ledger volume naming
 * that cluster. Each case runs the harness in a child process (harness/testing/interrupt-child.ts)
 * with the session reaper watching it, on its own kind cluster "<NETCONFORM_CLUSTER>-int"
 * (control plane + one worker), and sends SIGINT to the child's whole process group as a terminal
 * does. "Right after creation" also kills the child 2 s after the signal, as vitest kills a worker
 * whose teardown still runs: the reaper then finishes while the child's `kind delete` may still be
 * running (the race that once killed the reaper with "removal of container … is already in progress").
 */
const preflight = inject("suitePreflight");
const config = loadConfig();
const enabled = gateSuite(
  import.meta.filename,
  preflight.missing ?? (config.kubeconfig ? "NETCONFORM_KUBECONFIG is set: this suite creates and interrupts its own kind clusters" : undefined),
);
const cluster = `${config.clusterName.slice(0, 27)}-int`;

const CASES: Array<{ point: InterruptPoint; title: string; killAfterMs?: number; cluster: boolean }> = [
  { point: "before", title: "HARN-01 Ctrl-C before cluster creation leaves nothing of the run", cluster: false },
  { point: "creating", title: "HARN-01 Ctrl-C during cluster creation leaves no node container, volume or ledger", cluster: true },
  { point: "created", title: "HARN-01 Ctrl-C right after cluster creation, worker killed mid-teardown: the reaper finishes, nothing is left", killAfterMs: 2000, cluster: true },
  { point: "testing", title: "HARN-01 Ctrl-C during a test (a command in flight on a node) leaves nothing of the run", cluster: true },
];

describe("lifecycle: Ctrl-C at several points of a run", () => {
  for (const c of CASES) {
    it(c.title, async () => {
      await behaviour("HARN-01", "L");
      const runId = `nct-int-${c.point}-${Date.now().toString(36)}`;
      const r = await interruptRun({ point: c.point, runId, cluster, ...(c.killAfterMs !== undefined ? { killAfterMs: c.killAfterMs } : {}) });
      await attachText("footprint at the signal", JSON.stringify(r.seen, null, 2), "application/json");
      await attachText("child output", r.childOutput);
      await attachText("reaper log", r.reaperOutput);
      await attachText("cleanup took (ms)", String(r.cleanupMs));
      // control: the run had made what this point promises when the signal came
      expect(r.seen.networks, describeFootprint(r.seen)).toEqual([`${runId}-int`]);
      expect(r.seen.volumes).toContain(`${runId}-data`);
      if (c.cluster) {
        expect(r.seen.volumes, "the ledger volume naming the cluster").toContain(`nc-run-${runId}`);
        expect(r.seen.containers.filter((n) => n.startsWith(`${cluster}-`)).length, "node containers of the cluster").toBeGreaterThan(0);
      }
      // 130: the SIGINT handler's teardown; the interrupted `kind create` or `docker exec` (it got the
      // signal too) may fail the run first, which then ends with 1 after the same teardown
      if (c.killAfterMs === undefined) expect(c.point === "before" || c.point === "created" ? [130] : [1, 130], `exit ${r.childExit}, signal ${r.childSignal}: ${r.childOutput.slice(-2000)}`).toContain(r.childExit);
      expect(r.reaperExit, r.reaperOutput).toBe(0);
      expect(r.reaperOutput, "the reaper's log carries no stack trace").not.toMatch(/^\s+at /m);
      expect(r.left, `left of run ${runId}; child: ${r.childOutput.slice(-1000)}; reaper: ${r.reaperOutput}`).toEqual([]);
    });
  }
});
