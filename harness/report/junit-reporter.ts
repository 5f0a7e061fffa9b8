import { JUnitReporter } from "vitest/node";

/**
 * vitest's JUnit reporter, writing to $NETCONFORM_JUNIT (default reports/junit.xml) for tools that
 * read JUnit XML; the Allure results stay the primary report. Its "JUNIT report written to …"
 * note is left out, so that `netconform: N passed, N failed, N skipped` stays the last line of a
 * run (vitest runs the reporters' onTestRunEnd concurrently).
 */
export default class NetconformJUnitReporter extends JUnitReporter {
  constructor() {
    super({ outputFile: process.env.NETCONFORM_JUNIT ?? "reports/junit.xml" });
  }

  override async onTestRunEnd(...args: Parameters<JUnitReporter["onTestRunEnd"]>): Promise<void> {
    const logger = (this as unknown as { ctx: { logger: { log: (...a: unknown[]) => void } } }).ctx.logger;
    const log = logger.log;
    logger.log = (...a: unknown[]) => {
      if (typeof a[0] === "string" && a[0].startsWith("JUNIT report written to")) return;
      log.apply(logger, a);
    };
    try {
      await super.onTestRunEnd(...args);
    } finally {
      logger.log = log;
    }
  }
}
