import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.ts";

const dir = mkdtempSync(join(tmpdir(), "nc-config-"));
const load = (env: Record<string, string>) => loadConfig(env, dir);

describe("config", () => {
  it("has defaults that need no setting at all", () => {
    const c = load({});
    expect(c).toMatchObject({ clusterName: "netconform", kubeProxyMode: "iptables", imageSource: "forge", strictOffline: true, keep: "never" });
    expect(c.timeouts.nodeReady).toBe(300_000);
  });

  it("names the cluster after the run unless it is reused, so two runs on one machine never share a cluster", () => {
    expect(load({ NETCONFORM_RUN_ID: "nc-abc123-x1" }).clusterName).toBe("nc-abc123-x1");
    expect(load({ NETCONFORM_RUN_ID: "run7" }).clusterName).toBe("nc-run7");
    expect(load({ NETCONFORM_RUN_ID: "nc-abc123-x1", NETCONFORM_REUSE: "1" }).clusterName).toBe("netconform");
    expect(load({ NETCONFORM_RUN_ID: "nc-abc123-x1", NETCONFORM_CLUSTER: "mine" }).clusterName).toBe("mine");
    const long = load({ NETCONFORM_RUN_ID: "a".repeat(30) + "-" + "b".repeat(9) }).clusterName;
    expect(long.length).toBeLessThanOrEqual(32);
    expect(long).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  });

  it("reads env vars, with durations and booleans", () => {
    const c = load({ NETCONFORM_REUSE: "1", NETCONFORM_KEEP: "on-failure", NETCONFORM_TIMEOUT_BFDUP: "45s", NETCONFORM_KUBE_PROXY_MODE: "ipvs" });
    expect(c.reuse).toBe(true);
    expect(c.keep).toBe("on-failure");
    expect(c.timeouts.bfdUp).toBe(45_000);
    expect(c.kubeProxyMode).toBe("ipvs");
  });

  it("reads a config file, env wins over it", () => {
    const f = join(dir, "a.yaml");
    writeFileSync(f, "clusterName: from-file\nkeep: always\ntimeouts:\n  podReady: 2m\n");
    const c = load({ NETCONFORM_CONFIG: f, NETCONFORM_KEEP: "never" });
    expect(c.clusterName).toBe("from-file");
    expect(c.keep).toBe("never");
    expect(c.timeouts.podReady).toBe(120_000);
  });

  const bad: Array<[string, Record<string, string>, RegExp]> = [
    ["kube-proxy mode outside the enum", { NETCONFORM_KUBE_PROXY_MODE: "ebpf" }, /kubeProxyMode \(from NETCONFORM_KUBE_PROXY_MODE\): must be one of "iptables"\|"ipvs"\|"nftables"\|"none"/],
    ["IPsec mode outside the enum", { NETCONFORM_IPSEC_MODE: "vti" }, /ipsecMode \(from NETCONFORM_IPSEC_MODE\): must be one of "auto"\|"libipsec"\|"xfrmi"/],
    ["image source outside the enum", { NETCONFORM_IMAGE_SOURCE: "dockerhub" }, /imageSource \(from NETCONFORM_IMAGE_SOURCE\): must be one of "upstream"\|"mirror"\|"forge"/],
    ["cluster name that is no DNS label", { NETCONFORM_CLUSTER: "My_Cluster" }, /clusterName \(from NETCONFORM_CLUSTER\): a DNS label/],
    ["keep value", { NETCONFORM_KEEP: "sometimes" }, /keep \(from NETCONFORM_KEEP\): must be one of "never"\|"on-failure"\|"always"/],
    ["boolean that is not one", { NETCONFORM_REUSE: "maybe" }, /reuse \(from NETCONFORM_REUSE\)/],
    ["duration without a unit", { NETCONFORM_TIMEOUT_NODEREADY: "300" }, /timeouts\.nodeReady \(from NETCONFORM_TIMEOUT_NODEREADY\): a duration such as 90s/],
    ["unknown timeout name", { NETCONFORM_TIMEOUT_COFFEE: "1m" }, /NETCONFORM_TIMEOUT_COFFEE: unknown timeout; allowed: .*NETCONFORM_TIMEOUT_NODEREADY/],
    ["upstream images while strictly offline", { NETCONFORM_IMAGE_SOURCE: "upstream" }, /imageSource.*strictOffline forbids/],
    ["reuse with an existing cluster's kubeconfig", { NETCONFORM_REUSE: "true", NETCONFORM_KUBECONFIG: "/tmp/kc" }, /reuse.*cannot be combined with kubeconfig/],
    ["config file that does not exist", { NETCONFORM_CONFIG: "nope.yaml" }, /NETCONFORM_CONFIG: no such file/],
  ];
  for (const [what, env, msg] of bad) {
    it(`rejects ${what} with a message naming the field`, () => {
      expect(() => load(env)).toThrow(ConfigError);
      expect(() => load(env)).toThrow(msg);
    });
  }

  it("rejects unknown keys in a config file and lists the allowed ones", () => {
    const f = join(dir, "b.yaml");
    writeFileSync(f, "clustername: typo\n");
    expect(() => load({ NETCONFORM_CONFIG: f })).toThrow(/clustername \(from .*b\.yaml\): unknown setting; allowed: clusterName, reuse/);
  });

  it("reports several bad fields at once", () => {
    try {
      load({ NETCONFORM_KEEP: "x", NETCONFORM_LOG_LEVEL: "loud" });
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toMatch(/keep .*\n.*logLevel/s);
    }
  });
});
