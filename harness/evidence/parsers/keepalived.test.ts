import { describe, expect, it } from "vitest";
import { ParseError } from "../parse-error.ts";
import { fuzz } from "./fuzz-util.ts";
import { parseKeepalived, parseKeepalivedTree } from "./keepalived.ts";

// seed 004 L430-456, code-block indentation removed
const VRRP = `global_defs {
  vrrp_version 3
}
vrrp_instance VI_1 {
    state BACKUP

    interface eth1
    virtual_router_id 106
    priority 100
    nopreempt
    advert_int 1
    unicast_src_ip 10.232.35.41

    unicast_peer {
        10.232.35.31
    }

    virtual_ipaddress {
    10.232.35.203
    10.232.35.200
    10.232.35.205
    10.232.35.199
    10.232.35.204
    10.232.35.201
    10.232.35.202
  }
}
`;
const LVS = `! Configuration File for keepalived
# a virtual server as keepalived's own LVS support writes it
virtual_server 10.232.35.199 1389 {
    delay_loop 6
    lb_algo lc
    lb_kind NAT
    persistence_timeout 50
    protocol TCP
    real_server 192.168.67.114 1389 {   # first backend
        weight 1
        TCP_CHECK { connect_timeout 3 }
    }
    real_server 192.168.182.140 1389 {
        weight 1
    }
}
virtual_server fwmark 7 {
    lb_algo rr
    lb_kind DR
}
`;

describe("evidence/parsers/keepalived", () => {
  it("reads the lab's vrrp_instance", () => {
    const c = parseKeepalived(VRRP);
    expect(c.globalDefs).toEqual({ vrrp_version: ["3"] });
    expect(c.vrrpInstances).toEqual([
      {
        name: "VI_1",
        state: "BACKUP",
        interface: "eth1",
        virtualRouterId: 106,
        priority: 100,
        nopreempt: true,
        advertInt: 1,
        unicastSrcIp: "10.232.35.41",
        unicastPeers: ["10.232.35.31"],
        virtualIpaddresses: ["10.232.35.203", "10.232.35.200", "10.232.35.205", "10.232.35.199", "10.232.35.204", "10.232.35.201", "10.232.35.202"],
      },
    ]);
  });

  it("reads virtual_server blocks with real servers, comments and one-line blocks", () => {
    const c = parseKeepalived(LVS);
    expect(c.virtualServers[0]).toEqual({
      address: "10.232.35.199",
      port: 1389,
      delayLoop: 6,
      lbAlgo: "lc",
      lbKind: "NAT",
      persistenceTimeout: 50,
      protocol: "TCP",
      realServers: [
        { address: "192.168.67.114", port: 1389, weight: 1 },
        { address: "192.168.182.140", port: 1389, weight: 1 },
      ],
    });
    expect(c.virtualServers[1]).toMatchObject({ fwmark: 7, lbAlgo: "rr", lbKind: "DR" });
  });

  it("keeps the generic tree", () => {
    const t = parseKeepalivedTree(LVS);
    const rs = t[0]!.children!.find((n) => n.keyword === "real_server")!;
    expect(rs.children!.map((n) => n.keyword)).toEqual(["weight", "TCP_CHECK"]);
    expect(rs.children![1]!.children).toEqual([{ keyword: "connect_timeout", args: ["3"], line: 11 }]);
  });

  it("refuses unbalanced braces, unknown blocks and bad values", () => {
    expect(() => parseKeepalived(VRRP.replace(/}\n$/, ""))).toThrow(/never closed/);
    expect(() => parseKeepalived(VRRP + "}\n")).toThrow(/without an open block/);
    expect(() => parseKeepalived("vrrp_thing X {\n}\n")).toThrow(/unknown top-level keyword/);
    expect(() => parseKeepalived(VRRP.replace("10.232.35.31", "peer-one"))).toThrow(/not an address/);
    expect(() => parseKeepalived(VRRP.replace("virtual_router_id 106", "virtual_router_id 300"))).toThrow(/1\.\.255/);
    expect(() => parseKeepalived(LVS.replace("lb_kind NAT", "lb_kind MASQ"))).toThrow(ParseError);
  });

  it("fuzz: a full result or a ParseError", () => {
    expect(fuzz([VRRP, LVS], parseKeepalived, (c) => c.vrrpInstances.forEach((v) => expect(v.name).not.toBe(""))).bad).toEqual([]);
  });
});
