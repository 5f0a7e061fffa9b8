import { describe, expect, it } from "vitest";
import { fuzz } from "./fuzz-util.ts";
import { parseIpamPrefixes } from "./meridio-ipam.ts";

const JSON_ROWS = JSON.stringify([
  { id: "trench-a", name: "trench-a", cidr: "172.16.0.0/16", parent_id: "" },
  { id: "load-balancer-a1-trench-a", name: "load-balancer-a1", cidr: "172.16.0.0/20", parent_id: "trench-a" },
  { id: "kind-worker-load-balancer-a1-trench-a", name: "kind-worker", cidr: "172.16.1.0/24", parent_id: "load-balancer-a1-trench-a" },
]);
const PIPE = `id|name|cidr|parent_id
trench-a|trench-a|172.16.0.0/16|
load-balancer-a1-trench-a|load-balancer-a1|172.16.0.0/20|trench-a
`;

describe("evidence/parsers/meridio-ipam", () => {
  it("reads sqlite3 -json and -header output", () => {
    expect(parseIpamPrefixes(JSON_ROWS).map((p) => p.cidr)).toEqual(["172.16.0.0/16", "172.16.0.0/20", "172.16.1.0/24"]);
    expect(parseIpamPrefixes(PIPE)[0]).toEqual({ id: "trench-a", name: "trench-a", cidr: "172.16.0.0/16", parent_id: "" });
    expect(parseIpamPrefixes("")).toEqual([]);
  });

  it("refuses dangling parents, duplicate ids and bad CIDRs", () => {
    expect(() => parseIpamPrefixes(PIPE.replace("|trench-a\n", "|trench-b\n"))).toThrow(/parent trench-b/);
    expect(() => parseIpamPrefixes(PIPE + "trench-a|x|10.0.0.0/8|\n")).toThrow(/appears twice/);
    expect(() => parseIpamPrefixes(PIPE.replace("172.16.0.0/20", "172.16.0.0/40"))).toThrow(/not a CIDR/);
  });

  it("fuzz: a full result or a ParseError", () => {
    expect(fuzz([JSON_ROWS, PIPE], parseIpamPrefixes, () => {}).bad).toEqual([]);
  });
});
