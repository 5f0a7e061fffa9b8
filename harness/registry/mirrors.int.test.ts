import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HostExecutor } from "../exec/host.ts";
import { behaviour } from "../report/allure.ts";
import { footprint, leftOf } from "../testing/footprint.ts";
import { probeImage } from "../testing/probe-image.ts";
import { tearDownLeavingNothing, testRun } from "../testing/run.ts";
import { type Mirrors, ensureMirrors, pushImage, writeHostsDir } from "./mirrors.ts";

const run = testRun("mirror");
const host = new HostExecutor();
let probeTag: string;
const ctrNs = `netconform-${run.id}`;
// the containerd this machine runs: a system one, or the one dockerd manages
const sock = ["/run/containerd/containerd.sock", "/var/run/docker/containerd/containerd.sock"].find((p) => existsSync(p));
const ctr = (...args: string[]) => {
  if (!sock) throw new Error("preflight: no containerd socket (/run/containerd/containerd.sock or dockerd's) to test the resolver with");
  return ["ctr", "--address", sock, "-n", ctrNs, ...args];
};
let mirrors: Mirrors;
let hostsDir: string;

describe("registry mirrors (real registry containers, real containerd resolver)", () => {
  beforeAll(async () => {
    // a tiny image of our own (one file, imported, labelled with the run: its teardown removes it)
    probeTag = await probeImage(run, "mirror-probe");
    mirrors = await ensureMirrors(run, { network: `${run.id}-net`, hosts: ["registry.k8s.io", "docker.io"], prefix: `${run.id}-`, scope: "run" });
    // the host reaches the mirrors on 127.0.0.1; nodes would use the container names
    hostsDir = writeHostsDir(mkdtempSync(join(tmpdir(), "nc-certs.d-")), mirrors, (m) => `http://${m.fromHost}`);
  });

  afterAll(async () => {
    await host.run(ctr("images", "rm", "registry.k8s.io/netconform/probe:1"), { allowFailure: true });
    await host.run(ctr("namespaces", "rm", ctrNs), { allowFailure: true });
    const seen = await footprint(run.id);
    await tearDownLeavingNothing(run);
    // the data volumes too (they were once left behind: unlabelled, kept), and the probe image
    expect(seen.volumes.filter((v) => v.endsWith("-data")).length, "the run's mirror data volumes were seen").toBe(2);
    expect(seen.images).toEqual([probeTag]);
    expect(await leftOf(run.id, seen)).toEqual([]);
  });

  it("HARN-02 publishes every mirror on 127.0.0.1 only", async () => {
    await behaviour("HARN-02", "D");
    for (const m of mirrors.byHost.values()) {
      const r = await host.run(["docker", "port", m.container, "5000/tcp"]);
      expect(r.stdout.trim().split("\n")).toEqual([m.fromHost]);
      expect(m.fromHost).toMatch(/^127\.0\.0\.1:\d+$/);
    }
  });

  it("HARN-02 serves a pushed image under its upstream name through a strict hosts.toml", async () => {
    await behaviour("HARN-02", "D");
    const digest = await pushImage(probeTag, "registry.k8s.io/netconform/probe:1", mirrors);
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    // containerd's own resolver (ctr --hosts-dir reads hosts.toml exactly as the CRI plugin does)
    const r = await host.run(ctr("images", "pull", "--hosts-dir", hostsDir, "registry.k8s.io/netconform/probe:1"), { timeoutMs: 60_000 });
    expect(r.stdout + r.stderr).toMatch(/done|elapsed/);
    const ls = await host.run(ctr("images", "ls", "-q"));
    expect(ls.stdout).toContain("registry.k8s.io/netconform/probe:1");
  });

  it("HARN-02 strict mode: an image the mirror lacks fails at the mirror, never at the upstream (negative control)", async () => {
    await behaviour("HARN-02", "D");
    const r = await host.run(ctr("images", "pull", "--hosts-dir", hostsDir, "registry.k8s.io/netconform/absent:1"), { allowFailure: true, timeoutMs: 60_000 });
    expect(r.exitCode).not.toBe(0);
    const mirror = mirrors.byHost.get("registry.k8s.io")!;
    expect(r.stderr).toContain(mirror.fromHost);
    expect(r.stderr).not.toMatch(/https:\/\/registry\.k8s\.io/);
  });

  it("HARN-02 refuses to push into a host that has no mirror, naming the host", async () => {
    await behaviour("HARN-02", "D");
    await expect(pushImage(probeTag, "quay.io/netconform/probe:1", mirrors)).rejects.toThrow(/no mirror for quay\.io/);
  });
});
