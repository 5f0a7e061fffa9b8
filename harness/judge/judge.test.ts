/**
 * The judge (npm run judge): files read by content, one behaviour's oracle, exit 0/1/2, and a clear
 * message naming what is missing when it cannot decide.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadFixture } from "../evidence/fixtures.ts";
import { loadFormat } from "../evidence/formats.ts";
import { mangle, prng } from "../evidence/parsers/fuzz-util.ts";
import { detect, readEvidence } from "./detect.ts";
import { judge, JUDGES, splitArgs } from "./judges.ts";

const fx = (id: string, kind: "pass" | "fail", name: string, as = name) => ({ path: as, text: loadFixture(id, kind, name).text });
const fmt = (name: string, as = name) => ({ path: as, text: loadFormat(name).text });

describe("judge: evidence is recognised by its content", () => {
  it.each([
    [fx("SVC-02", "pass", "nginx-service-3ep.iptables-save"), "iptables"],
    [fx("ETP-05", "pass", "ext-local.iptables-S"), "iptables"],
    [fx("KLVS-01", "pass", "ipvsadm-Ln.txt"), "ipvs"],
    [fmt("proc-net-ip_vs.txt"), "ipvs"],
    [fmt("kube-proxy-5-decimals.iptables-L-n.txt"), "iptables"],
    [fx("IPSEC-01", "pass", "conntrack.txt"), "conntrack"],
    [fmt("nf_conntrack-ipv6.txt"), "conntrack"],
    [fmt("conntrack-E-with-stderr.txt"), "conntrack"],
    [fx("IPSEC-05", "pass", "sas-after.swanctl"), "swanctl"],
    [fmt("swanctl-5.8-list-sas.txt"), "swanctl"],
    [fmt("ipsec-statusall.txt"), "swanctl"],
    [fx("IPSEC-01", "pass", "xfrm-state.txt"), "xfrm-state"],
    [fx("MLB-05", "pass", "speaker.jsonl"), "speaker-log"],
    [fmt("metallb-speaker-gokit.jsonl"), "speaker-log"],
    [fmt("describe-pod-multiline-events.txt"), "describe-events"],
    [fx("MLB-02", "pass", "arp-vip100.txt"), "neighbours"],
    [fx("MLB-02", "pass", "ip-neigh-vip100.txt"), "neighbours"],
    [fx("BGP-01", "pass", "frr1.summary.json"), "bgp-summary"],
    [fmt("frr-show-bgp-summary.txt"), "bgp-summary"],
    [fmt("frr-bgp-vrf-all-summary.json"), "bgp-summary"],
    [fmt("frr-show-bfd-peers.txt"), "bfd"],
    [fx("BGP-03", "pass", "frr1.bfd.json"), "bfd"],
    [fmt("network-status-default-unnamed.json"), "network-status"],
    [fx("KLVS-01", "pass", "ingresses.yaml"), "lvs-ingress"],
    [fx("KLVS-01", "pass", "endpoints.json"), "endpoints"],
    [fx("IPSEC-05", "pass", "client.json"), "client-replies"],
    [fx("NVIPAM-04", "pass", "ippool.yaml"), "ip-pools"],
    [fx("MIPAM-04", "pass", "before.json"), "ipam-prefixes"],
  ])("%# %s is %s", (f, kind) => {
    expect(detect(f.text)?.kind).toBe(kind);
    expect(readEvidence(f.path, f.text).parsed.warnings).toEqual([]);
  });

  it("YAML that opens with comment lines (a user's note) is still recognised; prose with a kind: line is not", () => {
    const pools = fx("NVIPAM-04", "pass", "ippool.yaml").text;
    expect(detect(`# saved from prod-eu, 2026-11-30\n# kubectl get ippools -A -o yaml\n${pools}`)?.kind).toBe("ip-pools");
    expect(detect(`# notes\nsee below\n  kind: IPPool\n`)).toBeUndefined();
  });

  it("a file no parser recognises is named in the error", () => {
    expect(detect("hello\nworld\n")).toBeUndefined();
    expect(() => readEvidence("notes.txt", "hello\n")).toThrow(/^notes\.txt: no parser recognises this file/);
  });
});

describe("judge: verdicts and exit codes", () => {
  it("SVC-02 on a saved iptables-save: every ClusterIP judged, exit 0; a wrong probability, exit 1", () => {
    const ok = judge("SVC-02", [fmt("kube-proxy-5-decimals.iptables-save", "node1.txt")], {});
    expect(ok.code, ok.out).toBe(0);
    expect(ok.out).toMatch(/^SVC-02: PASS\n/);
    expect(judge("SVC-02", [fmt("kube-proxy-5-decimals.iptables-L-n.txt", "node1-L.txt")], {}).code).toBe(0);
    const bad = judge("svc-02", [fx("SVC-02", "fail", "wrong-probability.iptables-save")], { service: "10.43.180.238:80" });
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/probability 0\.33333333349, expected 1\/2/);
  });

  it("SVC-03 takes one file per node and names the nodes after the files", () => {
    const r = judge("SVC-03", [fx("SVC-03", "pass", "vm1.iptables-save", "saved/vm1.txt"), fx("SVC-03", "pass", "vm2.iptables-save", "saved/vm2.txt")], { nodeport: "30000", "cluster-ip": "10.43.143.108" });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/on vm1, vm2: KUBE-NODEPORTS --dport 30000/);
    expect(judge("SVC-03", [fx("SVC-03", "pass", "vm1.iptables-save")], { nodeport: "31999" }).code).toBe(1);
  });

  it("ETP-05 on kube-proxy's pre-1.24 chains names the era", () => {
    const r = judge("ETP-05", [fmt("kube-proxy-xlb.iptables-save")], { policy: "Local", vip: "172.18.255.200:80", "pod-cidr": "10.244.0.0/16", "local-endpoints": "10.244.0.12:8080" });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/KUBE-XLB\/KUBE-SVC era/);
  });

  it("MLB-02, BGP-01, IPSEC-05, KLVS-01 and MIPAM-04 on their recorded evidence", () => {
    const macs = "vm1=52:54:00:e2:c3:ec,vm2=52:54:00:c0:87:a0,vm3=52:54:00:db:2b:ce";
    expect(judge("MLB-02", [fx("MLB-02", "pass", "arp-vip100.txt")], { vip: "10.123.123.100", "node-macs": macs }).code).toBe(0);
    expect(judge("BGP-01", [fx("BGP-01", "pass", "speaker-5v7cf.summary.json")], { peers: "10.0.2.3,10.0.2.4" }).code).toBe(0);
    expect(judge("BGP-01", [fx("BGP-01", "fail", "speaker-5v7cf-frr2-active.summary.json")], { peers: "10.0.2.3,10.0.2.4" }).code).toBe(1);
    const bfd = judge("BGP-03", [fmt("frr-show-bfd-peers.txt", "frr1.txt")], { peers: "10.0.2.3,10.0.2.4", timers: "300/300/3" });
    expect(bfd.code, bfd.out).toBe(1);
    expect(bfd.out).toMatch(/frr1: BFD session with 10\.0\.2\.4: status down/);
    const ipsec = judge("IPSEC-05", [fx("IPSEC-05", "pass", "sas-before.swanctl"), fx("IPSEC-05", "pass", "sas-after.swanctl"), fx("IPSEC-05", "pass", "client.json")], { child: "mytunnel" });
    expect(ipsec.code, ipsec.out).toBe(0);
    const klvs = judge("KLVS-01", [fx("KLVS-01", "pass", "ipvsadm-Ln.txt"), fx("KLVS-01", "pass", "ingresses.yaml"), fx("KLVS-01", "pass", "endpoints.json")], {});
    expect(klvs.code, klvs.out).toBe(0);
    expect(judge("MIPAM-04", [fx("MIPAM-04", "pass", "before.json"), fx("MIPAM-04", "pass", "after.json")], {}).code).toBe(0);
  });

  it("a pasted excerpt gives a verdict that says it was read tolerantly, with the skipped lines", () => {
    const lines = loadFixture("SVC-02", "pass", "nginx-service-3ep.iptables-save").text.split("\n").filter((l) => l.startsWith("-A KUBE-S"));
    const r = judge("SVC-02", [{ path: "paste.txt", text: ["# from the customer's node", ...lines, "..."].join("\n") }], { service: "10.43.180.238:80" });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/- tolerant parse of paste\.txt: \d+ warning\(s\)/);
    expect(r.out).toMatch(/warnings \(lines skipped or read by a guess\):\n {2}paste\.txt line 1: "# from the customer's node"/);
    expect(r.out).toMatch(/evidence: paste\.txt \(.*, read tolerantly\)/);
  });
});

describe("judge: cannot decide (exit 2) names what is missing", () => {
  it.each([
    ["an unknown id", "NOPE-01", [fmt("proc-net-ip_vs.txt")], {}, /unknown or unsupported behaviour id "NOPE-01": the judge supports SVC-02/],
    ["a file no parser recognises", "SVC-02", [{ path: "a.txt", text: "just words\n" }], {}, /a\.txt: no parser recognises this file/],
    ["one kind of evidence where three are needed", "KLVS-01", [fmt("proc-net-ip_vs.txt")], {}, /KLVS-01 cannot decide:\n {2}- missing evidence: a file of kubectl get lvsingress\/ericingress -o yaml: the LvsIngress\/EricIngress CRs\n {2}- missing evidence: a file of kubectl get endpoints -o json/],
    ["one swanctl sample where two are needed", "IPSEC-05", [fx("IPSEC-05", "pass", "sas-after.swanctl"), fx("IPSEC-05", "pass", "client.json")], { child: "net-net" }, /missing evidence: 2 files \(got 1\) of swanctl --list-sas, or ipsec statusall \/ ipsec status: two samples, before and after/],
    ["a required parameter", "ETP-05", [fmt("kube-proxy-xlb.iptables-save")], { policy: "Local", vip: "172.18.255.200:80" }, /missing --pod-cidr: .*\n {2}- missing --local-endpoints/],
    ["evidence of the wrong kind", "SVC-02", [fmt("proc-net-ip_vs.txt", "ipvs.txt"), fmt("kube-proxy-xlb.iptables-save")], {}, /ipvs\.txt: ipvsadm -Ln, or \/proc\/net\/ip_vs is not evidence SVC-02 uses/],
    ["a file that looks right but cannot be read", "SVC-02", [{ path: "cut.txt", text: "*nat\n-A KUBE-SERVICES -d \"unterminated\n" }], {}, /cut\.txt: looks like iptables-save, .* but cannot be read: iptables-save: no chain or rule found \(2 line\(s\) skipped: line 2: unterminated quoted string/],
    ["no files", "SVC-02", [], {}, /SVC-02 needs evidence files: iptables-save/],
  ])("%s", (_w, id, files, params, msg) => {
    const r = judge(id, files, params as Record<string, string>);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/^cannot decide: /);
    expect(r.out).toMatch(msg);
    expect(r.out).not.toMatch(/\n\s+at /); // never a stack trace
  });

  it("options: --name value and --name=value", () => {
    expect(splitArgs(["SVC-02", "a.txt", "--service", "10.0.0.1:80", "--endpoints=", "b.txt"])).toEqual({ id: "SVC-02", files: ["a.txt", "b.txt"], params: { service: "10.0.0.1:80", endpoints: "" } });
    expect(JUDGES.map((j) => j.id.split("-")[0])).toEqual(expect.arrayContaining(["SVC", "ETP", "MLB", "BGP", "IPSEC", "KLVS", "MIPAM", "NVIPAM"]));
  });
});

describe("judge fuzz: mangled evidence gives 0, 1 or 2 and a message, never an internal error", () => {
  it.each([
    ["SVC-02", [fmt("kube-proxy-5-decimals.iptables-save")], {}],
    ["SVC-02", [fmt("kube-proxy-5-decimals.iptables-L-n.txt")], {}],
    ["ETP-05", [fmt("kube-proxy-xlb.iptables-save")], { policy: "Local", vip: "172.18.255.200:80", "pod-cidr": "10.244.0.0/16", "local-endpoints": "10.244.0.12:8080" }],
    ["KLVS-01", [fmt("proc-net-ip_vs.txt"), fx("KLVS-01", "pass", "ingresses.yaml"), fx("KLVS-01", "pass", "endpoints.json")], {}],
    ["IPSEC-05", [fx("IPSEC-05", "pass", "sas-before.swanctl"), fmt("ipsec-statusall.txt"), fx("IPSEC-05", "pass", "client.json")], { child: "home" }],
    ["BGP-03", [fmt("frr-show-bfd-peers.txt")], { peers: "10.0.2.3" }],
    ["MLB-02", [fx("MLB-02", "pass", "ip-neigh-vip100.txt")], { vip: "10.123.123.100", "node-macs": "vm2=52:54:00:c0:87:a0" }],
  ] as const)("%s", (id, files, params) => {
    const rnd = prng(7);
    for (let i = 0; i < 120; i++) {
      const k = Math.floor(rnd() * files.length);
      const mangled = files.map((f, j) => (j === k ? { ...f, text: mangle(f.text, rnd) } : f));
      const r = judge(id, mangled, { ...params });
      expect([0, 1, 2]).toContain(r.code);
      expect(r.out, r.out).not.toMatch(/internal error|\n\s+at /);
    }
  });
});

describe("judge CLI (harness/cli/judge.ts)", () => {
  const dir = mkdtempSync(join(tmpdir(), "nc-judge-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const cli = join(import.meta.dirname, "../cli/judge.ts");

  it("prints the verdict and exits 0/1/2", () => {
    const good = join(dir, "node1.txt");
    writeFileSync(good, loadFormat("kube-proxy-5-decimals.iptables-save").text);
    expect(execFileSync(process.execPath, [cli, "SVC-02", good], { encoding: "utf8" })).toMatch(/^SVC-02: PASS/);
    const bad = join(dir, "bad.txt");
    writeFileSync(bad, loadFixture("SVC-02", "fail", "wrong-probability.iptables-save").text);
    expect(spawnSync(process.execPath, [cli, "SVC-02", bad], { encoding: "utf8" }).status).toBe(1);
    const missing = spawnSync(process.execPath, [cli, "SVC-02", join(dir, "nope.txt")], { encoding: "utf8" });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/cannot decide: .*nope\.txt: no such file/);
  });
});
