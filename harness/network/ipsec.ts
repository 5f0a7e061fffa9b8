/**
 * strongSwan IKEv2 peers in world hosts (toolbox containers), route-based over kernel-libipsec:
 * ESP is done in user space by charon and the tunnel is the `ipsec0` TUN device; charon installs
 * the routes into table 220 (`<remote TS> dev ipsec0 src <local address in the local TS>`).
 *
 * Why kernel-libipsec and not an XFRM interface: this workplace's kernel has no INET_ESP and no
 * XFRM_INTERFACE; TUN is there. What it means for evidence:
 *  - SAs and their byte/packet counters are visible in `swanctl --list-sas` only, never in
 *    `ip xfrm state` (there is no kernel SA), and there is no if_id;
 *  - libipsec always encapsulates ESP in UDP (port 4500): CHILD SAs read `TUNNEL-in-UDP`;
 *  - charon needs a local address inside the local traffic selector to install the route
 *    ("no local address found in traffic selector … error installing route"): each end gets one
 *    on `lo` (`tsAddress`).
 *
 * charon runs as `charon-systemd` (the only charon binary in the toolbox image), started in the
 * background without systemd; it logs to /var/log/charon.log (filelog) since there is no journal.
 * The PSK is written through standard input, never as an argument, and every text this module
 * hands out (`renderSwanctlConf` aside, which is the file itself) passes through redact().
 */
import type { Executor } from "../exec/types.ts";
import { parseSwanctlSas, type SwanctlSas } from "../evidence/parsers/swanctl.ts";
import { redact } from "../report/redact.ts";
import { waitUntil } from "./world.ts";

/** Where an end's commands run: a world host, a pod (PodExecutor), anything with a name and an Executor. */
export interface EndHost {
  name: string;
  exec: Executor;
}

export interface IpsecEnd {
  host: EndHost;
  /** IKE identity of this end (FQDN-style id, e.g. "initiator") */
  id: string;
  /** this end's IKE address (on the network both ends share) */
  addr: string;
  /** traffic selectors this end protects, e.g. ["10.77.0.1/32"] */
  localTs: string[];
  /**
   * an address inside localTs that charon can use as the source of its route through ipsec0;
   * put on `lo` by setup (kernel-libipsec refuses to install a CHILD SA without one)
   */
  tsAddress: string;
  /** XFRM interface id of this end's CHILD SA (if_id_in/if_id_out): route-based over an xfrm link */
  ifId?: number;
  /** mark of this end's CHILD SA (mark_in/mark_out): the VTI setup (a vti link with this key) */
  mark?: number;
}

export interface TunnelSpec {
  /** swanctl connection name */
  conn: string;
  /** CHILD SA name */
  child: string;
  /** pre-shared key: never logged, never attached; written to the hosts through stdin */
  psk: string;
  initiator: IpsecEnd;
  responder: IpsecEnd;
  /** default aes128-sha256 (ESP: AES-CBC-128 + HMAC-SHA2-256-128), what kernel-libipsec handles here */
  espProposals?: string;
  /** default aes128-sha256-modp2048 */
  ikeProposals?: string;
}

export interface Tunnel {
  spec: TunnelSpec;
  /** `swanctl --list-sas` on one end, raw (redacted) and parsed */
  listSas(end: "initiator" | "responder"): Promise<{ text: string; sas: SwanctlSas }>;
  /** the last lines of charon's log on one end, redacted */
  charonLog(end: "initiator" | "responder", lines?: number): Promise<string>;
}

/**
 * strongswan.d snippet, log to a file (no journal without systemd). libipsec (the default): load
 * kernel-libipsec, charon installs routes through ipsec0. kernel: ESP in the kernel (XFRM), with
 * charon's own routes (policy-based) or without (xfrmi, vti: the routes point at the link).
 */
export function renderStrongswanConf(o: { datapath?: "libipsec" | "kernel"; installRoutes?: boolean; logPath?: string; disablePlugins?: string[] } = {}): string {
  const libipsec = (o.datapath ?? "libipsec") === "libipsec";
  const head = libipsec ? "route-based kernel-libipsec tunnel (ESP in user space, ipsec0 TUN)" : "ESP in the kernel (XFRM)";
  return `# netconform: ${head}
charon {
  install_routes = ${(o.installRoutes ?? true) ? "yes" : "no"}
  plugins {
    kernel-libipsec {
      load = ${libipsec ? "yes" : "no"}
    }${(o.disablePlugins ?? []).map((p) => `
    ${p} {
      load = no
    }`).join("")}
  }
  filelog {
    netconform {
      path = ${o.logPath ?? "/var/log/charon.log"}
      time_format = %b %e %T
      flush_line = yes
      default = 1
      knl = 2
    }
  }
}
`;
}

const quoteConf = (s: string): string => {
  if (/["\\\n]/.test(s)) throw new Error("ipsec: a PSK or identity with a quote, backslash or newline cannot be written to swanctl.conf");
  return `"${s}"`;
};

/** swanctl.conf for one end of the tunnel (contains the PSK: never attach it unredacted). */
export function renderSwanctlConf(spec: TunnelSpec, side: "initiator" | "responder"): string {
  const me = spec[side];
  const peer = side === "initiator" ? spec.responder : spec.initiator;
  return `connections {
  ${spec.conn} {
    version = 2
    local_addrs = ${me.addr}
    remote_addrs = ${peer.addr}
    proposals = ${spec.ikeProposals ?? "aes128-sha256-modp2048"}
    local {
      auth = psk
      id = ${me.id}
    }
    remote {
      auth = psk
      id = ${peer.id}
    }
    children {
      ${spec.child} {
        local_ts = ${me.localTs.join(",")}
        remote_ts = ${peer.localTs.join(",")}
        esp_proposals = ${spec.espProposals ?? "aes128-sha256"}
        mode = tunnel${me.ifId !== undefined ? `
        if_id_in = ${me.ifId}
        if_id_out = ${me.ifId}` : ""}${me.mark !== undefined ? `
        mark_in = ${me.mark}
        mark_out = ${me.mark}` : ""}
        start_action = none
        dpd_action = clear
      }
    }
  }
}

secrets {
  ike-${spec.conn} {
    id-local = ${me.id}
    id-remote = ${peer.id}
    secret = ${quoteConf(spec.psk)}
  }
}
`;
}

async function write(exec: Executor, path: string, text: string): Promise<void> {
  await exec.run(["sh", "-c", `umask 077 && cat > ${path}`], { input: text });
}

/** Configure one end (a world host: libipsec) and start charon; returns when swanctl --load-all succeeded. */
export async function startEnd(spec: TunnelSpec, side: "initiator" | "responder"): Promise<void> {
  const end = spec[side];
  const x = end.host.exec;
  await x.run(["ip", "addr", "replace", `${end.tsAddress}/32`, "dev", "lo"]);
  // the packaged default has `load = no` for kernel-libipsec; our snippet sorts after it, but be explicit
  await x.run(["sed", "-i", "s/^\\(\\s*load\\s*=\\s*\\)no/\\1yes/", "/etc/strongswan.d/charon/kernel-libipsec.conf"]);
  await write(x, "/etc/strongswan.d/zz-netconform.conf", renderStrongswanConf());
  await write(x, "/etc/swanctl/swanctl.conf", renderSwanctlConf(spec, side));
  await x.run(["sh", "-c", "(setsid /usr/sbin/charon-systemd </dev/null >/var/log/charon.out 2>&1 &)"]);
  await waitUntil(`charon's VICI socket on ${end.host.name}`, async () => (await x.run(["test", "-S", "/var/run/charon.vici"], { allowFailure: true })).exitCode === 0, 20_000, 100);
  const r = await x.run(["swanctl", "--load-all", "--noprompt"], { allowFailure: true, timeoutMs: 20_000 });
  if (r.exitCode !== 0 || !/successfully loaded 1 connections/.test(r.stdout)) {
    throw new Error(`ipsec: swanctl --load-all on ${end.host.name} failed (exit ${r.exitCode}):\n${redact(r.stdout + r.stderr).slice(-2000)}`);
  }
}

/**
 * Both ends configured and charon running, the CHILD SA initiated from the initiator and INSTALLED
 * on both ends, and ipsec0 up with charon's routes in table 220.
 */
export async function libipsecTunnel(spec: TunnelSpec, o: { timeoutMs?: number } = {}): Promise<Tunnel> {
  await startEnd(spec, "responder");
  await startEnd(spec, "initiator");
  const timeoutMs = o.timeoutMs ?? 30_000;
  const tunnel: Tunnel = {
    spec,
    async listSas(side) {
      const r = await spec[side].host.exec.run(["swanctl", "--list-sas", "--noblock"], { timeoutMs: 15_000 });
      const text = redact(r.stdout);
      return { text, sas: parseSwanctlSas(text) };
    },
    async charonLog(side, lines = 200) {
      const r = await spec[side].host.exec.run(["tail", "-n", String(lines), "/var/log/charon.log"], { allowFailure: true });
      return redact(r.stdout + r.stderr);
    },
  };
  const init = await spec.initiator.host.exec.run(["swanctl", "--initiate", "--child", spec.child, "--timeout", String(Math.ceil(timeoutMs / 1000))], {
    allowFailure: true,
    timeoutMs: timeoutMs + 5_000,
  });
  if (init.exitCode !== 0) {
    throw new Error(`ipsec: swanctl --initiate --child ${spec.child} failed (exit ${init.exitCode}):\n${redact(init.stdout + init.stderr).slice(-2000)}\n--- responder charon.log ---\n${await tunnel.charonLog("responder", 40)}`);
  }
  for (const side of ["initiator", "responder"] as const) {
    await waitUntil(`CHILD_SA ${spec.child} INSTALLED on ${spec[side].host.name}`, async () => {
      const { sas } = await tunnel.listSas(side);
      return sas.some((ike) => ike.state === "ESTABLISHED" && ike.children.some((c) => c.name === spec.child && c.state === "INSTALLED"));
    }, timeoutMs, 200);
    await waitUntil(`route through ipsec0 on ${spec[side].host.name}`, async () => {
      const r = await spec[side].host.exec.run(["ip", "route", "show", "table", "220", "dev", "ipsec0"], { allowFailure: true });
      return r.exitCode === 0 && r.stdout.trim() !== "";
    }, timeoutMs, 200);
  }
  return tunnel;
}
