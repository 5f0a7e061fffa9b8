import { describe, expect, it } from "vitest";
import { loadFixture, type FixtureKind } from "../evidence/fixtures.ts";
import { parseIptablesSave } from "../evidence/parsers/iptables-save.ts";
import { parseIpvsadm } from "../evidence/parsers/ipvsadm.ts";
import { parseKeepalived } from "../evidence/parsers/keepalived.ts";
import { parseKlvsIngresses } from "../evidence/parsers/klvs-ingress.ts";
import { parseEndpointsObjects, parseNodeObjects, parsePods } from "../evidence/parsers/kubectl-get.ts";
import { parseSysctl } from "../evidence/parsers/sysctl.ts";
import { behaviour } from "../report/allure.ts";
import { klvs01, klvs02, klvs03, klvs04, klvs05, klvs06, klvs07, klvs08, klvs09, VipTimelineSchema, type RouterPlacement } from "./klvs.ts";
import { formatVerdict } from "./verdict.ts";

const text = (id: string, kind: FixtureKind, name: string) => loadFixture(id, kind, name).text;
const table = (id: string, kind: FixtureKind, name: string) => parseIpvsadm(text(id, kind, name));
const crs = (id: string, kind: FixtureKind, name: string) => parseKlvsIngresses(text(id, kind, name));
const eps = (id: string, kind: FixtureKind, name: string) => parseEndpointsObjects(text(id, kind, name));

describe("oracles/klvs", () => {
  const k1 = () => ({ ingresses: crs("KLVS-01", "pass", "ingresses.yaml"), endpoints: eps("KLVS-01", "pass", "endpoints.json") });

  it("KLVS-01 passes on the lab's IPVS table for its EricIngresses", async () => {
    await behaviour("KLVS-01", "R");
    const v = klvs01({ ...k1(), table: table("KLVS-01", "pass", "ipvsadm-Ln.txt") });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.measurements).toEqual({ virtualServices: 4, realServers: 6 });
  });

  it("KLVS-01 passes on the lab's sample LvsIngress (not-ready endpoints are no real servers)", async () => {
    await behaviour("KLVS-01", "R");
    const v = klvs01({ ingresses: crs("KLVS-01", "pass", "samba7-lvsingress.yaml"), endpoints: eps("KLVS-01", "pass", "samba7-endpoints.json"), table: table("KLVS-01", "pass", "samba7-ipvsadm-Ln.txt") });
    expect(v.ok, formatVerdict(v)).toBe(true);
  });

  it("KLVS-01 names a missing real server", async () => {
    await behaviour("KLVS-01", "R");
    const v = klvs01({ ...k1(), table: table("KLVS-01", "fail", "missing-real-server.txt") });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual(["TCP 10.232.35.199:1636: missing real server 192.168.182.140:1636"]);
  });

  it("KLVS-01 names a wrong scheduler", async () => {
    await behaviour("KLVS-01", "R");
    const v = klvs01({ ...k1(), table: table("KLVS-01", "fail", "wrong-scheduler.txt") });
    expect(v.reasons).toEqual(["TCP 10.232.35.199:4569: scheduler rr, want sh (EricIngress/mscorba)"]);
  });

  it("KLVS-01 names a forward method other than Masq", async () => {
    await behaviour("KLVS-01", "R");
    const v = klvs01({ ...k1(), table: table("KLVS-01", "fail", "forward-route.txt") });
    expect(v.reasons).toEqual(["TCP 10.232.35.199:4570: real server 192.168.26.214:4570 forward Route, want Masq"]);
  });

  it("KLVS-01 names a virtual service no CR asks for, and a missing one", async () => {
    await behaviour("KLVS-01", "R");
    const v = klvs01({ ...k1(), table: table("KLVS-01", "fail", "extra-virtual-service.txt") });
    expect(v.reasons).toEqual(["extra virtual service TCP 10.232.35.199:8443 (rr): no CR asks for it"]);
    const gone = klvs01({ ...k1(), table: table("KLVS-02", "pass", "after.txt") });
    expect(gone.reasons).toEqual([
      "missing virtual service TCP 10.232.35.199:4569 (sh, EricIngress/mscorba)",
      "missing virtual service TCP 10.232.35.199:4570 (sh, EricIngress/mscorba)",
    ]);
  });

  const k2 = () => {
    const all = crs("KLVS-02", "pass", "ingresses.yaml");
    return { deleted: all.find((c) => c.metadata.name === "mscorba")!, remaining: all.filter((c) => c.metadata.name !== "mscorba"), before: table("KLVS-02", "pass", "before.txt") };
  };

  it("KLVS-02 passes when the delete removed exactly the CR's virtual services", async () => {
    await behaviour("KLVS-02", "R");
    const v = klvs02({ ...k2(), after: table("KLVS-02", "pass", "after.txt") });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.measurements).toEqual({ removed: 2 });
  });

  it("KLVS-02 names a virtual service of another CR that went with it", async () => {
    await behaviour("KLVS-02", "R");
    const v = klvs02({ ...k2(), after: table("KLVS-02", "fail", "collateral.txt") });
    expect(v.reasons).toEqual(["not part of EricIngress/mscorba: TCP 10.232.35.199:1636 (lc) is on before but not on after"]);
  });

  it("KLVS-02 names the deleted CR's services that are still programmed", async () => {
    await behaviour("KLVS-02", "R");
    const v = klvs02({ ...k2(), after: table("KLVS-02", "fail", "not-removed.txt") });
    expect(v.reasons).toEqual([
      "TCP 10.232.35.199:4569 of deleted EricIngress/mscorba is still programmed",
      "TCP 10.232.35.199:4570 of deleted EricIngress/mscorba is still programmed",
    ]);
  });

  const k3 = () => {
    const others = crs("KLVS-01", "pass", "ingresses.yaml").filter((c) => c.metadata.name === "mscorba");
    return {
      previous: crs("KLVS-03", "pass", "previous.yaml")[0]!,
      edited: crs("KLVS-03", "pass", "edited.yaml")[0]!,
      others,
      endpoints: eps("KLVS-03", "pass", "endpoints.json"),
      before: table("KLVS-03", "pass", "before.txt"),
      routerPodsBefore: parsePods(text("KLVS-03", "pass", "router-pods-before.txt")),
    };
  };

  it("KLVS-03 passes when the scheduler edit is applied and no router pod restarted", async () => {
    await behaviour("KLVS-03", "R");
    const v = klvs03({ ...k3(), after: table("KLVS-03", "pass", "after.txt"), routerPodsAfter: parsePods(text("KLVS-03", "pass", "router-pods-after.txt")) });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.reasons).toContain("edit: - TCP 10.232.35.199:1389 lc → 1389");
  });

  it("KLVS-03 names a router pod that restarted", async () => {
    await behaviour("KLVS-03", "R");
    const v = klvs03({ ...k3(), after: table("KLVS-03", "pass", "after.txt"), routerPodsAfter: parsePods(text("KLVS-03", "fail", "router-pods-after.txt")) });
    expect(v.reasons).toEqual(["router pod klvs-router-0 restarted (restarts 0 → 1)"]);
  });

  it("KLVS-03 names an edit that was not applied", async () => {
    await behaviour("KLVS-03", "R");
    const v = klvs03({ ...k3(), after: table("KLVS-03", "fail", "after-not-applied.txt"), routerPodsAfter: parsePods(text("KLVS-03", "pass", "router-pods-after.txt")) });
    expect(v.reasons).toEqual(["TCP 10.232.35.199:1389: scheduler lc, want rr (EricIngress/opendj)"]);
  });

  it("KLVS-03 names a before table that did not match the previous CR", async () => {
    await behaviour("KLVS-03", "R");
    const v = klvs03({ ...k3(), before: table("KLVS-03", "pass", "after.txt"), after: table("KLVS-03", "pass", "after.txt"), routerPodsAfter: parsePods(text("KLVS-03", "pass", "router-pods-after.txt")) });
    expect(v.reasons).toEqual(["before the edit: TCP 10.232.35.199:1389: scheduler rr, want lc (EricIngress/opendj)"]);
  });

  const k4 = () => ({ ingresses: crs("KLVS-04", "pass", "ingresses.yaml"), endpointsBefore: eps("KLVS-04", "pass", "endpoints-before.json"), endpointsAfter: eps("KLVS-04", "pass", "endpoints-after.json") });

  it("KLVS-04 passes when scaling 1 → 3 backends gives 3 real servers per service", async () => {
    await behaviour("KLVS-04", "R");
    const v = klvs04({ ...k4(), after: table("KLVS-04", "pass", "after.txt") });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.measurements).toEqual({ realServersBefore: 2, realServersAfter: 6 });
  });

  it("KLVS-04 names the real servers scaling did not add", async () => {
    await behaviour("KLVS-04", "R");
    const v = klvs04({ ...k4(), after: table("KLVS-04", "fail", "after.txt") });
    expect(v.reasons).toEqual([
      "TCP 10.232.35.199:4569: missing real server 192.168.140.22:4569",
      "TCP 10.232.35.199:4569: missing real server 192.168.71.9:4569",
      "TCP 10.232.35.199:4570: missing real server 192.168.140.22:4570",
      "TCP 10.232.35.199:4570: missing real server 192.168.71.9:4570",
    ]);
  });

  it("KLVS-05 passes when both router nodes hold the same programming (counters differ)", async () => {
    await behaviour("KLVS-05", "R");
    const v = klvs05({ tables: [{ node: "router-1", table: table("KLVS-05", "pass", "router-1.txt") }, { node: "router-2", table: table("KLVS-05", "pass", "router-2.txt") }] });
    expect(v.ok, formatVerdict(v)).toBe(true);
  });

  it("KLVS-05 names the virtual service one router node lacks", async () => {
    await behaviour("KLVS-05", "R");
    const v = klvs05({ tables: [{ node: "router-1", table: table("KLVS-05", "pass", "router-1.txt") }, { node: "router-2", table: table("KLVS-05", "fail", "router-2.txt") }] });
    expect(v.reasons).toEqual(["TCP 10.232.35.199:4570 (sh) is on router-1 but not on router-2"]);
  });

  const timeline = (kind: FixtureKind, name: string) => VipTimelineSchema.parse(JSON.parse(text("KLVS-06", kind, name)));

  it("KLVS-06 passes when the VIP moves within the bound and new connections work", async () => {
    await behaviour("KLVS-06", "R");
    const v = klvs06(timeline("pass", "timeline.json"), { boundMs: 10_000 });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.measurements).toEqual({ boundMs: 10_000, established: "reset", vipMoveMs: 3500 });
  });

  const vrrp = (router2: FixtureKind) => [
    { node: "router-1", address: "10.232.35.41", conf: parseKeepalived(text("KLVS-06", "pass", "router-1.keepalived.conf")) },
    { node: "router-2", address: "10.232.35.31", conf: parseKeepalived(text("KLVS-06", router2, "router-2.keepalived.conf")) },
  ];

  it("KLVS-06 passes with the lab's keepalived pair behind the VIP", async () => {
    await behaviour("KLVS-06", "R");
    const v = klvs06(timeline("pass", "timeline.json"), { boundMs: 10_000, vrrp: vrrp("pass") });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.reasons[0]).toBe("keepalived: router-1 and router-2 share VRRP instance id 106 for 10.232.35.199, unicast to each other");
  });

  it("KLVS-06 names mismatched VRRP router ids behind a split brain", async () => {
    await behaviour("KLVS-06", "R");
    const v = klvs06(timeline("fail", "split-brain.json"), { boundMs: 10_000, vrrp: vrrp("fail") });
    expect(v.reasons[0]).toBe("the router nodes use different virtual_router_id for 10.232.35.199: router-1 106, router-2 107");
  });

  it("KLVS-06 names a VIP that never moved", async () => {
    await behaviour("KLVS-06", "R");
    const v = klvs06(timeline("fail", "never-moved.json"), { boundMs: 10_000 });
    expect(v.reasons).toEqual(["the VIP 10.232.35.199 never moved off router-2", "no new connection was tried after the VIP moved"]);
  });

  it("KLVS-06 names a VIP on two nodes at once, and a move slower than the bound", async () => {
    await behaviour("KLVS-06", "R");
    const v = klvs06(timeline("fail", "split-brain.json"), { boundMs: 10_000 });
    expect(v.reasons).toEqual(["at 4000 ms the VIP 10.232.35.199 is on 2 nodes (router-1, router-2)", "at 6000 ms the VIP 10.232.35.199 is on 2 nodes (router-1, router-2)"]);
    expect(klvs06(timeline("pass", "timeline.json"), { boundMs: 3000 }).reasons).toEqual(["the VIP moved after 3500 ms, more than the bound 3000 ms"]);
  });

  it("KLVS-07 passes when the flushed table is rebuilt as it was", async () => {
    await behaviour("KLVS-07", "R");
    const v = klvs07({ before: table("KLVS-07", "pass", "before.txt"), flushed: table("KLVS-07", "pass", "flushed.txt"), after: table("KLVS-07", "pass", "after.txt"), rebuiltAfterMs: 4200, boundMs: 30_000 });
    expect(v.ok, formatVerdict(v)).toBe(true);
  });

  it("KLVS-07 names a virtual service that was not rebuilt", async () => {
    await behaviour("KLVS-07", "R");
    const v = klvs07({ before: table("KLVS-07", "pass", "before.txt"), flushed: table("KLVS-07", "pass", "flushed.txt"), after: table("KLVS-07", "fail", "after.txt") });
    expect(v.reasons).toEqual(["not rebuilt: TCP 10.232.35.199:1636 (lc) is on before but not on after"]);
    const noFlush = klvs07({ before: table("KLVS-07", "pass", "before.txt"), flushed: table("KLVS-07", "pass", "before.txt"), after: table("KLVS-07", "pass", "after.txt") });
    expect(noFlush.reasons).toEqual(["the table still held 4 virtual services right after the flush: the flush did not happen"]);
  });

  it("KLVS-08 passes with the tunl0 masquerade rule and IPVS conntrack on", async () => {
    await behaviour("KLVS-08", "R");
    const v = klvs08({ node: "router-1", iptables: parseIptablesSave(text("KLVS-08", "pass", "iptables-save.txt")), sysctl: parseSysctl(text("KLVS-08", "pass", "sysctl.txt")) });
    expect(v.ok, formatVerdict(v)).toBe(true);
  });

  it("KLVS-08 names the missing masquerade rule and conntrack = 0", async () => {
    await behaviour("KLVS-08", "R");
    const v = klvs08({ node: "router-1", iptables: parseIptablesSave(text("KLVS-08", "fail", "iptables-save.txt")), sysctl: parseSysctl(text("KLVS-08", "pass", "sysctl.txt")) });
    expect(v.reasons).toEqual([
      'router-1: nat POSTROUTING lacks "-A POSTROUTING -o tunl0 -j MASQUERADE" (its MASQUERADE rules: -A POSTROUTING -o eth0 -j MASQUERADE)',
    ]);
    const ct = klvs08({ node: "router-1", iptables: parseIptablesSave(text("KLVS-08", "pass", "iptables-save.txt")), sysctl: parseSysctl(text("KLVS-08", "fail", "sysctl.txt")) });
    expect(ct.reasons).toEqual(["router-1: net.ipv4.vs.conntrack = 0, want 1"]);
  });

  const placement: RouterPlacement = { nodeLabel: { key: "node", value: "routing" }, taint: { key: "node", value: "routing", effect: "NoSchedule" }, routerPod: /^klvs-router-\d+$/ };
  const nodes = () => parseNodeObjects(text("KLVS-09", "pass", "nodes.json"));

  it("KLVS-09 passes when router pods and ordinary pods keep to their nodes", async () => {
    await behaviour("KLVS-09", "R");
    const v = klvs09({ pods: parsePods(text("KLVS-09", "pass", "pods.txt")), nodes: nodes(), placement });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.measurements).toEqual({ routerNodes: 2, routerPods: 2 });
  });

  it("KLVS-09 names an ordinary pod on a router node", async () => {
    await behaviour("KLVS-09", "R");
    const v = klvs09({ pods: parsePods(text("KLVS-09", "fail", "pods-ordinary-on-router.txt")), nodes: nodes(), placement });
    expect(v.reasons).toEqual(["ordinary pod enm/opendj-0 runs on router node router-1"]);
  });

  it("KLVS-09 names a router pod off the router nodes", async () => {
    await behaviour("KLVS-09", "R");
    const v = klvs09({ pods: parsePods(text("KLVS-09", "fail", "pods-router-elsewhere.txt")), nodes: nodes(), placement });
    expect(v.reasons).toEqual(["router pod enm/klvs-router-1 runs on worker-1, which is not a router node"]);
  });
});
