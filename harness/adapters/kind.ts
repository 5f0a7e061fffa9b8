import { existsSync } from "node:fs";
import { join } from "node:path";
import { HostExecutor } from "../exec/host.ts";
import { containersByLabel } from "./docker.ts";
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

/** the label kind puts on its node containers */
export const KIND_CLUSTER_LABEL = "io.x-k8s.kind.cluster";

/**
 * What a failed `kind delete cluster` says when another deletion of the same cluster is under way
 * (a run's own teardown and the session reaper, or a second Ctrl-C): docker refuses to remove a
 * container twice at once ("removal of container … is already in progress"), or the container went
 * between kind listing and removing it ("No such container").
 */
export function deletionInProgress(message: string): boolean {
  return /removal of container .* is already in progress|No such container|is already in progress/i.test(message);
}

/**
 * Delete a kind cluster, tolerating a deletion already in progress: that one is waited for (kind is
 * asked again every 2 s until it succeeds: it lists the nodes afresh each time), bounded by
 * `timeoutMs`, never reported as an error. A node container that appeared after kind listed them (a
 * `kind create` interrupted at that very moment) is deleted on the next pass, so when this returns no
 * container of the cluster is left.
 */
export async function deleteCluster(name: string, o: { timeoutMs?: number; nodes?: (name: string) => Promise<string[]>; pauseMs?: number } = {}): Promise<void> {
  const until = Date.now() + (o.timeoutMs ?? 300_000);
  const nodes = o.nodes ?? ((n: string) => containersByLabel(KIND_CLUSTER_LABEL, n));
  let last = "";
  for (let attempt = 1; ; attempt++) {
    const r = await kind(["delete", "cluster", "--name", name], Math.max(10_000, until - Date.now()), true);
    const msg = `${r.stderr}\n${r.stdout}`.trim();
    if (r.exitCode === 0) {
      const left = await nodes(name);
      if (!left.length) return;
      last = `node containers still there after kind delete: ${left.join(", ")}`;
    } else if (deletionInProgress(msg)) {
      last = msg.split("\n").filter(Boolean).slice(-1)[0] ?? msg;
    } else {
      throw new Error(`kind delete cluster --name ${name} failed (exit ${r.exitCode}): ${msg.split("\n").filter(Boolean).slice(-3).join(" / ")}`);
    }
    if (Date.now() >= until) throw new Error(`kind delete cluster --name ${name}: still not deleted after ${attempt} attempts: ${last}`);
    await new Promise((res) => setTimeout(res, o.pauseMs ?? 2000));
  }
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
