import { describe, expect, it } from "vitest";
import { ParseError } from "../parse-error.ts";
import { fuzz } from "./fuzz-util.ts";
import { nodeMatches, parseAllocationListing, parseIPPools } from "./nvipam.ts";

// seed 003 L65-81
const POOL = `apiVersion: nv-ipam.nvidia.com/v1alpha1
kind: IPPool
metadata:
  name: pool1
  namespace: nvidia-network-operator
spec:
  subnet: 192.168.0.0/16
  perNodeBlockSize: 100
  gateway: 192.168.0.1
  exclusions:
  - startIP: 192.168.0.0
    endIP: 192.168.0.10
  nodeSelector:
    nodeSelectorTerms:
    - matchExpressions:
        - key: node-role.kubernetes.io/worker
          operator: Exists
`;
// seed 003 L88-91
const LISTING = `pool1
        kind-control-plane => Start IP: 192.168.0.1 End IP: 192.168.0.100
        kind-worker => Start IP: 192.168.0.101 End IP: 192.168.0.200
        kind-worker2 => Start IP: 192.168.0.201 End IP: 192.168.1.44
`;

describe("evidence/parsers/nvipam", () => {
  it("reads the seed's IPPool", () => {
    const [p] = parseIPPools(POOL);
    expect(p!.spec).toMatchObject({ subnet: "192.168.0.0/16", perNodeBlockSize: 100, gateway: "192.168.0.1", exclusions: [{ startIP: "192.168.0.0", endIP: "192.168.0.10" }] });
    expect(p!.spec.nodeSelector!.nodeSelectorTerms[0]!.matchExpressions![0]).toEqual({ key: "node-role.kubernetes.io/worker", operator: "Exists" });
  });

  it("reads a List with status.allocations", () => {
    const list = JSON.stringify({ apiVersion: "v1", kind: "List", items: [{ ...{ apiVersion: "nv-ipam.nvidia.com/v1alpha1", kind: "IPPool", metadata: { name: "p" }, spec: { subnet: "10.0.0.0/24", perNodeBlockSize: 10 } }, status: { allocations: [{ nodeName: "n1", startIP: "10.0.0.1", endIP: "10.0.0.10" }] } }] });
    expect(parseIPPools(list)[0]!.status!.allocations).toEqual([{ nodeName: "n1", startIP: "10.0.0.1", endIP: "10.0.0.10" }]);
  });

  it("reads the seed's allocation listing", () => {
    const m = parseAllocationListing(LISTING);
    expect([...m.keys()]).toEqual(["pool1"]);
    expect(m.get("pool1")![2]).toEqual({ nodeName: "kind-worker2", startIP: "192.168.0.201", endIP: "192.168.1.44" });
    expect(parseAllocationListing(LISTING + "\npool2\n\tn1 => Start IP: 10.0.0.1 End IP: 10.0.0.9\n\n").get("pool2")).toHaveLength(1);
  });

  it("evaluates nodeSelector terms", () => {
    const sel = parseIPPools(POOL)[0]!.spec.nodeSelector;
    expect(nodeMatches(sel, { name: "kind-worker", labels: { "node-role.kubernetes.io/worker": "" } })).toBe(true);
    expect(nodeMatches(sel, { name: "kind-control-plane", labels: { "node-role.kubernetes.io/control-plane": "" } })).toBe(false);
    expect(nodeMatches(undefined, { name: "x", labels: {} })).toBe(true);
    const byName = { nodeSelectorTerms: [{ matchFields: [{ key: "metadata.name", operator: "In" as const, values: ["a"] }] }, { matchExpressions: [{ key: "zone", operator: "NotIn" as const, values: ["z1"] }] }] };
    expect(nodeMatches(byName, { name: "a", labels: { zone: "z1" } })).toBe(true);
    expect(nodeMatches(byName, { name: "b", labels: { zone: "z1" } })).toBe(false);
    expect(nodeMatches(byName, { name: "b", labels: {} })).toBe(true);
  });

  it("refuses what nv-ipam's validation refuses", () => {
    expect(() => parseIPPools(POOL.replace("perNodeBlockSize: 100", "perNodeBlockSize: 0"))).toThrow(/perNodeBlockSize/);
    expect(() => parseIPPools(POOL.replace("192.168.0.0/16", "192.168.0.0/26"))).toThrow(/larger than the subnet/);
    expect(() => parseIPPools(POOL.replace("gateway: 192.168.0.1", "gateway: 10.0.0.1"))).toThrow(/gateway: not in the subnet/);
    expect(() => parseIPPools(POOL.replace("endIP: 192.168.0.10", "endIP: 10.0.0.1"))).toThrow(/exclusions.0: not in the subnet/);
    expect(() => parseIPPools(POOL.replace("Exists", "Sometimes"))).toThrow(ParseError);
    expect(() => parseAllocationListing("\tkind-worker => Start IP: 1.2.3.4 End IP: 1.2.3.5\n")).toThrow(/before a pool name/);
    expect(() => parseAllocationListing(LISTING.replace("End IP: 192.168.0.200", "End IP: 192.168.0"))).toThrow(/not an IP address/);
  });

  it("fuzz: a full result or a ParseError", () => {
    const a = fuzz([POOL], parseIPPools, (ps) => ps.forEach((p) => expect(p.spec.perNodeBlockSize).toBeGreaterThan(0)));
    const b = fuzz([LISTING], parseAllocationListing, () => {}, 300, 2);
    expect([...a.bad, ...b.bad]).toEqual([]);
  });
});
