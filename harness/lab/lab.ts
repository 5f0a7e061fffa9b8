import { readdirSync, readFileSync } from "node:fs";
import { afterAll, beforeEach, expect, inject } from "vitest";
import { type ExecOptions, type ExecResult, type Executor, commandLine, settle } from "../exec/types.ts";
import { gateSuite } from "../preflight/gate.ts";
import { attachText } from "../report/allure.ts";
import { Run } from "../run.ts";
import { footprint } from "../testing/footprint.ts";
import { parseConfig } from "../config.ts";
import type { LabImage } from "./image.ts";
import { DirectMachine } from "./direct.ts";
import { type LabHost, type LabMode, type LabTarget, chooseTargets, labNeeds, targetTag } from "./targets.ts";
import { LabVm, type StopResult } from "./vm.ts";

/**
 * What a lab test file uses: the images the lab project's global setup built (or the reason there
 * are none), a gate that skips with that reason, a VM per kernel with teardown on failure, success
 * and SIGINT, and network namespaces of the guest as Executors ("hosts" of depth D).
 */
export interface LabProvided {
  /** NETCONFORM_LAB */
  mode: LabMode;
  /** the host's kernel, its probed features, and whether the direct target can run here */
  host?: LabHost;
  /** per kernel package: the VM image, or why there is none */
  images: Array<{ pkg: string; image?: LabImage }>;
  /** why no VM can run here (no qemu and no way to install it; NETCONFORM_LAB=never) */
  missing?: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    lab: LabProvided;
  }
}

export function labProvided(): LabProvided {
  return inject("lab") ?? { mode: "auto", images: [], missing: "the lab project's global setup did not run (use --project lab)" };
}

/** A lab file's targets (each with its tag for test names), and whether the file may run. */
export interface LabFile {
  enabled: boolean;
  targets: Array<{ target: LabTarget; tag: string }>;
  /** why these targets (host or VM), for the report */
  why: string;
}

/**
 * Gate a lab file by the kernel features it needs (LAB_NEEDS in targets.ts): on the host kernel
 * directly when it has them, else in the lab's VMs (NETCONFORM_LAB decides, see targets.ts).
 * NETCONFORM_LAB=never without the host's features is always a skip naming both; a lab that cannot
 * run here is a skip with the reason, or an error when the file was asked for by name
 * (harness/preflight/gate.ts).
 */
export function labFile(file: string): LabFile {
  const p = labProvided();
  const c = chooseTargets({ mode: p.mode, host: p.host, images: p.images, vmMissing: p.missing }, labNeeds(file));
  const targets = c.targets.map((target) => ({ target, tag: targetTag(target) }));
  // with no target at all, one placeholder keeps the file's tests listed (and skipped with the reason)
  const listed = targets.length ? targets : p.images.map((i) => ({ target: { kind: "vm" as const, ...i }, tag: targetTag({ kind: "vm", ...i }) }));
  if (c.missing?.startsWith("NETCONFORM_LAB=never")) {
    beforeEach((ctx) => ctx.skip(`kernel lab: ${c.missing}`));
    return { enabled: false, targets: listed, why: c.why };
  }
  return { enabled: gateSuite(file, c.missing ? `kernel lab: ${c.missing}` : undefined), targets: listed, why: c.why };
}

/** a Run for one lab file: its id names the VMs; keep=never; teardown on SIGINT/SIGTERM */
export function labRun(tag: string): Run {
  const id = `ncl-${tag}-${Date.now().toString(36)}`.slice(0, 40);
  const run = new Run(parseConfig({ runId: id, keep: "never", artifactsDir: "reports/runs" }));
  run.installSignalHandlers();
  return run;
}

/** A machine of the lab: a VM booting a lab kernel, or the direct target on the host kernel. */
export type LabMachine = LabVm | DirectMachine;

/**
 * Start the machine of `target` for `run`, named `<run id>-<prefix><kernel version>`; it is stopped
 * by the run's teardown (and attached when a test failed).
 */
export async function labMachine(run: Run, target: LabTarget, prefix = ""): Promise<LabMachine> {
  const role = `${prefix}${targetKernel(target).version.replace(/[^A-Za-z0-9.-]/g, "-").slice(0, 20)}`;
  const name = `${run.id}-${role}`.replace(/[^A-Za-z0-9._-]/g, "-").slice(0, 64);
  if (target.kind === "host") {
    const m = await DirectMachine.start({ image: target.image, name, runId: run.id, kernelVersion: target.kernelVersion });
    run.defer(`direct target ${m.name} (${m.where})`, async () => void (await m.stop()));
    return m;
  }
  if (!target.image) throw new Error(`no lab image for ${target.pkg}`);
  const vm = await LabVm.start({ image: target.image, dir: run.dir, name });
  run.defer(`VM ${vm.name} (${vm.where}, pid ${vm.pid})`, async () => {
    const s = await vm.stop();
    if (s.how === "killed") throw new Error(`VM ${vm.name} did not power off; killed by PID after the grace period`);
  });
  return vm;
}

/** the kernel a target runs: `uname -r` as the lab image or the host probe recorded it */
export function targetKernel(t: LabTarget): { version: string; pkg: string } {
  return t.kind === "host" ? { version: t.kernelVersion, pkg: `the host's kernel ${t.kernelVersion}` } : { version: t.image?.kernelVersion ?? t.pkg, pkg: t.image?.kernelPackage ?? t.pkg };
}

/** a clean stop: a VM powered off, the direct target's container removed */
export function cleanStop(s: StopResult): boolean {
  return s.how === "powered off" || s.how === "removed";
}

/** A lab file's afterAll: stop the machine (its time into `timings` when given) and expect a clean stop. */
export async function stopMachine(vm: LabMachine, timings?: Record<string, number>): Promise<void> {
  const s = await vm.stop();
  if (timings) timings["power-off (ms)"] = s.ms;
  expect(cleanStop(s), `${vm.name}: ${s.how}`).toBe(true);
  expect(vm.running).toBe(false);
}

/** A network namespace of the guest as an Executor: `ip netns exec <ns> argv…`. */
export class NetnsExecutor implements Executor {
  readonly where: string;
  readonly vm: LabMachine;
  readonly ns: string;
  constructor(vm: LabMachine, ns: string) {
    this.vm = vm;
    this.ns = ns;
    this.where = `${vm.where}/netns:${ns}`;
  }

  async run(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const r = await this.vm.run(["ip", "netns", "exec", this.ns, ...argv], { ...opts, allowFailure: true });
    return settle({ ...r, command: commandLine(argv) }, this.where, opts);
  }

  sh(script: string, opts?: ExecOptions): Promise<ExecResult> {
    return this.run(["sh", "-c", script], opts);
  }
}



/** attach the machine's console log (a VM: kernel messages, nc-init, the agent; the direct target: the host's dmesg) to the running test */
export async function attachConsole(vm: LabMachine): Promise<void> {
  await attachText(vm instanceof DirectMachine ? `${vm.where} host kernel messages (dmesg)` : `${vm.where} console log`, await vm.consoleLog());
}

/** QEMU processes whose command line names `runId` (a lab VM is named `<run id>-<role>`) */
export function qemuOf(runId: string): string[] {
  return readdirSync("/proc").filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, "utf8").includes(`${runId}-`) && readFileSync(`/proc/${p}/comm`, "utf8").startsWith("qemu");
    } catch {
      return false;
    }
  });
}

/**
 * A lab file's last step (module scope): the run's teardown without errors, then nothing of the
 * run left running: no QEMU naming it, no container labelled with it (the direct target).
 */
export function labTeardown(run: Run): void {
  afterAll(async () => {
    const t = await run.teardown();
    run.removeSignalHandlers();
    expect(t.errors).toEqual([]);
    expect(qemuOf(run.id), `QEMU processes of run ${run.id} left`).toEqual([]);
    expect((await footprint(run.id)).containers, `containers of run ${run.id} left`).toEqual([]);
  });
}
