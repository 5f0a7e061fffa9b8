import type { TestProject } from "vitest/node";
import { startReaper } from "./reaper.ts";
import { ensureImage } from "../images/forge-lib.ts";
import { reportGlobalError } from "../report/global-error.ts";
import { requireDocker } from "./docker.ts";

/**
 * integration project setup: a Docker engine must answer (integration tests use real containers, no
 * mocks, so without one the project fails loudly), and the external-world images must exist: built
 * here by the forge from Debian packages when missing (about 1.5 min cold, nothing when cached).
 */
export default async function setup(project: TestProject): Promise<void> {
  startReaper();
  try {
    await requireDocker();
    const tags: Record<string, string> = {};
    for (const name of ["toolbox", "registry"]) tags[name] = await ensureImage(name);
    project.provide("images", tags);
  } catch (e) {
    reportGlobalError("integration", e);
    throw e;
  }
}

declare module "vitest" {
  export interface ProvidedContext {
    images: Record<string, string>;
  }
}
