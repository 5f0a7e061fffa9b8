/**
 * The session reaper (harness/cli/reaper.ts) against real Docker: objects labelled with a session
 * outlive a "vitest" process (here a stand-in `sleep`) that is killed; the reaper, watching that
 * pid, removes them once it is gone, and leaves them when the configuration keeps.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import { LABEL_ROLE, LABEL_RUN, createNetwork, createVolume, listByLabel, removeContainer, removeNetwork, removeVolume, runContainer } from "../adapters/docker.ts";
import { LABEL_CLUSTER, LABEL_SESSION } from "../run.ts";
import { KIND_IN_PROGRESS, kindStandIn } from "../testing/kind-stand-in.ts";

const REAPER = resolve(import.meta.dirname, "reaper.ts");

/** a container and a network labelled as a session's leftovers */
async function leftovers(session: string): Promise<void> {
  const labels = { [LABEL_RUN]: `${session}-r`, [LABEL_SESSION]: session, [LABEL_ROLE]: "test" };
  await createNetwork({ name: `${session}-net`, labels });
  await runContainer({ name: `${session}-c`, image: inject("images").toolbox!, labels, cmd: ["sleep", "600"] });
}
/** ... plus a ledger volume naming a kind cluster the session created */
async function withLedger(session: string): Promise<void> {
  await leftovers(session);
  await createVolume(`nc-run-${session}-r`, { [LABEL_RUN]: `${session}-r`, [LABEL_SESSION]: session, [LABEL_ROLE]: "ledger", [LABEL_CLUSTER]: `${session}-k` });
}
async function left(session: string): Promise<string[]> {
  const l = await listByLabel(LABEL_SESSION, session);
  return [...l.containers.map((c) => c.name), ...l.networks.map((n) => n.name), ...l.volumes].sort();
}
function reaper(parent: number, session: string, env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  const p = spawn(process.execPath, [REAPER, String(parent), session], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  p.stdout.on("data", (d: Buffer) => (out += d.toString()));
  p.stderr.on("data", (d: Buffer) => (out += d.toString()));
  return new Promise((res) => p.on("exit", (code) => res({ code, out })));
}
const stand_in = (): ChildProcess => spawn("sleep", ["600"], { stdio: "ignore" });

describe("session reaper", () => {
  const sessions: string[] = [];
  afterAll(async () => {
    for (const s of sessions) {
      await removeContainer(`${s}-c`).catch(() => {});
      await removeNetwork(`${s}-net`).catch(() => {});
      await removeVolume(`nc-run-${s}-r`).catch(() => {});
    }
  });

  it("waits for the watched process, then removes the session's containers and networks (keep=never)", async () => {
    const session = `ncreap-${Date.now().toString(36)}`;
    sessions.push(session);
    await leftovers(session);
    const vitest = stand_in();
    const done = reaper(vitest.pid!, session, { NETCONFORM_KEEP: "never", NETCONFORM_REUSE: "false" });
    await new Promise((r) => setTimeout(r, 1500));
    expect(await left(session), "the reaper acted while the process was alive").toEqual([`${session}-c`, `${session}-net`]);
    vitest.kill("SIGKILL");
    const r = await done;
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(new RegExp(`session ${session}: removed container ${session}-c, network ${session}-net`));
    expect(await left(session)).toEqual([]);
  });

  it("negative control: with keep=on-failure (an interrupted run counts as failed) it leaves everything", async () => {
    const session = `ncreap-${Date.now().toString(36)}`;
    sessions.push(session);
    await leftovers(session);
    const vitest = stand_in();
    const done = reaper(vitest.pid!, session, { NETCONFORM_KEEP: "on-failure" });
    vitest.kill("SIGKILL");
    const r = await done;
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain("keep=on-failure, leaving everything");
    expect(await left(session)).toEqual([`${session}-c`, `${session}-net`]);
  });

  it("waits for a cluster deletion already in progress (the run's own teardown) instead of dying on it (kind stand-in)", async () => {
    const session = `ncreap-${Date.now().toString(36)}`;
    sessions.push(session);
    await withLedger(session);
    const kind = kindStandIn([{ code: 1, stderr: KIND_IN_PROGRESS }, { code: 1, stderr: KIND_IN_PROGRESS }]);
    const vitest = stand_in();
    const done = reaper(vitest.pid!, session, { NETCONFORM_KEEP: "never", NETCONFORM_REUSE: "false", NETCONFORM_KIND: kind.bin });
    vitest.kill("SIGKILL");
    const r = await done;
    expect(r.code, r.out).toBe(0);
    expect(kind.calls()).toBe(3);
    expect(r.out).toContain(`removed cluster ${session}-k, container ${session}-c, network ${session}-net, volume nc-run-${session}-r`);
    expect(await left(session)).toEqual([]);
  });

  it("logs an object it cannot remove, removes all the rest, keeps the ledger of the cluster it could not delete, exits 1 (kind stand-in)", async () => {
    const session = `ncreap-${Date.now().toString(36)}`;
    sessions.push(session);
    await withLedger(session);
    const kind = kindStandIn(Array.from({ length: 5 }, () => ({ code: 1, stderr: "ERROR: failed to delete cluster: permission denied" })));
    const vitest = stand_in();
    const done = reaper(vitest.pid!, session, { NETCONFORM_KEEP: "never", NETCONFORM_REUSE: "false", NETCONFORM_KIND: kind.bin });
    vitest.kill("SIGKILL");
    const r = await done;
    expect(r.code, r.out).toBe(1);
    expect(r.out).toContain(`removed container ${session}-c, network ${session}-net`);
    expect(r.out).toMatch(new RegExp(`could not remove cluster ${session}-k: kind delete cluster --name ${session}-k failed \\(exit 1\\): ERROR: failed to delete cluster: permission denied`));
    expect(r.out, "no stack trace in the reaper's log").not.toMatch(/^\s+at /m);
    expect(await left(session)).toEqual([`nc-run-${session}-r`]);
  });

  it("refuses a call without a pid and a session", async () => {
    const r = await new Promise<{ code: number | null; out: string }>((res) => {
      const p = spawn(process.execPath, [REAPER], { stdio: ["ignore", "ignore", "pipe"] });
      let out = "";
      p.stderr.on("data", (d: Buffer) => (out += d.toString()));
      p.on("exit", (code) => res({ code, out }));
    });
    expect(r.code).toBe(2);
    expect(r.out).toContain("usage: node harness/cli/reaper.ts <vitest-pid> <session>");
  });
});
