/**
 * npm run clean against real Docker: it removes a run's objects by its id and prints each one,
 * volumes and images included; --all --dry-run names what --all would remove (run objects, the
 * mirrors' containers and data volumes) without removing anything. A real `--all` is not run here:
 * on a shared machine it would remove other runs' objects and the shared mirrors.
 */
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import { LABEL_KEEP, LABEL_ROLE, LABEL_RUN, createVolume, removeVolume, runContainer } from "../adapters/docker.ts";
import { LABEL_SESSION } from "../run.ts";
import { footprint, leftOf } from "../testing/footprint.ts";

const CLEAN = resolve(import.meta.dirname, "clean.ts");

function clean(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const p = spawn(process.execPath, [CLEAN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  p.stdout.on("data", (d: Buffer) => (out += d.toString()));
  p.stderr.on("data", (d: Buffer) => (err += d.toString()));
  return new Promise((res) => p.on("exit", (code) => res({ code, out, err })));
}

describe("npm run clean", () => {
  const id = `nct-clean-${Date.now().toString(36)}`;
  const labels = { [LABEL_RUN]: id, [LABEL_SESSION]: id, [LABEL_ROLE]: "test" };
  afterAll(async () => {
    await removeVolume(`${id}-orphan-data`).catch(() => {});
    await clean(id);
  });

  it("--all --dry-run names run objects (volumes included) and orphaned mirror data volumes, and removes nothing", async () => {
    await createVolume(`${id}-vol`, labels);
    // what run-scoped mirrors used to leave: kept, role mirror-data, no run label
    await createVolume(`${id}-orphan-data`, { [LABEL_ROLE]: "mirror-data", [LABEL_KEEP]: "true" });
    const r = await clean("--all", "--dry-run");
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`${id}: would remove volume ${id}-vol`);
    expect(r.out).toMatch(new RegExp(`mirror data: would remove .*volume ${id}-orphan-data`));
    expect((await footprint(id)).volumes).toEqual([`${id}-orphan-data`, `${id}-vol`]);
  });

  it("<run-id> removes the run's container (with its anonymous volume), volume and image, printing each", async () => {
    await runContainer({ name: `${id}-c`, image: inject("images").toolbox!, labels, cmd: ["sleep", "600"], anonymousVolumes: ["/scratch"] });
    const seen = await footprint(id);
    expect(seen.volumes.filter((v) => /^[0-9a-f]{64}$/.test(v))).toHaveLength(1);
    const r = await clean(id);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`${id}: removed container ${id}-c, volume ${id}-vol`);
    expect(r.out).toMatch(/clean: removed 0 clusters, 1 container, 0 networks, 1 volume, 0 images/);
    // the orphan carries no run label: only --all removes it
    expect(await leftOf(id, seen)).toEqual([`volume ${id}-orphan-data`]);
  });

  it("refuses bad usage with exit 2 and the usage line", async () => {
    for (const args of [[], ["--everything"], ["--dry-run", "x"]]) {
      const r = await clean(...args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.err).toContain("usage: npm run clean -- <run-id>… | --all [--dry-run]");
    }
  });
});
