/**
 * The lab VM as an Executor (harness/lab/vm.ts), on the first lab kernel: what every lab control
 * relies on. stdout, stderr, exit codes and stdin through the agent; a timeout enforced in the
 * guest; a failing command throwing unless allowed; a host directory shared both ways (virtio-9p),
 * with its throughput; the console log; power-off. Runs whenever a VM can (not NETCONFORM_LAB=never).
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ExecError } from "../exec/types.ts";
import { attachJson } from "../report/allure.ts";
import { labProvided, labRun, labTeardown } from "./lab.ts";
import { targetTag } from "./targets.ts";
import { LabVm, SHARE_MOUNT } from "./vm.ts";

const p = labProvided();
const entry = p.images[0];
const run = labRun("vm");
const tag = entry ? targetTag({ kind: "vm", ...entry }) : "[lab]";
const missing = p.mode === "never" ? "NETCONFORM_LAB=never" : p.missing ?? (entry?.image ? undefined : "no lab image");
const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

describe(`${tag} kernel lab VM: the Executor every lab control runs on`, () => {
  let vm: LabVm;
  const share = mkdtempSync(join(tmpdir(), "nc-lab-share-"));
  const timings: Record<string, number> = {};

  beforeEach((ctx) => {
    if (missing) ctx.skip(`kernel lab: ${missing}`);
  });

  beforeAll(async () => {
    if (missing) return;
    vm = await LabVm.start({ image: entry!.image!, dir: run.dir, name: `${run.id}-vm`, share });
    run.defer(`VM ${vm.name}`, async () => void (await vm.stop()));
    timings["boot incl. share mount (ms)"] = vm.bootMs;
  });

  afterAll(() => rmSync(share, { recursive: true, force: true }));

  it(`${tag} commands: stdout, stderr, exit code and stdin cross the agent unchanged; a failure throws unless allowed; the guest enforces timeouts`, async () => {
    const r = await vm.run(["sh", "-c", "cat; echo out; echo err >&2; exit 3"], { input: "in\u00e9\n", allowFailure: true });
    expect(r).toMatchObject({ stdout: "in\u00e9\nout\n", stderr: "err\n", exitCode: 3, timedOut: false });
    await expect(vm.run(["false"])).rejects.toBeInstanceOf(ExecError);
    const t0 = Date.now();
    const slow = await vm.run(["sleep", "30"], { timeoutMs: 2_000, allowFailure: true });
    expect(slow.timedOut).toBe(true);
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect((await vm.run(["uname", "-r"])).stdout.trim()).toBe(entry!.image!.kernelVersion);
  });

  it(`${tag} a host directory is shared with the guest both ways (virtio-9p at ${SHARE_MOUNT}); negative control: a file the host never wrote is not there`, async () => {
    const data = randomBytes(8 * 1024 * 1024);
    writeFileSync(join(share, "from-host.bin"), data);
    let t0 = Date.now();
    const inGuest = await vm.run(["sha256sum", `${SHARE_MOUNT}/from-host.bin`]);
    timings["guest reads 8 MiB from the share (ms)"] = Date.now() - t0;
    expect(inGuest.stdout.split(/\s+/)[0]).toBe(sha(data));
    t0 = Date.now();
    await vm.run(["sh", "-c", `head -c 8388608 /dev/urandom > /tmp/g.bin && cp /tmp/g.bin ${SHARE_MOUNT}/from-guest.bin && sha256sum /tmp/g.bin`]).then((r) => {
      timings["guest writes 8 MiB to the share (ms, incl. /dev/urandom)"] = Date.now() - t0;
      expect(sha(readFileSync(join(share, "from-guest.bin")))).toBe(r.stdout.split(/\s+/)[0]);
    });
    const absent = await vm.run(["test", "-e", `${SHARE_MOUNT}/never-written`], { allowFailure: true });
    expect(absent.exitCode).toBe(1);
    await attachJson("timings", timings);
  });

  it(`${tag} the console log records the boot; power-off ends QEMU`, async () => {
    expect(vm.consoleLog()).toContain(`nc-init: kernel ${entry!.image!.kernelVersion} up`);
    const s = await vm.stop();
    expect(s.how).toBe("powered off");
    expect(vm.running).toBe(false);
  });
});

labTeardown(run);
