import { describe, expect, it } from "vitest";
import { loadFixture } from "../evidence/fixtures.ts";
import { parseGetentHosts } from "../evidence/parsers/dns.ts";
import { parseIptablesSave } from "../evidence/parsers/iptables-save.ts";
import { behaviour } from "../report/allure.ts";
import { svc01, svc02, svc03, svc04 } from "./svc.ts";
import { formatVerdict } from "./verdict.ts";

const save = (id: string, kind: "pass" | "fail", name: string) => parseIptablesSave(loadFixture(id, kind, name).text);
const text = (id: string, kind: "pass" | "fail", name: string) => loadFixture(id, kind, name).text;

describe("SVC-01 backend sees the client pod IP", () => {
  const clientPodIP = text("SVC-01", "pass", "client-pod-ip.txt").trim();

  it("SVC-01 passes when /clientip returns the client pod IP", async () => {
    await behaviour("SVC-01", "R");
    const v = svc01({ clientPodIP, clientIpReply: text("SVC-01", "pass", "clientip.txt") });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.measurements?.seenSource).toBe("10.42.1.4:49186");
  });

  it("SVC-01 fails and names the SNATed source when the backend sees the node address", async () => {
    await behaviour("SVC-01", "R");
    const v = svc01({ clientPodIP, clientIpReply: text("SVC-01", "fail", "clientip-snat.txt") });
    expect(v.ok).toBe(false);
    expect(v.reasons.join("\n")).toMatch(/saw source 10\.42\.1\.1:27659, not the client pod IP 10\.42\.1\.4.*source-NAT/);
  });

  it("SVC-01 fails on a reply that is not ip:port", async () => {
    await behaviour("SVC-01", "R");
    const v = svc01({ clientPodIP, clientIpReply: "<html>502 Bad Gateway</html>" });
    expect(v.ok).toBe(false);
    expect(v.reasons[0]).toMatch(/not "ip:port"/);
  });
});

describe("SVC-02 ClusterIP chain shape", () => {
  const nginx = { clusterIP: "10.43.180.238", port: 80 } as const;

  it("SVC-02 passes on the seed's 3-endpoint chain", async () => {
    await behaviour("SVC-02", "R");
    const v = svc02({ save: save("SVC-02", "pass", "nginx-service-3ep.iptables-save"), ...nginx, endpoints: ["10.42.0.8:80", "10.42.1.2:80", "10.42.2.2:80"] });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.measurements).toMatchObject({ endpoints: 3, svcChain: "KUBE-SVC-V2OKYYMBY3REGZOG" });
    expect(v.reasons.join("\n")).toMatch(/0\.33333333349, 0\.50000000000, unconditional/);
  });

  it("SVC-02 passes on the seed's 6-endpoint chain (1/6, 1/5, 1/4, 1/3, 1/2, unconditional)", async () => {
    await behaviour("SVC-02", "R");
    const v = svc02({ save: save("SVC-02", "pass", "nginx-mlb-l2-6ep.iptables-save"), clusterIP: "10.43.159.55", port: 80 });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.measurements?.endpoints).toBe(6);
  });

  it("SVC-02 fails and names a KUBE-SEP chain that does not exist", async () => {
    await behaviour("SVC-02", "R");
    const v = svc02({ save: save("SVC-02", "fail", "missing-sep.iptables-save"), ...nginx });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual([expect.stringMatching(/^KUBE-SEP-Z33JJVRDNG7R4HVW \(jumped to from KUBE-SVC-V2OKYYMBY3REGZOG line \d+\) does not exist/)]);
  });

  it("SVC-02 fails and names the rule with the wrong probability", async () => {
    await behaviour("SVC-02", "R");
    const v = svc02({ save: save("SVC-02", "fail", "wrong-probability.iptables-save"), ...nginx });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual(["KUBE-SVC-V2OKYYMBY3REGZOG endpoint rule 2/3 (→ KUBE-SEP-3Y75O4B4KDVD7TMA): probability 0.33333333349, expected 1/2 = 0.50000000000 (0.5000000000 as kube-proxy writes it, or 0.50000 as older versions wrote it; 11 decimals printed, so ±4.7e-10)"]);
  });

  it("SVC-02 fails when the last endpoint jump is not unconditional", async () => {
    await behaviour("SVC-02", "R");
    const v = svc02({ save: save("SVC-02", "fail", "conditional-last.iptables-save"), ...nginx });
    expect(v.ok).toBe(false);
    expect(v.reasons.join("\n")).toMatch(/endpoint rule 3\/3 \(→ KUBE-SEP-Z33JJVRDNG7R4HVW\): the last endpoint rule must be an unconditional jump, found probability 0\.50000000000/);
  });

  it("SVC-02 fails when a KUBE-SEP masquerades another pod's IP", async () => {
    await behaviour("SVC-02", "R");
    const v = svc02({ save: save("SVC-02", "fail", "sep-masq-other-pod.iptables-save"), ...nginx });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual(["KUBE-SEP-LNMZPQ2U2A5TEEGP: KUBE-MARK-MASQ matches source 10.42.0.9/32, expected its own pod 10.42.0.8/32"]);
  });

  it("SVC-02 fails when the ClusterIP has no KUBE-SERVICES rule, or endpoints differ", async () => {
    await behaviour("SVC-02", "R");
    const s = save("SVC-02", "pass", "nginx-service-3ep.iptables-save");
    expect(svc02({ save: s, clusterIP: "10.43.180.238", port: 8080 }).reasons).toEqual(["no KUBE-SERVICES rule for ClusterIP 10.43.180.238:8080/tcp jumping to a KUBE-SVC-* chain"]);
    const v = svc02({ save: s, ...nginx, endpoints: ["10.42.0.8:80", "10.42.1.2:80", "10.42.2.3:80"] });
    expect(v.reasons).toEqual(["endpoint 10.42.2.3:80 has no KUBE-SEP chain DNATing to it", "KUBE-SEP DNAT to 10.42.2.2:80, which is not an endpoint of the service"]);
  });
});

describe("SVC-03 NodePort chain shape on every node", () => {
  const base = { nodePort: 30000, clusterIP: "10.43.143.108", port: 80 } as const;
  const vm1 = () => save("SVC-03", "pass", "vm1.iptables-save");
  const vm2 = () => save("SVC-03", "pass", "vm2.iptables-save");

  it("SVC-03 passes on the seed's nginx-np-service (vm1, vm2)", async () => {
    await behaviour("SVC-03", "R");
    const v = svc03({ ...base, nodes: { vm1: vm1(), vm2: vm2() } });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.reasons[0]).toMatch(/KUBE-NODEPORTS --dport 30000 → KUBE-EXT-MUSBZEOMK5UKWKKU \(KUBE-MARK-MASQ, then KUBE-SVC-MUSBZEOMK5UKWKKU\); ClusterIP 10\.43\.143\.108/);
  });

  it("SVC-03 fails and names the node without the NodePort rule", async () => {
    await behaviour("SVC-03", "R");
    const v = svc03({ ...base, nodes: { vm1: vm1(), vm2: save("SVC-03", "fail", "vm2-no-nodeport.iptables-save") } });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual(["vm2: no KUBE-NODEPORTS rule -p tcp --dport 30000 jumping to a KUBE-EXT-* chain"]);
  });

  it("SVC-03 fails and names the node whose KUBE-EXT chain lacks KUBE-MARK-MASQ", async () => {
    await behaviour("SVC-03", "R");
    const v = svc03({ ...base, nodes: { vm1: vm1(), vm2: save("SVC-03", "fail", "vm2-ext-no-masq.iptables-save") } });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual(["vm2: KUBE-EXT-MUSBZEOMK5UKWKKU has no KUBE-MARK-MASQ rule before KUBE-SVC-MUSBZEOMK5UKWKKU (external traffic would not be masqueraded)"]);
  });

  it("SVC-03 fails when a node leads the NodePort to other endpoints", async () => {
    await behaviour("SVC-03", "R");
    const other = parseIptablesSave(loadFixture("SVC-03", "pass", "vm2.iptables-save").text.replace("--to-destination 10.42.2.5:8080", "--to-destination 10.42.2.9:8080"));
    const v = svc03({ ...base, nodes: { vm1: vm1(), vm2: other } });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual(["vm2 differs from vm1: KUBE-SVC-MUSBZEOMK5UKWKKU leads to endpoints 10.42.0.10:8080, 10.42.1.6:8080, 10.42.2.9:8080 vs 10.42.0.10:8080, 10.42.1.6:8080, 10.42.2.5:8080"]);
  });

  it("SVC-03 fails when the service has no ClusterIP rule on a node", async () => {
    await behaviour("SVC-03", "R");
    const v = svc03({ ...base, nodes: { vm1: save("SVC-03", "fail", "vm1-no-clusterip.iptables-save"), vm2: vm2() } });
    expect(v.ok).toBe(false);
    expect(v.reasons.join("\n")).toMatch(/^vm1: no KUBE-SERVICES ClusterIP rule jumps to KUBE-SVC-MUSBZEOMK5UKWKKU/);
    expect(v.reasons.join("\n")).toMatch(/vm2 differs from vm1/);
  });
});

describe("SVC-04 pod DNS", () => {
  const base = { namespace: "default", kubeDnsIP: "10.43.0.10", name: "nginx-service", serviceClusterIP: "10.43.180.238" } as const;
  const resolved = (kind: "pass" | "fail", name: string) => parseGetentHosts(text("SVC-04", kind, name)).map((h) => h.address);

  it("SVC-04 passes on the seed's test-pod resolv.conf and lookup", async () => {
    await behaviour("SVC-04", "R");
    const v = svc04({ ...base, resolvConf: text("SVC-04", "pass", "resolv.conf"), resolved: resolved("pass", "getent-hosts.txt") });
    expect(v.ok, formatVerdict(v)).toBe(true);
  });

  it("SVC-04 fails and names ndots when it is not 5", async () => {
    await behaviour("SVC-04", "R");
    const v = svc04({ ...base, resolvConf: text("SVC-04", "fail", "resolv.conf-ndots1"), resolved: resolved("pass", "getent-hosts.txt") });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual(["options ndots is 1, expected ndots:5"]);
  });

  it("SVC-04 fails on the node's resolv.conf (dnsPolicy: Default)", async () => {
    await behaviour("SVC-04", "R");
    const v = svc04({ ...base, resolvConf: text("SVC-04", "fail", "resolv.conf-node"), resolved: resolved("pass", "getent-hosts.txt") });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual([
      "nameserver is 127.0.0.53, expected the kube-dns ClusterIP 10.43.0.10",
      'search is "multipass", expected it to start with "default.svc.cluster.local svc.cluster.local cluster.local"',
      "options ndots is not set (resolver default 1), expected ndots:5",
    ]);
  });

  it("SVC-04 fails when the name resolves to another address", async () => {
    await behaviour("SVC-04", "R");
    const v = svc04({ ...base, resolvConf: text("SVC-04", "pass", "resolv.conf"), resolved: resolved("fail", "getent-hosts-wrong.txt") });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual(["nginx-service resolved to 10.43.143.108, expected only the Service ClusterIP 10.43.180.238"]);
  });
});
