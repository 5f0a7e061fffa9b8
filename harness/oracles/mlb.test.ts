import { describe, expect, it } from "vitest";
import { loadFixture } from "../evidence/fixtures.ts";
import { parseConntrack } from "../evidence/parsers/conntrack.ts";
import { parseIptablesSave } from "../evidence/parsers/iptables-save.ts";
import { parsePods } from "../evidence/parsers/kubectl-get.ts";
import { parseServices } from "../evidence/parsers/kubectl-svc.ts";
import { parseSpeakerLog } from "../evidence/parsers/metallb-speaker.ts";
import { parseArpNa, parseIpNeighText } from "../evidence/parsers/neigh.ts";
import { parsePing, parseProbeSeries } from "../evidence/parsers/ping.ts";
import { parseTcpdump } from "../evidence/parsers/tcpdump.ts";
import { behaviour } from "../report/allure.ts";
import { backendSequence, mlb01, mlb02, mlb03, mlb04, mlb05, mlb06, mlb07, mlb08, mlb09, mlb10, nginxPodIp, poolOverlapsNodes, refuseOverlappingPool } from "./mlb.ts";
import { formatVerdict } from "./verdict.ts";

type Kind = "pass" | "fail";
const text = (id: string, kind: Kind, name: string) => loadFixture(id, kind, name).text;
const arp = (id: string, kind: Kind, name: string) => parseArpNa(text(id, kind, name));
const log = (id: string, kind: Kind, name: string) => parseSpeakerLog(text(id, kind, name));

// the k3s lab: vm2's MAC, vm1's, vm3's; node addresses on the
// external VLAN: vm1 10.123.123.1, vm2 .2, vm3 .3
const MACS = { vm1: "52:54:00:e2:c3:ec", vm2: "52:54:00:c0:87:a0", vm3: "52:54:00:db:2b:ce" };
const NODES = { vm1: { ip: "10.123.123.1", mac: MACS.vm1 }, vm2: { ip: "10.123.123.2", mac: MACS.vm2 }, vm3: { ip: "10.123.123.3", mac: MACS.vm3 } };
const answers = (t: string) => [...t.matchAll(/^.*(?:pod IP address|nginx server =>).*$/gm)].map((m) => nginxPodIp(m[0]));

describe("MLB-01 VIP from the pool, nodePort, several backends answer", () => {
  const svc = () => parseServices(text("MLB-01", "pass", "svc.txt")).find((s) => s.name === "nginx-mlb-l2-service")!;
  const backends = parsePods(text("MLB-01", "pass", "pods.txt")).map((p) => p.ip!);
  const pool = ["10.123.123.64/26"]; // the k3s lab, as fixed

  it("MLB-01 passes on the lab's service and three curls answered by three pods", async () => {
    await behaviour("MLB-01", "R");
    const v = mlb01({ service: svc(), pool, backends, answeredBy: answers(text("MLB-01", "pass", "curl.txt")) });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.measurements).toEqual({ requests: 3, distinct: 3 });
  });

  it("MLB-01 fails when the service has no external IP", async () => {
    await behaviour("MLB-01", "R");
    const s = parseServices(text("MLB-01", "fail", "svc-pending.txt")).find((x) => x.name === "nginx-mlb-l2-service")!;
    const v = mlb01({ service: s, pool, backends, answeredBy: answers(text("MLB-01", "pass", "curl.txt")) });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual(["service nginx-mlb-l2-service has no external IP (<pending>)"]);
  });

  it("MLB-01 fails when one backend answers everything, or the VIP is outside the pool", async () => {
    await behaviour("MLB-01", "R");
    const v = mlb01({ service: svc(), pool, backends, answeredBy: answers(text("MLB-01", "fail", "curl-one-backend.txt")) });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual(["only 1 distinct backend(s) answered (10.42.1.21) in 3 requests; expected at least 2"]);
    const w = mlb01({ service: svc(), pool: ["10.123.123.192/26"], backends, answeredBy: answers(text("MLB-01", "pass", "curl.txt")) });
    expect(w.reasons).toEqual(["external IP 10.123.123.100 is not in the pool 10.123.123.192/26"]);
  });
});

describe("MLB-02 exactly one node MAC owns the VIP", () => {
  it("MLB-02 passes: 10.123.123.100 at vm2's MAC (the lab capture), .201 at vm1's, and from ip neigh", async () => {
    await behaviour("MLB-02", "R");
    const v = mlb02({ vip: "10.123.123.100", neighbours: arp("MLB-02", "pass", "arp-vip100.txt"), nodeMacs: MACS });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.measurements?.owner).toBe("vm2");
    expect(mlb02({ vip: "10.123.123.201", neighbours: arp("MLB-02", "pass", "arp-zone-vips.txt"), nodeMacs: MACS }).measurements?.owner).toBe("vm1");
    expect(mlb02({ vip: "10.123.123.100", neighbours: parseIpNeighText(text("MLB-02", "pass", "ip-neigh-vip100.txt")), nodeMacs: MACS, expectedOwner: "vm2" }).ok).toBe(true);
  });

  it("MLB-02 fails naming an unanswered VIP, a foreign MAC, two owners, the wrong owner", async () => {
    await behaviour("MLB-02", "R");
    expect(mlb02({ vip: "10.123.123.100", neighbours: arp("MLB-02", "fail", "arp-vip100-incomplete.txt"), nodeMacs: MACS }).reasons).toEqual(["the client's entry for 10.123.123.100 is INCOMPLETE: no node answered ARP"]);
    expect(mlb02({ vip: "10.123.123.100", neighbours: arp("MLB-02", "fail", "arp-vip100-foreign-mac.txt"), nodeMacs: MACS }).reasons[0]).toMatch(/^10\.123\.123\.100 is at 52:54:00:41:4c:72, which is no node's MAC/);
    expect(mlb02({ vip: "10.123.123.100", neighbours: parseIpNeighText(text("MLB-02", "fail", "ip-neigh-two-owners.txt")), nodeMacs: MACS }).reasons).toEqual(["10.123.123.100 resolves to 2 MACs (52:54:00:c0:87:a0 = vm2, 52:54:00:e2:c3:ec = vm1): more than one node answers ARP"]);
    expect(mlb02({ vip: "10.123.123.100", neighbours: arp("MLB-02", "pass", "arp-vip100.txt"), nodeMacs: MACS, expectedOwner: "vm1" }).reasons).toEqual(["10.123.123.100 is at 52:54:00:c0:87:a0 = vm2, but vm1 announces it"]);
  });
});

describe("MLB-03 a pool overlapping node IPs hijacks node ARP", () => {
  it("MLB-03 poolOverlapsNodes names the node addresses inside a pool (CIDR masked like MetalLB, ranges too)", async () => {
    await behaviour("MLB-03", "R");
    const ips = { vm1: "10.123.123.1", vm2: "10.123.123.2", vm3: "10.123.123.3" };
    expect(poolOverlapsNodes(["10.123.123.64/24"], ips)).toEqual([
      { address: "10.123.123.1", entry: "10.123.123.64/24", node: "vm1" },
      { address: "10.123.123.2", entry: "10.123.123.64/24", node: "vm2" },
      { address: "10.123.123.3", entry: "10.123.123.64/24", node: "vm3" },
    ]);
    expect(poolOverlapsNodes(["10.123.123.64/26"], ips)).toEqual([]);
    expect(poolOverlapsNodes(["10.123.123.2-10.123.123.10", "fd00::/64"], Object.values(ips))).toEqual([
      { address: "10.123.123.2", entry: "10.123.123.2-10.123.123.10" },
      { address: "10.123.123.3", entry: "10.123.123.2-10.123.123.10" },
    ]);
    expect(() => refuseOverlappingPool(["10.123.123.64/24"], ips)).toThrow(/overlaps node addresses 10\.123\.123\.1 \(vm1\) in 10\.123\.123\.64\/24, 10\.123\.123\.2 \(vm2\)/);
    expect(() => refuseOverlappingPool(["10.123.123.64/26"], ips)).not.toThrow();
    expect(() => poolOverlapsNodes(["10.123.123.300/24"], ips)).toThrow(/neither a CIDR nor a range/);
  });

  it("MLB-03 passes when every node address is at its own MAC and the pool avoids them (the lab capture, pool /26)", async () => {
    await behaviour("MLB-03", "R");
    const v = mlb03({ neighbours: arp("MLB-03", "pass", "arp-fixed-pool.txt"), nodes: NODES, pool: ["10.123.123.64/26"] });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.measurements?.checked).toBe(3);
  });

  it("MLB-03 recognises the hijack: vm1's address answered by vm2's speaker MAC (the lab capture, pool 10.123.123.64/24)", async () => {
    await behaviour("MLB-03", "R");
    const v = mlb03({ neighbours: arp("MLB-03", "fail", "arp-hijack.txt"), nodes: NODES, pool: ["10.123.123.64/24"] });
    expect(v.ok).toBe(false);
    expect(v.reasons[0]).toBe("vm1's address 10.123.123.1 is at 52:54:00:c0:87:a0 (vm2's MAC), not vm1's own 52:54:00:e2:c3:ec: ARP for a node address is answered by the speaker on vm2");
    expect(v.reasons.slice(1)).toEqual(["pool entry 10.123.123.64/24 contains vm1's address 10.123.123.1", "pool entry 10.123.123.64/24 contains vm2's address 10.123.123.2", "pool entry 10.123.123.64/24 contains vm3's address 10.123.123.3"]);
  });
});

describe("MLB-04 in-cluster traffic to the VIP stays on the sending node", () => {
  const base = { vip: "10.123.123.100", port: 80, sendingNode: "vm1", announcingNode: "vm2", connections: 1 };
  const save = (k: Kind, n: string) => parseIptablesSave(text("MLB-04", k, n));

  it("MLB-04 passes: vm1's VIP rule counts the curl (7 → 8, the lab capture/L816), vm2 captures nothing", async () => {
    await behaviour("MLB-04", "R");
    const v = mlb04({ ...base, before: save("pass", "vm1-before.iptables-save"), after: save("pass", "vm1-after.iptables-save"), capture: parseTcpdump(text("MLB-04", "pass", "vm2-tcpdump.txt")) });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.measurements?.natDelta).toBe(1);
  });

  it("MLB-04 fails when the VIP's packets reach the announcing node, naming the first one", async () => {
    await behaviour("MLB-04", "R");
    const v = mlb04({ ...base, before: save("pass", "vm1-before.iptables-save"), after: save("pass", "vm1-after.iptables-save"), capture: parseTcpdump(text("MLB-04", "fail", "vm2-tcpdump-reached.txt")) });
    expect(v.reasons).toEqual(["vm2 captured 2 packet(s) to/from the VIP (first at line 2: 10.123.123.1 > 10.123.123.100): in-cluster traffic reached the announcing node"]);
  });

  it("MLB-04 fails when the sending node's NAT did not count the connection", async () => {
    await behaviour("MLB-04", "R");
    const v = mlb04({ ...base, before: save("pass", "vm1-before.iptables-save"), after: save("fail", "vm1-after-unchanged.iptables-save"), capture: parseTcpdump(text("MLB-04", "pass", "vm2-tcpdump.txt")) });
    expect(v.reasons).toEqual(["vm1: the VIP rule counted 0 new connection(s) for 1 made: traffic bypassed the local NAT"]);
  });
});

describe("MLB-05 readiness gating: IP allocated, never announced", () => {
  const input = (o: { arp?: string; log?: string; ping?: string } = {}) => ({
    vip: "10.123.123.99",
    service: parseServices(text("MLB-05", "pass", "svc.txt")).find((s) => s.name === "never-ready-svc")!,
    speakerLogs: { speaker: log("MLB-05", o.log ? "fail" : "pass", o.log ?? "speaker.jsonl") },
    arp: parseTcpdump(text("MLB-05", o.arp ? "fail" : "pass", o.arp ?? "arp-tcpdump.txt")),
    ping: parsePing(text("MLB-05", o.ping ? "fail" : "pass", o.ping ?? "ping.txt")),
    neighbours: arp("MLB-05", "pass", "arp-na.txt"),
  });

  it("MLB-05 passes on the lab capture: IP kept, 'failed no active endpoints', 3 ARP requests unanswered, 100% loss, <incomplete>", async () => {
    await behaviour("MLB-05", "R");
    const v = mlb05(input());
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.reasons).toContain("3 ARP request(s) for 10.123.123.99, none answered");
  });

  it("MLB-05 fails naming the ARP reply, the announcement, the answered ping", async () => {
    await behaviour("MLB-05", "R");
    expect(mlb05(input({ arp: "arp-tcpdump-answered.txt" })).reasons).toEqual(["ARP for 10.123.123.99 was answered: line 3 is-at 52:54:00:b2:5b:52"]);
    expect(mlb05(input({ log: "speaker-announced.jsonl" })).reasons).toEqual([
      "speaker announced 10.123.123.99 (line 2, 2025-02-05T14:28:07Z) although no endpoint is ready",
      'no speaker logs "failed no active endpoints" for 10.123.123.99 (is the speaker at --log-level=debug?)',
    ]);
    expect(mlb05(input({ ping: "ping-answered.txt" })).reasons).toEqual(["ping 10.123.123.99: 3 of 3 answered (0% loss), expected 100% loss"]);
  });
});

describe("MLB-06 gating release and re-gating over time", () => {
  const READY = Date.parse("2025-02-05T15:02:30Z"), UNREADY = Date.parse("2025-02-05T15:03:01Z");
  const input = (o: { probes?: string; vm2?: string } = {}) => ({
    vip: "10.123.123.98",
    readyAtMs: READY,
    unreadyAtMs: UNREADY,
    settleMs: 3000,
    speakerLogs: { "speaker-vm1": log("MLB-06", "pass", "speaker-vm1.jsonl"), "speaker-vm2": log("MLB-06", o.vm2 ? "fail" : "pass", o.vm2 ?? "speaker-vm2.jsonl") },
    probes: parseProbeSeries(text("MLB-06", o.probes ? "fail" : "pass", o.probes ?? "probes.json")),
  });

  it("MLB-06 passes: announced 1 s after ready, reachable while ready, withdrawn and unreachable after unready", async () => {
    await behaviour("MLB-06", "R");
    const v = mlb06(input());
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.measurements).toEqual({ settleMs: 3000, announceLagMs: 1000 });
  });

  it("MLB-06 fails when the VIP still answers after the endpoint turned unready", async () => {
    await behaviour("MLB-06", "R");
    expect(mlb06(input({ probes: "probes-still-answered.json" })).reasons).toEqual(["8 of 8 probe(s) still reached 10.123.123.98 after the endpoint turned unready, last at 2025-02-05T15:03:27.000Z (arping: reply from 52:54:00:c0:87:a0)"]);
  });

  it("MLB-06 fails when the announcing speaker never withdraws", async () => {
    await behaviour("MLB-06", "R");
    expect(mlb06(input({ vm2: "speaker-vm2-no-withdraw.jsonl" })).reasons).toEqual(['speaker-vm2 announced 10.123.123.98 and never withdrew it (no serviceWithdrawn / "failed no active endpoints" after the endpoint turned unready at 2025-02-05T15:03:01.000Z)']);
  });
});

describe("MLB-07 only the announcing speaker logs serviceAnnounced", () => {
  const logs = (fifth?: string) => ({
    "speaker-89b29": log("MLB-07", "pass", "speaker-89b29.jsonl"),
    "speaker-5dbng": fifth ? log("MLB-07", "fail", fifth) : log("MLB-07", "pass", "speaker-5dbng.jsonl"),
    "speaker-96jn5": log("MLB-07", "pass", "speaker-96jn5.jsonl"),
  });

  it("MLB-07 passes on the lab capture: speaker-89b29 announces 10.123.123.100, 5dbng another VIP, 96jn5 nothing", async () => {
    await behaviour("MLB-07", "R");
    const v = mlb07({ vip: "10.123.123.100", speakerLogs: logs(), announcer: "speaker-89b29" });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.reasons[0]).toMatch(/^only speaker-89b29 logs serviceAnnounced for 10\.123\.123\.100 \(line 1, pool external-pool, protocol layer2\)/);
    expect(mlb07({ vip: "1.2.3.4", speakerLogs: logs() }).ok).toBe(true);
  });

  it("MLB-07 fails naming both speakers when a second one announces the VIP", async () => {
    await behaviour("MLB-07", "R");
    const v = mlb07({ vip: "10.123.123.100", speakerLogs: logs("speaker-5dbng-also-announces.jsonl"), announcer: "speaker-89b29" });
    expect(v.reasons).toEqual(["2 speakers log serviceAnnounced for 10.123.123.100: speaker-5dbng, speaker-89b29"]);
    expect(mlb07({ vip: "10.123.123.100", speakerLogs: logs(), announcer: "speaker-96jn5" }).reasons).toEqual(["speaker-89b29 announce(s) 10.123.123.100, but the VIP's owner is speaker-96jn5"]);
  });
});

describe("MLB-08 nodeSelectors: a zone's VIP only on that zone's nodes", () => {
  const base = { vips: { "10.123.123.201": "zone1", "10.123.123.202": "zone2" }, nodeZones: { vm1: "zone1", vm2: "zone1", vm3: "zone2" }, nodeMacs: MACS }; // the lab

  it("MLB-08 passes on the lab capture (ETP Local): .201 on vm1 (zone1), .202 on vm3 (zone2)", async () => {
    await behaviour("MLB-08", "R");
    const v = mlb08({ ...base, neighbours: arp("MLB-08", "pass", "arp-zones-local.txt") });
    expect(v.ok, formatVerdict(v)).toBe(true);
  });

  it("MLB-08 fails naming the zone2 VIP announced by vm1 (derived, and the lab's Cluster anomaly L1382-1386)", async () => {
    await behaviour("MLB-08", "R");
    const expected = ["10.123.123.202 belongs to zone2 but is announced by vm1 (52:54:00:e2:c3:ec) in zone1"];
    expect(mlb08({ ...base, neighbours: arp("MLB-08", "fail", "arp-zone2-on-vm1.txt") }).reasons).toEqual(expected);
    expect(mlb08({ ...base, neighbours: arp("MLB-08", "fail", "arp-zones-cluster.txt") }).reasons).toEqual(expected);
  });
});

describe("MLB-09 SCTP through the VIP: COOKIE_WAIT → ESTABLISHED → CLOSED", () => {
  const backends = ["10.42.1.36", "10.42.2.37", "10.42.0.38"];

  it("MLB-09 passes on the lab capture", async () => {
    await behaviour("MLB-09", "R");
    const v = mlb09({ vip: "10.123.123.101", port: 10000, backends, events: parseConntrack(text("MLB-09", "pass", "conntrack-events.txt")) });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.reasons[0]).toBe("flow 10.123.123.254:49035 → 10.123.123.101:10000 DNATed to 10.42.1.36:9999: CLOSED → COOKIE_WAIT → COOKIE_ECHOED → ESTABLISHED → SHUTDOWN_SENT → SHUTDOWN_ACK_SENT → CLOSED");
  });

  it("MLB-09 fails when the association never reaches ESTABLISHED, or no event matches", async () => {
    await behaviour("MLB-09", "R");
    const v = mlb09({ vip: "10.123.123.101", port: 10000, backends, events: parseConntrack(text("MLB-09", "fail", "conntrack-no-established.txt")) });
    expect(v.reasons).toEqual(["flow 10.123.123.254:49035 → 10.123.123.101:10000: states CLOSED → COOKIE_WAIT → COOKIE_ECHOED → CLOSED, no ESTABLISHED after COOKIE_WAIT"]);
    expect(mlb09({ vip: "10.123.123.101", port: 10000, events: parseConntrack(text("MLB-09", "pass", "conntrack-snapshot.txt")) }).reasons[0]).toMatch(/states CLOSED, no COOKIE_WAIT/);
  });
});

describe("MLB-10 random spreading over N connections (through ./spread.ts)", () => {
  const backends = ["10.42.2.37", "10.42.0.38", "10.42.1.36"];
  const seq = (k: Kind, n: string) => backendSequence(parseConntrack(text("MLB-10", k, n)), "10.123.123.101", 10000);

  it("MLB-10 passes on the lab's 977 sessions (316/338/323) within the exact binomial bounds, no cycle", async () => {
    await behaviour("MLB-10", "R");
    const v = mlb10({ sequence: seq("pass", "test-1000-sessions.txt"), backends });
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.measurements).toMatchObject({ answered: 977, "count:10.42.2.37": 316, "count:10.42.0.38": 338, "count:10.42.1.36": 323 });
    expect(v.reasons.at(-1)).toMatch(/no fixed cycle, consistent with random choice$/);
  });

  it("MLB-10 fails naming the over- and under-served backends of a skewed spread", async () => {
    await behaviour("MLB-10", "R");
    const v = mlb10({ sequence: seq("fail", "skewed.txt"), backends });
    expect(v.reasons).toHaveLength(2);
    expect(v.reasons[0]).toMatch(/^10\.42\.2\.37: 516 of 977 .*: too many$/);
    expect(v.reasons[1]).toMatch(/^10\.42\.0\.38: 138 of 977 .*: too few$/);
  });

  it("MLB-10 fails on round robin: even counts but a fixed cycle", async () => {
    await behaviour("MLB-10", "R");
    const v = mlb10({ sequence: seq("fail", "round-robin.txt"), backends });
    expect(v.reasons).toHaveLength(1);
    expect(v.reasons[0]).toMatch(/^answer i equals answer i−3 in 974 of 974 positions .*round robin\), not a random choice$/);
  });

  it("MLB-10 refuses to judge too few connections", async () => {
    await behaviour("MLB-10", "R");
    const v = mlb10({ sequence: seq("pass", "test-1000-sessions.txt").slice(0, 20), backends });
    expect(v.ok).toBe(false);
    expect(v.reasons[0]).toBe("20 connections: too few to judge the spread over 3 backends (need 90)");
  });
});
