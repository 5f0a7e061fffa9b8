/**
 * Ctrl-C a run at a chosen point and account for what is left: starts harness/testing/
 * interrupt-child.ts in its own process group (as a terminal runs a command) with the session
 * reaper watching it (as the global setups start it), waits for the point, records the run's
 * footprint, sends SIGINT to the whole group (what Ctrl-C does: kind and docker children get it
 * too), optionally SIGKILLs the child a moment later (what vitest does to a worker whose teardown
 * is still running, so the reaper finishes the job while the child's `kind delete` may still run),
 * then waits for both and returns what is left of the footprint.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import { KIND_CLUSTER_LABEL } from "../adapters/kind.ts";
import { containersByLabel } from "../adapters/docker.ts";
import { type Footprint, footprint, leftOf, merge } from "./footprint.ts";

export type InterruptPoint = "before" | "creating" | "created" | "testing";

export interface InterruptResult {
  seen: Footprint;
  left: string[];
  childExit: number | null;
  childSignal: NodeJS.Signals | null;
  childOutput: string;
  reaperExit: number | null;
  reaperOutput: string;
  /** ms from SIGINT until both processes were gone */
  cleanupMs: number;
}

const CHILD = resolve(import.meta.dirname, "interrupt-child.ts");
const REAPER = resolve(import.meta.dirname, "..", "cli", "reaper.ts");

function collect(p: ChildProcess): { text: () => string; exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  let text = "";
  p.stdout?.on("data", (d: Buffer) => (text += d.toString()));
  p.stderr?.on("data", (d: Buffer) => (text += d.toString()));
  return { text: () => text, exit: new Promise((res) => p.once("exit", (code, signal) => res({ code, signal }))) };
}

async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs: number, died: () => string | undefined): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await ok())) {
    const d = died();
    if (d) throw new Error(`interrupt: the run ended before ${what}: ${d}`);
    if (Date.now() > end) throw new Error(`interrupt: timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function interruptRun(o: { point: InterruptPoint; runId: string; cluster: string; killAfterMs?: number; timeoutMs?: number }): Promise<InterruptResult> {
  const env = { ...process.env, NETCONFORM_RUN_ID: o.runId, NETCONFORM_KEEP: "never", NETCONFORM_REUSE: "false" };
  const child = spawn(process.execPath, [CHILD, o.runId, o.cluster, o.point], { detached: true, env, stdio: ["ignore", "pipe", "pipe"] });
  const c = collect(child);
  let ended: string | undefined;
  void c.exit.then((e) => (ended = `exit ${e.code ?? e.signal}: ${c.text().slice(-1500)}`));
  const reaper = spawn(process.execPath, [REAPER, String(child.pid), o.runId], { env, stdio: ["ignore", "pipe", "pipe"] });
  const r = collect(reaper);
  const timeoutMs = o.timeoutMs ?? 900_000;
  const seen: Footprint[] = [];
  const wantPhase = { before: "world", creating: "creating", created: "created", testing: "testing" }[o.point];
  await until(`PHASE ${wantPhase}`, () => c.text().includes(`PHASE ${wantPhase}`), timeoutMs, () => ended);
  if (o.point === "creating") {
    // kind has started its node containers: the cluster is half made
    await until(`node containers of ${o.cluster}`, async () => (await containersByLabel(KIND_CLUSTER_LABEL, o.cluster)).length > 0, timeoutMs, () => ended);
    await new Promise((res) => setTimeout(res, 3000));
  }
  if (o.point === "testing") await new Promise((res) => setTimeout(res, 3000));
  seen.push(await footprint(o.runId, { cluster: o.cluster }));
  const t0 = Date.now();
  process.kill(-child.pid!, "SIGINT");
  if (o.killAfterMs !== undefined) {
    await new Promise((res) => setTimeout(res, o.killAfterMs));
    if (!ended) child.kill("SIGKILL");
  }
  const ce = await c.exit;
  const re = await Promise.race([r.exit, new Promise<{ code: null; signal: null }>((res) => setTimeout(() => res({ code: null, signal: null }), timeoutMs))]);
  const cleanupMs = Date.now() - t0;
  const all = merge(...seen);
  return {
    seen: all,
    left: await leftOf(o.runId, all, { cluster: o.cluster }),
    childExit: ce.code,
    childSignal: ce.signal,
    childOutput: c.text(),
    reaperExit: re.code,
    reaperOutput: r.text(),
    cleanupMs,
  };
}
