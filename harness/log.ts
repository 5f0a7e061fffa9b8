import { redact } from "./report/redact.ts";

/** The harness's log: one line per event on stderr, secrets redacted, level from NETCONFORM_LOG_LEVEL. */
const LEVELS = ["error", "warn", "info", "debug"] as const;
type Level = (typeof LEVELS)[number];
const threshold = (): number => Math.max(0, LEVELS.indexOf((process.env.NETCONFORM_LOG_LEVEL as Level) ?? "info"));

function emit(level: Level, msg: string): void {
  if (LEVELS.indexOf(level) > threshold()) return;
  process.stderr.write(`[netconform ${new Date().toISOString().slice(11, 23)} ${level}] ${redact(msg)}\n`);
}

export const log = {
  error: (m: string) => emit("error", m),
  warn: (m: string) => emit("warn", m),
  info: (m: string) => emit("info", m),
  debug: (m: string) => emit("debug", m),
};
