/**
 * D-depth controls for ETP-01/02: netfilter in a container acting as a node, no Kubernetes.
 *
 * A client on network "ext", a "node" on "ext" and "pods" that owns the VIP and DNATs VIP:80 to a
 * backend on "pods" (what KUBE-SERVICES → KUBE-SEP does), and a backend running a tiny socat
 * server that answers with the peer address it saw, "ip:port" (what agnhost /clientip answers).
 * With `-j MASQUERADE` on the way to the backend (Cluster: KUBE-MARK-MASQ + KUBE-POSTROUTING) the
 * ETP-01 oracle says SNAT; without (Local) ETP-02 says preserved. Each is the other's negative
 * control. A capture on the backend is judged too, through the tcpdump parser.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNetwork, removeNetwork } from "../adapters/docker.ts";
import { parseIptablesSave } from "../evidence/parsers/iptables-save.ts";
import { parseTcpdump } from "../evidence/parsers/tcpdump.ts";
import { type Host, type Net, World, addRoute, waitUntil } from "../network/world.ts";
import { etp01, etp02, synSources } from "../oracles/etp.ts";
import { formatVerdict } from "../oracles/verdict.ts";
import { attachText, behaviour } from "../report/allure.ts";
import { tearDownLeavingNothing, testRun } from "../testing/run.ts";

const run = testRun("snatctl");
const world = new World(run);
const EXT = { subnet: "10.253.43.0/24", client: "10.253.43.10", node: "10.253.43.2", vip: "10.253.43.100" };
const PODS = { subnet: "10.253.44.0/24", node: "10.253.44.2", backend: "10.253.44.10" };
const PORT = 80, TARGET = 8080, REQUESTS = 3;

let client: Host, node: Host, backend: Host;

/**
 * A network without docker's own masquerade: with br_netfilter on the host, docker's
 * `-s <subnet> ! -o <bridge> -j MASQUERADE` would SNAT the node's forwarded packets to the bridge
 * gateway and send the backend's replies around the node. Created like World.network, labelled
 * with the run and removed by its teardown.
 */
async function plainNetwork(name: string, subnet: string): Promise<Net> {
  const full = `${world.prefix}${name}`;
  const n = await createNetwork({ name: full, subnet, labels: run.labels("network"), options: { "com.docker.network.bridge.enable_ip_masquerade": "false" } });
  run.defer(`network ${full}`, () => removeNetwork(full));
  return { name: full, subnet: n.subnet, gateway: n.gateway };
}

/** one request: the backend's answer ("ip:port"), bounded by nc's own timeout */
async function ask(): Promise<string> {
  const r = await client.exec.run(["nc", "-w", "3", EXT.vip, String(PORT)], { input: "", timeoutMs: 10_000, allowFailure: true });
  return r.stdout.trim();
}

/** REQUESTS requests with a capture on the backend; returns the answers and the capture text */
async function exchange(label: string): Promise<{ answers: string[]; capture: string }> {
  const cap = backend.exec.run(["timeout", "8", "tcpdump", "-n", "-l", "-i", "eth0", "-c", String(2 * REQUESTS), `tcp port ${TARGET} and tcp[tcpflags] & tcp-syn != 0`], { allowFailure: true, timeoutMs: 15_000 });
  await new Promise((r) => setTimeout(r, 700)); // tcpdump attaches
  const answers: string[] = [];
  for (let i = 0; i < REQUESTS; i++) answers.push(await ask());
  const c = await cap;
  await attachText(`${label}: answers`, answers.join("\n"));
  await attachText(`${label}: tcpdump on the backend`, `${c.stderr}${c.stdout}`);
  await attachText(`${label}: iptables-save on the node`, (await node.exec.run(["iptables-save"])).stdout);
  return { answers, capture: c.stdout };
}

describe("SNAT D-depth controls (netfilter DNAT/MASQUERADE in a node-like container)", () => {
  beforeAll(async () => {
    const ext = await plainNetwork("ext", EXT.subnet);
    const pods = await plainNetwork("pods", PODS.subnet);
    client = await world.host({ name: "client", role: "client", networks: [{ network: ext.name, ip: EXT.client }] });
    node = await world.host({ name: "node", role: "node-like", networks: [{ network: ext.name, ip: EXT.node }, { network: pods.name, ip: PODS.node }], sysctls: { "net.ipv4.ip_forward": "1" } });
    backend = await world.host({ name: "backend", role: "server", networks: [{ network: pods.name, ip: PODS.backend }] });
    // the VIP lives on the node (it answers ARP for it, as the announcing speaker's node does)
    await node.exec.run(["ip", "addr", "add", `${EXT.vip}/32`, "dev", "eth0"]);
    await node.exec.run(["iptables", "-t", "nat", "-A", "PREROUTING", "-d", `${EXT.vip}/32`, "-p", "tcp", "--dport", String(PORT), "-j", "DNAT", "--to-destination", `${PODS.backend}:${TARGET}`]);
    // replies to the client go back through the node (the pod's default route is its node)
    await addRoute(backend, EXT.subnet, PODS.node);
    // the backend: tells each peer the address it saw, then closes; runs in the background of the container
    // (a script: socat would split a SYSTEM: command at the colon)
    await backend.exec.run(["sh", "-c", "cat > /usr/local/bin/clientip && chmod +x /usr/local/bin/clientip"], { input: '#!/bin/sh\necho "$SOCAT_PEERADDR:$SOCAT_PEERPORT"\n' });
    await backend.exec.run(["sh", "-c", `nohup socat TCP-LISTEN:${TARGET},fork,reuseaddr EXEC:/usr/local/bin/clientip </dev/null >/dev/null 2>&1 &`]);
    await waitUntil("backend listening", async () => (await backend.exec.run(["sh", "-c", `ss -ltn | grep -q ':${TARGET} '`], { allowFailure: true })).exitCode === 0, 15_000, 200);
    await waitUntil("VIP answers", async () => /^\d+\.\d+\.\d+\.\d+:\d+$/.test(await ask()), 20_000, 300);
  });

  afterAll(() => tearDownLeavingNothing(run));

  it("ETP-01 with MASQUERADE towards the backend (Cluster-like) the backend sees the node, not the client: SNAT; ETP-02 fails (negative control)", async () => {
    await behaviour("ETP-01", "D");
    const masq = ["POSTROUTING", "-d", `${PODS.backend}/32`, "-p", "tcp", "--dport", String(TARGET), "-j", "MASQUERADE"];
    await node.exec.run(["iptables", "-t", "nat", "-A", ...masq]);
    try {
      const nat = parseIptablesSave((await node.exec.run(["iptables-save", "-t", "nat"])).stdout).tables["nat"]!;
      expect(nat.chains["POSTROUTING"]!.rules.filter((r) => r.target?.name === "MASQUERADE").map((r) => r.destination?.value)).toEqual([`${PODS.backend}/32`]);
      const { answers, capture } = await exchange("cluster");
      const v = etp01({ clientIp: EXT.client, seen: answers });
      expect(v.ok, formatVerdict(v)).toBe(true);
      expect(v.measurements?.verdict).toBe("SNAT");
      expect(v.measurements?.seen).toBe(PODS.node);
      const fromCapture = synSources(parseTcpdump(capture), PODS.backend, TARGET);
      expect(fromCapture).toHaveLength(REQUESTS);
      expect(etp01({ clientIp: EXT.client, seen: fromCapture }).ok).toBe(true);
      // negative control: the Local oracle on the same evidence names the SNAT
      const neg = etp02({ clientIp: EXT.client, seen: answers });
      expect(neg.ok).toBe(false);
      expect(neg.measurements?.verdict).toBe("SNAT");
      expect(neg.reasons[0]).toMatch(new RegExp(`backend saw ${PODS.node.replace(/\./g, "\\.")}:\\d+, not the external client's address ${EXT.client.replace(/\./g, "\\.")}: the source was NATed`));
    } finally {
      await node.exec.run(["iptables", "-t", "nat", "-D", ...masq]);
    }
  });

  it("ETP-02 without MASQUERADE (Local-like) the backend sees the client's exact address: preserved; ETP-01 fails (negative control)", async () => {
    await behaviour("ETP-02", "D");
    // conntrack entries of the masqueraded flows are gone (each request used a new source port)
    const { answers, capture } = await exchange("local");
    const v = etp02({ clientIp: EXT.client, seen: answers });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.measurements?.verdict).toBe("preserved");
    const fromCapture = synSources(parseTcpdump(capture), PODS.backend, TARGET);
    expect(fromCapture.every((s) => s.startsWith(`${EXT.client}:`))).toBe(true);
    expect(etp02({ clientIp: EXT.client, seen: fromCapture }).ok).toBe(true);
    const neg = etp01({ clientIp: EXT.client, seen: answers });
    expect(neg.ok).toBe(false);
    expect(neg.measurements?.verdict).toBe("preserved");
    expect(neg.reasons[0]).toMatch(new RegExp(`backend saw the external client's own address ${EXT.client.replace(/\./g, "\\.")}:\\d+: not source-NATed`));
  });
});
