/**
 * The run's environment for the report: which cluster, Kubernetes version and kube-proxy mode the
 * live suites ran against. Written to environment.properties in the Allure results directory (the
 * allure 3 CLI reads it, and allurerc.mjs shows it as the report's variables).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export function resultsDir(): string {
  return process.env.NETCONFORM_ALLURE_RESULTS || "reports/allure-results";
}

const esc = (s: string): string => s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/([=:])/g, "\\$1");
const unesc = (s: string): string => s.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));

export function parseProperties(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    if (!line.trim() || /^\s*[#!]/.test(line)) continue;
    const m = /^((?:\\.|[^=:\\])*)[=:](.*)$/.exec(line);
    if (m) out[unesc(m[1]!.trim())] = unesc(m[2]!.trim());
  }
  return out;
}

export function renderProperties(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([k, v]) => `${esc(k)}=${esc(v)}`)
    .join("\n") + "\n";
}

/** Merge entries into <results>/environment.properties (several suite files of one run each add theirs). */
export function recordEnvironment(values: Record<string, string>, dir = resultsDir()): void {
  const file = join(dir, "environment.properties");
  let current: Record<string, string> = {};
  try {
    current = parseProperties(readFileSync(file, "utf8"));
  } catch {}
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, renderProperties({ ...current, ...values }));
}

export function readEnvironment(dir = resultsDir()): Record<string, string> {
  try {
    return parseProperties(readFileSync(join(dir, "environment.properties"), "utf8"));
  } catch {
    return {};
  }
}
