/**
 * The kernel lab's KLVS topology, shared by klvs.lab.test.ts (KLVS-05/06) and
 * klvs-program.lab.test.ts (KLVS-01/02/03/04/07/08): network namespaces stand in for the hosts, and
 * two router namespaces run real keepalived (VRRP v3 unicast between them) whose virtual_server
 * blocks program the guest kernel's IPVS. keepalived stands in for ENM's KLVS router as the IPVS
 * programmer; it is not KLVS.
 *
 *   netns client 10.232.35.10 ─┐                       ┌─ netns be1 10.42.0.2 (ncat, answers "be1")
 *                     netns lan (bridge br0)   netns back (bridge br0) ─ netns be2 10.42.0.3 ("be2")
 *   netns router-1 10.232.35.41 / 10.42.0.41 (priority 150)  ┤           └ netns be3 10.42.0.4 ("be3", when asked for)
 *   netns router-2 10.232.35.31 / 10.42.0.31 (priority 100)  ┤
 *   VRRP instance 106 holds the VIP 10.232.35.199 (lan side) and the real servers' gateway 10.42.0.1.
 *
 * Also here: how a keepalived.conf's virtual_server blocks read as the KLVS oracles' desired input
 * (one EricIngress-shaped object and one Endpoints object per virtual_server), and keepalived's
 * processes read as the router-pod rows the KLVS-03 oracle compares across a change.
 */
import { z } from "zod";
import type { ExecResult } from "../exec/types.ts";
import type { KaVirtualServer, KeepalivedConf } from "../evidence/parsers/keepalived.ts";
import { EricIngressSchema, type EricIngress } from "../evidence/parsers/klvs-ingress.ts";
import { EndpointsSchema, type Endpoints, type PodRow } from "../evidence/parsers/kubectl-get.ts";

export const VIP = "10.232.35.199";
export const GW = "10.42.0.1";
export const ROUTERS = [
  { name: "router-1", lan: "10.232.35.41", back: "10.42.0.41", priority: 150 },
  { name: "router-2", lan: "10.232.35.31", back: "10.42.0.31", priority: 100 },
] as const;
export type Router = (typeof ROUTERS)[number];
export const BACKENDS = [
  { name: "be1", ip: "10.42.0.2" },
  { name: "be2", ip: "10.42.0.3" },
  { name: "be3", ip: "10.42.0.4" },
] as const;
export type Backend = (typeof BACKENDS)[number];

/** one keepalived virtual_server on the VIP: lb_kind NAT (IPVS Masq), protocol TCP, weight 1 each */
export interface VirtualServer {
  port: number;
  /** lb_algo: rr, sh, lc, … */
  scheduler: string;
  /** real servers (the backends' addresses) on `rsPort` (default: the same port) */
  realServers: readonly Backend[];
  rsPort?: number;
}

/** what klvs.lab.test.ts runs: :80 and :81, rr, NAT to be1/be2 */
export const PAIR_SERVICES: VirtualServer[] = [80, 81].map((port) => ({ port, scheduler: "rr", realServers: BACKENDS.slice(0, 2) }));

export function virtualServerBlock(vs: VirtualServer): string {
  return `virtual_server ${VIP} ${vs.port} {
    lb_algo ${vs.scheduler}
    lb_kind NAT
    protocol TCP
${vs.realServers.map((b) => `    real_server ${b.ip} ${vs.rsPort ?? vs.port} {\n        weight 1\n    }`).join("\n")}
}`;
}

/** a router's keepalived.conf: the VRRP instance (VIP and the real servers' gateway) and the virtual servers */
export function keepalivedConf(r: Router, services: readonly VirtualServer[]): string {
  const peer = ROUTERS.find((o) => o !== r)!;
  return `global_defs {
    router_id ${r.name}
    vrrp_version 3
}
vrrp_instance VI_1 {
    state BACKUP
    interface lan0
    virtual_router_id 106
    priority ${r.priority}
    advert_int 1
    unicast_src_ip ${r.lan}
    unicast_peer {
        ${peer.lan}
    }
    virtual_ipaddress {
        ${VIP}/32 dev lan0
        ${GW}/24 dev back0
    }
}
${services.map(virtualServerBlock).join("\n")}
`;
}

/**
 * The client, the two bridges and the backends (each answering its name on `ports`; `echoPort`, if
 * given, also echoes what it is sent, for an established connection to speak). IPVS modules loaded.
 */
export function networkScript(backends: readonly Backend[], ports: readonly number[], echoPort?: number): string {
  const listen = (b: Backend, p: number) =>
    `ip netns exec ${b.name} setsid ncat -l -k ${b.ip} ${p} --sh-exec '${p === echoPort ? `echo ${b.name}; cat` : `echo ${b.name}`}' </dev/null >/tmp/${b.name}-${p}.log 2>&1 &`;
  return `set -eu
modprobe ip_vs; modprobe ip_vs_rr; modprobe ip_vs_sh; modprobe ip_vs_lc
for n in lan back client ${backends.map((b) => b.name).join(" ")}; do ip netns add $n; ip -n $n link set lo up; done
for n in lan back; do ip -n $n link add br0 type bridge; ip -n $n link set br0 up; done
ip link add eth0 netns client type veth peer name p-client netns lan
ip -n lan link set p-client master br0 up
ip -n client addr add 10.232.35.10/24 dev eth0; ip -n client link set eth0 up
${backends.map((b) => `ip link add eth0 netns ${b.name} type veth peer name p-${b.name} netns back
ip -n back link set p-${b.name} master br0 up
ip -n ${b.name} addr add ${b.ip}/24 dev eth0; ip -n ${b.name} link set eth0 up; ip -n ${b.name} route add default via ${GW}
${ports.map((p) => listen(b, p)).join("\n")}`).join("\n")}
`;
}

/** where a router's keepalived.conf lives in the guest */
export const confPath = (r: Router) => `/etc/keepalived/${r.name}.conf`;

/** a router namespace wired to both bridges, with keepalived started in it (pid files of its own) */
export function routerUpScript(r: Router): string {
  return `set -eu
ip netns add ${r.name}; ip -n ${r.name} link set lo up
ip link add lan0 netns ${r.name} type veth peer name p-${r.name} netns lan
ip link add back0 netns ${r.name} type veth peer name p-${r.name} netns back
ip -n lan link set p-${r.name} master br0 up; ip -n back link set p-${r.name} master br0 up
ip -n ${r.name} addr add ${r.lan}/24 dev lan0; ip -n ${r.name} link set lan0 up
ip -n ${r.name} addr add ${r.back}/24 dev back0; ip -n ${r.name} link set back0 up
ip netns exec ${r.name} sysctl -qw net.ipv4.ip_forward=1
${keepalivedStartScript(r)}`;
}

/** start keepalived in the router's (existing) namespace, in the foreground of a setsid'd shell */
export function keepalivedStartScript(r: Router): string {
  return `mkdir -p /etc/keepalived /run/ka
ip netns exec ${r.name} setsid keepalived --dont-fork --log-console --log-detail -f ${confPath(r)} \\
  -p /run/ka/${r.name}.pid -r /run/ka/${r.name}-vrrp.pid -c /run/ka/${r.name}-checkers.pid </dev/null >>/tmp/keepalived-${r.name}.log 2>&1 &
`;
}

/** stop the router's keepalived (SIGTERM, then wait until its pid file is gone, bounded at 10 s) */
export function keepalivedStopScript(r: Router): string {
  return `kill $(cat /run/ka/${r.name}.pid) 2>/dev/null; for i in $(seq 1 40); do [ -e /run/ka/${r.name}.pid ] || break; sleep 0.25; done; [ ! -e /run/ka/${r.name}.pid ]`;
}

/** reload: SIGHUP to the keepalived parent (it re-reads its config and reprograms IPVS in place) */
export const keepalivedReloadScript = (r: Router) => `kill -HUP $(cat /run/ka/${r.name}.pid)`;

/** which routers hold the VIP right now */
export const HOLDERS = `for n in ${ROUTERS.map((r) => r.name).join(" ")}; do ip -n $n -o -4 addr show dev lan0 2>/dev/null | grep -q " ${VIP}/" && echo $n; done; true`;

/** what the KLVS helpers need of a lab machine */
export interface Shell {
  readonly where: string;
  sh(script: string, opts?: { allowFailure?: boolean; timeoutMs?: number }): Promise<ExecResult>;
  run(argv: string[], opts?: { input?: string; allowFailure?: boolean }): Promise<ExecResult>;
}

export async function writeConf(vm: Shell, r: Router, text: string): Promise<void> {
  await vm.run(["sh", "-c", `mkdir -p /etc/keepalived && cat > ${confPath(r)}`], { input: text });
}

/** poll (bounded in count and time) until `ok` holds for the guest's answer to `script` */
export async function until(vm: Shell, what: string, script: string, ok: (out: string) => boolean, timeoutMs = 90_000): Promise<string> {
  const t0 = Date.now();
  let last = "";
  for (let i = 0; i < 300 && Date.now() - t0 < timeoutMs; i++) {
    last = (await vm.sh(script, { allowFailure: true })).stdout;
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${vm.where}: ${what} not reached within ${timeoutMs} ms; last: ${last.trim() || "(nothing)"}`);
}

// ---- keepalived's virtual servers as the KLVS oracles' desired input

/** the object name a virtual_server is known by: its VIP, port and protocol ("vs-10-232-35-199-80-tcp") */
export function vsName(vs: Pick<KaVirtualServer, "address" | "port" | "protocol">): string {
  return `vs-${(vs.address ?? "").replace(/[.:]/g, "-")}-${vs.port}-${(vs.protocol ?? "TCP").toLowerCase()}`;
}

const MODE = { NAT: "nat", DR: "dr", TUN: "tun" } as const;

/**
 * A keepalived.conf's virtual_server blocks as what the KLVS oracles take for the resources: each
 * virtual_server is one EricIngress-shaped object (its VIP, port, protocol, lb_algo as algo and
 * lb_kind as mode, svcPort = its real servers' port) whose backend is an Endpoints object of the
 * same name listing its real servers' addresses. Both go through the project's zod schemas. Only
 * address/port virtual servers whose real servers share one port map; anything else is refused.
 */
export function keepalivedAsIngress(conf: KeepalivedConf): { ingresses: EricIngress[]; endpoints: Endpoints[] } {
  const ingresses: EricIngress[] = [];
  const endpoints: Endpoints[] = [];
  for (const vs of conf.virtualServers) {
    if (vs.address === undefined || vs.port === undefined) throw new Error(`virtual_server ${vs.fwmark !== undefined ? `fwmark ${vs.fwmark}` : `group ${vs.group}`} has no address and port: no ingress shape`);
    const name = vsName(vs);
    const ports = [...new Set(vs.realServers.map((r) => r.port ?? vs.port))];
    if (ports.length > 1) throw new Error(`${name}: real servers on several ports (${ports.join(", ")}): no single svcPort`);
    const svcPort = ports[0] ?? vs.port;
    ingresses.push(
      EricIngressSchema.parse({
        apiVersion: "routing.ericingress.ericsson.com/v1alpha1",
        kind: "EricIngress",
        metadata: { name },
        spec: {
          virtualServiceIP: vs.address,
          backends: {
            name,
            config: [{ portRange: { vipPortRange: { start: vs.port, end: vs.port }, svcPortRange: { start: svcPort, end: svcPort } }, protocol: (vs.protocol ?? "TCP").toLowerCase(), algo: vs.lbAlgo, mode: MODE[vs.lbKind ?? "NAT"] }],
          },
        },
      }),
    );
    endpoints.push(
      EndpointsSchema.parse({
        kind: "Endpoints",
        metadata: { name },
        subsets: vs.realServers.length ? [{ addresses: vs.realServers.map((r) => ({ ip: r.address })), ports: [{ port: svcPort, protocol: vs.protocol ?? "TCP" }] }] : [],
      }),
    );
  }
  return { ingresses, endpoints };
}

// ---- keepalived's processes as router-pod rows (KLVS-03's "no restart")

/**
 * The guest script whose output parseKeepalivedProcs reads: per router, keepalived's three
 * processes (parent, VRRP child, checker child, from their pid files) with PID, start time (clock
 * ticks after boot, /proc/PID/stat field 22) and state; "gone" when the process does not exist.
 */
export function keepalivedProcsScript(routers: readonly Router[] = ROUTERS): string {
  return routers
    .flatMap((r) =>
      (["parent", "vrrp", "checkers"] as const).map((role) => {
        const f = role === "parent" ? `/run/ka/${r.name}.pid` : `/run/ka/${r.name}-${role}.pid`;
        return `p=$(cat ${f} 2>/dev/null); s=$(cat /proc/$p/stat 2>/dev/null | sed 's/^.*) //'); if [ -n "$p" ] && [ -n "$s" ]; then set -- $s; echo "${r.name} ${role} $p \${20} $1"; else echo "${r.name} ${role} gone"; fi`;
      }),
    )
    .join("\n");
}

const ProcLine = z.union([
  z.object({ router: z.string().min(1), role: z.enum(["parent", "vrrp", "checkers"]), pid: z.coerce.number().int().positive(), startTicks: z.coerce.number().int().min(0), state: z.string().regex(/^[A-Za-z]$/) }).strict(),
  z.object({ router: z.string().min(1), role: z.enum(["parent", "vrrp", "checkers"]), gone: z.literal(true) }).strict(),
]);
export type KeepalivedProc = z.output<typeof ProcLine>;

/** "router-1 parent 612 1834 S" / "router-1 vrrp gone" lines (keepalivedProcsScript) */
export function parseKeepalivedProcs(text: string): KeepalivedProc[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const f = l.split(/\s+/);
      const o = f.length === 3 && f[2] === "gone" ? { router: f[0], role: f[1], gone: true } : f.length === 5 ? { router: f[0], role: f[1], pid: f[2], startTicks: f[3], state: f[4] } : undefined;
      const r = ProcLine.safeParse(o);
      if (!r.success) throw new Error(`keepalived process line "${l}": ${r.error.issues.map((i) => i.message).join("; ")}`);
      return r.data;
    });
}

/**
 * keepalived's processes as the KLVS-03 oracle's router-pod rows. A process has no restart
 * counter, so its identity is the name: "<router>-keepalived-<role>-<pid>-<start ticks>". A
 * restarted keepalived has new PIDs and start times, hence new names, and the oracle reports the old
 * rows gone and the new ones appeared. A process that is gone or a zombie is not ready; restarts is 0.
 */
export function procsAsRouterPods(procs: KeepalivedProc[]): PodRow[] {
  return procs.map((p) => {
    const alive = !("gone" in p) && p.state !== "Z";
    return {
      name: "gone" in p ? `${p.router}-keepalived-${p.role}-gone` : `${p.router}-keepalived-${p.role}-${p.pid}-${p.startTicks}`,
      readyContainers: alive ? 1 : 0,
      totalContainers: 1,
      ready: alive,
      status: alive ? "Running" : "gone" in p ? "Gone" : "Zombie",
      restarts: 0,
      age: "<unknown>",
      node: p.router,
    };
  });
}
