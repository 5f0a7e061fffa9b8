import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inspectContainer } from "../adapters/docker.ts";
import { behaviour } from "../report/allure.ts";
import { tearDownLeavingNothing, testRun } from "../testing/run.ts";
import { type Host, type Net, World, addRoute, freeSubnets, injectFault, waitUntil } from "./world.ts";

const run = testRun("world");
const world = new World(run);
let a: Net, b: Net, router: Host, client: Host, frr1: Host, frr2: Host, nodeLike: Host;

// the BGP/BFD lab's shape with our own addresses: the cluster side (a) and a second network (b) joined by a
// router; two free /24s chosen at start, fixed host numbers inside them
const [subA, subB] = await freeSubnets(2);
const at = (subnet: string, host: number) => subnet.replace(/\.0\/24$/, `.${host}`);
const A = { subnet: subA!, router: at(subA!, 254), client: at(subA!, 10), node: at(subA!, 20) };
const B = { subnet: subB!, router: at(subB!, 254), frr1: at(subB!, 11), frr2: at(subB!, 12) };

async function bgpState(h: Host, peer: string): Promise<string> {
  const r = await h.exec.run(["vtysh", "-c", "show bgp neighbors json"]);
  return (JSON.parse(r.stdout) as Record<string, { bgpState?: string }>)[peer]?.bgpState ?? "absent";
}
async function bfdStatus(h: Host, peer: string): Promise<string> {
  const r = await h.exec.run(["vtysh", "-c", "show bfd peers json"]);
  return (JSON.parse(r.stdout) as Array<{ peer: string; status: string }>).find((p) => p.peer === peer)?.status ?? "absent";
}

describe("external world (real docker networks, containers, FRR)", () => {
  beforeAll(async () => {
    a = await world.network("a", A.subnet);
    b = await world.network("b", B.subnet);
    router = await world.router("router", [{ network: a.name, ip: A.router }, { network: b.name, ip: B.router }]);
    client = await world.host({ name: "client", role: "client", networks: [{ network: a.name, ip: A.client }] });
    nodeLike = await world.host({ name: "node", role: "node-like", networks: [{ network: a.name, ip: A.node }] });
    const bfd = { receiveIntervalMs: 300, transmitIntervalMs: 300, detectMultiplier: 3 };
    frr1 = await world.frr("frr1", [{ network: b.name, ip: B.frr1 }], { asn: 64512, routerId: B.frr1, bfd, neighbors: [{ ip: B.frr2, remoteAs: 64513, bfd: true }] });
    frr2 = await world.frr("frr2", [{ network: b.name, ip: B.frr2 }], { asn: 64513, routerId: B.frr2, bfd, neighbors: [{ ip: B.frr1, remoteAs: 64512, bfd: true }] });
    await addRoute(client, B.subnet, A.router);
    for (const f of [frr1, frr2]) await addRoute(f, A.subnet, B.router);
  });

  afterAll(() => tearDownLeavingNothing(run));

  it("HARN-03 creates networks with the chosen subnets and hosts with the chosen addresses", async () => {
    await behaviour("HARN-03", "D");
    expect([a.subnet, b.subnet]).toEqual([A.subnet, B.subnet]);
    expect(router.ips).toEqual({ [a.name]: A.router, [b.name]: B.router });
    expect(client.ips[a.name]).toBe(A.client);
  });

  it("HARN-03 routes the client to the second network through the next-hop router (one hop)", async () => {
    await behaviour("HARN-03", "D");
    const r = await client.exec.run(["ping", "-c", "3", "-W", "1", "-i", "0.2", B.frr1], { timeoutMs: 10_000 });
    expect(r.stdout).toMatch(/3 received/);
    expect(r.stdout).toMatch(/ttl=63/); // 64 minus the router's hop
    const route = JSON.parse((await client.exec.run(["ip", "-j", "route", "get", B.frr1])).stdout) as Array<{ gateway?: string }>;
    expect(route[0]?.gateway).toBe(A.router);
  });

  it("HARN-03 without the static route the second network is unreachable (negative control)", async () => {
    await behaviour("HARN-03", "D");
    await client.exec.run(["ip", "route", "del", B.subnet]);
    try {
      const r = await client.exec.run(["ping", "-c", "2", "-W", "1", "-i", "0.2", B.frr1], { allowFailure: true, timeoutMs: 10_000 });
      expect(r.exitCode).not.toBe(0);
    } finally {
      await addRoute(client, B.subnet, A.router);
    }
  });

  it("HARN-03 FRR peers come up: BGP Established and BFD up with 300 ms timers", async () => {
    await behaviour("HARN-03", "D");
    const seen: string[] = [];
    await waitUntil("BGP Established frr1→frr2", async () => {
      const [s1, s2] = [await bgpState(frr1, B.frr2), await bgpState(frr2, B.frr1)];
      if (seen.at(-1) !== `${s1}/${s2}`) seen.push(`${s1}/${s2}`);
      return s1 === "Established";
    }, 60_000, 500).catch(async (e: Error) => {
      const detail = (await frr1.exec.run(["vtysh", "-c", `show bgp neighbors ${B.frr2}`], { allowFailure: true })).stdout;
      throw new Error(`${e.message}; frr1/frr2 states seen in turn: ${seen.join(" → ")}\n${detail}`);
    });
    await waitUntil("BFD up frr1→frr2", async () => (await bfdStatus(frr1, B.frr2)) === "up", 30_000, 300);
    const peers = JSON.parse((await frr1.exec.run(["vtysh", "-c", "show bfd peers json"])).stdout) as Array<{ peer: string; "receive-interval": number; "transmit-interval": number; "detect-multiplier": number }>;
    expect(peers[0]).toMatchObject({ peer: B.frr2, "receive-interval": 300, "transmit-interval": 300, "detect-multiplier": 3 });
  });

  it("HARN-04 node faults: stop, start, pause, unpause, disconnect, reconnect a node-like container", async () => {
    await behaviour("HARN-04", "D");
    for (const fault of ["stop", "kill", "pause"] as const) {
      const undo = await injectFault(nodeLike.name, fault);
      expect((await inspectContainer(nodeLike.name))?.state).toBe(fault === "pause" ? "paused" : "exited");
      await undo();
      expect((await inspectContainer(nodeLike.name))?.state).toBe("running");
    }
    const undo = await injectFault(nodeLike.name, "disconnect", a.name);
    expect((await inspectContainer(nodeLike.name))?.ips[a.name]).toBeUndefined();
    const lost = await client.exec.run(["ping", "-c", "1", "-W", "1", A.node], { allowFailure: true });
    expect(lost.exitCode).not.toBe(0);
    await undo();
    expect((await inspectContainer(nodeLike.name))?.ips[a.name]).toBe(A.node);
    const back = await client.exec.run(["ping", "-c", "1", "-W", "2", A.node], { allowFailure: true });
    expect(back.exitCode).toBe(0);
  });

  it("HARN-04 pausing an FRR peer takes its BFD session down within multiplier x interval + margin", async () => {
    await behaviour("HARN-04", "D");
    const undo = await injectFault(frr2.name, "pause");
    try {
      const ms = await waitUntil("BFD down on frr1", async () => (await bfdStatus(frr1, B.frr2)) === "down", 10_000, 100);
      // 3 x 300 ms = 900 ms detection; the docker exec poll adds its own latency: bound at 3 s
      expect(ms).toBeLessThan(3000);
    } finally {
      await undo();
    }
    await waitUntil("BFD up again", async () => (await bfdStatus(frr1, B.frr2)) === "up", 30_000, 300);
  });
});
