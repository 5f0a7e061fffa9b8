import { existsSync, readdirSync, readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { HostExecutor } from "../exec/host.ts";
import { attachJson } from "../report/allure.ts";
import { KERNEL_FEATURES, probeKernel, requireFeatures } from "./kernel.ts";

/** what this machine's own /proc says, read directly, to check the probes against */
function kernelConfig(): Map<string, string> {
  const m = new Map<string, string>();
  try {
    for (const l of gunzipSync(readFileSync("/proc/config.gz")).toString("utf8").split("\n")) {
      const set = /^(CONFIG_[A-Z0-9_]+)=(.*)$/.exec(l);
      if (set) m.set(set[1]!, set[2]!);
      const unset = /^# (CONFIG_[A-Z0-9_]+) is not set$/.exec(l);
      if (unset) m.set(unset[1]!, "n");
    }
  } catch {
    // no /proc/config.gz: the netns probes are checked for consistency only
  }
  return m;
}

const probeNamespaces = () => (existsSync("/run/netns") ? readdirSync("/run/netns").filter((n) => n.startsWith("nc-probe-")) : []);

describe("preflight/kernel on the real host (HostExecutor)", () => {
  it("each probe agrees with /proc and the kernel config, and leaves no namespace behind", async () => {
    const before = probeNamespaces();
    const probes = await probeKernel(new HostExecutor());
    await attachJson("kernel probes", probes);
    expect(probes.map((p) => p.feature)).toEqual([...KERNEL_FEATURES]);
    const by = Object.fromEntries(probes.map((p) => [p.feature, p]));

    expect(by.IP_VS!.present).toBe(existsSync("/proc/net/ip_vs"));
    expect(by.IP_SCTP!.present).toBe(existsSync("/proc/sys/net/sctp"));
    expect(by.NFS!.present).toBe(/\bnfs4?\b/.test(readFileSync("/proc/filesystems", "utf8")));
    expect(by.NFSD!.present).toBe(/\bnfsd\b/.test(readFileSync("/proc/filesystems", "utf8")));

    const root = process.getuid?.() === 0;
    const cfg = kernelConfig();
    const sym = { INET_ESP: "CONFIG_INET_ESP", XFRM_INTERFACE: "CONFIG_XFRM_INTERFACE", NET_IPVTI: "CONFIG_NET_IPVTI", DUMMY: "CONFIG_DUMMY", NETEM: "CONFIG_NET_SCH_NETEM", TUN: "CONFIG_TUN", IPIP: "CONFIG_NET_IPIP" } as const;
    for (const [f, s] of Object.entries(sym)) {
      const p = by[f]!;
      if (!root) continue; // without CAP_SYS_ADMIN the netns probes may be inconclusive
      expect(p.inconclusive, `${f}: ${p.evidence}`).toBeUndefined();
      if (cfg.get(s) === "y") expect(p.present, `${f}: ${p.evidence}`).toBe(true);
      if (cfg.get(s) === "n") expect(p.present, `${f}: ${p.evidence}`).toBe(false);
    }
    expect(probeNamespaces()).toEqual(before);
  });

  it("requireFeatures names every missing feature in one reason", async () => {
    const r = await requireFeatures(new HostExecutor(), ["IP_VS", "NFS", "TUN"]);
    const missing = (await probeKernel(new HostExecutor(), ["IP_VS", "NFS", "TUN"])).filter((p) => !p.present);
    if (missing.length === 0) expect(r.ok).toBe(true);
    else {
      expect(r.ok).toBe(false);
      for (const p of missing) expect((r as { reason: string }).reason).toContain(`kernel lacks ${p.feature} (${p.evidence})`);
    }
  });
});
