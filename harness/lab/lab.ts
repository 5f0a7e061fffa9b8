import { beforeEach, inject } from "vitest";
import { type ExecOptions, type ExecResult, type Executor, commandLine, settle } from "../exec/types.ts";
import { gateSuite } from "../preflight/gate.ts";
import { attachText } from "../report/allure.ts";
import { Run } from "../run.ts";
import { parseConfig } from "../config.ts";
import type { LabImage } from "./image.ts";
import { LabVm } from "./vm.ts";

/**
 * What a lab test file uses: the images the lab project's global setup built (or the reason there
 * are none), a gate that skips with that reason, a VM per kernel with teardown on failure, success
 * and SIGINT, and network namespaces of the guest as Executors ("hosts" of depth D).
 */
export interface LabProvided {
  /** per kernel package: the image, or why there is none */
  images: Array<{ pkg: string; image?: LabImage }>;
  /** why the lab cannot run here at all (NETCONFORM_LAB=never, no qemu and no way to install it) */
  missing?: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    lab: LabProvided;
  }
}

export function labProvided(): LabProvided {
  return inject("lab") ?? { images: [], missing: "the lab project's global setup did not run (use --project lab)" };
}

/**
 * Gate a lab file: NETCONFORM_LAB=never is always a skip naming itself; a lab that cannot run here
 * is a skip with the reason, or an error when the file was asked for by name (harness/preflight/gate.ts).
 */
export function gateLab(file: string): boolean {
  const p = labProvided();
  if (p.missing?.startsWith("NETCONFORM_LAB=never")) {
    beforeEach((ctx) => ctx.skip(`kernel lab: ${p.missing}`));
    return false;
  }
  return gateSuite(file, p.missing ? `kernel lab: ${p.missing}` : undefined);
}

/** a Run for one lab file: its id names the VMs; keep=never; teardown on SIGINT/SIGTERM */
export function labRun(tag: string): Run {
  const id = `ncl-${tag}-${Date.now().toString(36)}`.slice(0, 40);
  const run = new Run(parseConfig({ runId: id, keep: "never", artifactsDir: "reports/runs" }));
  run.installSignalHandlers();
  return run;
}

/** Boot a VM of `image` for `run`; it is stopped by the run's teardown (and attached when a test failed). */
export async function labVm(run: Run, image: LabImage, role: string): Promise<LabVm> {
  const vm = await LabVm.start({ image, dir: run.dir, name: `${run.id}-${role}` });
  run.defer(`VM ${vm.name} (${vm.where}, pid ${vm.pid})`, async () => {
    const s = await vm.stop();
    if (s.how === "killed") throw new Error(`VM ${vm.name} did not power off; killed by PID after the grace period`);
  });
  return vm;
}

/** attach the guest's console log (kernel messages, nc-init, the agent) to the running test */
export async function attachConsole(vm: LabVm): Promise<void> {
  await attachText(`${vm.where} console log`, vm.consoleLog());
}

/** A network namespace of the guest as an Executor: `ip netns exec <ns> argv…`. */
export class NetnsExecutor implements Executor {
  readonly where: string;
  readonly vm: LabVm;
  readonly ns: string;
  constructor(vm: LabVm, ns: string) {
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

/** "[lab 6.1.0-50-amd64]" for test names (the kernel package when no image was built) */
export function labTag(entry: { pkg: string; image?: LabImage }): string {
  return `[lab ${entry.image?.kernelVersion ?? entry.pkg}]`;
}
