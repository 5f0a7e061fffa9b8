import type { RunConfig } from "../config.ts";
import { TIMEOUT_NAMES } from "../config.ts";

export type TimeoutName = (typeof TIMEOUT_NAMES)[number];

/**
 * How long a wait may take: one of the run's named timeouts (the usual case, so a message can say
 * which setting to raise), or an explicit budget with a label for waits that have no setting.
 */
export type WaitBudget =
  | { timeoutName: TimeoutName; config: Pick<RunConfig, "timeouts"> }
  | { timeoutMs: number; timeoutLabel: string };

export interface ProbeResult {
  done: boolean;
  /** what the probe saw, for the timeout message: "0/1 ready", "Ready=True since …" */
  detail: string;
}

export interface WaitOptions {
  /** first pause between probes (ms); grows ×1.5 up to maxIntervalMs */
  intervalMs?: number;
  maxIntervalMs?: number;
  /** for tests of the pure logic: a clock and a sleep that need not be real */
  clock?: { now(): number; sleep(ms: number): Promise<void> };
}

export class WaitTimeoutError extends Error {
  readonly description: string;
  readonly timeout: string;
  readonly timeoutMs: number;
  readonly lastDetail: string;
  readonly probes: number;
  constructor(description: string, timeout: string, timeoutMs: number, lastDetail: string, probes: number) {
    super(timeoutMessage(description, timeout, timeoutMs, lastDetail));
    this.name = "WaitTimeoutError";
    this.description = description;
    this.timeout = timeout;
    this.timeoutMs = timeoutMs;
    this.lastDetail = lastDetail;
    this.probes = probes;
  }
}

/** "180 s", "1.5 s", "0.3 s" */
export function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s >= 10 ? Math.round(s) : Number(s.toFixed(1))} s`;
}

/** `timed out after 180 s (timeouts.podReady) waiting for deployment metallb-system/controller Ready: 0/1 ready` */
export function timeoutMessage(description: string, timeout: string, timeoutMs: number, lastDetail: string): string {
  return `timed out after ${formatSeconds(timeoutMs)} (${timeout}) waiting for ${description}: ${lastDetail || "(the probe reported nothing)"}`;
}

export function resolveBudget(b: WaitBudget): { ms: number; label: string } {
  if ("timeoutName" in b) {
    const ms = b.config.timeouts[b.timeoutName];
    if (typeof ms !== "number" || !(ms > 0)) throw new Error(`waitFor: config.timeouts.${b.timeoutName} is not set (allowed names: ${TIMEOUT_NAMES.join(", ")})`);
    return { ms, label: `timeouts.${b.timeoutName}` };
  }
  if (!(b.timeoutMs > 0)) throw new Error(`waitFor: timeoutMs must be positive (${b.timeoutLabel})`);
  return { ms: b.timeoutMs, label: b.timeoutLabel };
}

/** Throw from a probe to end the wait at once with `cause` (an error that waiting will not fix). */
export class AbortWait extends Error {
  override readonly cause: unknown;
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = "AbortWait";
    this.cause = cause;
  }
}

const realClock = {
  now: () => Date.now(),
  sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
};

/**
 * Poll `probe` with backoff until it reports done or the budget runs out. A probe that throws
 * counts as "not yet" (an API server restarting, an object not created yet) and its message becomes
 * the detail (throw AbortWait to stop at once instead). On timeout the error names the timeout setting and the last detail seen. A probe is
 * always made once more at the deadline, so a condition that became true meanwhile is not missed.
 */
export async function waitFor(description: string, probe: () => Promise<ProbeResult>, budget: WaitBudget, opts: WaitOptions = {}): Promise<ProbeResult> {
  const { ms, label } = resolveBudget(budget);
  const clock = opts.clock ?? realClock;
  const maxInterval = opts.maxIntervalMs ?? 5_000;
  let interval = Math.min(opts.intervalMs ?? 250, maxInterval);
  const start = clock.now();
  const deadline = start + ms;
  let last = "";
  let probes = 0;
  for (;;) {
    probes++;
    const remaining = deadline - clock.now();
    try {
      const r = await boundedProbe(probe, Math.max(remaining, 1_000), opts.clock !== undefined);
      if (r.done) return r;
      last = r.detail;
    } catch (e) {
      if (e instanceof AbortWait) throw e.cause;
      last = `probe failed: ${e instanceof Error ? e.message : String(e)}`;
    }
    const left = deadline - clock.now();
    if (left <= 0) throw new WaitTimeoutError(description, label, ms, last, probes);
    await clock.sleep(Math.min(interval, left));
    interval = Math.min(Math.round(interval * 1.5), maxInterval);
  }
}

/** a probe that hangs (an API call to a dead API server) must not outlive the wait */
async function boundedProbe(probe: () => Promise<ProbeResult>, ms: number, fakeClock: boolean): Promise<ProbeResult> {
  if (fakeClock) return probe();
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      probe(),
      new Promise<never>((_, rej) => {
        timer = setTimeout(() => rej(new Error(`probe did not answer within ${formatSeconds(ms)}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
