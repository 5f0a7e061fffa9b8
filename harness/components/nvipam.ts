/**
 * nv-ipam (github.com/Mellanox/nvidia-k8s-ipam) behind Multus thin on a cluster, from components that
 * arrive as bundles (harness/images/bundles.ts): the images put into the mirrors (already there, or
 * loaded from a bundle archive), the pinned upstream manifests verified by sha256 and rendered with
 * the release tags (upstream's files say `snapshot` and `latest`), applied server-side, then waited
 * for: the Multus DaemonSet, the nv-ipam node DaemonSet and controller Deployment Ready.
 * On a reused cluster that runs the same pinned images nothing is applied again.
 *
 * Also the objects the NVIPAM suite builds (IPPool, a macvlan NetworkAttachmentDefinition on the
 * nodes' eth0, pods on the secondary network), as JSON documents.
 */
import type { RunConfig } from "../config.ts";
import { type BundleManifest, loadCatalogue } from "../images/catalogue.ts";
import { type Availability, type ImagePlacement, bundleAvailability, bundleDirs, ensureBundleImages, loadBundleManifest, missingComponents, renderImages, type ManifestSource } from "../images/bundles.ts";
import { type KubeClient, apply, parseDocuments, waitForDaemonSetReady, waitForDeploymentReady } from "../kube/index.ts";
import type { Mirrors } from "../registry/mirrors.ts";
import { existsSync } from "node:fs";

/** the components, in install order */
export const NVIPAM_COMPONENTS = ["multus", "nv-ipam"] as const;
export const NVIPAM_NS = "kube-system";
export const MULTUS_DS = "kube-multus-ds";
export const NVIPAM_NODE_DS = "nv-ipam-node-ds";
export const NVIPAM_CONTROLLER = "nv-ipam-controller";
/** labels of the pods, for logs and evidence */
export const NVIPAM_POD_SELECTOR = "app=nvidia-k8s-ipam";
export const MULTUS_POD_SELECTOR = "name=multus";

const manifestsOf = (component: string): BundleManifest[] => loadCatalogue().bundles.find((b) => b.name === component)!.manifests;
/** the release image each component's pods must run */
export const releaseImage = (component: string): string => loadCatalogue().bundles.find((b) => b.name === component)!.images[0]!.ref;

/**
 * The gate's answer: what is missing to run nv-ipam here, or undefined. A bundle directory that
 * does not exist is named; the internet is probed only for manifests no bundle or cache holds.
 */
export async function nvipamMissing(
  config: Pick<RunConfig, "bundles" | "strictOffline">,
  o: { probe?: (m: BundleManifest) => Promise<boolean>; holds?: (ref: string) => Promise<boolean | undefined> } = {},
): Promise<string | undefined> {
  const dirs = bundleDirs(config.bundles);
  const gone = dirs.filter((d) => !existsSync(d));
  if (gone.length) return `bundle directory ${gone.join(", ")} does not exist (NETCONFORM_BUNDLES)`;
  const avail: Availability[] = await bundleAvailability([...NVIPAM_COMPONENTS], { dirs, strictOffline: config.strictOffline, ...(o.probe ? { probe: o.probe } : {}), ...(o.holds ? { holds: o.holds } : {}) });
  return missingComponents(avail, dirs);
}

export interface NvIpamInstall {
  images: ImagePlacement[];
  manifests: Record<string, ManifestSource>;
  /** seconds: images into the mirrors, apply, rollout */
  imagesSeconds: number;
  applySeconds: number;
  rolloutSeconds: number;
  /** true when the cluster already ran the pinned images and nothing was applied */
  reused: boolean;
}

/** Does the cluster run Multus and nv-ipam at the pinned release images? */
async function installedAtRelease(kube: KubeClient): Promise<boolean> {
  try {
    const multus = await kube.apps.readNamespacedDaemonSet({ namespace: NVIPAM_NS, name: MULTUS_DS });
    const node = await kube.apps.readNamespacedDaemonSet({ namespace: NVIPAM_NS, name: NVIPAM_NODE_DS });
    const ctl = await kube.apps.readNamespacedDeployment({ namespace: NVIPAM_NS, name: NVIPAM_CONTROLLER });
    const imgs = (t: { spec?: { containers: Array<{ image?: string }>; initContainers?: Array<{ image?: string }> } } | undefined) => [...(t?.spec?.containers ?? []), ...(t?.spec?.initContainers ?? [])].map((c) => c.image);
    return imgs(multus.spec?.template).every((i) => i === releaseImage("multus")) && [...imgs(node.spec?.template), ...imgs(ctl.spec?.template)].every((i) => i === releaseImage("nv-ipam"));
  } catch {
    return false;
  }
}

/**
 * Multus thin + nv-ipam at the pinned releases, serving. `mirrors` is undefined on an existing
 * cluster (NETCONFORM_KUBECONFIG): its nodes must then be able to pull the images themselves.
 */
export async function ensureNvIpam(kube: KubeClient, config: Pick<RunConfig, "bundles" | "strictOffline" | "timeouts">, mirrors: Mirrors | undefined): Promise<NvIpamInstall> {
  const dirs = bundleDirs(config.bundles);
  const t0 = Date.now();
  const images = mirrors ? await ensureBundleImages([...NVIPAM_COMPONENTS], mirrors, { dirs, strictOffline: config.strictOffline }) : [];
  const t1 = Date.now();
  const manifests: Record<string, ManifestSource> = {};
  const reused = await installedAtRelease(kube);
  if (!reused) {
    for (const c of NVIPAM_COMPONENTS)
      for (const m of manifestsOf(c)) {
        const got = await loadBundleManifest(m.name, { dirs });
        manifests[m.name] = got.source;
        await apply(kube, renderImages(m, got.text));
      }
  }
  const t2 = Date.now();
  await waitForDaemonSetReady(kube, NVIPAM_NS, MULTUS_DS, { config });
  await waitForDaemonSetReady(kube, NVIPAM_NS, NVIPAM_NODE_DS, { config });
  await waitForDeploymentReady(kube, NVIPAM_NS, NVIPAM_CONTROLLER, { config });
  const t3 = Date.now();
  return { images, manifests, imagesSeconds: (t1 - t0) / 1000, applySeconds: (t2 - t1) / 1000, rolloutSeconds: (t3 - t2) / 1000, reused };
}

// ---------------------------------------------------------------------------------------------
// objects

export interface PoolSpec {
  name: string;
  subnet: string;
  perNodeBlockSize: number;
  gateway?: string;
  exclusions?: Array<{ startIP: string; endIP: string }>;
  /** core/v1 NodeSelector */
  nodeSelector?: { nodeSelectorTerms: Array<{ matchExpressions: Array<{ key: string; operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; values?: string[] }> }> };
}

/** an IPPool in the namespace nv-ipam watches (the pod namespace of its manifest: kube-system) */
export function ippoolYaml(p: PoolSpec): string {
  const doc = {
    apiVersion: "nv-ipam.nvidia.com/v1alpha1",
    kind: "IPPool",
    metadata: { name: p.name, namespace: NVIPAM_NS },
    spec: {
      subnet: p.subnet,
      perNodeBlockSize: p.perNodeBlockSize,
      ...(p.gateway ? { gateway: p.gateway } : {}),
      ...(p.exclusions?.length ? { exclusions: p.exclusions } : {}),
      ...(p.nodeSelector ? { nodeSelector: p.nodeSelector } : {}),
    },
  };
  const text = JSON.stringify(doc);
  parseDocuments(text);
  return text;
}

/**
 * A macvlan NetworkAttachmentDefinition on the nodes' `master` interface with nv-ipam as its IPAM;
 * `capabilities.ips` lets a pod's `ips` in its network selection reach nv-ipam as a static request.
 * cniVersion 0.4.0: the nodes' macvlan plugin (Debian's CNI plugins 1.1.1) speaks up to 1.0.0.
 */
export function macvlanNadYaml(o: { name: string; namespace: string; master: string; pool: string; cniVersion?: string }): string {
  const config = { cniVersion: o.cniVersion ?? "0.4.0", name: o.name, type: "macvlan", master: o.master, mode: "bridge", capabilities: { ips: true }, ipam: { type: "nv-ipam", poolName: o.pool } };
  const doc = { apiVersion: "k8s.cni.cncf.io/v1", kind: "NetworkAttachmentDefinition", metadata: { name: o.name, namespace: o.namespace }, spec: { config: JSON.stringify(config) } };
  const text = JSON.stringify(doc);
  parseDocuments(text);
  return text;
}

/** a pause pod on one node, on the secondary network, optionally asking for static IPs */
export function secondaryPodYaml(o: { name: string; namespace: string; node: string; network: string; image: string; ips?: string[]; labels?: Record<string, string> }): string {
  const selection = [{ name: o.network, ...(o.ips?.length ? { ips: o.ips } : {}) }];
  const doc = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: o.name, namespace: o.namespace, labels: { app: "nc-nvipam", ...(o.labels ?? {}) }, annotations: { "k8s.v1.cni.cncf.io/networks": JSON.stringify(selection) } },
    spec: {
      nodeSelector: { "kubernetes.io/hostname": o.node },
      terminationGracePeriodSeconds: 0,
      tolerations: [{ operator: "Exists" }],
      containers: [{ name: "pause", image: o.image, args: ["pause"], imagePullPolicy: "IfNotPresent" }],
    },
  };
  const text = JSON.stringify(doc);
  parseDocuments(text);
  return text;
}
