import { describe, expect, it } from "vitest";
import { loadFixture, type FixtureKind } from "../evidence/fixtures.ts";
import { parseConntrack } from "../evidence/parsers/conntrack.ts";
import { parseIpLink } from "../evidence/parsers/ip-json.ts";
import { parseSwanctlSas } from "../evidence/parsers/swanctl.ts";
import { parseXfrmState } from "../evidence/parsers/xfrm.ts";
import { behaviour } from "../report/allure.ts";
import { clientRepliesSchema, ipsec01, ipsec02, ipsec03, ipsec04, ipsec05, type Flow } from "./ipsec.ts";
import { formatVerdict } from "./verdict.ts";

const text = (id: string, kind: FixtureKind, name: string) => loadFixture(id, kind, name).text;
const sas = (id: string, child: string, after: [FixtureKind, string] = ["pass", "sas-after.swanctl"]) => ({
  before: parseSwanctlSas(text(id, "pass", "sas-before.swanctl")),
  after: parseSwanctlSas(text(id, after[0], after[1])),
  child,
});
const conntrack = (id: string, kind: FixtureKind, name: string) => parseConntrack(text(id, kind, name)).entries;
const client = (id: string, kind: FixtureKind, name: string) => clientRepliesSchema.parse(JSON.parse(text(id, kind, name)));
const sctpToVip: Flow = { proto: "sctp", dst: "1.2.3.4", dport: 10000 };
// the k3s lab: the sctp-server pods on vm1, the node owning the IPsec VIP
const vm1Backends = ["10.42.0.38", "10.42.0.39"];

describe("IPSEC-01 route-based tunnel to the VIP", () => {
  const base = () => ({
    sas: sas("IPSEC-01", "net-net"),
    datapath: "xfrmi" as const,
    ifId: 123,
    xfrm: parseXfrmState(text("IPSEC-01", "pass", "xfrm-state.txt")),
    conntrack: conntrack("IPSEC-01", "pass", "conntrack.txt"),
    flow: sctpToVip,
    vipOwnerBackends: vm1Backends,
    client: client("IPSEC-01", "pass", "client.json"),
  });

  it("IPSEC-01 passes: SAs installed with if_id, counters rise both ways, VIP-owner backends answer", async () => {
    await behaviour("IPSEC-01", "R");
    const v = ipsec01(base());
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.reasons.join("\n")).toMatch(/bytes_in rose 4368 → 6552/);
    expect(v.reasons.join("\n")).toMatch(/flow\(s\) to a backend on the VIP owner replied/);
  });

  it("IPSEC-01 fails and names the counter that did not rise", async () => {
    await behaviour("IPSEC-01", "R");
    const v = ipsec01({ ...base(), sas: sas("IPSEC-01", "net-net", ["fail", "sas-after-in-flat.swanctl"]) });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual(["CHILD_SA net-net: bytes_in did not rise (4368 → 4368)", "CHILD_SA net-net: packets_in did not rise (42 → 42)"]);
  });

  it("IPSEC-01 fails on an [UNREPLIED] flow to a backend on the VIP owner", async () => {
    await behaviour("IPSEC-01", "R");
    const v = ipsec01({ ...base(), conntrack: conntrack("IPSEC-01", "fail", "conntrack-local-unreplied.txt") });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual([expect.stringMatching(/^conntrack line 8: 5\.6\.7\.8:38233 sctp → 1\.2\.3\.4:10000 DNATed to 10\.42\.0\.38 is \[UNREPLIED\] \(CLOSED\)$/)]);
  });

  it("IPSEC-01 fails when the SAs carry no if_id (policy-based)", async () => {
    await behaviour("IPSEC-01", "R");
    const v = ipsec01({ ...base(), sas: sas("IPSEC-02", "mytunnel"), xfrm: undefined });
    expect(v.ok).toBe(false);
    expect(v.reasons.join("\n")).toMatch(/CHILD_SA mytunnel: no if_id on the in SA: not route-based/);
  });

  it("IPSEC-01 with libipsec does not require an if_id, but still needs replies", async () => {
    await behaviour("IPSEC-01", "R");
    const v = ipsec01({ ...base(), datapath: "libipsec", xfrm: undefined, client: { sent: 9, received: 8 } });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual(["client received 8 of 9 replies"]);
  });
});

describe("IPSEC-02 (N) policy-based tunnel loses replies of VIP-owner backends", () => {
  const base = () => ({
    sas: sas("IPSEC-02", "mytunnel"),
    conntrack: conntrack("IPSEC-02", "pass", "conntrack.txt"),
    flow: sctpToVip,
    vipOwnerBackends: vm1Backends,
    client: client("IPSEC-02", "pass", "client.json"),
  });

  it("IPSEC-02 is ok when the evidence shows the documented loss (externalTrafficPolicy Cluster)", async () => {
    await behaviour("IPSEC-02", "R");
    const v = ipsec02(base());
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.reasons.join("\n")).toMatch(/documented failure observed: 3 of 3 flow\(s\) to VIP-owner backends stayed \[UNREPLIED\]/);
    expect(v.measurements).toEqual({ lostLocalFlows: 3, localFlows: 3 });
  });

  it("IPSEC-02 is ok when the evidence shows the documented loss (externalTrafficPolicy Local)", async () => {
    await behaviour("IPSEC-02", "R");
    const v = ipsec02({ ...base(), conntrack: conntrack("IPSEC-02", "pass", "conntrack-local.txt"), vipOwnerBackends: ["10.42.0.40", "10.42.0.41"], client: client("IPSEC-02", "pass", "client-local.json") });
    expect(v.ok, formatVerdict(v)).toBe(true);
  });

  it("IPSEC-02 is not ok when every flow was replied (failure not reproduced)", async () => {
    await behaviour("IPSEC-02", "R");
    const v = ipsec02({ ...base(), conntrack: conntrack("IPSEC-02", "fail", "conntrack-all-replied.txt") });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual(["documented failure not reproduced: all 3 flow(s) to VIP-owner backends were replied"]);
  });

  it("IPSEC-02 is not ok when the client got every reply", async () => {
    await behaviour("IPSEC-02", "R");
    const v = ipsec02({ ...base(), client: client("IPSEC-02", "fail", "client-all-replied.json") });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual(["documented failure not reproduced: client received all 9 replies"]);
  });

  it("IPSEC-02 does not take [NEW] events' [UNREPLIED] as proof (the seed's own conntrack -E capture)", async () => {
    await behaviour("IPSEC-02", "R");
    const v = ipsec02({ ...base(), conntrack: conntrack("IPSEC-02", "fail", "conntrack-new-events.txt") });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual(["documented failure not exercised: no conntrack entry for sctp → 1.2.3.4:10000 went to a backend on the VIP owner (10.42.0.38, 10.42.0.39)"]);
  });

  // real output: `conntrack -L -p sctp --orig-dst 198.51.100.16` on the VIP owner during SCTP probes through a
  // policy-based tunnel (harness/lab/ipsec.lab.test.ts, kernel 6.1.0-50 and 6.12.111): the pod's INIT ACK passed
  // conntrack (no [UNREPLIED]) and was dropped by the client for its bad CRC32c (SctpChecksumErrors rose)
  const labSctp = `sctp     132 2 COOKIE_WAIT src=192.0.2.1 dst=198.51.100.16 sport=37836 dport=80 src=10.42.0.5 dst=192.0.2.1 sport=8080 dport=37836 mark=0 use=1
sctp     132 9 CLOSED src=192.0.2.1 dst=198.51.100.16 sport=37981 dport=80 src=10.42.1.5 dst=192.0.2.1 sport=8080 dport=37981 [ASSURED] mark=0 use=1
sctp     132 6 CLOSED src=192.0.2.1 dst=198.51.100.16 sport=35716 dport=80 src=10.42.1.5 dst=192.0.2.1 sport=8080 dport=35716 [ASSURED] mark=0 use=1
conntrack v1.4.7 (conntrack-tools): 3 flow entries have been shown.
`;
  const labBase = () => ({ ...base(), conntrack: parseConntrack(labSctp).entries, flow: { proto: "sctp", dst: "198.51.100.16", dport: 80 }, vipOwnerBackends: ["10.42.0.5"], client: { sent: 3, received: 2 } });

  it("IPSEC-02 is ok when the VIP owner's pod answered but its SCTP association never became [ASSURED] (COOKIE_WAIT: the kernel lab's real conntrack)", async () => {
    await behaviour("IPSEC-02", "R");
    const v = ipsec02(labBase());
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.reasons).toContain("documented failure observed: 1 of 1 flow(s) to VIP-owner backends never completed the handshake (0 [UNREPLIED], 1 answered by the backend but never [ASSURED]: COOKIE_WAIT) (10.42.0.5)");
  });

  it("IPSEC-02 is not ok when the same associations all became [ASSURED] (the lab's real conntrack, CRC offload off)", async () => {
    await behaviour("IPSEC-02", "R");
    const v = ipsec02({ ...labBase(), conntrack: parseConntrack(labSctp.replace("2 COOKIE_WAIT", "8 CLOSED").replace("dport=37836 mark", "dport=37836 [ASSURED] mark")).entries, client: { sent: 3, received: 3 } });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual(["documented failure not reproduced: all 1 flow(s) to VIP-owner backends were replied", "documented failure not reproduced: client received all 3 replies"]);
  });

  it("IPSEC-02 is not ok when the tunnel itself is down (a different failure)", async () => {
    await behaviour("IPSEC-02", "R");
    const after = parseSwanctlSas(text("IPSEC-02", "pass", "sas-after.swanctl").replace("INSTALLED", "REKEYED"));
    const v = ipsec02({ ...base(), sas: { ...sas("IPSEC-02", "mytunnel"), after } });
    expect(v.ok).toBe(false);
    expect(v.reasons[0]).toBe("not the documented failure, the tunnel itself is broken: CHILD_SA mytunnel: state REKEYED, expected INSTALLED");
  });
});

describe("IPSEC-03 policy-based tunnel with hostNetwork backends", () => {
  const base = () => ({
    sas: sas("IPSEC-03", "mytunnel"),
    conntrack: conntrack("IPSEC-03", "pass", "conntrack.txt"),
    flow: sctpToVip,
    hostNetworkBackends: ["10.65.94.22", "10.65.94.121", "10.65.94.156"],
    client: client("IPSEC-03", "pass", "client.json"),
  });

  it("IPSEC-03 passes: counters rise, every flow replied by a hostNetwork backend", async () => {
    await behaviour("IPSEC-03", "R");
    const v = ipsec03(base());
    expect(v.ok, formatVerdict(v)).toBe(true);
  });

  it("IPSEC-03 fails and names the [UNREPLIED] flow", async () => {
    await behaviour("IPSEC-03", "R");
    const v = ipsec03({ ...base(), conntrack: conntrack("IPSEC-03", "fail", "conntrack-unreplied.txt") });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual([expect.stringMatching(/5\.6\.7\.8:46142 sctp → 1\.2\.3\.4:10000 DNATed to 10\.65\.94\.121 is \[UNREPLIED\]/)]);
  });

  it("IPSEC-03 fails when nothing went back out through the tunnel", async () => {
    await behaviour("IPSEC-03", "R");
    const v = ipsec03({ ...base(), sas: sas("IPSEC-03", "mytunnel", ["fail", "sas-after-out-flat.swanctl"]) });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual(["CHILD_SA mytunnel: bytes_out did not rise (1456 → 1456)", "CHILD_SA mytunnel: packets_out did not rise (14 → 14)"]);
  });

  it("IPSEC-03 fails when a backend is a pod IP, not a hostNetwork one", async () => {
    await behaviour("IPSEC-03", "R");
    const v = ipsec03({ ...base(), conntrack: conntrack("IPSEC-01", "pass", "conntrack.txt"), client: { sent: 9, received: 9 } });
    expect(v.ok).toBe(false);
    expect(v.reasons.join("\n")).toMatch(/backend 10\.42\.2\.34 is not a hostNetwork backend/);
  });
});

describe("IPSEC-04 (N) route-based VTI with mark drops packets", () => {
  const base = () => ({
    sas: sas("IPSEC-04", "mytunnel"),
    linkBefore: parseIpLink(text("IPSEC-04", "pass", "link-before.json")),
    linkAfter: parseIpLink(text("IPSEC-04", "pass", "link-after.json")),
    ifname: "vti100",
    client: client("IPSEC-04", "pass", "client.json"),
  });

  it("IPSEC-04 is ok when vti100 errors rise and the pings are lost (documented failure)", async () => {
    await behaviour("IPSEC-04", "R");
    const v = ipsec04(base());
    expect(v.ok, formatVerdict(v)).toBe(true);
    expect(v.reasons.join("\n")).toMatch(/vti100 errors\/drops rose \(.*tx errors 0→5/);
  });

  it("IPSEC-04 is not ok when vti100 shows no errors (failure not reproduced)", async () => {
    await behaviour("IPSEC-04", "R");
    const v = ipsec04({ ...base(), linkAfter: parseIpLink(text("IPSEC-04", "fail", "link-after-no-errors.json")) });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual(["documented failure not reproduced: vti100 errors and drops did not rise (rx errors 0→0, rx dropped 0→0, tx errors 0→0, tx dropped 0→0)"]);
  });

  it("IPSEC-04 is not ok without the mark (not the documented setup)", async () => {
    await behaviour("IPSEC-04", "R");
    const v = ipsec04({ ...base(), sas: sas("IPSEC-04", "mytunnel", ["fail", "sas-after-no-mark.swanctl"]) });
    expect(v.ok).toBe(false);
    expect(v.reasons[0]).toMatch(/^not the documented setup: CHILD_SA mytunnel has no mark/);
  });
});

describe("IPSEC-05 IPsec endpoint and service in one pod", () => {
  const base = () => ({ sas: sas("IPSEC-05", "mytunnel"), client: client("IPSEC-05", "pass", "client.json") });

  it("IPSEC-05 passes: SA installed, counters rise both ways, 3 of 3 pings answered", async () => {
    await behaviour("IPSEC-05", "R");
    const v = ipsec05(base());
    expect(v.ok, formatVerdict(v)).toBe(true);
  });

  it("IPSEC-05 fails when the client got no reply", async () => {
    await behaviour("IPSEC-05", "R");
    const v = ipsec05({ ...base(), client: client("IPSEC-05", "fail", "client-lost.json") });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual(["client received 0 of 3 replies (ping 1.2.3.4 -I 5.6.7.8)"]);
  });

  it("IPSEC-05 fails when no reply left through the tunnel", async () => {
    await behaviour("IPSEC-05", "R");
    const v = ipsec05({ ...base(), sas: sas("IPSEC-05", "mytunnel", ["fail", "sas-after-out-flat.swanctl"]) });
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual(["CHILD_SA mytunnel: bytes_out did not rise (0 → 0)", "CHILD_SA mytunnel: packets_out did not rise (0 → 0)"]);
  });
});
