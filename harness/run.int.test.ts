import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { removeVolume } from "./adapters/docker.ts";
import { sweep } from "./run.ts";
import { type Footprint, footprint, leftOf } from "./testing/footprint.ts";

const child = join(import.meta.dirname, "testing", "leak-child.ts");

/** Start the stand-in suite process; resolve once it has created its objects. */
function start(mode: "fail" | "sigint" | "leak-volume", runId: string, keep = "never") {
  const p = spawn(process.execPath, [child, mode, runId, keep], { stdio: ["pipe", "pipe", "pipe"] });
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
  return { p, ready, exit, stderr: () => err, go: () => p.stdin.write("go\n") };
}

/** what the stand-in creates: 3 containers, 1 network, a named and an anonymous volume, 1 image */
function expectFull(f: Footprint, id: string): void {
  expect(f.containers).toEqual([`${id}-client`, `${id}-router`, `${id}-store`]);
  expect(f.networks).toEqual([`${id}-leak`]);
  expect(f.volumes).toContain(`${id}-data`);
  expect(f.volumes.filter((v) => /^[0-9a-f]{64}$/.test(v)), "the anonymous volume of the store container").toHaveLength(1);
  expect(f.images).toEqual([`netconform/leak-probe:${id}`]);
}

describe("cleanup: nothing of a run is left behind (containers, networks, volumes named and anonymous, images)", () => {
  it("leaves nothing after a failing run", async () => {
    const id = `nct-leakfail-${Date.now().toString(36)}`;
    const c = start("fail", id);
    await c.ready;
    const seen = await footprint(id);
    expectFull(seen, id);
    c.go();
    expect(await c.exit).toBe(1);
    expect(c.stderr()).toContain("deliberate failure");
    expect(await leftOf(id, seen)).toEqual([]);
  });

  it("leaves nothing after SIGINT", async () => {
    const id = `nct-leakint-${Date.now().toString(36)}`;
    const c = start("sigint", id);
    await c.ready;
    const seen = await footprint(id);
    expectFull(seen, id); // control: the objects existed while it ran
    c.p.kill("SIGINT");
    expect(await c.exit).toBe(130);
    expect(await leftOf(id, seen)).toEqual([]);
  });

  it("negative control: a volume the run mounts but keeps and does not label is reported as left behind", async () => {
    const id = `nct-leakvol-${Date.now().toString(36)}`;
    const c = start("leak-volume", id);
    await c.ready;
    const seen = await footprint(id);
    expect(seen.volumes).toContain(`${id}-kept`);
    c.go();
    expect(await c.exit).toBe(1);
    try {
      expect(await leftOf(id, seen)).toEqual([`volume ${id}-kept`]);
    } finally {
      await removeVolume(`${id}-kept`);
    }
  });

  it("keeps a failed run's objects on purpose with keep=on-failure, and sweep removes them later", async () => {
    const id = `nct-leakkeep-${Date.now().toString(36)}`;
    const c = start("fail", id, "on-failure");
    await c.ready;
    const seen = await footprint(id);
    c.go();
    expect(await c.exit).toBe(1);
    expect(c.stderr()).toMatch(/keeping 6 objects of run/);
    expect((await leftOf(id, seen)).filter((o) => !/^volume [0-9a-f]{64}$/.test(o))).toEqual([
      `container ${id}-client`,
      `container ${id}-router`,
      `container ${id}-store`,
      `network ${id}-leak`,
      `volume ${id}-data`,
      `image netconform/leak-probe:${id}`,
    ]);
    const r = await sweep({ run: id }, async () => {});
    expect(r.errors).toEqual([]);
    expect(r.removed).toHaveLength(6);
    expect(await leftOf(id, seen)).toEqual([]);
  });
});
