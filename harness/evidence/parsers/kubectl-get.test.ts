import { describe, expect, it } from "vitest";
import { ParseError } from "../parse-error.ts";
import { fuzz } from "./fuzz-util.ts";
import { parseEndpointsObjects, parseEndpointsTable, parseKubectlTable, parseNodeObjects, parseNodes, parsePods, parsePvcs, parseStorageClass } from "./kubectl-get.ts";

// seed 000 L757-761
const PODS = `NAME                                            READY   STATUS    RESTARTS   AGE     IP           NODE                 NOMINATED NODE   READINESS GATES
ipam-trench-a-0                                 1/1     Running   0          6m53s   10.244.4.2   kind-worker6         <none>           <none>
ipam-trench-a-1                                 0/1     Running   0          6m42s   10.244.1.2   kind-worker5         <none>           <none>
meridio-operator-54f9c6765f-x9xsm               1/1     Running   2 (3m ago)   13m     10.244.2.3   kind-worker          <none>           <none>
`.replace("2 (3m ago)   13m     ", "2 (3m ago) 13m     ");

// seed 000 L779-786 (two rows)
const NODES = `NAME                 STATUS     ROLES           AGE   VERSION   IPAM-WORKER
kind-control-plane   Ready      control-plane   29m   v1.31.0
kind-worker6         NotReady   <none>          29m   v1.31.0   true
`;
// seed 000 L775-776
const EPS = `NAME                    ENDPOINTS         AGE
ipam-service-trench-a   10.244.1.2:7777   6m51s
`;
// seed 000 L453-454
const PVC = `NAME           STATUS   VOLUME                                     CAPACITY   ACCESS MODES   STORAGECLASS   VOLUMEATTRIBUTESCLASS   AGE
ipam-rwx-pvc   Bound    pvc-d9353872-b677-472a-a568-4cd20883c201   20Mi       RWX            nfs-ganesha    <unset>                 36m
`;
// seed 000 L400-411
const SC = `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: nfs-ganesha
provisioner: example.com/nfs # Match the provisioner arg in Deployment
reclaimPolicy: Delete # PVs created by this SC will be deleted when PVC is deleted
volumeBindingMode: Immediate # PV is bound as soon as PVC is created
mountOptions:
  - vers=4.1
  - soft
  - timeo=600 # 60 seconds
`;
const EP_JSON = JSON.stringify({
  apiVersion: "v1",
  kind: "Endpoints",
  metadata: { name: "tcpserver7", namespace: "enm" },
  subsets: [{ addresses: [{ ip: "192.168.67.114", nodeName: "w1" }, { ip: "192.168.182.140" }], notReadyAddresses: [{ ip: "192.168.9.9" }], ports: [{ port: 8080, protocol: "TCP" }] }],
});
const NODE_JSON = JSON.stringify({
  apiVersion: "v1",
  kind: "List",
  items: [
    { kind: "Node", metadata: { name: "router-1", labels: { node: "routing" } }, spec: { taints: [{ key: "node", value: "routing", effect: "NoSchedule" }] }, status: { conditions: [{ type: "Ready", status: "True" }] } },
    { kind: "Node", metadata: { name: "worker-1", labels: {} }, spec: {} },
  ],
});

describe("evidence/parsers/kubectl-get", () => {
  it("splits a table at the header's offsets, multi-word headers included", () => {
    const t = parseKubectlTable("t", PODS);
    expect(t.columns).toEqual(["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE", "READINESS GATES"]);
    expect(t.lineOf).toEqual([2, 3, 4]);
  });

  it("reads pods -o wide", () => {
    const p = parsePods(PODS);
    expect(p[0]).toEqual({ name: "ipam-trench-a-0", readyContainers: 1, totalContainers: 1, ready: true, status: "Running", restarts: 0, age: "6m53s", ip: "10.244.4.2", node: "kind-worker6" });
    expect(p[1]!.ready).toBe(false);
    expect(p[2]!.restarts).toBe(2);
  });

  it("reads nodes with label columns, endpoints, pvcs", () => {
    const n = parseNodes(NODES);
    expect(n.map((x) => [x.name, x.ready, x.extra["IPAM-WORKER"]])).toEqual([["kind-control-plane", true, ""], ["kind-worker6", false, "true"]]);
    expect(parseEndpointsTable(EPS)).toEqual([{ name: "ipam-service-trench-a", endpoints: ["10.244.1.2:7777"] }]);
    expect(parsePvcs(PVC)[0]).toEqual({ name: "ipam-rwx-pvc", status: "Bound", volume: "pvc-d9353872-b677-472a-a568-4cd20883c201", capacity: "20Mi", accessModes: ["RWX"], storageClass: "nfs-ganesha", age: "36m" });
  });

  it("reads Endpoints, Nodes and a StorageClass as objects", () => {
    const e = parseEndpointsObjects(EP_JSON)[0]!;
    expect(e.subsets[0]!.addresses.map((a) => a.ip)).toEqual(["192.168.67.114", "192.168.182.140"]);
    expect(e.subsets[0]!.notReadyAddresses).toHaveLength(1);
    expect(parseNodeObjects(NODE_JSON)).toEqual([
      { name: "router-1", labels: { node: "routing" }, taints: [{ key: "node", value: "routing", effect: "NoSchedule" }], ready: true },
      { name: "worker-1", labels: {}, taints: [] },
    ]);
    expect(parseStorageClass(SC)).toMatchObject({ metadata: { name: "nfs-ganesha" }, provisioner: "example.com/nfs", volumeBindingMode: "Immediate" });
  });

  it("refuses misalignment, truncated endpoint lists and impossible cells", () => {
    expect(() => parsePods(PODS.replace("1/1     Running   0          6m53s", "1/1    Running   0           6m53s"))).toThrow(ParseError);
    expect(() => parseEndpointsTable("NAME   ENDPOINTS                                         AGE\nsvc    10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 1 more...   1m\n")).toThrow(/truncated/);
    expect(() => parsePods(PODS.replace("0/1 ", "2/1 "))).toThrow(/more ready than total/);
    expect(() => parseNodes(NODES.replace("NotReady", "Sleepy  "))).toThrow(/node status/);
    expect(() => parseStorageClass(SC.replace("Immediate", "Eventually"))).toThrow(/volumeBindingMode/);
    expect(() => parsePods(PODS + "\n\n")).not.toThrow();
    expect(() => parsePods(PODS + "\nNAME   READY\n")).toThrow(ParseError);
  });

  it("fuzz: a full result or a ParseError", () => {
    const runs = [
      fuzz([PODS], parsePods, (p) => p.forEach((x) => expect(x.name).toMatch(/^[a-z0-9]/))),
      fuzz([NODES], parseNodes, (n) => n.forEach((x) => expect(typeof x.ready).toBe("boolean")), 200, 5),
      fuzz([EPS], parseEndpointsTable, () => {}, 200, 6),
      fuzz([PVC], parsePvcs, () => {}, 200, 7),
      fuzz([SC], parseStorageClass, () => {}, 200, 8),
      fuzz([EP_JSON], parseEndpointsObjects, () => {}, 200, 9),
      fuzz([NODE_JSON], parseNodeObjects, () => {}, 200, 10),
    ];
    expect(runs.flatMap((r) => r.bad)).toEqual([]);
  });
});
