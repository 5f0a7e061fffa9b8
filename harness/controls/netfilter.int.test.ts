/**
 * SVC-02 at depth D: kube-proxy-shaped iptables NAT chains written by hand into a toolbox container
 * ("the node"), in front of three backends, with real netfilter and no Kubernetes. The SVC-02 oracle
 * reads the container's real `iptables-save`; the spread oracle judges where 300 real connections
 * went. Negative controls break the shape (a skewed probability, a missing KUBE-SEP) and both
 * oracles must fail naming what is wrong.
 *
 *   node container (routes between its netns "pods", nat table as kube-proxy would program it)
 *     netns client 10.244.9.2 ──▶ ClusterIP 10.96.0.10:80
 *                                   KUBE-SERVICES → KUBE-SVC-… → KUBE-SEP-… (DNAT)
 *     netns be1 10.244.1.2:8080, be2 10.244.2.2:8080, be3 10.244.3.2:8080 (socat, answer their name)
 *
 * Every pod sits on its own routed veth (no bridge), so every packet crosses the node's netfilter
 * both ways and conntrack un-DNATs the replies without br_netfilter.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectEvidence, withEvidence } from "../evidence/collector.ts";
import { parseConntrack } from "../evidence/parsers/conntrack.ts";
import { parseIptablesSave } from "../evidence/parsers/iptables-save.ts";
import { type Host, World } from "../network/world.ts";
import { spread } from "../oracles/spread.ts";
import { svc02 } from "../oracles/svc.ts";
import { formatVerdict, type Verdict } from "../oracles/verdict.ts";
import { attachJson, attachText, behaviour } from "../report/allure.ts";
import { tearDownLeavingNothing, testRun } from "../testing/run.ts";

const run = testRun("netfilter");
const world = new World(run);

const SERVICE = "default/web:http";
const CLUSTER_IP = "10.96.0.10";
const PORT = 80;
const TARGET_PORT = 8080;
const CLUSTER_CIDR = "10.244.0.0/16";
const BACKENDS = [1, 2, 3].map((n) => ({ name: `be${n}`, ip: `10.244.${n}.2`, gw: `10.244.${n}.1` }));
const CLIENT = { name: "client", ip: "10.244.9.2", gw: "10.244.9.1" };
const N = 300;
const REQUEST_TIMEOUT_S = 1;
/** the whole loop of N requests: N × 2 timeouts at worst, plus slack */
const LOOP_TIMEOUT_MS = N * REQUEST_TIMEOUT_S * 2 * 1000 + 20_000;

let node: Host;

// --- kube-proxy's naming and rule shape ----------------------------------------------------------

/** RFC 4648 base32, as Go's base32.StdEncoding (kube-proxy hashes chain names with it). */
function base32(buf: Buffer): string {
  const A = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of buf) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += A[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += A[(value << (5 - bits)) & 31];
  return out;
}
const hash16 = (s: string): string => base32(createHash("sha256").update(s).digest()).slice(0, 16);
/** pkg/proxy/iptables: servicePortChainName / servicePortEndpointChainName */
const svcChain = (svcPort: string, proto: string): string => `KUBE-SVC-${hash16(svcPort + proto)}`;
const sepChain = (svcPort: string, proto: string, ep: string): string => `KUBE-SEP-${hash16(svcPort + proto + ep)}`;

interface NatSpec {
  endpoints: string[];
  /** override of the endpoint rules' probabilities (kube-proxy: 1/n, 1/(n−1), …, the last unconditional) */
  probabilities?: number[];
}

/** The nat rules kube-proxy (iptables mode) writes for one ClusterIP service, as iptables-restore --noflush input. */
function renderKubeProxyNat(spec: NatSpec): string {
  const proto = "tcp";
  const svc = svcChain(SERVICE, proto);
  const seps = spec.endpoints.map((ep) => ({ ep, chain: sepChain(SERVICE, proto, ep), ip: ep.split(":")[0]! }));
  const n = seps.length;
  const probs = spec.probabilities ?? seps.slice(0, -1).map((_, i) => 1 / (n - i));
  const c = (s: string) => `-m comment --comment "${s}"`;
  const lines = [
    "*nat",
    ":KUBE-SERVICES - [0:0]",
    ":KUBE-NODEPORTS - [0:0]",
    ":KUBE-POSTROUTING - [0:0]",
    ":KUBE-MARK-MASQ - [0:0]",
    `:${svc} - [0:0]`,
    ...seps.map((s) => `:${s.chain} - [0:0]`),
    `-A PREROUTING ${c("kubernetes service portals")} -j KUBE-SERVICES`,
    `-A OUTPUT ${c("kubernetes service portals")} -j KUBE-SERVICES`,
    `-A POSTROUTING ${c("kubernetes postrouting rules")} -j KUBE-POSTROUTING`,
    "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000",
    "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN",
    "-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0",
    `-A KUBE-POSTROUTING ${c("kubernetes service traffic requiring SNAT")} -j MASQUERADE --random-fully`,
    `-A KUBE-SERVICES -d ${CLUSTER_IP}/32 -p ${proto} ${c(`${SERVICE} cluster IP`)} -m ${proto} --dport ${PORT} -j ${svc}`,
    `-A KUBE-SERVICES ${c("kubernetes service nodeports; NOTE: this must be the last rule in this chain")} -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS`,
    `-A ${svc} ! -s ${CLUSTER_CIDR} -d ${CLUSTER_IP}/32 -p ${proto} ${c(`${SERVICE} cluster IP`)} -m ${proto} --dport ${PORT} -j KUBE-MARK-MASQ`,
    ...seps.map((s, i) => `-A ${svc} ${c(`${SERVICE} -> ${s.ep}`)}${i < probs.length ? ` -m statistic --mode random --probability ${probs[i]!.toFixed(10)}` : ""} -j ${s.chain}`),
    ...seps.flatMap((s) => [
      `-A ${s.chain} -s ${s.ip}/32 ${c(SERVICE)} -j KUBE-MARK-MASQ`,
      `-A ${s.chain} -p ${proto} ${c(SERVICE)} -m ${proto} -j DNAT --to-destination ${s.ep}`,
    ]),
    "COMMIT",
    "",
  ];
  return lines.join("\n");
}

/** Remove every KUBE-* chain and the jumps to them (what a restarted kube-proxy's cleanup does). */
const CLEAN_NAT = `
iptables -t nat -D PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES 2>/dev/null || true
iptables -t nat -D OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES 2>/dev/null || true
iptables -t nat -D POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING 2>/dev/null || true
chains=$(iptables -t nat -S | awk '/^-N KUBE-/ {print $2}')
for ch in $chains; do iptables -t nat -F "$ch"; done
for ch in $chains; do iptables -t nat -X "$ch"; done
`;

async function program(spec: NatSpec, label: string): Promise<string> {
  const rules = renderKubeProxyNat(spec);
  await node.exec.run(["sh", "-ec", CLEAN_NAT]);
  await node.exec.run(["iptables-restore", "--noflush"], { input: rules });
  await attachText(`${label}: rules written (iptables-restore --noflush)`, rules);
  const save = (await node.exec.run(["iptables-save"])).stdout;
  await attachText(`${label}: iptables-save`, save);
  return save;
}

interface Traffic {
  sequence: string[];
  counts: Record<string, number>;
  failed: number;
  /** connections per DNAT destination IP, from conntrack on the node */
  conntrack: Record<string, number>;
  ms: number;
}

/** N sequential TCP connections from the client pod to the ClusterIP, each with its own timeout. */
async function traffic(label: string): Promise<Traffic> {
  await node.exec.run(["conntrack", "-D", "-p", "tcp", "--orig-dst", CLUSTER_IP], { allowFailure: true });
  const loop = `i=0; while [ $i -lt ${N} ]; do i=$((i+1)); r=$(socat -T${REQUEST_TIMEOUT_S} - TCP:${CLUSTER_IP}:${PORT},connect-timeout=${REQUEST_TIMEOUT_S} </dev/null 2>/dev/null | head -c 32); echo "\${r:-<no answer>}"; done`;
  const t0 = Date.now();
  const r = await node.exec.run(["ip", "netns", "exec", CLIENT.name, "sh", "-c", loop], { timeoutMs: LOOP_TIMEOUT_MS });
  const ms = Date.now() - t0;
  const sequence = r.stdout.split("\n").filter((l) => l !== "");
  const counts: Record<string, number> = {};
  let failed = 0;
  for (const a of sequence) {
    if (a === "<no answer>") failed++;
    else counts[a] = (counts[a] ?? 0) + 1;
  }
  const ct = await node.exec.run(["conntrack", "-L", "-p", "tcp", "--orig-dst", CLUSTER_IP], { allowFailure: true });
  const conntrack: Record<string, number> = {};
  for (const e of parseConntrack(ct.stdout).entries) conntrack[e.reply.src] = (conntrack[e.reply.src] ?? 0) + 1;
  await attachText(`${label}: answers in order`, r.stdout);
  await attachText(`${label}: conntrack -L --orig-dst ${CLUSTER_IP}`, ct.stdout + ct.stderr);
  await attachJson(`${label}: tally`, { counts, failed, conntrack, ms });
  return { sequence: sequence.filter((a) => a !== "<no answer>"), counts, failed, conntrack, ms };
}

async function report(v: Verdict, label: string): Promise<void> {
  await attachJson(`${label}: ${v.id} verdict`, v);
  process.stderr.write(`[netfilter control] ${label}\n${formatVerdict(v)}\n`);
}

const ENDPOINTS = BACKENDS.map((b) => `${b.ip}:${TARGET_PORT}`);
const NAMES = BACKENDS.map((b) => b.name);
const evidence = () => collectEvidence({ targets: [{ executor: node.exec, role: "node" }] });

describe("netfilter control: kube-proxy-shaped NAT chains in front of three backends (real iptables, no Kubernetes)", () => {
  beforeAll(async () => {
    const net = await world.network("node");
    node = await world.host({ name: "node", role: "node-like", networks: [{ network: net.name }], sysctls: { "net.ipv4.ip_forward": "1" } });
    const pods = [...BACKENDS, CLIENT];
    const setup = pods.flatMap((p) => [
      `ip netns add ${p.name}`,
      `ip link add v-${p.name} type veth peer name eth0 netns ${p.name}`,
      `ip addr add ${p.gw}/24 dev v-${p.name}`,
      `ip link set v-${p.name} up`,
      `ip -n ${p.name} addr add ${p.ip}/24 dev eth0`,
      `ip -n ${p.name} link set eth0 up`,
      `ip -n ${p.name} link set lo up`,
      `ip -n ${p.name} route add default via ${p.gw}`,
    ]);
    const servers = BACKENDS.map((b) => `(setsid ip netns exec ${b.name} socat TCP-LISTEN:${TARGET_PORT},fork,reuseaddr SYSTEM:'echo ${b.name}' </dev/null >/dev/null 2>&1 &)`);
    await node.exec.run(["sh", "-ec", [...setup, ...servers].join("\n")]);
    // each server answers directly (no NAT yet): the backends are up before any rule is judged
    for (const b of BACKENDS) {
      const r = await node.exec.run(["sh", "-c", `for i in $(seq 50); do a=$(ip netns exec ${CLIENT.name} socat -T1 - TCP:${b.ip}:${TARGET_PORT},connect-timeout=1 </dev/null 2>/dev/null); [ "$a" = ${b.name} ] && echo "$a" && exit 0; sleep 0.1; done; exit 1`], { timeoutMs: 30_000 });
      expect(r.stdout.trim()).toBe(b.name);
    }
  });

  afterAll(() => tearDownLeavingNothing(run));

  it("SVC-02 kube-proxy-shaped chains: the oracle passes on the real iptables-save, and 300 connections spread within the binomial bound", async () => {
    await behaviour("SVC-02", "D");
    // the chain names really are kube-proxy's: every cluster's kubernetes:https and kube-dns chains
    expect(svcChain("default/kubernetes:https", "tcp")).toBe("KUBE-SVC-NPX46M4PTMTKRN6Y");
    expect(svcChain("kube-system/kube-dns:dns", "udp")).toBe("KUBE-SVC-TCOU7JCQXEZGVUNU");
    await withEvidence("SVC-02 pass case", evidence, async () => {
      const save = await program({ endpoints: ENDPOINTS }, "kube-proxy shape");
      const shape = svc02({ save: parseIptablesSave(save), clusterIP: CLUSTER_IP, port: PORT, endpoints: ENDPOINTS });
      await report(shape, "shape");
      expect(shape.ok, formatVerdict(shape)).toBe(true);
      // what the kernel really holds: kube-proxy's 1/3 printed back as the float32-rounded 0.33333333349
      expect(save).toMatch(/--probability 0\.33333333349 -j KUBE-SEP-/);
      expect(save).toMatch(/--probability 0\.50000000000 -j KUBE-SEP-/);

      const t = await traffic("kube-proxy shape");
      const v = spread({ id: "SVC-02", backends: NAMES, counts: t.counts, failed: t.failed, sequence: t.sequence });
      await report(v, `spread over ${N} connections (${t.ms} ms)`);
      expect(v.ok, formatVerdict(v)).toBe(true);
      // conntrack on the node tells the same story as the answers (DNAT destination per connection)
      expect(Object.fromEntries(BACKENDS.map((b) => [b.name, t.conntrack[b.ip] ?? 0]))).toEqual(Object.fromEntries(NAMES.map((b) => [b, t.counts[b] ?? 0])));
    });
  });

  it("SVC-02 negative control: a skewed chain (0.9, then 0.5) fails the shape oracle naming the probability, and the spread bound", async () => {
    await behaviour("SVC-02", "D");
    const save = await program({ endpoints: ENDPOINTS, probabilities: [0.9, 0.5] }, "skewed 0.9/0.5");
    const shape = svc02({ save: parseIptablesSave(save), clusterIP: CLUSTER_IP, port: PORT, endpoints: ENDPOINTS });
    await report(shape, "skewed shape");
    expect(shape.ok).toBe(false);
    expect(shape.reasons).toEqual([expect.stringMatching(/endpoint rule 1\/3 \(→ KUBE-SEP-\w+\): probability 0\.8999999999\d, expected 1\/3 = 0\.33333333333 \(0\.3333333333 as kube-proxy writes it, or 0\.33333 as older versions wrote it; 11 decimals printed, so ±4\.7e-10\)$/)]);

    const t = await traffic("skewed 0.9/0.5");
    const v = spread({ id: "SVC-02", backends: NAMES, counts: t.counts, failed: t.failed, sequence: t.sequence });
    await report(v, `skewed spread over ${N} connections (${t.ms} ms)`);
    expect(v.ok).toBe(false);
    expect(v.reasons).toContainEqual(expect.stringMatching(/^be1: \d+ of 300 .*acceptance \[71, 130\].*: too many$/));
    expect(v.reasons.filter((r) => /^be[23]: .*: too few$/.test(r)).length).toBe(2);
  });

  it("SVC-02 negative control: a missing KUBE-SEP (3 endpoints, 2 programmed) fails the shape oracle naming the endpoint, and its backend starves", async () => {
    await behaviour("SVC-02", "D");
    const save = await program({ endpoints: ENDPOINTS.slice(0, 2) }, "missing SEP");
    const shape = svc02({ save: parseIptablesSave(save), clusterIP: CLUSTER_IP, port: PORT, endpoints: ENDPOINTS });
    await report(shape, "missing SEP shape");
    expect(shape.ok).toBe(false);
    expect(shape.reasons).toEqual([`endpoint ${ENDPOINTS[2]} has no KUBE-SEP chain DNATing to it`]);

    const t = await traffic("missing SEP");
    const v = spread({ id: "SVC-02", backends: NAMES, counts: t.counts, failed: t.failed });
    await report(v, `spread with a missing SEP (${t.ms} ms)`);
    expect(v.ok).toBe(false);
    expect(v.reasons).toContainEqual(expect.stringMatching(/^be3: 0 of 300 .*: too few$/));
  });
});
