import { redact } from "../report/redact.ts";

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

/** argv as every executor shows it in evidence and errors: shell-quoted where needed, secrets redacted */
export function commandLine(argv: string[]): string {
  return redact(argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" "));
}

/** An executor's result: returned, or thrown as an ExecError when it failed (non-zero or timed out) and opts do not allow that. */
export function settle(result: ExecResult, where: string, opts: ExecOptions): ExecResult {
  if ((result.exitCode !== 0 || result.timedOut) && !opts.allowFailure) throw new ExecError(result, where);
  return result;
}
