import { afterEach, describe, expect, it } from "vitest";
import { KIND_IN_PROGRESS, kindStandIn } from "../testing/kind-stand-in.ts";
import { deleteCluster, deletionInProgress } from "./kind.ts";

// deleteCluster's tolerance of a deletion already in progress, against a stand-in for the kind binary
// (see harness/testing/kind-stand-in.ts)
const standIn = kindStandIn;
const IN_PROGRESS = KIND_IN_PROGRESS;

describe("kind deleteCluster (kind stand-in script)", () => {
  const saved = process.env.NETCONFORM_KIND;
  afterEach(() => {
    if (saved === undefined) delete process.env.NETCONFORM_KIND;
    else process.env.NETCONFORM_KIND = saved;
  });

  it("recognises docker's messages for a removal already under way", () => {
    expect(deletionInProgress(IN_PROGRESS)).toBe(true);
    expect(deletionInProgress("Error response from daemon: No such container: nc-x-control-plane")).toBe(true);
    expect(deletionInProgress("ERROR: unknown flag: --nme")).toBe(false);
  });

  it("waits for a deletion already in progress instead of failing", async () => {
    const k = standIn([{ code: 1, stderr: IN_PROGRESS }, { code: 1, stderr: IN_PROGRESS }]);
    process.env.NETCONFORM_KIND = k.bin;
    await deleteCluster("nc-x", { nodes: async () => [], pauseMs: 10 });
    expect(k.calls()).toBe(3);
  });

  it("deletes again when a node container appeared after kind listed them", async () => {
    const k = standIn([]);
    process.env.NETCONFORM_KIND = k.bin;
    const left = [["nc-x-worker"], []];
    await deleteCluster("nc-x", { nodes: async () => left.shift() ?? [], pauseMs: 10 });
    expect(k.calls()).toBe(2);
  });

  it("fails at once, naming the command, on any other error (negative control)", async () => {
    const k = standIn([{ code: 1, stderr: "ERROR: unknown flag: --nme" }]);
    process.env.NETCONFORM_KIND = k.bin;
    await expect(deleteCluster("nc-x", { nodes: async () => [], pauseMs: 10 })).rejects.toThrow(/kind delete cluster --name nc-x failed \(exit 1\): ERROR: unknown flag/);
    expect(k.calls()).toBe(1);
  });

  it("gives up after its budget when the other deletion never ends, saying so", async () => {
    const k = standIn(Array.from({ length: 50 }, () => ({ code: 1, stderr: IN_PROGRESS })));
    process.env.NETCONFORM_KIND = k.bin;
    await expect(deleteCluster("nc-x", { nodes: async () => [], pauseMs: 50, timeoutMs: 300 })).rejects.toThrow(/still not deleted after \d+ attempts: .*already in progress/);
  });
});
