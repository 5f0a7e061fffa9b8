import { stringify } from "yaml";

/** Upstream registries mirrored by default (the Meridio IPAM lab mirrors these and more). */
export const DEFAULT_UPSTREAMS = ["docker.io", "registry.k8s.io", "quay.io", "ghcr.io", "gcr.io"] as const;

/** The real server containerd would use for an upstream host without a mirror. */
export function upstreamServer(host: string): string {
  return host === "docker.io" ? "https://registry-1.docker.io" : `https://${host}`;
}

export function mirrorName(host: string): string {
  return `nc-mirror-${host.replace(/[^a-z0-9]+/g, "-")}`;
}

/**
 * containerd hosts.toml for one upstream, placed at /etc/containerd/certs.d/<host>/hosts.toml.
 * Strict: `server` is the mirror itself, so containerd has no upstream to fall back to when the
 * mirror lacks an image (the pull fails, naming the mirror). Not strict: `server` is the upstream,
 * tried after the mirror.
 */
export function renderHostsToml(host: string, mirrorEndpoint: string, strict: boolean): string {
  const server = strict ? mirrorEndpoint : upstreamServer(host);
  return [
    `# netconform: ${host} through ${mirrorEndpoint} (${strict ? "strict: never the upstream" : "falls back to the upstream"})`,
    `server = "${server}"`,
    "",
    `[host."${mirrorEndpoint}"]`,
    `  capabilities = ["pull", "resolve"]`,
    "",
  ].join("\n");
}

/** KEP-1755 local-registry-hosting ConfigMap (kube-public), telling tools where to push images. */
export function renderLocalRegistryHosting(o: { hostFromHost: string; hostFromRuntime: string; hostFromClusterNetwork: string }): string {
  const data = stringify({
    host: o.hostFromHost,
    hostFromContainerRuntime: o.hostFromRuntime,
    hostFromClusterNetwork: o.hostFromClusterNetwork,
    help: "https://kind.sigs.k8s.io/docs/user/local-registry/",
  });
  return stringify({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "local-registry-hosting", namespace: "kube-public", labels: { "app.kubernetes.io/managed-by": "netconform" } },
    data: { "localRegistryHosting.v1": data },
  });
}

/** Split an image reference into registry host, repository path and tag (docker.io rules for short names). */
export function splitRef(ref: string): { host: string; path: string; tag: string } {
  const at = ref.indexOf("@");
  if (at >= 0) throw new Error(`splitRef: digests are not pushed by tag: ${ref}`);
  const slash = ref.indexOf("/");
  const first = slash >= 0 ? ref.slice(0, slash) : "";
  let host = "docker.io";
  let rest = ref;
  if (slash >= 0 && (first.includes(".") || first.includes(":") || first === "localhost")) {
    host = first;
    rest = ref.slice(slash + 1);
  }
  const colon = rest.lastIndexOf(":");
  const tag = colon > rest.lastIndexOf("/") && colon >= 0 ? rest.slice(colon + 1) : "latest";
  let path = colon > rest.lastIndexOf("/") && colon >= 0 ? rest.slice(0, colon) : rest;
  if (host === "docker.io" && !path.includes("/")) path = `library/${path}`;
  if (host === "registry-1.docker.io" || host === "index.docker.io") host = "docker.io";
  return { host, path, tag };
}
