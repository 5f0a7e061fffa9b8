import { describe, expect, it } from "vitest";
import { cidrContains, formatIp, ipValue, parseCidr, splitHostPort } from "./common.ts";

describe("evidence/parsers/common", () => {
  it("turns addresses into numbers and back", () => {
    expect(ipValue("192.168.1.44")).toEqual({ family: 4, value: 0xc0a8012cn });
    expect(formatIp(ipValue("192.168.1.44")!)).toBe("192.168.1.44");
    for (const a of ["2001:db8::1", "::", "::1", "fd00:0:0:1::", "2001:db8:0:1:1:1:1:1", "1::", "fe80::1:2"]) expect(formatIp(ipValue(a)!)).toBe(a);
    expect(formatIp(ipValue("::ffff:10.0.0.1")!)).toBe("::ffff:a00:1");
    expect(ipValue("2001:db8::1")!.value).toBe((0x20010db8n << 96n) | 1n);
    expect(ipValue("192.168.1.256")).toBeUndefined();
    expect(ipValue("pool1")).toBeUndefined();
  });

  it("reads CIDRs and tests containment", () => {
    const c = parseCidr("192.168.0.0/16")!;
    expect([formatIp({ family: 4, value: c.first }), formatIp({ family: 4, value: c.last })]).toEqual(["192.168.0.0", "192.168.255.255"]);
    expect(cidrContains(c, ipValue("192.168.1.44")!)).toBe(true);
    expect(cidrContains(c, ipValue("10.10.10.10")!)).toBe(false);
    expect(cidrContains(c, ipValue("::1")!)).toBe(false);
    expect(parseCidr("172.16.1.2/24")!.first).toBe(ipValue("172.16.1.0")!.value);
    expect(parseCidr("fd00::/48")!.last).toBe(ipValue("fd00:0:0:ffff:ffff:ffff:ffff:ffff")!.value);
    expect(parseCidr("10.0.0.0/33")).toBeUndefined();
    expect(parseCidr("10.0.0.0")).toBeUndefined();
  });

  it("splits host:port", () => {
    expect(splitHostPort("10.244.1.2:7777")).toEqual({ address: "10.244.1.2", port: 7777 });
    expect(splitHostPort("[2001:db8::2]:53")).toEqual({ address: "2001:db8::2", port: 53 });
    expect(splitHostPort("10.244.1.2:70000")).toBeUndefined();
    expect(splitHostPort("2001:db8::2:53")).toBeUndefined();
  });
});
