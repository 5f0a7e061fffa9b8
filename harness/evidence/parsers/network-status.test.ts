import { describe, expect, it } from "vitest";
import { ParseError } from "../parse-error.ts";
import { fuzz } from "./fuzz-util.ts";
import { attachment, parseNetworkSelection, parseNetworkStatus } from "./network-status.ts";

// seed 003 L138-156
const STATUS = `NETWORK-STATUS
[{
    "name": "kindnet",
    "interface": "eth0",
    "ips": [
        "10.244.0.14"
    ],
    "mac": "be:75:d3:da:da:c6",
    "default": true,
    "dns": {}
},{
    "name": "default/example-macvlannetwork",
    "interface": "net1",
    "ips": [
        "192.168.0.13"
    ],
    "mac": "8a:ce:ae:9d:03:18",
    "dns": {}
}]
`;

describe("evidence/parsers/network-status", () => {
  it("reads the lab's custom-columns output and the bare annotation", () => {
    const s = parseNetworkStatus(STATUS);
    expect(s).toHaveLength(2);
    expect(s[0]).toEqual({ name: "kindnet", interface: "eth0", ips: ["10.244.0.14"], mac: "be:75:d3:da:da:c6", default: true, dns: {} });
    expect(s[1]).toMatchObject({ name: "default/example-macvlannetwork", interface: "net1", ips: ["192.168.0.13"], default: false });
    expect(parseNetworkStatus(STATUS.replace("NETWORK-STATUS\n", ""))).toEqual(s);
    const gw = JSON.stringify([{ name: "n", interface: "net1", ips: ["2001:db8::5"], gateway: ["2001:db8::1"], dns: { nameservers: ["10.96.0.10"] } }]);
    expect(parseNetworkStatus(gw)[0]).toMatchObject({ gateway: ["2001:db8::1"], dns: { nameservers: ["10.96.0.10"] } });
  });

  it("finds an attachment by ns/name or by a unique bare name", () => {
    const s = parseNetworkStatus(STATUS);
    expect(attachment(s, "default/example-macvlannetwork")?.ips).toEqual(["192.168.0.13"]);
    expect(attachment(s, "example-macvlannetwork")?.interface).toBe("net1");
    expect(attachment(s, "other")).toBeUndefined();
  });

  it("reads the networks annotation in both forms (the lab capture)", () => {
    expect(parseNetworkSelection("example-macvlannetwork")).toEqual([{ name: "example-macvlannetwork", requestedIps: [] }]);
    expect(parseNetworkSelection("ns1/a@net3, b")).toEqual([{ name: "a", namespace: "ns1", interface: "net3", requestedIps: [] }, { name: "b", requestedIps: [] }]);
    expect(parseNetworkSelection('[{"name": "example-macvlannetwork", "ips": ["192.168.0.5"]}]')[0]!.requestedIps).toEqual(["192.168.0.5"]);
    expect(parseNetworkSelection('[{"name": "mynet", "cni-args": {"ips": ["192.168.0.200/16"]}}]')[0]!.requestedIps).toEqual(["192.168.0.200"]);
  });

  it("reads Multus v4's \"<nil>\" gateway of a default network without one as no gateway (live, suites/nvipam)", () => {
    // the shape of the annotation on a live kind cluster: nodenet as the default network, macvlan + nv-ipam as net1
    const live = '[{"name":"nodenet","interface":"eth0","ips":["10.244.2.3"],"mac":"b6:f9:4e:38:2f:01","default":true,"dns":{},"gateway":["<nil>"]},' +
      '{"name":"nc-nvipam/nc-macvlan","interface":"net1","ips":["192.168.0.101"],"mac":"5e:0c:2a:11:22:33","dns":{}}]';
    const st = parseNetworkStatus(live);
    expect(st[0]!.gateway).toEqual([]);
    expect(attachment(st, "nc-nvipam/nc-macvlan")!.ips).toEqual(["192.168.0.101"]);
    expect(() => parseNetworkStatus(live.replace('"<nil>"', '"nil"'))).toThrow(ParseError);
  });

  it("refuses bad addresses, unknown keys and two defaults", () => {
    expect(() => parseNetworkStatus(STATUS.replace("192.168.0.13", "192.168.0.300"))).toThrow(/not an IP address/);
    expect(() => parseNetworkStatus(STATUS.replace('"dns": {}\n}]', '"dns": {}, "colour": "red"\n}]'))).toThrow(ParseError);
    expect(() => parseNetworkStatus(STATUS.replace('"mac": "8a:ce', '"default": true, "mac": "8a:ce'))).toThrow(/more than one default/);
    expect(() => parseNetworkSelection('[{"name": "n", "cni-args": {"ips": [42]}}]')).toThrow(/cni-args.ips/);
    expect(() => parseNetworkSelection("a b")).toThrow(ParseError);
  });

  it("fuzz: a full result or a ParseError", () => {
    const a = fuzz([STATUS], parseNetworkStatus, (s) => s.forEach((e) => expect(e.name).not.toBe("")));
    const b = fuzz(['[{"name": "example-macvlannetwork", "ips": ["192.168.0.5"]}]', "ns/a@net1,b"], parseNetworkSelection, () => {}, 300, 2);
    expect([...a.bad, ...b.bad]).toEqual([]);
  });
});
