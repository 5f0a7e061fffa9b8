import { describe, expect, it } from "vitest";
import { matchDockerNodes } from "./existing.ts";

const nodes = [
  { name: "lab-control-plane", internalIps: ["172.18.0.3"] },
  { name: "lab-worker", internalIps: ["172.18.0.2"] },
];

describe("an existing cluster's nodes as docker containers", () => {
  it("finds every node by name and InternalIP, with the network they share", () => {
    const r = matchDockerNodes(nodes, {
      "lab-control-plane": { name: "lab-control-plane", state: "running", ips: { kind: "172.18.0.3" } },
      "lab-worker": { name: "lab-worker", state: "running", ips: { kind: "172.18.0.2", other: "10.9.0.2" } },
    });
    expect(r).toEqual({ nodes: ["lab-control-plane", "lab-worker"], network: "kind" });
  });

  it("gives the reason, node by node, when the nodes are not containers here (a cloud or bare-metal cluster)", () => {
    const r = matchDockerNodes(nodes, { "lab-control-plane": undefined, "lab-worker": undefined });
    expect(r.nodes).toEqual([]);
    expect(r.reason).toMatch(/lab-control-plane: no docker container of that name on this machine; lab-worker: no docker container/);
  });

  it("refuses a same-named container that is not the node (negative control: name alone is not proof)", () => {
    const r = matchDockerNodes(nodes, {
      "lab-control-plane": { name: "lab-control-plane", state: "running", ips: { kind: "172.18.0.3" } },
      "lab-worker": { name: "lab-worker", state: "running", ips: { bridge: "172.17.0.5" } },
    });
    expect(r.nodes).toEqual([]);
    expect(r.reason).toMatch(/lab-worker: the container of that name has 172\.17\.0\.5, the node reports 172\.18\.0\.2/);
  });

  it("says so when a node container is stopped, or the cluster lists no node", () => {
    expect(matchDockerNodes(nodes, {
      "lab-control-plane": { name: "lab-control-plane", state: "exited", ips: {} },
      "lab-worker": { name: "lab-worker", state: "running", ips: { kind: "172.18.0.2" } },
    }).reason).toMatch(/lab-control-plane: its container is exited/);
    expect(matchDockerNodes([], {}).reason).toMatch(/no nodes/);
  });
});
