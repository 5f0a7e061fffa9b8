import { describe, expect, it } from "vitest";
import { listFixtures, loadFixture } from "../fixtures.ts";
import { ParseError } from "../parse-error.ts";
import { fuzz } from "./fuzz-util.ts";
import { mapLookup, nftRulesetSchema, nftTable, parseNft, parseNftJson, parseNftText, ruleMatches, ruleVerdict, vmapUsers, type NftRuleset } from "./nft.ts";

// written from nft(8)'s syntax: a table as `nft -a list table` prints it, with a base chain, a set,
// a verdict map, an inline numgen vmap, binary operations on marks, flags and comments
const DOC = `table ip demo { # handle 4
	comment "demo table"
	set cluster-ips { # handle 7
		type ipv4_addr
		comment "Active ClusterIPs"
		elements = { 10.96.0.1, 10.96.0.10,
			     10.96.0.11 }
	}

	map service-ips { # handle 8
		type ipv4_addr . inet_proto . inet_service : verdict
		elements = { 10.96.0.10 . tcp . 53 comment "kube-system/kube-dns:dns-tcp" : goto svc-a,
			     10.96.0.10 . udp . 53 : goto svc-a }
	}

	chain pre { # handle 1
		type nat hook prerouting priority dstnat - 10; policy accept;
		ct state established,related accept # handle 20
		iifname "eth0" counter packets 12 bytes 720 jump svc # handle 21
	}

	chain svc { # handle 2
		ip daddr . meta l4proto . th dport vmap @service-ips # handle 22
		ip daddr @cluster-ips reject with icmp type host-unreachable comment "no such port" # handle 23
	}

	chain svc-a { # handle 3
		comment "one service"
		ip daddr 10.96.0.10 tcp dport 53 ip saddr != 10.244.0.0/16 jump mark # handle 24
		numgen random mod 2 vmap { 0 : goto ep-1, 1 : goto ep-2 } # handle 25
	}

	chain mark { # handle 5
		meta mark set meta mark | 0x00004000 # handle 26
	}

	chain post { # handle 6
		type nat hook postrouting priority srcnat; policy accept;
		meta mark & 0x00004000 == 0x00000000 return # handle 27
		masquerade fully-random # handle 28
	}

	chain ep-1 { # handle 9
		ip saddr 10.244.1.2 jump mark # handle 29
		meta l4proto tcp dnat to 10.244.1.2:53 # handle 30
	}

	chain ep-2 { # handle 10
		meta l4proto tcp dnat to 10.244.2.2:53 # handle 31
	}
}
`;

/** live recordings: every kube-proxy nftables fixture in text and JSON form */
function liveSamples(): Array<{ id: string; name: string; text: string }> {
  const out: Array<{ id: string; name: string; text: string }> = [];
  for (const id of ["SVC-02", "SVC-03", "ETP-05"]) for (const n of listFixtures(id, "pass")) if (/\.nft(\.json)?$/.test(n)) out.push({ id, name: n, text: loadFixture(id, "pass", n).text });
  return out;
}

/** the model without what only one form carries (line numbers, handles, priorities as names vs numbers, table comments) */
function comparable(rs: NftRuleset): unknown {
  return JSON.parse(
    JSON.stringify(rs, (k, v) => (["line", "handle", "form", "version", "priority"].includes(k) ? undefined : v)),
    (k, v) => (k === "comment" && typeof v === "string" ? undefined : v),
  );
}

describe("parsers/nft", () => {
  it("parses a table: base chains with hook, priority and policy; sets and maps with their elements", () => {
    const rs = parseNftText(DOC);
    expect(rs.form).toBe("text");
    const t = nftTable(rs, "ip", "demo")!;
    expect(t.comment).toBe("demo table");
    expect(t.chains["pre"]).toMatchObject({ type: "nat", hook: "prerouting", priority: "dstnat - 10", policy: "accept" });
    expect(t.chains["post"]).toMatchObject({ type: "nat", hook: "postrouting", priority: "srcnat" });
    expect(t.chains["svc-a"]!.comment).toBe("one service");
    expect(t.sets["cluster-ips"]).toMatchObject({ map: false, keyType: ["ipv4_addr"], comment: "Active ClusterIPs" });
    expect(t.sets["cluster-ips"]!.elements.map((e) => e.key[0])).toEqual(["10.96.0.1", "10.96.0.10", "10.96.0.11"]);
    expect(t.sets["service-ips"]).toMatchObject({ map: true, keyType: ["ipv4_addr", "inet_proto", "inet_service"], dataType: "verdict" });
    expect(mapLookup(t, "service-ips", ["10.96.0.10", "tcp", "53"])).toEqual([{ key: ["10.96.0.10", "tcp", "53"], comment: "kube-system/kube-dns:dns-tcp", verdict: { verdict: "goto", target: "svc-a" } }]);
    expect(vmapUsers(t, "service-ips").map((r) => r.chain)).toEqual(["svc"]);
  });

  it("breaks rules into statements and renders them in normalised text", () => {
    const t = nftTable(parseNftText(DOC), "ip", "demo")!;
    const [est, iif] = t.chains["pre"]!.rules;
    expect(est!.stmts).toEqual([{ kind: "match", left: "ct state", op: "==", right: "established,related" }, { kind: "verdict", verdict: "accept" }]);
    expect(est!.handle).toBe(20);
    expect(iif!.stmts).toEqual([
      { kind: "match", left: "meta iifname", op: "==", right: "eth0" },
      { kind: "counter", packets: 12, bytes: 720 },
      { kind: "verdict", verdict: "jump", target: "svc" },
    ]);
    const [vm, rej] = t.chains["svc"]!.rules;
    expect(vm!.stmts).toEqual([{ kind: "vmap", key: "ip daddr . meta l4proto . th dport", map: "@service-ips" }]);
    expect(rej!.comment).toBe("no such port");
    expect(rej!.stmts).toEqual([{ kind: "match", left: "ip daddr", op: "==", right: "@cluster-ips" }, { kind: "reject", with: "icmp host-unreachable" }]);
    const [masq, dispatch] = t.chains["svc-a"]!.rules;
    expect(ruleMatches(masq!).map((m) => `${m.left} ${m.op} ${m.right}`)).toEqual(["ip daddr == 10.96.0.10", "tcp dport == 53", "ip saddr != 10.244.0.0/16"]);
    expect(ruleVerdict(masq!)).toEqual({ kind: "verdict", verdict: "jump", target: "mark" });
    expect(dispatch!.stmts).toEqual([{ kind: "vmap", key: "numgen random mod 2", elements: [{ key: ["0"], verdict: { verdict: "goto", target: "ep-1" } }, { key: ["1"], verdict: { verdict: "goto", target: "ep-2" } }] }]);
    expect(dispatch!.text).toBe("numgen random mod 2 vmap { 0 : goto ep-1, 1 : goto ep-2 }");
    expect(t.chains["mark"]!.rules[0]!.stmts).toEqual([{ kind: "set", left: "meta mark", value: "meta mark | 16384" }]);
    expect(t.chains["post"]!.rules.map((r) => r.text)).toEqual(["meta mark & 16384 == 0 return", "masquerade fully-random"]);
    expect(t.chains["ep-1"]!.rules[1]!.stmts).toEqual([{ kind: "match", left: "meta l4proto", op: "==", right: "tcp" }, { kind: "nat", type: "dnat", to: "10.244.1.2:53", flags: [] }]);
  });

  it("refuses references to chains and sets the table does not have", () => {
    expect(() => parseNftText(DOC.replace("goto ep-2 }", "goto ep-9 }"))).toThrow(/goto to chain ep-9, which table ip demo does not have/);
    expect(() => parseNftText(DOC.replace("vmap @service-ips", "vmap @service-ipz"))).toThrow(/vmap @service-ipz, which is not a map/);
    expect(() => parseNftText(DOC.replace("ip daddr @cluster-ips", "ip daddr @nope"))).toThrow(/@nope is not a set/);
  });

  it("throws ParseError naming the line on unknown statements, properties and unbalanced braces", () => {
    const bad: Array<[string, RegExp]> = [
      [DOC.replace("masquerade fully-random", "frobnicate now"), /unknown statement "frobnicate" at line \d+/],
      [DOC.replace('comment "Active ClusterIPs"', "colour blue"), /set cluster-ips: unknown property "colour"/],
      [DOC.replace("dnat to 10.244.2.2:53", "dnat"), /dnat needs "to <address>"/],
      [DOC.slice(0, DOC.lastIndexOf("}")), /missing "}"/],
      ["", /no table/],
      ["table ip x {\n\tchain c {\n\t\tip daddr\n\t}\n}\n", /no value to compare with/],
      ["hello world\n", /expected "table"/],
      ['table ip x {\n\tchain c {\n\t\tcomment "open\n\t}\n}\n', /unterminated quoted string/],
    ];
    for (const [text, re] of bad) {
      let err: unknown;
      try {
        parseNftText(text);
      } catch (e) {
        err = e;
      }
      expect(err, re.source).toBeInstanceOf(ParseError);
      expect((err as Error).message).toMatch(re);
    }
  });

  it("parses the JSON form: the same model as the text form", () => {
    // a small -j document written from libnftables-json(5)
    const j = {
      nftables: [
        { metainfo: { version: "1.0.6", json_schema_version: 1 } },
        { table: { family: "ip", name: "demo", handle: 4 } },
        { map: { family: "ip", name: "service-ips", table: "demo", type: ["ipv4_addr", "inet_proto", "inet_service"], handle: 8, map: "verdict", elem: [[{ concat: ["10.96.0.10", "tcp", 53] }, { goto: { target: "svc-a" } }]] } },
        { chain: { family: "ip", table: "demo", name: "svc-a", handle: 3 } },
        { chain: { family: "ip", table: "demo", name: "ep-1", handle: 9 } },
        { chain: { family: "ip", table: "demo", name: "pre", handle: 1, type: "nat", hook: "prerouting", prio: -110, policy: "accept" } },
        { rule: { family: "ip", table: "demo", chain: "pre", handle: 21, expr: [{ vmap: { key: { concat: [{ payload: { protocol: "ip", field: "daddr" } }, { meta: { key: "l4proto" } }, { payload: { protocol: "th", field: "dport" } }] }, data: "@service-ips" } }] } },
        { rule: { family: "ip", table: "demo", chain: "svc-a", handle: 24, expr: [{ match: { op: "!=", left: { payload: { protocol: "ip", field: "saddr" } }, right: { prefix: { addr: "10.244.0.0", len: 16 } } } }, { jump: { target: "ep-1" } }] } },
        { rule: { family: "ip", table: "demo", chain: "svc-a", handle: 25, expr: [{ vmap: { key: { numgen: { mode: "random", mod: 1, offset: 0 } }, data: { set: [[0, { goto: { target: "ep-1" } }]] } } }] } },
        { rule: { family: "ip", table: "demo", chain: "ep-1", handle: 30, comment: "x", expr: [{ match: { op: "==", left: { meta: { key: "l4proto" } }, right: "tcp" } }, { dnat: { addr: "10.244.1.2", port: 53 } }] } },
        { rule: { family: "ip", table: "demo", chain: "ep-1", handle: 31, expr: [{ mangle: { key: { meta: { key: "mark" } }, value: { "|": [{ meta: { key: "mark" } }, 16384] } } }, { counter: { packets: 0, bytes: 0 } }, { masquerade: { flags: "fully-random" } }] } },
      ],
    };
    const rs = parseNftJson(JSON.stringify(j));
    expect(rs.form).toBe("json");
    expect(rs.version).toBe("1.0.6");
    const t = nftTable(rs, "ip", "demo")!;
    expect(t.chains["pre"]).toMatchObject({ type: "nat", hook: "prerouting", priority: "-110", policy: "accept" });
    expect(t.chains["pre"]!.rules[0]!.text).toBe("ip daddr . meta l4proto . th dport vmap @service-ips");
    expect(t.chains["svc-a"]!.rules.map((r) => r.text)).toEqual(["ip saddr != 10.244.0.0/16 jump ep-1", "numgen random mod 1 vmap { 0 : goto ep-1 }"]);
    expect(t.chains["ep-1"]!.rules.map((r) => r.text)).toEqual(["meta l4proto tcp dnat to 10.244.1.2:53", "meta mark set meta mark | 16384 counter packets 0 bytes 0 masquerade fully-random"]);
    expect(t.chains["ep-1"]!.rules[0]!.comment).toBe("x");
    expect(mapLookup(t, "service-ips", ["10.96.0.10", "tcp", "53"])[0]!.verdict).toEqual({ verdict: "goto", target: "svc-a" });
    expect(parseNft(JSON.stringify(j))).toEqual(rs);
    // the same table written as text gives the same model
    const text = `table ip demo {
	map service-ips {
		type ipv4_addr . inet_proto . inet_service : verdict
		elements = { 10.96.0.10 . tcp . 53 : goto svc-a }
	}

	chain svc-a {
		ip saddr != 10.244.0.0/16 jump ep-1
		numgen random mod 1 vmap { 0 : goto ep-1 }
	}

	chain ep-1 {
		meta l4proto tcp dnat to 10.244.1.2:53 comment "x"
		meta mark set meta mark | 0x00004000 counter packets 0 bytes 0 masquerade fully-random
	}

	chain pre {
		type nat hook prerouting priority dstnat - 10; policy accept;
		ip daddr . meta l4proto . th dport vmap @service-ips
	}
}
`;
    const fromText = comparable(parseNftText(text)) as { tables: Array<{ chains: Record<string, unknown> }> };
    const fromJson = comparable(rs) as { tables: Array<{ chains: Record<string, unknown> }> };
    expect(Object.keys(fromText.tables[0]!.chains).sort()).toEqual(Object.keys(fromJson.tables[0]!.chains).sort());
    for (const c of Object.keys(fromJson.tables[0]!.chains)) expect(fromText.tables[0]!.chains[c], c).toEqual(fromJson.tables[0]!.chains[c]);
  });

  it("throws ParseError on bad JSON: not JSON, unknown entries and expressions, rules before their chain", () => {
    const base = (extra: unknown[]) => JSON.stringify({ nftables: [{ table: { family: "ip", name: "t" } }, { chain: { family: "ip", table: "t", name: "c" } }, ...extra] });
    const bad: Array<[string, RegExp]> = [
      ["{", /not JSON/],
      ["[]", /expected \{"nftables"/],
      [JSON.stringify({ nftables: [] }), /no table/],
      [base([{ flowtable: {} }]), /unknown entry "flowtable"/],
      [base([{ rule: { family: "ip", table: "t", chain: "c", expr: [{ match: { op: "==", left: { osf: { key: "name" } }, right: "x" } }] } }]), /unknown expression "osf"/],
      [base([{ rule: { family: "ip", table: "t", chain: "d", expr: [{ accept: null }] } }]), /chain d, which was not listed/],
      [base([{ rule: { family: "ip", table: "t", chain: "c", expr: [{ jump: { target: "nowhere" } }] } }]), /jump to chain nowhere/],
      [base([{ rule: { family: "ip", table: "t", chain: "c", expr: [] } }]), /no expr list/],
    ];
    for (const [text, re] of bad) {
      let err: unknown;
      try {
        parseNftJson(text);
      } catch (e) {
        err = e;
      }
      expect(err, re.source).toBeInstanceOf(ParseError);
      expect((err as Error).message).toMatch(re);
    }
  });

  it("parses every live kube-proxy recording, and its text and JSON forms agree", () => {
    const samples = liveSamples();
    expect(samples.length).toBeGreaterThan(0);
    for (const s of samples) {
      const rs = parseNft(s.text);
      expect(nftTable(rs, "ip", "kube-proxy"), `${s.id}/${s.name}`).toBeDefined();
    }
    for (const s of samples.filter((x) => x.name.endsWith(".nft"))) {
      const j = samples.find((x) => x.id === s.id && x.name === `${s.name}.json`);
      if (!j) continue;
      expect(comparable(parseNftJson(j.text)), `${s.id}/${s.name} text vs JSON`).toEqual(comparable(parseNftText(s.text)));
    }
  });

  it("fuzz: truncated, garbage and random input gives a valid result or a ParseError", () => {
    const live = liveSamples();
    const texts = [DOC, ...live.filter((s) => s.name.endsWith(".nft")).map((s) => s.text)];
    const r = fuzz(texts, parseNftText, (x) => nftRulesetSchema.parse(x), 500, 1);
    expect(r.bad, r.bad[0]?.error).toEqual([]);
    expect(r.rejected).toBeGreaterThan(0);
    const jsons = live.filter((s) => s.name.endsWith(".json")).map((s) => s.text);
    if (jsons.length) {
      const q = fuzz(jsons, parseNftJson, (x) => nftRulesetSchema.parse(x), 300, 2);
      expect(q.bad, q.bad[0]?.error).toEqual([]);
    }
  });
});
