import { stringify } from "yaml";
import type { Topology } from "./topology.ts";

export interface RenderOptions {
  nodeImage: string;
  kubeProxyMode: "iptables" | "ipvs" | "nftables" | "none";
  /** kubeadm config API the node image's kubeadm uses: v1beta4 (Kubernetes ≥ 1.31) lists kubeletExtraArgs as name/value pairs */
  kubeadmApi: "v1beta3" | "v1beta4";
  /** host directory holding <registry host>/hosts.toml files; mounted read-only at /etc/containerd/certs.d */
  certsDir?: string;
  /** extra labels on every node container (run id) are set by kind itself via --name; not here */
}

/** One kind v1alpha4 Cluster config from a topology. Deterministic: the same inputs give the same text. */
export function renderKindConfig(t: Topology, o: RenderOptions): string {
  const nodes = t.nodes.map((n) => {
    const args: Record<string, string> = { ...n.kubeletExtraArgs };
    if (Object.keys(n.labels).length) args["node-labels"] = Object.entries(n.labels).map(([k, v]) => `${k}=${v}`).join(",");
    if (n.taints.length) args["register-with-taints"] = n.taints.join(",");
    const node: Record<string, unknown> = { role: n.role, image: o.nodeImage };
    const mounts = [
      ...n.extraMounts.map((m) => ({ hostPath: m.hostPath, containerPath: m.containerPath, ...(m.readOnly ? { readOnly: true } : {}) })),
      ...(o.certsDir ? [{ hostPath: o.certsDir, containerPath: "/etc/containerd/certs.d", readOnly: true }] : []),
    ];
    if (mounts.length) node.extraMounts = mounts;
    if (Object.keys(args).length) {
      const kind = n.role === "control-plane" ? "InitConfiguration" : "JoinConfiguration";
      const kubeletExtraArgs = o.kubeadmApi === "v1beta4" ? Object.entries(args).map(([name, value]) => ({ name, value })) : args;
      node.kubeadmConfigPatches = [
        stringify({ kind, apiVersion: `kubeadm.k8s.io/${o.kubeadmApi}`, nodeRegistration: { kubeletExtraArgs } }),
      ];
    }
    return node;
  });
  const networking: Record<string, unknown> = {
    kubeProxyMode: t.kubeProxyMode ?? o.kubeProxyMode,
    apiServerAddress: "127.0.0.1",
  };
  if (t.networking.podSubnet) networking.podSubnet = t.networking.podSubnet;
  if (t.networking.serviceSubnet) networking.serviceSubnet = t.networking.serviceSubnet;
  if (t.networking.disableDefaultCNI) networking.disableDefaultCNI = true;
  const cfg: Record<string, unknown> = { kind: "Cluster", apiVersion: "kind.x-k8s.io/v1alpha4" };
  if (o.certsDir) {
    // hosts.toml files under /etc/containerd/certs.d, never the legacy registry.mirrors tables
    cfg.containerdConfigPatches = ['[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"'];
  }
  cfg.nodes = nodes;
  cfg.networking = networking;
  return `# rendered by netconform from topology "${t.name}"; do not edit\n${stringify(cfg, { lineWidth: 0 })}`;
}
