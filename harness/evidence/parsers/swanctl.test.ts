import { describe, expect, it } from "vitest";
import { loadFixture } from "../fixtures.ts";
import { ParseError } from "../parse-error.ts";
import { fuzz } from "./fuzz-util.ts";
import { findChild, parseSwanctlSas, swanctlSasSchema } from "./swanctl.ts";

const routeBased = loadFixture("IPSEC-01", "pass", "sas-after.swanctl").text;
const vti = loadFixture("IPSEC-04", "pass", "sas-before.swanctl").text;
// An initiator with two IKE SAs: one established (virtual IP, EAP id, rekey and reauth), one still connecting.
const twoSas = `home: #7, ESTABLISHED, IKEv2, 0123456789abcdef_i* fedcba9876543210_r
  local  'client@example.org' @ 192.168.1.10[4500] [10.10.0.2]
  remote 'vpn.example.org' @ 203.0.113.5[4500] EAP: 'alice' [10.10.0.1 fd00::1]
  AES_GCM_16-256/PRF_HMAC_SHA2_384/ECP_384
  established 15s ago, rekeying in 13805s, reauth in 85000s
  active:  IKE_DPD
  home-net: #9, reqid 3, cpu 2, INSTALLED, TUNNEL-in-UDP, ESP:AES_GCM_16-256/CURVE_25519/ESN
    installed 15s ago, rekeying in 3300s, expires in 3945s
    in  c1234567/0x4a2b, 0 bytes, 0 packets
    out c7654321/0x4a2c (0x00000064/0xffffffff|0x0000002a),    120 bytes,     2 packets,     3s ago
    label  system_u:object_r:ipsec_spd_t:s0
    local  10.10.0.2/32
    remote 0.0.0.0/0 ::/0
office: #8, CONNECTING, IKEv2, 1111111111111111_i* 0000000000000000_r
  local  '%any' @ 192.168.1.10[500]
  remote '%any' @ 198.51.100.7[500]
  queued:  CHILD_CREATE
`;

describe("parsers/swanctl", () => {
  it("parses an IKE SA and its CHILD SA: state, endpoints, proposals, SPIs, if_id, counters, selectors", () => {
    const [ike] = parseSwanctlSas(routeBased);
    expect(ike).toMatchObject({
      name: "tunnel-accept-any",
      uniqueId: 3,
      state: "ESTABLISHED",
      version: 2,
      initiator: false,
      local: { id: "myserver", host: "10.65.94.121", port: 4500, vips: [] },
      remote: { id: "myclient", host: "10.123.123.4", port: 4500 },
      proposal: "AES_CBC-128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_3072",
      establishedSecsAgo: 371,
      rekeyInSecs: 10083,
    });
    expect(ike!.children[0]).toEqual({
      name: "net-net",
      uniqueId: 5,
      reqid: 1,
      state: "INSTALLED",
      mode: "TUNNEL",
      udpEncap: true,
      protocol: "ESP",
      proposal: "AES_GCM_16-128",
      installedSecsAgo: 371,
      rekeyInSecs: 2983,
      expiresInSecs: 3589,
      in: { spi: "c8a1d7e2", ifId: "0x0000007b", bytes: 6552, packets: 63, lastUseSecs: 1 },
      out: { spi: "c3f09b5d", ifId: "0x0000007b", bytes: 5928, packets: 57, lastUseSecs: 1 },
      localTs: ["1.2.3.4/32", "11.12.13.14/32"],
      remoteTs: ["5.6.7.8/32"],
    });
  });

  it("parses marks, unused SAs, virtual IPs, EAP ids, CPIs, labels, task lines and a CONNECTING SA", () => {
    expect(findChild(parseSwanctlSas(vti), "mytunnel")!.child.in).toEqual({ spi: "c5e3a1d7", mark: "0x00000064/0xffffffff", bytes: 0, packets: 0 });
    const [home, office] = parseSwanctlSas(twoSas);
    expect(home!.initiator).toBe(true);
    expect(home!.local.vips).toEqual(["10.10.0.2"]);
    expect(home!.remote).toMatchObject({ eapId: "alice", vips: ["10.10.0.1", "fd00::1"] });
    expect(home!.reauthInSecs).toBe(85000);
    expect(home!.tasks.active).toEqual(["IKE_DPD"]);
    const c = home!.children[0]!;
    expect(c).toMatchObject({ cpu: "2", proposal: "AES_GCM_16-256/CURVE_25519/ESN", label: "system_u:object_r:ipsec_spd_t:s0", remoteTs: ["0.0.0.0/0", "::/0"] });
    expect(c.in.cpi).toBe("0x4a2b");
    expect(c.out).toMatchObject({ mark: "0x00000064/0xffffffff", ifId: "0x0000002a", bytes: 120 });
    expect(office).toMatchObject({ state: "CONNECTING", children: [], tasks: { queued: ["CHILD_CREATE"] } });
    expect(office!.establishedSecsAgo).toBeUndefined();
    expect(parseSwanctlSas("")).toEqual([]);
  });

  it("prefers the INSTALLED CHILD SA of a name during a rekey", () => {
    const lines = routeBased.split("\n");
    const child = lines.slice(5, 11).join("\n");
    const rekeying = [...lines.slice(0, 5), child.replace("INSTALLED", "REKEYED").replace("#5", "#4"), child.replace(/c8a1d7e2/, "c0ffee00"), ""].join("\n");
    const sas = parseSwanctlSas(rekeying);
    expect(sas[0]!.children.map((c) => c.state)).toEqual(["REKEYED", "INSTALLED"]);
    expect(findChild(sas, "net-net")!.child.in.spi).toBe("c0ffee00");
    expect(findChild(sas, "nope")).toBeUndefined();
  });

  it.each([
    ["a CHILD SA cut before its remote selector", routeBased.split("\n").slice(0, -2).join("\n"), /CHILD_SA net-net is missing its "remote" line/],
    ["an IKE SA without endpoints", "x: #1, CONNECTING, IKEv2, 1111111111111111_i* 0000000000000000_r\n", /missing its "local" line/],
    ["an ESTABLISHED SA without its established line", routeBased.replace(/ {2}established .*\n/, ""), /has no "established" line/],
    ["an unknown CHILD state", routeBased.replace("INSTALLED", "HAPPY"), /unknown CHILD_SA state HAPPY/],
    ["a line outside an IKE SA", "  local  'a' @ 1.1.1.1[500]", /outside an IKE_SA/],
    ["an unknown line", routeBased.replace("    local  1.2.3.4", "    locale 1.2.3.4"), /unrecognised CHILD_SA line/],
    ["two local-side stars", "x: #1, CONNECTING, IKEv2, 1111111111111111_i* 0000000000000000_r*", /exactly one SPI/],
    ["a duplicated counter line", routeBased.replace(/( {4}out .*\n)/, "$1$1"), /second "out" line/],
  ])("rejects %s with a ParseError", (_w, text, msg) => {
    expect(() => parseSwanctlSas(text)).toThrow(ParseError);
    expect(() => parseSwanctlSas(text)).toThrow(msg);
  });

  it("fuzz: truncated, garbage and random input gives a valid result or a ParseError", () => {
    const r = fuzz([routeBased, vti, twoSas], parseSwanctlSas, (x) => swanctlSasSchema.parse(x), 400, 4);
    expect(r.bad.slice(0, 3)).toEqual([]);
    expect(r.rejected).toBeGreaterThan(100);
  });
});
