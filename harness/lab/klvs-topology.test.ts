import { describe, expect, it } from "vitest";
import { parseKeepalived } from "../evidence/parsers/keepalived.ts";
import { ingressRules } from "../evidence/parsers/klvs-ingress.ts";
import { BACKENDS, ROUTERS, keepalivedAsIngress, keepalivedConf, parseKeepalivedProcs, procsAsRouterPods } from "./klvs-topology.ts";

describe("klvs-topology: keepalived's virtual servers as the KLVS oracles' input", () => {
  it("maps each virtual_server to one EricIngress-shaped object and its real servers to an Endpoints object", () => {
    const conf = keepalivedConf(ROUTERS[0], [
      { port: 80, scheduler: "rr", realServers: [BACKENDS[0], BACKENDS[1]] },
      { port: 8080, scheduler: "sh", realServers: [BACKENDS[2]], rsPort: 80 },
    ]);
    const { ingresses, endpoints } = keepalivedAsIngress(parseKeepalived(conf));
    expect(ingresses.flatMap(ingressRules)).toEqual([
      { source: "EricIngress/vs-10-232-35-199-80-tcp", vip: "10.232.35.199", vipPort: 80, protocol: "TCP", scheduler: "rr", forward: "Masq", service: "vs-10-232-35-199-80-tcp", svcPort: 80 },
      { source: "EricIngress/vs-10-232-35-199-8080-tcp", vip: "10.232.35.199", vipPort: 8080, protocol: "TCP", scheduler: "sh", forward: "Masq", service: "vs-10-232-35-199-8080-tcp", svcPort: 80 },
    ]);
    expect(endpoints.map((e) => [e.metadata.name, e.subsets.flatMap((s) => s.addresses.map((a) => a.ip))])).toEqual([
      ["vs-10-232-35-199-80-tcp", ["10.42.0.2", "10.42.0.3"]],
      ["vs-10-232-35-199-8080-tcp", ["10.42.0.4"]],
    ]);
  });

  it("refuses a virtual_server whose real servers use several ports, and an unknown scheduler", () => {
    const several = "virtual_server 10.0.0.1 80 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n real_server 10.1.0.1 80 {\n }\n real_server 10.1.0.2 81 {\n }\n}\n";
    expect(() => keepalivedAsIngress(parseKeepalived(several))).toThrow("real servers on several ports (80, 81)");
    expect(() => keepalivedAsIngress(parseKeepalived(several.replace("rr", "bogus").replace(" 81 {", " 80 {")))).toThrow();
  });
});

describe("klvs-topology: keepalived's processes as router-pod rows", () => {
  // as read in the lab (6.1.0-50, keepalived 2.2.7) before and after a restart of router-1's keepalived
  const before = "router-1 parent 238 2203 S\nrouter-1 vrrp 254 2453 S\nrouter-1 checkers 252 2452 S\nrouter-2 parent 259 2528 S\n";
  it("names each process by router, role, PID and start ticks", () => {
    expect(procsAsRouterPods(parseKeepalivedProcs(before)).map((p) => [p.name, p.node, p.ready])).toEqual([
      ["router-1-keepalived-parent-238-2203", "router-1", true],
      ["router-1-keepalived-vrrp-254-2453", "router-1", true],
      ["router-1-keepalived-checkers-252-2452", "router-1", true],
      ["router-2-keepalived-parent-259-2528", "router-2", true],
    ]);
  });
  it("reads a gone process as not ready and refuses a malformed line", () => {
    expect(procsAsRouterPods(parseKeepalivedProcs("router-1 vrrp gone\nrouter-1 parent 7 9 Z"))).toMatchObject([
      { name: "router-1-keepalived-vrrp-gone", ready: false, status: "Gone" },
      { name: "router-1-keepalived-parent-7-9", ready: false, status: "Zombie" },
    ]);
    expect(() => parseKeepalivedProcs("router-1 parent 238 S")).toThrow('keepalived process line "router-1 parent 238 S"');
    expect(() => parseKeepalivedProcs("router-1 child 238 1 S")).toThrow();
  });
});
