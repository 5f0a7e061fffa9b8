import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ExecResult, Executor } from "../exec/types.ts";
import { parseDocuments } from "../kube/apply.ts";
import type { TunnelSpec } from "../network/ipsec.ts";
import { backendsYaml, endpointYaml, gatewayScript, ikeServiceYaml, innerServiceYaml, resolveMode, tunnelDevice, unadvertisedPoolYaml } from "./ipsec.ts";

const PSK = "Zk3-not-a-real-key_0123456789abcdef";
const host = { name: "cluster end", exec: { where: "x", run: () => Promise.reject(new Error("not here")) } };
const spec = (o: { ifId?: number; mark?: number } = {}): TunnelSpec => ({
  conn: "nc-gw",
  child: "nc-inner",
  psk: PSK,
  initiator: { host, id: "client.netconform", addr: "172.18.0.9", localTs: ["192.0.2.1/32"], tsAddress: "192.0.2.1" },
  responder: { host, id: "gateway.netconform", addr: "172.18.255.200", localTs: ["198.51.100.0/24"], tsAddress: "198.51.100.1", ...o },
});
const objects = (yaml: string) => Object.fromEntries(parseDocuments(yaml).map((d) => [d.kind, d.object as Record<string, any>]));

describe("IPsec endpoints in the cluster (rendering)", () => {
  it("gateway: hostNetwork privileged DaemonSet; the PSK only in the Secret's swanctl.conf, which listens on %any", () => {
    const y = endpointYaml({ ns: "nc-ipsec", name: "gateway", image: "nc-mirror-local:5000/netconform/strongswan:5.9.8", mode: "libipsec", spec: spec(), remoteTs: "192.0.2.1/32", peer: "172.18.0.9", kind: "gateway" });
    const o = objects(y);
    expect(Object.keys(o).sort()).toEqual(["ConfigMap", "DaemonSet", "Secret"]);
    const conf = o.Secret!.stringData["swanctl.conf"] as string;
    expect(conf).toContain(`secret = "${PSK}"`);
    expect(conf).toMatch(/local_addrs = %any\n\s+remote_addrs = 172\.18\.0\.9/);
    expect(conf).toMatch(/local_ts = 198\.51\.100\.0\/24\n\s+remote_ts = 192\.0\.2\.1\/32/);
    expect(conf).not.toMatch(/if_id|mark_/);
    expect(JSON.stringify(o.ConfigMap)).not.toContain(PSK);
    expect(JSON.stringify(o.DaemonSet)).not.toContain(PSK);
    const pod = o.DaemonSet!.spec.template.spec;
    expect(pod.hostNetwork).toBe(true);
    expect(pod.containers).toHaveLength(1);
    expect(pod.containers[0].securityContext).toEqual({ privileged: true });
    expect(pod.containers[0].env).toContainEqual({ name: "NC_MODE", value: "libipsec" });
    const ss = o.ConfigMap!.data["strongswan.conf"] as string;
    expect(ss).toMatch(/install_routes = yes/);
    expect(ss).toMatch(/kernel-libipsec \{\n\s+load = yes/);
    expect(ss).toMatch(/farp \{\n\s+load = no/);
    expect(ss).toMatch(/path = stderr/);
  });

  it("xfrmi and vti modes put if_id / mark on the CHILD SA, load no kernel-libipsec and install no routes", () => {
    const x = objects(endpointYaml({ ns: "n", name: "gateway", image: "i", mode: "xfrmi", spec: spec({ ifId: 123 }), remoteTs: "192.0.2.1/32", peer: "172.18.0.9", kind: "gateway" }));
    expect(x.Secret!.stringData["swanctl.conf"]).toMatch(/if_id_in = 123\n\s+if_id_out = 123/);
    expect(x.ConfigMap!.data["strongswan.conf"]).toMatch(/install_routes = no/);
    expect(x.ConfigMap!.data["strongswan.conf"]).toMatch(/kernel-libipsec \{\n\s+load = no/);
    const v = objects(endpointYaml({ ns: "n", name: "gateway", image: "i", mode: "vti", spec: spec({ mark: 100 }), remoteTs: "192.0.2.1/32", peer: "172.18.0.9", kind: "gateway" }));
    expect(v.Secret!.stringData["swanctl.conf"]).toMatch(/mark_in = 100\n\s+mark_out = 100/);
    expect(v.DaemonSet!.spec.template.spec.containers[0].env).toContainEqual({ name: "NC_LINK", value: "nc-vti100" });
    const p = objects(endpointYaml({ ns: "n", name: "gateway", image: "i", mode: "policy", spec: spec(), remoteTs: "192.0.2.1/32", peer: "172.18.0.9", kind: "gateway" }));
    expect(p.ConfigMap!.data["strongswan.conf"]).toMatch(/install_routes = yes/);
    expect([tunnelDevice("libipsec"), tunnelDevice("xfrmi"), tunnelDevice("vti"), tunnelDevice("policy")]).toEqual(["ipsec0", "nc-ipsec0", "nc-vti100", "eth0"]);
  });

  it("endpoint: a one-replica Deployment in the pod network with strongSwan and agnhost side by side; refuses to render without the service image", () => {
    const o = objects(endpointYaml({ ns: "n", name: "endpoint", image: "i", serviceImage: "registry.k8s.io/e2e-test-images/agnhost:2.56", mode: "libipsec", spec: spec(), remoteTs: "192.0.2.1/32", peer: "172.18.0.9", kind: "endpoint" }));
    expect(o.Deployment!.spec.replicas).toBe(1);
    const pod = o.Deployment!.spec.template.spec;
    expect(pod.hostNetwork).toBeUndefined();
    expect(pod.containers.map((c: { name: string }) => c.name)).toEqual(["strongswan", "netexec"]);
    expect(pod.containers[1].command).toEqual(["/agnhost", "netexec", "--http-port=8080", "--udp-port=8081"]);
    expect(() => endpointYaml({ ns: "n", name: "endpoint", image: "i", mode: "libipsec", spec: spec(), remoteTs: "192.0.2.1/32", peer: "p", kind: "endpoint" })).toThrow(/serviceImage \(agnhost\) is required/);
  });

  it("the start script is valid sh and handles every mode, refusing an unknown one", () => {
    const dir = mkdtempSync(join(tmpdir(), "nc-ipsec-script-"));
    const f = join(dir, "start.sh");
    writeFileSync(f, gatewayScript());
    execFileSync("sh", ["-n", f]);
    for (const m of ["libipsec)", "xfrmi)", "vti)", "policy)"]) expect(gatewayScript()).toContain(m);
    expect(gatewayScript()).toMatch(/unknown NC_MODE/);
    expect(gatewayScript()).not.toMatch(/secret\s*=|\bpsk\b/i); // the key only ever comes from the Secret
  });

  it("services: IKE/NAT-T on UDP 500 and 4500 with externalTrafficPolicy Local; inner ports per protocol; SCTP backends only when asked", () => {
    const ike = objects(ikeServiceYaml({ ns: "n", name: "ike", app: "gateway", pool: "p" })).Service!;
    expect(ike.spec.externalTrafficPolicy).toBe("Local");
    expect(ike.spec.ports).toEqual([
      { name: "ike", port: 500, targetPort: 500, protocol: "UDP" },
      { name: "nat-t", port: 4500, targetPort: 4500, protocol: "UDP" },
    ]);
    expect(ike.metadata.annotations).toEqual({ "metallb.io/address-pool": "p" });
    const inner = objects(innerServiceYaml({ ns: "n", name: "inner", app: "web", pool: "q", policy: "Cluster", protos: ["tcp", "udp", "sctp"] })).Service!;
    expect(inner.spec.ports.map((p: { protocol: string; port: number; targetPort: number }) => `${p.protocol} ${p.port}->${p.targetPort}`)).toEqual(["TCP 80->8080", "UDP 81->8081", "SCTP 82->8082"]);
    const b = (protos: Array<"tcp" | "udp" | "sctp">) => objects(backendsYaml({ ns: "n", name: "web", image: "a", protos })).DaemonSet!.spec.template.spec.containers[0].command;
    expect(b(["tcp", "udp"])).not.toContain("--sctp-port=8082");
    expect(b(["tcp", "udp", "sctp"])).toContain("--sctp-port=8082");
    expect(objects(backendsYaml({ ns: "n", name: "hw", image: "a", protos: ["tcp"], hostNetwork: true })).DaemonSet!.spec.template.spec.hostNetwork).toBe(true);
    const pool = objects(unadvertisedPoolYaml({ name: "inner", addresses: ["198.51.100.16-198.51.100.23"] }));
    expect(Object.keys(pool)).toEqual(["IPAddressPool"]);
  });
});

/** An executor that answers every kernel probe as given: ok → the command succeeds, else "Unknown device type". */
function kernel(has: Record<string, boolean>): Executor {
  return {
    where: "fake",
    run: async (argv: string[]): Promise<ExecResult> => {
      const cmd = argv.join(" ");
      const feature = /type xfrm/.test(cmd) ? "XFRM_INTERFACE" : /xfrm state add/.test(cmd) ? "INET_ESP" : /tuntap/.test(cmd) ? "TUN" : undefined;
      const ok = feature === undefined ? !/config\.gz/.test(cmd) : has[feature] === true;
      return { stdout: "", stderr: ok ? "" : /config\.gz/.test(cmd) ? "no such file" : "Error: Unknown device type.", exitCode: ok ? 0 : 2, timedOut: false, command: cmd, durationMs: 0 };
    },
  };
}

describe("IPsec suite mode (NETCONFORM_IPSEC_MODE)", () => {
  it("auto picks xfrmi where the kernel has INET_ESP and XFRM_INTERFACE, else libipsec, saying why", async () => {
    expect(await resolveMode({ ipsecMode: "auto" }, kernel({ INET_ESP: true, XFRM_INTERFACE: true, TUN: true }))).toEqual({ mode: "xfrmi", why: "auto: the kernel has INET_ESP and XFRM_INTERFACE" });
    const lib = await resolveMode({ ipsecMode: "auto" }, kernel({ TUN: true }));
    expect(lib.mode).toBe("libipsec");
    expect(lib.why).toMatch(/^auto: kernel lacks INET_ESP \(ip xfrm state add proto esp: Error: Unknown device type\.\); kernel lacks XFRM_INTERFACE/);
    expect(lib.missing).toBeUndefined();
  });

  it("a mode the kernel cannot run carries the kernel's reason (the tests then skip with it)", async () => {
    const x = await resolveMode({ ipsecMode: "xfrmi" }, kernel({ TUN: true }));
    expect(x).toMatchObject({ mode: "xfrmi", missing: expect.stringMatching(/kernel lacks INET_ESP/) });
    const l = await resolveMode({ ipsecMode: "auto" }, kernel({}));
    expect(l).toMatchObject({ mode: "libipsec", missing: expect.stringMatching(/kernel lacks TUN/) });
  });
});
