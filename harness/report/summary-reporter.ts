import type { Reporter, TestCase, TestModule } from "vitest/node";

/**
 * Prints one plain closing line, "netconform: N passed, N failed, N skipped", plus every skipped
 * test with its reason, so that a skip is never silent in a terminal or a CI log. A test that never
 * ran because a suite around it failed in its setup (beforeAll) is not a skip: it is listed as
 * "not run" with that suite's error, and counted apart.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    let passed = 0, failed = 0, skipped = 0, notRun = 0;
    const skips: string[] = [];
    const unrun: string[] = [];
    for (const m of modules) {
      for (const t of m.children.allTests()) {
        const r = t.result();
        if (r.state === "passed") passed++;
        else if (r.state === "failed") failed++;
        else {
          const setup = r.state === "skipped" && !r.note ? setupFailure(t) : undefined;
          if (setup) {
            notRun++;
            unrun.push(`  not run: [${t.project.name}] ${t.fullName} (${setup})`);
            continue;
          }
          skipped++;
          const note = r.state === "skipped" && r.note ? r.note : "no reason given";
          skips.push(`  skipped: [${t.project.name}] ${t.fullName} (${note})`);
        }
      }
      if (m.state() === "failed" && m.children.size === 0) failed++;
    }
    if (skips.length) process.stdout.write(`\nnetconform skipped tests:\n${skips.join("\n")}\n`);
    if (unrun.length) process.stdout.write(`\nnetconform tests not run (their suite's setup failed):\n${unrun.join("\n")}\n`);
    process.stdout.write(`\nnetconform: ${passed} passed, ${failed} failed, ${skipped} skipped${notRun ? `, ${notRun} not run (suite setup failed)` : ""}\n`);
  }
}

/** the first error of the nearest enclosing suite (or module) that failed, as one line */
export function setupFailure(t: Pick<TestCase, "parent">): string | undefined {
  let p: TestCase["parent"] | undefined = t.parent;
  while (p) {
    const e = p.errors()[0];
    if (e) return `setup failed: ${(e.message ?? String(e)).split("\n")[0]}`;
    p = p.type === "suite" ? p.parent : undefined;
  }
  return undefined;
}
