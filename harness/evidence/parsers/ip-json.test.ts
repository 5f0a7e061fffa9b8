import { describe, expect, it } from "vitest";
import { loadFixture } from "../fixtures.ts";
import { ParseError } from "../parse-error.ts";
import { fuzz } from "./fuzz-util.ts";
import { parseIpAddr, parseIpLink, parseIpNeigh, parseIpRoute } from "./ip-json.ts";

// Shapes as iproute2 6.x prints them (addresses from seed 001: vm1 10.65.94.238, VIP owner MAC, pod CIDR).
const route = JSON.stringify([
  { dst: "default", gateway: "10.65.94.1", dev: "ens3", protocol: "dhcp", prefsrc: "10.65.94.238", metric: 100, flags: [] },
  { dst: "10.42.1.0/24", gateway: "10.42.1.0", dev: "flannel.1", flags: ["onlink"] },
  { dst: "5.6.7.8", dev: "ipsec0", scope: "link", flags: [] },
  { type: "blackhole", dst: "10.96.0.0/12", flags: [] },
]);
const link = loadFixture("IPSEC-04", "pass", "link-after.json").text;
const neigh = JSON.stringify([
  { dst: "10.123.123.100", dev: "ens3.100", lladdr: "52:54:00:c0:87:a0", state: ["REACHABLE"] },
  { dst: "10.123.123.101", dev: "ens3.100", state: ["FAILED"] },
  { dst: "10.65.94.1", dev: "ens3", lladdr: "52:54:00:00:00:01", router: null, state: ["STALE"] },
]);
const addr = JSON.stringify([
  {},
  {
    ifindex: 2,
    ifname: "ens3",
    flags: ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"],
    mtu: 1500,
    qdisc: "fq_codel",
    operstate: "UP",
    group: "default",
    txqlen: 1000,
    link_type: "ether",
    address: "52:54:00:96:9d:ef",
    broadcast: "ff:ff:ff:ff:ff:ff",
    altnames: ["enp0s3"],
    addr_info: [{ family: "inet", local: "10.65.94.238", prefixlen: 24, broadcast: "10.65.94.255", scope: "global", dynamic: true, label: "ens3", valid_life_time: 3179, preferred_life_time: 3179 }],
  },
]);

describe("parsers/ip-json", () => {
  it("parses ip -j route, keeping unknown keys", () => {
    const r = parseIpRoute(route);
    expect(r.map((x) => x.dst)).toEqual(["default", "10.42.1.0/24", "5.6.7.8", "10.96.0.0/12"]);
    expect(r[0]).toMatchObject({ gateway: "10.65.94.1", metric: 100 });
    expect(r[3]!.type).toBe("blackhole");
  });

  it("parses ip -j -s link with stats64 and a null link", () => {
    const [vti] = parseIpLink(link);
    expect(vti).toMatchObject({ ifname: "vti100", link: null, link_type: "ipip", stats64: { tx: { errors: 5 } } });
    expect((vti as Record<string, unknown>)["link_pointtopoint"]).toBe(true); // passthrough
  });

  it("parses ip -j neigh, with and without lladdr", () => {
    const n = parseIpNeigh(neigh);
    expect(n.map((x) => [x.dst, x.lladdr, x.state[0]])).toEqual([
      ["10.123.123.100", "52:54:00:c0:87:a0", "REACHABLE"],
      ["10.123.123.101", undefined, "FAILED"],
      ["10.65.94.1", "52:54:00:00:00:01", "STALE"],
    ]);
  });

  it("parses ip -j addr and drops the empty objects a family filter prints", () => {
    const a = parseIpAddr(addr);
    expect(a.skippedEmpty).toBe(1);
    expect(a.items[0]!.addr_info[0]).toMatchObject({ family: "inet", local: "10.65.94.238", prefixlen: 24 });
    expect(a.items[0]!["altnames"]).toEqual(["enp0s3"]);
  });

  it.each([
    ["not JSON", () => parseIpRoute("default via 10.0.0.1 dev eth0"), /not JSON/],
    ["not an array", () => parseIpLink('{"ifname":"lo"}'), /expected array/],
    ["a route without dst", () => parseIpRoute('[{"dev":"eth0","flags":[]}]'), /invalid 0\.dst/],
    ["a link without operstate", () => parseIpLink('[{"ifindex":1,"ifname":"lo","flags":[],"mtu":65536,"link_type":"loopback"}]'), /invalid 0\.operstate/],
    ["an empty object where a link is expected", () => parseIpLink("[{}]"), /invalid 0\.ifindex/],
    ["a negative counter", () => parseIpLink(link.replace('"errors":5', '"errors":-5')), /stats64\.tx\.errors/],
  ])("rejects %s with a ParseError", (_w, f, msg) => {
    expect(f).toThrow(ParseError);
    expect(f).toThrow(msg);
  });

  it("fuzz: mangled JSON gives a valid result or a ParseError", () => {
    for (const [i, [sample, parse]] of ([
      [route, parseIpRoute],
      [link, parseIpLink],
      [neigh, parseIpNeigh],
      [addr, parseIpAddr],
    ] as const).entries()) {
      const r = fuzz([sample], parse as (s: string) => unknown, () => undefined, 150, 10 + i);
      expect(r.bad.slice(0, 3)).toEqual([]);
      expect(r.rejected).toBeGreaterThan(50);
    }
  });
});
