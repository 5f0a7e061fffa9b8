import { ApiException, type CoreV1Event, KubeConfig } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { apiErrorMessage, isNotFound, kubeClient } from "./client.ts";
import { exitCodeFromStatus } from "./exec.ts";
import { formatEvents, involvedObjectSelector, sortEvents } from "./inspect.ts";

const ev = (name: string, at: string, extra: Partial<CoreV1Event> = {}): CoreV1Event => ({
  metadata: { name, namespace: "metallb-system" },
  involvedObject: { kind: "Pod", name: "speaker-x", namespace: "metallb-system" },
  reason: "BackOff",
  message: "Back-off restarting failed container",
  type: "Warning",
  lastTimestamp: new Date(at),
  ...extra,
});

describe("kube/inspect: events", () => {
  it("sorts by the last time each event was seen (series first), oldest first", () => {
    const a = ev("a", "2026-11-23T18:00:05Z");
    const b = ev("b", "2026-11-23T18:00:01Z");
    const c: CoreV1Event = { ...ev("c", "2026-11-23T17:00:00Z"), series: { count: 4, lastObservedTime: new Date("2026-11-23T18:00:03Z") } };
    const d: CoreV1Event = { metadata: { name: "d", creationTimestamp: new Date("2026-11-23T18:00:04Z") }, involvedObject: {}, eventTime: new Date("2026-11-23T18:00:02Z") };
    expect(sortEvents([a, b, c, d]).map((e) => e.metadata.name)).toEqual(["b", "d", "c", "a"]);
  });
  it("builds a field selector for one involved object", () => {
    expect(involvedObjectSelector({ kind: "Node", name: "kind-worker" })).toBe("involvedObject.kind=Node,involvedObject.name=kind-worker");
    expect(involvedObjectSelector({})).toBeUndefined();
    expect(involvedObjectSelector(undefined)).toBeUndefined();
  });
  it("formats one line per event", () => {
    expect(formatEvents([ev("a", "2026-11-23T18:00:05Z", { count: 3, source: { component: "kubelet" } })])).toBe(
      "2026-11-23T18:00:05.000Z Warning BackOff pod/metallb-system/speaker-x (kubelet ×3): Back-off restarting failed container",
    );
  });
});

describe("kube/exec: exit code from the status channel", () => {
  it("reads Success, NonZeroExitCode and a command that could not start", () => {
    expect(exitCodeFromStatus({ status: "Success" })).toBe(0);
    expect(exitCodeFromStatus({ status: "Failure", reason: "NonZeroExitCode", message: "command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3", details: { causes: [{ reason: "ExitCode", message: "3" }] } })).toBe(3);
    expect(exitCodeFromStatus({ status: "Failure", reason: "InternalError", message: 'exec: "nope": executable file not found in $PATH' })).toBe(127);
    expect(exitCodeFromStatus({ status: "Failure", message: "permission denied" })).toBe(126);
    expect(exitCodeFromStatus(undefined)).toBe(-1);
  });
});

describe("kube/client", () => {
  it("builds a client from a KubeConfig without contacting the cluster", () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: "c", server: "https://127.0.0.1:6443", skipTLSVerify: false }],
      users: [{ name: "u", token: "t" }],
      contexts: [{ name: "x", cluster: "c", user: "u" }],
      currentContext: "x",
    });
    const k = kubeClient(kc);
    expect(k.server).toBe("https://127.0.0.1:6443");
    expect(typeof k.objects.resourceOf).toBe("function");
  });
  it("says which kubeconfig could not be read", () => {
    expect(() => kubeClient("/nonexistent/kubeconfig")).toThrow(/^kubeconfig \/nonexistent\/kubeconfig: /);
  });
  it("turns an ApiException into one line with the server's message", () => {
    const e = new ApiException(404, "Unknown API Status Code!", JSON.stringify({ kind: "Status", reason: "NotFound", message: 'deployments.apps "controller" not found' }), { "content-type": "application/json" });
    expect(apiErrorMessage(e)).toBe('HTTP 404 NotFound: deployments.apps "controller" not found');
    expect(isNotFound(e)).toBe(true);
    expect(apiErrorMessage(new ApiException(500, "x", { message: "boom" }, {}))).toBe("HTTP 500: boom");
  });
});
