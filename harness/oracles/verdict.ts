/**
 * What every oracle returns: a verdict and the reasons behind it. Oracles are pure functions of
 * parsed evidence; they never run commands. `reasons` always says why, for a pass as well as for a
 * failure, so a report reader sees what was checked.
 */
export interface Verdict {
  /** behaviour id of catalogue/behaviours.yaml, e.g. "SVC-02" */
  id: string;
  ok: boolean;
  /** one line per finding; for a failure, each names the thing that is wrong */
  reasons: string[];
  /** optional measured figures (takeover time, loss ratio, …) */
  measurements?: Record<string, number | string>;
}

export function verdict(id: string, failures: string[], passes: string[] = [], measurements?: Verdict["measurements"]): Verdict {
  const ok = failures.length === 0;
  const v: Verdict = { id, ok, reasons: ok ? passes : failures };
  if (measurements) v.measurements = measurements;
  return v;
}

/** A readable one-block message for assertion failures and logs. */
export function formatVerdict(v: Verdict): string {
  const head = `${v.id}: ${v.ok ? "PASS" : "FAIL"}`;
  const m = v.measurements ? `\n  measured: ${Object.entries(v.measurements).map(([k, x]) => `${k}=${x}`).join(", ")}` : "";
  return `${head}\n${v.reasons.map((r) => `  - ${r}`).join("\n")}${m}`;
}

/**
 * A verdict reached on evidence read in tolerant mode says so: one reason per tolerant parse
 * (see tolerantNote in evidence/parsers/common.ts), after the oracle's own reasons.
 */
export function withParseNotes(v: Verdict, notes: (string | undefined)[]): Verdict {
  const extra = notes.filter((n): n is string => n !== undefined);
  return extra.length ? { ...v, reasons: [...v.reasons, ...extra] } : v;
}
