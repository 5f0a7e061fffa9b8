import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { HostExecutor } from "../exec/host.ts";
import type { Executor } from "../exec/types.ts";
import { CATALOGUE_DIR, type Catalogue, type ImageEntry, imageEntry, loadCatalogue } from "./catalogue.ts";
import { ensureImage, FORGE_LABEL, type ForgeRecord, forgeCacheDir, hashFiles, localTag, registerCustomStep } from "./forge-lib.ts";

/**
 * The node forge: binaries from pinned Go modules (harness/images/go), component images under
 * their upstream names, and a kind node image (harness/images/node) with those images preloaded
 * into its containerd. Registers three custom catalogue steps:
 *   go-binary  — image = binaries from go/build.sh copied FROM a catalogue image or FROM scratch
 *   pause      — registry.k8s.io/pause from the kubernetes module's build/pause/linux/pause.c
 *   kind-node  — docker build of node/ FROM node-base, then preload of the images it lists
 * Importing this module registers the steps; `ensureNodeImage()` builds everything missing.
 */
export const GO_DIR = join(CATALOGUE_DIR, "go");
export const NODE_DIR = join(CATALOGUE_DIR, "node");
/** The pinned k8s.io/kubernetes version: the one require of go/k8s/go.mod is the single source of truth. */
export const K8S_MODULE_VERSION = (() => {
  const m = /^\s*(?:require\s+)?k8s\.io\/kubernetes\s+(v\S+)/m.exec(readFileSync(join(GO_DIR, "k8s", "go.mod"), "utf8"));
  if (!m) throw new Error("go/k8s/go.mod does not require k8s.io/kubernetes");
  return m[1]!;
})();

export function forgeBinDir(): string {
  return process.env.FORGE_BIN ?? join(forgeCacheDir(), "bin");
}

let goVersionCache: string | undefined;
function goVersion(): string {
  goVersionCache ??= execFileSync("/usr/local/go/bin/go", ["version"], { encoding: "utf8" }).trim();
  return goVersionCache;
}

/**
 * go/build.sh's target → module directory table (`[target]="dir package ldflags"`), read from the
 * script itself so the two cannot disagree.
 */
let targetDirs: Map<string, string> | undefined;
export function binaryModuleDir(target: string): string {
  targetDirs ??= new Map([...readFileSync(join(GO_DIR, "build.sh"), "utf8").matchAll(/^\s*\[([\w.-]+)\]="(\S+) /gm)].map((m) => [m[1]!, m[2]!]));
  const d = targetDirs.get(target);
  if (!d) throw new Error(`forge: go/build.sh has no target "${target}" (known: ${[...targetDirs.keys()].join(", ")})`);
  return d;
}

/**
 * What a set of forge binaries depends on: the pinned module directories they are built from
 * (go.mod, go.sum, our own sources there), the build script and the Go toolchain. Per module
 * directory, so a change to one module rebuilds only the binaries and images made from it.
 */
export function goInputs(binaries: string[]): string {
  const dirs = [...new Set(binaries.map(binaryModuleDir))].sort();
  const h = createHash("sha256").update(readFileSync(join(GO_DIR, "build.sh"))).update(goVersion());
  for (const d of dirs) h.update(`${d}\0${hashFiles(join(GO_DIR, d))}\0`);
  return h.digest("hex");
}

/** This module writes the component Dockerfiles and runs the preload, so its text is an input of every step. */
let selfHash: string | undefined;
function forgeCodeInputs(): string {
  selfHash ??= createHash("sha256").update(readFileSync(fileURLToPath(import.meta.url))).digest("hex");
  return selfHash;
}

/** Host tools the harness runs from the forge's bin directory (kind; kubectl for debugging). */
export const HOST_TOOLS = ["kind", "kubectl"];
export async function ensureHostTools(opts: { exec?: Executor; log?: (m: string) => void } = {}): Promise<string> {
  return ensureBinaries(HOST_TOOLS, opts.exec ?? new HostExecutor(), opts.log ?? ((m) => process.stderr.write(`forge: ${m}\n`)));
}

/** Build (with go/build.sh) every binary in `names` whose cached copy was built from other inputs. */
export async function ensureBinaries(names: string[], exec: Executor, log: (m: string) => void): Promise<string> {
  const dir = forgeBinDir();
  mkdirSync(dir, { recursive: true });
  const want = (n: string) => goInputs([n]);
  const stale = names.filter((n) => !existsSync(join(dir, n)) || !existsSync(join(dir, `.${n}.inputs`)) || readFileSync(join(dir, `.${n}.inputs`), "utf8") !== want(n));
  if (stale.length) {
    log(`building binaries: ${stale.join(" ")}`);
    const r = await exec.run([join(GO_DIR, "build.sh"), ...stale], { timeoutMs: 3_600_000 });
    for (const line of r.stderr.split("\n")) if (line.startsWith("BUILT ")) log(line);
    for (const n of stale) writeFileSync(join(dir, `.${n}.inputs`), want(n));
  }
  return dir;
}

const GoBinaryInputs = z.object({
  /** targets of go/build.sh */
  binaries: z.array(z.string()).min(1),
  /** where the binaries go in the image */
  dir: z.string().default("/usr/local/bin"),
  entrypoint: z.array(z.string()).optional(),
  /** extra symlinks in the image, link -> target */
  links: z.record(z.string(), z.string()).default({}),
  /** install node/iptables-wrapper as iptables* in /usr/local/sbin (images that program the node's netfilter) */
  iptablesWrapper: z.boolean().default(false),
  /**
   * files of a pinned module copied into the image (path in the image → "<go dir>:<module path>/<file>"),
   * e.g. MetalLB's frr-reloader.sh: the module version is the one go/<go dir>/go.mod requires
   */
  moduleFiles: z.record(z.string().startsWith("/"), z.string().regex(/^[\w.-]+:[\w.-]+(\/[\w.-]+)+$/)).default({}),
});

/** Resolve a moduleFiles source "<go dir>:<module path>/<file>" to the file in the module cache. */
async function moduleFile(spec: string): Promise<string> {
  const [dir, rest] = spec.split(":") as [string, string];
  const gomod = readFileSync(join(GO_DIR, dir, "go.mod"), "utf8");
  // the longest required module path that prefixes the file, with the version go.mod requires
  const req = [...gomod.matchAll(/^\s*(?:require\s+)?([\w.-]+(?:\/[\w.-]+)*)\s+(v\S+)/gm)].map((m) => ({ module: m[1]!, version: m[2]! })).filter((r) => rest.startsWith(`${r.module}/`)).sort((a, b) => b.module.length - a.module.length)[0];
  if (!req) throw new Error(`forge: ${spec}: go/${dir}/go.mod requires no module that holds ${rest}`);
  const { moduleDir } = await import("./manifests.ts");
  const path = join(await moduleDir(req.module, req.version), rest.slice(req.module.length + 1));
  if (!existsSync(path)) throw new Error(`forge: ${spec}: ${path} does not exist`);
  return path;
}

function goBinaryInputs(entry: ImageEntry): string {
  const inp = GoBinaryInputs.parse(entry.build.kind === "custom" ? entry.build.inputs : {});
  const extraDirs = [...new Set(Object.values(inp.moduleFiles).map((f) => f.split(":")[0]!))].sort();
  return [
    goInputs(inp.binaries),
    ...extraDirs.map((d) => `${d}=${hashFiles(join(GO_DIR, d))}`),
    forgeCodeInputs(),
    inp.iptablesWrapper ? createHash("sha256").update(readFileSync(join(NODE_DIR, "iptables-wrapper"))).digest("hex") : "",
  ].join(" ");
}
const IPTABLES_NAMES = ["iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore"];

/** /etc files a FROM-scratch image needs: users, name service, CA bundle. */
function writeScratchEtc(ctx: string): void {
  const etc = join(ctx, "etc");
  mkdirSync(join(etc, "ssl", "certs"), { recursive: true });
  writeFileSync(join(etc, "passwd"), "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n");
  writeFileSync(join(etc, "group"), "root:x:0:\nnogroup:x:65534:\nnonroot:x:65532:\n");
  writeFileSync(join(etc, "nsswitch.conf"), "hosts: files dns\n");
  copyFileSync("/etc/ssl/certs/ca-certificates.crt", join(etc, "ssl", "certs", "ca-certificates.crt"));
  mkdirSync(join(ctx, "tmp"), { recursive: true });
}

function labelArgs(name: string, hash: string): string[] {
  return ["--label", `${FORGE_LABEL}=1`, "--label", `${FORGE_LABEL}.name=${name}`, "--label", `${FORGE_LABEL}.inputs=${hash}`];
}

registerCustomStep("go-binary", goBinaryInputs, async ({ entry, tag, hash, baseTag, exec, log }) => {
  const inp = GoBinaryInputs.parse(entry.build.kind === "custom" ? entry.build.inputs : {});
  const bin = await ensureBinaries(inp.binaries, exec, log);
  const ctx = mkdtempSync(join(forgeCacheDir(), `ctx-${entry.name}-`));
  try {
    mkdirSync(join(ctx, "bin"));
    for (const b of inp.binaries) copyFileSync(join(bin, b), join(ctx, "bin", b));
    const files = Object.entries(inp.moduleFiles);
    if (files.length) mkdirSync(join(ctx, "files"));
    for (const [i, [to, spec]] of files.entries()) {
      copyFileSync(await moduleFile(spec), join(ctx, "files", String(i)));
      chmodSync(join(ctx, "files", String(i)), 0o755);
    }
    const lines = [`FROM ${baseTag ?? "scratch"}`];
    if (!baseTag) {
      writeScratchEtc(ctx);
      lines.push("COPY etc/ /etc/", "COPY tmp/ /tmp/");
    }
    lines.push(`COPY bin/ ${inp.dir}/`, "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    for (const [i, [to]] of files.entries()) lines.push(`COPY files/${i} ${to}`);
    const links = Object.entries(inp.links);
    if (inp.iptablesWrapper) {
      if (!baseTag) throw new Error(`${entry.name}: the iptables wrapper needs a base image with iptables`);
      copyFileSync(join(NODE_DIR, "iptables-wrapper"), join(ctx, "iptables-wrapper"));
      chmodSync(join(ctx, "iptables-wrapper"), 0o755);
      lines.push("COPY iptables-wrapper /usr/local/sbin/iptables-wrapper");
      for (const n of IPTABLES_NAMES) links.push([`/usr/local/sbin/${n}`, "iptables-wrapper"]);
    }
    if (links.length) {
      if (!baseTag) throw new Error(`${entry.name}: links need a base image with a shell`);
      lines.push(`RUN ${links.map(([l, t]) => `ln -sf ${t} ${l}`).join(" && ")}`);
    }
    if (inp.entrypoint) lines.push(`ENTRYPOINT ${JSON.stringify(inp.entrypoint)}`);
    writeFileSync(join(ctx, "Dockerfile"), `${lines.join("\n")}\n`);
    await exec.run(["docker", "build", "-q", ...labelArgs(entry.name, hash), "-t", tag, ctx], { timeoutMs: 900_000 });
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
});

const PAUSE_VERSION = "3.10.1";
function pauseSource(): string {
  const gomod = execFileSync("/usr/local/go/bin/go", ["env", "GOMODCACHE"], { encoding: "utf8" }).trim();
  return join(gomod, `k8s.io/kubernetes@${K8S_MODULE_VERSION}`, "build", "pause", "linux", "pause.c");
}
registerCustomStep(
  "pause",
  () => `pause ${PAUSE_VERSION} ${K8S_MODULE_VERSION} ${hashFiles(join(GO_DIR, "k8s"))} ${forgeCodeInputs()}`,
  async ({ entry, tag, hash, exec }) => {
    // the kubernetes module (pinned in go/k8s) carries the pause source; make sure it is downloaded
    await exec.run(["/usr/local/go/bin/go", "mod", "download", `k8s.io/kubernetes@${K8S_MODULE_VERSION}`], { timeoutMs: 600_000 });
    const ctx = mkdtempSync(join(forgeCacheDir(), "ctx-pause-"));
    try {
      await exec.run(["gcc", "-Os", "-Wall", "-Werror", "-static", `-DVERSION=v${PAUSE_VERSION}-netconform`, "-o", join(ctx, "pause"), pauseSource()]);
      await exec.run(["strip", join(ctx, "pause")]);
      writeFileSync(join(ctx, "Dockerfile"), 'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n');
      await exec.run(["docker", "build", "-q", ...labelArgs(entry.name, hash), "-t", tag, ctx], { timeoutMs: 300_000 });
    } finally {
      rmSync(ctx, { recursive: true, force: true });
    }
  },
);

const KindNodeInputs = z.object({
  /** the Kubernetes version of the node (k8s.io/kubernetes in go/k8s/go.mod); harness/images/node-image.ts reads it */
  kubernetes: z.string().regex(/^v1\.\d+\.\d+$/),
  /** catalogue images preloaded into the node's containerd (namespace k8s.io) */
  preload: z.array(z.string()),
  /** binaries copied into the node (go/build.sh targets) */
  binaries: z.array(z.string()).default(["kubeadm", "kubelet", "kubectl", "crictl"]),
});

/** The name an image has inside a node: its upstream reference, or netconform.local/<name>:forge. */
export function nodeImageRef(name: string, cat: Catalogue = loadCatalogue()): string {
  return imageEntry(name, cat).ref ?? `netconform.local/${name}:forge`;
}

function preloadInputs(): string {
  const cat = loadCatalogue();
  const node = cat.images.find((i) => i.build.kind === "custom" && i.build.step === "kind-node");
  const names = node ? KindNodeInputs.parse(node.build.kind === "custom" ? node.build.inputs : {}).preload : [];
  return names.map((n) => `${nodeImageRef(n, cat)}=${localTag(n, cat)}`).join(" ");
}

registerCustomStep("kind-node", (entry) => `${hashFiles(NODE_DIR)} ${goInputs(KindNodeInputs.parse(entry.build.kind === "custom" ? entry.build.inputs : {}).binaries)} ${preloadInputs()} ${forgeCodeInputs()}`, async ({ entry, tag, hash, baseTag, exec, log }) => {
  if (!baseTag) throw new Error("kind-node needs build.from (the node base image)");
  const inp = KindNodeInputs.parse(entry.build.kind === "custom" ? entry.build.inputs : {});
  if (inp.kubernetes !== K8S_MODULE_VERSION) throw new Error(`kind-node: catalogue says Kubernetes ${inp.kubernetes}, go/k8s pins ${K8S_MODULE_VERSION}`);
  const bin = await ensureBinaries([...new Set([...inp.binaries, ...HOST_TOOLS])], exec, log);
  const cat = loadCatalogue();
  const refs: string[] = [];
  for (const name of inp.preload) {
    const local = await ensureImage(name, { exec, log, cat });
    const ref = nodeImageRef(name, cat);
    await exec.run(["docker", "tag", local, ref]);
    refs.push(ref);
  }
  const ctx = mkdtempSync(join(forgeCacheDir(), "ctx-node-"));
  // per process: two forges of the same inputs must not remove each other's stage or builder
  const stage = `${tag}-stage-${process.pid}`;
  const builder = `netconform-node-forge-${hash}-${process.pid}`;
  try {
    cpSync(NODE_DIR, ctx, { recursive: true });
    mkdirSync(join(ctx, "bin"), { recursive: true });
    for (const b of inp.binaries) {
      copyFileSync(join(bin, b), join(ctx, "bin", b));
      chmodSync(join(ctx, "bin", b), 0o755);
    }
    log(`node: docker build (${inp.binaries.join(", ")})`);
    await exec.run(["docker", "build", "-q", "--build-arg", `BASE=${baseTag}`, "--build-arg", `KUBERNETES_VERSION=${inp.kubernetes}`, ...labelArgs(entry.name, hash), "-t", stage, ctx], { timeoutMs: 900_000 });
    // preload: start containerd in a container of the staged image, import, stop, commit
    // (PID 1 there is sleep, which reaps nothing: a stopped containerd stays a zombie)
    log(`node: preloading ${refs.length} images`);
    await exec.run(["docker", "rm", "-f", builder], { allowFailure: true });
    await exec.run([
      "docker", "run", "-d", "--name", builder, "--label", `${FORGE_LABEL}.builder=1`, "--privileged", "--cgroupns=private",
      "--security-opt", "seccomp=unconfined", "--tmpfs", "/run", "--tmpfs", "/tmp", "--entrypoint", "sleep", stage, "infinity",
    ]);
    const state = await exec.run(["docker", "inspect", "-f", "{{.State.Status}} exit={{.State.ExitCode}} {{.State.Error}}", builder]);
    if (!state.stdout.startsWith("running")) {
      const logs = await exec.run(["docker", "logs", builder], { allowFailure: true });
      throw new Error(`node preload container is ${state.stdout.trim()}: ${logs.stdout}${logs.stderr}`);
    }
    await exec.run(["docker", "exec", builder, "bash", "-c", "nohup containerd >/tmp/containerd.log 2>&1 & for i in $(seq 1 30); do ctr version >/dev/null 2>&1 && exit 0; sleep 1; done; cat /tmp/containerd.log; exit 1"], { timeoutMs: 60_000 });
    const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
    await exec.run(["sh", "-c", `docker save ${refs.map(q).join(" ")} | docker exec -i ${builder} ctr --namespace=k8s.io images import --all-platforms --no-unpack --digests -`], { timeoutMs: 1_200_000 });
    const listed = await exec.run(["docker", "exec", builder, "ctr", "--namespace=k8s.io", "images", "list", "-q"]);
    const missing = refs.filter((r) => !listed.stdout.split("\n").some((l) => l === r || l === `docker.io/${r}`));
    if (missing.length) throw new Error(`node preload: containerd lacks ${missing.join(", ")}`);
    await exec.run(["docker", "exec", builder, "bash", "-c", "pkill -x containerd; for i in $(seq 1 40); do ps -C containerd -o stat= | grep -qv '^Z' || exit 0; sleep 0.5; done; exit 1"]);
    await exec.run([
      "docker", "commit", "--change", 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]', "--change", 'CMD []',
      builder, tag,
    ], { timeoutMs: 600_000 });
  } finally {
    await exec.run(["docker", "rm", "-f", builder], { allowFailure: true });
    await exec.run(["docker", "rmi", stage], { allowFailure: true });
    rmSync(ctx, { recursive: true, force: true });
  }
});

/** Build (if missing) the kind node image and everything it is made of; returns its local tag. */
export async function ensureNodeImage(opts: { exec?: Executor; log?: (m: string) => void; records?: ForgeRecord[] } = {}): Promise<string> {
  return ensureImage("kind-node", opts);
}

// `node harness/images/node-forge.ts` builds the node image and prints its tag
if (import.meta.url === `file://${process.argv[1]}`) {
  const records: ForgeRecord[] = [];
  ensureNodeImage({ records })
    .then((tag) => {
      for (const r of records) process.stderr.write(`${r.built ? "built " : "cached"} ${r.tag} ${r.seconds.toFixed(1)}s${r.sizeMB ? ` ${r.sizeMB}MB` : ""}\n`);
      process.stdout.write(`${tag}\n`);
    })
    .catch((e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    });
}
