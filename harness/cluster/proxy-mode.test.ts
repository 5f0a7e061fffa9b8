import { describe, expect, it } from "vitest";
import { proxyModeFromConfig, proxyModeMismatch } from "./proxy-mode.ts";

describe("cluster/proxy-mode", () => {
  it("reads the mode of a KubeProxyConfiguration; unset means iptables", () => {
    expect(proxyModeFromConfig("apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: nftables\n")).toBe("nftables");
    expect(proxyModeFromConfig('kind: KubeProxyConfiguration\nmode: ""\n')).toBe("iptables");
    expect(proxyModeFromConfig("kind: KubeProxyConfiguration\n")).toBe("iptables");
    expect(proxyModeFromConfig("mode: ipvs\n")).toBe("ipvs");
  });

  it("refuses an unknown mode and text that is not YAML, naming them", () => {
    expect(() => proxyModeFromConfig("mode: userspace\n")).toThrow(/mode "userspace", which is not iptables, ipvs or nftables/);
    expect(() => proxyModeFromConfig("mode: [\n")).toThrow(/config\.conf is not YAML/);
  });

  it("a cluster in another mode is refused with both modes and the ways out; the same mode passes", () => {
    expect(proxyModeMismatch("nc-svc", "nftables", "nftables", "x")).toBeUndefined();
    const m = proxyModeMismatch("nc-svc", "iptables", "nftables", "NETCONFORM_KUBE_PROXY_MODE / kubeProxyMode");
    expect(m).toMatch(/^cluster "nc-svc" runs kube-proxy in iptables mode, but this run asks for nftables \(NETCONFORM_KUBE_PROXY_MODE/);
    expect(m).toMatch(/NETCONFORM_KUBE_PROXY_MODE=iptables/);
    expect(m).toMatch(/kind delete cluster --name nc-svc/);
  });
});
