import { describe, expect, it } from "vitest";
import type { ExecOptions, ExecResult, Executor } from "../exec/types.ts";
import { KERNEL_FEATURES, probeKernel, requireFeatures } from "./kernel.ts";

/**
 * A test double standing in for a node: it answers the probes' commands from a small model of a
 * kernel (which features exist, which netns exist) and records every call, so the tests can check
 * both the verdicts and that nothing is left behind.
 */
class FakeNodeExecutor implements Executor {
  readonly where = "fake:node";
  readonly calls: string[][] = [];
  readonly namespaces = new Set<string>();
  private readonly has: Set<string>;
  private readonly opts: { config?: string; netnsFails?: boolean; noIpTool?: boolean };
  constructor(has: Set<string>, opts: { config?: string; netnsFails?: boolean; noIpTool?: boolean } = {}) {
    this.has = has;
    this.opts = opts;
  }

  async run(argv: string[], _opts?: ExecOptions): Promise<ExecResult> {
    this.calls.push(argv);
    const ok = (stdout = ""): ExecResult => ({ stdout, stderr: "", exitCode: 0, timedOut: false, command: argv.join(" "), durationMs: 1 });
    const fail = (stderr: string, exitCode = 1): ExecResult => ({ stdout: "", stderr, exitCode, timedOut: false, command: argv.join(" "), durationMs: 1 });
    const [cmd, ...rest] = argv;
    const line = rest.join(" ");
    if (cmd === "gzip") return this.opts.config ? ok(this.opts.config) : fail("gzip: /proc/config.gz: No such file or directory");
    if (cmd === "cat" && line === "/proc/net/ip_vs") return this.has.has("IP_VS") ? ok("IP Virtual Server version 1.2.1 (size=4096)\n") : fail("cat: /proc/net/ip_vs: No such file or directory");
    if (cmd === "cat" && line === "/proc/sys/net/sctp/addip_enable") return this.has.has("IP_SCTP") ? ok("0\n") : fail("cat: /proc/sys/net/sctp/addip_enable: No such file or directory");
    if (cmd === "cat" && line === "/proc/filesystems") return ok(`nodev\tsysfs\nnodev\tproc\n\text4\n${this.has.has("NFS") ? "nodev\tnfs\nnodev\tnfs4\n" : ""}${this.has.has("NFSD") ? "nodev\tnfsd\n" : ""}`);
    if ((cmd === "ip" || cmd === "tc") && this.opts.noIpTool) throw new Error(`spawn ${cmd} ENOENT`);
    if (cmd === "ip" && rest[0] === "netns") {
      if (this.opts.netnsFails) return fail("mount --make-shared /run/netns failed: Operation not permitted");
      if (rest[1] === "add") this.namespaces.add(rest[2]!);
      if (rest[1] === "del") this.namespaces.delete(rest[2]!);
      return ok();
    }
    if ((cmd === "ip" || cmd === "tc") && rest[0] === "-n") {
      if (!this.namespaces.has(rest[1]!)) return fail(`Cannot open network namespace "${rest[1]}": No such file or directory`);
      const sub = rest.slice(2).join(" ");
      const gate = (f: string, missing: string) => (this.has.has(f) ? ok() : fail(missing, 2));
      if (sub.includes("type dummy")) return gate("DUMMY", "Error: Unknown device type.");
      if (sub.includes("type xfrm")) return gate("XFRM_INTERFACE", "Error: Unknown device type.");
      if (sub.includes("type vti")) return gate("NET_IPVTI", "Error: Unknown device type.");
      if (sub.includes("type ipip")) return gate("IPIP", "Error: Unknown device type.");
      if (sub.startsWith("tuntap")) return gate("TUN", "open: No such device");
      if (sub.includes("netem")) return gate("NETEM", "Error: Specified qdisc kind is unknown.");
      if (sub.includes("xfrm state add")) return gate("INET_ESP", "Error: Requested type not found.");
    }
    return fail(`fake: unexpected command ${argv.join(" ")}`, 127);
  }
}

/** this workplace's kernel, as the brief describes it */
const HOST_LIKE = new Set(["TUN"]);

describe("preflight/kernel (with a fake Executor test double)", () => {
  it("reports each feature with its evidence on a kernel like this host's", async () => {
    const ex = new FakeNodeExecutor(HOST_LIKE);
    const probes = await probeKernel(ex);
    expect(probes.map((p) => p.feature)).toEqual([...KERNEL_FEATURES]);
    expect(Object.fromEntries(probes.map((p) => [p.feature, [p.present, p.evidence]]))).toEqual({
      IP_VS: [false, "/proc/net/ip_vs absent"],
      IP_SCTP: [false, "/proc/sys/net/sctp absent"],
      INET_ESP: [false, "ip xfrm state add proto esp: Error: Requested type not found."],
      XFRM_INTERFACE: [false, "ip link add type xfrm: Error: Unknown device type."],
      NET_IPVTI: [false, "ip link add type vti: Error: Unknown device type."],
      NFS: [false, "nfs not in /proc/filesystems"],
      NFSD: [false, "nfsd not in /proc/filesystems"],
      IPIP: [false, "ip link add type ipip: Error: Unknown device type."],
      DUMMY: [false, "ip link add type dummy: Error: Unknown device type."],
      NETEM: [false, "tc qdisc add netem: Error: Specified qdisc kind is unknown."],
      TUN: [true, "created a tun device in a throwaway netns"],
    });
  });

  it("finds every feature on a full kernel", async () => {
    const probes = await probeKernel(new FakeNodeExecutor(new Set(KERNEL_FEATURES)));
    expect(probes.every((p) => p.present && !p.inconclusive)).toBe(true);
    expect(probes.find((p) => p.feature === "NFS")!.evidence).toBe("nfs, nfs4 in /proc/filesystems");
  });

  it("creates everything in one throwaway netns and deletes it", async () => {
    const ex = new FakeNodeExecutor(new Set(KERNEL_FEATURES));
    await probeKernel(ex);
    const adds = ex.calls.filter((c) => c[0] === "ip" && c[1] === "netns" && c[2] === "add");
    const dels = ex.calls.filter((c) => c[0] === "ip" && c[1] === "netns" && c[2] === "del");
    expect(adds).toHaveLength(1);
    expect(adds[0]![3]).toMatch(/^nc-probe-[0-9a-f]{8}$/);
    expect(dels).toEqual([["ip", "netns", "del", adds[0]![3]]]);
    expect(ex.namespaces.size).toBe(0);
    // every link/SA/qdisc command ran inside that namespace
    expect(ex.calls.filter((c) => (c[0] === "ip" || c[0] === "tc") && c[1] !== "netns").every((c) => c[1] === "-n" && c[2] === adds[0]![3])).toBe(true);
  });

  it("probes only what is asked, and skips the netns when no netns probe is needed", async () => {
    const ex = new FakeNodeExecutor(HOST_LIKE);
    const probes = await probeKernel(ex, ["NFS", "IP_VS"]);
    expect(probes.map((p) => p.feature)).toEqual(["IP_VS", "NFS"]);
    expect(ex.calls.some((c) => c[1] === "netns")).toBe(false);
  });

  it("requireFeatures gives the exact reason a suite prints when it skips", async () => {
    const ex = new FakeNodeExecutor(HOST_LIKE);
    expect(await requireFeatures(ex, ["IP_VS"])).toMatchObject({ ok: false, reason: "kernel lacks IP_VS (/proc/net/ip_vs absent)" });
    expect((await requireFeatures(ex, ["NFS", "IP_VS"])) as { reason: string }).toMatchObject({
      reason: "kernel lacks IP_VS (/proc/net/ip_vs absent); kernel lacks NFS (nfs not in /proc/filesystems)",
    });
    expect(await requireFeatures(ex, ["TUN"])).toMatchObject({ ok: true });
  });

  it("falls back on /proc/config.gz when the netns cannot be made, and says so when nothing decides", async () => {
    const config = "CONFIG_TUN=y\n# CONFIG_DUMMY is not set\nCONFIG_NET_SCH_NETEM=m\n";
    const ex = new FakeNodeExecutor(HOST_LIKE, { config, netnsFails: true });
    const probes = Object.fromEntries((await probeKernel(ex, ["TUN", "DUMMY", "NETEM"])).map((p) => [p.feature, p]));
    expect(probes.TUN).toEqual({ feature: "TUN", present: true, evidence: "CONFIG_TUN=y (not exercised: cannot create a throwaway netns: mount --make-shared /run/netns failed: Operation not permitted)" });
    expect(probes.DUMMY).toMatchObject({ present: false, evidence: expect.stringMatching(/^CONFIG_DUMMY is not set \(cannot create a throwaway netns/) });
    expect(probes.NETEM).toMatchObject({ present: false, inconclusive: true });
    const r = await requireFeatures(ex, ["NETEM"]);
    expect(r).toMatchObject({ ok: false, reason: expect.stringMatching(/^cannot tell whether the kernel has NETEM \(cannot create a throwaway netns: .*; CONFIG_NET_SCH_NETEM=m\)$/) });
  });

  it("notes a feature built as a module but not loaded", async () => {
    const ex = new FakeNodeExecutor(HOST_LIKE, { config: "CONFIG_IP_VS=m\n" });
    expect((await probeKernel(ex, ["IP_VS"]))[0]!.evidence).toBe("/proc/net/ip_vs absent; CONFIG_IP_VS=m: module not loaded");
  });

  it("treats a missing ip tool as inconclusive, not as a missing feature", async () => {
    const ex = new FakeNodeExecutor(new Set(KERNEL_FEATURES), { noIpTool: true });
    const p = (await probeKernel(ex, ["DUMMY"]))[0]!;
    expect(p).toMatchObject({ present: false, inconclusive: true, evidence: expect.stringMatching(/ENOENT/) });
  });
});
