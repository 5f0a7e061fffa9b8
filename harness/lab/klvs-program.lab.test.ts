/**
 * KLVS-01, -02, -03, -04, -07 and -08 at depth D in the kernel lab, on each lab kernel, with
 * keepalived as the IPVS programmer. keepalived is not KLVS: it stands in for ENM's KLVS router
 * (which turns ingress custom resources into IPVS virtual services). Each keepalived virtual_server
 * is read as one ingress resource (klvs-topology.ts keepalivedAsIngress: an EricIngress-shaped object
 * and an Endpoints object of its real servers), so the KLVS oracles judge it unchanged. Network
 * namespaces stand in for the hosts (topology in klvs-topology.ts): two router namespaces with real
 * keepalived (VRRP pair) in front of be1/be2/be3; IPVS is the guest kernel's.
 *
 * What stands in for what:
 *  - "apply a resource" = write the virtual_server into both routers' keepalived.conf and SIGHUP
 *    keepalived (a reload: same processes, IPVS reprogrammed in place);
 *  - "the router pods did not restart" = keepalived's three processes per router (parent, VRRP,
 *    checkers) keep their PIDs and start times (procsAsRouterPods: identity in the row's name);
 *  - KLVS-07's "router restart" = keepalived restarted in the router namespace;
 *  - KLVS-08's router node = the router namespace: ipip loaded (tunl0 in every namespace), the
 *    namespace's own net.ipv4.vs.conntrack and nat POSTROUTING.
 *
 * Measured and asserted as the documented outcome: keepalived does not rebuild IPVS after
 * `ipvsadm -C`, nor after a reload (SIGHUP) that follows the flush, nor does a reload restore a
 * virtual service deleted behind its back with `ipvsadm -D`; a keepalived restart does.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { collectEvidence, withEvidence } from "../evidence/collector.ts";
import { parseIptablesSave } from "../evidence/parsers/iptables-save.ts";
import { type IpvsTable, parseIpvsadm } from "../evidence/parsers/ipvsadm.ts";
import { parseKeepalived } from "../evidence/parsers/keepalived.ts";
import type { EricIngress } from "../evidence/parsers/klvs-ingress.ts";
import type { Endpoints, PodRow } from "../evidence/parsers/kubectl-get.ts";
import { parseSysctl } from "../evidence/parsers/sysctl.ts";
import { klvs01, klvs02, klvs03, klvs04, klvs07, klvs08 } from "../oracles/klvs.ts";
import { formatVerdict, type Verdict } from "../oracles/verdict.ts";
import { attachJson, attachText, behaviour } from "../report/allure.ts";
import {
  BACKENDS, ROUTERS, VIP, type Router, type VirtualServer, confPath, keepalivedAsIngress, keepalivedConf, keepalivedProcsScript, keepalivedReloadScript,
  keepalivedStartScript, keepalivedStopScript, networkScript, parseKeepalivedProcs, procsAsRouterPods, routerUpScript, until, vsName, writeConf,
} from "./klvs-topology.ts";
import { type LabMachine, NetnsExecutor, attachConsole, stopMachine, labFile, labMachine, labRun, targetKernel, labTeardown } from "./lab.ts";

const lab = labFile(import.meta.filename);
const run = labRun("klvsprog");

const [BE1, BE2, BE3] = BACKENDS;
const TWO = [BE1, BE2] as const;
/** the routers' starting programming: rr, sh and lc, NAT (Masq) to be1/be2, TCP */
const BASE: VirtualServer[] = [
  { port: 80, scheduler: "rr", realServers: TWO },
  { port: 81, scheduler: "sh", realServers: TWO },
  { port: 82, scheduler: "lc", realServers: TWO },
];
/** KLVS-07: a rebuild must be complete within this (keepalived's restart rebuilds in about a second; TCG on a loaded machine adds seconds) */
const REBUILD_BOUND_MS = 15_000;
/** a reload's change must show in both tables within this */
const APPLY_BOUND_MS = 20_000;
const vsKey = (port: number) => `TCP ${VIP}:${port}`;
const ingressName = (port: number) => vsName({ address: VIP, port, protocol: "TCP" });
const MASQ_RULE = "-A POSTROUTING -o tunl0 -j MASQUERADE";

/** what a router's keepalived.conf (read back from the guest) asks of IPVS, as the oracles' input */
interface Desired {
  router: Router;
  text: string;
  ingresses: EricIngress[];
  endpoints: Endpoints[];
}

for (const { target, tag } of lab.targets) {
  describe(`${tag} KLVS-01/02/03/04/07/08 keepalived as the IPVS programmer in router namespaces (keepalived stands in for KLVS; namespaces stand in for client/routers/real servers)`, () => {
    let vm: LabMachine;
    const ns = (n: string) => new NetnsExecutor(vm, n);
    const timings: Record<string, number> = {};
    const evidence = () => collectEvidence({ targets: ROUTERS.map((r) => ({ executor: ns(r.name), role: "ipvs" })) });

    async function desired(r: Router): Promise<Desired> {
      const text = (await vm.run(["cat", confPath(r)])).stdout;
      return { router: r, text, ...keepalivedAsIngress(parseKeepalived(text)) };
    }
    async function table(r: Router, label?: string): Promise<IpvsTable> {
      const raw = (await ns(r.name).run(["ipvsadm", "-Ln"])).stdout;
      if (label) await attachText(`${r.name} ipvsadm -Ln (${label})`, raw);
      return parseIpvsadm(raw);
    }
    async function routerPods(label: string): Promise<PodRow[]> {
      const raw = (await vm.sh(keepalivedProcsScript())).stdout;
      await attachText(`keepalived processes (router, role, PID, start ticks, state): ${label}`, raw);
      return procsAsRouterPods(parseKeepalivedProcs(raw));
    }
    /** KLVS-01 on one router: its table against its own config */
    async function programmed(r: Router, label?: string): Promise<Verdict> {
      const d = await desired(r);
      return klvs01({ ingresses: d.ingresses, endpoints: d.endpoints, table: await table(r, label), node: r.name });
    }
    /** write `services` into the routers' configs (and reload, unless told not to) */
    async function configure(services: readonly VirtualServer[], opts: { reload: boolean; routers?: readonly Router[] } = { reload: true }): Promise<void> {
      for (const r of opts.routers ?? ROUTERS) {
        await writeConf(vm, r, keepalivedConf(r, services));
        if (opts.reload) await vm.sh(keepalivedReloadScript(r));
      }
    }
    /** bounded wait until both tables are what both configs ask for; returns the ms it took (host-side polling) */
    async function applied(what: string): Promise<number> {
      const t0 = Date.now();
      for (let i = 0; i < 60 && Date.now() - t0 < APPLY_BOUND_MS; i++) {
        const vs = await Promise.all(ROUTERS.map((r) => programmed(r)));
        if (vs.every((v) => v.ok)) return Date.now() - t0;
        await new Promise((res) => setTimeout(res, 300));
      }
      const last = await Promise.all(ROUTERS.map((r) => programmed(r)));
      throw new Error(`${what}: the tables are not what the configs ask for after ${APPLY_BOUND_MS} ms:\n${last.map(formatVerdict).join("\n")}`);
    }
    async function restartKeepalived(r: Router): Promise<void> {
      await vm.sh(`${keepalivedStopScript(r)}\n${keepalivedStartScript(r)}`);
    }
    /**
     * The starting state: BASE in both configs and tables, keepalived running. A reload fixes what
     * the configs changed; what was changed behind keepalived's back needs a restart (measured).
     */
    async function ensureBase(): Promise<void> {
      const want = ROUTERS.map((r) => keepalivedConf(r, BASE));
      const have = await Promise.all(ROUTERS.map((r) => desired(r).then((d) => d.text)));
      if (have.some((t, i) => t !== want[i])) await configure(BASE);
      const ok = await Promise.all(ROUTERS.map((r) => programmed(r)));
      const procs = parseKeepalivedProcs((await vm.sh(keepalivedProcsScript())).stdout);
      for (const [i, r] of ROUTERS.entries()) {
        if (!ok[i]!.ok || procs.some((p) => p.router === r.name && "gone" in p)) {
          // give a reload that is still being applied a second before deciding on a restart
          const raw = (await ns(r.name).sh("sleep 1; ipvsadm -Ln")).stdout;
          if (!klvs01({ ...keepalivedAsIngress(parseKeepalived(want[i]!)), table: parseIpvsadm(raw) }).ok) await restartKeepalived(r);
        }
      }
      await applied("the starting state");
    }
    /** a few connections from the client; the answers (backend names) in order */
    async function connect(port: number, n: number): Promise<string[]> {
      const out = (await ns("client").sh(`for i in $(seq 1 ${n}); do timeout 5 ncat --recv-only -w 3 ${VIP} ${port} </dev/null || echo FAILED; done`, { timeoutMs: 60_000 })).stdout;
      await attachText(`client: ${n} connection(s) to ${VIP}:${port}`, out);
      return out.trim().split("\n");
    }

    beforeAll(async () => {
      if (!lab.enabled) return;
      const t0 = Date.now();
      vm = await labMachine(run, target, "klvsp-");
      timings["boot to first command (ms)"] = vm.bootMs;
      await vm.sh(networkScript(BACKENDS, [80, 81, 82]));
      for (const r of ROUTERS) {
        await writeConf(vm, r, keepalivedConf(r, BASE));
        await vm.sh(routerUpScript(r));
      }
      await until(vm, "the VIP on router-1", `ip -n router-1 -o -4 addr show dev lan0`, (o) => o.includes(` ${VIP}/`));
      await applied("keepalived's first programming");
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

    it(`${tag} KLVS-01 passes (keepalived as the IPVS programmer): the config's rr, sh and lc virtual services with Masq real servers are in ipvsadm -Ln on both routers, and traffic follows them (namespaces stand in for client/routers/real servers)`, async () => {
      await behaviour("KLVS-01", "D");
      await withEvidence("KLVS-01 pass case", evidence, async () => {
        const uname = await vm.run(["uname", "-r"]);
        expect(uname.stdout.trim()).toBe(targetKernel(target).version);
        for (const r of ROUTERS) {
          const d = await desired(r);
          await attachText(`${r.name} keepalived.conf`, d.text);
          await attachJson(`${r.name} keepalived.conf as the oracle's input`, { ingresses: d.ingresses, endpoints: d.endpoints });
          const v = await programmed(r, "as programmed");
          await attachJson(`KLVS-01 verdict ${r.name}`, v);
          expect(v.ok, formatVerdict(v)).toBe(true);
          expect(v.reasons).toEqual([
            `${vsKey(80)} on ${r.name}: rr, 2 real server(s) Masq weight 1`,
            `${vsKey(81)} on ${r.name}: sh, 2 real server(s) Masq weight 1`,
            `${vsKey(82)} on ${r.name}: lc, 2 real server(s) Masq weight 1`,
          ]);
        }
        // the programming is effective: rr alternates, sh keeps one client on one backend, lc answers
        expect((await connect(80, 4)).sort()).toEqual(["be1", "be1", "be2", "be2"]);
        const sh = await connect(81, 3);
        expect(new Set(sh).size, `sh sent one client to ${sh.join(", ")}`).toBe(1);
        expect(["be1", "be2"]).toContain(sh[0]);
        expect(["be1", "be2"]).toContain((await connect(82, 1))[0]);
      });
    });

    it(`${tag} KLVS-01 negative control (keepalived as the IPVS programmer): a virtual service deleted behind keepalived's back with ipvsadm -D is named, a reload does not restore it, a keepalived restart does (namespaces stand in for client/routers/real servers)`, async () => {
      await behaviour("KLVS-01", "D");
      await withEvidence("KLVS-01 negative control", evidence, async () => {
        await ensureBase();
        const r1 = ROUTERS[0];
        await ns(r1.name).run(["ipvsadm", "-D", "-t", `${VIP}:82`]);
        const missing = [`missing virtual service ${vsKey(82)} (lc, EricIngress/${ingressName(82)}) on ${r1.name}`];
        const v = await programmed(r1, "after ipvsadm -D");
        await attachJson("KLVS-01 verdict (deleted behind keepalived's back)", v);
        expect(v.ok).toBe(false);
        expect(v.reasons).toEqual(missing);
        // a reload (SIGHUP) does not put it back: keepalived believes it is still programmed
        await vm.sh(`${keepalivedReloadScript(r1)}; sleep 5`);
        const afterReload = await programmed(r1, "5 s after a reload");
        await attachJson("KLVS-01 verdict (5 s after a reload)", afterReload);
        expect(afterReload.ok).toBe(false);
        expect(afterReload.reasons).toEqual(missing);
        // restored by restarting keepalived; then the pass again
        await restartKeepalived(r1);
        timings["KLVS-01 restore by restart (ms)"] = await applied("the restart after ipvsadm -D");
        const again = await programmed(r1, "after a keepalived restart");
        expect(again.ok, formatVerdict(again)).toBe(true);
      });
    });

    /** the KLVS-02 verdict per router: `deleted` gone from before to after, the rest untouched */
    async function deletion(before: Map<string, IpvsTable>, beforeConf: Map<string, Desired>, deletedPort: number, label: string): Promise<Verdict[]> {
      const out: Verdict[] = [];
      for (const r of ROUTERS) {
        const prev = beforeConf.get(r.name)!;
        const now = await desired(r);
        const deleted = prev.ingresses.find((i) => i.metadata.name === ingressName(deletedPort))!;
        const v = klvs02({ before: before.get(r.name)!, after: await table(r, label), deleted, remaining: now.ingresses });
        await attachJson(`KLVS-02 verdict ${r.name} (${label})`, v);
        out.push(v);
      }
      return out;
    }
    async function snapshot(label: string): Promise<{ tables: Map<string, IpvsTable>; confs: Map<string, Desired> }> {
      const tables = new Map<string, IpvsTable>();
      const confs = new Map<string, Desired>();
      for (const r of ROUTERS) {
        tables.set(r.name, await table(r, label));
        confs.set(r.name, await desired(r));
      }
      return { tables, confs };
    }

    it(`${tag} KLVS-02 passes (keepalived as the IPVS programmer): a virtual_server removed from the config and reloaded disappears from both routers, the others untouched (namespaces stand in for client/routers/real servers)`, async () => {
      await behaviour("KLVS-02", "D");
      await withEvidence("KLVS-02 pass case", evidence, async () => {
        await ensureBase();
        const before = await snapshot("before the removal");
        await configure(BASE.filter((s) => s.port !== 82));
        timings["KLVS-02 removal applied by reload (ms)"] = await applied("the removal of :82");
        for (const [i, v] of (await deletion(before.tables, before.confs, 82, "after the removal and reload")).entries()) {
          expect(v.ok, formatVerdict(v)).toBe(true);
          expect(v.reasons, ROUTERS[i]!.name).toEqual([`${vsKey(82)} of deleted EricIngress/${ingressName(82)} removed`, "every other virtual service on the CRs' VIPs unchanged (2)"]);
        }
      });
    });

    it(`${tag} KLVS-02 negative control (keepalived as the IPVS programmer): a removed virtual_server that stays (config not reloaded) is named, and so are the wrong one removed and the right one left (namespaces stand in for client/routers/real servers)`, async () => {
      await behaviour("KLVS-02", "D");
      await withEvidence("KLVS-02 negative control", evidence, async () => {
        await ensureBase();
        const before = await snapshot("before the removal");
        const stays = `${vsKey(82)} of deleted EricIngress/${ingressName(82)} is still programmed`;
        // (a) :82 removed from the configs, keepalived not told
        await configure(BASE.filter((s) => s.port !== 82), { reload: false });
        await vm.sh("sleep 3");
        for (const v of await deletion(before.tables, before.confs, 82, "config without :82, not reloaded")) {
          expect(v.ok).toBe(false);
          expect(v.reasons).toEqual([stays]);
        }
        // (b) :81 removed instead of :82 and reloaded, judged as the deletion of :82
        await configure(BASE.filter((s) => s.port !== 81));
        await applied("the removal of :81");
        for (const r of ROUTERS) {
          const prev = before.confs.get(r.name)!;
          const v = klvs02({ before: before.tables.get(r.name)!, after: await table(r, "the wrong one removed"), deleted: prev.ingresses.find((i) => i.metadata.name === ingressName(82))!, remaining: prev.ingresses.filter((i) => i.metadata.name !== ingressName(82)) });
          await attachJson(`KLVS-02 verdict ${r.name} (:81 removed instead of :82)`, v);
          expect(v.ok).toBe(false);
          expect(v.reasons).toEqual([stays, `not part of EricIngress/${ingressName(82)}: ${vsKey(81)} (sh) is on before but not on after`]);
        }
        // restored, then the pass again
        await configure(BASE);
        await applied("the configs restored");
        const again = await snapshot("restored");
        await configure(BASE.filter((s) => s.port !== 82));
        await applied("the removal of :82");
        for (const v of await deletion(again.tables, again.confs, 82, "after the removal and reload")) expect(v.ok, formatVerdict(v)).toBe(true);
      });
    });

    /** one edit of one virtual_server (by its port before and after), judged by KLVS-03 on each router */
    async function edit(fromPort: number, toPort: number, services: readonly VirtualServer[], how: "reload" | "restart" | "not applied", label: string): Promise<Verdict[]> {
      const before = await snapshot(`before: ${label}`);
      const podsBefore = await routerPods(`before: ${label}`);
      await configure(services, { reload: how === "reload" });
      if (how === "restart") for (const r of ROUTERS) await restartKeepalived(r);
      if (how !== "not applied") timings[`KLVS-03 ${label} applied by ${how} (ms)`] = await applied(label);
      else await vm.sh("sleep 3");
      const podsAfter = await routerPods(`after: ${label}`);
      const out: Verdict[] = [];
      for (const r of ROUTERS) {
        const prev = before.confs.get(r.name)!;
        const now = await desired(r);
        const edited = now.ingresses.find((i) => i.metadata.name === ingressName(toPort))!;
        const byName = new Map([...prev.endpoints, ...now.endpoints].map((e) => [e.metadata.name, e]));
        const v = klvs03({
          previous: prev.ingresses.find((i) => i.metadata.name === ingressName(fromPort))!,
          edited,
          others: now.ingresses.filter((i) => i !== edited),
          endpoints: [...byName.values()],
          before: before.tables.get(r.name)!,
          after: await table(r, `after: ${label}`),
          // each router judged with its own keepalived's processes
          routerPodsBefore: podsBefore.filter((p) => p.node === r.name),
          routerPodsAfter: podsAfter.filter((p) => p.node === r.name),
        });
        await attachJson(`KLVS-03 verdict ${r.name} (${label})`, v);
        out.push(v);
      }
      return out;
    }
    const procLines = (pods: PodRow[]) => pods.map((p) => p.name);

    it(`${tag} KLVS-03 passes (keepalived as the IPVS programmer): a scheduler edit (lc → rr) and a port and scheduler edit (:80 rr → :8080 sh) are applied by a reload, keepalived's PIDs unchanged (namespaces stand in for client/routers/real servers)`, async () => {
      await behaviour("KLVS-03", "D");
      await withEvidence("KLVS-03 pass case", evidence, async () => {
        await ensureBase();
        const sched = BASE.map((s) => (s.port === 82 ? { ...s, scheduler: "rr" } : s));
        for (const [i, v] of (await edit(82, 82, sched, "reload", "scheduler of :82 lc → rr")).entries()) {
          expect(v.ok, formatVerdict(v)).toBe(true);
          expect(v.reasons.slice(0, 2)).toEqual([`edit: - ${vsKey(82)} lc → 82`, `edit: + ${vsKey(82)} rr → 82`]);
          expect(v.reasons.filter((x) => x.startsWith("router pod ")), ROUTERS[i]!.name).toHaveLength(3);
        }
        const port = sched.map((s) => (s.port === 80 ? { ...s, port: 8080, rsPort: 80, scheduler: "sh" } : s));
        for (const v of await edit(80, 8080, port, "reload", ":80 rr → :8080 sh")) {
          expect(v.ok, formatVerdict(v)).toBe(true);
          expect(v.reasons.slice(0, 2)).toEqual([`edit: - ${vsKey(80)} rr → 80`, `edit: + ${vsKey(8080)} sh → 80`]);
        }
        const answers = await connect(8080, 2);
        expect(["be1", "be2"]).toContain(answers[0]);
        expect(answers[1], "sh: the same backend again").toBe(answers[0]);
      });
    });

    it(`${tag} KLVS-03 negative control (keepalived as the IPVS programmer): an edit not reloaded is named (scheduler still the old one), an edit applied by restarting keepalived is named as recreated router processes (namespaces stand in for client/routers/real servers)`, async () => {
      await behaviour("KLVS-03", "D");
      await withEvidence("KLVS-03 negative control", evidence, async () => {
        await ensureBase();
        const lc = BASE.map((s) => (s.port === 81 ? { ...s, scheduler: "lc" } : s));
        for (const v of await edit(81, 81, lc, "not applied", "scheduler of :81 sh → lc, not reloaded")) {
          expect(v.ok).toBe(false);
          expect(v.reasons).toEqual([`${vsKey(81)}: scheduler sh, want lc (EricIngress/${ingressName(81)})`]);
        }
        // the configs back to what keepalived runs (it was never reloaded), so the restart is the edit
        await configure(BASE, { reload: false });
        const podsBefore = await routerPods("before the restart");
        const verdicts = await edit(81, 81, lc, "restart", "scheduler of :81 sh → lc, by restarting keepalived");
        const podsAfter = await routerPods("after the restart");
        for (const [i, v] of verdicts.entries()) {
          const r = ROUTERS[i]!.name;
          expect(v.ok).toBe(false);
          expect(v.reasons).toEqual([
            ...procLines(podsBefore.filter((p) => p.node === r)).map((n) => `router pod ${n} is gone after the change (recreated?)`),
            ...procLines(podsAfter.filter((p) => p.node === r)).map((n) => `router pod ${n} appeared during the change (recreated?)`),
          ]);
        }
        // the pass again: the next edit by a reload
        for (const v of await edit(81, 81, BASE, "reload", "scheduler of :81 lc → sh")) expect(v.ok, formatVerdict(v)).toBe(true);
      });
    });

    /** KLVS-04 per router: the configs' real servers before (as given) against the table now */
    async function scaling(before: Map<string, Desired>, label: string): Promise<Verdict[]> {
      const out: Verdict[] = [];
      for (const r of ROUTERS) {
        const now = await desired(r);
        const v = klvs04({ ingresses: now.ingresses, endpointsBefore: before.get(r.name)!.endpoints, endpointsAfter: now.endpoints, after: await table(r, label) });
        await attachJson(`KLVS-04 verdict ${r.name} (${label})`, v);
        out.push(v);
      }
      return out;
    }
    const withRs = (rs: VirtualServer["realServers"]) => BASE.map((s) => (s.port === 80 ? { ...s, realServers: rs } : s));

    it(`${tag} KLVS-04 passes (keepalived as the IPVS programmer): a real server added to :80 (be3) and one removed (be1), each by config and reload, show in both tables and in rr's answers (namespaces stand in for client/routers/real servers)`, async () => {
      await behaviour("KLVS-04", "D");
      await withEvidence("KLVS-04 pass case", evidence, async () => {
        await ensureBase();
        let before = (await snapshot("before adding be3")).confs;
        await configure(withRs([BE1, BE2, BE3]));
        timings["KLVS-04 real server added by reload (ms)"] = await applied("be3 added");
        for (const v of await scaling(before, "be3 added")) {
          expect(v.ok, formatVerdict(v)).toBe(true);
          expect(v.reasons).toContain(`${vsKey(80)}: rr, 3 real server(s) Masq weight 1`);
          expect(v.measurements).toEqual({ realServersBefore: 6, realServersAfter: 7 });
        }
        expect((await connect(80, 6)).sort()).toEqual(["be1", "be1", "be2", "be2", "be3", "be3"]);
        before = (await snapshot("before removing be1")).confs;
        await configure(withRs([BE2, BE3]));
        timings["KLVS-04 real server removed by reload (ms)"] = await applied("be1 removed");
        for (const v of await scaling(before, "be1 removed")) {
          expect(v.ok, formatVerdict(v)).toBe(true);
          expect(v.measurements).toEqual({ realServersBefore: 7, realServersAfter: 6 });
        }
        expect((await connect(80, 4)).sort()).toEqual(["be2", "be2", "be3", "be3"]);
      });
    });

    it(`${tag} KLVS-04 negative control (keepalived as the IPVS programmer): a real server added to the config but not reloaded is named as missing from the table (namespaces stand in for client/routers/real servers)`, async () => {
      await behaviour("KLVS-04", "D");
      await withEvidence("KLVS-04 negative control", evidence, async () => {
        await ensureBase();
        const before = (await snapshot("before adding be3")).confs;
        await configure(withRs([BE1, BE2, BE3]), { reload: false });
        await vm.sh("sleep 3");
        for (const v of await scaling(before, "be3 in the config, not reloaded")) {
          expect(v.ok).toBe(false);
          expect(v.reasons).toEqual([`${vsKey(80)}: missing real server ${BE3.ip}:80`]);
        }
        for (const r of ROUTERS) await vm.sh(keepalivedReloadScript(r));
        await applied("be3 added");
        for (const v of await scaling(before, "be3 added, reloaded")) expect(v.ok, formatVerdict(v)).toBe(true);
      });
    });

    /**
     * Flush router-1's table with ipvsadm -C and watch it for REBUILD_BOUND_MS (in the guest, every
     * 0.5 s: "t <ms> <virtual services>"); `then` runs right after the flush ("" for nothing).
     * "rebuilt <ms>" when the table (without counters) is again what it was.
     */
    async function flushAndWatch(then: string, label: string): Promise<{ before: IpvsTable; flushed: IpvsTable; after: IpvsTable; rebuiltAfterMs?: number }> {
      const r = ROUTERS[0];
      const before = await table(r, `before ${label}`);
      const T = `ip netns exec ${r.name} ipvsadm -Ln`;
      const shape = `awk '{print $1, $2, $3, $4}'`;
      const out = (
        await vm.sh(
          `now() { echo $(( $(date +%s%N) / 1000000 - T0 )); }
${T} | ${shape} >/tmp/ipvs-before
T0=$(( $(date +%s%N) / 1000000 )); ip netns exec ${r.name} ipvsadm -C; ${T} >/tmp/ipvs-flushed
${then}
i=0; while [ $i -lt 200 ] && [ $(now) -lt ${REBUILD_BOUND_MS} ]; do
  ${T} >/tmp/ipvs-now; echo "t $(now) $(grep -c '^TCP' /tmp/ipvs-now)"
  if ${shape} /tmp/ipvs-now | cmp -s - /tmp/ipvs-before; then echo "rebuilt $(now)"; break; fi
  sleep 0.5; i=$((i+1))
done
echo "--- flushed"; cat /tmp/ipvs-flushed`,
          { timeoutMs: REBUILD_BOUND_MS + 60_000 },
        )
      ).stdout;
      await attachText(`${label}: router-1's table sampled after ipvsadm -C (guest clock, ms)`, out);
      const rebuilt = /^rebuilt (\d+)$/m.exec(out);
      return { before, flushed: parseIpvsadm(out.split("--- flushed\n")[1]!), after: await table(r, `after ${label}`), ...(rebuilt ? { rebuiltAfterMs: Number(rebuilt[1]) } : {}) };
    }
    const notRebuilt = BASE.map((s) => `not rebuilt: ${vsKey(s.port)} (${s.scheduler}) is on before but not on after`);

    it(`${tag} keepalived does not rebuild after ipvsadm -C: KLVS-07 fails as expected, and still fails after a reload (keepalived as the IPVS programmer; namespaces stand in for client/routers/real servers)`, async () => {
      await behaviour("KLVS-07", "D");
      await withEvidence("KLVS-07 expected failure", evidence, async () => {
        await ensureBase();
        const f = await flushAndWatch("", "ipvsadm -C alone");
        const v = klvs07({ before: f.before, flushed: f.flushed, after: f.after, boundMs: REBUILD_BOUND_MS });
        await attachJson("KLVS-07 verdict (ipvsadm -C, keepalived left alone)", v);
        expect(f.rebuiltAfterMs, "keepalived rebuilt the table on its own").toBeUndefined();
        expect(f.flushed.services).toEqual([]);
        expect(v.ok).toBe(false);
        expect(v.reasons).toEqual(notRebuilt);
        // its positive direction, measured: a reload right after the flush does not restore either
        await ensureBase();
        const g = await flushAndWatch(keepalivedReloadScript(ROUTERS[0]), "ipvsadm -C, then a reload (SIGHUP)");
        const w = klvs07({ before: g.before, flushed: g.flushed, after: g.after, boundMs: REBUILD_BOUND_MS });
        await attachJson("KLVS-07 verdict (ipvsadm -C, then a reload)", w);
        expect(g.rebuiltAfterMs, "a reload rebuilt the table").toBeUndefined();
        expect(w.ok).toBe(false);
        expect(w.reasons).toEqual(notRebuilt);
      });
    });

    it(`${tag} KLVS-07 passes for a router restart (keepalived as the IPVS programmer): keepalived restarted after ipvsadm -C rebuilds the table within ${REBUILD_BOUND_MS / 1000} s (namespaces stand in for client/routers/real servers)`, async () => {
      await behaviour("KLVS-07", "D");
      await withEvidence("KLVS-07 pass case (restart)", evidence, async () => {
        await ensureBase();
        const f = await flushAndWatch(`${keepalivedStopScript(ROUTERS[0])}\n${keepalivedStartScript(ROUTERS[0])}`, "ipvsadm -C, then keepalived restarted");
        const v = klvs07({ before: f.before, flushed: f.flushed, after: f.after, boundMs: REBUILD_BOUND_MS, ...(f.rebuiltAfterMs !== undefined ? { rebuiltAfterMs: f.rebuiltAfterMs } : {}) });
        await attachJson("KLVS-07 verdict (restart after the flush)", v);
        expect(v.ok, formatVerdict(v)).toBe(true);
        expect(v.reasons).toEqual([`all ${BASE.length} virtual services rebuilt with their real servers`]);
        timings["KLVS-07 rebuilt after flush + restart (ms)"] = f.rebuiltAfterMs!;
      });
    });

    /** KLVS-08 per router namespace: iptables-save and the sysctl, read back */
    async function routerSettings(label: string): Promise<Verdict[]> {
      const out: Verdict[] = [];
      for (const r of ROUTERS) {
        const ipt = (await ns(r.name).run(["iptables-save"])).stdout;
        const sc = (await ns(r.name).run(["sysctl", "net.ipv4.vs.conntrack"])).stdout;
        await attachText(`${r.name} iptables-save (${label})`, ipt);
        await attachText(`${r.name} sysctl net.ipv4.vs.conntrack (${label})`, sc);
        const v = klvs08({ node: r.name, iptables: parseIptablesSave(ipt), sysctl: parseSysctl(sc) });
        await attachJson(`KLVS-08 verdict ${r.name} (${label})`, v);
        out.push(v);
      }
      return out;
    }
    const settle08 = (r: Router) => `ip netns exec ${r.name} sysctl -qw net.ipv4.vs.conntrack=1; ip netns exec ${r.name} iptables -t nat -C POSTROUTING -o tunl0 -j MASQUERADE 2>/dev/null || ip netns exec ${r.name} iptables -t nat -A POSTROUTING -o tunl0 -j MASQUERADE`;

    it(`${tag} KLVS-08 passes: net.ipv4.vs.conntrack=1 and "${MASQ_RULE}" set in both router namespaces (ipip loaded for tunl0) and read back with sysctl and iptables-save (namespaces stand in for the router nodes)`, async () => {
      await behaviour("KLVS-08", "D");
      await withEvidence("KLVS-08 pass case", evidence, async () => {
        // /sys/module and a link dump do not load ipip (`ip link show tunl0` would: netdev-tunl0 is its alias)
        const pre = (await vm.sh(`[ -d /sys/module/ipip ] && echo "ipip loaded" || echo "ipip not loaded"; for r in ${ROUTERS.map((r) => r.name).join(" ")}; do echo "$r: $(ip -n $r -o link show | grep -c ' tunl0@') tunl0; $(ip netns exec $r sysctl net.ipv4.vs.conntrack)"; done`)).stdout;
        await vm.sh("modprobe ipip");
        const post = (await vm.sh(`for r in ${ROUTERS.map((r) => r.name).join(" ")}; do ip -n $r -o -d link show tunl0; done`)).stdout;
        await attachText("before and after modprobe ipip", `${pre}--- after modprobe ipip\n${post}`);
        for (const r of ROUTERS) expect(post, `tunl0 in ${r.name}`).toMatch(/tunl0@NONE: .* ipip any remote any local any/);
        for (const r of ROUTERS) await vm.sh(settle08(r));
        for (const [i, v] of (await routerSettings("set")).entries()) {
          const r = ROUTERS[i]!.name;
          expect(v.ok, formatVerdict(v)).toBe(true);
          expect(v.reasons).toEqual([expect.stringMatching(new RegExp(`^${r}: nat has "${MASQ_RULE}" \\(line \\d+\\)$`)), `${r}: net.ipv4.vs.conntrack = 1`]);
        }
      });
    });

    it(`${tag} KLVS-08 negative control: net.ipv4.vs.conntrack=0, then the tunl0 MASQUERADE rule replaced by a source-restricted one, are each named on the router (namespaces stand in for the router nodes)`, async () => {
      await behaviour("KLVS-08", "D");
      await withEvidence("KLVS-08 negative control", evidence, async () => {
        const r1 = ROUTERS[0];
        for (const r of ROUTERS) await vm.sh(`modprobe ipip; ${settle08(r)}`);
        await ns(r1.name).run(["sysctl", "-qw", "net.ipv4.vs.conntrack=0"]);
        let v = await routerSettings("router-1 conntrack=0");
        expect(v[0]!.ok).toBe(false);
        expect(v[0]!.reasons).toEqual([`${r1.name}: net.ipv4.vs.conntrack = 0, want 1`]);
        expect(v[1]!.ok, formatVerdict(v[1]!)).toBe(true);
        await ns(r1.name).run(["sysctl", "-qw", "net.ipv4.vs.conntrack=1"]);
        await ns(r1.name).sh("iptables -t nat -D POSTROUTING -o tunl0 -j MASQUERADE && iptables -t nat -A POSTROUTING -s 10.42.0.0/24 -o tunl0 -j MASQUERADE");
        v = await routerSettings("router-1 MASQUERADE restricted to 10.42.0.0/24");
        expect(v[0]!.ok).toBe(false);
        expect(v[0]!.reasons).toEqual([`${r1.name}: nat POSTROUTING lacks "${MASQ_RULE}" (its MASQUERADE rules: -A POSTROUTING -s 10.42.0.0/24 -o tunl0 -j MASQUERADE)`]);
        await ns(r1.name).sh("iptables -t nat -D POSTROUTING -s 10.42.0.0/24 -o tunl0 -j MASQUERADE");
        v = await routerSettings("router-1 without any MASQUERADE");
        expect(v[0]!.reasons).toEqual([`${r1.name}: nat POSTROUTING lacks "${MASQ_RULE}"`]);
        await vm.sh(settle08(r1));
        v = await routerSettings("restored");
        for (const x of v) expect(x.ok, formatVerdict(x)).toBe(true);
        await attachJson("timings (this kernel, so far)", timings);
      });
    });
  });
}

labTeardown(run);
