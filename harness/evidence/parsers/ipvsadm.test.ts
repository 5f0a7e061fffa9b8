import { describe, expect, it } from "vitest";
import { ParseError } from "../parse-error.ts";
import { fuzz } from "./fuzz-util.ts";
import { parseIpvsadm, parseIpvsadmStats } from "./ipvsadm.ts";

// seed 004 L365-377, as printed by ipvsadm -Ln
const LIST = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  10.232.35.199:1389 lc
  -> 192.168.67.114:1389          Masq    1      0          0
  -> 192.168.182.140:1389         Masq    1      0          0
TCP  10.232.35.199:1636 lc
  -> 192.168.67.114:1636          Masq    1      0          0
  -> 192.168.182.140:1636         Masq    1      0          0
TCP  10.232.35.199:4569 sh
  -> 192.168.26.214:4569          Masq    1      0          0
TCP  10.232.35.199:4570 sh
  -> 192.168.26.214:4570          Masq    1      0          0
`;

const FLAGS = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  10.0.0.1:80 rr persistent 300
  -> 10.244.1.2:80                Route   3      12         40
UDP  [2001:db8::1]:53 sh (sh-fallback,sh-port) ops
  -> [2001:db8::2]:53             Tunnel  1      0          5
SCTP 10.0.0.2:3868 wlc persistent 60 mask 255.255.255.0 pe sip
  -> 10.244.2.3:3868              Local   0      0          0
FWM  7 IPv6 rr
FWM  8 lc
  -> 10.244.1.9:0                 Masq    1      0          0
`;

const STATS = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes
  -> RemoteAddress:Port
TCP  10.232.35.199:1389                 77     1234     1100    99999  1234567K
  -> 192.168.67.114:1389                40      634      600    50000    12M
  -> 192.168.182.140:1389               37      600      500    49999   2G
FWM  3                                   0        0        0        0        0
`;

describe("evidence/parsers/ipvsadm", () => {
  it("reads the lab's ipvsadm -Ln table", () => {
    const t = parseIpvsadm(LIST);
    expect(t.version).toBe("1.2.1");
    expect(t.size).toBe(4096);
    expect(t.services.map((s) => `${s.key} ${s.scheduler} ${s.realServers.length}`)).toEqual([
      "TCP 10.232.35.199:1389 lc 2",
      "TCP 10.232.35.199:1636 lc 2",
      "TCP 10.232.35.199:4569 sh 1",
      "TCP 10.232.35.199:4570 sh 1",
    ]);
    expect(t.services[0]!.realServers[1]).toEqual({ address: "192.168.182.140", port: 1389, key: "192.168.182.140:1389", forward: "Masq", weight: 1, activeConn: 0, inActConn: 0 });
  });

  it("reads flags, IPv6, SCTP, FWM and every forward method", () => {
    const t = parseIpvsadm(FLAGS);
    const [http, dns, diameter, fwm6, fwm] = t.services;
    expect(http).toMatchObject({ protocol: "TCP", persistent: 300, ops: false, schedFlags: [] });
    expect(http!.realServers[0]).toMatchObject({ forward: "Route", weight: 3, activeConn: 12, inActConn: 40 });
    expect(dns).toMatchObject({ key: "UDP [2001:db8::1]:53", family: 6, ops: true, schedFlags: ["sh-fallback", "sh-port"] });
    expect(dns!.realServers[0]!.forward).toBe("Tunnel");
    expect(diameter).toMatchObject({ protocol: "SCTP", persistent: 60, mask: "255.255.255.0", pe: "sip", scheduler: "wlc" });
    expect(diameter!.realServers[0]!.forward).toBe("Local");
    expect(fwm6).toMatchObject({ key: "FWM 7 IPv6", fwmark: 7, family: 6, realServers: [] });
    expect(fwm).toMatchObject({ key: "FWM 8", fwmark: 8, family: 4 });
  });

  it("reads an empty table", () => {
    expect(parseIpvsadm(LIST.split("\n").slice(0, 3).join("\n")).services).toEqual([]);
  });

  it("reads --stats with K/M/G suffixes", () => {
    const t = parseIpvsadmStats(STATS);
    expect(t.services[0]!.stats).toEqual({ conns: 77, inPkts: 1234, outPkts: 1100, inBytes: 99999, outBytes: 1234567000 });
    expect(t.services[0]!.realServers.map((r) => r.stats.outBytes)).toEqual([12e6, 2e9]);
    expect(t.services[1]).toMatchObject({ key: "FWM 3", realServers: [] });
  });

  it("refuses the wrong mode, unknown flags, orphans and duplicates", () => {
    expect(() => parseIpvsadm(STATS)).toThrow(/--stats output/);
    expect(() => parseIpvsadmStats(LIST)).toThrow(/without --stats/);
    expect(() => parseIpvsadm(LIST.replace("lc\n", "lc sticky\n"))).toThrow(/unknown service flag "sticky"/);
    const orphan = LIST.split("\n");
    orphan.splice(3, 1);
    expect(() => parseIpvsadm(orphan.join("\n"))).toThrow(/real server before any virtual service/);
    expect(() => parseIpvsadm(LIST.replace("Masq    1      0          0\n  -> 192.168.182.140:1389", "Masq    1      0          0\n  -> 192.168.67.114:1389"))).toThrow(/listed twice/);
    expect(() => parseIpvsadm(LIST.replace("Masq", "Nat"))).toThrow(/forward method "Nat"/);
    expect(() => parseIpvsadm("Can't initialize ipvs: Protocol not available\n")).toThrow(ParseError);
  });

  it("fuzz: mangled tables give a full result or a ParseError", () => {
    const r1 = fuzz([LIST, FLAGS], parseIpvsadm, (t) => {
      for (const s of t.services) for (const rs of s.realServers) expect(Number.isInteger(rs.weight)).toBe(true);
    });
    const r2 = fuzz([STATS], parseIpvsadmStats, (t) => {
      for (const s of t.services) expect(Number.isFinite(s.stats.conns)).toBe(true);
    }, 300, 2);
    expect(r1.bad).toEqual([]);
    expect(r2.bad).toEqual([]);
    expect(r1.rejected + r2.rejected).toBeGreaterThan(100);
  });
});
