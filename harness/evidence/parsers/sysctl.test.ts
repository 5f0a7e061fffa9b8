import { describe, expect, it } from "vitest";
import { fuzz } from "./fuzz-util.ts";
import { parseSysctl } from "./sysctl.ts";

describe("evidence/parsers/sysctl", () => {
  it("reads key = value lines, tabs in values kept", () => {
    expect(parseSysctl("net.ipv4.vs.conntrack = 1\nnet.ipv4.tcp_rmem = 4096\t131072\t6291456\nnet.ipv4.conf.eth0@if5.rp_filter = 0\n")).toEqual({
      "net.ipv4.vs.conntrack": "1",
      "net.ipv4.tcp_rmem": "4096\t131072\t6291456",
      "net.ipv4.conf.eth0@if5.rp_filter": "0",
    });
  });
  it("refuses other lines and repeated keys", () => {
    expect(() => parseSysctl("sysctl: cannot stat /proc/sys/net/ipv4/vs/conntrack: No such file or directory\n")).toThrow(/key = value/);
    expect(() => parseSysctl("a.b = 1\na.b = 2\n")).toThrow(/twice/);
  });
  it("fuzz: a full result or a ParseError", () => {
    expect(fuzz(["net.ipv4.vs.conntrack = 1\nnet.ipv4.ip_forward = 1\n"], parseSysctl, () => {}).bad).toEqual([]);
  });
});
