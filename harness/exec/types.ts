/**
 * One interface for running a command anywhere: on the host, in a docker container, in a kind
 * node, in a pod. Everything in the harness that runs a command goes through an Executor.
 */
export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  /** true when the command was stopped because it ran past its timeout */
  timedOut: boolean;
  /** the command as run, for evidence and error messages (secrets redacted) */
  command: string;
  durationMs: number;
}

export interface ExecOptions {
  /** milliseconds before the command is killed; every executor has a default */
  timeoutMs?: number;
  /** text written to the command's standard input */
  input?: string;
  /** when false (the default) a non-zero exit code throws an ExecError */
  allowFailure?: boolean;
}

export interface Executor {
  /** a short name for logs and evidence: "host", "container:frr1", "node:kind-worker", "pod:ns/name" */
  readonly where: string;
  run(argv: string[], opts?: ExecOptions): Promise<ExecResult>;
}

export class ExecError extends Error {
  readonly result: ExecResult;
  readonly where: string;
  constructor(result: ExecResult, where: string) {
    super(
      `${where}: \`${result.command}\` ${result.timedOut ? "timed out" : `exited ${result.exitCode}`} after ${result.durationMs} ms` +
        (result.stderr.trim() ? `\n${result.stderr.trim().slice(-2000)}` : ""),
    );
    this.name = "ExecError";
    this.result = result;
    this.where = where;
  }
}
