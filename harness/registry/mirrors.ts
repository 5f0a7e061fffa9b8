import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LABEL_KEEP, LABEL_ROLE, createNetwork, createVolume, inspectContainer, inspectNetwork, removeContainer, removeNetwork, runContainer } from "../adapters/docker.ts";
import { HostExecutor } from "../exec/host.ts";
import type { Executor } from "../exec/types.ts";
import { ensureImage } from "../images/forge-lib.ts";
import { log } from "../log.ts";
import type { Run } from "../run.ts";
import { DEFAULT_UPSTREAMS, mirrorName, renderHostsToml, renderLocalRegistryHosting, splitRef } from "./render.ts";

/**
 * Mirror registries: one registry container per upstream host on the cluster's docker network,
 * reachable from the nodes by container name and from this machine on 127.0.0.1:<port> only.
 *
 * Scope "shared" (what suites use): the mirrors, their data volumes and the network are machine
 * infrastructure kept on purpose, like kind's own "kind" network and the forge's image cache. Two
 * runs on one machine use the same mirrors, so no run's teardown may remove them (measured: a run
 * that did broke the pushes of another running at the same time). They carry
 * io.netconform.keep=true and io.netconform.role=mirror, not a run label; `npm run clean -- --all`
 * removes them. Scope "run" (the harness's own tests): containers, network and data volumes
 * labelled with the run and removed by its teardown.
 */
export interface Mirror {
  host: string;
  container: string;
  /** what containerd in a node uses: http://<container>:5000 */
  fromNodes: string;
  /** what this machine uses to push: 127.0.0.1:<port> */
  fromHost: string;
}
export interface Mirrors {
  network: string;
  strict: boolean;
  byHost: Map<string, Mirror>;
}

export const LOCAL_REGISTRY = "local";
/**
 * The local registry as the nodes reach it (its container name on the cluster network): images
 * with no upstream twin are named under it in the catalogue (e.g. nc-mirror-local:5000/netconform/…)
 * and pulled from it over plain HTTP (writeHostsDir gives the nodes a hosts.toml for it).
 */
export const LOCAL_REGISTRY_HOST = `${mirrorName(LOCAL_REGISTRY)}:5000`;

/** An image reference served by the local registry only (no upstream registry has it). */
export function isLocalRef(ref: string): boolean {
  return splitRef(ref).host === LOCAL_REGISTRY_HOST;
}

export async function ensureMirrors(
  run: Run,
  o: { network: string; hosts?: string[]; prefix?: string; createNetwork?: boolean; scope?: "shared" | "run" } = { network: "kind" },
): Promise<Mirrors> {
  const shared = (o.scope ?? "shared") === "shared";
  const labels = (role: string, extra: Record<string, string> = {}) =>
    shared ? { [LABEL_ROLE]: role, [LABEL_KEEP]: "true", "io.netconform.created-by": run.id, ...extra } : run.labels(role, extra);
  const hosts = o.hosts ?? [...DEFAULT_UPSTREAMS, LOCAL_REGISTRY];
  const image = await ensureImage("registry");
  if (!(await inspectNetwork(o.network))) {
    if (o.createNetwork === false) throw new Error(`mirrors: docker network "${o.network}" does not exist`);
    await createNetwork({ name: o.network, labels: labels("network") });
    if (!shared) run.defer(`network ${o.network}`, () => removeNetwork(o.network));
  }
  const byHost = new Map<string, Mirror>();
  for (const host of hosts) {
    const container = `${o.prefix ?? ""}${mirrorName(host)}`;
    let info = await inspectContainer(container);
    if (info && info.state !== "running") {
      await removeContainer(container);
      info = undefined;
    }
    if (!info) {
      // shared: the data volume is a cache kept across runs on purpose (not labelled with a run);
      // run scope: labelled with the run and removed by its teardown, after the container (LIFO)
      if (shared) await createVolume(`${container}-data`, { [LABEL_ROLE]: "mirror-data", [LABEL_KEEP]: "true", "io.netconform.created-by": run.id });
      else await run.volume(`${container}-data`, "mirror-data");
      info = await runContainer({
        name: container,
        image,
        labels: labels("mirror", { "io.netconform.mirror-of": host }),
        network: { name: o.network },
        publishLoopback: { 5000: 0 },
        volumes: [{ name: `${container}-data`, target: "/var/lib/registry" }],
      });
      if (!shared) run.defer(`mirror ${container}`, () => removeContainer(container));
    } else if (!info.ips[o.network]) {
      throw new Error(`mirror ${container} is running but not on network ${o.network}; remove it (docker rm -f ${container}) or use that network`);
    }
    const port = info.ports[5000];
    if (!port) throw new Error(`mirror ${container} publishes no port for 5000`);
    byHost.set(host, { host, container, fromNodes: `http://${container}:5000`, fromHost: `127.0.0.1:${port}` });
  }
  for (const m of byHost.values()) await waitRegistryUp(m);
  return { network: o.network, strict: run.config.strictOffline, byHost };
}

async function waitRegistryUp(m: Mirror, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < until) {
    try {
      const r = await fetch(`http://${m.fromHost}/v2/`);
      if (r.status === 200) return;
      last = `HTTP ${r.status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`mirror ${m.container} (${m.fromHost}) did not answer /v2/ within ${timeoutMs} ms: ${last}`);
}

/** Write <dir>/<host>/hosts.toml for every mirrored upstream; `endpoint` picks the address nodes use. */
export function writeHostsDir(dir: string, mirrors: Mirrors, endpoint: (m: Mirror) => string = (m) => m.fromNodes): string {
  for (const m of mirrors.byHost.values()) {
    if (m.host === LOCAL_REGISTRY) {
      // the local registry has no upstream: its own name, plain HTTP, always strict
      const host = m.fromNodes.replace(/^http:\/\//, "");
      mkdirSync(join(dir, host), { recursive: true });
      writeFileSync(join(dir, host, "hosts.toml"), renderHostsToml(host, endpoint(m), true));
      continue;
    }
    mkdirSync(join(dir, m.host), { recursive: true });
    writeFileSync(join(dir, m.host, "hosts.toml"), renderHostsToml(m.host, endpoint(m), mirrors.strict));
  }
  return dir;
}

export function localRegistryHostingConfigMap(mirrors: Mirrors): string {
  const m = mirrors.byHost.get(LOCAL_REGISTRY);
  if (!m) throw new Error("mirrors: no local registry was started");
  const inNet = m.fromNodes.replace(/^http:\/\//, "");
  return renderLocalRegistryHosting({ hostFromHost: m.fromHost, hostFromRuntime: inNet, hostFromClusterNetwork: inNet });
}

/** Push a local image into the mirror of its upstream host, under its upstream name. */
export async function pushImage(localTag: string, upstreamRef: string, mirrors: Mirrors, exec: Executor = new HostExecutor()): Promise<string> {
  const { host, path, tag } = splitRef(upstreamRef);
  const m = mirrors.byHost.get(host === LOCAL_REGISTRY_HOST ? LOCAL_REGISTRY : host);
  if (!m) throw new Error(`pushImage: no mirror for ${host} (mirrored: ${[...mirrors.byHost.keys()].join(", ")}); add it to the mirror hosts`);
  const target = `${m.fromHost}/${path}:${tag}`;
  await exec.run(["docker", "tag", localTag, target]);
  try {
    await exec.run(["docker", "push", "-q", target], { timeoutMs: 600_000 });
  } finally {
    await exec.run(["docker", "rmi", target], { allowFailure: true });
  }
  const r = await fetch(`http://${m.fromHost}/v2/${path}/manifests/${tag}`, {
    method: "HEAD",
    headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json" },
  });
  if (r.status !== 200) throw new Error(`pushImage: ${upstreamRef} is not in mirror ${m.container} after the push (HTTP ${r.status})`);
  log.info(`pushed ${localTag} as ${upstreamRef} into ${m.container}`);
  return r.headers.get("docker-content-digest") ?? "";
}
