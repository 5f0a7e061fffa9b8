/**
 * npm run matrix [-- options]: the nightly CI matrix of .ci/matrix.yaml.
 *
 *   npm run matrix                        the strategy.matrix JSON ({"include":[…]}) on one line
 *   npm run matrix -- --families metallb --versions 1.34 --proxy-modes iptables,nftables
 *                                         the same, narrowed (workflow_dispatch inputs; "," or " " separated)
 *   npm run matrix -- --excluded          the excluded cells with their reasons, as JSON
 *   npm run matrix -- --list              one line per cell, for people
 *   npm run matrix -- --run <cell>        run that cell exactly as its CI job does (results in reports/cells/<cell>/)
 */
import { ConfigError } from "../config.ts";
import { runCell } from "../ci/cell.ts";
import { MatrixError, expandMatrix, findCell, loadMatrix, splitList, strategyMatrix } from "../ci/matrix.ts";

const USAGE = "usage: npm run matrix [-- [--families a,b] [--versions 1.34,…] [--proxy-modes iptables,…] [--excluded | --list | --run <cell>]]";

function parseArgs(argv: string[]): { flags: Map<string, string>; bare: Set<string> } {
  const valued = new Set(["--families", "--versions", "--proxy-modes", "--run"]);
  const known = new Set([...valued, "--excluded", "--list", "--help", "-h"]);
  const flags = new Map<string, string>();
  const bare = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [k, inline] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    if (!known.has(k)) throw new MatrixError(`unknown argument "${a}"\n${USAGE}`);
    if (valued.has(k)) {
      const v = inline ?? argv[++i];
      if (v === undefined || v.startsWith("--")) throw new MatrixError(`${k} needs a value\n${USAGE}`);
      flags.set(k, v);
    } else bare.add(k);
  }
  return { flags, bare };
}

try {
  const { flags, bare } = parseArgs(process.argv.slice(2));
  if (bare.has("--help") || bare.has("-h")) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const matrix = expandMatrix(loadMatrix(), {
    families: splitList(flags.get("--families")),
    kubernetes: splitList(flags.get("--versions")),
    proxyModes: splitList(flags.get("--proxy-modes")),
  });
  const cellId = flags.get("--run");
  if (cellId) {
    const r = await runCell(findCell(matrix, cellId));
    process.stdout.write(`matrix: ${r.cell} ${r.status}${r.reason ? ` (${r.reason})` : ""}: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped, ${r.seconds.toFixed(0)} s\n`);
    process.exit(r.status === "failed" ? 1 : 0);
  } else if (bare.has("--excluded")) process.stdout.write(`${JSON.stringify(matrix.excluded)}\n`);
  else if (bare.has("--list")) {
    for (const c of matrix.cells) process.stdout.write(`${c.cell.padEnd(30)} ${c.suites.padEnd(16)} timeout ${c.timeoutMinutes} min${c.kernel.length ? `  kernel: ${c.kernel.join(", ")}` : ""}\n`);
    for (const c of matrix.excluded) process.stdout.write(`${c.cell.padEnd(30)} excluded: ${c.reason}\n`);
  } else process.stdout.write(`${JSON.stringify(strategyMatrix(matrix))}\n`);
} catch (e) {
  if (e instanceof MatrixError || e instanceof ConfigError || (e instanceof Error && e.message.startsWith("cell "))) {
    process.stderr.write(`matrix: ${e.message}\n`);
    process.exit(2);
  }
  throw e;
}
