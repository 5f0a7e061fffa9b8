import { describe, expect, it } from "vitest";
import { loadFixture, type FixtureKind } from "../evidence/fixtures.ts";
import { parseCtrafficStats } from "../evidence/parsers/ctraffic.ts";
import { parseEndpointsTable, parseNodes, parsePods, parsePvcs, parseStorageClass } from "../evidence/parsers/kubectl-get.ts";
import { parseIpamPrefixes } from "../evidence/parsers/meridio-ipam.ts";
import { behaviour } from "../report/allure.ts";
import { LockTakeoverSchema, mipam01, mipam02, mipam02Lock, mipam03, mipam04, mipam05, TakeoverTimelineSchema, type IpamPlacement, type LockTakeover } from "./mipam.ts";
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

  // MIPAM-02 at depth D (harness/lab/nfs.lab.test.ts): a lock timeline shaped like the kernel lab's
  // record on 6.1.0-50 (guest clock, ms; node-a lost at 1796307210454, node-b got the lock 17903 ms later)
  const ACTION = "namespace lost: processes frozen, link cut, killed, namespace deleted";
  const lockRun = (over: (t: LockTakeover) => void = () => undefined): LockTakeover => {
    const t = LockTakeoverSchema.parse({
      lock: "/mnt/ipam/ipam.lock",
      fault: { node: "node-a", atMs: 1796307210454, action: ACTION },
      writers: [
        { node: "node-a", events: [{ kind: "start", atMs: 1796307189600 }, { kind: "acquired", atMs: 1796307189708 }, { kind: "alloc", atMs: 1796307190500, cidr: "10.0.1.0/24" }, { kind: "alloc", atMs: 1796307191100, cidr: "10.0.2.0/24" }, { kind: "alloc", atMs: 1796307210100, cidr: "10.0.3.0/24" }] },
        { node: "node-b", events: [{ kind: "start", atMs: 1796307195900 }, { kind: "acquired", atMs: 1796307228357 }, { kind: "alloc", atMs: 1796307229000, cidr: "10.0.4.0/24" }, { kind: "alloc", atMs: 1796307229600, cidr: "10.0.5.0/24" }, { kind: "done", atMs: 1796307230000 }] },
      ],
    });
    over(t);
    return t;
  };

  it("MIPAM-02 (lock) passes: the standby gets the lock after the fault, within the bound, and continues", async () => {
    await behaviour("MIPAM-02", "R");
    const v = mipam02Lock(lockRun(), { boundMs: 55_000 });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.reasons).toEqual([
      "node-a held /mnt/ipam/ipam.lock from 20746 ms before the fault and allocated 3 prefixes",
      "node-b acquired /mnt/ipam/ipam.lock 17903 ms after node-a was lost (bound 55000 ms)",
      "node-b continued: 2 prefixes from 10.0.4.0/24 (18546 ms after the fault)",
    ]);
    expect(v.measurements).toMatchObject({ takeoverMs: 17903, leaderAllocs: 3, standbyAllocs: 2, firstAllocMs: 18546 });
  });

  it("MIPAM-02 (lock) names a takeover slower than a bound shorter than the lease", async () => {
    await behaviour("MIPAM-02", "R");
    const v = mipam02Lock(lockRun(), { boundMs: 5000 });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual(["takeover took 17903 ms, more than the bound 5000 ms"]);
  });

  it("MIPAM-02 (lock) names two writers at once: a split-brain standby that got a lock of its own before the fault", async () => {
    await behaviour("MIPAM-02", "R");
    const v = mipam02Lock(
      lockRun((t) => {
        t.writers[1]!.events = [{ kind: "start", atMs: 1796307195900 }, { kind: "acquired", atMs: 1796307196013 }, { kind: "alloc", atMs: 1796307196500, cidr: "10.0.1.0/24" }, { kind: "done", atMs: 1796307197000 }];
      }),
      { boundMs: 55_000 },
    );
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual(["two writers at once: node-b wrote from 14441 ms before the fault while node-a held /mnt/ipam/ipam.lock (from 20746 ms before the fault until the fault)"]);
  });

  it("MIPAM-02 (lock) names a standby that allocates without the lock, and no takeover", async () => {
    await behaviour("MIPAM-02", "R");
    const v = mipam02Lock(
      lockRun((t) => {
        t.writers[1]!.events = [{ kind: "start", atMs: 1796307195900 }, { kind: "alloc", atMs: 1796307196500, cidr: "10.0.3.0/24" }, { kind: "alloc", atMs: 1796307197500, cidr: "10.0.4.0/24" }, { kind: "done", atMs: 1796307198000 }];
      }),
      { boundMs: 55_000 },
    );
    expect(v.reasons).toEqual([
      "node-b allocated 2 prefixes without holding the lock, the first 10.0.3.0/24 13954 ms before the fault",
      "two writers at once: node-b wrote from 13954 ms before the fault while node-a held /mnt/ipam/ipam.lock (from 20746 ms before the fault until the fault)",
      `no standby acquired /mnt/ipam/ipam.lock after node-a was lost (${ACTION})`,
    ]);
  });

  it("MIPAM-02 (lock) names a fault on the node that did not hold the lock, and a standby that allocates nothing", async () => {
    await behaviour("MIPAM-02", "R");
    expect(mipam02Lock(lockRun((t) => void (t.fault.node = "node-b")), { boundMs: 55_000 }).reasons).toEqual(["the fault hit node-b but node-a held /mnt/ipam/ipam.lock: nothing to take over"]);
    const idle = mipam02Lock(lockRun((t) => void (t.writers[1]!.events = t.writers[1]!.events.filter((e) => e.kind !== "alloc"))), { boundMs: 55_000 });
    expect(idle.reasons).toEqual(["node-b took /mnt/ipam/ipam.lock but allocated nothing after it"]);
  });
});
