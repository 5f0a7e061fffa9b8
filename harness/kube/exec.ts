import type { V1Status } from "@kubernetes/client-node";
import { Readable, Writable } from "node:stream";
import { type ExecOptions, type ExecResult, type Executor, commandLine, settle } from "../exec/types.ts";
import type { KubeClient } from "./client.ts";

export const POD_EXEC_DEFAULT_TIMEOUT_MS = 120_000;

function collector(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
      cb();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString("utf8") };
}

/**
 * The exit code a pod exec's status channel reports: Success → 0; Failure with reason NonZeroExitCode
 * → the ExitCode cause; any other Failure (the command could not start) → 126, or 127 when the
 * executable was not found, as a shell would say.
 */
export function exitCodeFromStatus(s: V1Status | undefined): number {
  if (!s) return -1;
  if (s.status === "Success") return 0;
  const cause = s.details?.causes?.find((c) => c.reason === "ExitCode");
  if (cause?.message !== undefined && /^\d+$/.test(cause.message)) return Number(cause.message);
  if (/not found|no such file/i.test(s.message ?? "")) return 127;
  return 126;
}

/**
 * Run argv in a pod's container through the API server (client-node Exec over websocket, no kubectl).
 * Resolves with stdout, stderr and the exit code from the status channel; a command still running at
 * timeoutMs is cut off (the websocket closed) and reported with timedOut and exit code 124. A
 * connection that fails or closes without a status rejects: that is not the command's failure.
 */
export async function execInPod(kube: KubeClient, ns: string, pod: string, container: string, argv: string[], timeoutMs = POD_EXEC_DEFAULT_TIMEOUT_MS, input?: string): Promise<ExecResult> {
  if (argv.length === 0) throw new Error("execInPod: empty argv");
  const started = Date.now();
  const out = collector();
  const err = collector();
  let status: V1Status | undefined;
  // stdin is sent only when given; its end is signalled with a v5 CLOSE frame (Kubernetes ≥ 1.30)
  const stdin = input !== undefined ? Readable.from([Buffer.from(input)]) : null;
  let ws: Awaited<ReturnType<KubeClient["exec"]["exec"]>>;
  try {
    ws = await kube.exec.exec(ns, pod, container, argv, out.stream, err.stream, stdin, false, (s) => {
      status = s;
    });
  } catch (e) {
    // the upgrade was refused: no such pod or container, not running, forbidden
    const m = e instanceof Error ? e.message : String((e as { message?: unknown })?.message ?? e);
    throw new Error(`exec in pod ${ns}/${pod} (${container}): ${m}`);
  }
  let timedOut = false;
  await new Promise<void>((resolve, reject) => {
    if (ws.readyState === ws.CLOSED) return resolve();
    const timer = setTimeout(() => {
      timedOut = true;
      ws.terminate();
    }, timeoutMs);
    ws.on("close", () => {
      clearTimeout(timer);
      resolve();
    });
    ws.on("error", (e: Error) => {
      clearTimeout(timer);
      reject(new Error(`exec in pod ${ns}/${pod} (${container}): websocket error: ${e.message}`));
    });
  });
  const command = commandLine(argv);
  if (!status && !timedOut) throw new Error(`exec in pod ${ns}/${pod} (${container}): \`${command}\`: the connection closed without an exit status`);
  let stderr = err.text();
  if (status && status.status !== "Success" && !status.details?.causes?.some((c) => c.reason === "ExitCode") && status.message) stderr += (stderr ? "\n" : "") + status.message;
  return {
    stdout: out.text(),
    stderr,
    exitCode: timedOut ? 124 : exitCodeFromStatus(status),
    timedOut,
    command,
    durationMs: Date.now() - started,
  };
}

/** An Executor for one container of one pod: where = "pod:<ns>/<name>" (plus "/<container>" when several). */
export class PodExecutor implements Executor {
  readonly where: string;
  readonly namespace: string;
  readonly pod: string;
  readonly container: string;
  private readonly kube: KubeClient;
  constructor(kube: KubeClient, namespace: string, pod: string, container: string, showContainer = false) {
    this.kube = kube;
    this.namespace = namespace;
    this.pod = pod;
    this.container = container;
    this.where = `pod:${namespace}/${pod}${showContainer ? `/${container}` : ""}`;
  }

  async run(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const r = await execInPod(this.kube, this.namespace, this.pod, this.container, argv, opts.timeoutMs ?? POD_EXEC_DEFAULT_TIMEOUT_MS, opts.input);
    return settle(r, this.where, opts);
  }
}
