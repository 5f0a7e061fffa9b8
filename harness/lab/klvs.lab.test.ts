/**
 * KLVS-05 and KLVS-06 at depth D in the kernel lab, on each lab kernel: two router namespaces run
 * real keepalived (VRRP between them, unicast) with a virtual_server (rr, NAT/Masq) in front of two
 * real servers; IPVS is the guest kernel's (the host kernel has no IP_VS). Network namespaces stand
 * in for the hosts:
 *
 *   netns client 10.232.35.10 ─┐                       ┌─ netns be1 10.42.0.2:80/81 (ncat, answers "be1")
 *                     netns lan (bridge br0)   netns back (bridge br0)
 *   netns router-1 10.232.35.41 / 10.42.0.41 (priority 150)  ┤
 *   netns router-2 10.232.35.31 / 10.42.0.31 (priority 100)  ┤
 *                                                         └─ netns be2 10.42.0.3:80/81 (answers "be2")
 *   VRRP instance 106 holds the VIP 10.232.35.199 (lan side) and the real servers' gateway 10.42.0.1.
 *
 * KLVS-05: both routers' IPVS tables (router-1 read with `ipvsadm -Ln`, router-2 from /proc/net/ip_vs)
 * carry the same programming. Negative control: a real server deleted on router-2 only is named.
 * KLVS-06: the VIP is on exactly one router; the holder's namespace is torn down (its processes
 * killed, the namespace deleted) and the VIP moves to the other within the bound, new connections
 * work, an established one is reset. Negative control: with router-2's keepalived stopped first, the
 * VIP never moves and the oracle says so.
 * The topology and the keepalived configuration are klvs-topology.ts's (shared with
 * klvs-program.lab.test.ts); this file uses be1/be2 and virtual servers :80/:81 only.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { collectEvidence, withEvidence } from "../evidence/collector.ts";
import { parseIpvsadm } from "../evidence/parsers/ipvsadm.ts";
import { parseKeepalived } from "../evidence/parsers/keepalived.ts";
import { VipTimelineSchema, klvs05, klvs06, type RouterVrrp } from "../oracles/klvs.ts";
import { formatVerdict } from "../oracles/verdict.ts";
import { attachJson, attachText, behaviour } from "../report/allure.ts";
import { BACKENDS as ALL_BACKENDS, HOLDERS, PAIR_SERVICES, ROUTERS, VIP, keepalivedConf, keepalivedStopScript, networkScript, routerUpScript, until, writeConf, type Router } from "./klvs-topology.ts";
import { type LabMachine, NetnsExecutor, attachConsole, stopMachine, labFile, labMachine, labRun, labTeardown } from "./lab.ts";

const lab = labFile(import.meta.filename);
const run = labRun("klvs");

const BACKENDS = [ALL_BACKENDS[0], ALL_BACKENDS[1]] as const;
/** VRRP master-down interval with advert_int 1 is ~3.6 s; TCG on a loaded machine adds seconds */
const MOVE_BOUND_MS = 15_000;
const NETWORK = networkScript(BACKENDS, [80, 81], 81);
const conf = (r: Router) => keepalivedConf(r, PAIR_SERVICES);

/**
 * The failover, recorded inside the guest so agent latency does not blur it: sample the holders every
 * 0.2 s, tear down \`lose\` after 2 s (freeze its processes, cut its links, kill them, delete its
 * namespace), try a new connection
 * every 0.5 s (until 3 worked, or 25 s after the loss), then tell the established connection to
 * speak. Every loop is bounded.
 * Output lines: "t <ms> <holders…>", "lost <ms>", "new <ms> ok|fail", "est reset|survived|hung".
 */
function failoverScript(lose: string): string {
  return `now() { echo $(( $(date +%s%N) / 1000000 - T0 )); }
T0=$(( $(date +%s%N) / 1000000 ))
rm -f /tmp/go /tmp/est.out
ip netns exec client setsid python3 -c '
import socket, os, time, sys
s = socket.create_connection(("${VIP}", 81), timeout=10)
s.recv(100)
for _ in range(600):
    if os.path.exists("/tmp/go"): break
    time.sleep(0.1)
s.settimeout(5)
try:
    s.sendall(b"still there?\\n")
    d = s.recv(100)
    print("survived" if d else "closed")
except ConnectionResetError:
    print("reset")
except socket.timeout:
    print("hung")
except OSError as e:
    print("reset" if e.errno in (104, 32) else "hung")
' </dev/null >/tmp/est.out 2>&1 &
sleep 1
( i=0; while [ $i -lt 150 ]; do echo "t $(now) $( { ${HOLDERS}; } | tr '\\n' ' ')"; sleep 0.2; i=$((i+1)); done ) >/tmp/samples.txt &
S=$!
sleep 2
LOST=$(now); echo "lost $LOST"
# a sudden loss: freeze every process first (keepalived's children must not see their parent die
# and say goodbye with a priority-0 advert), cut the links, then kill and delete the namespace
P=$(ip netns pids ${lose} 2>/dev/null)
for p in $P; do kill -STOP $p; done
ip -n ${lose} link del lan0 2>/dev/null; ip -n ${lose} link del back0 2>/dev/null
for p in $P; do kill -9 $p; done
ip netns del ${lose}
moved=0; i=0
while [ $i -lt 40 ]; do
  if ip netns exec client timeout 3 ncat --recv-only -w 2 ${VIP} 80 </dev/null >/dev/null 2>&1; then echo "new $(now) ok"; moved=$((moved+1)); else echo "new $(now) fail"; fi
  [ $moved -ge 3 ] && break
  [ $(now) -gt $((LOST + 25000)) ] && break
  sleep 0.5; i=$((i+1))
done
touch /tmp/go
for j in $(seq 1 20); do [ -s /tmp/est.out ] && break; sleep 0.5; done
echo "est $(cat /tmp/est.out 2>/dev/null | tail -n1)"
kill $S 2>/dev/null; wait $S 2>/dev/null
cat /tmp/samples.txt`;
}

function timelineOf(out: string, lost: string) {
  const lines = out.split("\n");
  const lostAt = Number(/^lost (\d+)$/m.exec(out)?.[1]);
  const est = /^est (\S+)/m.exec(out)?.[1];
  return VipTimelineSchema.parse({
    vip: VIP,
    routerNodes: ROUTERS.map((r) => r.name),
    lost: { node: lost, atMs: lostAt },
    samples: lines.flatMap((l) => {
      const m = /^t (\d+) ?(.*)$/.exec(l);
      return m ? [{ atMs: Number(m[1]), holders: m[2]!.trim() ? m[2]!.trim().split(/\s+/) : [] }] : [];
    }),
    newConnections: lines.flatMap((l) => {
      const m = /^new (\d+) (ok|fail)$/.exec(l);
      return m ? [{ atMs: Number(m[1]), ok: m[2] === "ok" }] : [];
    }),
    // "closed" (an orderly FIN) is neither of the oracle's words; it is not a reset
    established: est === "reset" || est === "survived" ? est : "hung",
  });
}

for (const { target, tag } of lab.targets) {
  describe(`${tag} KLVS-05/06 keepalived pair with IPVS (rr, Masq) in router namespaces (namespaces stand in for client/routers/real servers)`, () => {
    let vm: LabMachine;
    const ns = (n: string) => new NetnsExecutor(vm, n);
    const timings: Record<string, number> = {};
    const evidence = () => collectEvidence({ targets: ROUTERS.map((r) => ({ executor: ns(r.name), role: "ipvs" })) });

    async function startRouter(r: Router): Promise<void> {
      await writeConf(vm, r, conf(r));
      await vm.sh(routerUpScript(r));
    }

    const vipOn = (name: string) => until(vm, `the VIP on ${name} alone`, HOLDERS, (o) => o.trim() === name);
    const tablesReady = () => until(vm, "IPVS programmed on both routers", ROUTERS.map((r) => `ip netns exec ${r.name} ipvsadm -Ln 2>/dev/null | grep -c -- '->' `).join(";"), (o) => o.trim().split("\n").every((n) => Number(n) >= 4));

    async function vrrpConfs(): Promise<RouterVrrp[]> {
      return ROUTERS.map((r) => ({ node: r.name, address: r.lan, conf: parseKeepalived(conf(r)) }));
    }

    beforeAll(async () => {
      if (!lab.enabled) return;
      const t0 = Date.now();
      vm = await labMachine(run, target, "klvs-");
      timings["boot to first command (ms)"] = vm.bootMs;
      await vm.sh(NETWORK);
      for (const r of ROUTERS) await startRouter(r);
      await vipOn("router-1");
      await tablesReady();
      timings["setup incl. boot, VRRP and IPVS ready (ms)"] = Date.now() - t0;
    });

    afterEach(async (ctx) => {
      if (vm && ctx.task.result?.state === "fail") {
        await attachConsole(vm);
        for (const r of ROUTERS) await attachText(`keepalived ${r.name} log`, (await vm.sh(`cat /tmp/keepalived-${r.name}.log`, { allowFailure: true })).stdout);
      }
    });

    afterAll(async () => {
      if (!vm) return;
      await stopMachine(vm);
    });

    it(`${tag} KLVS-05 passes: both routers carry the same IPVS programming (ipvsadm -Ln on router-1, /proc/net/ip_vs on router-2), and rr spreads over both real servers (namespaces stand in for client/routers/real servers)`, async () => {
      await behaviour("KLVS-05", "D");
      await withEvidence("KLVS-05 pass case", evidence, async () => {
        const a = (await ns("router-1").run(["ipvsadm", "-Ln"])).stdout;
        const b = (await ns("router-2").run(["cat", "/proc/net/ip_vs"])).stdout;
        await attachText("router-1 ipvsadm -Ln", a);
        await attachText("router-2 /proc/net/ip_vs", b);
        const t1 = parseIpvsadm(a), t2 = parseIpvsadm(b);
        expect(t1.source).toBe("ipvsadm");
        expect(t2.source).toBe("proc");
        const v = klvs05({ tables: [{ node: "router-1", table: t1 }, { node: "router-2", table: t2 }] });
        await attachJson("KLVS-05 verdict", v);
        expect(v.ok, formatVerdict(v)).toBe(true);
        expect(v.reasons).toEqual(["router-1, router-2 carry the same 2 virtual services"]);
        expect(t1.services.map((s) => `${s.key} ${s.scheduler} ${s.realServers.map((r) => `${r.key}/${r.forward}`).join(",")}`)).toEqual([
          `TCP ${VIP}:80 rr ${BACKENDS.map((x) => `${x.ip}:80/Masq`).join(",")}`,
          `TCP ${VIP}:81 rr ${BACKENDS.map((x) => `${x.ip}:81/Masq`).join(",")}`,
        ]);
        const answers = (await ns("client").sh(`for i in 1 2 3 4; do timeout 5 ncat --recv-only -w 3 ${VIP} 80 </dev/null; done`)).stdout.trim().split("\n");
        await attachText("client: 4 connections to the VIP", answers.join("\n"));
        expect([...answers].sort()).toEqual(["be1", "be1", "be2", "be2"]);
      });
    });

    it(`${tag} KLVS-05 negative control: a real server deleted on router-2 only is named by the oracle (namespaces stand in for client/routers/real servers)`, async () => {
      await behaviour("KLVS-05", "D");
      await withEvidence("KLVS-05 negative control", evidence, async () => {
        await ns("router-2").run(["ipvsadm", "-d", "-t", `${VIP}:80`, "-r", `${BACKENDS[1].ip}:80`]);
        try {
          const t1 = parseIpvsadm((await ns("router-1").run(["ipvsadm", "-Ln"])).stdout);
          const t2 = parseIpvsadm((await ns("router-2").run(["ipvsadm", "-Ln"])).stdout);
          const v = klvs05({ tables: [{ node: "router-1", table: t1 }, { node: "router-2", table: t2 }] });
          await attachJson("KLVS-05 verdict (real server deleted on router-2)", v);
          expect(v.ok).toBe(false);
          expect(v.reasons).toEqual([`TCP ${VIP}:80: real server ${BACKENDS[1].ip}:80 is on router-1 but not on router-2`]);
        } finally {
          await ns("router-2").run(["ipvsadm", "-a", "-t", `${VIP}:80`, "-r", `${BACKENDS[1].ip}:80`, "-m", "-w", "1"]);
        }
        const again = klvs05({ tables: await Promise.all(ROUTERS.map(async (r) => ({ node: r.name, table: parseIpvsadm((await ns(r.name).run(["ipvsadm", "-Ln"])).stdout) }))) });
        expect(again.ok, formatVerdict(again)).toBe(true);
      });
    });

    it(`${tag} KLVS-06 passes: the VIP is on router-1 alone, moves to router-2 within ${MOVE_BOUND_MS / 1000} s when router-1's namespace is torn down, new connections work, an established one is reset (namespaces stand in for client/routers/real servers)`, async () => {
      await behaviour("KLVS-06", "D");
      await withEvidence("KLVS-06 pass case", evidence, async () => {
        const out = (await vm.sh(failoverScript("router-1"), { timeoutMs: 180_000 })).stdout;
        await attachText("failover record (guest clock, ms)", out);
        const t = timelineOf(out, "router-1");
        await attachJson("KLVS-06 timeline", t);
        const v = klvs06(t, { boundMs: MOVE_BOUND_MS, vrrp: await vrrpConfs() });
        await attachJson("KLVS-06 verdict", v);
        expect(v.ok, formatVerdict(v)).toBe(true);
        timings["VIP move after router-1 torn down (ms)"] = Number(v.measurements?.vipMoveMs);
        await attachJson("timings", timings);
      });
    });

    it(`${tag} KLVS-06 negative control: with router-2's keepalived stopped, tearing down the holder leaves the VIP nowhere and the oracle says it never moved (namespaces stand in for client/routers/real servers)`, async () => {
      await behaviour("KLVS-06", "D");
      await withEvidence("KLVS-06 negative control", evidence, async () => {
        // router-1 back (fresh namespace, higher priority: it takes the VIP back), then router-2's keepalived stopped
        await startRouter(ROUTERS[0]);
        await vipOn("router-1");
        await vm.sh(keepalivedStopScript(ROUTERS[1]));
        const out = (await vm.sh(failoverScript("router-1"), { timeoutMs: 180_000 })).stdout;
        await attachText("failover record (guest clock, ms)", out);
        const t = timelineOf(out, "router-1");
        const v = klvs06(t, { boundMs: MOVE_BOUND_MS, vrrp: await vrrpConfs() });
        await attachJson("KLVS-06 verdict (no backup)", v);
        expect(v.ok).toBe(false);
        expect(v.reasons).toContain(`the VIP ${VIP} never moved off router-1`);
        expect(v.reasons).toContain("no new connection was tried after the VIP moved");
      });
    });
  });
}

labTeardown(run);
