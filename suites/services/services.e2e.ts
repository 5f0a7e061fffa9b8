import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import { resolveTopology } from "../../harness/cluster/cluster.ts";
import { loadConfig } from "../../harness/config.ts";
import { HostExecutor } from "../../harness/exec/host.ts";
import { PodExecutor, apply, waitFor, waitForDaemonSetReady, waitForDeploymentReady, waitForEndpoints, waitForPodsReady } from "../../harness/kube/index.ts";
import { renderManifest } from "../../harness/kube/manifests.ts";
import { type Bundle, collectEvidence, type EvidenceTarget, withEvidence } from "../../harness/evidence/collector.ts";
import { parseGetentHosts } from "../../harness/evidence/parsers/dns.ts";
import { parseIptablesSave } from "../../harness/evidence/parsers/iptables-save.ts";
import { parseIpvsadm } from "../../harness/evidence/parsers/ipvsadm.ts";
import { type NftTable, nftTable, parseNftJson, parseNftText } from "../../harness/evidence/parsers/nft.ts";
import { etp05, etp05Nft, extChainForNodePort, nftExtChainForNodePort } from "../../harness/oracles/etp.ts";
import { spread } from "../../harness/oracles/spread.ts";
import { combine, svc01Clients, svc02, svc02Ipvs, svc02Nft, svc03, svc03Ipvs, svc03Nft, svc03Reach, svc04 } from "../../harness/oracles/svc.ts";
import { type Verdict, formatVerdict } from "../../harness/oracles/verdict.ts";
import { gateSuite } from "../../harness/preflight/gate.ts";
import { requireFeatures } from "../../harness/preflight/kernel.ts";
import { attachJson, attachText, behaviour } from "../../harness/report/allure.ts";
import type { Host } from "../../harness/network/world.ts";
import { clusterSession } from "../../harness/session.ts";
import { check, deleteNamespace, getManyDetailed, node, nodeLink } from "../metallb/lib.ts";

/**
 * Services (BEHAVIOURS.md SVC), live on the forged kind cluster, in the kube-proxy mode the run is
 * configured for (NETCONFORM_KUBE_PROXY_MODE; every test name carries it): agnhost backends behind
 * a ClusterIP and two NodePort services, an agnhost client pod on every node (the control plane
 * included) and an external client container on the kind network. Rules are read from every node
 * (iptables-save -t nat, or nft list table ip kube-proxy in text and -j JSON forms, or in ipvs mode
 * iptables-save -t nat and the kernel's /proc/net/ip_vs) and judged by
 * the pure oracles of harness/oracles/svc.ts; a failing step attaches the evidence bundle. Each id
 * has a negative control that turns its verdict red, once, on this run's live evidence.
 */
const preflight = inject("suitePreflight");
const config = loadConfig();
const MODE = resolveTopology("default").kubeProxyMode ?? config.kubeProxyMode;
const missing = preflight.missing ?? (MODE === "none" ? "kube-proxy mode none (NETCONFORM_KUBE_PROXY_MODE=none): the services suite tests kube-proxy's rules; pick iptables, nftables or ipvs" : undefined);
const gated = gateSuite(import.meta.filename, missing);
// ipvs mode needs the kernel's IP_VS (kind nodes share the host kernel): a kernel gap is a skip, never a failure
const kernelGap = gated && MODE === "ipvs" ? await ipvsGap() : undefined;
const enabled = gated && !kernelGap;
if (kernelGap) beforeEach((ctx) => ctx.skip(`kernel: ${kernelGap}`));

async function ipvsGap(): Promise<string | undefined> {
  const r = await requireFeatures(new HostExecutor(), ["IP_VS"]);
  return r.ok ? undefined : `${r.reason}: kube-proxy's ipvs mode cannot run here`;
}

const NS = "nc-svc";
const APP = "web";
const M = `[${MODE}]`;

describe(`services ${M}`, () => {
  const s = clusterSession({ preflight, enabled, topology: "default", images: ["agnhost"] });
  let ext: Host;
  let nodeIps: Record<string, string> = {};
  let clusterIP = "";
  let kubeDnsIP = "";
  let podCidr = "";
  /** what SVC-02/03 measured, for their negative controls */
  const live: { svc02?: { node: string; rules: ProxyRules; endpoints: string[]; counts: Record<string, number>; backends: string[] }; svc03?: { nodes: Record<string, ProxyRules>; nodePort: number; endpoints: string[] }; etp05?: { judge: (policy: "Cluster" | "Local", localEndpoints: string[]) => Verdict; local: string[] } } = {};

  const evidence = () => (): Promise<Bundle> => {
    const targets: EvidenceTarget[] = s.cluster.nodes.map((n) => ({ executor: node(s, n), role: "node", ...(MODE === "nftables" ? { extras: ["nft" as const] } : MODE === "ipvs" ? { extras: ["ipvs" as const] } : {}) }));
    if (ext) targets.push({ executor: ext.exec, role: "client" });
    return collectEvidence({
      targets,
      kube: { client: s.kube, eventNamespaces: [NS, "kube-system"], logs: [{ namespace: NS, tailLines: 200 }, { namespace: "kube-system", labelSelector: "k8s-app=kube-proxy", tailLines: 500 }] },
    });
  };

  beforeAll(async () => {
    if (!enabled) return;
    if (s.kubeProxyMode !== MODE) throw new Error(`the cluster runs kube-proxy in ${s.kubeProxyMode} mode, the suite was set up for ${MODE}`);
    await deleteNamespace(s.kube, NS); // a kept cluster may still hold an interrupted run's namespace
    await apply(s.kube, renderManifest("netexec", { NAMESPACE: NS, NAME: APP, REPLICAS: 3, IMAGE: s.image("agnhost"), PULL_POLICY: "IfNotPresent" }));
    await apply(s.kube, renderManifest("svc-clients", { NAMESPACE: NS, IMAGE: s.image("agnhost") }));
    await apply(s.kube, renderManifest("svc-nodeport", { NAMESPACE: NS, APP }));
    ext = await s.world.host({ name: "svc-client", role: "client", networks: [{ network: "kind" }] });
    for (const n of s.cluster.nodes) nodeIps[n] = (await nodeLink(node(s, n))).ip;
    clusterIP = (await s.kube.core.readNamespacedService({ namespace: NS, name: APP })).spec!.clusterIP!;
    kubeDnsIP = (await s.kube.core.readNamespacedService({ namespace: "kube-system", name: "kube-dns" })).spec!.clusterIP!;
    const cm = await s.kube.core.readNamespacedConfigMap({ namespace: "kube-system", name: "kube-proxy" });
    const m = /clusterCIDR:\s*"?([0-9./]+)"?/.exec(cm.data?.["config.conf"] ?? "");
    if (!m) throw new Error("kube-proxy's config.conf names no clusterCIDR");
    podCidr = m[1]!;
    await waitForDeploymentReady(s.kube, NS, APP, { config: s.run.config });
    await waitForDaemonSetReady(s.kube, NS, "client", { config: s.run.config });
    await waitForPodsReady(s.kube, NS, "app=dns-default", { config: s.run.config });
    await waitForEndpoints(s.kube, NS, APP, 3, { config: s.run.config });
    // Ready endpoints are not yet kube-proxy's rules on every node (measured: on a reused cluster the
    // control plane's client lost half its first connections): wait for the rules themselves
    await programmed(await readyEndpoints(APP), false);
  });
  afterAll(async () => {
    if (!enabled || !s.kube) return;
    await deleteNamespace(s.kube, NS);
  });

  // --- evidence readers ------------------------------------------------------------------------

  interface ProxyRules {
    /** iptables-save -t nat, or nft list table ip kube-proxy */
    text: string;
    /** nft -j list table ip kube-proxy (nftables mode) */
    json?: string;
    /** the kernel's /proc/net/ip_vs (ipvs mode) */
    ipvs?: string;
  }

  async function proxyRules(n: string): Promise<ProxyRules> {
    const ex = node(s, n);
    if (MODE === "nftables") {
      const text = (await ex.run(["nft", "list", "table", "ip", "kube-proxy"])).stdout;
      const json = (await ex.run(["nft", "-j", "list", "table", "ip", "kube-proxy"])).stdout;
      return { text, json };
    }
    const text = (await ex.run(["iptables-save", "-t", "nat"])).stdout;
    // ipvs mode still uses iptables (KUBE-POSTROUTING masquerade, ipset matches), so iptables-save is
    // kept; the virtual services are read from the kernel's /proc/net/ip_vs, because the forged kind
    // node image has no ipvsadm (harness/images/catalogue.yaml: node-base's package list lacks it;
    // only the toolbox image carries it). parseIpvsadm reads both forms.
    if (MODE === "ipvs") return { text, ipvs: (await ex.run(["cat", "/proc/net/ip_vs"])).stdout };
    return { text };
  }

  /** the kube-proxy table of the text form and of the JSON form */
  function nftTables(r: ProxyRules): { text: NftTable; json: NftTable } {
    const t = nftTable(parseNftText(r.text), "ip", "kube-proxy");
    const j = nftTable(parseNftJson(r.json!), "ip", "kube-proxy");
    if (!t || !j) throw new Error("nft printed no table ip kube-proxy");
    return { text: t, json: j };
  }

  /** Save a node's rules under the run directory (reports/runs/<run>/services/) and attach them. */
  async function keep(label: string, n: string, r: ProxyRules): Promise<void> {
    const dir = join(s.run.dir, "services");
    mkdirSync(dir, { recursive: true });
    const base = `${label}-${n}`.replace(/[^A-Za-z0-9_.-]/g, "_");
    writeFileSync(join(dir, `${base}.${MODE === "nftables" ? "nft" : "iptables-save"}`), r.text);
    if (r.json) writeFileSync(join(dir, `${base}.nft.json`), r.json);
    if (r.ipvs !== undefined) writeFileSync(join(dir, `${base}.ip_vs`), r.ipvs);
    await attachText(`${n} ${MODE === "nftables" ? "nft list table ip kube-proxy" : "iptables-save -t nat"} (${label})`, r.text);
    if (r.json) await attachText(`${n} nft -j list table ip kube-proxy (${label})`, r.json);
    if (r.ipvs !== undefined) await attachText(`${n} /proc/net/ip_vs (${label})`, r.ipvs);
  }

  /** SVC-02 on one node's rules: iptables-save, or nft text and JSON (which must agree). */
  function judge02(r: ProxyRules, endpoints: string[]): Verdict {
    if (MODE === "iptables") return svc02({ save: parseIptablesSave(r.text), clusterIP, port: 80, endpoints });
    if (MODE === "nftables") {
      const t = nftTables(r);
      return combine("SVC-02", [
        { label: "nft text", v: svc02Nft({ table: t.text, clusterIP, port: 80, endpoints }) },
        { label: "nft -j", v: svc02Nft({ table: t.json, clusterIP, port: 80, endpoints }) },
      ]);
    }
    // ipvs: the virtual service ClusterIP:80 and its real servers (never run live here: no IP_VS)
    return svc02Ipvs({ table: parseIpvsadm(r.ipvs!), clusterIP, port: 80, endpoints });
  }

  /** SVC-03 on every node's rules; in ipvs mode the NodePort's endpoints and the nodes' InternalIPs (nodeIps) are needed too. */
  function judge03(nodes: Record<string, ProxyRules>, nodePort: number, o: { clusterIP?: string; endpoints?: string[] } = {}): Verdict {
    const cip = o.clusterIP ?? clusterIP;
    if (MODE === "iptables") return svc03({ nodes: Object.fromEntries(Object.entries(nodes).map(([n, r]) => [n, parseIptablesSave(r.text)])), nodePort, clusterIP: cip, port: 80 });
    if (MODE === "nftables") {
      const t = Object.entries(nodes).map(([n, r]) => [n, nftTables(r)] as const);
      return combine("SVC-03", [
        { label: "nft text", v: svc03Nft({ nodes: Object.fromEntries(t.map(([n, x]) => [n, x.text])), nodePort, clusterIP: cip, port: 80 }) },
        { label: "nft -j", v: svc03Nft({ nodes: Object.fromEntries(t.map(([n, x]) => [n, x.json])), nodePort, clusterIP: cip, port: 80 }) },
      ]);
    }
    // ipvs: a virtual service at each node's InternalIP:nodePort (the address SVC-03's reachability
    // check uses) and at the ClusterIP, each with the endpoints as real servers
    if (!o.endpoints) throw new Error("SVC-03 in ipvs mode needs the service's endpoints");
    const ipvsNodes = Object.fromEntries(Object.entries(nodes).map(([n, r]) => [n, { table: parseIpvsadm(r.ipvs!), addresses: nodeIps[n] ? [nodeIps[n]!] : [] }]));
    return svc03Ipvs({ nodes: ipvsNodes, nodePort, endpoints: o.endpoints, clusterIP: cip, port: 80 });
  }

  const running = (ps: V1Pod[]) => ps.filter((p) => !p.metadata?.deletionTimestamp);
  const podsOf = async (app: string) => running((await s.kube.core.listNamespacedPod({ namespace: NS, labelSelector: `app=${app}` })).items);
  const clientPods = async () => (await podsOf("client")).sort((a, b) => a.spec!.nodeName!.localeCompare(b.spec!.nodeName!));
  const podEx = (p: V1Pod) => new PodExecutor(s.kube, NS, p.metadata!.name!, "netexec");

  /** "podIP:8080" of every ready endpoint of the service, sorted */
  async function readyEndpoints(svc: string): Promise<string[]> {
    const slices = (await s.kube.discovery.listNamespacedEndpointSlice({ namespace: NS, labelSelector: `kubernetes.io/service-name=${svc}` })).items;
    return slices.flatMap((sl) => (sl.endpoints ?? []).filter((e) => e.conditions?.ready !== false && !e.conditions?.terminating).flatMap((e) => e.addresses.map((a) => `${a}:8080`))).sort();
  }

  async function scale(n: number): Promise<void> {
    await apply(s.kube, renderManifest("netexec", { NAMESPACE: NS, NAME: APP, REPLICAS: n, IMAGE: s.image("agnhost"), PULL_POLICY: "IfNotPresent" }));
    await waitForDeploymentReady(s.kube, NS, APP, { config: s.run.config });
    await waitForEndpoints(s.kube, NS, APP, n, { config: s.run.config });
  }

  /** Wait until kube-proxy on every node programmed the service with exactly these endpoints; the rules per node. */
  async function programmed(endpoints: string[], attach = true): Promise<Record<string, ProxyRules>> {
    let rules: Record<string, ProxyRules> = {};
    const t0 = Date.now();
    await waitFor(`kube-proxy on every node to program ${APP} with ${endpoints.length} endpoint(s)`, async () => {
      rules = {};
      const pending: string[] = [];
      for (const n of s.cluster.nodes) {
        rules[n] = await proxyRules(n);
        const v = judge02(rules[n]!, endpoints);
        if (!v.ok) pending.push(`${n}: ${v.reasons[0]}`);
      }
      return { done: pending.length === 0, detail: pending.join("; ") || "programmed" };
    }, { timeoutMs: 60_000, timeoutLabel: "kube-proxy sync, 60 s" });
    if (attach) await attachJson(`${endpoints.length} endpoint(s) programmed on every node`, { endpoints, secondsAfterEndpointsReady: (Date.now() - t0) / 1000 });
    return rules;
  }

  // --- SVC-01 ----------------------------------------------------------------------------------

  async function clientIps(p: V1Pod, count: number): Promise<string[]> {
    const { bodies, failures } = await getManyDetailed(podEx(p), `http://${clusterIP}/clientip`, count);
    if (failures.length) await attachJson(`${p.metadata!.name}: failed requests (index, curl exit, message)`, failures);
    return bodies;
  }

  it(`SVC-01 ${M} a client pod on every node reaches the ClusterIP; the backend sees the client pod's own IP (DNAT only, no SNAT)`, async () => {
    await behaviour("SVC-01", "L");
    await withEvidence(`SVC-01 ${M} /clientip through the ClusterIP`, evidence(), async () => {
      const clients = await clientPods();
      expect(clients.length, "one client pod per node").toBe(s.cluster.nodes.length);
      const answers = [];
      for (const p of clients) answers.push({ name: `${p.metadata!.name} on ${p.spec!.nodeName}`, clientPodIP: p.status!.podIP!, replies: await clientIps(p, 10) });
      await attachJson("clients and what the backends saw", { clusterIP, answers });
      await check(svc01Clients(answers));
    });
  });

  it(`SVC-01 ${M} negative control: a MASQUERADE rule for one client pod's connections makes the verdict red`, async () => {
    await behaviour("SVC-01", "L");
    await withEvidence(`SVC-01 ${M} negative control`, evidence(), async () => {
      const p = (await clientPods()).find((x) => s.cluster.nodes.indexOf(x.spec!.nodeName!) > 0) ?? (await clientPods())[0]!;
      const ex = node(s, p.spec!.nodeName!);
      const rule = ["POSTROUTING", "-s", `${p.status!.podIP}/32`, "-p", "tcp", "--dport", "8080", "-m", "comment", "--comment", `netconform ${s.run.id} SVC-01 negative control`, "-j", "MASQUERADE"];
      await ex.run(["iptables", "-t", "nat", "-I", ...rule.slice(0, 1), "1", ...rule.slice(1)]);
      let replies: string[];
      try {
        replies = await clientIps(p, 20);
      } finally {
        await ex.run(["iptables", "-t", "nat", "-D", ...rule], { allowFailure: true });
      }
      const v = svc01Clients([{ name: `${p.metadata!.name} on ${p.spec!.nodeName} (MASQUERADE added)`, clientPodIP: p.status!.podIP!, replies }]);
      await attachText("SVC-01 verdict on the broken variant (expected red)", formatVerdict(v));
      expect(v.ok, `the SNAT variant should have turned SVC-01 red:\n${formatVerdict(v)}`).toBe(false);
      expect(v.reasons.join("\n")).toMatch(/source-NATed/);
    });
  });

  // --- SVC-02 ----------------------------------------------------------------------------------

  it(`SVC-02 ${M} ${MODE === "ipvs" ? "IPVS virtual service and its real servers (equal weights)" : "chains and endpoint probabilities"} on every node for 1, 6 and 3 endpoints follow the scaling; 300 connections spread within the exact binomial bounds`, async () => {
    await behaviour("SVC-02", "L");
    await withEvidence(`SVC-02 ${M} chains while scaling, and the spread`, evidence(), async () => {
      const parts: Array<{ label: string; v: Verdict }> = [];
      for (const n of [1, 6, 3]) {
        await scale(n);
        const endpoints = await readyEndpoints(APP);
        expect(endpoints.length, `the EndpointSlices list ${endpoints.length} ready endpoints after scaling to ${n}`).toBe(n);
        const rules = await programmed(endpoints);
        for (const [nd, r] of Object.entries(rules)) {
          await keep(`svc02-n${n}`, nd, r);
          parts.push({ label: `${n} endpoint(s), ${nd}`, v: judge02(r, endpoints) });
        }
        if (n === 3) live.svc02 = { node: s.cluster.nodes[0]!, rules: rules[s.cluster.nodes[0]!]!, endpoints, counts: {}, backends: [] };
      }
      // 300 new connections from a client pod on a worker, each answered by one backend's /hostname
      const backends = (await podsOf(APP)).map((p) => p.metadata!.name!).sort();
      const client = (await clientPods()).find((p) => s.cluster.nodes.indexOf(p.spec!.nodeName!) > 0)!;
      const t0 = Date.now();
      const { bodies, failures } = await getManyDetailed(podEx(client), `http://${clusterIP}/hostname`, 300);
      const counts: Record<string, number> = {};
      for (const b of bodies) if (b) counts[b] = (counts[b] ?? 0) + 1;
      await attachJson("300 connections: answering backend of each", { client: client.metadata!.name, clusterIP, seconds: (Date.now() - t0) / 1000, counts, failures, sequence: bodies });
      parts.push({ label: "spread of 300 connections over 3 endpoints", v: spread({ id: "SVC-02", backends, counts, failed: failures.length, sequence: bodies.filter((b) => b) }) });
      live.svc02 = { ...live.svc02!, counts, backends };
      await check(combine("SVC-02", parts));
    });
  });

  it(`SVC-02 ${M} negative control: the live chains judged against a wrong endpoint, and the live spread against skewed shares, turn the verdict red`, async () => {
    await behaviour("SVC-02", "L");
    const l = live.svc02;
    if (!l?.backends.length) throw new Error("SVC-02 left no live evidence (its test failed before the spread): nothing to run the negative control on");
    const wrong = [...l.endpoints.slice(1), "192.0.2.1:8080"].sort();
    const v1 = judge02(l.rules, wrong);
    const shares = Object.fromEntries(l.backends.map((b, i) => [b, i === 0 ? 0.5 : 0.5 / (l.backends.length - 1)]));
    const v2 = spread({ id: "SVC-02", backends: l.backends, counts: l.counts, shares });
    await attachText("SVC-02 verdicts on the modified expectations (expected red)", `${formatVerdict(v1)}\n\n${formatVerdict(v2)}`);
    expect(v1.ok, `a wrong endpoint should have turned SVC-02 red:\n${formatVerdict(v1)}`).toBe(false);
    expect(v1.reasons.join("\n")).toMatch(/192\.0\.2\.1:8080/);
    expect(v2.ok, `shares 1/2, 1/4, 1/4 should have turned the spread red:\n${formatVerdict(v2)}`).toBe(false);
  });

  // --- SVC-03 ----------------------------------------------------------------------------------

  it(`SVC-03 ${M} NodePort: the same port on every node, ${MODE === "ipvs" ? "an IPVS virtual service on each node address with the service's real servers" : "mark-masq then the service chain"}, reachable from the external client through each node's address`, async () => {
    await behaviour("SVC-03", "L");
    await withEvidence(`SVC-03 ${M} NodePort`, evidence(), async () => {
      const svc = await s.kube.core.readNamespacedService({ namespace: NS, name: `${APP}-np` });
      const nodePort = svc.spec!.ports![0]!.nodePort!;
      const npClusterIP = svc.spec!.clusterIP!;
      const npEndpoints = await readyEndpoints(`${APP}-np`);
      let nodes: Record<string, ProxyRules> = {};
      await waitFor(`kube-proxy on every node to program NodePort ${nodePort}`, async () => {
        nodes = {};
        for (const n of s.cluster.nodes) nodes[n] = await proxyRules(n);
        const v = judge03(nodes, nodePort, { clusterIP: npClusterIP, endpoints: npEndpoints });
        return { done: v.ok, detail: v.ok ? "programmed" : v.reasons[0]! };
      }, { timeoutMs: 60_000, timeoutLabel: "kube-proxy sync, 60 s" });
      for (const [n, r] of Object.entries(nodes)) await keep("svc03", n, r);
      const backends = (await podsOf(APP)).map((p) => p.metadata!.name!);
      const answers: Record<string, string[]> = {};
      for (const n of s.cluster.nodes) answers[n] = (await getManyDetailed(ext.exec, `http://${nodeIps[n]}:${nodePort}/hostname`, 5)).bodies;
      await attachJson("external client → each node's NodePort", { client: ext.ips["kind"], nodePort, nodeIps, answers });
      live.svc03 = { nodes, nodePort, endpoints: npEndpoints };
      await check(combine("SVC-03", [
        { label: "rules", v: judge03(nodes, nodePort, { clusterIP: npClusterIP, endpoints: npEndpoints }) },
        { label: "reachability", v: svc03Reach({ nodePort, answers, backends }) },
      ]));
    });
  });

  it(`SVC-03 ${M} negative control: the live NodePort rules judged against another ClusterIP and another port turn the verdict red`, async () => {
    await behaviour("SVC-03", "L");
    const l = live.svc03;
    if (!l) throw new Error("SVC-03 left no live evidence: nothing to run the negative control on");
    const v1 = judge03(l.nodes, l.nodePort, { clusterIP: "192.0.2.1", endpoints: l.endpoints });
    const v2 = judge03(l.nodes, l.nodePort === 32767 ? 30000 : l.nodePort + 1, { endpoints: l.endpoints });
    await attachText("SVC-03 verdicts on the modified expectations (expected red)", `${formatVerdict(v1)}\n\n${formatVerdict(v2)}`);
    expect(v1.ok, formatVerdict(v1)).toBe(false);
    expect(v1.reasons.join("\n")).toMatch(/expected 192\.0\.2\.1/);
    expect(v2.ok, formatVerdict(v2)).toBe(false);
  });

  // --- SVC-04 ----------------------------------------------------------------------------------

  async function dnsOf(p: V1Pod): Promise<{ resolvConf: string; resolved: string[]; getent: string }> {
    const ex = podEx(p);
    const resolvConf = (await ex.run(["cat", "/etc/resolv.conf"])).stdout;
    // bounded: a pod whose resolver is unreachable waits 5 s per attempt and server
    const g = await ex.run(["timeout", "15", "getent", "hosts", APP], { allowFailure: true, timeoutMs: 30_000 });
    return { resolvConf, getent: g.stdout, resolved: g.exitCode === 0 ? parseGetentHosts(g.stdout).map((h) => h.address) : [] };
  }

  it(`SVC-04 ${M} pods on every node: resolv.conf names kube-dns, the cluster search list and ndots:5; "${APP}" resolves to its ClusterIP`, async () => {
    await behaviour("SVC-04", "L");
    await withEvidence(`SVC-04 ${M} pod DNS`, evidence(), async () => {
      const parts: Array<{ label: string; v: Verdict }> = [];
      const seen: Record<string, unknown> = {};
      for (const p of await clientPods()) {
        const d = await dnsOf(p);
        seen[p.metadata!.name!] = { node: p.spec!.nodeName, ...d };
        parts.push({ label: `${p.metadata!.name} on ${p.spec!.nodeName}`, v: svc04({ resolvConf: d.resolvConf, namespace: NS, kubeDnsIP, name: APP, resolved: d.resolved, serviceClusterIP: clusterIP }) });
      }
      await attachJson("resolv.conf and getent hosts per pod", { kubeDnsIP, clusterIP, pods: seen });
      expect(parts.length, "one client pod per node").toBe(s.cluster.nodes.length);
      await check(combine("SVC-04", parts));
    });
  });

  it(`SVC-04 ${M} negative control: a pod with dnsPolicy Default (the node's resolver) turns the verdict red`, async () => {
    await behaviour("SVC-04", "L");
    await withEvidence(`SVC-04 ${M} negative control`, evidence(), async () => {
      const [p] = await podsOf("dns-default");
      expect(p, "pod dns-default").toBeDefined();
      const d = await dnsOf(p!);
      const v = svc04({ resolvConf: d.resolvConf, namespace: NS, kubeDnsIP, name: APP, resolved: d.resolved, serviceClusterIP: clusterIP });
      await attachText("SVC-04 verdict on the dnsPolicy Default pod (expected red)", `${formatVerdict(v)}\n\nresolv.conf:\n${d.resolvConf}`);
      expect(v.ok, formatVerdict(v)).toBe(false);
      expect(v.reasons.join("\n")).toMatch(/expected the kube-dns ClusterIP/);
    });
  });

  // --- ETP-05 on NodePort services ---------------------------------------------------------------

  /** ETP-05 judges kube-proxy's external chains (iptables/nft); ipvs mode has no oracle for it yet */
  const ETP05_IPVS = "ETP-05 has no ipvs-mode oracle yet: externalTrafficPolicy in ipvs mode is judged nowhere (the iptables and nftables cells judge it)";

  it(`ETP-05 ${M} NodePort external chains on a node with an endpoint: Cluster → mark-masq + service chain; Local → pod CIDR, local masquerade, local endpoints only`, async (ctx) => {
    if (MODE === "ipvs") return ctx.skip(ETP05_IPVS);
    await behaviour("ETP-05", "L");
    await withEvidence(`ETP-05 ${M} NodePort external chains`, evidence(), async () => {
      const ps = await podsOf(APP);
      const withEp = s.cluster.nodes.find((n) => ps.some((p) => p.spec?.nodeName === n))!;
      const local = ps.filter((p) => p.spec?.nodeName === withEp).map((p) => `${p.status!.podIP}:8080`).sort();
      const parts: Array<{ label: string; v: Verdict }> = [];
      for (const [name, policy] of [[`${APP}-np`, "Cluster"], [`${APP}-local`, "Local"]] as const) {
        const nodePort = (await s.kube.core.readNamespacedService({ namespace: NS, name })).spec!.ports![0]!.nodePort!;
        let r: ProxyRules = { text: "" };
        let v: Verdict | undefined;
        const judge = (as: "Cluster" | "Local" = policy, eps: string[] = local): Verdict => {
          const opts = { policy: as, ...(as === "Local" ? { podCidr, localEndpoints: eps } : {}) };
          if (MODE === "iptables") {
            const nat = parseIptablesSave(r.text).tables["nat"]!;
            const extChain = extChainForNodePort(nat, nodePort);
            if (!extChain) return { id: "ETP-05", ok: false, reasons: [`no KUBE-NODEPORTS rule for ${nodePort} jumps to a KUBE-EXT chain on ${withEp}`] };
            return etp05({ nat, extChain, ...opts });
          }
          const t = nftTables(r);
          const judgeNft = (table: NftTable): Verdict => {
            const extChain = nftExtChainForNodePort(table, nodePort);
            if (!extChain) return { id: "ETP-05", ok: false, reasons: [`service-nodeports has no tcp . ${nodePort} element on ${withEp}`] };
            return etp05Nft({ table, extChain, ...opts });
          };
          return combine("ETP-05", [{ label: "nft text", v: judgeNft(t.text) }, { label: "nft -j", v: judgeNft(t.json) }]);
        };
        await waitFor(`kube-proxy on ${withEp} to program ${name} (${policy})`, async () => {
          r = await proxyRules(withEp);
          v = judge();
          return { done: v.ok, detail: v.ok ? "programmed" : v.reasons[0]! };
        }, { timeoutMs: 60_000, timeoutLabel: "kube-proxy sync, 60 s" });
        await keep(`etp05-${policy.toLowerCase()}`, withEp, r);
        parts.push({ label: `${name} (${policy}) on ${withEp}`, v: v! });
        if (policy === "Local") live.etp05 = { judge, local };
      }
      await check(combine("ETP-05", parts));
    });
  });

  it(`ETP-05 ${M} negative control: the live Local chain judged as Cluster, and against another node's endpoints, turns the verdict red`, async (ctx) => {
    if (MODE === "ipvs") return ctx.skip(ETP05_IPVS);
    await behaviour("ETP-05", "L");
    const l = live.etp05;
    if (!l) throw new Error("ETP-05 left no live evidence: nothing to run the negative control on");
    const v1 = l.judge("Cluster", l.local);
    const v2 = l.judge("Local", ["192.0.2.1:8080"]);
    await attachText("ETP-05 verdicts on the modified expectations (expected red)", `${formatVerdict(v1)}\n\n${formatVerdict(v2)}`);
    expect(v1.ok, formatVerdict(v1)).toBe(false);
    expect(v2.ok, formatVerdict(v2)).toBe(false);
    expect(v2.reasons.join("\n")).toMatch(/192\.0\.2\.1:8080/);
  });
});
