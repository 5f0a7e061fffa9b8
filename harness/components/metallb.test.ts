import { describe, expect, it } from "vitest";
import { parseDocuments } from "../kube/apply.ts";
import { poolOverlapsNodes, refuseOverlappingPool } from "../oracles/mlb.ts";
import { parseSpeakerLog } from "../evidence/parsers/metallb-speaker.ts";
import { bgpYaml, l2PoolYaml, topRanges, withSpeakerLogLevel } from "./metallb.ts";

const MANIFEST = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: controller
spec:
  template:
    spec:
      containers:
      - args:
        - --port=7472
        - --log-level=info
        name: controller
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: speaker
spec:
  template:
    spec:
      containers:
      - args:
        - --port=7472
        - --log-level=info
        name: speaker
`;

describe("metallb installer", () => {
  it("turns only the speaker's log level to debug", () => {
    const out = withSpeakerLogLevel(MANIFEST, "debug");
    const [ctl, sp] = parseDocuments(out);
    expect(JSON.stringify(ctl!.object)).toContain("--log-level=info");
    expect(JSON.stringify(sp!.object)).toContain("--log-level=debug");
    expect(() => withSpeakerLogLevel(MANIFEST.replace(/--log-level=info\n        name: speaker/, "name: speaker"), "debug")).toThrow(/found 0/);
  });

  it("takes pools from the top of the subnet, never the broadcast address, disjoint", () => {
    expect(topRanges("172.18.0.0/16", 3, 8)).toEqual(["172.18.255.247-172.18.255.254", "172.18.255.239-172.18.255.246", "172.18.255.231-172.18.255.238"]);
    expect(() => topRanges("10.0.0.0/29", 1, 8)).toThrow(/no room/);
    expect(() => topRanges("fc00::/64", 1, 8)).toThrow(/not an IPv4 subnet/);
  });

  it("a top pool passes the overlap refusal on a kind network; one over the nodes is refused", () => {
    const nodes = { "nc-control-plane": "172.18.0.3", "nc-worker": "172.18.0.2", "(gateway)": "172.18.0.1" };
    expect(() => refuseOverlappingPool(topRanges("172.18.0.0/16", 2, 8), nodes)).not.toThrow();
    expect(poolOverlapsNodes(["172.18.0.0/28"], nodes).map((o) => o.node)).toEqual(["nc-control-plane", "nc-worker", "(gateway)"]);
  });

  it("renders the BGP objects of the lab: pool, BGPAdvertisement, BFDProfile 300/300/x3, one BGPPeer per peer for the selected nodes", () => {
    const docs = parseDocuments(bgpYaml({
      pool: "p", addresses: ["203.0.113.200/29"], myAsn: 64500,
      bfd: { name: "b", receiveIntervalMs: 300, transmitIntervalMs: 300, detectMultiplier: 3 },
      peers: [{ name: "frr1", address: "10.251.7.11", asn: 64500 }, { name: "frr2", address: "10.251.7.12", asn: 64512, ebgpMultiHop: true }],
      nodeSelector: { matchExpressions: [{ key: "node-role.kubernetes.io/control-plane", operator: "DoesNotExist" }] },
    }));
    expect(docs.map((d) => `${d.kind}/${d.name}`)).toEqual(["IPAddressPool/p", "BGPAdvertisement/p", "BFDProfile/b", "BGPPeer/frr1", "BGPPeer/frr2"]);
    expect(docs[2]!.object).toMatchObject({ spec: { receiveInterval: 300, transmitInterval: 300, detectMultiplier: 3 } });
    expect(docs[3]!.object).toMatchObject({ apiVersion: "metallb.io/v1beta2", spec: { myASN: 64500, peerASN: 64500, peerAddress: "10.251.7.11", bfdProfile: "b", nodeSelectors: [{ matchExpressions: [{ operator: "DoesNotExist" }] }] } });
    expect((docs[3]!.object as { spec: object }).spec).not.toHaveProperty("ebgpMultiHop");
    expect(docs[4]!.object).toMatchObject({ spec: { ebgpMultiHop: true, peerASN: 64512 } });
  });

  it("renders an IPAddressPool and its L2Advertisement, with a node selector when asked", () => {
    const docs = parseDocuments(l2PoolYaml({ name: "zone-a", addresses: ["172.18.255.247-172.18.255.254"], nodeSelector: { "netconform.io/zone": "a" } }));
    expect(docs.map((d) => `${d.kind}/${d.namespace}/${d.name}`)).toEqual(["IPAddressPool/metallb-system/zone-a", "L2Advertisement/metallb-system/zone-a"]);
    expect(docs[1]!.object).toMatchObject({ spec: { ipAddressPools: ["zone-a"], nodeSelectors: [{ matchLabels: { "netconform.io/zone": "a" } }] } });
  });

  it("the speaker-log parser reads a real v0.15.2 log (controller-runtime lines without caller, an array ip)", () => {
    // lines as a v0.15.2 speaker wrote them on the live cluster (nc-mlb, 2026-11-23)
    const real = [
      String.raw`{"level":"info","ts":"2026-11-23T19:49:25Z","msg":"Starting EventSource","controller":"bgppeer","controllerGroup":"metallb.io","controllerKind":"BGPPeer","source":"kind source: *v1.ConfigMap","stacktrace":"sigs.k8s.io/controller-runtime/pkg/internal/controller.(*Controller[...]).Start.func2.1.1\n\tsigs.k8s.io/controller-runtime@v0.20.4/pkg/internal/controller/controller.go:204"}`,
      String.raw`{"caller":"main.go:443","event":"serviceAnnounced","ips":["172.30.255.231"],"level":"info","msg":"service has IP, announcing","pool":"nc-zone-b","protocol":"layer2","ts":"2026-11-23T19:51:09Z"}`,
      String.raw`{"caller":"layer2_controller.go:84","event":"shouldannounce","ips":["172.30.255.248"],"level":"debug","message":"failed no active endpoints","pool":"nc-l2","protocol":"l2","service":"nc-mlb-gate/gated","ts":"2026-11-23T19:51:02Z"}`,
      String.raw`{"caller":"main.go:487","event":"serviceWithdrawn","ip":["172.30.255.231"],"ips":["172.30.255.231"],"level":"info","msg":"withdrawing service announcement","pool":"nc-zone-b","protocol":"layer2","reason":"notOwner","ts":"2026-11-23T19:51:17Z"}`,
      String.raw`{"caller":"main.go:487","event":"serviceWithdrawn","ip":["172.30.255.9"],"level":"info","msg":"withdrawing service announcement","reason":"serviceDeleted","ts":"2026-11-23T19:51:18Z"}`,
    ].join("\n");
    const e = parseSpeakerLog(real);
    expect(e[0]).toMatchObject({ caller: "", text: "Starting EventSource", ips: [] });
    expect(e.slice(1).map((x) => `${x.event} ${x.ips.join(",")}`)).toEqual([
      "serviceAnnounced 172.30.255.231", "shouldannounce 172.30.255.248", "serviceWithdrawn 172.30.255.231", "serviceWithdrawn 172.30.255.9",
    ]);
    expect(e[2]!.text).toBe("failed no active endpoints");
    expect(() => parseSpeakerLog(`${real}\ncut {"caller"`)).toThrow(/not a JSON object line/);
  });
});
