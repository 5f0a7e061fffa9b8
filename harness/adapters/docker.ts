// testcontainers' reaper (ryuk) is an image that cannot be pulled here, and netconform cleans up
// by its own run-id labels; turn the reaper off before testcontainers is loaded.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true";

import type Dockerode from "dockerode";
import { getContainerRuntimeClient } from "testcontainers";

/**
 * The docker adapter: networks and containers through testcontainers' runtime client (dockerode).
 * testcontainers' GenericContainer/Network builders cannot bind a published port to 127.0.0.1 or give
 * a network a chosen subnet (measured on testcontainers 12.2: PortBindings carry HostPort only, and
 * Network() takes no IPAM), so the harness uses the runtime client underneath them.
 * Every object created here carries the labels given by the caller (run id, role).
 */
export const LABEL_RUN = "io.netconform.run";
export const LABEL_ROLE = "io.netconform.role";
export const LABEL_KEEP = "io.netconform.keep";

let clientP: ReturnType<typeof getContainerRuntimeClient> | undefined;
export async function dockerode(): Promise<Dockerode> {
  clientP ??= getContainerRuntimeClient();
  return (await clientP).container.dockerode;
}

export interface NetworkSpec {
  name: string;
  subnet?: string;
  gateway?: string;
  labels: Record<string, string>;
  /** MTU etc. */
  options?: Record<string, string>;
}

export async function createNetwork(s: NetworkSpec): Promise<{ id: string; name: string; subnet: string; gateway: string }> {
  const d = await dockerode();
  const ipam = s.subnet ? { Driver: "default", Config: [{ Subnet: s.subnet, ...(s.gateway ? { Gateway: s.gateway } : {}) }] } : undefined;
  const n = await d.createNetwork({ Name: s.name, Driver: "bridge", CheckDuplicate: true, Labels: s.labels, Options: s.options ?? {}, ...(ipam ? { IPAM: ipam } : {}) });
  const info = await n.inspect();
  const cfg = info.IPAM?.Config?.[0] ?? {};
  return { id: n.id, name: s.name, subnet: cfg.Subnet ?? "", gateway: cfg.Gateway ?? "" };
}

export async function inspectNetwork(name: string): Promise<Dockerode.NetworkInspectInfo | undefined> {
  const d = await dockerode();
  try {
    return (await d.getNetwork(name).inspect()) as Dockerode.NetworkInspectInfo;
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return undefined;
    throw e;
  }
}

export async function removeNetwork(name: string): Promise<void> {
  const d = await dockerode();
  await whileBusy(`network ${name}`, async () => {
    try {
      await d.getNetwork(name).remove();
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode !== 404) throw e;
    }
  });
}

/**
 * Run a removal; while docker answers 409 (a container's removal already in progress, a network
 * with endpoints or a volume in use by a container that another teardown is removing right now),
 * try again every second, bounded by `timeoutMs`. Two cleaners (a run's teardown and the session
 * reaper) may work on the same objects at once; neither may fail because the other was first.
 */
export async function whileBusy(what: string, fn: () => Promise<void>, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode !== 409) throw e;
      if (Date.now() >= until) throw new Error(`${what}: still busy after ${Math.round(timeoutMs / 1000)} s: ${(e as Error).message}`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export interface ContainerSpec {
  name: string;
  image: string;
  labels: Record<string, string>;
  cmd?: string[];
  entrypoint?: string[];
  env?: Record<string, string>;
  /** first network, with an optional fixed IPv4 address */
  network?: { name: string; ip?: string; aliases?: string[] };
  privileged?: boolean;
  capAdd?: string[];
  sysctls?: Record<string, string>;
  /** container port → published on 127.0.0.1 (never on other host addresses); 0 picks a free port */
  publishLoopback?: Record<number, number>;
  binds?: string[];
  volumes?: Array<{ name: string; target: string }>;
  /** anonymous volumes (docker names them; `docker rm -v`, as removeContainer does, removes them with the container) */
  anonymousVolumes?: string[];
  hostname?: string;
  tmpfs?: Record<string, string>;
}

export interface ContainerInfo { id: string; name: string; ips: Record<string, string>; ports: Record<number, number>; state: string }

export async function runContainer(s: ContainerSpec): Promise<ContainerInfo> {
  const d = await dockerode();
  const portBindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  const exposed: Record<string, object> = {};
  for (const [cp, hp] of Object.entries(s.publishLoopback ?? {})) {
    portBindings[`${cp}/tcp`] = [{ HostIp: "127.0.0.1", HostPort: hp ? String(hp) : "" }];
    exposed[`${cp}/tcp`] = {};
  }
  const c = await d.createContainer({
    name: s.name,
    Image: s.image,
    Labels: s.labels,
    ...(s.cmd ? { Cmd: s.cmd } : {}),
    ...(s.entrypoint ? { Entrypoint: s.entrypoint } : {}),
    ...(s.hostname ? { Hostname: s.hostname } : {}),
    Env: Object.entries(s.env ?? {}).map(([k, v]) => `${k}=${v}`),
    ExposedPorts: exposed,
    HostConfig: {
      Privileged: s.privileged ?? false,
      CapAdd: s.capAdd ?? [],
      Sysctls: s.sysctls ?? {},
      PortBindings: portBindings,
      Binds: s.binds ?? [],
      Mounts: [
        ...(s.volumes ?? []).map((v) => ({ Type: "volume" as const, Source: v.name, Target: v.target })),
        ...(s.anonymousVolumes ?? []).map((target) => ({ Type: "volume" as const, Source: "", Target: target })),
      ],
      Tmpfs: s.tmpfs ?? {},
      ...(s.network ? { NetworkMode: s.network.name } : {}),
    },
    ...(s.network
      ? { NetworkingConfig: { EndpointsConfig: { [s.network.name]: { Aliases: s.network.aliases ?? [], ...(s.network.ip ? { IPAMConfig: { IPv4Address: s.network.ip } } : {}) } } } }
      : {}),
  });
  await c.start();
  return inspectContainer(s.name) as Promise<ContainerInfo>;
}

export async function inspectContainer(name: string): Promise<ContainerInfo | undefined> {
  const d = await dockerode();
  let i: Dockerode.ContainerInspectInfo;
  try {
    i = await d.getContainer(name).inspect();
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return undefined;
    throw e;
  }
  const ips: Record<string, string> = {};
  for (const [n, ep] of Object.entries(i.NetworkSettings.Networks ?? {})) ips[n] = ep.IPAddress;
  const ports: Record<number, number> = {};
  for (const [k, v] of Object.entries(i.NetworkSettings.Ports ?? {})) if (v?.[0]) ports[Number(k.split("/")[0])] = Number(v[0].HostPort);
  return { id: i.Id, name: i.Name.replace(/^\//, ""), ips, ports, state: i.State.Status };
}

export async function connectNetwork(container: string, network: string, ip?: string): Promise<void> {
  const d = await dockerode();
  await d.getNetwork(network).connect({ Container: container, ...(ip ? { EndpointConfig: { IPAMConfig: { IPv4Address: ip } } } : {}) });
}
export async function disconnectNetwork(container: string, network: string): Promise<void> {
  const d = await dockerode();
  await d.getNetwork(network).disconnect({ Container: container, Force: true });
}

export type ContainerAction = "stop" | "start" | "kill" | "pause" | "unpause" | "restart";
export async function containerAction(name: string, action: ContainerAction): Promise<void> {
  const c = (await dockerode()).getContainer(name);
  if (action === "stop") await c.stop({ t: 10 });
  else await c[action]();
}

export async function removeContainer(name: string): Promise<void> {
  const d = await dockerode();
  await whileBusy(`container ${name}`, async () => {
    try {
      await d.getContainer(name).remove({ force: true, v: true });
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode !== 404) throw e;
    }
  });
}

export interface Labelled {
  containers: Array<{ name: string; labels: Record<string, string> }>;
  networks: Array<{ name: string; labels: Record<string, string> }>;
  volumes: string[];
  /** images carrying the label, by their first tag (or id when untagged) */
  images: string[];
}

export async function listByLabel(label: string, value?: string): Promise<Labelled> {
  const d = await dockerode();
  const filter = JSON.stringify({ label: [value === undefined ? label : `${label}=${value}`] });
  const cs = await d.listContainers({ all: true, filters: filter });
  const ns = await d.listNetworks({ filters: filter });
  const vs = await d.listVolumes({ filters: filter });
  const is = await d.listImages({ filters: filter });
  return {
    containers: cs.map((c) => ({ name: c.Names[0]!.replace(/^\//, ""), labels: c.Labels })),
    networks: ns.map((n) => ({ name: n.Name, labels: n.Labels ?? {} })),
    volumes: (vs.Volumes ?? []).map((v) => v.Name),
    images: is.map((i) => i.RepoTags?.find((t) => t !== "<none>:<none>") ?? i.Id),
  };
}

/** labels of a volume; undefined when it does not exist */
export async function volumeLabels(name: string): Promise<Record<string, string> | undefined> {
  const d = await dockerode();
  try {
    return (await d.getVolume(name).inspect()).Labels ?? {};
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return undefined;
    throw e;
  }
}

export async function createVolume(name: string, labels: Record<string, string>): Promise<void> {
  const d = await dockerode();
  await d.createVolume({ Name: name, Labels: labels });
}

/** every volume name on the engine (named and anonymous) */
export async function listVolumeNames(): Promise<string[]> {
  const d = await dockerode();
  return ((await d.listVolumes()).Volumes ?? []).map((v) => v.Name).sort();
}

/** every image tag on the engine ("repo:tag"), untagged images by id */
export async function listImageTags(): Promise<string[]> {
  const d = await dockerode();
  return (await d.listImages()).flatMap((i) => (i.RepoTags?.filter((t) => t !== "<none>:<none>").length ? i.RepoTags.filter((t) => t !== "<none>:<none>") : [i.Id])).sort();
}

/** the volumes (named or anonymous) a container mounts; [] when it does not exist */
export async function containerVolumes(name: string): Promise<string[]> {
  const d = await dockerode();
  try {
    const i = await d.getContainer(name).inspect();
    return (i.Mounts ?? []).filter((m) => m.Type === "volume" && m.Name).map((m) => m.Name!);
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return [];
    throw e;
  }
}

/** containers carrying a label (any value when `value` is undefined), by name */
export async function containersByLabel(label: string, value?: string): Promise<string[]> {
  const d = await dockerode();
  const cs = await d.listContainers({ all: true, filters: JSON.stringify({ label: [value === undefined ? label : `${label}=${value}`] }) });
  return cs.map((c) => c.Names[0]!.replace(/^\//, ""));
}

export async function removeImage(ref: string): Promise<void> {
  const d = await dockerode();
  try {
    await d.getImage(ref).remove({ force: true });
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode !== 404) throw e;
  }
}

export async function removeVolume(name: string): Promise<void> {
  const d = await dockerode();
  await whileBusy(`volume ${name}`, async () => {
    try {
      await d.getVolume(name).remove();
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode !== 404) throw e;
    }
  });
}
