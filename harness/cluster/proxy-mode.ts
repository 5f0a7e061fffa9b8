import { parse as parseYaml } from "yaml";
import { type KubeClient, apiErrorMessage, isNotFound } from "../kube/client.ts";

/**
 * The kube-proxy mode a cluster really runs, read from kubeadm's kube-system/kube-proxy ConfigMap
 * (config.conf, a KubeProxyConfiguration). A reused cluster created in another mode is refused:
 * a suite must never test one mode while its names and oracles say another.
 */
export type ProxyMode = "iptables" | "ipvs" | "nftables" | "none";

/** The mode of a KubeProxyConfiguration text; "" (unset) is iptables on Linux. */
export function proxyModeFromConfig(configConf: string): ProxyMode {
  let doc: unknown;
  try {
    doc = parseYaml(configConf);
  } catch (e) {
    throw new Error(`kube-proxy config.conf is not YAML: ${(e as Error).message}`);
  }
  const mode = (doc as { mode?: unknown } | null)?.mode ?? "";
  if (mode === "" || mode === null) return "iptables";
  if (mode === "iptables" || mode === "ipvs" || mode === "nftables") return mode;
  throw new Error(`kube-proxy config.conf names mode ${JSON.stringify(mode)}, which is not iptables, ipvs or nftables`);
}

/** The running mode, or "none" when the cluster has no kube-proxy ConfigMap (kubeProxyMode: none). */
export async function clusterProxyMode(kube: KubeClient): Promise<ProxyMode> {
  try {
    const cm = await kube.core.readNamespacedConfigMap({ namespace: "kube-system", name: "kube-proxy" });
    const conf = cm.data?.["config.conf"];
    if (conf === undefined) throw new Error("ConfigMap kube-system/kube-proxy has no config.conf");
    return proxyModeFromConfig(conf);
  } catch (e) {
    if (isNotFound(e)) return "none";
    if (e instanceof Error && /config\.conf/.test(e.message)) throw e;
    throw new Error(`reading kube-system/kube-proxy: ${apiErrorMessage(e)}`);
  }
}

/** Refuse a cluster whose kube-proxy runs in another mode than the run asks for. */
export function proxyModeMismatch(cluster: string, running: ProxyMode, wanted: ProxyMode, from: string): string | undefined {
  if (running === wanted) return undefined;
  return (
    `cluster "${cluster}" runs kube-proxy in ${running} mode, but this run asks for ${wanted} (${from}): ` +
    `its tests would be named and judged for ${wanted} while the cluster does ${running}. ` +
    `Run with NETCONFORM_KUBE_PROXY_MODE=${running}, pick another NETCONFORM_CLUSTER, or delete this cluster (kind delete cluster --name ${cluster}) so it is created in ${wanted} mode`
  );
}
