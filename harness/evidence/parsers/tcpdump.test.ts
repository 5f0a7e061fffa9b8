import { describe, expect, it } from "vitest";
import { loadFixture } from "../fixtures.ts";
import { ParseError } from "../parse-error.ts";
import { fuzz } from "./fuzz-util.ts";
import { arpFor, parseTcpdump } from "./tcpdump.ts";

const fx = (id: string, kind: "pass" | "fail", name: string) => loadFixture(id, kind, name).text;
const arpGated = fx("MLB-05", "pass", "arp-tcpdump.txt");
const cluster = fx("ETP-01", "pass", "backend-tcpdump-cluster.txt");
const none = fx("MLB-04", "pass", "vm2-tcpdump.txt");
// seed 001 L4010-4013 (ARP request and reply, -e -v) and L726-728 (-e -v IP header + continuation)
const arpAnswered = [
  "tcpdump: listening on ens3.100, link-type EN10MB (Ethernet), snapshot length 262144 bytes",
  "",
  "04:16:58.115088 52:54:00:41:4c:72 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Ethernet (len 6), IPv4 (len 4), Request who-has 10.123.123.100 tell 10.123.123.4, length 28",
  "04:16:58.115241 52:54:00:b2:5b:52 > 52:54:00:41:4c:72, ethertype ARP (0x0806), length 60: Ethernet (len 6), IPv4 (len 4), Reply 10.123.123.100 is-at 52:54:00:b2:5b:52, length 46",
].join("\n");
const icmpV = [
  "tcpdump: listening on ens3.100, link-type EN10MB (Ethernet), snapshot length 262144 bytes",
  "05:59:14.860278 52:54:00:e4:50:da > 52:54:00:c0:87:a0, ethertype IPv4 (0x0800), length 98: (tos 0x0, ttl 64, id 32968, offset 0, flags [DF], proto ICMP (1), length 84)",
  "    10.123.123.254 > 10.123.123.1: ICMP echo request, id 240, seq 1, length 64",
].join("\n");
// shapes without -e, and with -i any (tcpdump 4.99)
const plain = [
  "12:00:00.000001 ARP, Request who-has 10.1.1.1 tell 10.1.1.2, length 28",
  "12:00:00.000101 ARP, Reply 10.1.1.1 is-at 02:42:0a:fd:2b:0a, length 28",
  "19:20:59.232032 eth0  In  IP 10.253.45.10.34438 > 10.253.45.100.80: Flags [S], seq 484994479, win 64240, options [mss 1460,sackOK,TS val 4164532055 ecr 0,nop,wscale 10], length 0",
  "19:20:59.300000 IP 10.0.0.1.5353 > 224.0.0.251.5353: UDP, length 40",
].join("\n");
// recorded from the toolbox's tcpdump 4.99 (`tcpdump -n -e`, then `-n -e -v`) while a client pinged a node-owned VIP
const toolbox = [
  "tcpdump: verbose output suppressed, use -v[v]... for full protocol decode",
  "listening on eth0, link-type EN10MB (Ethernet), snapshot length 262144 bytes",
  "19:32:50.986709 02:42:0a:fd:2f:0a > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Request who-has 10.253.47.100 tell 10.253.47.10, length 28",
  "19:32:50.986734 02:42:0a:fd:2f:02 > 02:42:0a:fd:2f:0a, ethertype ARP (0x0806), length 42: Reply 10.253.47.100 is-at 02:42:0a:fd:2f:02, length 28",
  "19:32:50.986737 02:42:0a:fd:2f:0a > 02:42:0a:fd:2f:02, ethertype IPv4 (0x0800), length 98: 10.253.47.10 > 10.253.47.100: ICMP echo request, id 43235, seq 1, length 64",
  "19:32:48.975873 02:42:0a:fd:2f:02 > 02:42:0a:fd:2f:0a, ethertype IPv4 (0x0800), length 98: (tos 0x0, ttl 64, id 63425, offset 0, flags [none], proto ICMP (1), length 84)",
  "    10.253.47.100 > 10.253.47.10: ICMP echo reply, id 43233, seq 1, length 64",
  "4 packets captured",
  "5 packets received by filter",
  "0 packets dropped by kernel",
].join("\n");

describe("parsers/tcpdump", () => {
  it("parses ARP requests and replies with link-layer addresses (the lab capture)", () => {
    const d = parseTcpdump(arpAnswered);
    expect(d.notes).toHaveLength(1);
    const { requests, replies } = arpFor(d, "10.123.123.100");
    expect(requests[0]).toMatchObject({ kind: "arp-request", srcMac: "52:54:00:41:4c:72", dstMac: "ff:ff:ff:ff:ff:ff", arp: { target: "10.123.123.100", sender: "10.123.123.4" } });
    expect(replies[0]).toMatchObject({ kind: "arp-reply", arp: { target: "10.123.123.100", mac: "52:54:00:b2:5b:52" }, time: "04:16:58.115241" });
  });

  it("parses unanswered requests and the exit statistics (the lab capture with ^C)", () => {
    const d = parseTcpdump(arpGated);
    expect(arpFor(d, "10.123.123.99")).toMatchObject({ requests: { length: 3 }, replies: { length: 0 } });
    expect(arpFor(d, "10.123.123.100").requests).toHaveLength(1);
    expect(parseTcpdump(none)).toEqual({ packets: [], notes: [expect.stringMatching(/^tcpdump: listening on ens3/)], stats: { captured: 0, received: 0, dropped: 0 } });
  });

  it("parses TCP lines: addresses, ports, flags (the lab capture)", () => {
    const d = parseTcpdump(cluster);
    expect(d.packets.map((p) => [p.ip!.src, p.ip!.sport, p.ip!.dst, p.ip!.dport, p.ip!.tcpFlags])).toEqual([
      ["10.42.1.1", 27659, "10.42.1.21", 8080, "S"],
      ["10.42.1.21", 8080, "10.42.1.1", 27659, "S."],
    ]);
  });

  it("parses a -v IP header with its continuation line (the lab capture), plain ARP, -i any and UDP", () => {
    expect(parseTcpdump(icmpV).packets[0]).toMatchObject({ srcMac: "52:54:00:e4:50:da", ip: { src: "10.123.123.254", dst: "10.123.123.1", proto: "icmp", ttl: 64 } });
    const d = parseTcpdump(plain);
    expect(d.packets.map((p) => p.kind)).toEqual(["arp-request", "arp-reply", "ip", "ip"]);
    expect(d.packets[2]).toMatchObject({ interface: "eth0", direction: "In", ip: { dport: 80, tcpFlags: "S" } });
    expect(d.packets[3]!.ip).toMatchObject({ proto: "udp", sport: 5353 });
  });

  it("parses the toolbox tcpdump's own -e and -e -v output", () => {
    const d = parseTcpdump(toolbox);
    expect(d.packets.map((p) => [p.kind, p.arp?.target ?? p.ip?.dst, p.srcMac])).toEqual([
      ["arp-request", "10.253.47.100", "02:42:0a:fd:2f:0a"],
      ["arp-reply", "10.253.47.100", "02:42:0a:fd:2f:02"],
      ["ip", "10.253.47.100", "02:42:0a:fd:2f:0a"],
      ["ip", "10.253.47.10", "02:42:0a:fd:2f:02"],
    ]);
    expect(d.stats).toEqual({ captured: 4, received: 5, dropped: 0 });
  });

  it.each([
    ["a TCP line cut before its length", cluster.split("\n").slice(0, 3).join("\n") + "\n09:49:45.535241 IP 10.42.1.1.27659 > 10.42.1.21.8080: Flags [S], seq 5686", /trailing length/],
    ["an ARP line cut short", "04:16:58.115088 52:54:00:41:4c:72 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Ethernet (len 6), IPv4 (len 4), Request who-has 10.123.123.100 tell", /unrecognised ARP/],
    ["a -v header without its continuation", icmpV.split("\n").slice(0, 2).join("\n"), /continuation/],
    ["a line that is no packet", "hello world", /unrecognised line/],
    ["a packet after the statistics", `${none}\n09:49:45.535241 IP 10.0.0.1.1 > 10.0.0.2.2: Flags [S], seq 1, length 0`, /after the statistics/],
    ["a bad address", "09:49:45.535241 IP 10.0.0.300.1 > 10.0.0.2.2: Flags [S], seq 1, length 0", /bad address|expected/],
  ])("rejects %s with a ParseError", (_w, text, msg) => {
    expect(() => parseTcpdump(text)).toThrow(ParseError);
    expect(() => parseTcpdump(text)).toThrow(msg);
  });

  it("fuzz: a mangled capture parses or fails with ParseError", () => {
    const r = fuzz([arpAnswered, arpGated, cluster, icmpV, plain, none, toolbox], parseTcpdump, () => undefined, 400, 11);
    expect(r.bad.slice(0, 3)).toEqual([]);
    expect(r.rejected).toBeGreaterThan(80);
  });
});
