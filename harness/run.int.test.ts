import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LABEL_RUN, listByLabel } from "./adapters/docker.ts";
import { behaviour } from "./report/allure.ts";
import { sweep } from "./run.ts";

const child = join(import.meta.dirname, "testing", "leak-child.ts");

/** Start the stand-in suite process; resolve once it has created its objects. */
function start(mode: "fail" | "sigint", runId: string, keep = "never") {
  const p = spawn(process.execPath, [child, mode, runId, keep], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  p.stderr.on("data", (d) => (err += d));
  const ready = new Promise<void>((res, rej) => {
    p.stdout.on("data", (d) => {
      out += d;
      if (out.includes("READY")) res();
    });
    p.once("exit", (c) => rej(new Error(`child exited ${c} before READY: ${err}`)));
  });
  const exit = new Promise<number | null>((res) => p.once("exit", (c) => res(c)));
  return { p, ready, exit, stderr: () => err };
}

async function leftovers(runId: string): Promise<string[]> {
  const l = await listByLabel(LABEL_RUN, runId);
  return [...l.containers.map((c) => `container ${c.name}`), ...l.networks.map((n) => `network ${n.name}`), ...l.volumes.map((v) => `volume ${v}`)];
}

describe("cleanup: nothing of a run is left behind", () => {
  it("leaves no container or network after a failing run", async () => {
    const id = `nct-leakfail-${Date.now().toString(36)}`;
    const c = start("fail", id);
    await c.ready;
    expect(await c.exit).toBe(1);
    expect(c.stderr()).toContain("deliberate failure");
    expect(await leftovers(id)).toEqual([]);
  });

  it("leaves no container or network after SIGINT", async () => {
    const id = `nct-leakint-${Date.now().toString(36)}`;
    const c = start("sigint", id);
    await c.ready;
    expect((await leftovers(id)).length).toBe(3); // control: the objects existed while it ran
    c.p.kill("SIGINT");
    expect(await c.exit).toBe(130);
    expect(await leftovers(id)).toEqual([]);
  });

  it("keeps a failed run's objects on purpose with keep=on-failure, and sweep removes them later", async () => {
    const id = `nct-leakkeep-${Date.now().toString(36)}`;
    const c = start("fail", id, "on-failure");
    await c.ready;
    expect(await c.exit).toBe(1);
    expect(c.stderr()).toMatch(/keeping 3 objects of run/);
    expect((await leftovers(id)).sort()).toEqual([`container ${id}-client`, `container ${id}-router`, `network ${id}-leak`]);
    const removed = await sweep({ run: id }, async () => {});
    expect(removed).toHaveLength(3);
    expect(await leftovers(id)).toEqual([]);
  });
});
