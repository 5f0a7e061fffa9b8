import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { HostExecutor } from "../exec/host.ts";
import type { Executor } from "../exec/types.ts";
import { DEBIAN_MIRROR, cacheDir } from "../images/forge-lib.ts";

/**
 * The kernel lab's disk images, built once from Debian packages and cached by their inputs, as the
 * forge caches images (harness/images/forge-lib.ts): a userland (debootstrap minbase + the lab's
 * packages + its init and agent) keyed by the package list and the build files, and per kernel
 * package a bootable set (vmlinuz, initrd.img, root.raw) keyed by the userland's key, the kernel
 * package, build-kernel.sh and the guest's init and agent (harness/lab/guest). A second run with nothing changed finds both and does no work.
 *
 *   ~/.cache/netconform/lab/userland-<hash>/rootfs/
 *   ~/.cache/netconform/lab/kernel-<package>-<hash>/{vmlinuz,initrd.img,root.raw,kernel-version,kernel-package}
 */
export const LAB_DIR = import.meta.dirname;
export const SECURITY_MIRROR = process.env.NETCONFORM_DEBIAN_SECURITY_MIRROR ?? "http://deb.debian.org/debian-security";

/** What the guest carries besides minbase: the daemons and tools the lab's controls drive. */
export const LAB_PACKAGES = [
  "kmod", "procps", "iproute2", "iptables", "nftables", "conntrack", "ipvsadm", "keepalived",
  "strongswan-swanctl", "charon-systemd", "libcharon-extra-plugins", "lksctp-tools", "ncat",
  "nfs-kernel-server", "nfs-common", "python3", "iputils-ping", "socat", "tcpdump", "ethtool",
];

/** The kernels the lab boots by default: bookworm's 6.1 and the 6.12 of bookworm-security. */
export const LAB_KERNELS = ["linux-image-6.1.0-50-amd64", "linux-image-6.12.111+deb12-amd64"] as const;

const kernelPackage = z.string().regex(/^linux-image-[0-9][a-z0-9.+~-]*$/, "a Debian kernel package name such as linux-image-6.1.0-50-amd64");

/** NETCONFORM_LAB_KERNELS="pkg,pkg" overrides the kernels; each must name a linux-image package. */
export function labKernels(env: string | undefined = process.env.NETCONFORM_LAB_KERNELS): string[] {
  if (!env?.trim()) return [...LAB_KERNELS];
  return env.split(",").map((k) => k.trim()).filter(Boolean).map((k) => {
    const r = kernelPackage.safeParse(k);
    if (!r.success) throw new Error(`NETCONFORM_LAB_KERNELS: "${k}" is not ${r.error.issues[0]!.message}`);
    return r.data;
  });
}

/** the guest image's size; mkfs.ext4 -d fills it sparsely (about 1.3 GB used) */
export const ROOT_SIZE = "3G";

export function labCacheDir(): string {
  return cacheDir("lab");
}

const file = (p: string): Buffer => readFileSync(join(LAB_DIR, p));

export function userlandHash(packages: readonly string[] = LAB_PACKAGES): string {
  return createHash("sha256")
    .update(JSON.stringify({ suite: "bookworm", variant: "minbase", packages: [...packages].sort(), mirror: DEBIAN_MIRROR }))
    .update(file("build-userland.sh"))
    .digest("hex").slice(0, 16);
}

export function kernelHash(pkg: string, packages: readonly string[] = LAB_PACKAGES): string {
  return createHash("sha256")
    .update(userlandHash(packages)).update(`${pkg}\0${ROOT_SIZE}\0${SECURITY_MIRROR}\0`)
    .update(file("build-kernel.sh")).update(file("guest/nc-init")).update(file("guest/nc-agent"))
    .digest("hex").slice(0, 16);
}

export const labImageSchema = z.object({
  dir: z.string(),
  vmlinuz: z.string(),
  initrd: z.string(),
  root: z.string(),
  /** `uname -r` of the kernel, e.g. 6.1.0-50-amd64 */
  kernelVersion: z.string().min(1),
  /** "linux-image-6.1.0-50-amd64 6.1.176-1", from dpkg in the image */
  kernelPackage: z.string().min(1),
});
export type LabImage = z.infer<typeof labImageSchema>;

export interface LabBuildRecord { what: string; built: boolean; seconds: number }

function readImage(dir: string): LabImage | undefined {
  const need = ["vmlinuz", "initrd.img", "root.raw", "kernel-version", "kernel-package"];
  if (!need.every((n) => existsSync(join(dir, n)))) return undefined;
  return labImageSchema.parse({
    dir,
    vmlinuz: join(dir, "vmlinuz"),
    initrd: join(dir, "initrd.img"),
    root: join(dir, "root.raw"),
    kernelVersion: readFileSync(join(dir, "kernel-version"), "utf8").trim(),
    kernelPackage: readFileSync(join(dir, "kernel-package"), "utf8").trim(),
  });
}

/** heavy work runs niced: the lab shares its machine (NETCONFORM_LAB_NICE, default 19; 0 = not niced) */
export function niced(argv: string[]): string[] {
  const n = Number(process.env.NETCONFORM_LAB_NICE ?? "19");
  if (!Number.isInteger(n) || n < 0 || n > 19) throw new Error(`NETCONFORM_LAB_NICE: "${process.env.NETCONFORM_LAB_NICE}" is not an integer 0..19`);
  return n === 0 ? argv : ["nice", "-n", String(n), "ionice", "-c3", ...argv];
}

async function buildInto(final: string, what: string, build: (tmp: string) => Promise<void>, log: (m: string) => void, records?: LabBuildRecord[]): Promise<void> {
  const t0 = Date.now();
  const tmp = `${final}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  log(`building ${what} in ${final}`);
  try {
    await build(tmp);
    renameSync(tmp, final);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const seconds = (Date.now() - t0) / 1000;
  records?.push({ what, built: true, seconds });
  log(`built ${what} in ${seconds.toFixed(0)} s`);
}

/** Remove `<name>.tmp-<pid>` build folders whose builder process is gone (a build killed mid-way). */
export function removeStaleBuilds(root: string): string[] {
  const removed: string[] = [];
  for (const n of readdirSync(root)) {
    const pid = Number(/\.tmp-(\d+)$/.exec(n)?.[1]);
    if (!pid || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
      continue; // its builder still runs
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EPERM") continue;
    }
    rmSync(join(root, n), { recursive: true, force: true });
    removed.push(n);
  }
  return removed;
}

/** The lab's userland directory (its rootfs inside), built by debootstrap when missing. */
export async function ensureUserland(
  opts: { exec?: Executor; log?: (m: string) => void; records?: LabBuildRecord[]; packages?: readonly string[] } = {},
): Promise<string> {
  const exec = opts.exec ?? new HostExecutor({ DEBIAN_FRONTEND: "noninteractive", PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" });
  const log = opts.log ?? ((m: string) => process.stderr.write(`lab: ${m}\n`));
  const packages = opts.packages ?? LAB_PACKAGES;
  const root = labCacheDir();
  mkdirSync(root, { recursive: true });
  const udir = join(root, `userland-${userlandHash(packages)}`);
  if (!existsSync(join(udir, "rootfs", "usr", "sbin", "policy-rc.d"))) {
    rmSync(udir, { recursive: true, force: true });
    await buildInto(udir, `userland (debootstrap bookworm + ${packages.length} packages)`, (tmp) =>
      exec.run(niced(["sh", join(LAB_DIR, "build-userland.sh"), tmp, packages.join(","), DEBIAN_MIRROR]), { timeoutMs: 3_600_000 }).then(() => undefined), log, opts.records);
  }
  return udir;
}

/** The bootable image for one kernel package: built (userland first) when missing, else found. */
export async function ensureLabImage(
  pkg: string,
  opts: { exec?: Executor; log?: (m: string) => void; records?: LabBuildRecord[]; packages?: readonly string[] } = {},
): Promise<LabImage> {
  const kpkg = kernelPackage.parse(pkg);
  const exec = opts.exec ?? new HostExecutor({ DEBIAN_FRONTEND: "noninteractive", PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" });
  const log = opts.log ?? ((m: string) => process.stderr.write(`lab: ${m}\n`));
  const packages = opts.packages ?? LAB_PACKAGES;
  const root = labCacheDir();
  mkdirSync(root, { recursive: true });
  removeStaleBuilds(root);
  const kdir = join(root, `kernel-${kpkg}-${kernelHash(kpkg, packages)}`);
  const found = readImage(kdir);
  if (found) {
    opts.records?.push({ what: `image ${kpkg}`, built: false, seconds: 0 });
    return found;
  }
  const udir = await ensureUserland({ ...opts, exec, log, packages });
  await buildInto(kdir, `image ${kpkg}`, (tmp) =>
    exec.run(niced(["sh", join(LAB_DIR, "build-kernel.sh"), udir, tmp, kpkg, DEBIAN_MIRROR, SECURITY_MIRROR, ROOT_SIZE, join(LAB_DIR, "guest")]), { timeoutMs: 3_600_000 }).then(() => undefined), log, opts.records);
  const img = readImage(kdir);
  if (!img) throw new Error(`lab: the build of ${kpkg} left no complete image in ${kdir}`);
  writeFileSync(join(kdir, "inputs.json"), JSON.stringify({ kernel: kpkg, packages, userland: userlandHash(packages) }, null, 2));
  return img;
}
