import type { TestProject } from "vitest/node";
import { pruneArtifacts, startReaper } from "./reaper.ts";
import { kindBinary } from "../adapters/kind.ts";
import { loadConfig } from "../config.ts";
import { KIND_KUBEADM_API, resolveNodeImage } from "../images/node-image.ts";
import { reportGlobalError } from "../report/global-error.ts";
import { dockerMissing } from "./docker.ts";
import { ensureInotifyLimits } from "./inotify.ts";
import { existsSync } from "node:fs";
import { findDockerNodes } from "../cluster/existing.ts";
import { apiAnswers, apiErrorMessage, kubeClient } from "../kube/client.ts";

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
  /**
   * a cluster given by kubeconfig: its nodes, when they are docker containers on this machine
   * (node-level evidence and faults then work), else why not (the skip reason of suites that need them)
   */
  existing?: { nodes: string[]; network?: string; nodesMissing?: string };
}

export async function suitePreflight(): Promise<SuitePreflight> {
  const config = loadConfig();
  const kubeadmApi = KIND_KUBEADM_API;
  if (config.kubeconfig) {
    if (!existsSync(config.kubeconfig)) return { missing: `NETCONFORM_KUBECONFIG=${config.kubeconfig} does not exist`, kubeadmApi };
    let kube;
    try {
      kube = kubeClient(config.kubeconfig);
    } catch (e) {
      return { missing: `NETCONFORM_KUBECONFIG=${config.kubeconfig}: ${apiErrorMessage(e).split("\n")[0]}`, kubeadmApi };
    }
    const silent = await apiAnswers(kube, 15_000);
    if (silent) return { missing: `the API server of NETCONFORM_KUBECONFIG=${config.kubeconfig} does not answer: ${silent}`, kubeadmApi };
    const d = await findDockerNodes(kube);
    // the suites build their world (client, router, pools) on kind's own network
    if (d.network && d.network !== "kind") return { kubeadmApi, existing: { nodes: [], nodesMissing: `the node containers are on docker network ${d.network}; the suites build their client hosts and address pools on kind's network "kind"` } };
    return { kubeadmApi, existing: { nodes: d.nodes, ...(d.network ? { network: d.network } : {}), ...(d.reason ? { nodesMissing: d.reason } : {}) } };
  }
  const d = await dockerMissing();
  if (d) return { missing: d, kubeadmApi };
  if (!kindBinary()) return { missing: "the kind binary is not built yet: run `npm run forge` (it builds kind from its pinned Go module), or set NETCONFORM_KIND", kubeadmApi };
  const limits = ensureInotifyLimits();
  if (limits) return { missing: limits, kubeadmApi };
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
  if (p.existing) process.stderr.write(`\nnetconform suites preflight: cluster given by kubeconfig; ${p.existing.nodesMissing ?? `nodes are docker containers here (${p.existing.nodes.join(", ")} on network ${p.existing.network})`}\n`);
  project.provide("suitePreflight", p);
}

declare module "vitest" {
  export interface ProvidedContext {
    suitePreflight: SuitePreflight;
  }
}
