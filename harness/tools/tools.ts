import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { HostExecutor } from "../exec/host.ts";
import type { Executor } from "../exec/types.ts";
import { forgeCacheDir } from "../images/forge-lib.ts";

/**
 * Go tools the test run uses itself, pinned in harness/tools/go.mod (tools.go imports them) and
 * built from the Go module proxy into the forge's bin directory, like kind and kubectl. A binary
 * is rebuilt only when go.mod/go.sum change. Nothing is installed by hand.
 */
export const TOOLS_DIR = import.meta.dirname;

const PACKAGES: Record<string, string> = {
  actionlint: "github.com/rhysd/actionlint/cmd/actionlint",
};

function goBinary(): string | undefined {
  return ["/usr/local/go/bin/go", ...(process.env.PATH ?? "").split(":").map((d) => join(d, "go"))].find((p) => existsSync(p));
}

/** The pinned module version of a tool (from go.mod). */
export function toolVersion(name: keyof typeof PACKAGES | string): string {
  const pkg = PACKAGES[name];
  if (!pkg) throw new Error(`tools: unknown tool ${name}; known: ${Object.keys(PACKAGES).join(", ")}`);
  const mod = pkg.split("/").slice(0, 3).join("/");
  const m = new RegExp(`^\\s*(?:require\\s+)?${mod.replace(/[.]/g, "\\.")}\\s+(v\\S+)`, "m").exec(readFileSync(join(TOOLS_DIR, "go.mod"), "utf8"));
  if (!m) throw new Error(`tools: ${mod} is not required in harness/tools/go.mod`);
  return m[1]!;
}

/** Path of the built tool, building it first when missing or stale. */
export async function ensureTool(name: string, o: { exec?: Executor; log?: (m: string) => void } = {}): Promise<string> {
  const pkg = PACKAGES[name];
  if (!pkg) throw new Error(`tools: unknown tool ${name}; known: ${Object.keys(PACKAGES).join(", ")}`);
  const dir = join(forgeCacheDir(), "bin");
  const bin = join(dir, name);
  const stamp = join(dir, `.${name}.inputs`);
  const want = createHash("sha256").update(readFileSync(join(TOOLS_DIR, "go.mod"))).update(readFileSync(join(TOOLS_DIR, "go.sum"))).digest("hex");
  if (existsSync(bin) && existsSync(stamp) && readFileSync(stamp, "utf8") === want) return bin;
  const go = goBinary();
  if (!go) throw new Error(`tools: building ${name} needs the Go toolchain (go on PATH or /usr/local/go/bin/go); the forge needs it too`);
  mkdirSync(dir, { recursive: true });
  o.log?.(`tools: building ${name} ${toolVersion(name)} from the Go module proxy`);
  const exec = o.exec ?? new HostExecutor();
  const r = await exec.run(["sh", "-c", `cd '${TOOLS_DIR}' && CGO_ENABLED=0 '${go}' build -trimpath -o '${bin}' ${pkg}`], { timeoutMs: 900_000, allowFailure: true });
  if (r.exitCode !== 0) throw new Error(`tools: go build ${pkg} failed: ${(r.stderr || r.stdout).trim().split("\n").slice(-5).join("\n")}`);
  writeFileSync(stamp, want);
  return bin;
}
