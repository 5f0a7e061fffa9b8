import { existsSync } from "node:fs";
import { join } from "node:path";
import { HostExecutor } from "../exec/host.ts";
import type { ExecResult } from "../exec/types.ts";
import { forgeCacheDir } from "../images/forge-lib.ts";

/** The kind adapter: the kind CLI through execa. The binary is the forge's (built from its pinned module) or one on PATH. */
export function kindBinary(): string | undefined {
  const forged = join(forgeCacheDir(), "bin", "kind");
  if (process.env.NETCONFORM_KIND) return process.env.NETCONFORM_KIND;
  if (existsSync(forged)) return forged;
  const onPath = (process.env.PATH ?? "").split(":").map((d) => join(d, "kind")).find((p) => existsSync(p));
  return onPath;
}

function kind(args: string[], timeoutMs = 120_000, allowFailure = false): Promise<ExecResult> {
  const bin = kindBinary();
  if (!bin) throw new Error("preflight: the kind binary is missing: run `npm run forge` (builds it from its pinned Go module) or put kind on PATH");
  return new HostExecutor().run([bin, ...args], { timeoutMs, allowFailure });
}

export async function clusterExists(name: string): Promise<boolean> {
  const r = await kind(["get", "clusters"]);
  return r.stdout.split("\n").map((s) => s.trim()).includes(name);
}

export async function createCluster(name: string, configPath: string, kubeconfigPath: string, timeoutMs: number): Promise<ExecResult> {
  return kind(["create", "cluster", "--name", name, "--config", configPath, "--kubeconfig", kubeconfigPath, "--retain"], timeoutMs);
}

export async function deleteCluster(name: string): Promise<void> {
  await kind(["delete", "cluster", "--name", name], 300_000);
}

export async function writeKubeconfig(name: string, path: string): Promise<void> {
  await kind(["export", "kubeconfig", "--name", name, "--kubeconfig", path]);
}

export async function listNodes(name: string): Promise<string[]> {
  const r = await kind(["get", "nodes", "--name", name]);
  return r.stdout.split("\n").map((s) => s.trim()).filter(Boolean);
}

export async function exportLogs(name: string, dir: string): Promise<void> {
  await kind(["export", "logs", dir, "--name", name], 300_000, true);
}
