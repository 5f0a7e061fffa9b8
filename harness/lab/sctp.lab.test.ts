/**
 * MLB-09 at depth D in the kernel lab, on each lab kernel (bookworm's 6.1 and 6.12): an SCTP
 * association through a kube-proxy-shaped DNAT of a LoadBalancer VIP to a pod, judged by the MLB-09
 * oracle on the node's real `conntrack -E -p sctp` events. Network namespaces stand in for the hosts:
 *
 *   netns client 10.123.123.254 ──veth──▶ netns node 10.123.123.1, VIP 10.123.123.101 on a dummy
 *                                          (stands in for MetalLB's L2 announcement: the node answers ARP)
 *                                          nat PREROUTING → KUBE-SERVICES → KUBE-SVC → KUBE-SEP (DNAT)
 *                                          ──veth──▶ netns pod 10.42.1.36:9999 (ncat --sctp, answers "pod-1")
 *
 * The host kernel has no SCTP (IP_SCTP) and cannot load modules; the lab's Debian kernels load sctp.
 * Negative controls: (1) the DNAT points at a stale endpoint that still answers: the association is
 * established, but not with a backend; (2) the pod drops SCTP: no association. The
 * oracle must fail naming the flow and what is wrong, and pass again once the setup is restored.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { collectEvidence, withEvidence } from "../evidence/collector.ts";
import { parseConntrack } from "../evidence/parsers/conntrack.ts";
import { mlb09 } from "../oracles/mlb.ts";
import { formatVerdict, type Verdict } from "../oracles/verdict.ts";
import { attachJson, attachText, behaviour } from "../report/allure.ts";
import { type LabMachine, NetnsExecutor, attachConsole, stopMachine, labFile, labMachine, labRun, targetKernel, labTeardown } from "./lab.ts";

const lab = labFile(import.meta.filename);
const run = labRun("sctp");

const VIP = "10.123.123.101";
const PORT = 10000;
const CLIENT_IP = "10.123.123.254";
const POD = { ip: "10.42.1.36", port: 9999, answer: "pod-1" };
const SERVICE = "default/sctp-echo:sctp";

/** the namespaces, links, VIP and kube-proxy-shaped nat rules; one shell script run in the guest */
const SETUP = `set -eu
modprobe sctp
modprobe dummy
for n in client node pod; do ip netns add $n; ip -n $n link set lo up; done
ip link add c0 netns client type veth peer name eth-client netns node
ip link add p0 netns pod type veth peer name eth-pod netns node
ip -n client addr add ${CLIENT_IP}/24 dev c0; ip -n client link set c0 up
ip -n node addr add 10.123.123.1/24 dev eth-client; ip -n node link set eth-client up
ip -n node link add vip0 type dummy; ip -n node addr add ${VIP}/32 dev vip0; ip -n node link set vip0 up
ip -n node addr add 10.42.1.1/24 dev eth-pod; ip -n node link set eth-pod up
ip -n pod addr add ${POD.ip}/24 dev p0; ip -n pod link set p0 up; ip -n pod route add default via 10.42.1.1
ip netns exec node sysctl -qw net.ipv4.ip_forward=1
`;

/** what kube-proxy (iptables mode) writes for an SCTP LoadBalancer service with one endpoint */
const KUBE_PROXY_NAT = `*nat
:KUBE-SERVICES - [0:0]
:KUBE-SVC-SCTPECHO - [0:0]
:KUBE-SEP-SCTPECHO - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A KUBE-SERVICES -d ${VIP}/32 -p sctp -m comment --comment "${SERVICE} loadbalancer IP" -m sctp --dport ${PORT} -j KUBE-SVC-SCTPECHO
-A KUBE-SVC-SCTPECHO -m comment --comment "${SERVICE} -> ${POD.ip}:${POD.port}" -j KUBE-SEP-SCTPECHO
-A KUBE-SEP-SCTPECHO -p sctp -m comment --comment "${SERVICE}" -m sctp -j DNAT --to-destination ${POD.ip}:${POD.port}
COMMIT
`;
/** a stale endpoint: an address the service no longer has as a backend, still answering */
const STALE = { ip: "10.42.1.99", answer: "stale" };
const sepRule = (ip: string): string[] => ["-p", "sctp", "-m", "comment", "--comment", SERVICE, "-m", "sctp", "-j", "DNAT", "--to-destination", `${ip}:${POD.port}`];

/** a background server in a namespace (setsid, output to a file, pid in a file: the agent does not wait for it) */
function serve(ns: string, name: string, ip: string, port: number, answer: string): string {
  return `ip netns exec ${ns} setsid ncat --sctp -l -k ${ip} ${port} --sh-exec 'echo ${answer}' </dev/null >/tmp/${name}.log 2>&1 & echo $! >/tmp/${name}.pid`;
}

for (const { target, tag } of lab.targets) {
  describe(`${tag} MLB-09 SCTP through a kube-proxy DNAT of a LoadBalancer VIP (namespaces stand in for client/node/pod)`, () => {
    let vm: LabMachine;
    let node: NetnsExecutor;
    let client: NetnsExecutor;
    let pod: NetnsExecutor;
    const timings: Record<string, number> = {};
    const evidence = () => collectEvidence({ targets: [{ executor: node }, { executor: client }, { executor: pod }] });

    /** one association from the client to VIP:PORT, recorded by conntrack -E on the node; then the oracle */
    async function associate(label: string): Promise<{ v: Verdict; answer: string; events: string }> {
      const t0 = Date.now();
      await vm.sh(`ip netns exec node setsid timeout 120 conntrack -E -p sctp </dev/null >/tmp/ct.txt 2>/tmp/ct.err & echo $! >/tmp/ct.pid; sleep 1`);
      const c = await client.run(["timeout", "20", "ncat", "--sctp", "--recv-only", "-w", "5", VIP, String(PORT)], { allowFailure: true, timeoutMs: 30_000 });
      // the shutdown's last updates arrive right after the client returns; then stop conntrack (SIGINT prints its summary)
      const ev = await vm.sh(`sleep 3; kill -INT $(cat /tmp/ct.pid); for i in 1 2 3 4 5 6 7 8 9 10; do kill -0 $(cat /tmp/ct.pid) 2>/dev/null || break; sleep 0.5; done; cat /tmp/ct.txt`);
      const err = await vm.sh("cat /tmp/ct.err");
      const v = mlb09({ vip: VIP, port: PORT, backends: [POD.ip], events: parseConntrack(ev.stdout + err.stdout) });
      timings[`${label} (ms)`] = Date.now() - t0;
      await attachText(`${label}: client (ncat --sctp ${VIP} ${PORT}), exit ${c.exitCode}`, `${c.stdout}${c.stderr ? `\n--- stderr ---\n${c.stderr}` : ""}`);
      await attachText(`${label}: conntrack -E -p sctp on the node`, ev.stdout + err.stdout);
      await attachJson(`${label}: ${v.id} verdict`, v);
      return { v, answer: c.stdout.trim(), events: ev.stdout };
    }

    beforeAll(async () => {
      if (!lab.enabled) return;
      const t0 = Date.now();
      vm = await labMachine(run, target);
      timings["boot to first command (ms)"] = vm.bootMs;
      node = new NetnsExecutor(vm, "node");
      client = new NetnsExecutor(vm, "client");
      pod = new NetnsExecutor(vm, "pod");
      await vm.sh(SETUP);
      await node.run(["iptables-restore", "--noflush"], { input: KUBE_PROXY_NAT });
      await vm.sh(serve("pod", "pod-server", POD.ip, POD.port, POD.answer));
      timings["setup incl. boot (ms)"] = Date.now() - t0;
    });

    afterEach(async (ctx) => {
      if (vm && ctx.task.result?.state === "fail") await attachConsole(vm);
    });

    afterAll(async () => {
      if (!vm) return;
      await stopMachine(vm, timings);
    });

    it(`${tag} MLB-09 passes: the association is DNATed to the pod and conntrack walks COOKIE_WAIT → ESTABLISHED [ASSURED] → CLOSED (namespaces stand in for client/node/pod)`, async () => {
      await behaviour("MLB-09", "D");
      await withEvidence("MLB-09 pass case", evidence, async () => {
        const uname = await vm.run(["uname", "-r"]);
        expect(uname.stdout.trim()).toBe(targetKernel(target).version);
        await attachText("kernel", `${targetKernel(target).pkg}\nuname -r: ${uname.stdout.trim()}\n(${lab.why})`);
        await attachText("node iptables-save -t nat", (await node.run(["iptables-save", "-t", "nat"])).stdout);
        const { v, answer } = await associate("pass");
        expect(answer, "the pod's answer reached the client through the VIP").toBe(POD.answer);
        expect(v.ok, formatVerdict(v)).toBe(true);
        expect(v.reasons).toHaveLength(1);
        expect(v.reasons[0]).toMatch(new RegExp(`^flow ${CLIENT_IP}:\\d+ → ${VIP}:${PORT} DNATed to ${POD.ip}:${POD.port}: .*COOKIE_WAIT → .*ESTABLISHED → .*CLOSED$`));
        await attachJson("timings", timings);
      });
    });

    it(`${tag} MLB-09 negative control: the DNAT pointing at a stale endpoint fails the oracle naming the address that is not a backend (namespaces stand in for client/node/pod)`, async () => {
      await behaviour("MLB-09", "D");
      await withEvidence("MLB-09 negative control: stale endpoint", evidence, async () => {
        // the KUBE-SEP's DNAT goes to ${STALE.ip}, an address no backend has any more; something
        // still answers there, so the association completes, but not with a backend of the service
        await vm.sh(`ip -n pod addr add ${STALE.ip}/24 dev p0\n${serve("pod", "stale-server", STALE.ip, POD.port, STALE.answer)}`);
        await node.run(["iptables", "-t", "nat", "-R", "KUBE-SEP-SCTPECHO", "1", ...sepRule(STALE.ip)]);
        try {
          const { v, answer } = await associate("stale endpoint");
          expect(answer, "the stale endpoint answered").toBe(STALE.answer);
          expect(v.ok).toBe(false);
          expect(v.reasons).toEqual([expect.stringMatching(new RegExp(`^flow ${CLIENT_IP}:\\d+: DNATed to ${STALE.ip}, not a backend \\(${POD.ip}\\)$`))]);
        } finally {
          await node.run(["iptables", "-t", "nat", "-R", "KUBE-SEP-SCTPECHO", "1", ...sepRule(POD.ip)]);
          await vm.sh(`kill $(cat /tmp/stale-server.pid); ip -n pod addr del ${STALE.ip}/24 dev p0`);
        }
        // restored: the same association passes again, so the failure was the stale DNAT
        const again = await associate("restored after the stale endpoint");
        expect(again.v.ok, formatVerdict(again.v)).toBe(true);
      });
    });

    it(`${tag} MLB-09 negative control: the pod dropping SCTP fails the oracle: the flow never reaches ESTABLISHED (namespaces stand in for client/node/pod)`, async () => {
      await behaviour("MLB-09", "D");
      await withEvidence("MLB-09 negative control: pod drops SCTP", evidence, async () => {
        await pod.run(["iptables", "-A", "INPUT", "-p", "sctp", "-j", "DROP"]);
        try {
          const { v, answer, events } = await associate("pod drops SCTP");
          expect(answer).toBe("");
          expect(v.ok).toBe(false);
          expect(v.reasons).toHaveLength(1);
          // measured on 6.1 and 6.12: the INIT is seen ([NEW] CLOSED, [UNREPLIED]) and nothing after it
          expect(v.reasons[0]).toMatch(new RegExp(`^flow ${CLIENT_IP}:\\d+ → ${VIP}:${PORT}: states CLOSED, no COOKIE_WAIT$`));
          expect(events).not.toMatch(/ESTABLISHED/);
        } finally {
          await pod.run(["iptables", "-D", "INPUT", "-p", "sctp", "-j", "DROP"]);
        }
        const again = await associate("restored after the drop");
        expect(again.v.ok, formatVerdict(again.v)).toBe(true);
        await attachJson("timings", timings);
      });
    });
  });
}

labTeardown(run);
