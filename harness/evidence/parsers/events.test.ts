import { describe, expect, it } from "vitest";
import { ParseError } from "../parse-error.ts";
import { parseDescribeEvents, parseEventObjects, parseEvents, parseEventsTable } from "./events.ts";
import { fuzz } from "./fuzz-util.ts";

// seed 003 L269-274 (the sandbox error shortened), after two describe body lines
const DESCRIBE = `Name:             static-ip-pod2-wrong-ip
Namespace:        default
Events:
  Type     Reason                  Age   From               Message
  ----     ------                  ----  ----               -------
  Normal   Scheduled               5s    default-scheduler  Successfully assigned default/static-ip-pod2-wrong-ip to kind-worker
  Normal   AddedInterface          5s    multus             Add eth0 [10.244.1.58/24] from kindnet
  Warning  FailedCreatePodSandBox  5s    kubelet            Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "f5e3": plugin type="multus" failed (add): ip 10.10.10.10 has no matching Pool
`;

const TABLE = `LAST SEEN   TYPE      REASON                   OBJECT                        MESSAGE
5s          Normal    Scheduled                pod/static-ip-pod2-wrong-ip   Successfully assigned default/static-ip-pod2-wrong-ip to kind-worker
4s          Warning   FailedCreatePodSandBox   pod/static-ip-pod2-wrong-ip   Failed to create pod sandbox: ip 10.10.10.10 has no matching Pool
2m3s        Normal    Pulled                   pod/dynamic-ip-pod1           Container image "centos/tools" already present on machine
`;

const JSON_LIST = JSON.stringify({
  apiVersion: "v1",
  kind: "List",
  items: [
    {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: "static-ip-pod2-wrong-ip.17a", namespace: "default" },
      involvedObject: { kind: "Pod", name: "static-ip-pod2-wrong-ip", namespace: "default", uid: "0598c0e7" },
      reason: "FailedCreatePodSandBox",
      message: "Failed to create pod sandbox: ip 10.10.10.10 has no matching Pool",
      type: "Warning",
      source: { component: "kubelet", host: "kind-worker" },
      count: 3,
      firstTimestamp: "2024-05-02T10:00:00Z",
      lastTimestamp: "2024-05-02T10:00:05Z",
    },
    {
      kind: "Event",
      metadata: { name: "x.1", namespace: "default" },
      involvedObject: { kind: "Pod", name: "p" },
      reason: "Started",
      message: "Started container test",
      type: "Normal",
      reportingComponent: "kubelet",
      eventTime: "2024-05-02T10:00:00.123456Z",
      series: { count: 2, lastObservedTime: "2024-05-02T10:01:00.000000Z" },
    },
  ],
});

describe("evidence/parsers/events", () => {
  it("reads the lab's describe Events block", () => {
    const ev = parseDescribeEvents(DESCRIBE, { kind: "pod", name: "static-ip-pod2-wrong-ip", namespace: "default" });
    expect(ev.map((e) => `${e.type} ${e.reason} ${e.source}`)).toEqual(["Normal Scheduled default-scheduler", "Normal AddedInterface multus", "Warning FailedCreatePodSandBox kubelet"]);
    expect(ev[2]!.message).toMatch(/ip 10\.10\.10\.10 has no matching Pool$/);
    expect(ev[2]!.object).toEqual({ kind: "pod", name: "static-ip-pod2-wrong-ip", namespace: "default" });
  });

  it("reads repeated events in describe (x4 over 3m) and Events: <none>", () => {
    const rep = `Events:
  Type     Reason   Age              From     Message
  ----     ------   ----             ----     -------
  Warning  BackOff  2m (x4 over 3m)  kubelet  Back-off restarting failed container
`;
    expect(parseDescribeEvents(rep)[0]).toMatchObject({ reason: "BackOff", count: 4, lastSeen: "2m" });
    expect(parseDescribeEvents("Name: x\nEvents:  <none>\n")).toEqual([]);
  });

  it("reads kubectl get events, with and without NAMESPACE", () => {
    const ev = parseEventsTable(TABLE);
    expect(ev).toHaveLength(3);
    expect(ev[1]).toEqual({ type: "Warning", reason: "FailedCreatePodSandBox", message: "Failed to create pod sandbox: ip 10.10.10.10 has no matching Pool", object: { kind: "pod", name: "static-ip-pod2-wrong-ip" }, lastSeen: "4s" });
    const all = TABLE.split("\n").map((l, i) => (l === "" ? l : (i === 0 ? "NAMESPACE   " : "default     ") + l)).join("\n");
    expect(parseEventsTable(all)[0]!.object).toEqual({ kind: "pod", name: "static-ip-pod2-wrong-ip", namespace: "default" });
  });

  it("reads core/v1 Event objects and normalises them", () => {
    const ev = parseEventObjects(JSON_LIST);
    expect(ev[0]).toEqual({ type: "Warning", reason: "FailedCreatePodSandBox", message: "Failed to create pod sandbox: ip 10.10.10.10 has no matching Pool", object: { kind: "pod", name: "static-ip-pod2-wrong-ip", namespace: "default" }, source: "kubelet", node: "kind-worker", count: 3, lastSeen: "2024-05-02T10:00:05Z" });
    expect(ev[1]).toMatchObject({ source: "kubelet", count: 2, lastSeen: "2024-05-02T10:01:00.000000Z", object: { namespace: "default" } });
  });

  it("tells the three shapes apart", () => {
    expect(parseEvents(TABLE)).toHaveLength(3);
    expect(parseEvents(JSON_LIST)).toHaveLength(2);
    expect(parseEvents(DESCRIBE)).toHaveLength(3);
  });

  it("refuses misaligned rows, unknown types and bad objects", () => {
    expect(() => parseEventsTable(TABLE.replace("5s          Normal ", "5s         Normal  "))).toThrow(ParseError);
    expect(() => parseEventsTable(TABLE.replace("Warning   Failed", "Fatal     Failed"))).toThrow(/neither Normal nor Warning/);
    expect(() => parseDescribeEvents(DESCRIBE.replace("  ----     ------", "  ====     ======"))).toThrow(/ruler/);
    expect(() => parseEventObjects(JSON_LIST.replace('"type":"Warning"', '"type":"Error"'))).toThrow(/invalid 0?\.?type|invalid type/);
  });

  it("fuzz: a full result or a ParseError", () => {
    const a = fuzz([TABLE], parseEventsTable, (ev) => ev.forEach((e) => expect(e.message).not.toBe("")));
    const b = fuzz([DESCRIBE], (t) => parseDescribeEvents(t), (ev) => ev.forEach((e) => expect(e.reason).not.toBe("")), 300, 3);
    const c = fuzz([JSON_LIST], parseEventObjects, (ev) => ev.forEach((e) => expect(["Normal", "Warning"]).toContain(e.type)), 300, 4);
    expect([...a.bad, ...b.bad, ...c.bad]).toEqual([]);
  });
});

describe("evidence/parsers/events -o wide", () => {
  it("reads SOURCE and COUNT", () => {
    const wide = `LAST SEEN   TYPE      REASON                   OBJECT                        SUBOBJECT   SOURCE                 MESSAGE                                          FIRST SEEN   COUNT   NAME
4s          Warning   FailedCreatePodSandBox   pod/static-ip-pod2-wrong-ip               kubelet, kind-worker   Failed to create pod sandbox: no matching Pool   40s          3       static-ip-pod2-wrong-ip.17f1
`;
    expect(parseEventsTable(wide)[0]).toMatchObject({ reason: "FailedCreatePodSandBox", source: "kubelet", count: 3 });
  });
});
