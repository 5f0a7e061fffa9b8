import { existsSync, readFileSync } from "node:fs";
import { HostExecutor } from "../exec/host.ts";
import type { Executor } from "../exec/types.ts";

/**
 * The host programs the project runs itself (outside containers), with the Debian package that
 * brings each. Everything else runs inside images the forge builds. On a Debian/Ubuntu host as root
 * the missing packages are installed (saying so); elsewhere the preflight stops with one line naming
 * what to install. Measured: a fresh machine of this workplace lacks debootstrap, and the forge died
 * on `spawn debootstrap ENOENT` 7 ms in.
 */
export interface HostTool {
  /** the command looked up on PATH */
  cmd: string;
  /** Debian/Ubuntu package that provides it */
  debian: string;
  /** what the project uses it for, for the message */
  why: string;
}

export const FORGE_TOOLS: HostTool[] = [
  { cmd: "debootstrap", debian: "debootstrap", why: "builds the Debian root filesystems of the forged images" },
  { cmd: "gcc", debian: "gcc", why: "compiles the pause binary (static)" },
  { cmd: "strip", debian: "binutils", why: "strips the pause binary" },
  { cmd: "tar", debian: "tar", why: "streams root filesystems into docker import" },
  { cmd: "git", debian: "git", why: "lets the Go toolchain read module versions" },
];

/**
 * What the kernel lab (harness/lab) needs on the host: it builds a Debian root filesystem image
 * (debootstrap, mkfs.ext4 -d) and boots it under QEMU with a per-run qcow2 overlay (qemu-img).
 * Measured: this workplace's machines lack qemu-system-x86 and qemu-utils.
 */
export const LAB_TOOLS: HostTool[] = [
  { cmd: "qemu-system-x86_64", debian: "qemu-system-x86", why: "boots the kernel lab's Debian kernels (TCG)" },
  { cmd: "qemu-img", debian: "qemu-utils", why: "creates the kernel lab's per-run qcow2 overlays" },
  { cmd: "mkfs.ext4", debian: "e2fsprogs", why: "turns the kernel lab's root directory into a disk image (mkfs.ext4 -d)" },
  { cmd: "debootstrap", debian: "debootstrap", why: "builds the kernel lab's Debian root filesystem" },
];

/** A static pause binary needs libc.a, which gcc alone does not bring. */
export const FORGE_FILES: Array<{ path: string; debian: string; why: string }> = [
  { path: "/usr/lib/x86_64-linux-gnu/libc.a", debian: "libc6-dev", why: "static C library for the pause binary" },
];

/** The Go toolchain the forge's modules need (the `go` directive of harness/images/go/<x>/go.mod). */
export const GO_MIN = "1.24";
const GO_DIRS = ["/usr/local/go/bin", "/usr/lib/go/bin"];

export interface Missing { what: string; debian?: string; why: string }

async function onPath(exec: Executor, cmd: string): Promise<boolean> {
  const r = await exec.run(["sh", "-c", `command -v ${cmd}`], { allowFailure: true });
  return r.exitCode === 0;
}

/** Compare dotted versions: is `have` at least `want`? */
export function versionAtLeast(have: string, want: string): boolean {
  const a = have.split(".").map((x) => Number.parseInt(x, 10) || 0);
  const b = want.split(".").map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  }
  return true;
}

/** `go version` output → "1.26.8", or undefined. */
export function parseGoVersion(out: string): string | undefined {
  return /\bgo(\d+\.\d+(?:\.\d+)?)\b/.exec(out)?.[1];
}

export async function goMissing(exec: Executor = new HostExecutor()): Promise<Missing | undefined> {
  const path = [process.env.PATH ?? "", ...GO_DIRS].join(":");
  const r = await exec.run(["sh", "-c", `PATH=${path} go version`], { allowFailure: true });
  const v = r.exitCode === 0 ? parseGoVersion(r.stdout) : undefined;
  if (!v) return { what: "go", why: `the Go toolchain (>= ${GO_MIN}) builds kind, Kubernetes, etcd, CoreDNS and MetalLB from their pinned modules; install it from go.dev/dl into /usr/local/go (Debian's golang-go is too old)` };
  if (!versionAtLeast(v, GO_MIN)) return { what: `go ${v}`, why: `the forge's modules need Go >= ${GO_MIN}; install a newer toolchain from go.dev/dl into /usr/local/go` };
  return undefined;
}

/** What of `tools`/`files` this host lacks (Go checked separately). */
export async function missingHostTools(tools: HostTool[], files = FORGE_FILES, exec: Executor = new HostExecutor()): Promise<Missing[]> {
  const out: Missing[] = [];
  for (const t of tools) if (!(await onPath(exec, t.cmd))) out.push({ what: t.cmd, debian: t.debian, why: t.why });
  for (const f of files) if (!existsSync(f.path)) out.push({ what: f.path, debian: f.debian, why: f.why });
  return out;
}

export function isDebianLike(osRelease: string): boolean {
  const id = /^ID=("?)([^"\n]*)\1$/m.exec(osRelease)?.[2] ?? "";
  const like = /^ID_LIKE=("?)([^"\n]*)\1$/m.exec(osRelease)?.[2] ?? "";
  return [id, ...like.split(/\s+/)].some((x) => x === "debian" || x === "ubuntu");
}

/** One line a person can act on. */
export function installHint(missing: Missing[]): string {
  const pkgs = [...new Set(missing.flatMap((m) => (m.debian ? [m.debian] : [])))];
  const parts = missing.map((m) => `${m.what} (${m.why})`);
  const cmd = pkgs.length ? `; install with: apt-get install -y ${pkgs.join(" ")}` : "";
  return `missing on this host: ${parts.join("; ")}${cmd}`;
}

export class HostToolsMissing extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HostToolsMissing";
  }
}

/**
 * Make sure the host has `tools` (and, with `go`, the Go toolchain). Missing Debian packages are
 * installed when this is a Debian/Ubuntu host and we are root (NETCONFORM_NO_INSTALL=1 forbids it);
 * otherwise, or when the install fails, throws HostToolsMissing with one line naming the packages.
 */
export async function ensureHostTools(
  tools: HostTool[],
  opts: { go?: boolean; files?: typeof FORGE_FILES; exec?: Executor; say?: (m: string) => void } = {},
): Promise<void> {
  const exec = opts.exec ?? new HostExecutor();
  const say = opts.say ?? ((m: string) => process.stderr.write(`preflight: ${m}\n`));
  const files = opts.files ?? FORGE_FILES;
  let missing = await missingHostTools(tools, files, exec);
  const installable = missing.filter((m) => m.debian);
  const osRelease = existsSync("/etc/os-release") ? readFileSync("/etc/os-release", "utf8") : "";
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  if (installable.length && isDebianLike(osRelease) && root && process.env.NETCONFORM_NO_INSTALL !== "1") {
    const pkgs = [...new Set(installable.map((m) => m.debian!))];
    say(`installing Debian packages the project needs: ${pkgs.join(" ")} (for ${installable.map((m) => m.what).join(", ")})`);
    const apt = opts.exec ?? new HostExecutor({ DEBIAN_FRONTEND: "noninteractive" });
    const upd = await apt.run(["apt-get", "update", "-qq"], { allowFailure: true, timeoutMs: 600_000 });
    const inst = upd.exitCode === 0
      ? await apt.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", ...pkgs], { allowFailure: true, timeoutMs: 1_200_000 })
      : upd;
    if (inst.exitCode !== 0) say(`apt-get failed (exit ${inst.exitCode}): ${inst.stderr.trim().split("\n").slice(-2).join(" / ")}`);
    missing = await missingHostTools(tools, files, exec);
    if (!missing.length) say(`installed ${pkgs.join(" ")}`);
  }
  if (opts.go) {
    const g = await goMissing(exec);
    if (g) missing.push(g);
  }
  if (missing.length) throw new HostToolsMissing(installHint(missing));
}
