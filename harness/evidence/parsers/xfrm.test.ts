import { describe, expect, it } from "vitest";
import { z } from "zod";
import { loadFixture } from "../fixtures.ts";
import { ParseError } from "../parse-error.ts";
import { fuzz } from "./fuzz-util.ts";
import { parseXfrmPolicy, parseXfrmState, xfrmPolicySchema, xfrmStateSchema } from "./xfrm.ts";

const withStats = loadFixture("IPSEC-01", "pass", "xfrm-state.txt").text;
// `ip xfrm state` without -s: cbc(aes) + hmac(sha256), a mark, a selector, hidden keys on the second state.
const plain = `src 10.123.123.1 dst 10.123.123.4
\tproto esp spi 0xca8b6f20 reqid 1 mode tunnel
\treplay-window 0 flag af-unspec
\tmark 0x64/0xffffffff
\tauth-trunc hmac(sha256) 0x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff 128
\tenc cbc(aes) 0xffeeddccbbaa99887766554433221100
\tanti-replay context: seq 0x0, oseq 0x0, bitmap 0x00000000
\tsel src 0.0.0.0/0 dst 0.0.0.0/0 proto sctp dport 10000
src 10.123.123.4 dst 10.123.123.1
\tproto esp spi 0xc5e3a1d7 reqid 1 mode tunnel
\treplay-window 32 flag af-unspec
\tmark 0x64/0xffffffff
\tauth-trunc hmac(sha256) <<Keys hidden>> 128
\tenc cbc(aes) <<Keys hidden>>
\tdir in
`;
const policies = `src 5.6.7.8/32 dst 1.2.3.4/32 
\tdir fwd priority 375423 ptype main 
\ttmpl src 10.123.123.4 dst 10.65.94.121
\t\tproto esp reqid 1 mode tunnel
src 5.6.7.8/32 dst 1.2.3.4/32 
\tdir in priority 375423 ptype main 
\ttmpl src 10.123.123.4 dst 10.65.94.121
\t\tproto esp reqid 1 mode tunnel
src 1.2.3.4/32 dst 5.6.7.8/32 
\tdir out priority 375423 ptype main 
\tif_id 0x7b
\ttmpl src 10.65.94.121 dst 10.123.123.4
\t\tproto esp spi 0xc3f09b5d reqid 1 mode tunnel
\t\tlevel required share any
\t\tenc-mask ffffffff auth-mask ffffffff comp-mask ffffffff
src 0.0.0.0/0 dst 0.0.0.0/0 
\tsocket in priority 0 ptype main 
src ::/0 dst ::/0 
\tsocket out action allow index 3 priority 0 ptype main 
\tlifetime config:
\t  limit: soft (INF)(bytes), hard (INF)(bytes)
\t  limit: soft (INF)(packets), hard (INF)(packets)
\t  expire add: soft 0(sec), hard 0(sec)
\t  expire use: soft 0(sec), hard 0(sec)
\tlifetime current:
\t  0(bytes), 0(packets)
\t  add 2024-07-12 14:02:31 use -
`;

describe("parsers/xfrm", () => {
  it("parses ip -s xfrm state: ids, mode, if_id, NAT-T encap, lifetime counters, stats", () => {
    const [out, inb] = parseXfrmState(withStats);
    expect(out).toMatchObject({
      src: "10.65.94.121",
      dst: "10.123.123.4",
      proto: "esp",
      spi: "0xc3f09b5d",
      reqid: 1,
      mode: "tunnel",
      flags: ["af-unspec"],
      ifId: "0x7b",
      encap: { type: "espinudp", sport: 4500, dport: 4500, addr: "0.0.0.0" },
      lifetimeCurrent: { bytes: 5928, packets: 57, add: "2024-07-12 14:02:31", use: "2024-07-12 14:02:33" },
      stats: { replayWindow: 0, replay: 0, integrityFailed: 0 },
    });
    expect(out!.algorithms).toEqual([{ type: "aead", name: "rfc4106(gcm(aes))", keyBits: 160, icvBits: 128, keyRedacted: true }]);
    expect(inb!.replayWindow).toBe(32);
  });

  it("never keeps key material in the parsed result", () => {
    const key = /0011223344556677|8899aabbccddeeff|ffeeddccbbaa9988/i;
    expect(withStats).toMatch(key);
    expect(JSON.stringify(parseXfrmState(withStats))).not.toMatch(key);
    expect(JSON.stringify(parseXfrmState(plain))).not.toMatch(key);
    // nor in an error about the key's own line
    const broken = withStats.replace(" (160 bits) 128", " (128 bits) 128");
    expect(() => parseXfrmState(broken)).toThrow(/announced as 128 bits/);
    expect(() => parseXfrmState(broken)).not.toThrow(key);
    expect(() => parseXfrmState(withStats.replace("0x0011223344", "0x00112g3344"))).not.toThrow(key);
  });

  it("parses the plain format: auth-trunc/enc, marks, selectors, hidden keys, dir", () => {
    const [a, b] = parseXfrmState(plain);
    expect(a!.algorithms).toEqual([
      { type: "auth-trunc", name: "hmac(sha256)", keyBits: 256, icvBits: 128, keyRedacted: true },
      { type: "enc", name: "cbc(aes)", keyBits: 128, keyRedacted: true },
    ]);
    expect(a!.mark).toBe("0x64/0xffffffff");
    expect(a!.selector).toEqual({ src: "0.0.0.0/0", dst: "0.0.0.0/0", proto: "sctp", dport: 10000 });
    expect(b!.algorithms.map((x) => x.keyBits)).toEqual([undefined, undefined]);
    expect(b!.dir).toBe("in");
  });

  it("parses ip xfrm policy: dir in/out/fwd, selector, templates, if_id, socket policies", () => {
    const p = parseXfrmPolicy(policies);
    expect(p.map((x) => [x.dir, x.socket])).toEqual([
      ["fwd", false],
      ["in", false],
      ["out", false],
      ["in", true],
      ["out", true],
    ]);
    expect(p[2]).toMatchObject({
      selector: { src: "1.2.3.4/32", dst: "5.6.7.8/32" },
      priority: 375423,
      ptype: "main",
      ifId: "0x7b",
      templates: [{ src: "10.65.94.121", dst: "10.123.123.4", proto: "esp", spi: "0xc3f09b5d", reqid: 1, mode: "tunnel", level: "required" }],
    });
    expect(p[4]).toMatchObject({ action: "allow", index: 3, lifetimeCurrent: { bytes: 0, packets: 0, use: "-" } });
  });

  it.each([
    ["a state without its proto line", "src 1.1.1.1 dst 2.2.2.2\n", /without its proto line/],
    ["an unknown state line", withStats.replace("\tif_id 0x7b", "\tif_idx 0x7b"), /unrecognised state line/],
    ["a truncated lifetime section", "src 1.1.1.1 dst 2.2.2.2\n\tproto esp spi 0x00000001 reqid 1 mode tunnel\n\tlifetime current:\n\t  0(bytes), 0(packets)", /incomplete/],
    ["an aead line without ICV length", "src 1.1.1.1 dst 2.2.2.2\n\tproto esp spi 0x00000001 reqid 1 mode tunnel\n\taead rfc4106(gcm(aes)) 0x0011", /without its ICV length/],
    ["a line outside a block", "\tproto esp", /outside a src/],
    ["a policy tmpl without proto", "src 1.1.1.1/32 dst 2.2.2.2/32\n\tdir out priority 1\n\ttmpl src 1.1.1.1 dst 2.2.2.2", /tmpl without its proto line/],
  ])("rejects %s with a ParseError", (_w, text, msg) => {
    const parse = text.includes("dir out priority") ? parseXfrmPolicy : parseXfrmState;
    expect(() => parse(text)).toThrow(ParseError);
    expect(() => parse(text)).toThrow(msg);
  });

  it("fuzz: truncated, garbage and random input gives a valid result or a ParseError", () => {
    const s = fuzz([withStats, plain], parseXfrmState, (x) => z.array(xfrmStateSchema).parse(x), 400, 5);
    expect(s.bad.slice(0, 3)).toEqual([]);
    expect(s.rejected).toBeGreaterThan(100);
    const p = fuzz([policies], parseXfrmPolicy, (x) => z.array(xfrmPolicySchema).parse(x), 300, 6);
    expect(p.bad.slice(0, 3)).toEqual([]);
    expect(p.rejected).toBeGreaterThan(50);
  });
});
