import type { RunConfig } from "../config.ts";
import { loadCatalogue } from "./catalogue.ts";
import { imageExists, localTag } from "./forge-lib.ts";
import "./steps.ts";

/** The catalogue entry name of the forged kind node image. */
export const NODE_IMAGE_ENTRY = "kind-node";

/**
 * Which kind node image a run uses: NETCONFORM_NODE_IMAGE when set (it must exist locally: nothing
 * is pulled), else the forged image from the catalogue. kubeadm's config API follows the image's
 * Kubernetes version (v1beta4 from 1.31 on).
 */
export async function resolveNodeImage(config: RunConfig): Promise<{ image: string; kubeadmApi: "v1beta3" | "v1beta4" } | { missing: string }> {
  if (config.nodeImage) {
    if (!(await imageExists(config.nodeImage))) return { missing: `the node image ${config.nodeImage} (NETCONFORM_NODE_IMAGE) is not in the local docker image store, and nothing is ever pulled` };
    const m = /:v1\.(\d+)/.exec(config.nodeImage);
    return { image: config.nodeImage, kubeadmApi: m && Number(m[1]) < 31 ? "v1beta3" : "v1beta4" };
  }
  const entry = loadCatalogue().images.find((i) => i.name === NODE_IMAGE_ENTRY);
  if (!entry) return { missing: `no kind node image is available yet: the catalogue has no "${NODE_IMAGE_ENTRY}" entry for the forge to build (see the forge issue), and NETCONFORM_NODE_IMAGE is not set` };
  const tag = localTag(NODE_IMAGE_ENTRY);
  if (!(await imageExists(tag))) return { missing: `the kind node image ${tag} has not been forged on this machine: run \`npm run forge\`` };
  const k8s = entry.build.kind === "custom" ? String(entry.build.inputs.kubernetes ?? "") : "";
  const minor = Number(/^v?1\.(\d+)/.exec(k8s)?.[1] ?? 34);
  return { image: tag, kubeadmApi: minor < 31 ? "v1beta3" : "v1beta4" };
}
