import { describe, expect, it } from "vitest";
import { loadFixture } from "../evidence/fixtures.ts";
import { jsonValue } from "../evidence/parsers/common.ts";
import { parseIptablesS, parseIptablesSave } from "../evidence/parsers/iptables-save.ts";
import { parsePods } from "../evidence/parsers/kubectl-get.ts";
import { parseTcpdump } from "../evidence/parsers/tcpdump.ts";
import { behaviour } from "../report/allure.ts";
import { etp01, etp02, etp03, etp04, etp05, etp06, etp07, etp07InputSchema, etpPhasesSchema, extChainFor, synSources } from "./etp.ts";
import { nginxPodIp } from "./mlb.ts";
import { formatVerdict } from "./verdict.ts";

type Kind = "pass" | "fail";
const text = (id: string, kind: Kind, name: string) => loadFixture(id, kind, name).text;
const CLIENT = "10.123.123.254"; // the external host, the k3s lab
const BACKEND = "10.42.1.21"; // the backend pod captured in, the k3s lab
const syns = (id: string, kind: Kind, name: string) => synSources(parseTcpdump(text(id, kind, name)), BACKEND, 8080);
const answers = (t: string) => [...t.matchAll(/^.*pod IP address.*$/gm)].map((m) => nginxPodIp(m[0])!);

describe("ETP-01 Cluster: the backend sees a SNATed source", () => {
  it("ETP-01 passes on the Cluster capture (the lab capture: 10.42.1.1) and on /clientip", async () => {
    await behaviour("ETP-01", "R");
    const v = etp01({ clientIp: CLIENT, seen: syns("ETP-01", "pass", "backend-tcpdump-cluster.txt") });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.measurements).toEqual({ seen: "10.42.1.1", verdict: "SNAT" });
    expect(etp01({ clientIp: CLIENT, seen: [text("ETP-01", "pass", "clientip-cluster.txt")] }).ok).toBe(true);
  });

  it("ETP-01 fails on the Local capture (the lab capture) naming the client's own address", async () => {
    await behaviour("ETP-01", "R");
    const v = etp01({ clientIp: CLIENT, seen: syns("ETP-01", "fail", "backend-tcpdump-local.txt") });
    expect(v.reasons).toEqual(["backend saw the external client's own address 10.123.123.254:38124: not source-NATed (externalTrafficPolicy Cluster masquerades)"]);
    expect(v.measurements?.verdict).toBe("preserved");
    expect(etp01({ clientIp: CLIENT, seen: [text("ETP-01", "fail", "clientip-local.txt")] }).ok).toBe(false);
    expect(etp01({ clientIp: CLIENT, seen: [] }).reasons).toEqual(["no source seen by the backend: no request reached it"]);
  });
});

describe("ETP-02 Local: the backend sees the exact client address", () => {
  it("ETP-02 passes on the Local capture (the lab capture) and on /clientip", async () => {
    await behaviour("ETP-02", "R");
    const v = etp02({ clientIp: CLIENT, seen: syns("ETP-02", "pass", "backend-tcpdump-local.txt") });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.measurements?.verdict).toBe("preserved");
    expect(etp02({ clientIp: CLIENT, seen: [text("ETP-02", "pass", "clientip-local.txt")] }).ok).toBe(true);
  });

  it("ETP-02 fails on the Cluster capture naming the SNAT source", async () => {
    await behaviour("ETP-02", "R");
    const v = etp02({ clientIp: CLIENT, seen: syns("ETP-02", "fail", "backend-tcpdump-cluster.txt") });
    expect(v.reasons).toEqual(["backend saw 10.42.1.1:27659, not the external client's address 10.123.123.254: the source was NATed (SNAT) on the way"]);
  });

  it("ETP-02 fails on a neighbour of the client in the same /24: the comparison is exact, never by subnet", async () => {
    await behaviour("ETP-02", "R");
    const v = etp02({ clientIp: CLIENT, seen: [text("ETP-02", "fail", "clientip-neighbour.txt")] });
    expect(v.reasons).toEqual(["backend saw 10.123.123.253:38124, not the external client's address 10.123.123.254: the source was NATed (SNAT) on the way"]);
    expect(etp02({ clientIp: CLIENT, seen: ["<html>502</html>"] }).reasons[0]).toMatch(/is not "ip:port"/);
  });
});

describe("ETP-03 Local: external requests only reach pods on the announcing node", () => {
  const pods = () => parsePods(text("ETP-03", "pass", "pods.txt"));

  it("ETP-03 passes on the lab capture: three answers from vm2's pods", async () => {
    await behaviour("ETP-03", "R");
    const v = etp03({ announcingNode: "vm2", pods: pods(), answeredBy: answers(text("ETP-03", "pass", "curl-external.txt")) });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.reasons).toEqual(["3 external request(s) answered only by pods on vm2: 10.42.1.20, 10.42.1.21"]);
  });

  it("ETP-03 fails naming the pod on another node", async () => {
    await behaviour("ETP-03", "R");
    const v = etp03({ announcingNode: "vm2", pods: pods(), answeredBy: answers(text("ETP-03", "fail", "curl-external-remote.txt")) });
    expect(v.reasons).toEqual(["10.42.0.25 on vm1 answered 1 external request(s); with Local only pods on the announcing node vm2 may"]);
  });
});

describe("ETP-04 Local: in-cluster callers are still balanced cluster-wide", () => {
  const pods = () => parsePods(text("ETP-04", "pass", "pods.txt"));

  it("ETP-04 passes on the lab capture: answers from vm1 and vm3 while vm2 announces", async () => {
    await behaviour("ETP-04", "R");
    const v = etp04({ announcingNode: "vm2", pods: pods(), answeredBy: answers(text("ETP-04", "pass", "curl-in-cluster.txt")) });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.measurements?.nodes).toBe(2);
  });

  it("ETP-04 fails when in-cluster calls stay on the announcing node", async () => {
    await behaviour("ETP-04", "R");
    const v = etp04({ announcingNode: "vm2", pods: pods(), answeredBy: answers(text("ETP-04", "fail", "curl-in-cluster-local-only.txt")) });
    expect(v.reasons).toEqual(["all 2 in-cluster request(s) were answered on vm2: in-cluster traffic was kept to the announcing node vm2 (KUBE-SVL), not balanced cluster-wide (KUBE-SVC)"]);
  });
});

describe("ETP-05 KUBE-EXT rule shape for Cluster and Local", () => {
  const ext = "KUBE-EXT-W47NQ5DDJKUWFTVY";
  const nat = (k: Kind, n: string) => parseIptablesS(text("ETP-05", k, n), "nat");
  const local = { policy: "Local" as const, extChain: ext, podCidr: "10.42.0.0/16", localEndpoints: ["10.42.0.25:8080", "10.42.0.26:8080"] }; // vm1's pods, the lab

  it("ETP-05 passes on the lab's Cluster chain and Local chains (vm1's endpoints)", async () => {
    await behaviour("ETP-05", "R");
    const c = etp05({ nat: nat("pass", "ext-cluster.iptables-S"), policy: "Cluster", extChain: ext });
    expect(c.ok, formatVerdict(c)).toBe(true);
    const l = etp05({ nat: nat("pass", "ext-local.iptables-S"), ...local });
    expect(l.ok, formatVerdict(l)).toBe(true);
    expect(l.reasons[0]).toMatch(/KUBE-SVL-W47NQ5DDJKUWFTVY \(10\.42\.0\.25:8080, 10\.42\.0\.26:8080\)$/);
  });

  it("ETP-05 finds the KUBE-EXT chain from the VIP's KUBE-SERVICES rule in a full iptables-save", () => {
    const save = parseIptablesSave(loadFixture("MLB-04", "pass", "vm1-before.iptables-save").text);
    expect(extChainFor(save.tables["nat"]!, "10.123.123.100", 80)).toBe(ext);
    expect(extChainFor(save.tables["nat"]!, "10.123.123.100", 443)).toBeUndefined();
  });

  it("ETP-05 fails on a Cluster chain without the masquerade mark", async () => {
    await behaviour("ETP-05", "R");
    const v = etp05({ nat: nat("fail", "ext-cluster-no-masq.iptables-S"), policy: "Cluster", extChain: ext });
    expect(v.reasons[0]).toBe("KUBE-EXT-W47NQ5DDJKUWFTVY has 1 rules, expected 2 (KUBE-MARK-MASQ, then KUBE-SVC-W47NQ5DDJKUWFTVY)");
    expect(v.reasons[1]).toMatch(/^KUBE-EXT-W47NQ5DDJKUWFTVY rule 1 must mark every packet for masquerade \(-j KUBE-MARK-MASQ\): line 2: -A KUBE-EXT/);
  });

  it("ETP-05 fails when KUBE-SVL lists a remote endpoint", async () => {
    await behaviour("ETP-05", "R");
    const v = etp05({ nat: nat("fail", "ext-local-remote-endpoint.iptables-S"), ...local });
    expect(v.reasons).toEqual(["KUBE-SVL-W47NQ5DDJKUWFTVY lists 10.42.1.20:8080, which is not an endpoint on this node (local: 10.42.0.25:8080, 10.42.0.26:8080)", "chains judged as the KUBE-EXT/KUBE-SVL era (kube-proxy 1.24 and later)"]);
  });

  it("ETP-05 tells the two shapes apart: Local rules judged as Cluster and Cluster rules as Local fail", async () => {
    await behaviour("ETP-05", "R");
    expect(etp05({ nat: nat("pass", "ext-local.iptables-S"), policy: "Cluster", extChain: ext }).reasons).toContain("KUBE-EXT-W47NQ5DDJKUWFTVY jumps to KUBE-SVL-W47NQ5DDJKUWFTVY: that is the Local shape");
    expect(etp05({ nat: nat("pass", "ext-cluster.iptables-S"), ...local }).reasons).toContain("KUBE-EXT-W47NQ5DDJKUWFTVY masquerades all traffic (line 2): external sources would be SNATed under Local");
  });
});

describe("ETP-06 switching Cluster ↔ Local switches the behaviour both ways (*ext*)", () => {
  const phases = (k: Kind, n: string) => etpPhasesSchema.parse(jsonValue("etp-phases", text("ETP-06", k, n)));

  it("ETP-06 passes: SNAT, preserved, SNAT again", async () => {
    await behaviour("ETP-06", "R");
    const v = etp06(phases("pass", "phases.json"));
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.reasons).toHaveLength(3);
  });

  it("ETP-06 fails naming the phase where switching back to Cluster did not SNAT", async () => {
    await behaviour("ETP-06", "R");
    const v = etp06(phases("fail", "phases-stuck-local.json"));
    expect(v.reasons).toEqual(["phase 3 (Cluster): backend saw the external client's own address 10.123.123.254:38412: not source-NATed (externalTrafficPolicy Cluster masquerades)", "phase 3 (Cluster): backend saw the external client's own address 10.123.123.254:38460: not source-NATed (externalTrafficPolicy Cluster masquerades)", "phase 3 (Cluster): backend saw the external client's own address 10.123.123.254:38511: not source-NATed (externalTrafficPolicy Cluster masquerades)"]);
    expect(etp06(phases("pass", "phases.json").slice(0, 2)).reasons).toEqual(["no Local → Cluster switch in the phases"]);
  });
});

describe("ETP-07 healthCheckNodePort answers only where an endpoint lives (*ext*)", () => {
  const input = (k: Kind, n: string) => etp07InputSchema.parse(jsonValue("etp07", text("ETP-07", k, n)));

  it("ETP-07 passes: 200 with localEndpoints 2 on vm1/vm2, 503 on vm3", async () => {
    await behaviour("ETP-07", "R");
    const v = etp07(input("pass", "healthz.json"));
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.reasons).toContain("vm3:31754/healthz: 503 localEndpoints 0 (0 endpoint(s) there)");
  });

  it("ETP-07 fails naming the node without endpoints that answers 200", async () => {
    await behaviour("ETP-07", "R");
    const v = etp07(input("fail", "healthz-vm3-200.json"));
    expect(v.reasons).toEqual(["vm3:31754/healthz answered 200 although no endpoint lives on vm3: load balancers would send traffic there"]);
    const { healthCheckNodePort: _h, ...rest } = input("pass", "healthz.json");
    expect(etp07({ ...rest, healthCheckNodePort: undefined }).reasons[0]).toMatch(/no healthCheckNodePort/);
  });
});
