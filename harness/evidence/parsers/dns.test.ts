import { describe, expect, it } from "vitest";
import { z } from "zod";
import { loadFixture } from "../fixtures.ts";
import { ParseError } from "../parse-error.ts";
import { hostsEntrySchema, parseGetentHosts, parseResolvConf, resolvConfSchema } from "./dns.ts";
import { fuzz } from "./fuzz-util.ts";

const podResolv = loadFixture("SVC-04", "pass", "resolv.conf").text;
const nodeResolv = loadFixture("SVC-04", "fail", "resolv.conf-node").text;

describe("parsers/dns", () => {
  it("parses the lab's pod resolv.conf", () => {
    expect(parseResolvConf(podResolv)).toEqual({
      nameservers: ["10.43.0.10"],
      search: ["default.svc.cluster.local", "svc.cluster.local", "cluster.local", "multipass"],
      options: { ndots: "5" },
      sortlist: [],
    });
  });

  it("parses the node's resolv.conf with comments and valueless options", () => {
    const r = parseResolvConf(`# This is /run/systemd/resolve/stub-resolv.conf\n${nodeResolv}domain example.org\n`);
    expect(r).toMatchObject({ nameservers: ["127.0.0.53"], search: ["multipass"], options: { edns0: "", "trust-ad": "" }, domain: "example.org" });
  });

  it("parses getent hosts output", () => {
    expect(parseGetentHosts(loadFixture("SVC-04", "pass", "getent-hosts.txt").text)).toEqual([{ address: "10.43.180.238", names: ["nginx-service.default.svc.cluster.local"] }]);
    expect(parseGetentHosts("fd00:10:96::a  kube-dns.kube-system.svc.cluster.local kube-dns\n")[0]!.names).toHaveLength(2);
  });

  it.each([
    ["an unknown directive", () => parseResolvConf("nameserver 10.0.0.10\nresolver 1.1.1.1"), /unknown directive "resolver"/],
    ["a bad nameserver", () => parseResolvConf("nameserver 10.0.0"), /expected an IP address/],
    ["a bad option", () => parseResolvConf("options ndots=5"), /bad option/],
    ["a truncated line", () => parseResolvConf("nameserver"), /without a value/],
    ["an address without name", () => parseGetentHosts("10.43.0.10"), /without a name/],
  ])("rejects %s with a ParseError", (_w, f, msg) => {
    expect(f).toThrow(ParseError);
    expect(f).toThrow(msg);
  });

  it("fuzz: truncated, garbage and random input gives a valid result or a ParseError", () => {
    const r = fuzz([podResolv, nodeResolv], parseResolvConf, (x) => resolvConfSchema.parse(x), 300, 7);
    expect(r.bad.slice(0, 3)).toEqual([]);
    const g = fuzz(["10.43.180.238   nginx-service.default.svc.cluster.local\n"], parseGetentHosts, (x) => z.array(hostsEntrySchema).parse(x), 300, 8);
    expect(g.bad.slice(0, 3)).toEqual([]);
    expect(r.rejected + g.rejected).toBeGreaterThan(100);
  });
});
