import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type NvIpamInstall, ensureNvIpam, ippoolYaml, macvlanNadYaml, nvipamMissing, secondaryPodYaml } from "../../harness/components/nvipam.ts";
import { loadConfig } from "../../harness/config.ts";
import { withEvidence } from "../../harness/evidence/collector.ts";
import type { KubeEvent } from "../../harness/evidence/parsers/events.ts";
import { type IPPool, nodeMatches, type SelectableNode } from "../../harness/evidence/parsers/nvipam.ts";
import { apply, deleteObjects, waitFor } from "../../harness/kube/index.ts";
import { nvipam01, nvipam02, nvipam03, nvipam04, nvipam05, type PodAttachment } from "../../harness/oracles/nvipam.ts";
import { type Verdict, formatVerdict } from "../../harness/oracles/verdict.ts";
import { gateSuite } from "../../harness/preflight/gate.ts";
import { attachJson, attachText, behaviour } from "../../harness/report/allure.ts";
import { clusterSession } from "../../harness/session.ts";
import { check, collector, deleteNamespace, networkStatus, nodesOf, podEvents, podStatusWord, readPod, readPool, waitAllocations, waitRunning, waitSandboxFailure } from "./lib.ts";

/**
 * nv-ipam static and per-node IP allocation (BEHAVIOURS.md NVIPAM), live: Multus thin v4.3.0 and
 * nv-ipam v0.4.0 from their pinned upstream manifests (images at the release tags, from the mirrors
 * or a bundle), the cluster's own nodenet as the primary CNI, an IPPool of 192.168.0.0/16 with
 * blocks of 100 for the nodes carrying a zone label (the workers), a macvlan
 * NetworkAttachmentDefinition on the nodes' eth0 with `capabilities.ips`, and agnhost pause pods on
 * that network. Every verdict comes from harness/oracles/nvipam.ts.
 */
const preflight = inject("suitePreflight");
const enabled = gateSuite(import.meta.filename, preflight.missing ?? (await nvipamMissing(loadConfig())));

const NS = "nc-nvipam";
const POOL = "nc-pool1";
const NET = "nc-macvlan";
/** how network-status names the attachment */
const NETWORK = `${NS}/${NET}`;
const SELECTOR = { nodeSelectorTerms: [{ matchExpressions: [{ key: "netconform.io/zone", operator: "Exists" as const }] }] };
const POOL_SPEC = { name: POOL, subnet: "192.168.0.0/16", perNodeBlockSize: 100, gateway: "192.168.0.1", exclusions: [{ startIP: "192.168.0.0", endIP: "192.168.0.10" }], nodeSelector: SELECTOR };
/** NVIPAM-03: inside the pool, inside the exclusion, and outside the block of the node it asks on */
const STATIC_IP = "192.168.0.5";
/** NVIPAM-04: in no pool */
const NO_POOL_IP = "10.10.10.10";
/** NVIPAM-05: asked for twice on one node, and once more on another node */
const TWICE_IP = "192.168.0.7";

describe("nv-ipam static IPs", () => {
  const s = clusterSession({ preflight, enabled, topology: "default", images: ["agnhost"] });
  let install: NvIpamInstall;
  let nodes: SelectableNode[];
  let selected: string[];
  const evidence = () => collector(s, NS);
  /** what each positive test judged, for its negative control: the same live evidence, a wrong expectation */
  const live: {
    n01?: { pool: IPPool; dynamic: PodAttachment[] };
    n03?: { pool: IPPool; pod: PodAttachment };
    n04?: { pool: IPPool; events: KubeEvent[]; podStatus: string };
    n05?: Parameters<typeof nvipam05>[0];
  } = {};
  /** a negative control: the verdict must be red, and its reasons must name what was changed */
  const expectRed = async (what: string, v: Verdict, names: RegExp) => {
    await attachText(`${v.id} verdict on ${what} (expected red)`, formatVerdict(v));
    expect(v.ok, `${what} should have turned ${v.id} red:\n${formatVerdict(v)}`).toBe(false);
    expect(v.reasons.join("\n")).toMatch(names);
  };
  const needs = <T,>(id: string, x: T | undefined): T => {
    if (!x) throw new Error(`${id} left no live evidence (its test failed first): nothing to run the negative control on`);
    return x;
  };
  /** raw live evidence, kept in the run's directory for the oracles' fixtures */
  const record = (name: string, text: string) => {
    const dir = join(s.run.dir, "nvipam-recorded");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, name), text);
  };

  beforeAll(async () => {
    if (!enabled) return;
    install = await ensureNvIpam(s.kube, s.run.config, s.mirrors);
    nodes = await nodesOf(s);
    selected = nodes.filter((n) => nodeMatches(SELECTOR, n)).map((n) => n.name).sort();
    await apply(s.kube, `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${NS} }\n`);
    await apply(s.kube, ippoolYaml(POOL_SPEC));
    await apply(s.kube, macvlanNadYaml({ name: NET, namespace: NS, master: "eth0", pool: POOL }));
    await waitAllocations(s, POOL, selected);
  });
  afterAll(async () => {
    if (!enabled || !s.kube) return;
    await deleteNamespace(s, NS);
    await deleteObjects(s.kube, ippoolYaml(POOL_SPEC));
  });

  const pod = (name: string, node: string, ips?: string[]) => apply(s.kube, secondaryPodYaml({ name, namespace: NS, node, network: NET, image: s.image("agnhost"), ...(ips ? { ips } : {}) }));
  const attachmentOf = async (name: string): Promise<PodAttachment> => {
    const p = await waitRunning(s, NS, name);
    record(`${name}.network-status`, p.metadata!.annotations!["k8s.v1.cni.cncf.io/network-status"]!);
    const status = networkStatus(p)!;
    return { pod: name, node: p.spec!.nodeName!, status };
  };
  /** one pod without a static request on each selected node (NVIPAM-01 and -02 share them) */
  let dynamic: Promise<PodAttachment[]> | undefined;
  const dynamicPods = () =>
    (dynamic ??= (async () => {
      for (const n of selected) await pod(`dyn-${n}`, n);
      return Promise.all(selected.map((n) => attachmentOf(`dyn-${n}`)));
    })());
  const block = (pool: IPPool, node: string) => pool.status?.allocations.find((a) => a.nodeName === node);
  const inBlock = (pool: IPPool, node: string, ip: string) => {
    const b = block(pool, node);
    const v = (x: string) => x.split(".").reduce((a, o) => a * 256 + Number(o), 0);
    return !!b && v(ip) >= v(b.startIP) && v(ip) <= v(b.endIP);
  };
  const poolNow = async () => {
    const { pool, raw } = await readPool(s, POOL);
    await attachText("IPPool (API)", raw, "application/json");
    record("ippool.json", raw);
    return pool;
  };

  it("NVIPAM-01 each selected node gets one disjoint block of perNodeBlockSize inside the subnet (status.allocations); unselected nodes none", async () => {
    await behaviour("NVIPAM-01", "L");
    if (install) await attachJson("multus + nv-ipam install", install);
    await withEvidence("NVIPAM-01 IPPool allocations", evidence(), async () => {
      const dyn = await dynamicPods();
      const pool = await poolNow();
      record("nodes.json", JSON.stringify(nodes, null, 1));
      live.n01 = { pool, dynamic: dyn };
      await check(nvipam01({ pool, nodes, network: NETWORK, dynamic: dyn }));
    });
  });

  it("NVIPAM-02 a pod on the secondary network gets its address from its own node's block (network-status)", async () => {
    await behaviour("NVIPAM-02", "L");
    await withEvidence("NVIPAM-02 dynamic addresses", evidence(), async () => {
      const dyn = await dynamicPods();
      await attachJson("network-status", dyn);
      await check(nvipam02({ pool: await poolNow(), network: NETWORK, pods: dyn }));
    });
  });

  it(`NVIPAM-03 a static IP inside the pool (${STATIC_IP}: an exclusion, outside the node's block) is granted as asked`, async () => {
    await behaviour("NVIPAM-03", "L");
    await withEvidence("NVIPAM-03 static IP in the pool", evidence(), async () => {
      const pool = await poolNow();
      const node = selected.find((n) => !inBlock(pool, n, STATIC_IP));
      if (!node) throw new Error(`every selected node's block holds ${STATIC_IP}: no node to ask on outside its block (${JSON.stringify(pool.status?.allocations)})`);
      await pod("static-in-pool", node, [STATIC_IP]);
      const got = await attachmentOf("static-in-pool");
      await attachJson("network-status", got);
      live.n03 = { pool, pod: got };
      await check(nvipam03({ pool, network: NETWORK, pod: got, requested: [STATIC_IP] }));
    });
  });

  it(`NVIPAM-04 a static IP in no pool (${NO_POOL_IP}): the pod never runs; FailedCreatePodSandBox names "has no matching Pool"`, async () => {
    await behaviour("NVIPAM-04", "L");
    await withEvidence("NVIPAM-04 static IP in no pool", evidence(), async () => {
      const pool = await poolNow();
      await pod("static-no-pool", selected[0]!, [NO_POOL_IP]);
      const { events, raw } = await waitSandboxFailure(s, NS, "static-no-pool");
      const p = await readPod(s, NS, "static-no-pool");
      await attachText("static-no-pool events (API, through the events parser)", raw, "application/json");
      record("static-no-pool.events.json", raw);
      record("static-no-pool.pod.json", JSON.stringify({ phase: p.status?.phase, status: podStatusWord(p), containerStatuses: p.status?.containerStatuses ?? [] }, null, 1));
      live.n04 = { pool, events, podStatus: podStatusWord(p) };
      await check(nvipam04({ pools: [pool], pod: "static-no-pool", ip: NO_POOL_IP, events, podStatus: podStatusWord(p) }));
    });
  });

  it(`NVIPAM-05 the same static IP (${TWICE_IP}) twice on one node: the second pod is refused; across nodes measured`, async () => {
    await behaviour("NVIPAM-05", "L");
    await withEvidence("NVIPAM-05 one static IP asked for twice", evidence(), async () => {
      const [here, there] = selected as [string, string];
      await pod("twice-first", here, [TWICE_IP]);
      const first = await attachmentOf("twice-first");
      await pod("twice-second", here, [TWICE_IP]);
      await pod("twice-other-node", there, [TWICE_IP]);
      const refused = await waitSandboxFailure(s, NS, "twice-second");
      const second = await readPod(s, NS, "twice-second");
      record("twice-second.events.json", refused.raw);
      await attachText("twice-second events (API)", refused.raw, "application/json");
      // across nodes: the outcome is measured and reported, not asserted (nv-ipam keeps static
      // reservations in each node's own store)
      let across: { outcome: "granted" | "refused"; detail: string } | undefined;
      await waitFor(`twice-other-node on ${there} to run or be refused`, async () => {
        const p = await readPod(s, NS, "twice-other-node");
        const st = networkStatus(p);
        const evs: KubeEvent[] = (await podEvents(s, NS, "twice-other-node")).events;
        const failed = evs.find((e) => e.reason === "FailedCreatePodSandBox");
        if (st && p.status?.phase === "Running") across = { outcome: "granted", detail: `running with ${JSON.stringify(st.find((e) => e.name === NETWORK)?.ips)}` };
        else if (failed) across = { outcome: "refused", detail: failed.message };
        return { done: !!across, detail: across?.detail ?? `phase ${p.status?.phase}` };
      }, { timeoutName: "podReady", config: s.run.config });
      await attachJson(`across nodes (measured): ${TWICE_IP} asked on ${here} and on ${there}`, across);
      record("twice-across-nodes.json", JSON.stringify(across, null, 1));
      process.stderr.write(`NVIPAM-05 across nodes: ${TWICE_IP} held by twice-first on ${here}; twice-other-node on ${there}: ${across!.outcome} (${across!.detail.slice(0, 300)})\n`);
      live.n05 = { network: NETWORK, ip: TWICE_IP, first, second: { pod: "twice-second", node: here, ...(networkStatus(second) ? { status: networkStatus(second)! } : {}), events: refused.events, podStatus: podStatusWord(second) } };
      await check(nvipam05(live.n05));
    });
  });

  // --- negative controls: each oracle on the live evidence above, with one expectation made wrong ---

  it("NVIPAM-01 negative control: the live pool with the second block moved onto the first (overlap, wrong size) turns the verdict red", async () => {
    await behaviour("NVIPAM-01", "L");
    const l = needs("NVIPAM-01", live.n01);
    const allocs = l.pool.status?.allocations ?? [];
    if (allocs.length < 2) throw new Error(`the live pool has ${allocs.length} block(s): the control needs two`);
    const [a, b] = allocs as [typeof allocs[0], typeof allocs[0]];
    const moved = { ...l.pool, status: { ...l.pool.status, allocations: [a, { ...b, startIP: a.startIP, endIP: b.endIP }, ...allocs.slice(2)] } };
    await expectRed(`the live pool with ${b.nodeName}'s block starting at ${a.startIP}`, nvipam01({ pool: moved, nodes, network: NETWORK, dynamic: l.dynamic }), new RegExp(`overlaps|not perNodeBlockSize`));
  });

  it("NVIPAM-02 negative control: the live pods judged as if each ran on the other selected node turns the verdict red", async () => {
    await behaviour("NVIPAM-02", "L");
    const l = needs("NVIPAM-02", live.n01);
    const swapped = l.dynamic.map((p) => ({ ...p, node: selected.find((n) => n !== p.node) ?? p.node }));
    await expectRed("the live pods with their nodes swapped", nvipam02({ pool: l.pool, network: NETWORK, pods: swapped }), /outside its node's block/);
  });

  it("NVIPAM-03 negative control: the live static pod judged as if it had asked for 192.168.0.6 turns the verdict red", async () => {
    await behaviour("NVIPAM-03", "L");
    const l = needs("NVIPAM-03", live.n03);
    await expectRed("the live pod and a request of 192.168.0.6", nvipam03({ pool: l.pool, network: NETWORK, pod: l.pod, requested: ["192.168.0.6"] }), /asked for 192\.168\.0\.6/);
  });

  it(`NVIPAM-04 negative control: the live refusal judged as if the pod had asked for 10.10.10.11 turns the verdict red, quoting what the real event said`, async () => {
    await behaviour("NVIPAM-04", "L");
    const l = needs("NVIPAM-04", live.n04);
    await expectRed("the live events and an expected 10.10.10.11", nvipam04({ pools: [l.pool], pod: "static-no-pool", ip: "10.10.10.11", events: l.events, podStatus: l.podStatus }), new RegExp(`says instead: .*ip ${NO_POOL_IP.replace(/\./g, "\\.")} has no matching Pool`));
  });

  it(`NVIPAM-05 negative control: the live pair judged for another IP (192.168.0.8) turns the verdict red`, async () => {
    await behaviour("NVIPAM-05", "L");
    const l = needs("NVIPAM-05", live.n05);
    await expectRed("the live pods and 192.168.0.8", nvipam05({ ...l, ip: "192.168.0.8" }), /does not hold 192\.168\.0\.8/);
  });
});

