import { describe, expect, it } from "vitest";
import { loadFixture, type FixtureKind } from "../evidence/fixtures.ts";
import { parseCtrafficStats } from "../evidence/parsers/ctraffic.ts";
import { parseEndpointsTable, parseNodes, parsePods, parsePvcs, parseStorageClass } from "../evidence/parsers/kubectl-get.ts";
import { parseIpamPrefixes } from "../evidence/parsers/meridio-ipam.ts";
import { behaviour } from "../report/allure.ts";
import { mipam01, mipam02, mipam03, mipam04, mipam05, TakeoverTimelineSchema, type IpamPlacement } from "./mipam.ts";
import { formatVerdict } from "./verdict.ts";

const text = (id: string, kind: FixtureKind, name: string) => loadFixture(id, kind, name).text;
const placement: IpamPlacement = { statefulSet: "ipam-trench-a", nodeLabel: { key: "ipam-worker", value: "true" } };
/** `kubectl get nodes -L ipam-worker`: the label column becomes the label */
const nodes = () =>
  parseNodes(text("MIPAM-01", "pass", "nodes.txt")).map((n) => ({ name: n.name, labels: n.extra["IPAM-WORKER"] ? { "ipam-worker": n.extra["IPAM-WORKER"] } : ({} as Record<string, string>) }));
const endpoints = (kind: FixtureKind) => parseEndpointsTable(text("MIPAM-01", kind, "endpoints.txt"))[0]!.endpoints;

describe("oracles/mipam", () => {
  it("MIPAM-01 passes on the lab's pods: one replica per ipam-worker node, only the leader Ready and listed", async () => {
    await behaviour("MIPAM-01", "R");
    const v = mipam01({ pods: parsePods(text("MIPAM-01", "pass", "pods.txt")), nodes: nodes(), endpoints: endpoints("pass"), placement });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.reasons[0]).toBe("leader ipam-trench-a-0 on kind-worker6 is the only Ready replica of 2");
  });

  it("MIPAM-01 names two Ready replicas", async () => {
    await behaviour("MIPAM-01", "R");
    const v = mipam01({ pods: parsePods(text("MIPAM-01", "fail", "pods.txt")), nodes: nodes(), endpoints: endpoints("pass"), placement });
    expect(v.reasons).toEqual(["2 replicas Ready (ipam-trench-a-0, ipam-trench-a-1): exactly one, the leader, must be"]);
  });

  it("MIPAM-01 names endpoints that list the standby", async () => {
    await behaviour("MIPAM-01", "R");
    const v = mipam01({ pods: parsePods(text("MIPAM-01", "pass", "pods.txt")), nodes: nodes(), endpoints: endpoints("fail"), placement });
    expect(v.reasons).toEqual(["the IPAM service's endpoints list 10.244.1.2 (ipam-trench-a-1), want only the leader ipam-trench-a-0 (10.244.4.2)"]);
  });

  const timeline = (kind: FixtureKind, name: string) => TakeoverTimelineSchema.parse(JSON.parse(text("MIPAM-02", kind, name)));

  it("MIPAM-02 passes: the standby takes over within the bound and the endpoints move to it", async () => {
    await behaviour("MIPAM-02", "R");
    const v = mipam02(timeline("pass", "timeline.json"), { boundMs: 60_000 });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.measurements).toEqual({ boundMs: 60_000, nodeNotReadyMs: 45_000, standbyReadyMs: 20_000, takeoverMs: 45_000 });
  });

  it("MIPAM-02 names a takeover slower than the bound", async () => {
    await behaviour("MIPAM-02", "R");
    const v = mipam02(timeline("fail", "timeline.json"), { boundMs: 60_000 });
    expect(v.reasons).toEqual(["takeover took 95000 ms, more than the bound 60000 ms"]);
    expect(v.measurements?.takeoverMs).toBe(95_000);
  });

  it("MIPAM-02 names a standby that never turned Ready", async () => {
    await behaviour("MIPAM-02", "R");
    const v = mipam02(timeline("fail", "standby-never-ready.json"), { boundMs: 60_000 });
    expect(v.reasons).toEqual(["no standby replica of ipam-trench-a turned Ready"]);
  });

  it("MIPAM-03 passes: no connection lost across the takeover", async () => {
    await behaviour("MIPAM-03", "R");
    const v = mipam03(parseCtrafficStats(text("MIPAM-03", "pass", "ctraffic.json")), { maxLost: 0, maxStallMs: 2000 });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.measurements).toMatchObject({ lostConnections: 0, lastingConnections: 40, maxLost: 0 });
  });

  it("MIPAM-03 names lost connections above the bound", async () => {
    await behaviour("MIPAM-03", "R");
    const v = mipam03(parseCtrafficStats(text("MIPAM-03", "fail", "ctraffic.json")), { maxLost: 0 });
    expect(v.ok).toBe(false);
    expect(v.reasons).toHaveLength(1);
    expect(v.reasons[0]).toMatch(/^12 connections lost, more than the bound 0 \(by host: target-a-6fc4d776b7-9m9g9 3, target-a-6fc4d776b7-gcd5f 3, target-a-6fc4d776b7-k9qtc 3, target-a-6fc4d776b7-m4v8s 3; first error at 21\.\d s: read tcp .*connection reset by peer\)$/);
    const within = mipam03(parseCtrafficStats(text("MIPAM-03", "fail", "ctraffic.json")), { maxLost: 12, takeover: { fromMs: 20_000, toMs: 65_000 } });
    expect(within.ok).toBe(true);
    expect(within.measurements?.lostDuringTakeover).toBe(12);
  });

  const prefixes = (kind: FixtureKind, name: string) => parseIpamPrefixes(text("MIPAM-04", kind, name));

  it("MIPAM-04 passes: allocations survive the takeover", async () => {
    await behaviour("MIPAM-04", "R");
    const v = mipam04({ before: prefixes("pass", "before.json"), after: prefixes("pass", "after.json") });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.measurements).toEqual({ before: 22, after: 23, kept: 22, added: 1 });
  });

  it("MIPAM-04 names a reallocated prefix", async () => {
    await behaviour("MIPAM-04", "R");
    const v = mipam04({ before: prefixes("pass", "before.json"), after: prefixes("fail", "after-reallocated.json") });
    expect(v.reasons).toEqual(["reallocated: kind-worker3 (kind-worker3-load-balancer-a1-trench-a) held 172.16.3.0/24 before and 172.16.6.0/24 after"]);
  });

  it("MIPAM-04 names a duplicated allocation", async () => {
    await behaviour("MIPAM-04", "R");
    const v = mipam04({ before: prefixes("pass", "before.json"), after: prefixes("fail", "after-duplicated.json") });
    expect(v.reasons).toEqual([
      "duplicated: 172.16.2.2/24 is held by proxy-load-balancer-a1-vnld7 (proxy-load-balancer-a1-vnld7-kind-worker2-load-balancer-a1-trench-a) and target-a-6fc4d776b7-x2k8p (target-a-6fc4d776b7-x2k8p-kind-worker2-load-balancer-a1-trench-a)",
    ]);
  });

  it("MIPAM-05 passes: the lab's claim is Bound RWX from the Immediate nfs-ganesha class", async () => {
    await behaviour("MIPAM-05", "R");
    const v = mipam05({ pvc: parsePvcs(text("MIPAM-05", "pass", "pvc.txt"))[0]!, storageClass: parseStorageClass(text("MIPAM-05", "pass", "storageclass.yaml")) });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.reasons).toEqual(["StorageClass nfs-ganesha (example.com/nfs) binds Immediate", "claim ipam-rwx-pvc Bound to pvc-d9353872-b677-472a-a568-4cd20883c201 (20Mi, RWX)"]);
  });

  it("MIPAM-05 names a WaitForFirstConsumer class and a Pending claim", async () => {
    await behaviour("MIPAM-05", "R");
    const v = mipam05({ pvc: parsePvcs(text("MIPAM-05", "fail", "pvc.txt"))[0]!, storageClass: parseStorageClass(text("MIPAM-05", "fail", "storageclass.yaml")) });
    expect(v.reasons).toEqual(["StorageClass nfs-ganesha has volumeBindingMode WaitForFirstConsumer, not Immediate", "claim ipam-rwx-pvc is Pending, not Bound"]);
  });
});
