import type { RunConfig } from "../config.ts";
import { loadCatalogue } from "./catalogue.ts";
import { imageExists, localTag } from "./forge-lib.ts";
import "./steps.ts";

/**
 * The kubeadm config API the kind binary writes, which kubeadmConfigPatches must match: kind v0.30
 * writes v1beta3 for every Kubernetes ≥ 1.23, and silently ignores a v1beta4 patch (measured, see
 * NODE.md). It follows the kind version, not the Kubernetes version.
 */
export const KIND_KUBEADM_API = "v1beta3" as const;

/** The catalogue entry name of the forged kind node image. */
export const NODE_IMAGE_ENTRY = "kind-node";

/**
 * Which kind node image a run uses: NETCONFORM_NODE_IMAGE when set (it must exist locally: nothing
 * is pulled), else the forged image from the catalogue.
 */
export async function resolveNodeImage(config: RunConfig): Promise<{ image: string; kubeadmApi: "v1beta3" | "v1beta4" } | { missing: string }> {
  if (config.nodeImage) {
    if (!(await imageExists(config.nodeImage))) return { missing: `the node image ${config.nodeImage} (NETCONFORM_NODE_IMAGE) is not in the local docker image store, and nothing is ever pulled` };
    return { image: config.nodeImage, kubeadmApi: KIND_KUBEADM_API };
  }
  const entry = loadCatalogue().images.find((i) => i.name === NODE_IMAGE_ENTRY);
  if (!entry) return { missing: `no kind node image is available yet: the catalogue has no "${NODE_IMAGE_ENTRY}" entry for the forge to build (see the forge issue), and NETCONFORM_NODE_IMAGE is not set` };
  const tag = localTag(NODE_IMAGE_ENTRY);
  if (!(await imageExists(tag))) return { missing: `the kind node image ${tag} has not been forged on this machine: run \`npm run forge\`` };
  return { image: tag, kubeadmApi: KIND_KUBEADM_API };
}
