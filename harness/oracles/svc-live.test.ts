import { describe, expect, it } from "vitest";
import { loadFixture } from "../evidence/fixtures.ts";
import { parseIptablesSave } from "../evidence/parsers/iptables-save.ts";
import { behaviour } from "../report/allure.ts";
import { combine, svc01Clients, svc03, svc03Reach } from "./svc.ts";
import { formatVerdict, verdict } from "./verdict.ts";

// the helpers the live services suite judges with: several client pods (SVC-01), reachability of a
// NodePort through every node (SVC-03), several partial verdicts as one

describe("SVC-01 over several client pods", () => {
  const ok = { name: "client-a on worker", clientPodIP: "10.244.1.5", replies: ["10.244.1.5:40000", "10.244.1.5:40002"] };

  it("SVC-01 passes when every connection of every client shows the client's own pod IP", async () => {
    await behaviour("SVC-01", "R");
    const v = svc01Clients([ok, { name: "client-b on control-plane", clientPodIP: "10.244.0.7", replies: ["10.244.0.7:51000"] }]);
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.reasons).toEqual([
      "client-a on worker: all 2 connection(s) reached a backend that saw the client pod IP 10.244.1.5: DNAT only, no SNAT",
      "client-b on control-plane: all 1 connection(s) reached a backend that saw the client pod IP 10.244.0.7: DNAT only, no SNAT",
    ]);
  });

  it("SVC-01 fails and names the client whose connections were source-NATed, and a failed connection", async () => {
    await behaviour("SVC-01", "R");
    const v = svc01Clients([ok, { name: "client-b", clientPodIP: "10.244.2.3", replies: ["10.244.2.3:1", "172.18.0.3:2", "172.18.0.3:3", ""] }]);
    expect(v.ok).toBe(false);
    expect(v.reasons.join("\n")).toMatch(/^client-b: 2 of 4 connection\(s\): backend saw source 172\.18\.0\.3:<port>, not the client pod IP 10\.244\.2\.3: the connection was source-NATed/m);
    expect(v.reasons.join("\n")).toMatch(/client-b: 1 of 4 connection\(s\): backend reply "" is not "ip:port"/);
    expect(v.reasons.join("\n")).not.toMatch(/client-a/);
    expect(svc01Clients([]).reasons).toEqual(["no client pod"]);
  });
});

describe("SVC-03 NodePort reachable through every node", () => {
  const backends = ["web-1", "web-2"];

  it("SVC-03 passes when every node's address is answered by backends only", async () => {
    await behaviour("SVC-03", "R");
    const v = svc03Reach({ nodePort: 30080, backends, answers: { cp: ["web-1", "web-2"], w1: ["web-2", "web-2"] } });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.reasons).toEqual(["cp:30080 answered 2/2 by backends web-1, web-2", "w1:30080 answered 2/2 by backends web-2"]);
  });

  it("SVC-03 fails and names the node that did not answer, and a stranger answering", async () => {
    await behaviour("SVC-03", "R");
    const v = svc03Reach({ nodePort: 30080, backends, answers: { cp: ["web-1", ""], w1: ["other"], w2: [] } });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual([
      "cp: 1 of 2 request(s) to port 30080 got no answer",
      "w1: answered by other, not a backend of the service (web-1, web-2)",
      "w2: no request made to its NodePort 30080",
    ]);
  });
});

describe("combine", () => {
  it("SVC-02 combine: red when one part is red, every reason kept with its label, measurements merged", async () => {
    await behaviour("SVC-02", "R");
    const a = verdict("SVC-02", [], ["fine"], { endpoints: 3 });
    const b = verdict("SVC-02", ["broken"]);
    expect(combine("SVC-02", [{ label: "n1", v: a }])).toEqual({ id: "SVC-02", ok: true, reasons: ["n1: fine"], measurements: { "n1:endpoints": 3 } });
    expect(combine("SVC-02", [{ label: "n1", v: a }, { label: "n2", v: b }])).toMatchObject({ ok: false, reasons: ["n2: broken"] });
  });
});

describe("SVC-03 localhost NodePorts (iptables)", () => {
  it("SVC-03 accepts kube-proxy's extra -d 127.0.0.0/8 nfacct rule for the same NodePort, and still fails without the node-wide rule", async () => {
    await behaviour("SVC-03", "R");
    const text = loadFixture("SVC-03", "pass", "vm1.iptables-save").text;
    const rule = text.split("\n").find((l) => /^-A KUBE-NODEPORTS .*--dport 30000 .*-j KUBE-EXT-/.test(l))!;
    const localhost = rule.replace("-A KUBE-NODEPORTS ", "-A KUBE-NODEPORTS -d 127.0.0.0/8 ").replace(" -j KUBE-EXT-", " -m nfacct --nfacct-name  localhost_nps_accepted_pkts -j KUBE-EXT-");
    const base = { nodePort: 30000, clusterIP: "10.43.143.108", port: 80 } as const;
    const v = svc03({ ...base, nodes: { vm1: parseIptablesSave(text.replace(rule, `${localhost}\n${rule}`)) } });
    expect(v.ok, formatVerdict(v)).toBe(true);
    const only = svc03({ ...base, nodes: { vm1: parseIptablesSave(text.replace(rule, localhost)) } });
    expect(only.reasons).toEqual(["vm1: no KUBE-NODEPORTS rule -p tcp --dport 30000 jumping to a KUBE-EXT-* chain"]);
  });
});
