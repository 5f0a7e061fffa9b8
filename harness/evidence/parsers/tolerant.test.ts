/**
 * The shared tolerant mode (common.ts: ParseOptions, parseWith/parseTolerant, warnings beside the
 * result): excerpts a person pastes give a result with warnings instead of nothing, strict stays
 * the default, and fuzzing holds in both modes: a result or a ParseError, nothing else.
 */
import { describe, expect, it } from "vitest";
import { loadFixture } from "../fixtures.ts";
import { loadFormat } from "../formats.ts";
import { ParseError } from "../parse-error.ts";
import { parseTolerant, parseWith, tolerantNote, type ParseOptions } from "./common.ts";
import { parseConntrack } from "./conntrack.ts";
import { parseDescribeEvents } from "./events.ts";
import { fuzz } from "./fuzz-util.ts";
import { parseIptablesList, parseIptablesS, parseIptablesSave } from "./iptables-save.ts";
import { parseIpvsadm, parseIpvsadmStats } from "./ipvsadm.ts";
import { parseSpeakerLog } from "./metallb-speaker.ts";
import { parseArpNa, parseIpNeighText } from "./neigh.ts";
import { parseIpsecStatusall, parseSwanctlSas } from "./swanctl.ts";
import { parseXfrmPolicy, parseXfrmState } from "./xfrm.ts";
import { parseCtrafficConnections, parseCtrafficHosts, parseCtrafficStats } from "./ctraffic.ts";
import { parseAllocationListing } from "./nvipam.ts";
import { parseGetentHosts, parseResolvConf } from "./dns.ts";
import { parsePing } from "./ping.ts";
import { parseSysctl } from "./sysctl.ts";
import { parseTcpdump } from "./tcpdump.ts";
import { parsePods } from "./kubectl-get.ts";
import { parseServices } from "./kubectl-svc.ts";
import { parseIpvsConnections } from "./ipvsadm.ts";
import { parseMconnect } from "./mconnect.ts";
import { parseBfdPeersBrief, parseBfdPeersText, parseBgpRoutes, parseBgpSummary, parseBgpSummaryText } from "./frr.ts";

const fx = (id: string, kind: "pass" | "fail", name: string) => loadFixture(id, kind, name).text;
const XFRM_POLICY = "src 5.6.7.8/32 dst 1.2.3.4/32 \n\tdir out priority 375423 ptype main \n\ttmpl src 10.65.94.121 dst 10.123.123.4\n\t\tproto esp spi 0xc3f09b5d reqid 1 mode tunnel\n\t\tlevel required share any\n";
const IPVS_STATS = "IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n  -> RemoteAddress:Port\nTCP  10.96.0.1:443                      77     1234     1100    99999  1234567K\n  -> 172.18.0.3:6443                   40      634      600    50000    12M\n";

type P = (text: string, opts?: ParseOptions) => unknown;
// A line no format has. For describe events any unindented line after a row is the rest of a
// multi-line message (kubectl prints it that way), so its junk line is shaped like a bad row.
const JUNK = "this line belongs to no format";
const junkFor = (name: string) => (name === "describe events" ? "  this  line  belongs  to  no format" : JUNK);
const PARSERS: [string, P, string[]][] = [
  ["conntrack", parseConntrack, [fx("IPSEC-01", "pass", "conntrack.txt"), loadFormat("nf_conntrack-ipv6.txt").text, loadFormat("conntrack-E-with-stderr.txt").text]],
  ["ipvsadm", parseIpvsadm, [fx("KLVS-01", "pass", "ipvsadm-Ln.txt"), loadFormat("proc-net-ip_vs.txt").text]],
  ["ipvsadm --stats", parseIpvsadmStats, [IPVS_STATS]],
  ["iptables-save", parseIptablesSave, [fx("SVC-02", "pass", "nginx-service-3ep.iptables-save"), loadFormat("kube-proxy-xlb.iptables-save").text]],
  ["iptables -S", (t, o) => parseIptablesS(t, "nat", o), [fx("ETP-05", "pass", "ext-local.iptables-S")]],
  ["iptables -L -n", (t, o) => parseIptablesList(t, "nat", o), [loadFormat("kube-proxy-5-decimals.iptables-L-n.txt").text]],
  ["xfrm state", parseXfrmState, [fx("IPSEC-01", "pass", "xfrm-state.txt")]],
  ["xfrm policy", parseXfrmPolicy, [XFRM_POLICY]],
  ["ip neigh", parseIpNeighText, [fx("MLB-02", "pass", "ip-neigh-vip100.txt")]],
  ["arp -na", parseArpNa, [fx("MLB-05", "pass", "arp-na.txt")]],
  ["swanctl", parseSwanctlSas, [fx("IPSEC-01", "pass", "sas-after.swanctl"), loadFormat("swanctl-5.8-list-sas.txt").text]],
  ["ipsec statusall", parseIpsecStatusall, [loadFormat("ipsec-statusall.txt").text]],
  ["metallb speaker", parseSpeakerLog, [fx("MLB-05", "pass", "speaker.jsonl"), loadFormat("metallb-speaker-gokit.jsonl").text]],
  ["ipvsadm -Lcn", parseIpvsConnections, [loadFormat("ipvsadm-Lcn.txt").text, loadFormat("proc-net-ip_vs_conn.txt").text]],
  ["ctraffic -analyze connections", parseCtrafficConnections, [loadFormat("ctraffic-analyze-connections.txt").text]],
  ["mconnect", parseMconnect, [loadFormat("mconnect.txt").text]],
  ["show bgp summary (text)", parseBgpSummaryText, [loadFormat("frr-show-bgp-summary.txt").text]],
  ["show bfd peers (text)", parseBfdPeersText, [loadFormat("frr-show-bfd-peers.txt").text]],
  ["tcpdump", parseTcpdump, [fx("ETP-01", "pass", "backend-tcpdump-cluster.txt"), fx("MLB-05", "pass", "arp-tcpdump.txt")]],
  ["ping", parsePing, [fx("MLB-05", "pass", "ping.txt")]],
  ["resolv.conf", parseResolvConf, [fx("SVC-04", "pass", "resolv.conf")]],
  ["getent hosts", parseGetentHosts, [fx("SVC-04", "pass", "getent-hosts.txt")]],
  ["sysctl", parseSysctl, [fx("KLVS-08", "pass", "sysctl.txt")]],
  ["kubectl get pods", parsePods, [fx("ETP-03", "pass", "pods.txt")]],
  ["kubectl get svc", parseServices, [fx("MLB-01", "pass", "svc.txt")]],
  ["show bfd peers brief", parseBfdPeersBrief, [fx("BGP-03", "pass", "frr1-brief.txt")]],
  ["ctraffic -analyze hosts", parseCtrafficHosts, ["Lost connections: 1\n  target-a-2 1\nLasting connections: 2\n  target-a-1 2\n"]],
  ["nv-ipam allocation listing", parseAllocationListing, [fx("NVIPAM-01", "pass", "allocations.txt")]],
  ["describe events", (t, o) => parseDescribeEvents(t, undefined, o), [fx("NVIPAM-04", "fail", "describe-events.txt"), loadFormat("describe-pod-multiline-events.txt").text]],
];

describe("tolerant mode, shared by the line-based parsers", () => {
  it.each(PARSERS)("%s: strict by default, and the samples parse without warnings in both modes", (name, parse, samples) => {
    for (const s of samples) {
      expect(parseWith(parse, s).warnings).toEqual([]);
      expect(parseTolerant(parse, s).warnings).toEqual([]);
      expect(() => parse(`${s}\n${junkFor(name)}\n`)).toThrow(ParseError);
    }
  });

  it.each(PARSERS)("%s: tolerant skips an unknown line and reports its number and text", (name, parse, samples) => {
    const s = samples[0]!.replace(/\n*$/, "\n");
    const n = s.split("\n").length; // the appended line's number
    const r = parseTolerant(parse, `${s}${junkFor(name)}\n`);
    expect(r.warnings.length).toBeGreaterThan(0);
    expect(r.warnings.some((w) => w.line === n && w.text === junkFor(name))).toBe(true);
    expect(tolerantNote("x", r)).toMatch(/^tolerant parse of x: \d+ warning\(s\), lines skipped or read by a guess \(line/);
  });

  it.each(PARSERS)("%s: tolerant still refuses input with nothing it understands", (_n, parse) => {
    expect(() => parseTolerant(parse, "no such output\nat all\n")).toThrow(ParseError);
  });

  it.each(PARSERS)("%s fuzz: strict and tolerant each give a result or a ParseError", (_n, parse, samples) => {
    for (const tolerant of [false, true]) {
      const r = fuzz(samples, (t) => parseWith(parse, t, { tolerant }), () => undefined, 200, tolerant ? 11 : 12);
      expect(r.bad.slice(0, 2)).toEqual([]);
      expect(r.parsed + r.rejected).toBe(200);
    }
  });
});

describe("pasted excerpts give a result with warnings instead of nothing", () => {
  it("a grep of iptables-save without the table header or chain declarations", () => {
    const grep = fx("SVC-02", "pass", "nginx-service-3ep.iptables-save").split("\n").filter((l) => l.includes("KUBE-SVC-V2OKYYMBY3REGZOG") && l.startsWith("-A")).join("\n");
    expect(() => parseIptablesSave(grep)).toThrow(/line outside a table/);
    const r = parseTolerant(parseIptablesSave, grep);
    expect(Object.keys(r.value.tables)).toEqual(["nat"]);
    expect(r.value.tables["nat"]!.chains["KUBE-SVC-V2OKYYMBY3REGZOG"]!.rules.length).toBeGreaterThan(2);
    expect(r.warnings[0]!.reason).toMatch(/no \*nat table line before this rule: read as table nat/);
  });

  it("an ipvsadm listing without its header", () => {
    const body = fx("KLVS-01", "pass", "ipvsadm-Ln.txt").split("\n").slice(3).join("\n");
    expect(() => parseIpvsadm(body)).toThrow(/IP Virtual Server version/);
    const r = parseTolerant(parseIpvsadm, body);
    expect(r.value.services.length).toBeGreaterThan(0);
    expect(r.value.version).toBe("unknown");
    expect(r.warnings.map((w) => w.line)).toEqual([1]);
  });

  it("a speaker log with '...' elisions and '# comments'", () => {
    const lines = fx("MLB-05", "pass", "speaker.jsonl").split("\n");
    const pasted = [lines[0], "...", "# the speaker restarted here", ...lines.slice(1)].join("\n");
    expect(() => parseSpeakerLog(pasted)).toThrow(ParseError);
    const r = parseTolerant(parseSpeakerLog, pasted);
    expect(r.value.length).toBe(lines.filter((l) => l.trim() !== "").length);
    expect(r.warnings.map((w) => [w.line, w.text])).toEqual([[2, "..."], [3, "# the speaker restarted here"]]);
  });

  it("xfrm blocks indented as documentation prints them parse in both modes", () => {
    const doc = XFRM_POLICY.split("\n").map((l) => (l ? `    ${l}` : l)).join("\n");
    expect(parseXfrmPolicy(doc)).toHaveLength(1);
    expect(parseXfrmPolicy(doc)[0]!.templates[0]!.spi).toBe("0xc3f09b5d");
  });
});

describe("fuzz: parsers of one JSON document with a tolerant preamble", () => {
  it("ctraffic statistics after -monitor lines: strict and tolerant give a result or a ParseError", () => {
    const samples = [loadFormat("ctraffic-monitor-then-stats.txt").text];
    for (const tolerant of [false, true]) {
      const r = fuzz(samples, (t) => parseWith(parseCtrafficStats, t, { tolerant }), () => undefined, 200, 21);
      expect(r.bad.slice(0, 2)).toEqual([]);
    }
    expect(parseTolerant(parseCtrafficStats, `...\n${samples[0]}`).warnings.map((w) => w.line)).toEqual([1]);
  });
});

describe("fuzz: FRR's VRF-keyed JSON", () => {
  it("show bgp vrf all summary json, mangled: a result or a ParseError", () => {
    const t = loadFormat("frr-bgp-vrf-all-summary.json").text;
    const cases: [(x: string) => unknown, number][] = [[(x) => parseBgpSummary(x), 31], [(x) => parseBgpSummary(x, "ipv4Unicast", "red"), 32], [(x) => parseBgpRoutes(x), 33]];
    for (const [parse, seed] of cases) {
      const r = fuzz([t], parse, () => undefined, 200, seed);
      expect(r.bad.slice(0, 2)).toEqual([]);
    }
  });
});

