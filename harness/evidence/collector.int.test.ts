import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { LABEL_RUN, listByLabel, removeContainer, runContainer } from "../adapters/docker.ts";
import { ContainerExecutor } from "../exec/host.ts";
import { behaviour } from "../report/allure.ts";
import { testRun } from "../testing/run.ts";
import { type Bundle, collectEvidence, evidenceOf, withEvidence } from "./collector.ts";

const run = testRun("evidence");
const box = `${run.id}-box`;
const marker = `nc-evidence-${run.id}`;
let exec: ContainerExecutor;

/** the Allure attachments the running test has sent so far (allure-vitest keeps them in the task's meta) */
function attachmentsOf(meta: object): Array<{ name: string; content: string }> {
  const msgs = (meta as { allureRuntimeMessages?: Array<{ type: string; data: Record<string, unknown> }> }).allureRuntimeMessages ?? [];
  return msgs
    .filter((m) => m.type === "attachment_content")
    .map((m) => ({ name: String(m.data.name), content: Buffer.from(String(m.data.content), (m.data.encoding as BufferEncoding) ?? "utf8").toString("utf8") }));
}

describe("evidence bundle (real container, real netfilter)", () => {
  beforeAll(async () => {
    const image = inject("images").toolbox!;
    await runContainer({ name: box, image, labels: run.labels("evidence"), privileged: true, cmd: ["sleep", "infinity"] });
    run.defer(`container ${box}`, () => removeContainer(box));
    exec = new ContainerExecutor(box);
    await exec.run(["iptables", "-t", "nat", "-A", "PREROUTING", "-p", "tcp", "--dport", "8080", "-m", "comment", "--comment", marker, "-j", "DNAT", "--to-destination", "10.99.0.1:80"]);
  });

  afterAll(async () => {
    await run.teardown();
    const left = await listByLabel(LABEL_RUN, run.id);
    expect(left.containers).toEqual([]);
  });

  it("HARN-05 attaches the step's evidence before cleanup on failure", async ({ task }) => {
    await behaviour("HARN-05", "D");
    const original = new Error("deliberate failure: the VIP was never announced");
    let bundle: Bundle | undefined;
    let cleanedUpWith: number | undefined;
    const err = await withEvidence(
      "announce the VIP",
      async () => (bundle = await collectEvidence({ targets: [{ executor: exec, role: "frr", extras: ["ipvs", "ipsec"] }] })),
      async () => {
        throw original;
      },
    )
      .catch((e: unknown) => e)
      // the caller's cleanup runs after withEvidence returns: the bundle must already be there
      .finally(() => (cleanedUpWith = bundle?.items.length));
    expect(err).toBe(original);
    expect(evidenceOf(err)).toBe(bundle);
    expect(cleanedUpWith).toBeGreaterThan(0);

    const item = (name: string) => bundle!.items.find((i) => i.where === `container:${box}` && i.name === name);
    const ipt = item("iptables-save")!;
    expect(ipt.exitCode).toBe(0);
    expect(ipt.text).toMatch(new RegExp(`-A PREROUTING -p tcp -m tcp --dport 8080 -m comment --comment ${marker} -j DNAT --to-destination 10.99.0.1:80`));
    const route = item("ip-route")!;
    expect(route).toMatchObject({ exitCode: 0, command: "ip -j route", contentType: "application/json" });
    const routes = JSON.parse(route.text) as Array<{ dst: string; gateway?: string }>;
    expect(routes.some((r) => r.dst === "default" && r.gateway)).toBe(true);
    expect(JSON.parse(item("ip-addr")!.text).some((l: { ifname: string }) => l.ifname === "eth0")).toBe(true);
    expect(item("ip-neigh")!.exitCode).toBe(0);
    expect(item("conntrack")!.exitCode).toBe(0);
    // daemons that are not running: their tools' complaints are evidence, not a collection failure
    expect(item("bgp-summary")).toMatchObject({ command: "vtysh -c 'show bgp summary json'" });
    expect(item("bgp-summary")!.exitCode).not.toBe(0);
    expect(item("bfd-peers")).toBeDefined();
    expect(item("swanctl-sas")!.stderr).toMatch(/charon\.vici/);
    expect(item("ipvsadm")).toBeDefined();
    // the kernel's IPVS table is read even where ipvsadm is absent (here the host kernel has no IP_VS: a failed cat is evidence too)
    expect(item("proc-ip_vs")).toMatchObject({ command: "cat /proc/net/ip_vs" });

    // and it reached the report: one attachment per item, named "<where> <name>"
    const att = attachmentsOf(task.meta);
    const names = att.map((a) => a.name);
    for (const i of bundle!.items) expect(names).toContain(`${i.where} ${i.name}`);
    expect(att.find((a) => a.name === `container:${box} iptables-save`)!.content).toContain(marker);
    expect(names).toContain("evidence index");
  });

  it("HARN-05 records a missing tool and a failing collection as items, never masking the step's error", async ({ task }) => {
    await behaviour("HARN-05", "D");
    await exec.run(["mv", "/usr/sbin/conntrack", "/usr/sbin/conntrack.off"]);
    try {
      const b = await collectEvidence({ targets: [{ executor: exec }] });
      expect(b.items.find((i) => i.name === "conntrack")).toMatchObject({ text: "conntrack: not installed", exitCode: 126 });
      expect(b.items.find((i) => i.name === "iptables-save")!.text).toContain(marker);
    } finally {
      await exec.run(["mv", "/usr/sbin/conntrack.off", "/usr/sbin/conntrack"]);
    }

    // a target that has gone away (its container removed) and a collect() that throws
    const gone = new ContainerExecutor(`${run.id}-never-existed`);
    const b2 = await collectEvidence({ targets: [{ executor: gone }] });
    expect(b2.items).toHaveLength(5);
    expect(b2.items.every((i) => i.exitCode !== 0 && /No such container/i.test(i.text + (i.stderr ?? "")))).toBe(true);

    const original = new TypeError("the step's own error");
    const err = await withEvidence("a step whose collector breaks", async () => {
      throw new Error("collector exploded");
    }, async () => {
      throw original;
    }).catch((e: unknown) => e);
    expect(err).toBe(original);
    expect(evidenceOf(err)!.items[0]).toMatchObject({ name: "collection error", where: "harness", exitCode: -1 });
    expect(attachmentsOf(task.meta).some((a) => a.name === "harness collection error" && a.content.includes("collector exploded"))).toBe(true);
  });

  it("HARN-05 collects nothing and changes nothing when the step passes", async () => {
    await behaviour("HARN-05", "D");
    let collected = false;
    const v = await withEvidence("a passing step", async () => {
      collected = true;
      return collectEvidence({});
    }, async () => 42);
    expect(v).toBe(42);
    expect(collected).toBe(false);
  });
});
