import type { Reporter, TestModule } from "vitest/node";

/**
 * Prints one plain closing line, "netconform: N passed, N failed, N skipped", plus every skipped
 * test with its reason, so that a skip is never silent in a terminal or a CI log.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    let passed = 0, failed = 0, skipped = 0;
    const skips: string[] = [];
    for (const m of modules) {
      for (const t of m.children.allTests()) {
        const r = t.result();
        if (r.state === "passed") passed++;
        else if (r.state === "failed") failed++;
        else {
          skipped++;
          const note = r.state === "skipped" && r.note ? r.note : "no reason given";
          skips.push(`  skipped: [${t.project.name}] ${t.fullName} (${note})`);
        }
      }
      if (m.state() === "failed" && m.children.size === 0) failed++;
    }
    if (skips.length) process.stdout.write(`\nnetconform skipped tests:\n${skips.join("\n")}\n`);
    process.stdout.write(`\nnetconform: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
