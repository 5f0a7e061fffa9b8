import { parse as parseYaml } from "yaml";
import { describe, expect, it } from "vitest";
import { loadFixture, type FixtureKind } from "../evidence/fixtures.ts";
import { parseDescribeEvents, parseEventObjects } from "../evidence/parsers/events.ts";
import { parseNodes, parsePods } from "../evidence/parsers/kubectl-get.ts";
import { parseNetworkSelection, parseNetworkStatus } from "../evidence/parsers/network-status.ts";
import { parseAllocationListing, parseIPPools, type SelectableNode } from "../evidence/parsers/nvipam.ts";
import { behaviour } from "../report/allure.ts";
import { nvipam01, nvipam02, nvipam03, nvipam04, nvipam05 } from "./nvipam.ts";
import { formatVerdict } from "./verdict.ts";

const text = (id: string, kind: FixtureKind, name: string) => loadFixture(id, kind, name).text;
const pool = (id: string) => parseIPPools(text(id, "pass", "ippool.yaml"))[0]!;
const allocations = (id: string, kind: FixtureKind, name = "allocations.txt") => parseAllocationListing(text(id, kind, name)).get("pool1")!;
const status = (id: string, kind: FixtureKind, name: string) => parseNetworkStatus(text(id, kind, name));
/** kubectl's ROLES column is made of the node-role.kubernetes.io/<role> labels */
const nodes = (kind: FixtureKind): SelectableNode[] =>
  parseNodes(text("NVIPAM-01", kind, "nodes.txt")).map((n) => ({ name: n.name, labels: Object.fromEntries(n.roles.map((r) => [`node-role.kubernetes.io/${r}`, ""])) }));
const NET = "default/example-macvlannetwork";

describe("oracles/nvipam", () => {
  const dyn1 = (kind: FixtureKind) => [{ pod: "dynamic-ip-pod1", node: "kind-control-plane", status: status("NVIPAM-01", kind, "dynamic-ip-pod1.network-status") }];

  it("NVIPAM-01 passes on the seed's pool, allocations and nodes", async () => {
    await behaviour("NVIPAM-01", "R");
    const v = nvipam01({ pool: pool("NVIPAM-01"), allocations: allocations("NVIPAM-01", "pass"), nodes: nodes("pass"), network: NET, dynamic: dyn1("pass") });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.reasons[0]).toBe("3 disjoint blocks of 100 in 192.168.0.0/16, one per selected node: kind-control-plane 192.168.0.1-192.168.0.100, kind-worker 192.168.0.101-192.168.0.200, kind-worker2 192.168.0.201-192.168.1.44");
  });

  it("NVIPAM-01 names overlapping blocks", async () => {
    await behaviour("NVIPAM-01", "R");
    const v = nvipam01({ pool: pool("NVIPAM-01"), allocations: allocations("NVIPAM-01", "fail", "overlap.txt"), nodes: nodes("pass") });
    expect(v.reasons).toEqual(["kind-worker's block 192.168.0.91-192.168.0.190 overlaps kind-control-plane's block 192.168.0.1-192.168.0.100"]);
  });

  it("NVIPAM-01 names a block of the wrong size", async () => {
    await behaviour("NVIPAM-01", "R");
    const v = nvipam01({ pool: pool("NVIPAM-01"), allocations: allocations("NVIPAM-01", "fail", "block-size.txt"), nodes: nodes("pass") });
    expect(v.reasons).toEqual(["kind-worker2's block 192.168.0.201-192.168.1.54 holds 110 addresses, not perNodeBlockSize 100"]);
  });

  it("NVIPAM-01 names a block on a node the selector does not select", async () => {
    await behaviour("NVIPAM-01", "R");
    const v = nvipam01({ pool: pool("NVIPAM-01"), allocations: allocations("NVIPAM-01", "pass"), nodes: nodes("fail") });
    expect(v.reasons).toEqual(["kind-control-plane has block 192.168.0.1-192.168.0.100 but the pool's nodeSelector does not select it"]);
  });

  it("NVIPAM-01 names a dynamic address inside an exclusion", async () => {
    await behaviour("NVIPAM-01", "R");
    const v = nvipam01({ pool: pool("NVIPAM-01"), allocations: allocations("NVIPAM-01", "pass"), nodes: nodes("pass"), network: NET, dynamic: dyn1("fail") });
    expect(v.reasons).toEqual(["dynamic-ip-pod1 got 192.168.0.7, inside the exclusion 192.168.0.0-192.168.0.10"]);
  });

  const pods02 = (pod2: FixtureKind) => {
    const where = new Map(parsePods(text("NVIPAM-02", "pass", "pods.txt")).map((p) => [p.name, p.node!]));
    return [
      { pod: "dynamic-ip-pod1", node: where.get("dynamic-ip-pod1")!, status: status("NVIPAM-02", "pass", "dynamic-ip-pod1.network-status") },
      { pod: "dynamic-ip-pod2", node: where.get("dynamic-ip-pod2")!, status: status("NVIPAM-02", pod2, "dynamic-ip-pod2.network-status") },
    ];
  };

  it("NVIPAM-02 passes: each dynamic pod's address is from its own node's block", async () => {
    await behaviour("NVIPAM-02", "R");
    const v = nvipam02({ pool: pool("NVIPAM-02"), allocations: allocations("NVIPAM-02", "pass"), network: NET, pods: pods02("pass") });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.reasons).toEqual([
      "dynamic-ip-pod1 on kind-control-plane got 192.168.0.13 from its node's block 192.168.0.1-192.168.0.100",
      "dynamic-ip-pod2 on kind-worker got 192.168.0.104 from its node's block 192.168.0.101-192.168.0.200",
    ]);
  });

  it("NVIPAM-02 names an address from another node's block", async () => {
    await behaviour("NVIPAM-02", "R");
    const v = nvipam02({ pool: pool("NVIPAM-02"), allocations: allocations("NVIPAM-02", "pass"), network: NET, pods: pods02("fail") });
    expect(v.reasons).toEqual(["dynamic-ip-pod2 on kind-worker got 192.168.0.204, outside its node's block 192.168.0.101-192.168.0.200 (it lies in kind-worker2's block 192.168.0.201-192.168.1.44)"]);
  });

  const static03 = (kind: FixtureKind) => {
    const manifest = parseYaml(text("NVIPAM-03", "pass", "static-ip-pod1.yaml")) as { metadata: { annotations: Record<string, string> }; spec: { nodeSelector: Record<string, string> } };
    const requested = parseNetworkSelection(manifest.metadata.annotations["k8s.v1.cni.cncf.io/networks"]!).flatMap((s) => s.requestedIps);
    const node = manifest.spec.nodeSelector["kubernetes.io/hostname"]!;
    return { pool: pool("NVIPAM-03"), allocations: allocations("NVIPAM-03", "pass"), network: NET, requested, pod: { pod: "static-ip-pod1", node, status: status("NVIPAM-03", kind, "static-ip-pod1.network-status") } };
  };

  it("NVIPAM-03 passes: 192.168.0.5 granted on kind-worker2, outside its block and in an exclusion", async () => {
    await behaviour("NVIPAM-03", "R");
    const v = nvipam03(static03("pass"));
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.reasons).toEqual(["static-ip-pod1 on kind-worker2 got the static 192.168.0.5 (outside kind-worker2's block 192.168.0.201-192.168.1.44, in the exclusion 192.168.0.0-192.168.0.10)"]);
  });

  it("NVIPAM-03 names a static IP that was not granted", async () => {
    await behaviour("NVIPAM-03", "R");
    const v = nvipam03(static03("fail"));
    expect(v.reasons).toEqual(["static-ip-pod1 asked for 192.168.0.5 on default/example-macvlannetwork but got 192.168.0.213", "static-ip-pod1 got 192.168.0.213 besides what it asked for"]);
  });

  const case04 = (kind: FixtureKind) => {
    const manifest = parseYaml(text("NVIPAM-04", "pass", "static-ip-pod2-wrong-ip.yaml")) as { metadata: { name: string; annotations: Record<string, string> } };
    const ip = parseNetworkSelection(manifest.metadata.annotations["k8s.v1.cni.cncf.io/networks"]!)[0]!.requestedIps[0]!;
    const pod = manifest.metadata.name;
    return { pools: [pool("NVIPAM-04")], pod, ip, events: parseDescribeEvents(text("NVIPAM-04", kind, "describe-events.txt"), { kind: "pod", name: pod }), podStatus: parsePods(text("NVIPAM-04", kind, "pod.txt"))[0]!.status };
  };

  it("NVIPAM-04 recognises the seed's 'has no matching Pool' rejection and a pod that never ran", async () => {
    await behaviour("NVIPAM-04", "R");
    const v = nvipam04(case04("pass"));
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.reasons).toEqual(['static-ip-pod2-wrong-ip: FailedCreatePodSandBox … "ip 10.10.10.10 has no matching Pool"', "static-ip-pod2-wrong-ip never ran"]);
  });

  it("NVIPAM-04 names a pod that ran with an address from no pool", async () => {
    await behaviour("NVIPAM-04", "R");
    const v = nvipam04(case04("fail"));
    expect(v.reasons).toEqual([
      'static-ip-pod2-wrong-ip: no FailedCreatePodSandBox event saying "ip 10.10.10.10 has no matching Pool"',
      'static-ip-pod2-wrong-ip ran: event Pulled "Container image "centos/tools" already present on machine"',
      "static-ip-pod2-wrong-ip is Running, not waiting for its sandbox",
    ]);
  });

  const case05 = (kind: FixtureKind) => ({
    network: NET,
    ip: "192.168.0.5",
    first: { pod: "static-ip-pod1", node: "kind-worker2", status: status("NVIPAM-05", "pass", "static-ip-pod1.network-status") },
    second: {
      pod: "static-ip-pod3-same-ip",
      node: "kind-worker2",
      ...(kind === "fail" ? { status: status("NVIPAM-05", "fail", "second.network-status") } : {}),
      events: parseDescribeEvents(text("NVIPAM-05", kind, "second-describe-events.txt"), { kind: "pod", name: "static-ip-pod3-same-ip" }),
      podStatus: parsePods(text("NVIPAM-05", kind, "second-pod.txt"))[0]!.status,
    },
  });

  it("NVIPAM-05 passes: the second pod asking for 192.168.0.5 on kind-worker2 is refused", async () => {
    await behaviour("NVIPAM-05", "R");
    const v = nvipam05(case05("pass"));
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.reasons[1]).toBe('static-ip-pod3-same-ip refused: FailedCreatePodSandBox … "requested IP is already reserved in the pool "pool1""');
  });

  it("NVIPAM-05 names a duplicate static IP on one node", async () => {
    await behaviour("NVIPAM-05", "R");
    const v = nvipam05(case05("fail"));
    expect(v.reasons[0]).toBe("duplicate: static-ip-pod3-same-ip on kind-worker2 also got 192.168.0.5");
    expect(v.reasons).toContain("static-ip-pod3-same-ip: no FailedCreatePodSandBox event saying the IP is already reserved");
    expect(v.reasons).toContain("static-ip-pod3-same-ip is Running, not waiting for its sandbox");
  });

  describe("recorded live by suites/nvipam (nv-ipam v0.4.0 + Multus thin v4.3.0 on kind)", () => {
    const LNET = "nc-nvipam/nc-macvlan";
    const livePool = () => parseIPPools(text("NVIPAM-01", "pass", "live-ippool.json"))[0]!;
    const liveNodes = (): SelectableNode[] =>
      (JSON.parse(text("NVIPAM-01", "pass", "live-nodes.json")) as Array<{ name: string; labels: Record<string, string> }>).map((n) => ({ name: n.name, labels: n.labels }));
    const dyn = (node: string, as = node) => ({ pod: `dyn-${node}`, node: as, status: status("NVIPAM-01", "pass", `live-dyn-${node}.network-status`) });
    const W1 = "nc-nvipam-worker", W2 = "nc-nvipam-worker2";

    it("NVIPAM-01 passes on the live pool: two disjoint blocks for the zone-labelled workers, none for the control plane", async () => {
      await behaviour("NVIPAM-01", "R");
      const v = nvipam01({ pool: livePool(), nodes: liveNodes(), network: LNET, dynamic: [dyn(W1), dyn(W2)] });
      expect(v.ok, formatVerdict(v)).toBe(true);
      expect(v.reasons[0]).toBe("2 disjoint blocks of 100 in 192.168.0.0/16, one per selected node: nc-nvipam-worker 192.168.0.1-192.168.0.100, nc-nvipam-worker2 192.168.0.101-192.168.0.200");
      // negative control: the control plane labelled like the workers is selected and has no block
      const cp = liveNodes().map((n) => (n.name.endsWith("control-plane") ? { ...n, labels: { ...n.labels, "netconform.io/zone": "c" } } : n));
      expect(nvipam01({ pool: livePool(), nodes: cp }).reasons).toContain("nc-nvipam-control-plane is selected by the pool's nodeSelector but has no block");
    });

    it("NVIPAM-02 passes on the live dynamic pods; the same addresses attributed to the other nodes fail", async () => {
      await behaviour("NVIPAM-02", "R");
      const v = nvipam02({ pool: livePool(), network: LNET, pods: [dyn(W1), dyn(W2)] });
      expect(v.ok, formatVerdict(v)).toBe(true);
      expect(v.reasons).toEqual(["dyn-nc-nvipam-worker on nc-nvipam-worker got 192.168.0.11 from its node's block 192.168.0.1-192.168.0.100", "dyn-nc-nvipam-worker2 on nc-nvipam-worker2 got 192.168.0.101 from its node's block 192.168.0.101-192.168.0.200"]);
      const swapped = nvipam02({ pool: livePool(), network: LNET, pods: [dyn(W1, W2)] });
      expect(swapped.ok).toBe(false);
      expect(swapped.reasons[0]).toMatch(/^dyn-nc-nvipam-worker on nc-nvipam-worker2 got 192\.168\.0\.11, outside its node's block 192\.168\.0\.101-192\.168\.0\.200 \(it lies in nc-nvipam-worker's block/);
    });

    it("NVIPAM-03 passes on the live static pod: 192.168.0.5 on nc-nvipam-worker2, outside its block and in the exclusion; asked for another it fails", async () => {
      await behaviour("NVIPAM-03", "R");
      const pod = { pod: "static-in-pool", node: W2, status: status("NVIPAM-03", "pass", "live-static-in-pool.network-status") };
      const v = nvipam03({ pool: livePool(), network: LNET, pod, requested: ["192.168.0.5"] });
      expect(v.ok, formatVerdict(v)).toBe(true);
      expect(v.reasons).toEqual(["static-in-pool on nc-nvipam-worker2 got the static 192.168.0.5 (outside nc-nvipam-worker2's block 192.168.0.101-192.168.0.200, in the exclusion 192.168.0.0-192.168.0.10)"]);
      expect(nvipam03({ pool: livePool(), network: LNET, pod, requested: ["192.168.0.6"] }).ok).toBe(false);
    });

    const liveEvents = (id: string, kind: FixtureKind, name: string) => parseEventObjects(text(id, kind, name));
    const podWord = () => (JSON.parse(text("NVIPAM-04", "pass", "live-static-no-pool.pod.json")) as { status: string }).status;

    it("NVIPAM-04 passes on the live events: FailedCreatePodSandBox … ip 10.10.10.10 has no matching Pool, the pod ContainerCreating", async () => {
      await behaviour("NVIPAM-04", "R");
      const v = nvipam04({ pools: [livePool()], pod: "static-no-pool", ip: "10.10.10.10", events: liveEvents("NVIPAM-04", "pass", "live-static-no-pool.events.json"), podStatus: podWord() });
      expect(v.ok, formatVerdict(v)).toBe(true);
      expect(v.reasons).toEqual(['static-no-pool: FailedCreatePodSandBox … "ip 10.10.10.10 has no matching Pool"', "static-no-pool never ran"]);
    });

    it("NVIPAM-04 fails on live events of a pod refused for another reason, and on a wrong expected IP", async () => {
      await behaviour("NVIPAM-04", "R");
      const other = nvipam04({ pools: [livePool()], pod: "twice-second", ip: "10.10.10.10", events: liveEvents("NVIPAM-04", "fail", "live-twice-second.events.json") });
      expect(other.reasons).toHaveLength(1);
      expect(other.reasons[0]).toMatch(/^twice-second: no FailedCreatePodSandBox event saying "ip 10\.10\.10\.10 has no matching Pool"; its FailedCreatePodSandBox says instead: "….*already reserved/);
      const wrong = nvipam04({ pools: [livePool()], pod: "static-no-pool", ip: "10.10.10.11", events: liveEvents("NVIPAM-04", "pass", "live-static-no-pool.events.json"), podStatus: podWord() });
      // the reason quotes what the real event said (the wrong expectation shown live once, in a report)
      expect(wrong.reasons).toHaveLength(1);
      expect(wrong.reasons[0]).toMatch(/^static-no-pool: no FailedCreatePodSandBox event saying "ip 10\.10\.10\.11 has no matching Pool"; its FailedCreatePodSandBox says instead: "….*ip 10\.10\.10\.10 has no matching Pool"$/);
    });

    it("NVIPAM-05 passes on the live refusal: \"requested IP is already reserved in the pool\"; a second pod that ran fails it", async () => {
      await behaviour("NVIPAM-05", "R");
      const first = { pod: "twice-first", node: W1, status: status("NVIPAM-05", "pass", "live-twice-first.network-status") };
      const events = liveEvents("NVIPAM-05", "pass", "live-twice-second.events.json");
      const v = nvipam05({ network: LNET, ip: "192.168.0.7", first, second: { pod: "twice-second", node: W1, events, podStatus: "ContainerCreating" } });
      expect(v.ok, formatVerdict(v)).toBe(true);
      expect(v.reasons[1]).toBe('twice-second refused: FailedCreatePodSandBox … "requested IP is already reserved in the pool "nc-pool1""');
      // measured across nodes: a third pod asking for the same IP on the other worker got it
      expect(JSON.parse(text("NVIPAM-05", "pass", "live-twice-across-nodes.json"))).toMatchObject({ outcome: "granted" });
      const ran = nvipam05({ network: LNET, ip: "192.168.0.7", first, second: { pod: "twice-second", node: W1, status: first.status, events: [], podStatus: "Running" } });
      expect(ran.reasons).toContain("duplicate: twice-second on nc-nvipam-worker also got 192.168.0.7");
    });
  });
});
