import type { TestProject } from "vitest/node";
import { pruneArtifacts, startReaper } from "./reaper.ts";
import { kindBinary } from "../adapters/kind.ts";
import { loadConfig } from "../config.ts";
import { KIND_KUBEADM_API, resolveNodeImage } from "../images/node-image.ts";
import { reportGlobalError } from "../report/global-error.ts";
import { dockerMissing } from "./docker.ts";

/**
 * suites project setup: find out once whether live suites can run here, and hand the answer to
 * every suite file (`inject("suitePreflight")`). Nothing is skipped here: each suite's gate decides
 * between a reported skip (plain `npm test`) and a loud failure (the suite was asked for by name).
 */
export interface SuitePreflight {
  /** the first missing prerequisite, worded for a person; undefined when suites can run */
  missing?: string;
  nodeImage?: string;
  kubeadmApi: "v1beta3" | "v1beta4";
}

export async function suitePreflight(): Promise<SuitePreflight> {
  const config = loadConfig();
  const kubeadmApi = KIND_KUBEADM_API;
  if (config.kubeconfig) return { kubeadmApi };
  const d = await dockerMissing();
  if (d) return { missing: d, kubeadmApi };
  if (!kindBinary()) return { missing: "the kind binary is not built yet: run `npm run forge` (it builds kind from its pinned Go module), or set NETCONFORM_KIND", kubeadmApi };
  const img = await resolveNodeImage(config);
  if ("missing" in img) return { missing: img.missing, kubeadmApi };
  return { nodeImage: img.image, kubeadmApi: img.kubeadmApi };
}

export default async function setup(project: TestProject): Promise<void> {
  startReaper();
  pruneArtifacts();
  let p: SuitePreflight;
  try {
    p = await suitePreflight();
  } catch (e) {
    reportGlobalError("suites", e);
    throw e;
  }
  if (p.missing) process.stderr.write(`\nnetconform suites preflight: ${p.missing}\n`);
  project.provide("suitePreflight", p);
}

declare module "vitest" {
  export interface ProvidedContext {
    suitePreflight: SuitePreflight;
  }
}
