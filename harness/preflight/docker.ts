import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { HostExecutor } from "../exec/host.ts";
import { log } from "../log.ts";

/** This workplace's engine starter, beside the repository (../shared/env/docker-up). */
export const DOCKER_UP = resolve(import.meta.dirname, "..", "..", "..", "shared", "env", "docker-up");

/** Is a Docker engine answering? Returns the missing piece worded for a person, or undefined. */
export async function dockerMissing(): Promise<string | undefined> {
  const h = new HostExecutor();
  const which = await h.run(["sh", "-c", "command -v docker"], { allowFailure: true });
  if (which.exitCode !== 0) return `the docker CLI is not installed (install Docker${existsSync(DOCKER_UP) ? `, or run ${DOCKER_UP}` : ""})`;
  const info = await h.run(["docker", "info", "--format", "{{.ServerVersion}}"], { allowFailure: true, timeoutMs: 20_000 });
  if (info.exitCode !== 0) return `no Docker engine answers (docker info: ${info.stderr.trim().split("\n").pop()})${existsSync(DOCKER_UP) ? `; start one with ${DOCKER_UP}` : ""}`;
  return undefined;
}

/**
 * Make sure an engine answers. On this workplace's machines, where ../shared/env/docker-up exists,
 * a missing engine is started with it (that is what the script is for); elsewhere a missing engine
 * is an error naming what to do.
 */
export async function requireDocker(): Promise<void> {
  let m = await dockerMissing();
  if (m && existsSync(DOCKER_UP) && process.env.NETCONFORM_NO_DOCKER_UP !== "1") {
    log.warn(`${m}: starting it with ${DOCKER_UP}`);
    await new HostExecutor().run(["bash", DOCKER_UP], { timeoutMs: 600_000, allowFailure: true });
    m = await dockerMissing();
  }
  if (m) throw new Error(`preflight: ${m}`);
}
