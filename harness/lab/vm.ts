import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { HostExecutor } from "../exec/host.ts";
import { type ExecOptions, type ExecResult, type Executor, commandLine, settle } from "../exec/types.ts";
import { type LabImage, niced } from "./image.ts";

/**
 * One throwaway VM of the kernel lab: a Debian kernel booted by QEMU (TCG: this machine's /dev/kvm
 * cannot run it) on a per-VM qcow2 overlay of the lab image, with nc-init as PID 1 instead of
 * systemd and a command agent (guest/nc-agent) on a virtio-serial port. It is an Executor, so the
 * parsers, oracles and evidence collectors that read a container or a node read the guest the same
 * way. No network device: all traffic stays between network namespaces inside the guest.
 *
 * Stopping: the agent powers the guest off (sysrq o); after a bound the QEMU process is killed by
 * its PID. A detached watchdog kills QEMU (by PID, checking that PID is still this VM) when the
 * process that started it is gone, so a Ctrl-C that ends a vitest worker before its teardown ran
 * leaves no QEMU behind; the watchdog also bounds the VM's life (maxLifeS).
 */
export const DEFAULT_COMMAND_TIMEOUT_MS = 120_000;
/** where the guest sees LabVmOptions.share */
export const SHARE_MOUNT = "/mnt/share";

export const labVmOptionsSchema = z.object({
  image: z.custom<LabImage>((v) => typeof v === "object" && v !== null && "vmlinuz" in v, "a LabImage from ensureLabImage"),
  /** where the console log goes (evidence) */
  dir: z.string().min(1),
  /** QEMU's -name; carries the run id so a person (or `ps`) can tell whose VM it is */
  name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "letters, digits, . _ - (at most 64)"),
  memoryMb: z.number().int().min(256).max(8192).default(1024),
  cpus: z.number().int().min(1).max(4).default(2),
  /** until the agent answers; TCG on a loaded 2-core machine is slow */
  bootTimeoutMs: z.number().int().positive().default(Number(process.env.NETCONFORM_LAB_BOOT_TIMEOUT_S ?? 400) * 1000),
  /** a host directory shared with the guest (virtio-9p), mounted read-write at SHARE_MOUNT */
  share: z.string().min(1).optional(),
  /** the watchdog kills the VM after this long whatever happens */
  maxLifeS: z.number().int().positive().default(3 * 3600),
});
export type LabVmOptions = z.input<typeof labVmOptionsSchema>;

const replySchema = z.union([
  z.object({ id: z.number(), code: z.number().int(), out: z.string(), err: z.string(), timedOut: z.boolean(), ms: z.number() }),
  z.object({ id: z.number(), pong: z.string() }),
  z.object({ id: z.number(), bye: z.literal(true) }),
]);
type Reply = z.infer<typeof replySchema>;

/** how a lab machine stopped: a VM powers off (or is killed by PID); the direct target's container is removed */
export interface StopResult { how: "powered off" | "killed" | "already gone" | "removed"; ms: number }

export class LabVm implements Executor {
  readonly where: string;
  readonly image: LabImage;
  readonly consolePath: string;
  readonly name: string;
  /** ms from spawning QEMU to the agent's first answer (and the share mounted) */
  bootMs = 0;
  /** the shared directory: host path and where the guest mounted it */
  share: { host: string; guest: string } | undefined;
  private readonly tmp: string;
  private qemu: ChildProcess | undefined;
  private qemuStderr = "";
  private exited: Promise<number | null>;
  private exitedResolve!: (code: number | null) => void;
  private sock: Socket | undefined;
  private nextId = 1;
  private buf = "";
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private stopping: Promise<StopResult> | undefined;

  private constructor(o: z.output<typeof labVmOptionsSchema>) {
    this.image = o.image;
    this.name = o.name;
    this.where = `lab:${o.image.kernelVersion}`;
    mkdirSync(o.dir, { recursive: true });
    this.consolePath = join(o.dir, `console-${o.name}.log`);
    this.tmp = mkdtempSync(join(tmpdir(), "nc-lab-"));
    this.exited = new Promise((r) => (this.exitedResolve = r));
  }

  /** Boot a VM and wait for its agent. On failure the VM is stopped and the error quotes the console. */
  static async start(opts: LabVmOptions): Promise<LabVm> {
    const o = labVmOptionsSchema.parse(opts);
    const vm = new LabVm(o);
    try {
      await vm.boot(o);
      return vm;
    } catch (e) {
      await vm.stop();
      throw new Error(`${vm.where}: boot failed: ${(e as Error).message}\n--- console (last 40 lines) ---\n${vm.consoleTail(40)}`);
    }
  }

  private async boot(o: z.output<typeof labVmOptionsSchema>): Promise<void> {
    const t0 = Date.now();
    const overlay = join(this.tmp, "overlay.qcow2");
    const sockPath = join(this.tmp, "agent.sock");
    await new HostExecutor().run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", this.image.root, "-F", "raw", overlay]);
    const args = [
      "-name", o.name, "-nodefaults", "-no-user-config", "-display", "none", "-monitor", "none", "-no-reboot",
      "-accel", "tcg,thread=multi", "-cpu", "max", "-smp", String(o.cpus), "-m", String(o.memoryMb),
      "-kernel", this.image.vmlinuz, "-initrd", this.image.initrd,
      "-append", "root=/dev/vda rootfstype=ext4 rw console=ttyS0 init=/sbin/nc-init panic=-1 net.ifnames=0",
      "-drive", `file=${overlay},if=virtio,format=qcow2,cache=unsafe`,
      "-serial", `file:${this.consolePath}`,
      "-device", "virtio-serial-pci", "-chardev", `socket,id=agent,path=${sockPath},server=on,wait=off`,
      "-device", "virtserialport,chardev=agent,name=nc.agent",
      "-nic", "none",
      ...(o.share ? ["-virtfs", `local,path=${o.share},mount_tag=ncshare,security_model=none,id=ncshare`] : []),
    ];
    const argv = niced(["qemu-system-x86_64", ...args]);
    const q = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "ignore", "pipe"] });
    this.qemu = q;
    q.stderr!.on("data", (d: Buffer) => void (this.qemuStderr = (this.qemuStderr + d.toString()).slice(-4000)));
    q.on("exit", (code) => {
      this.exitedResolve(code);
      for (const p of this.pending.values()) p.reject(new Error(`${this.where}: QEMU exited (${code}) ${this.qemuStderr.trim()}`));
      this.pending.clear();
    });
    q.on("error", (e) => {
      this.qemuStderr += `\n${e.message}`;
      this.exitedResolve(null);
    });
    if (q.pid === undefined) throw new Error(`could not start qemu-system-x86_64 (${this.qemuStderr.trim() || "no pid"})`);
    this.watchdog(q.pid, o.maxLifeS);
    // the socket appears when QEMU is up; then ping until the agent answers
    const deadline = t0 + o.bootTimeoutMs;
    let gone: number | null | undefined;
    void this.exited.then((c) => (gone = c));
    while (!this.sock) {
      if (gone !== undefined) throw new Error(`QEMU exited (${gone}) before its agent socket appeared: ${this.qemuStderr.trim()}`);
      if (Date.now() > deadline) throw new Error(`no agent socket after ${o.bootTimeoutMs} ms`);
      if (existsSync(sockPath)) this.sock = await this.connect(sockPath).catch(() => undefined);
      if (!this.sock) await new Promise((r) => setTimeout(r, 200));
    }
    for (;;) {
      if (gone !== undefined) throw new Error(`QEMU exited (${gone}) before the agent answered: ${this.qemuStderr.trim()}`);
      if (Date.now() > deadline) throw new Error(`the agent did not answer within ${o.bootTimeoutMs} ms`);
      const pong = await this.request({ op: "ping" }, 3000).catch(() => undefined);
      if (pong && "pong" in pong) {
        if (pong.pong !== this.image.kernelVersion) throw new Error(`the guest runs kernel ${pong.pong}, not the image's ${this.image.kernelVersion}`);
        break;
      }
    }
    if (o.share) {
      const m = await this.run(["sh", "-c", `modprobe 9pnet_virtio && mkdir -p ${SHARE_MOUNT} && mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 ncshare ${SHARE_MOUNT}`], { allowFailure: true });
      if (m.exitCode !== 0) throw new Error(`mounting the share ${o.share} at ${SHARE_MOUNT}: ${m.stderr.trim() || `exit ${m.exitCode}`}`);
      this.share = { host: o.share, guest: SHARE_MOUNT };
    }
    this.bootMs = Date.now() - t0;
  }

  /** a detached shell that kills this QEMU when our process is gone or the VM outlived maxLifeS (bounded loop) */
  private watchdog(pid: number, maxLifeS: number): void {
    const script = `i=0; while [ $i -lt ${maxLifeS} ] && kill -0 ${process.pid} 2>/dev/null && kill -0 ${pid} 2>/dev/null; do sleep 1; i=$((i+1)); done
if grep -qa -- '${this.name}' /proc/${pid}/cmdline 2>/dev/null; then kill ${pid}; sleep 5; grep -qa -- '${this.name}' /proc/${pid}/cmdline 2>/dev/null && kill -9 ${pid}; fi
rm -rf '${this.tmp}'`;
    const w = spawn("sh", ["-c", script], { detached: true, stdio: "ignore" });
    w.unref();
  }

  private connect(path: string): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const s = connect(path);
      s.once("connect", () => {
        s.on("data", (d) => this.onData(d));
        s.on("close", () => {
          for (const p of this.pending.values()) p.reject(new Error(`${this.where}: agent channel closed`));
          this.pending.clear();
        });
        resolve(s);
      });
      s.once("error", reject);
    });
  }

  private onData(d: Buffer): void {
    this.buf += d.toString("utf8");
    let i: number;
    while ((i = this.buf.indexOf("\n")) >= 0) {
      const line = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 1);
      let parsed: Reply;
      try {
        parsed = replySchema.parse(JSON.parse(line));
      } catch {
        continue; // not ours (a partial line from before we connected)
      }
      const p = this.pending.get(parsed.id);
      if (p) {
        this.pending.delete(parsed.id);
        p.resolve(parsed);
      }
    }
  }

  private request(body: Record<string, unknown>, timeoutMs: number): Promise<Reply> {
    const sock = this.sock;
    if (!sock || sock.destroyed) return Promise.reject(new Error(`${this.where}: no agent channel`));
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      const t = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.where}: no answer from the agent within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: (r) => (clearTimeout(t), resolve(r)), reject: (e) => (clearTimeout(t), reject(e)) });
      sock.write(`${JSON.stringify({ id, ...body })}\n`);
    });
  }

  async run(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    if (!argv.length) throw new Error(`${this.where}: run: empty argv`);
    const timeoutMs = opts.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    const started = Date.now();
    const input = opts.input !== undefined ? Buffer.from(opts.input).toString("base64") : null;
    // the guest enforces the timeout; the host waits a margin longer for the answer
    const r = await this.request({ argv, input, timeout: timeoutMs / 1000 }, timeoutMs + 30_000);
    if (!("code" in r)) throw new Error(`${this.where}: unexpected agent answer ${JSON.stringify(r)}`);
    const result: ExecResult = {
      stdout: Buffer.from(r.out, "base64").toString("utf8"),
      stderr: Buffer.from(r.err, "base64").toString("utf8"),
      exitCode: r.code,
      timedOut: r.timedOut,
      command: commandLine(argv),
      durationMs: Date.now() - started,
    };
    return settle(result, this.where, opts);
  }

  /** a shell command line in the guest (sh -c) */
  sh(script: string, opts?: ExecOptions): Promise<ExecResult> {
    return this.run(["sh", "-c", script], opts);
  }

  consoleLog(): string {
    return existsSync(this.consolePath) ? readFileSync(this.consolePath, "utf8") : "";
  }

  consoleTail(n: number): string {
    return this.consoleLog().split("\n").slice(-n).join("\n");
  }

  /** is the QEMU process still there? */
  get running(): boolean {
    return this.qemu?.exitCode === null && this.qemu.signalCode === null;
  }

  get pid(): number | undefined {
    return this.qemu?.pid;
  }

  /** Power the guest off; kill QEMU by PID if it is still there after `graceMs`. Idempotent. */
  stop(graceMs = 20_000): Promise<StopResult> {
    this.stopping ??= this.stopOnce(graceMs);
    return this.stopping;
  }

  private async stopOnce(graceMs: number): Promise<StopResult> {
    const t0 = Date.now();
    const q = this.qemu;
    const done = (how: StopResult["how"]): StopResult => {
      this.sock?.destroy();
      rmSync(this.tmp, { recursive: true, force: true });
      return { how, ms: Date.now() - t0 };
    };
    if (!q || !this.running) return done("already gone");
    const within = (ms: number) => Promise.race([this.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
    if (this.sock && !this.sock.destroyed) {
      await this.request({ op: "poweroff" }, 5000).catch(() => undefined);
      if (await within(graceMs)) return done("powered off");
    }
    q.kill("SIGTERM");
    if (!(await within(5000))) {
      q.kill("SIGKILL");
      await within(5000);
    }
    return done("killed");
  }
}
