import type { V1Service } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { withEvidence } from "../../harness/evidence/collector.ts";
import { parseIptablesSave } from "../../harness/evidence/parsers/iptables-save.ts";
import { apply, execInPod, waitForDaemonSetReady, waitFor } from "../../harness/kube/index.ts";
import { type EtpPhase, etp01, etp02, etp03, etp04, etp05, etp06, etp07, extChainFor } from "../../harness/oracles/etp.ts";
import { verdict } from "../../harness/oracles/verdict.ts";
import { gateSuite, suiteMissing } from "../../harness/preflight/gate.ts";
import { attachJson, attachText, behaviour } from "../../harness/report/allure.ts";
import { METALLB_IMAGES } from "../../harness/components/metallb.ts";
import { clusterSession } from "../../harness/session.ts";
import { type Env, backendsYaml, check, collector, deleteNamespace, forgetNeighbour, getMany, node, podRows, pods, pools, prepare, resolveOwner, serviceYaml, vipOf, vipOwner, waitReachable, waitVip } from "./lib.ts";

/**
 * externalTrafficPolicy (catalogue/BEHAVIOURS.md ETP) through MetalLB layer 2 VIPs, live: the source a backend
 * sees (agnhost /clientip) against the external client container's exact address, where external
 * and in-cluster requests land, kube-proxy's KUBE-EXT rule shape on the announcing node, switching
 * the field both ways, and the health-check node port. Verdicts from harness/oracles/etp.ts.
 */
const preflight = inject("suitePreflight");
const enabled = gateSuite(import.meta.filename, suiteMissing(preflight, { nodes: true }));
const NS = "nc-etp";

describe("externalTrafficPolicy", () => {
  const s = clusterSession({ preflight, enabled, topology: "default", images: ["agnhost", ...METALLB_IMAGES.native] });
  let env: Env;
  let podCidr: string;
  const evidence = (ns: string[] = [NS]) => collector(s, env, ns);

  beforeAll(async () => {
    if (!enabled) return;
    env = await prepare(s, "etp-client");
    await pools(s, env, [{ name: "nc-etp" }], { offset: 3 });
    await apply(s.kube, backendsYaml(s, { ns: NS, name: "web" }));
    await waitForDaemonSetReady(s.kube, NS, "web", { config: s.run.config });
    await apply(s.kube, serviceYaml({ ns: NS, name: "cluster", app: "web", policy: "Cluster", pool: "nc-etp" }));
    await apply(s.kube, serviceYaml({ ns: NS, name: "local", app: "web", policy: "Local", pool: "nc-etp" }));
    const cm = await s.kube.core.readNamespacedConfigMap({ namespace: "kube-system", name: "kube-proxy" });
    const m = /clusterCIDR:\s*"?([0-9./]+)"?/.exec(cm.data?.["config.conf"] ?? "");
    if (!m) throw new Error("kube-proxy's config.conf names no clusterCIDR");
    podCidr = m[1]!;
  });
  afterAll(async () => {
    if (!enabled || !s.kube) return;
    await deleteNamespace(s.kube, NS);
    await s.kube.objects.delete({ apiVersion: "metallb.io/v1beta1", kind: "L2Advertisement", metadata: { name: "nc-etp", namespace: "metallb-system" } }).catch(() => {});
    await s.kube.objects.delete({ apiVersion: "metallb.io/v1beta1", kind: "IPAddressPool", metadata: { name: "nc-etp", namespace: "metallb-system" } }).catch(() => {});
  });

  /** VIP reachable, then `count` /clientip answers from the external client. */
  async function clientIps(name: string, count = 10): Promise<{ vip: string; seen: string[] }> {
    const vip = vipOf(await waitVip(s, NS, name));
    await waitReachable(s, env.client, vip, "/clientip");
    const seen = await getMany(env.client.exec, `http://${vip}/clientip`, count);
    await attachJson(`${name}: /clientip answers`, { vip, clientIp: env.clientIp, seen });
    return { vip, seen };
  }

  it("ETP-01 Cluster: the backend sees a source that is not the external client's address (SNAT)", async () => {
    await behaviour("ETP-01", "L");
    // how long MetalLB took to install and serve, when this file installed it (beforeAll cannot attach)
    if (env.install) await attachJson("metallb install (seconds)", env.install);
    await withEvidence("ETP-01 /clientip through a Cluster VIP", evidence(), async () => {
      const { seen } = await clientIps("cluster");
      await check(etp01({ clientIp: env.clientIp, seen }));
    });
  });

  it("ETP-02 Local: the backend sees the external client's exact address", async () => {
    await behaviour("ETP-02", "L");
    await withEvidence("ETP-02 /clientip through a Local VIP", evidence(), async () => {
      const { seen } = await clientIps("local");
      await check(etp02({ clientIp: env.clientIp, seen }));
    });
  });

  it("ETP-03 Local: external requests are answered only by pods on the announcing node", async () => {
    await behaviour("ETP-03", "L");
    await withEvidence("ETP-03 who answers external requests", evidence(), async () => {
      const vip = vipOf(await waitVip(s, NS, "local"));
      await waitReachable(s, env.client, vip);
      // the owner before and after the requests: an announcement that moves in between leaves
      // "the announcing node" undefined, and that is reported as such, not judged
      const before = await resolveOwner(s, env, vip);
      await forgetNeighbour(env.client.exec, vip);
      const names = await getMany(env.client.exec, `http://${vip}/hostname`, 30);
      const owner = await vipOwner(s, env, vip);
      expect(owner, `the client resolved ${vip} to no node's MAC`).toBeDefined();
      const ps = await pods(s, NS, "web");
      const ipOf = new Map(ps.map((p) => [p.metadata!.name!, p.status?.podIP ?? ""]));
      const answeredBy = names.map((n) => ipOf.get(n) ?? (n || "(no answer)"));
      await attachJson("answers", { vip, ownerBefore: before, owner, names });
      if (before !== owner) await check(verdict("ETP-03", [`the announcement of ${vip} moved from ${before ?? "no node"} to ${owner} during the 30 requests (see the speakers' logs in the evidence)`]));
      await check(etp03({ announcingNode: owner!, pods: podRows(ps), answeredBy }));
    });
  });

  it("ETP-04 Local: pods calling the VIP are still balanced cluster-wide", async () => {
    await behaviour("ETP-04", "L");
    await withEvidence("ETP-04 in-cluster requests to a Local VIP", evidence(), async () => {
      const vip = vipOf(await waitVip(s, NS, "local"));
      await waitReachable(s, env.client, vip);
      const owner = await resolveOwner(s, env, vip);
      const ps = await pods(s, NS, "web");
      // the caller: the backend pod on the node that does not announce the VIP
      const caller = ps.find((p) => p.spec?.nodeName !== owner) ?? ps[0]!;
      const ex = { where: `pod:${NS}/${caller.metadata!.name}`, run: (argv: string[], o?: { timeoutMs?: number }) => execInPod(s.kube, NS, caller.metadata!.name!, "netexec", argv, o?.timeoutMs) };
      const names = await getMany(ex, `http://${vip}/hostname`, 40);
      const ipOf = new Map(ps.map((p) => [p.metadata!.name!, p.status?.podIP ?? ""]));
      await attachJson("answers", { vip, owner, caller: caller.metadata!.name, names });
      await check(etp04({ announcingNode: owner!, pods: podRows(ps), answeredBy: names.map((n) => ipOf.get(n) ?? (n || "(no answer)")) }));
    });
  });

  it("ETP-05 rule shape on the announcing node: Cluster → mark-masq + KUBE-SVC; Local → pod CIDR, LOCAL masquerade, KUBE-SVL of local endpoints", async () => {
    await behaviour("ETP-05", "L");
    await withEvidence("ETP-05 KUBE-EXT chains", evidence(), async () => {
      for (const [name, policy] of [["cluster", "Cluster"], ["local", "Local"]] as const) {
        const svc = await waitVip(s, NS, name);
        const vip = vipOf(svc);
        await waitReachable(s, env.client, vip);
        const owner = await resolveOwner(s, env, vip);
        expect(owner, `the client resolved ${vip} to no node's MAC`).toBeDefined();
        const save = await node(s, owner!).run(["iptables-save", "-t", "nat"]);
        await attachText(`${owner} iptables-save -t nat (${name})`, save.stdout);
        const nat = parseIptablesSave(save.stdout).tables["nat"]!;
        const ext = extChainFor(nat, vip, 80);
        expect(ext, `no KUBE-SERVICES rule for ${vip}:80 jumps to a KUBE-EXT chain on ${owner}`).toBeDefined();
        const local = (await pods(s, NS, "web")).filter((p) => p.spec?.nodeName === owner).map((p) => `${p.status!.podIP}:8080`);
        await check(etp05({ nat, policy, extChain: ext!, ...(policy === "Local" ? { podCidr, localEndpoints: local } : {}) }));
      }
    });
  });

  it("ETP-06 switching the field Cluster → Local → Cluster switches what the backend sees, both ways", async () => {
    await behaviour("ETP-06", "L");
    await withEvidence("ETP-06 switch the policy", evidence(), async () => {
      await apply(s.kube, serviceYaml({ ns: NS, name: "switch", app: "web", policy: "Cluster", pool: "nc-etp" }));
      const phases: EtpPhase[] = [];
      for (const policy of ["Cluster", "Local", "Cluster"] as const) {
        await apply(s.kube, serviceYaml({ ns: NS, name: "switch", app: "web", policy, pool: "nc-etp" }));
        const svc = await s.kube.core.readNamespacedService({ namespace: NS, name: "switch" });
        const vip = vipOf(await waitVip(s, NS, "switch"));
        await waitProgrammed(svc, vip, policy);
        await waitReachable(s, env.client, vip, "/clientip");
        const seen = (await getMany(env.client.exec, `http://${vip}/clientip`, 10)).filter((x) => x);
        phases.push({ policy, clientIp: env.clientIp, seen: seen.length ? seen : ["(no answer)"] });
      }
      await attachJson("phases", phases);
      await check(etp06(phases));
    });
  });

  it("ETP-07 Local: the healthCheckNodePort answers 200 only on nodes with an endpoint", async () => {
    await behaviour("ETP-07", "L");
    const ns = "nc-etp-hc";
    try {
      await withEvidence("ETP-07 health check node port", evidence([ns]), async () => {
        // one endpoint, on the zone-a worker only
        await apply(s.kube, backendsYaml(s, { ns, name: "one", nodeSelector: { "netconform.io/zone": "a" } }));
        await waitForDaemonSetReady(s.kube, ns, "one", { config: s.run.config });
        await apply(s.kube, serviceYaml({ ns, name: "one", app: "one", policy: "Local", pool: "nc-etp" }));
        const svc = await waitVip(s, ns, "one");
        const hc = svc.spec?.healthCheckNodePort;
        const ps = await pods(s, ns, "one");
        const endpointsByNode: Record<string, number> = Object.fromEntries(s.cluster.nodes.map((n) => [n, ps.filter((p) => p.spec?.nodeName === n).length]));
        const answers: Record<string, { status: number | null; body?: string }> = {};
        // kube-proxy serves the port once it has synced the service: wait for the node with the endpoint to say 200
        const withEp = Object.keys(endpointsByNode).find((n) => endpointsByNode[n]! > 0)!;
        await waitFor(`health check ${withEp}:${hc} to answer 200`, async () => {
          const a = await healthz(env.ips[withEp]!, hc);
          return { done: a.status === 200, detail: `status ${a.status}` };
        }, { timeoutName: "vipAnnounced", config: s.run.config });
        for (const n of s.cluster.nodes) answers[n] = await healthz(env.ips[n]!, hc);
        await attachJson("health checks", { healthCheckNodePort: hc, answers, endpointsByNode });
        await check(etp07({ healthCheckNodePort: hc, answers, endpointsByNode }));
      });
    } finally {
      await deleteNamespace(s.kube, ns);
    }
  });

  /** GET http://ip:port/healthz from the external client: status and body (null status: no answer). */
  async function healthz(ip: string, port: number | undefined): Promise<{ status: number | null; body?: string }> {
    if (!port) return { status: null };
    const r = await env.client.exec.run(["curl", "-sS", "--max-time", "3", "-o", "/tmp/hc-body", "-w", "%{http_code}", `http://${ip}:${port}/healthz`], { allowFailure: true, timeoutMs: 10_000 });
    if (r.exitCode !== 0) return { status: null };
    const body = (await env.client.exec.run(["cat", "/tmp/hc-body"], { allowFailure: true })).stdout;
    return { status: Number(r.stdout.trim()), body };
  }

  /** Wait until kube-proxy on every node with an endpoint has the KUBE-EXT shape of the policy for the VIP (then the switch has taken effect). */
  async function waitProgrammed(svc: V1Service, vip: string, policy: "Cluster" | "Local"): Promise<void> {
    await waitFor(`kube-proxy to program ${policy} for ${svc.metadata?.name} (${vip}) on every worker`, async () => {
      const pending: string[] = [];
      // nodes with an endpoint: a node without one ends its Local KUBE-EXT chain in KUBE-MARK-DROP, not KUBE-SVL
      const withEndpoints = [...new Set((await pods(s, NS, "web")).map((p) => p.spec!.nodeName!))];
      for (const n of withEndpoints) {
        const save = await node(s, n).run(["iptables-save", "-t", "nat"]);
        const nat = parseIptablesSave(save.stdout).tables["nat"]!;
        const ext = extChainFor(nat, vip, 80);
        const rules = ext ? nat.chains[ext]?.rules ?? [] : [];
        const isLocal = rules.some((r) => r.target?.name.startsWith("KUBE-SVL-"));
        if (!ext || isLocal !== (policy === "Local")) pending.push(`${n}: ${ext ? (isLocal ? "Local" : "Cluster") : "no KUBE-EXT"}`);
      }
      return { done: pending.length === 0, detail: pending.join(", ") || "programmed" };
    }, { timeoutName: "vipAnnounced", config: s.run.config });
  }
});
