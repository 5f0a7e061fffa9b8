import { describe, expect, it } from "vitest";
import { parseNetworkSelection } from "../evidence/parsers/network-status.ts";
import { parseIPPools } from "../evidence/parsers/nvipam.ts";
import { ippoolYaml, macvlanNadYaml, releaseImage, secondaryPodYaml } from "./nvipam.ts";

describe("components/nvipam objects", () => {
  it("the IPPool is one the IPPool parser accepts, in the namespace nv-ipam watches", () => {
    const text = ippoolYaml({
      name: "p",
      subnet: "192.168.0.0/16",
      perNodeBlockSize: 100,
      gateway: "192.168.0.1",
      exclusions: [{ startIP: "192.168.0.0", endIP: "192.168.0.10" }],
      nodeSelector: { nodeSelectorTerms: [{ matchExpressions: [{ key: "netconform.io/zone", operator: "Exists" }] }] },
    });
    const [pool] = parseIPPools(text);
    expect(pool).toMatchObject({ metadata: { name: "p", namespace: "kube-system" }, spec: { perNodeBlockSize: 100, exclusions: [{ startIP: "192.168.0.0", endIP: "192.168.0.10" }] } });
    expect(() => parseIPPools(ippoolYaml({ name: "p", subnet: "192.168.0.0/30", perNodeBlockSize: 100 }))).toThrow(/larger than the subnet/);
  });

  it("the NAD is macvlan on the given master with nv-ipam and capabilities.ips; the pod's selection asks for its static IPs", () => {
    const nad = JSON.parse(macvlanNadYaml({ name: "n", namespace: "ns", master: "eth0", pool: "p" })) as { spec: { config: string } };
    expect(JSON.parse(nad.spec.config)).toEqual({ cniVersion: "0.4.0", name: "n", type: "macvlan", master: "eth0", mode: "bridge", capabilities: { ips: true }, ipam: { type: "nv-ipam", poolName: "p" } });
    const pod = JSON.parse(secondaryPodYaml({ name: "a", namespace: "ns", node: "w1", network: "n", image: "registry.k8s.io/e2e-test-images/agnhost:2.56", ips: ["192.168.0.5"] })) as {
      metadata: { annotations: Record<string, string> };
      spec: { nodeSelector: Record<string, string> };
    };
    expect(parseNetworkSelection(pod.metadata.annotations["k8s.v1.cni.cncf.io/networks"]!)[0]).toMatchObject({ name: "n", requestedIps: ["192.168.0.5"] });
    expect(pod.spec.nodeSelector).toEqual({ "kubernetes.io/hostname": "w1" });
  });

  it("the pods must run the release images the catalogue pins, never the floating tags", () => {
    expect(releaseImage("multus")).toBe("ghcr.io/k8snetworkplumbingwg/multus-cni:v4.3.0");
    expect(releaseImage("nv-ipam")).toBe("ghcr.io/mellanox/nvidia-k8s-ipam:v0.4.0");
  });
});
