/**
 * For the project's CLIs (npm run forge/clean/…): an expected failure (no Docker engine, a missing
 * tool, a bad argument, a failed build) ends with one line `<cli>: <message>` and exit 2, never a
 * stack trace. NETCONFORM_LOG_LEVEL=debug adds the stack for a developer.
 */
export function cliErrors(cli: string): (e: unknown) => never {
  const fail = (e: unknown): never => {
    const m = e instanceof Error ? e.message : String(e);
    process.stderr.write(`${cli}: ${m}\n`);
    if (process.env.NETCONFORM_LOG_LEVEL === "debug" && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
    process.exit(2);
  };
  process.on("unhandledRejection", fail);
  process.on("uncaughtException", fail);
  return fail;
}

/** `--help`/`-h` anywhere on the command line: the usage on stdout, exit 0 (not "unknown option"). */
export function answerHelp(usage: string, argv: string[] = process.argv.slice(2)): void {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
}
