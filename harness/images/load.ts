import { HostExecutor } from "../exec/host.ts";
import type { Executor } from "../exec/types.ts";
import { log } from "../log.ts";

/**
 * Put a forged image into the containerd of node containers on this machine under its upstream
 * name, the way `kind load docker-image` does, for a cluster given by kubeconfig whose nodes are
 * docker containers here but do not pull through the harness's mirrors. Nothing is tagged on the
 * host: the image is imported under its forged name and tagged with the upstream name inside the
 * node. A node that already has the upstream name is left alone. Returns the nodes that got it.
 */
export async function loadIntoNodes(forgedTag: string, upstreamRef: string, nodes: string[], exec: Executor = new HostExecutor()): Promise<string[]> {
  const loaded: string[] = [];
  const imported = forgedTag.includes("/") && !/^[^/]+\.[^/]+\//.test(forgedTag) ? `docker.io/${forgedTag}` : forgedTag;
  for (const n of nodes) {
    const has = await exec.run(["docker", "exec", n, "ctr", "-n", "k8s.io", "images", "ls", "-q", `name==${upstreamRef}`], { allowFailure: true });
    if (has.exitCode === 0 && has.stdout.trim()) continue;
    await exec.run(["sh", "-c", `docker save '${forgedTag}' | docker exec -i '${n}' ctr -n k8s.io images import --digests -`], { timeoutMs: 900_000 });
    await exec.run(["docker", "exec", n, "ctr", "-n", "k8s.io", "images", "tag", "--force", imported, upstreamRef]);
    loaded.push(n);
  }
  if (loaded.length) log.info(`loaded ${upstreamRef} (forged ${forgedTag}) into ${loaded.join(", ")}`);
  return loaded;
}
