import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { FeatureProbe } from "../preflight/kernel.ts";
import type { LabImage } from "./image.ts";
import { LAB_NEEDS, type LabHost, chooseTargets, hostLacks, labMode, labNeeds, targetTag } from "./targets.ts";

const img = (v: string): LabImage => ({ dir: "/x", vmlinuz: "/x/v", initrd: "/x/i", root: "/x/r", kernelVersion: v, kernelPackage: `linux-image-${v} 1` });
const images = [{ pkg: "linux-image-6.1.0-50-amd64", image: img("6.1.0-50-amd64") }, { pkg: "linux-image-6.12.111+deb12-amd64", image: img("6.12.111+deb12-amd64") }];
const probe = (feature: FeatureProbe["feature"], present: boolean, evidence = present ? "present" : "absent"): FeatureProbe => ({ feature, present, evidence });
/** a host like this one: no IP_VS, no SCTP; the direct target can run */
const thisHost: LabHost = { kernelVersion: "6.8.0-pvm", probes: [probe("IP_VS", false, "/proc/net/ip_vs absent"), probe("IP_SCTP", false, "/proc/sys/net/sctp absent"), probe("DUMMY", false)], directImage: "netconform/lab-userland:abc" };
/** a laptop with IPVS and SCTP loaded */
const laptop: LabHost = { kernelVersion: "6.12.9-amd64", probes: [probe("IP_VS", true), probe("IP_SCTP", true), probe("DUMMY", true)], directImage: "netconform/lab-userland:abc" };

describe("lab/targets: where a lab file runs", () => {
  it("NETCONFORM_LAB: auto by default, always, never; anything else names the variable", () => {
    expect(labMode(undefined)).toBe("auto");
    expect(labMode("")).toBe("auto");
    expect(labMode("always")).toBe("always");
    expect(labMode(" never ")).toBe("never");
    expect(() => labMode("yes")).toThrow('NETCONFORM_LAB: "yes" is not one of auto, always, never');
  });

  it("auto: a host lacking a needed feature sends the file to a VM per kernel, naming what it lacks", () => {
    const c = chooseTargets({ mode: "auto", host: thisHost, images }, ["IP_VS"]);
    expect(c.targets.map(targetTag)).toEqual(["[lab 6.1.0-50-amd64]", "[lab 6.12.111+deb12-amd64]"]);
    expect(c.missing).toBeUndefined();
    expect(c.why).toBe("host kernel 6.8.0-pvm lacks IP_VS (/proc/net/ip_vs absent)");
  });

  it("auto: a host with every needed feature runs the file directly, on its own kernel, and boots no VM", () => {
    const c = chooseTargets({ mode: "auto", host: laptop, images }, ["IP_SCTP", "DUMMY"]);
    expect(c.targets).toEqual([{ kind: "host", kernelVersion: "6.12.9-amd64", image: "netconform/lab-userland:abc" }]);
    expect(c.targets.map(targetTag)).toEqual(["[host 6.12.9-amd64]"]);
  });

  it("auto: features present but no direct target (no docker) falls back to the VM, saying why", () => {
    const c = chooseTargets({ mode: "auto", host: { ...laptop, directImage: undefined, directMissing: "docker is not reachable" }, images }, ["IP_VS"]);
    expect(c.targets.map((t) => t.kind)).toEqual(["vm", "vm"]);
    expect(c.why).toContain("docker is not reachable");
  });

  it("always: the VM whatever the host has", () => {
    expect(chooseTargets({ mode: "always", host: laptop, images }, ["IP_VS"]).targets.map((t) => t.kind)).toEqual(["vm", "vm"]);
  });

  it("never: the host when it has the features, else no target and a reason naming the mode and the lacking feature", () => {
    expect(chooseTargets({ mode: "never", host: laptop, images }, ["IP_VS"]).targets.map((t) => t.kind)).toEqual(["host"]);
    const c = chooseTargets({ mode: "never", host: thisHost, images }, ["IP_SCTP", "DUMMY"]);
    expect(c.targets).toEqual([]);
    expect(c.missing).toBe("NETCONFORM_LAB=never, and host kernel 6.8.0-pvm lacks IP_SCTP (/proc/sys/net/sctp absent), DUMMY (absent)");
  });

  it("a VM that cannot run here (no qemu) is the file's missing prerequisite", () => {
    const c = chooseTargets({ mode: "auto", host: thisHost, images: images.map(({ pkg }) => ({ pkg })), vmMissing: "qemu-system-x86_64 missing: not root" }, ["IP_VS"]);
    expect(c.missing).toBe("qemu-system-x86_64 missing: not root");
    expect(c.targets.map(targetTag)).toEqual(["[lab linux-image-6.1.0-50-amd64]", "[lab linux-image-6.12.111+deb12-amd64]"]);
  });

  it("a feature the probe did not cover counts as lacking", () => {
    expect(hostLacks(thisHost, ["NFS"])).toBe("host kernel 6.8.0-pvm lacks NFS (not probed)");
    expect(hostLacks(undefined, ["NFS"])).toBe("the host kernel was not probed");
    expect(hostLacks(thisHost, [])).toBeUndefined();
  });

  it("every lab control file says which kernel features it needs (the direct target's and the VM's own checks are not controls)", () => {
    const files = readdirSync(import.meta.dirname).filter((f) => f.endsWith(".lab.test.ts") && !["direct.lab.test.ts", "vm.lab.test.ts"].includes(f) && !f.startsWith("scratch"));
    for (const f of files) expect(() => labNeeds(f), f).not.toThrow();
    expect(() => labNeeds("new.lab.test.ts")).toThrow("new.lab.test.ts is not in LAB_NEEDS (harness/lab/targets.ts): say which kernel features it needs");
    expect(Object.keys(LAB_NEEDS).length).toBeGreaterThanOrEqual(files.length);
  });
});
