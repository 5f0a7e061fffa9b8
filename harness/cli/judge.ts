/**
 * npm run judge -- <ID> <file>… [--param value]…
 *
 * Runs one behaviour's oracle on evidence saved from a cluster you cannot rebuild on kind and prints
 * the verdict, its reasons and any parse warnings. Exit 0 pass, 1 fail, 2 cannot decide. See
 * harness/judge/judges.ts for the supported ids and what each needs; `npm run judge -- --help`.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { CannotDecide, judge, splitArgs, usage } from "../judge/judges.ts";

const argv = process.argv.slice(2);
if (argv.length === 0 || argv.includes("--help") || argv.includes("-h")) {
  process.stdout.write(usage());
  process.exit(argv.length === 0 ? 2 : 0);
}
let args;
try {
  args = splitArgs(argv);
} catch (e) {
  process.stderr.write(`cannot decide: ${(e as CannotDecide).message}\n`);
  process.exit(2);
}
const files: { path: string; text: string }[] = [];
// npm runs scripts in the package root; paths are the user's, relative to where npm was started
const cwd = process.env.INIT_CWD ?? process.cwd();
for (const path of args.files) {
  try {
    files.push({ path, text: readFileSync(resolve(cwd, path), "utf8") });
  } catch (e) {
    process.stderr.write(`cannot decide: ${path}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}\n`);
    process.exit(2);
  }
}
const r = judge(args.id, files, args.params);
(r.code === 2 ? process.stderr : process.stdout).write(r.out);
process.exit(r.code);
