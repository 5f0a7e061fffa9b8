import type { TestProject } from "vitest/node";
import { pruneArtifacts, startReaper } from "./reaper.ts";
import { ensureImage, imageExists, localTag } from "../images/forge-lib.ts";
import { reportGlobalError } from "../report/global-error.ts";
import { requireDocker } from "./docker.ts";
import { ensureInotifyLimits } from "./inotify.ts";
import { FORGE_TOOLS, ensureHostTools } from "./host-tools.ts";

/**
 * integration project setup: a Docker engine must answer (integration tests use real containers, no
 * mocks, so without one the project fails loudly), and the external-world images must exist: built
 * here by the forge from Debian packages when missing (about 1.5 min cold, nothing when cached).
 */
export default async function setup(project: TestProject): Promise<void> {
  startReaper();
  pruneArtifacts();
  try {
    await requireDocker();
    // integration tests make kind clusters too (kube verbs, leak tests)
    const limits = ensureInotifyLimits();
    if (limits) throw new Error(`preflight: ${limits}`);
    const names = ["toolbox", "registry"];
    // the toolbox and registry images are debootstrapped here when missing: that needs debootstrap
    const cached = await Promise.all(names.map((n) => imageExists(localTag(n))));
    if (cached.includes(false)) await ensureHostTools(FORGE_TOOLS);
    const tags: Record<string, string> = {};
    for (const name of names) tags[name] = await ensureImage(name);
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
