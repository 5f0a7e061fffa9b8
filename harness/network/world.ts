import {
  type ContainerAction,
  connectNetwork,
  createNetwork,
  dockerode,
  disconnectNetwork,
  containerAction,
  inspectContainer,
  inspectNetwork,
  removeContainer,
  removeNetwork,
  runContainer,
} from "../adapters/docker.ts";
import { ContainerExecutor } from "../exec/host.ts";
import type { Executor } from "../exec/types.ts";
import { ensureImage } from "../images/forge-lib.ts";
import type { Run } from "../run.ts";
import { type FrrSpec, renderFrrConf, renderFrrDaemons } from "./frr.ts";

/**
 * The external world around a cluster (the BGP/BFD lab): extra docker networks with chosen subnets,
 * external hosts (client, next-hop router on two networks, FRR peers, IPsec peers), static routes.
 * Everything is labelled with the run and removed by the run's teardown.
 */
export interface Net { name: string; subnet: string; gateway: string }
export interface Host {
  name: string;
  /** network name → IPv4 address */
  ips: Record<string, string>;
  exec: Executor;
}
export interface HostSpec {
  name: string;
  role: "client" | "router" | "frr" | "ipsec" | "node-like" | "server";
  networks: Array<{ network: string; ip?: string }>;
  /** privileged by default: hosts change routes, sysctls and netfilter */
  privileged?: boolean;
  sysctls?: Record<string, string>;
}

/** PID 1 of a world host: waits, and exits at once on SIGTERM so `docker stop` is quick. */
const IDLE = ["/bin/sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"];

export class World {
  readonly run: Run;
  readonly prefix: string;
  constructor(run: Run, o: { prefix?: string } = {}) {
    this.run = run;
    this.prefix = o.prefix ?? `${run.id}-`;
  }

  async network(name: string, subnet?: string, gateway?: string): Promise<Net> {
    const full = `${this.prefix}${name}`;
    if (await inspectNetwork(full)) throw new Error(`world: docker network ${full} already exists (left by another run? see npm run clean)`);
    const n = await createNetwork({ name: full, ...(subnet ? { subnet } : {}), ...(gateway ? { gateway } : {}), labels: this.run.labels("network") });
    this.run.defer(`network ${full}`, () => removeNetwork(full));
    return { name: full, subnet: n.subnet, gateway: n.gateway };
  }

  async host(s: HostSpec): Promise<Host> {
    const image = await ensureImage("toolbox");
    const name = `${this.prefix}${s.name}`;
    const [first, ...more] = s.networks;
    const sysctls = { ...(s.role === "router" ? { "net.ipv4.ip_forward": "1" } : {}), ...(s.sysctls ?? {}) };
    await runContainer({
      name,
      image,
      hostname: s.name,
      labels: this.run.labels(s.role),
      cmd: IDLE,
      privileged: s.privileged ?? true,
      sysctls,
      ...(first ? { network: { name: first.network, ...(first.ip ? { ip: first.ip } : {}) } } : {}),
    });
    this.run.defer(`container ${name}`, () => removeContainer(name));
    for (const n of more) await connectNetwork(name, n.network, n.ip);
    const info = await inspectContainer(name);
    if (!info) throw new Error(`world: container ${name} vanished after start`);
    return { name, ips: info.ips, exec: new ContainerExecutor(name) };
  }

  /** A router on two or more networks, forwarding between them (the BGP/BFD lab's next-hop-router). */
  router(name: string, networks: HostSpec["networks"]): Promise<Host> {
    return this.host({ name, role: "router", networks });
  }

  /**
   * An FRR peer: bgpd and bfdd running with the given configuration; vtysh answers when this returns.
   * `forward`: the peer also routes (clients behind it reach what it learned by BGP).
   */
  async frr(name: string, networks: HostSpec["networks"], spec: FrrSpec, o: { forward?: boolean } = {}): Promise<Host> {
    const h = await this.host({ name, role: "frr", networks, ...(o.forward ? { sysctls: { "net.ipv4.ip_forward": "1" } } : {}) });
    await h.exec.run(["sh", "-c", "cat > /etc/frr/daemons"], { input: renderFrrDaemons() });
    await h.exec.run(["sh", "-c", "cat > /etc/frr/frr.conf"], { input: renderFrrConf(spec) });
    await h.exec.run(["/usr/lib/frr/frrinit.sh", "start"], { timeoutMs: 60_000 });
    await waitUntil(`vtysh on ${h.name}`, async () => (await h.exec.run(["vtysh", "-c", "show bgp summary json"], { allowFailure: true })).exitCode === 0, 30_000);
    return h;
  }
}

/**
 * `count` IPv4 /24 subnets inside `within` (default 10.251.0.0/16: docker and kind allocate their own
 * networks from 172.16/12 and 192.168/16, never from there) that no docker network uses, so
 * tests choose their addresses without colliding with other networks on the machine. Picks at random
 * among the free ones to keep concurrent runs apart.
 */
export async function freeSubnets(count: number, within = "10.251.0.0/16"): Promise<string[]> {
  const nets = await (await dockerode()).listNetworks();
  const used = nets.flatMap((n) => (n.IPAM?.Config ?? []).map((c) => c.Subnet ?? "")).filter((s) => /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(s));
  const toInt = (ip: string) => ip.split(".").reduce((a, o) => a * 256 + Number(o), 0);
  const range = (cidr: string): [number, number] => {
    const [ip, len] = cidr.split("/");
    const size = 2 ** (32 - Number(len));
    const start = toInt(ip!) - (toInt(ip!) % size);
    return [start, start + size - 1];
  };
  const [lo, hi] = range(within);
  const taken = used.map(range);
  const free: string[] = [];
  for (let s = lo; s + 255 <= hi; s += 256) if (!taken.some(([a, b]) => s <= b && a <= s + 255)) free.push(`${[Math.floor(s / 2 ** 24), Math.floor(s / 2 ** 16) % 256, Math.floor(s / 256) % 256, 0].join(".")}/24`);
  if (free.length < count) throw new Error(`freeSubnets: only ${free.length} free /24 in ${within}`);
  const start = Math.floor(Math.random() * (free.length - count + 1));
  return free.slice(start, start + count);
}

/** Replace a static route on a host: `dst` via `via` (the BGP/BFD lab "Configuring static routes"). */
export async function addRoute(h: Host, dst: string, via: string): Promise<void> {
  await h.exec.run(["ip", "route", "replace", dst, "via", via]);
}

export type NodeFault = "stop" | "kill" | "pause" | "disconnect";

/** Inject a fault into a node container (a kind node or a node-like host); returns how to undo it. */
export async function injectFault(container: string, fault: NodeFault, network?: string): Promise<() => Promise<void>> {
  const undo: Record<NodeFault, ContainerAction | "connect"> = { stop: "start", kill: "start", pause: "unpause", disconnect: "connect" };
  if (fault === "disconnect") {
    if (!network) throw new Error("injectFault: disconnect needs the network to disconnect from");
    const ip = (await inspectContainer(container))?.ips[network];
    await disconnectNetwork(container, network);
    return () => connectNetwork(container, network, ip);
  }
  await containerAction(container, fault);
  const back = undo[fault] as ContainerAction;
  return () => containerAction(container, back);
}

export async function waitUntil(what: string, probe: () => Promise<boolean>, timeoutMs: number, everyMs = 250): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (await probe()) return Date.now() - t0;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
