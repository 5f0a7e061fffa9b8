import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { LABEL_KEEP, LABEL_ROLE, createNetwork, createVolume, dockerode, inspectContainer, inspectNetwork, removeContainer, removeNetwork, runContainer } from "../adapters/docker.ts";
import { HostExecutor } from "../exec/host.ts";
import type { Executor } from "../exec/types.ts";
import { ensureImage } from "../images/forge-lib.ts";
import { log } from "../log.ts";
import type { Run } from "../run.ts";
import { DEFAULT_UPSTREAMS, mirrorName, renderHostsToml, renderLocalRegistryHosting, splitRef, upstreamServer } from "./render.ts";

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
/** label on a mirror container: the upstream URL it proxies, or "none" (a plain registry filled by pushes) */
export const LABEL_PROXY = "io.netconform.mirror-proxy";

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

/**
 * Pull-through (proxy) mode: with strictOffline=false and imageSource "mirror", each upstream's
 * mirror runs as a pull-through cache of that upstream (distribution's `proxy.remoteurl`, set
 * through its REGISTRY_PROXY_REMOTEURL environment override): the first pull of a blob fetches it
 * from the upstream and stores it in the mirror's data volume, every later pull is served from
 * there. Strict offline (the default) never proxies: the mirrors are plain registries filled by the
 * forge. `o.proxy` overrides the choice (a function from upstream host to the URL to proxy, or
 * undefined for none); the local registry is never a proxy.
 */
export function pullThroughRemotes(config: { strictOffline: boolean; imageSource: string }): ((host: string) => string | undefined) | undefined {
  return !config.strictOffline && config.imageSource === "mirror" ? (host) => upstreamServer(host) : undefined;
}

export async function ensureMirrors(
  run: Run,
  o: {
    network: string;
    hosts?: string[];
    prefix?: string;
    createNetwork?: boolean;
    scope?: "shared" | "run";
    proxy?: ((host: string) => string | undefined) | undefined;
  } = { network: "kind" },
): Promise<Mirrors> {
  const proxyOf = "proxy" in o ? o.proxy : pullThroughRemotes(run.config);
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
    const remote = host === LOCAL_REGISTRY ? undefined : proxyOf?.(host);
    let info = await inspectContainer(container);
    if (info && info.state === "running") {
      const has = (await (await dockerode()).getContainer(container).inspect()).Config.Labels?.[LABEL_PROXY] ?? "none";
      if (has !== (remote ?? "none"))
        throw new Error(
          `mirror ${container} runs ${has === "none" ? "as a plain registry" : `as a pull-through cache of ${has}`}, but this run wants ${remote ? `a pull-through cache of ${remote} (strictOffline=false, imageSource=mirror)` : "a plain registry (strict offline)"}; ` +
            `remove the mirrors (npm run clean -- --all; their data volumes stay) or run with the same settings`,
        );
    }
    if (info && info.state !== "running") {
      await removeContainer(container);
      info = undefined;
    }
    if (!info) {
      // shared: the data volume is a cache kept across runs on purpose (not labelled with a run), or
      // with mirrorDataDir set (CI) a host directory instead, which a CI cache can save and restore;
      // run scope: labelled with the run and removed by its teardown, after the container (LIFO)
      const dataDir = shared && run.config.mirrorDataDir ? resolve(run.config.mirrorDataDir, container) : undefined;
      if (dataDir) mkdirSync(dataDir, { recursive: true });
      else if (shared) await createVolume(`${container}-data`, { [LABEL_ROLE]: "mirror-data", [LABEL_KEEP]: "true", "io.netconform.created-by": run.id });
      else await run.volume(`${container}-data`, "mirror-data");
      info = await runContainer({
        name: container,
        image,
        labels: labels("mirror", { "io.netconform.mirror-of": host, [LABEL_PROXY]: remote ?? "none" }),
        ...(remote ? { env: { REGISTRY_PROXY_REMOTEURL: remote } } : {}),
        network: { name: o.network },
        publishLoopback: { 5000: 0 },
        ...(dataDir ? { binds: [`${dataDir}:/var/lib/registry`] } : { volumes: [{ name: `${container}-data`, target: "/var/lib/registry" }] }),
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

/**
 * Pull an image (by tag or digest) into this machine's docker through the mirror of its upstream
 * host, e.g. the kind node image through the docker.io mirror when the mirrors are pull-through
 * caches, and tag it `localTag`. Docker reaches the mirror on 127.0.0.1, which it allows over
 * plain HTTP. Returns localTag.
 */
export async function pullThroughMirror(ref: string, localTag: string, mirrors: Mirrors, exec: Executor = new HostExecutor(), timeoutMs = 900_000): Promise<string> {
  const at = ref.indexOf("@");
  const { host, path, tag } = splitRef(at >= 0 ? ref.slice(0, at) : ref);
  const m = mirrors.byHost.get(host);
  if (!m) throw new Error(`pullThroughMirror: no mirror for ${host} (mirrored: ${[...mirrors.byHost.keys()].join(", ")})`);
  const viaMirror = `${m.fromHost}/${path}${at >= 0 ? ref.slice(at) : `:${tag}`}`;
  const r = await exec.run(["docker", "pull", "-q", viaMirror], { timeoutMs, allowFailure: true });
  if (r.exitCode !== 0) throw new Error(`pulling ${ref} through mirror ${m.container} (${viaMirror}) failed: ${(r.stderr || r.stdout).trim()}`);
  await exec.run(["docker", "tag", viaMirror, localTag]);
  if (at < 0) await exec.run(["docker", "rmi", viaMirror], { allowFailure: true });
  log.info(`pulled ${ref} through ${m.container} as ${localTag}`);
  return localTag;
}
