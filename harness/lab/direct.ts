import { existsSync } from "node:fs";
import { join } from "node:path";
import { LABEL_RUN, LABEL_ROLE, removeContainer, runContainer } from "../adapters/docker.ts";
import { ContainerExecutor, HostExecutor } from "../exec/host.ts";
import type { ExecOptions, ExecResult, Executor } from "../exec/types.ts";
import { FORGE_LABEL } from "../images/forge-lib.ts";
import { type LabBuildRecord, LAB_PACKAGES, ensureUserland, userlandHash } from "./image.ts";
import type { StopResult } from "./vm.ts";

/**
 * The kernel lab's direct target: the lab's controls on the host's own kernel, for a host that has
 * the features a control needs (harness/lab/targets.ts decides). A privileged container of the lab
 * userland (the same debootstrap the VM boots, imported into docker) with no network of its own:
 * the controls' network namespaces, links, addresses, rules and daemons live inside it, and its
 * own /run keeps their names away from the host's `ip netns`. The host's /lib/modules is mounted
 * read-only so `modprobe` finds modules already loaded or built in (and loads others where the
 * host allows it). Removing the container ends every process and namespace it made.
 *
 * It answers the same calls a LabVm does (run, sh, stop, consoleLog, running), so a lab file runs
 * unchanged on either.
 */
export const DIRECT_IMAGE_REPO = "netconform/lab-userland";

/** The userland as a docker image, tagged by its inputs' hash; imported once (kept like forged images). */
export async function ensureDirectImage(opts: { exec?: Executor; log?: (m: string) => void; records?: LabBuildRecord[] } = {}): Promise<string> {
  const exec = opts.exec ?? new HostExecutor({ PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" });
  const hash = userlandHash(LAB_PACKAGES);
  const tag = `${DIRECT_IMAGE_REPO}:${hash}`;
  const have = await exec.run(["docker", "image", "inspect", "--format", "{{.Id}}", tag], { allowFailure: true });
  if (have.exitCode === 0) {
    opts.records?.push({ what: `docker image ${tag}`, built: false, seconds: 0 });
    return tag;
  }
  const udir = await ensureUserland({ ...opts, exec: undefined });
  const t0 = Date.now();
  const changes = ["CMD [\"sleep\",\"infinity\"]", `LABEL ${FORGE_LABEL}=1`, `LABEL ${FORGE_LABEL}.name=lab-userland`, `LABEL ${FORGE_LABEL}.inputs=${hash}`];
  await exec.run(["sh", "-c", `tar -C '${join(udir, "rootfs")}' -c . | docker import ${changes.map((c) => `--change '${c}'`).join(" ")} - ${tag}`], { timeoutMs: 600_000 });
  opts.records?.push({ what: `docker image ${tag}`, built: true, seconds: (Date.now() - t0) / 1000 });
  return tag;
}

export class DirectMachine implements Executor {
  readonly where: string;
  readonly name: string;
  readonly kernelVersion: string;
  /** ms from creating the container to its first command */
  bootMs = 0;
  private readonly exec: ContainerExecutor;
  private alive = true;
  private stopping: Promise<StopResult> | undefined;

  private constructor(name: string, kernelVersion: string) {
    this.name = name;
    this.kernelVersion = kernelVersion;
    this.exec = new ContainerExecutor(name, undefined, "host-kernel");
    this.where = this.exec.where;
  }

  static async start(o: { image: string; name: string; runId: string; kernelVersion: string }): Promise<DirectMachine> {
    const t0 = Date.now();
    await runContainer({
      name: o.name,
      image: o.image,
      labels: { [LABEL_RUN]: o.runId, [LABEL_ROLE]: "lab-direct" },
      privileged: true,
      cmd: ["sleep", "infinity"],
      network: { name: "none" },
      hostname: "nc-lab",
      binds: existsSync("/lib/modules") ? ["/lib/modules:/lib/modules:ro"] : [],
      tmpfs: { "/run": "rw,mode=755", "/tmp": "rw,mode=1777" },
    });
    const m = new DirectMachine(o.name, o.kernelVersion);
    try {
      await m.run(["true"], { timeoutMs: 30_000 });
    } catch (e) {
      await m.stop();
      throw e;
    }
    m.bootMs = Date.now() - t0;
    return m;
  }

  run(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return this.exec.run(argv, opts);
  }

  sh(script: string, opts?: ExecOptions): Promise<ExecResult> {
    return this.run(["sh", "-c", script], opts);
  }

  /** the host kernel's recent messages (what a VM's console log gives for a lab kernel) */
  async consoleLog(): Promise<string> {
    if (!this.alive) return "";
    const r = await this.exec.run(["sh", "-c", "dmesg 2>&1 | tail -n 200"], { allowFailure: true, timeoutMs: 20_000 });
    return r.stdout;
  }

  get running(): boolean {
    return this.alive;
  }

  /** Remove the container (its processes and namespaces go with it). Idempotent. */
  stop(): Promise<StopResult> {
    this.stopping ??= (async () => {
      const t0 = Date.now();
      await removeContainer(this.name);
      this.alive = false;
      return { how: "removed" as const, ms: Date.now() - t0 };
    })();
    return this.stopping;
  }
}
