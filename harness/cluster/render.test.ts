import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { behaviour } from "../report/allure.ts";
import { expectGolden } from "../testing/golden.ts";
import { renderKindConfig } from "./render.ts";
import { loadTopology, nodeNames, parseTopology } from "./topology.ts";

const topo = (n: string) => loadTopology(join(import.meta.dirname, "..", "..", "fixtures", "topologies", `${n}.yaml`));
const base = { nodeImage: "kindest/node:v1.34.0", kubeProxyMode: "iptables" as const };

describe("cluster/render", () => {
  it("HARN-01 renders the seven-node IPAM topology (kubeadm v1beta3, what kind v0.30 writes)", async () => {
    await behaviour("HARN-01", "R");
    expectGolden("kind-config/meridio-ipam.v1beta3.yaml", renderKindConfig(topo("meridio-ipam"), { ...base, kubeadmApi: "v1beta3" }));
  });
  it("HARN-01 renders the IPAM topology for kubeadm v1beta4 (kind releases that write it) with mirrors mounted", async () => {
    await behaviour("HARN-01", "R");
    expectGolden(
      "kind-config/meridio-ipam.v1beta4.yaml",
      renderKindConfig(topo("meridio-ipam"), { ...base, kubeadmApi: "v1beta4", certsDir: "/var/lib/netconform/run/certs.d" }),
    );
  });
  it("HARN-01 renders the default 1+2 topology in iptables mode, kubeadm v1beta3 as kind v0.30 writes it", async () => {
    await behaviour("HARN-01", "R");
    expectGolden("kind-config/default.yaml", renderKindConfig(topo("default"), { ...base, kubeadmApi: "v1beta3", certsDir: "/x/certs.d" }));
  });
  it("HARN-01 lets a topology pin its kube-proxy mode over the run's", async () => {
    await behaviour("HARN-01", "R");
    expect(renderKindConfig(topo("meridio-ipam"), { ...base, kubeadmApi: "v1beta4" })).toContain("kubeProxyMode: ipvs");
  });
  it("HARN-02 never writes legacy registry.mirrors patches", async () => {
    await behaviour("HARN-02", "R");
    expect(renderKindConfig(topo("default"), { ...base, kubeadmApi: "v1beta4", certsDir: "/x" })).not.toContain("registry.mirrors");
  });
  it("HARN-01 names nodes as kind does", async () => {
    await behaviour("HARN-01", "R");
    expect(nodeNames("nc", topo("meridio-ipam"))).toEqual(["nc-control-plane", "nc-worker", "nc-worker2", "nc-worker3", "nc-worker4", "nc-worker5", "nc-worker6"]);
  });
  it("HARN-01 rejects a topology without a control plane and a malformed taint", async () => {
    await behaviour("HARN-01", "R");
    expect(() => parseTopology("name: x\nnodes: [{role: worker}]", "t.yaml")).toThrow(/nodes: needs at least one control-plane/);
    expect(() => parseTopology("name: x\nnodes: [{role: control-plane, taints: [dedicated]}]", "t.yaml")).toThrow(/nodes\.0\.taints\.0: key\[=value\]:NoSchedule/);
  });
});
