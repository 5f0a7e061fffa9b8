import { execa } from "execa";
import { type ExecOptions, type ExecResult, type Executor, commandLine, settle } from "./types.ts";

export const DEFAULT_TIMEOUT_MS = 120_000;

/** Runs argv on this machine, without a shell. */
export class HostExecutor implements Executor {
  readonly where = "host";
  private readonly env: Record<string, string>;
  constructor(env: Record<string, string> = {}) {
    this.env = env;
  }

  async run(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const [file, ...args] = argv;
    if (!file) throw new Error("HostExecutor.run: empty argv");
    const started = Date.now();
    const r = await execa(file, args, {
      reject: false,
      timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      input: opts.input,
      env: this.env,
      stripFinalNewline: false,
      maxBuffer: 256 * 1024 * 1024,
    });
    const result: ExecResult = {
      stdout: String(r.stdout ?? ""),
      stderr: String(r.stderr ?? "") + (r.failed && r.exitCode === undefined && !r.timedOut ? String(r.message ?? "") : ""),
      exitCode: r.exitCode ?? (r.timedOut ? 124 : 127),
      timedOut: Boolean(r.timedOut),
      command: commandLine(argv),
      durationMs: Date.now() - started,
    };
    return settle(result, this.where, opts);
  }
}

/** Runs argv inside a running docker container (also a kind node, which is a container). */
export class ContainerExecutor implements Executor {
  readonly where: string;
  readonly container: string;
  private readonly host: Executor;
  constructor(container: string, host: Executor = new HostExecutor(), kind: "container" | "node" | "host-kernel" = "container") {
    this.container = container;
    this.host = host;
    this.where = `${kind}:${container}`;
  }

  async run(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const docker = ["docker", "exec", ...(opts.input !== undefined ? ["-i"] : []), this.container, ...argv];
    const r = await this.host.run(docker, { ...opts, allowFailure: true });
    return settle({ ...r, command: commandLine(argv) }, this.where, opts);
  }
}

/** A kind node is a docker container whose name is the node name. */
export function nodeExecutor(nodeName: string, host?: Executor): Executor {
  return new ContainerExecutor(nodeName, host, "node");
}
