/**
 * Kernel-feature probes, run through an Executor (on the host, in a kind node, in a container):
 * the features the behaviour families need, each decided by exercising it where that is cheap and
 * side-effect free, and by /proc otherwise.
 *
 *   IP_VS           /proc/net/ip_vs exists                         (KLVS, kube-proxy IPVS mode)
 *   IP_SCTP         /proc/sys/net/sctp exists                      (MLB-09)
 *   NFS             "nfs"/"nfs4" in /proc/filesystems              (MIPAM's RWX claim)
 *   NFSD            "nfsd" in /proc/filesystems                    (the kernel lab's NFS server)
 *   INET_ESP        an ESP SA can be added in a throwaway netns    (IPSEC-02/03)
 *   XFRM_INTERFACE  a link of type xfrm can be created there       (IPSEC-01 route-based)
 *   NET_IPVTI       a link of type vti can be created there        (IPSEC-04)
 *   DUMMY           a link of type dummy can be created there
 *   NETEM           a netem qdisc can be added on its lo
 *   TUN             a tun device can be created there              (strongswan kernel-libipsec)
 *   IPIP            a link of type ipip can be created there       (tunl0, KLVS-08)
 *
 * Everything a probe creates lives in a network namespace `nc-probe-<random>` that is deleted
 * afterwards, whatever happened. /proc/config.gz, when readable, adds the CONFIG_ line to the
 * evidence and decides a feature a probe could not exercise. Nothing is loaded or changed on the
 * kernel: a feature built as a module but not loaded counts as absent.
 */
import { randomBytes } from "node:crypto";
import type { ExecResult, Executor } from "../exec/types.ts";

export const KERNEL_FEATURES = ["IP_VS", "IP_SCTP", "INET_ESP", "XFRM_INTERFACE", "NET_IPVTI", "NFS", "NFSD", "DUMMY", "NETEM", "TUN", "IPIP"] as const;
export type KernelFeature = (typeof KERNEL_FEATURES)[number];

export interface FeatureProbe {
  feature: KernelFeature;
  present: boolean;
  /** what decided it, in a few words a skip message can quote */
  evidence: string;
  /** true when the probe could not run and nothing else decided it; present is then false */
  inconclusive?: boolean;
}

/** the CONFIG_ symbol behind each feature */
const CONFIG: Record<KernelFeature, string> = {
  IP_VS: "CONFIG_IP_VS",
  IP_SCTP: "CONFIG_IP_SCTP",
  INET_ESP: "CONFIG_INET_ESP",
  XFRM_INTERFACE: "CONFIG_XFRM_INTERFACE",
  NET_IPVTI: "CONFIG_NET_IPVTI",
  NFS: "CONFIG_NFS_FS",
  NFSD: "CONFIG_NFSD",
  DUMMY: "CONFIG_DUMMY",
  NETEM: "CONFIG_NET_SCH_NETEM",
  TUN: "CONFIG_TUN",
  IPIP: "CONFIG_NET_IPIP",
};

const firstLine = (r: ExecResult) => (r.stderr.trim() || r.stdout.trim()).split("\n")[0]?.trim() || `exit ${r.exitCode}`;

async function run(ex: Executor, argv: string[]): Promise<ExecResult> {
  try {
    return await ex.run(argv, { allowFailure: true, timeoutMs: 20_000 });
  } catch (e) {
    // an executor that cannot run the command at all (binary missing, container gone)
    return { stdout: "", stderr: (e as Error).message, exitCode: 127, timedOut: false, command: argv.join(" "), durationMs: 0 };
  }
}

/** CONFIG_X → "y" | "m" | "n" from /proc/config.gz, or undefined when unreadable/unlisted */
async function kernelConfig(ex: Executor): Promise<Map<string, string> | undefined> {
  const r = await run(ex, ["gzip", "-dc", "/proc/config.gz"]);
  if (r.exitCode !== 0 || !r.stdout.includes("CONFIG_")) return undefined;
  const m = new Map<string, string>();
  for (const l of r.stdout.split("\n")) {
    const set = /^(CONFIG_[A-Z0-9_]+)=(.*)$/.exec(l);
    if (set) m.set(set[1]!, set[2]!);
    const unset = /^# (CONFIG_[A-Z0-9_]+) is not set$/.exec(l);
    if (unset) m.set(unset[1]!, "n");
  }
  return m;
}

type Probe = { present: boolean; evidence: string } | { inconclusive: string };

/** the netns-based probes: each creates one thing inside the namespace */
const NETNS_PROBES: Partial<Record<KernelFeature, { what: string; label: string; argv: (ns: string) => string[] }>> = {
  DUMMY: { what: "a dummy link", label: "ip link add type dummy", argv: (ns) => ["ip", "-n", ns, "link", "add", "nc-dummy0", "type", "dummy"] },
  XFRM_INTERFACE: { what: "an xfrm link", label: "ip link add type xfrm", argv: (ns) => ["ip", "-n", ns, "link", "add", "nc-xfrm0", "type", "xfrm", "dev", "lo", "if_id", "7"] },
  NET_IPVTI: { what: "a vti link", label: "ip link add type vti", argv: (ns) => ["ip", "-n", ns, "link", "add", "nc-vti0", "type", "vti", "local", "192.0.2.1", "remote", "192.0.2.2", "key", "7"] },
  IPIP: { what: "an ipip link", label: "ip link add type ipip", argv: (ns) => ["ip", "-n", ns, "link", "add", "nc-ipip0", "type", "ipip", "local", "192.0.2.1", "remote", "192.0.2.2"] },
  TUN: { what: "a tun device", label: "ip tuntap add mode tun", argv: (ns) => ["ip", "-n", ns, "tuntap", "add", "dev", "nc-tun0", "mode", "tun"] },
  NETEM: { what: "a netem qdisc", label: "tc qdisc add netem", argv: (ns) => ["tc", "-n", ns, "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"] },
  INET_ESP: {
    what: "an ESP SA",
    label: "ip xfrm state add proto esp",
    argv: (ns) => [
      "ip", "-n", ns, "xfrm", "state", "add", "src", "192.0.2.1", "dst", "192.0.2.2", "proto", "esp", "spi", "0x4e43", "mode", "tunnel",
      "enc", "cbc(aes)", "0x000102030405060708090a0b0c0d0e0f", "auth", "hmac(sha256)", "0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
    ],
  },
};

/** an "ip …" or "tc …" failure that means the kernel lacks the thing (not that the tool is broken) */
const MISSING = /Unknown device type|Requested type not found|Specified qdisc kind is unknown|Protocol not supported|Operation not supported|No such device|Address family not supported|Could not find the requested/i;

async function netnsProbes(ex: Executor, wanted: KernelFeature[]): Promise<Map<KernelFeature, Probe>> {
  const out = new Map<KernelFeature, Probe>();
  const todo = wanted.filter((f) => NETNS_PROBES[f]);
  if (todo.length === 0) return out;
  const ns = `nc-probe-${randomBytes(4).toString("hex")}`;
  const add = await run(ex, ["ip", "netns", "add", ns]);
  if (add.exitCode !== 0) {
    for (const f of todo) out.set(f, { inconclusive: `cannot create a throwaway netns: ${firstLine(add)}` });
    return out;
  }
  try {
    for (const f of todo) {
      const p = NETNS_PROBES[f]!;
      const r = await run(ex, p.argv(ns));
      const cmd = p.label;
      if (r.exitCode === 0) out.set(f, { present: true, evidence: `created ${p.what} in a throwaway netns` });
      else if (MISSING.test(r.stderr)) out.set(f, { present: false, evidence: `${cmd}: ${firstLine(r)}` });
      else out.set(f, { inconclusive: `${cmd} failed: ${firstLine(r)}` });
    }
  } finally {
    // deleting the namespace removes every link, SA and qdisc made in it
    await run(ex, ["ip", "netns", "del", ns]);
  }
  return out;
}

async function procProbes(ex: Executor, wanted: KernelFeature[]): Promise<Map<KernelFeature, Probe>> {
  const out = new Map<KernelFeature, Probe>();
  if (wanted.includes("IP_VS")) {
    const r = await run(ex, ["cat", "/proc/net/ip_vs"]);
    if (r.exitCode === 0) out.set("IP_VS", { present: true, evidence: "/proc/net/ip_vs present" });
    else if (/No such file/i.test(r.stderr)) out.set("IP_VS", { present: false, evidence: "/proc/net/ip_vs absent" });
    else out.set("IP_VS", { inconclusive: `cat /proc/net/ip_vs: ${firstLine(r)}` });
  }
  if (wanted.includes("IP_SCTP")) {
    const r = await run(ex, ["cat", "/proc/sys/net/sctp/addip_enable"]);
    if (r.exitCode === 0) out.set("IP_SCTP", { present: true, evidence: "/proc/sys/net/sctp present" });
    else if (/No such file/i.test(r.stderr)) out.set("IP_SCTP", { present: false, evidence: "/proc/sys/net/sctp absent" });
    else out.set("IP_SCTP", { inconclusive: `cat /proc/sys/net/sctp/addip_enable: ${firstLine(r)}` });
  }
  if (wanted.includes("NFS") || wanted.includes("NFSD")) {
    const r = await run(ex, ["cat", "/proc/filesystems"]);
    const fs = r.stdout.split("\n").map((l) => l.trim().split(/\s+/).pop());
    if (wanted.includes("NFS")) {
      const nfs = fs.filter((f) => f === "nfs" || f === "nfs4");
      if (r.exitCode !== 0) out.set("NFS", { inconclusive: `cat /proc/filesystems: ${firstLine(r)}` });
      else out.set("NFS", nfs.length ? { present: true, evidence: `${nfs.join(", ")} in /proc/filesystems` } : { present: false, evidence: "nfs not in /proc/filesystems" });
    }
    if (wanted.includes("NFSD")) {
      if (r.exitCode !== 0) out.set("NFSD", { inconclusive: `cat /proc/filesystems: ${firstLine(r)}` });
      else out.set("NFSD", fs.includes("nfsd") ? { present: true, evidence: "nfsd in /proc/filesystems" } : { present: false, evidence: "nfsd not in /proc/filesystems" });
    }
  }
  return out;
}

/** Probe the kernel seen by `ex` for each feature (all by default), in KERNEL_FEATURES order. */
export async function probeKernel(ex: Executor, features: readonly KernelFeature[] = KERNEL_FEATURES): Promise<FeatureProbe[]> {
  const wanted = KERNEL_FEATURES.filter((f) => features.includes(f));
  const config = await kernelConfig(ex);
  const probes = new Map([...(await procProbes(ex, wanted)), ...(await netnsProbes(ex, wanted))]);
  return wanted.map((feature) => {
    const p = probes.get(feature)!;
    const sym = CONFIG[feature];
    const cfg = config?.get(sym);
    const cfgText = cfg === undefined ? undefined : cfg === "n" ? `${sym} is not set` : `${sym}=${cfg}`;
    if ("present" in p) {
      const note = cfgText && !p.present && cfg === "m" ? `; ${cfgText}: module not loaded` : "";
      return { feature, present: p.present, evidence: p.evidence + note };
    }
    // the probe could not run: the kernel config decides when it can
    if (cfg === "n") return { feature, present: false, evidence: `${cfgText} (${p.inconclusive})` };
    if (cfg === "y") return { feature, present: true, evidence: `${cfgText} (not exercised: ${p.inconclusive})` };
    return { feature, present: false, inconclusive: true, evidence: p.inconclusive + (cfgText ? `; ${cfgText}` : "") };
  });
}

export type FeatureRequirement = { ok: true; probes: FeatureProbe[] } | { ok: false; reason: string; probes: FeatureProbe[] };

/**
 * The gate a suite calls before it runs: ok, or the reason it skips, e.g.
 * "kernel lacks IP_VS (/proc/net/ip_vs absent)"; several missing features are joined with "; ".
 */
export async function requireFeatures(ex: Executor, features: readonly KernelFeature[]): Promise<FeatureRequirement> {
  const probes = await probeKernel(ex, features);
  const missing = probes.filter((p) => !p.present);
  if (missing.length === 0) return { ok: true, probes };
  const reason = missing.map((p) => (p.inconclusive ? `cannot tell whether the kernel has ${p.feature} (${p.evidence})` : `kernel lacks ${p.feature} (${p.evidence})`)).join("; ");
  return { ok: false, reason, probes };
}
