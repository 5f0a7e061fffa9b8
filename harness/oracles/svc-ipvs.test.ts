import { describe, expect, it } from "vitest";
import { loadFixture, type FixtureKind } from "../evidence/fixtures.ts";
import { parseIpvsadm, type IpvsTable } from "../evidence/parsers/ipvsadm.ts";
import { behaviour } from "../report/allure.ts";
import { svc02Ipvs, svc03Ipvs } from "./svc.ts";
import { formatVerdict } from "./verdict.ts";

// kube-proxy's ipvs mode on inputs in the documented format only: this machine's kernel lacks IP_VS,
// so no live recording exists (each fixture's header names its source).
const text = (id: string, kind: FixtureKind, name: string): string => loadFixture(id, kind, name).text;
const table = (id: string, kind: FixtureKind, name: string): IpvsTable => parseIpvsadm(text(id, kind, name));
/** a fixture with one line replaced (a real server removed, a weight changed, …) */
const edited = (id: string, kind: FixtureKind, name: string, edit: (lines: string[]) => string[]): IpvsTable => parseIpvsadm(edit(text(id, kind, name).split("\n")).join("\n"));

const hostnames = { clusterIP: "10.0.1.175", port: 80 } as const;
const ep3 = ["10.244.0.5:9376", "10.244.0.6:9376", "10.244.0.7:9376"];

describe("SVC-02 [ipvs] virtual service and real servers", () => {
  it("SVC-02 passes on the kubernetes.io Debug Services listing: 3 Masq real servers of weight 1, scheduler rr named", async () => {
    await behaviour("SVC-02", "R");
    const v = svc02Ipvs({ table: table("SVC-02", "pass", "debug-service-3ep.ipvsadm"), ...hostnames, endpoints: [...ep3].reverse() });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.reasons[0]).toBe("virtual service TCP 10.0.1.175:80 scheduler rr (kube-proxy's default): real servers are exactly the 3 endpoint(s), forward Masq, each weight 1: every endpoint gets 1/3 of new connections");
    expect(v.measurements).toEqual({ endpoints: 3, scheduler: "rr", draining: 0 });
  });

  it("SVC-02 passes on the README's kube-dns (TCP and UDP) and kubernetes (persistent) services, one endpoint each", async () => {
    await behaviour("SVC-02", "R");
    const t = table("SVC-02", "pass", "readme-kube-dns.ipvsadm");
    for (const proto of ["tcp", "udp"] as const) {
      const v = svc02Ipvs({ table: t, clusterIP: "10.0.0.10", port: 53, proto, endpoints: ["172.17.0.2:53"] });
      expect(v.ok, formatVerdict(v)).toBe(true);
      expect(v.reasons[0]).toMatch(new RegExp(`^virtual service ${proto.toUpperCase()} 10\\.0\\.0\\.10:53 scheduler rr`));
    }
    const k = svc02Ipvs({ table: t, clusterIP: "10.0.0.1", port: 443, endpoints: ["192.168.0.1:6443"] });
    expect(k.ok, formatVerdict(k)).toBe(true);
    expect(k.reasons[0]).toMatch(/scheduler rr \(kube-proxy's default\), persistent 10800 s \(sessionAffinity ClientIP\)/);
  });

  it("SVC-02 zero endpoints: the virtual service kept with no real server is green; absent, or with a serving real server, red", async () => {
    await behaviour("SVC-02", "R");
    const t = table("SVC-02", "pass", "readme-1.9-no-endpoints.ipvsadm");
    const v = svc02Ipvs({ table: t, clusterIP: "10.0.0.10", port: 53, endpoints: [] });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.reasons).toEqual(["virtual service TCP 10.0.0.10:53 scheduler rr (kube-proxy's default) is kept with no real server taking connections: the service has no ready endpoint"]);
    const gone = svc02Ipvs({ table: t, clusterIP: "10.0.0.11", port: 53, endpoints: [] });
    expect(gone.ok).toBe(false);
    expect(gone.reasons).toEqual(["ipvs: no TCP virtual service at the ClusterIP: expected 10.0.0.11:53 (nothing at 10.0.0.11; 3 virtual service(s) in all)"]);
    const serving = svc02Ipvs({ table: table("SVC-02", "pass", "readme-kube-dns.ipvsadm"), clusterIP: "10.0.0.10", port: 53, endpoints: [] });
    expect(serving.ok).toBe(false);
    expect(serving.reasons).toEqual(["TCP 10.0.0.10:53: real server 172.17.0.2:53 (weight 1) is not an endpoint of the service"]);
  });

  it("SVC-02 negative control: a missing real server turns it red, naming the endpoint", async () => {
    await behaviour("SVC-02", "R");
    const t = edited("SVC-02", "pass", "debug-service-3ep.ipvsadm", (l) => l.filter((x) => !x.includes("10.244.0.6:9376")));
    const v = svc02Ipvs({ table: t, ...hostnames, endpoints: ep3 });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual(["TCP 10.0.1.175:80: endpoint 10.244.0.6:9376 is not a real server: it never gets a connection"]);
  });

  it("SVC-02 negative control: an extra real server (or the live table judged against a wrong endpoint list) turns it red", async () => {
    await behaviour("SVC-02", "R");
    const t = table("SVC-02", "pass", "debug-service-3ep.ipvsadm");
    const v = svc02Ipvs({ table: t, ...hostnames, endpoints: ep3.slice(0, 2) });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual(["TCP 10.0.1.175:80: real server 10.244.0.7:9376 (weight 1) is not an endpoint of the service"]);
    // what suites/services' negative control does: two right endpoints and one that is not there
    const w = svc02Ipvs({ table: t, ...hostnames, endpoints: [...ep3.slice(1), "192.0.2.1:8080"] });
    expect(w.ok).toBe(false);
    expect(w.reasons.join("\n")).toMatch(/endpoint 192\.0\.2\.1:8080 is not a real server/);
    expect(w.reasons.join("\n")).toMatch(/real server 10\.244\.0\.5:9376 \(weight 1\) is not an endpoint/);
  });

  it("SVC-02 negative control: unequal weights turn it red, listing every weight", async () => {
    await behaviour("SVC-02", "R");
    const t = edited("SVC-02", "pass", "debug-service-3ep.ipvsadm", (l) => l.map((x) => (x.includes("10.244.0.7:9376") ? x.replace("Masq    1", "Masq    2") : x)));
    const v = svc02Ipvs({ table: t, ...hostnames, endpoints: ep3 });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual(["TCP 10.0.1.175:80: real servers have unequal weights (10.244.0.5:9376 1, 10.244.0.6:9376 1, 10.244.0.7:9376 2): new connections are not shared equally, expected the same weight for every endpoint (kube-proxy writes 1)"]);
  });

  it("SVC-02 negative control: a wrong port turns it red, naming what is at the ClusterIP instead", async () => {
    await behaviour("SVC-02", "R");
    const t = table("SVC-02", "pass", "debug-service-3ep.ipvsadm");
    const v = svc02Ipvs({ table: t, clusterIP: "10.0.1.175", port: 8080, endpoints: ep3 });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual(["ipvs: no TCP virtual service at the ClusterIP: expected 10.0.1.175:8080 (at 10.0.1.175: TCP 10.0.1.175:80)"]);
    const udp = svc02Ipvs({ table: t, ...hostnames, proto: "udp", endpoints: ep3 });
    expect(udp.ok).toBe(false);
    expect(udp.reasons[0]).toMatch(/no UDP virtual service at the ClusterIP: expected 10\.0\.1\.175:80/);
  });

  it("SVC-02 negative control: a real server forwarding by Route, and an endpoint of weight 0, turn it red", async () => {
    await behaviour("SVC-02", "R");
    const route = edited("SVC-02", "pass", "debug-service-3ep.ipvsadm", (l) => l.map((x) => (x.includes("10.244.0.5:9376") ? x.replace("Masq ", "Route") : x)));
    const r = svc02Ipvs({ table: route, ...hostnames, endpoints: ep3 });
    expect(r.ok).toBe(false);
    expect(r.reasons).toEqual(["TCP 10.0.1.175:80: real server 10.244.0.5:9376 forwards by Route, expected Masq (NAT: kube-proxy rewrites the destination to the pod's IP and port)"]);
    const zero = edited("SVC-02", "pass", "debug-service-3ep.ipvsadm", (l) => l.map((x) => (x.includes("10.244.0.5:9376") ? x.replace("Masq    1", "Masq    0") : x)));
    const z = svc02Ipvs({ table: zero, ...hostnames, endpoints: ep3 });
    expect(z.ok).toBe(false);
    expect(z.reasons).toEqual(["TCP 10.0.1.175:80: real server 10.244.0.5:9376 has weight 0: IPVS sends it no new connection, as kube-proxy does for a terminating endpoint"]);
  });

  it("SVC-02 a removed endpoint left at weight 0 (kube-proxy's graceful termination) is named as draining, red only with strict", async () => {
    await behaviour("SVC-02", "R");
    const t = edited("SVC-02", "pass", "debug-service-3ep.ipvsadm", (l) => l.map((x) => (x.includes("10.244.0.7:9376") ? "  -> 10.244.0.7:9376               Masq    0      0          3" : x)));
    const v = svc02Ipvs({ table: t, ...hostnames, endpoints: ep3.slice(0, 2) });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.reasons).toContain("draining (kube-proxy's graceful termination, no new connection): 10.244.0.7:9376 (weight 0, 0 active, 3 inactive connection(s))");
    expect(v.measurements).toEqual({ endpoints: 2, scheduler: "rr", draining: 1 });
    const s = svc02Ipvs({ table: t, ...hostnames, endpoints: ep3.slice(0, 2), strict: true });
    expect(s.ok).toBe(false);
    expect(s.reasons).toEqual(["TCP 10.0.1.175:80: real server 10.244.0.7:9376 (weight 0) is not an endpoint of the service (weight 0: draining, refused with strict)"]);
  });

  it("SVC-02 another scheduler passes and is named; a duplicated real server (a table not from the parser) is red", async () => {
    await behaviour("SVC-02", "R");
    const t = edited("SVC-02", "pass", "debug-service-3ep.ipvsadm", (l) => l.map((x) => x.replace("80 rr", "80 lc")));
    const v = svc02Ipvs({ table: t, ...hostnames, endpoints: ep3 });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.reasons[0]).toMatch(/scheduler lc \(not kube-proxy's default rr: --ipvs-scheduler chose it\)/);
    const base = table("SVC-02", "pass", "debug-service-3ep.ipvsadm");
    const svc = base.services[0]!;
    const dup: IpvsTable = { ...base, services: [{ ...svc, realServers: [...svc.realServers, svc.realServers[0]!] }] };
    const d = svc02Ipvs({ table: dup, ...hostnames, endpoints: ep3 });
    expect(d.ok).toBe(false);
    expect(d.reasons).toEqual(["TCP 10.0.1.175:80: real server 10.244.0.5:9376 is listed 2 times"]);
  });

  it("SVC-02 reads the kernel's /proc/net/ip_vs (hex) the same as ipvsadm -Ln", async () => {
    await behaviour("SVC-02", "R");
    const t = table("SVC-03", "pass", "ipvs-worker.ip_vs");
    expect(t.source).toBe("proc");
    const v = svc02Ipvs({ table: t, clusterIP: "10.96.201.7", port: 80, endpoints: ["10.244.2.3:8080", "10.244.1.2:8080", "10.244.1.4:8080"] });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.reasons[1]).toBe("real servers: 10.244.1.2:8080 (weight 1), 10.244.1.4:8080 (weight 1), 10.244.2.3:8080 (weight 1)");
  });
});

describe("SVC-03 [ipvs] NodePort virtual services on every node address", () => {
  const eps = ["10.244.1.2:8080", "10.244.1.4:8080", "10.244.2.3:8080"];
  const cp = () => ({ table: table("SVC-03", "pass", "ipvs-control-plane.ipvsadm"), addresses: ["172.18.0.2"] });
  const worker = () => ({ table: table("SVC-03", "pass", "ipvs-worker.ip_vs"), addresses: ["172.18.0.3"] });

  it("SVC-03 passes on a control plane (ipvsadm -Ln) and a worker (/proc/net/ip_vs), ClusterIP included", async () => {
    await behaviour("SVC-03", "R");
    const v = svc03Ipvs({ nodes: { "kind-control-plane": cp(), "kind-worker": worker() }, nodePort: 31380, endpoints: eps, clusterIP: "10.96.201.7", port: 80 });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.reasons).toEqual([
      "NodePort 31380/tcp on every node (kind-control-plane, kind-worker), real servers 10.244.1.2:8080, 10.244.1.4:8080, 10.244.2.3:8080",
      "kind-control-plane: TCP virtual service(s) 172.18.0.2:31380 rr and ClusterIP 10.96.201.7:80, each with exactly the endpoints as Masq real servers of equal weight",
      "kind-worker: TCP virtual service(s) 172.18.0.3:31380 rr and ClusterIP 10.96.201.7:80, each with exactly the endpoints as Masq real servers of equal weight",
    ]);
  });

  it("SVC-03 negative control: a node lacking its NodePort virtual service turns it red, naming node and address", async () => {
    await behaviour("SVC-03", "R");
    const v = svc03Ipvs({ nodes: { "kind-control-plane": cp(), "kind-worker": { table: table("SVC-03", "fail", "ipvs-worker-no-nodeport.ip_vs"), addresses: ["172.18.0.3"] } }, nodePort: 31380, endpoints: eps });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual(["kind-worker: no TCP virtual service at the node address 172.18.0.3 and NodePort 31380: expected 172.18.0.3:31380 (nothing at 172.18.0.3; 5 virtual service(s) in all)"]);
  });

  it("SVC-03 negative control: an address of the node without the NodePort (the worker's address asked on the control plane) is red", async () => {
    await behaviour("SVC-03", "R");
    const v = svc03Ipvs({ nodes: { "kind-control-plane": { ...cp(), addresses: ["172.18.0.2", "172.18.0.3"] } }, nodePort: 31380, endpoints: eps });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual(["kind-control-plane: no TCP virtual service at the node address 172.18.0.3 and NodePort 31380: expected 172.18.0.3:31380 (nothing at 172.18.0.3; 6 virtual service(s) in all)"]);
  });

  it("SVC-03 negative control: another NodePort on every node, and another ClusterIP, turn it red (what suites/services' control does)", async () => {
    await behaviour("SVC-03", "R");
    const nodes = { "kind-control-plane": cp(), "kind-worker": worker() };
    const p = svc03Ipvs({ nodes, nodePort: 31381, endpoints: eps });
    expect(p.ok).toBe(false);
    expect(p.reasons).toHaveLength(2);
    expect(p.reasons[0]).toBe("kind-control-plane: no TCP virtual service at the node address 172.18.0.2 and NodePort 31381: expected 172.18.0.2:31381 (at 172.18.0.2: TCP 172.18.0.2:31380)");
    const c = svc03Ipvs({ nodes, nodePort: 31380, endpoints: eps, clusterIP: "192.0.2.1", port: 80 });
    expect(c.ok).toBe(false);
    expect(c.reasons.join("\n")).toMatch(/kind-worker: no TCP virtual service at the ClusterIP: expected 192\.0\.2\.1:80/);
  });

  it("SVC-03 negative control: wrong real servers behind one node's NodePort (missing, extra, unequal weight) are red, naming node and address", async () => {
    await behaviour("SVC-03", "R");
    const cpText = text("SVC-03", "pass", "ipvs-control-plane.ipvsadm").split("\n");
    const np = cpText.findIndex((l) => l.startsWith("TCP  172.18.0.2:31380"));
    // the NodePort's real servers: drop 10.244.1.4, add 10.244.9.9, weight 3 on 10.244.2.3
    const broken = [...cpText.slice(0, np + 1), "  -> 10.244.1.2:8080              Masq    1      0          0", "  -> 10.244.2.3:8080              Masq    3      0          0", "  -> 10.244.9.9:8080              Masq    1      0          0", ...cpText.slice(np + 4)];
    const v = svc03Ipvs({ nodes: { "kind-control-plane": { table: parseIpvsadm(broken.join("\n")), addresses: ["172.18.0.2"] }, "kind-worker": worker() }, nodePort: 31380, endpoints: eps });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual([
      "kind-control-plane: TCP 172.18.0.2:31380: endpoint 10.244.1.4:8080 is not a real server: it never gets a connection",
      "kind-control-plane: TCP 172.18.0.2:31380: real server 10.244.9.9:8080 (weight 1) is not an endpoint of the service",
      "kind-control-plane: TCP 172.18.0.2:31380: real servers have unequal weights (10.244.1.2:8080 1, 10.244.2.3:8080 3, 10.244.9.9:8080 1): new connections are not shared equally, expected the same weight for every endpoint (kube-proxy writes 1)",
    ]);
  });

  it("SVC-03 no node, or a node without an address, is red", async () => {
    await behaviour("SVC-03", "R");
    expect(svc03Ipvs({ nodes: {}, nodePort: 31380, endpoints: eps }).reasons).toEqual(["no node evidence given"]);
    const v = svc03Ipvs({ nodes: { "kind-worker": { ...worker(), addresses: [] } }, nodePort: 31380, endpoints: eps });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual(["kind-worker: no node address given to look for NodePort 31380 on"]);
  });
});
