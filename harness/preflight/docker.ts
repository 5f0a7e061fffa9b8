import { HostExecutor } from "../exec/host.ts";

/** Is a Docker engine answering, and can it run privileged containers? Returns the missing piece, or undefined. */
export async function dockerMissing(): Promise<string | undefined> {
  const h = new HostExecutor();
  const which = await h.run(["sh", "-c", "command -v docker"], { allowFailure: true });
  if (which.exitCode !== 0) return "the docker CLI is not installed (run ../shared/env/docker-up, or install docker.io)";
  const info = await h.run(["docker", "info", "--format", "{{.ServerVersion}} {{.DefaultRuntime}}"], { allowFailure: true, timeoutMs: 20_000 });
  if (info.exitCode !== 0) return `no Docker engine answers (docker info: ${info.stderr.trim().split("\n").pop()}); start one with ../shared/env/docker-up`;
  return undefined;
}

export async function requireDocker(): Promise<void> {
  const m = await dockerMissing();
  if (m) throw new Error(`preflight: ${m}`);
}
