import { describe, expect, it } from "vitest";
import { LAB_TOOLS } from "../preflight/host-tools.ts";
import { LAB_KERNELS, kernelHash, labKernels, niced, userlandHash } from "./image.ts";

describe("lab/image: inputs and cache keys", () => {
  it("defaults to bookworm's 6.1 and bookworm-security's 6.12; NETCONFORM_LAB_KERNELS overrides, naming a bad entry", () => {
    expect(labKernels(undefined)).toEqual([...LAB_KERNELS]);
    expect(labKernels(" linux-image-6.1.0-50-amd64 , ")).toEqual(["linux-image-6.1.0-50-amd64"]);
    expect(() => labKernels("linux-image-6.1.0-50-amd64,6.12")).toThrow(/^NETCONFORM_LAB_KERNELS: "6\.12" is not a Debian kernel package name/);
    expect(() => labKernels("linux-image-6.1; rm -rf /")).toThrow(/NETCONFORM_LAB_KERNELS/);
  });

  it("keys the userland by its packages (order-free) and each image by its kernel too", () => {
    expect(userlandHash(["a", "b"])).toBe(userlandHash(["b", "a"]));
    expect(userlandHash(["a", "b"])).not.toBe(userlandHash(["a", "c"]));
    expect(kernelHash(LAB_KERNELS[0])).toMatch(/^[0-9a-f]{16}$/);
    expect(kernelHash(LAB_KERNELS[0])).not.toBe(kernelHash(LAB_KERNELS[1]));
    expect(kernelHash(LAB_KERNELS[0], ["a"])).not.toBe(kernelHash(LAB_KERNELS[0], ["b"]));
  });

  it("runs heavy work niced unless NETCONFORM_LAB_NICE=0; a bad value is named", () => {
    const old = process.env.NETCONFORM_LAB_NICE;
    try {
      delete process.env.NETCONFORM_LAB_NICE;
      expect(niced(["qemu-img"])).toEqual(["nice", "-n", "19", "ionice", "-c3", "qemu-img"]);
      process.env.NETCONFORM_LAB_NICE = "0";
      expect(niced(["qemu-img"])).toEqual(["qemu-img"]);
      process.env.NETCONFORM_LAB_NICE = "high";
      expect(() => niced(["qemu-img"])).toThrow(/NETCONFORM_LAB_NICE: "high"/);
    } finally {
      if (old === undefined) delete process.env.NETCONFORM_LAB_NICE;
      else process.env.NETCONFORM_LAB_NICE = old;
    }
  });

  it("names the Debian package of every host tool the lab needs", () => {
    expect(LAB_TOOLS.map((t) => `${t.cmd}:${t.debian}`)).toEqual(["qemu-system-x86_64:qemu-system-x86", "qemu-img:qemu-utils", "mkfs.ext4:e2fsprogs", "debootstrap:debootstrap"]);
  });
});

describe("lab/image: stale build folders", () => {
  it("removes the .tmp-<pid> folder of a builder that is gone and keeps a live one's and finished images", async () => {
    const { mkdtempSync, mkdirSync, readdirSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { removeStaleBuilds } = await import("./image.ts");
    const root = mkdtempSync(join(tmpdir(), "nc-lab-cache-"));
    try {
      // pid 2^22+1 is above Linux's pid_max limit: no such process
      for (const n of ["userland-abc.tmp-4194305", `kernel-x-def.tmp-${process.ppid}`, "kernel-x-def"]) mkdirSync(join(root, n));
      expect(removeStaleBuilds(root)).toEqual(["userland-abc.tmp-4194305"]);
      expect(readdirSync(root).sort()).toEqual(["kernel-x-def", `kernel-x-def.tmp-${process.ppid}`]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
