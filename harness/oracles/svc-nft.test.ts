import { describe, expect, it } from "vitest";
import { loadFixture } from "../evidence/fixtures.ts";
import { nftTable, parseNftJson, parseNftText, type NftTable } from "../evidence/parsers/nft.ts";
import { behaviour } from "../report/allure.ts";
import { etp05Nft, nftExtChainFor, nftExtChainForNodePort } from "./etp.ts";
import { svc02Nft, svc03Nft } from "./svc.ts";
import { formatVerdict } from "./verdict.ts";

// kube-proxy's nftables mode, recorded live by suites/services (kind, Kubernetes v1.34.4)
const table = (id: string, kind: "pass" | "fail", name: string): NftTable => {
  const text = loadFixture(id, kind, name).text;
  const t = nftTable(name.endsWith(".json") ? parseNftJson(text) : parseNftText(text), "ip", "kube-proxy");
  if (!t) throw new Error(`${id}/${kind}/${name}: no table ip kube-proxy`);
  return t;
};
const web = { clusterIP: "10.96.78.22", port: 80 } as const;
const ep3 = ["10.244.1.10:8080", "10.244.1.2:8080", "10.244.1.9:8080"];

describe("SVC-02 [nftables] service chain and numgen dispatch", () => {
  it("SVC-02 passes on the live 1-, 3- and 6-endpoint tables, text and JSON", async () => {
    await behaviour("SVC-02", "R");
    for (const name of ["kube-proxy-3ep.nft", "kube-proxy-3ep.nft.json"]) {
      const v = svc02Nft({ table: table("SVC-02", "pass", name), ...web, endpoints: ep3 });
      expect(v.ok, formatVerdict(v)).toBe(true);
      expect(v.measurements).toEqual({ endpoints: 3, svcChain: "service-JFF4BGXP-nc-svc/web/tcp/http" });
      expect(v.reasons[1]).toBe("service-JFF4BGXP-nc-svc/web/tcp/http: numgen random mod 3 → indices 0..2, each to its own endpoint chain: every endpoint chosen with probability 1/3");
    }
    const one = svc02Nft({ table: table("SVC-02", "pass", "kube-proxy-1ep.nft"), ...web, endpoints: ["10.244.1.2:8080"] });
    expect(one.ok, formatVerdict(one)).toBe(true);
    const six = svc02Nft({ table: table("SVC-02", "pass", "kube-proxy-6ep.nft"), ...web });
    expect(six.ok, formatVerdict(six)).toBe(true);
    expect(six.measurements?.endpoints).toBe(6);
  });

  it("SVC-02 fails and names the numgen index that matches nothing", async () => {
    await behaviour("SVC-02", "R");
    const v = svc02Nft({ table: table("SVC-02", "fail", "nft-index-missing.nft"), ...web });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual(["service-JFF4BGXP-nc-svc/web/tcp/http: numgen random mod 3 has no element for index 2: that share of connections matches nothing"]);
  });

  it("SVC-02 fails when one endpoint is chosen by two indices (probability 2/3, not 1/3)", async () => {
    await behaviour("SVC-02", "R");
    const v = svc02Nft({ table: table("SVC-02", "fail", "nft-duplicate-endpoint.nft"), ...web, endpoints: ep3 });
    expect(v.ok).toBe(false);
    expect(v.reasons).toContain("service-JFF4BGXP-nc-svc/web/tcp/http: endpoint chain endpoint-GIJN5TWT-nc-svc/web/tcp/http__10.244.1.10/8080 is chosen by 2 of 3 indices (probability 2/3, expected 1/3)");
    expect(v.reasons).toContain("endpoint 10.244.1.2:8080 has no endpoint chain DNATing to it");
  });

  it("SVC-02 fails when an endpoint chain masquerades another pod's IP", async () => {
    await behaviour("SVC-02", "R");
    const v = svc02Nft({ table: table("SVC-02", "fail", "nft-endpoint-masq-other-pod.nft"), ...web });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual(["endpoint-Y4JUU5LC-nc-svc/web/tcp/http__10.244.1.2/8080: mark-for-masquerade matches source 10.244.1.9, expected its own pod 10.244.1.2"]);
  });

  it("SVC-02 fails when the ClusterIP has no service-ips element, or the endpoints differ", async () => {
    await behaviour("SVC-02", "R");
    const t = table("SVC-02", "pass", "kube-proxy-3ep.nft");
    expect(svc02Nft({ table: t, clusterIP: "10.96.78.22", port: 8080 }).reasons).toEqual(["map service-ips has no element 10.96.78.22 . tcp . 8080 (ClusterIP)"]);
    expect(svc02Nft({ table: t, ...web, endpoints: ["10.244.1.10:8080", "10.244.1.2:8080", "192.0.2.1:8080"] }).reasons).toEqual([
      "endpoint 192.0.2.1:8080 has no endpoint chain DNATing to it",
      "an endpoint chain DNATs to 10.244.1.9:8080, which is not an endpoint of the service",
    ]);
  });
});

describe("SVC-03 [nftables] NodePort on every node", () => {
  const base = { nodePort: 30692, clusterIP: "10.96.199.177", port: 80 } as const;
  const nodes = () => ({ "control-plane": table("SVC-03", "pass", "control-plane.nft"), worker: table("SVC-03", "pass", "worker.nft"), worker2: table("SVC-03", "pass", "worker2.nft") });

  it("SVC-03 passes on the live tables of the three nodes (and on the JSON form)", async () => {
    await behaviour("SVC-03", "R");
    const v = svc03Nft({ ...base, nodes: nodes() });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.reasons[0]).toBe(
      "on control-plane, worker, worker2: service-nodeports tcp . 30692 → external-E5SCSGR4-nc-svc/web-np/tcp/http (jump mark-for-masquerade, then goto service-E5SCSGR4-nc-svc/web-np/tcp/http); ClusterIP 10.96.199.177 → service-E5SCSGR4-nc-svc/web-np/tcp/http; endpoints 10.244.1.10:8080, 10.244.1.2:8080, 10.244.1.9:8080",
    );
    expect(svc03Nft({ ...base, nodes: { worker: table("SVC-03", "pass", "worker.nft.json") } }).ok).toBe(true);
  });

  it("SVC-03 fails and names the node whose external chain does not mark for masquerade", async () => {
    await behaviour("SVC-03", "R");
    const v = svc03Nft({ ...base, nodes: { ...nodes(), worker2: table("SVC-03", "fail", "worker2-ext-no-masq.nft") } });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual([
      "worker2: external-E5SCSGR4-nc-svc/web-np/tcp/http has 1 rules, expected 2 (jump mark-for-masquerade, then goto service-E5SCSGR4-nc-svc/web-np/tcp/http)",
      'worker2: external-E5SCSGR4-nc-svc/web-np/tcp/http rule 1 must mark every packet for masquerade ("jump mark-for-masquerade"): "goto service-E5SCSGR4-nc-svc/web-np/tcp/http"',
      'worker2: external-E5SCSGR4-nc-svc/web-np/tcp/http rule 2 must "goto service-E5SCSGR4-nc-svc/web-np/tcp/http" for every packet: missing',
    ]);
  });

  it("SVC-03 fails and names the node without the NodePort element", async () => {
    await behaviour("SVC-03", "R");
    const v = svc03Nft({ ...base, nodes: { ...nodes(), worker2: table("SVC-03", "fail", "worker2-no-nodeport.nft") } });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual(["worker2: map service-nodeports has no element tcp . 30692 (NodePort)"]);
  });

  it("SVC-03 fails when the expected ClusterIP is another", async () => {
    await behaviour("SVC-03", "R");
    const v = svc03Nft({ ...base, clusterIP: "192.0.2.1", nodes: { worker: table("SVC-03", "pass", "worker.nft") } });
    expect(v.reasons).toEqual(["worker: service-E5SCSGR4-nc-svc/web-np/tcp/http is reached from ClusterIP 10.96.199.177, expected 192.0.2.1"]);
  });
});

describe("ETP-05 [nftables] external chains of NodePort services", () => {
  const local = ["10.244.1.10:8080", "10.244.1.2:8080", "10.244.1.9:8080"];

  it("ETP-05 passes on the live Cluster and Local external chains (text and JSON)", async () => {
    await behaviour("ETP-05", "R");
    for (const name of ["nodeport-local.nft", "nodeport-local.nft.json"]) {
      const t = table("ETP-05", "pass", name);
      const cluster = nftExtChainForNodePort(t, 30692)!;
      const loc = nftExtChainForNodePort(t, 31835)!;
      expect([cluster, loc]).toEqual(["external-E5SCSGR4-nc-svc/web-np/tcp/http", "external-EMOVODPN-nc-svc/web-local/tcp/http"]);
      const c = etp05Nft({ table: t, policy: "Cluster", extChain: cluster });
      expect(c.ok, formatVerdict(c)).toBe(true);
      const l = etp05Nft({ table: t, policy: "Local", extChain: loc, podCidr: "10.244.0.0/16", localEndpoints: local });
      expect(l.ok, formatVerdict(l)).toBe(true);
      expect(nftExtChainFor(t, "10.96.248.116", 80)).toBeUndefined(); // the ClusterIP goes to the service chain, not an external one
    }
  });

  it("ETP-05 fails when a Local external chain masquerades every packet, or the policies are swapped", async () => {
    await behaviour("ETP-05", "R");
    const t = table("ETP-05", "fail", "nodeport-local-masq-all.nft");
    const v = etp05Nft({ table: t, policy: "Local", extChain: "external-EMOVODPN-nc-svc/web-local/tcp/http", podCidr: "10.244.0.0/16", localEndpoints: local });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual([
      'external-EMOVODPN-nc-svc/web-local/tcp/http rule 2 must mark local-source traffic for masquerade ("fib saddr type local jump mark-for-masquerade"): "jump mark-for-masquerade"',
      'external-EMOVODPN-nc-svc/web-local/tcp/http masquerades all traffic ("jump mark-for-masquerade"): external sources would be SNATed under Local',
    ]);
    const p = table("ETP-05", "pass", "nodeport-local.nft");
    expect(etp05Nft({ table: p, policy: "Cluster", extChain: "external-EMOVODPN-nc-svc/web-local/tcp/http" }).ok).toBe(false);
    expect(etp05Nft({ table: p, policy: "Local", extChain: "external-E5SCSGR4-nc-svc/web-np/tcp/http", podCidr: "10.244.0.0/16", localEndpoints: local }).ok).toBe(false);
    expect(etp05Nft({ table: p, policy: "Local", extChain: "external-EMOVODPN-nc-svc/web-local/tcp/http", podCidr: "10.244.0.0/16", localEndpoints: ["10.244.2.5:8080"] }).reasons.join("\n")).toMatch(/misses the local endpoint 10\.244\.2\.5:8080/);
  });
});
