/**
 * What a run has on the docker engine, for the leak tests ("nothing of a run is left behind"):
 * objects labelled with it, the volumes its containers mount (named or anonymous, labelled or not:
 * an unlabelled volume a run container mounts is the leak the labels alone would miss), volumes and
 * image tags whose name carries the run id, and the node containers (and their volumes) of the kind
 * cluster it created. Take one while the run is alive, then `leftOf` it after teardown: every object
 * in it must be gone.
 */
import { KIND_CLUSTER_LABEL } from "../adapters/kind.ts";
import { LABEL_RUN, containerVolumes, containersByLabel, inspectContainer, inspectNetwork, listByLabel, listImageTags, listVolumeNames } from "../adapters/docker.ts";

export interface Footprint {
  containers: string[];
  networks: string[];
  volumes: string[];
  images: string[];
}

const uniq = (xs: string[]): string[] => [...new Set(xs)].sort();

export async function footprint(runId: string, o: { cluster?: string } = {}): Promise<Footprint> {
  const l = await listByLabel(LABEL_RUN, runId);
  const containers = uniq([...l.containers.map((c) => c.name), ...(o.cluster ? await containersByLabel(KIND_CLUSTER_LABEL, o.cluster) : [])]);
  const mounted: string[] = [];
  for (const c of containers) mounted.push(...(await containerVolumes(c)));
  const named = (await listVolumeNames()).filter((v) => v.includes(runId));
  const tagged = (await listImageTags()).filter((t) => t.includes(runId));
  return {
    containers,
    networks: uniq(l.networks.map((n) => n.name)),
    volumes: uniq([...l.volumes, ...mounted, ...named]),
    images: uniq([...l.images, ...tagged]),
  };
}

/** merge footprints taken at several moments of a run */
export function merge(...fs: Footprint[]): Footprint {
  return {
    containers: uniq(fs.flatMap((f) => f.containers)),
    networks: uniq(fs.flatMap((f) => f.networks)),
    volumes: uniq(fs.flatMap((f) => f.volumes)),
    images: uniq(fs.flatMap((f) => f.images)),
  };
}

/**
 * What is still there of a footprint, plus anything newly labelled with the run or named after it:
 * ["volume nct-…-data", "container …"]; [] when the run left nothing.
 */
export async function leftOf(runId: string, seen: Footprint, o: { cluster?: string } = {}): Promise<string[]> {
  const now = await footprint(runId, o);
  const volumes = new Set(await listVolumeNames());
  const images = new Set(await listImageTags());
  const containers = new Set(now.containers);
  for (const c of seen.containers) if (await inspectContainer(c)) containers.add(c);
  const networks = new Set(now.networks);
  for (const n of seen.networks) if (await inspectNetwork(n)) networks.add(n);
  return [
    ...[...containers].sort().map((c) => `container ${c}`),
    ...[...networks].sort().map((n) => `network ${n}`),
    ...uniq([...now.volumes, ...seen.volumes.filter((v) => volumes.has(v))]).map((v) => `volume ${v}`),
    ...uniq([...now.images, ...seen.images.filter((i) => images.has(i))]).map((i) => `image ${i}`),
  ];
}

export function describeFootprint(f: Footprint): string {
  return `${f.containers.length} containers, ${f.networks.length} networks, ${f.volumes.length} volumes, ${f.images.length} images`;
}
