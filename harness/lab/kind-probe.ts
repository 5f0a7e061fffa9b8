/**
 * kind-probe: is a one-node kind cluster usable inside the kernel lab's VM on this machine?
 * A measurement, not a test suite: nothing in the project depends on it.
 *
 *   node harness/lab/kind-probe.ts [options]      (node 24: node_modules/.bin/node)
 *   node harness/lab/kind-probe.ts --help
 *
 * Steps (each timed):
 *   1. a variant lab image: LAB_PACKAGES + docker.io (containerd, runc), built by image.ts with its own
 *      cache key (the packages are part of it), so the default images are not touched;
 *   2. the kind node image (the forge's netconform/kind-node, or --node-image) exported with
 *      `docker save` (cached by image ID under ~/.cache/netconform/lab/kind-probe/);
 *   3. a throwaway copy of the variant's root.raw, grown to --disk (resize2fs) and given the saved
 *      image and the kind binary (debugfs write): the VM has no network, no share and no registry;
 *   4. boot (QEMU TCG), cgroup2 + modules, dockerd started by hand, `docker load`;
 *   5. `kind create cluster` in the guest (hard limit --limit minutes; kubeadm's control-plane wait
 *      raised from 4 min to that limit by a kubeadmConfigPatch, TCG being slow), polled with the node's
 *      kubectl (`docker exec <node> kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes,pods -A -o json`)
 *      until every pod runs and is ready, or the limit. Times come from the guest's clock: the node's
 *      Ready condition and each container's startedAt, relative to the create's start.
 *   6. diagnostics (crictl ps -a, kubelet journal, pods, events, dockerd log) into the output folder.
 * The VM is always stopped (also on Ctrl-C/SIGTERM) and the copied disk removed.
 */
import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { kindBinary } from "../adapters/kind.ts";
import { HostExecutor } from "../exec/host.ts";
import { localTag } from "../images/forge-lib.ts";
import { KIND_KUBEADM_API, NODE_IMAGE_ENTRY } from "../images/node-image.ts";
import { LAB_PACKAGES, type LabImage, ensureLabImage, labCacheDir } from "./image.ts";
import { LabVm } from "./vm.ts";

/** the variant's extra Debian bookworm packages (docker.io pulls tini and the rest by its Depends) */
export const KIND_PROBE_EXTRA = ["docker.io", "containerd", "runc"] as const;
export const KIND_PROBE_PACKAGES = [...LAB_PACKAGES, ...KIND_PROBE_EXTRA];
const CLUSTER = "ncprobe";
const NODE = `${CLUSTER}-control-plane`;

const HELP = `kind-probe: time a one-node kind cluster inside the kernel lab VM (a measurement, not a test)

usage: node harness/lab/kind-probe.ts [options]

  --kernel <pkg>        lab kernel package (default linux-image-6.12.111+deb12-amd64)
  --node-image <tag>    kind node image on the host's docker (default: NETCONFORM_NODE_IMAGE, else
                        the forged ${NODE_IMAGE_ENTRY} image; build it with \`npm run forge\`)
  --memory <MB>         VM memory (default 4096; vm.ts allows 256..8192)
  --cpus <n>            VM vCPUs (default 2)
  --disk <size>         the VM's root disk, grown from the image's 3G (default 12G)
  --limit <minutes>     hard limit for create + polling (default 25, at most 60)
  --poll <seconds>      poll interval (default 15)
  --out <dir>           where logs and summary.json go (default reports/runs/kind-probe-<time>)
  --enable-hugetlb      work around the node image on cgroup v2: from the guest, write +hugetlb to
                        the node container's cgroup.subtree_control once systemd is in init.scope
                        (as upstream kind's entrypoint enables every controller). Without it the
                        kubelet exits with "cgroup [kubelet] has some missing controllers: hugetlb"
  -h, --help            this text

It builds (once, cached) a lab image with docker.io added, saves the node image with docker save
(cached by image ID), boots the VM (QEMU TCG, niced like the lab), loads the image into the guest's
dockerd, runs kind create cluster and reports: image load time, create → node Ready, create → first
pod Running (coredns), every pod's start, memory, and what failed. The VM is stopped on exit and on
Ctrl-C. Exit code: 0 node Ready within the limit, 1 not Ready (a valid measurement), 2 setup error.`;

function fail(msg: string): never {
  process.stderr.write(`kind-probe: ${msg}\n`);
  process.exit(2);
}

const t0 = Date.now();
const stamp = () => `${((Date.now() - t0) / 1000).toFixed(0).padStart(5)} s`;
const log = (m: string) => process.stdout.write(`[${stamp()}] ${m}\n`);

const podSchema = z.object({
  kind: z.literal("Pod"),
  metadata: z.object({ name: z.string(), namespace: z.string() }),
  status: z.object({
    phase: z.string().optional(),
    containerStatuses: z.array(z.object({
      name: z.string(),
      ready: z.boolean(),
      restartCount: z.number(),
      state: z.object({
        running: z.object({ startedAt: z.string() }).optional(),
        waiting: z.object({ reason: z.string().optional() }).optional(),
        terminated: z.object({ reason: z.string().optional(), exitCode: z.number().optional() }).optional(),
      }),
    })).optional(),
  }).passthrough(),
}).passthrough();
const nodeSchema = z.object({
  kind: z.literal("Node"),
  metadata: z.object({ name: z.string() }),
  status: z.object({ conditions: z.array(z.object({ type: z.string(), status: z.string(), lastTransitionTime: z.string(), reason: z.string().optional() })).optional() }).passthrough(),
}).passthrough();
const listSchema = z.object({ items: z.array(z.union([nodeSchema, podSchema, z.object({ kind: z.string() }).passthrough()])) });
type Pod = z.infer<typeof podSchema>;

interface Summary {
  kernel?: string; nodeImage?: string; nodeImageId?: string; memoryMb: number; cpus: number; disk: string; limitMin: number;
  hostUptimeBefore?: string; hostUptimeAfter?: string;
  enableHugetlb: boolean;
  seconds: Record<string, number>;
  createExit?: string; nodeReady: boolean; stalledAt?: string;
  pods: Array<{ pod: string; phase: string; ready: boolean; restarts: number; startedAfterS?: number; waiting?: string }>;
  guestMemory?: string; outDir: string;
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      options: {
        kernel: { type: "string", default: "linux-image-6.12.111+deb12-amd64" },
        "node-image": { type: "string" },
        memory: { type: "string", default: "4096" },
        cpus: { type: "string", default: "2" },
        disk: { type: "string", default: "12G" },
        limit: { type: "string", default: "25" },
        poll: { type: "string", default: "15" },
        out: { type: "string" },
        "enable-hugetlb": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
    }).values;
  } catch (e) {
    fail(`${(e as Error).message}\n(see --help)`);
  }
  if (args.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const int = (name: string, v: string, lo: number, hi: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < lo || n > hi) fail(`--${name}: "${v}" is not an integer ${lo}..${hi}`);
    return n;
  };
  const memoryMb = int("memory", args.memory, 1024, 8192);
  const cpus = int("cpus", args.cpus, 1, 4);
  const limitMin = int("limit", args.limit, 1, 60);
  const pollS = int("poll", args.poll, 3, 120);
  if (!/^[0-9]+G$/.test(args.disk) || Number(args.disk.slice(0, -1)) < 4 || Number(args.disk.slice(0, -1)) > 64) fail(`--disk: "${args.disk}" is not a size 4G..64G`);
  const out = resolve(args.out ?? join("reports", "runs", `kind-probe-${new Date().toISOString().replace(/[:.]/g, "-")}`));
  mkdirSync(out, { recursive: true });
  const host = new HostExecutor();
  const summary: Summary = { enableHugetlb: Boolean(args["enable-hugetlb"]), memoryMb, cpus, disk: args.disk, limitMin, seconds: {}, nodeReady: false, pods: [], outDir: out };
  const save = () => writeFileSync(join(out, "summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
  const uptime = async () => (await host.run(["uptime"])).stdout.trim();
  summary.hostUptimeBefore = await uptime();
  log(`host: ${summary.hostUptimeBefore}`);

  // --- host side: tools, kind, node image --------------------------------------------------------
  for (const tool of ["qemu-system-x86_64", "qemu-img", "e2fsck", "resize2fs", "debugfs", "docker"]) {
    const r = await host.run(["sh", "-c", `command -v ${tool}`], { allowFailure: true });
    if (r.exitCode !== 0) fail(`${tool} is not on PATH (the lab needs qemu-system-x86, qemu-utils, e2fsprogs; the node image needs docker)`);
  }
  const kind = kindBinary();
  if (!kind) fail("no kind binary: run `npm run forge` (builds it from its pinned Go module) or set NETCONFORM_KIND");
  const nodeImage = args["node-image"] ?? process.env.NETCONFORM_NODE_IMAGE ?? localTag(NODE_IMAGE_ENTRY);
  const inspect = await host.run(["docker", "image", "inspect", "--format", "{{.Id}}", nodeImage], { allowFailure: true });
  if (inspect.exitCode !== 0) fail(`the node image ${nodeImage} is not in the host's docker (${inspect.stderr.trim()}): run \`npm run forge\` or pass --node-image`);
  const imageId = inspect.stdout.trim().replace(/^sha256:/, "");
  summary.nodeImage = nodeImage;
  summary.nodeImageId = imageId.slice(0, 12);
  log(`kind ${kind}; node image ${nodeImage} (${imageId.slice(0, 12)})`);

  // 1. the variant image
  let t = Date.now();
  const base: LabImage = await ensureLabImage(args.kernel, { packages: KIND_PROBE_PACKAGES, log: (m) => log(`lab: ${m}`) });
  summary.seconds.variantImage = (Date.now() - t) / 1000;
  summary.kernel = base.kernelVersion;
  log(`variant image ${base.dir} (${summary.seconds.variantImage.toFixed(0)} s)`);

  // 2. docker save, cached by image ID
  const cache = join(labCacheDir(), "kind-probe");
  mkdirSync(cache, { recursive: true });
  const tar = join(cache, `node-${imageId.slice(0, 16)}.tar`);
  t = Date.now();
  if (!existsSync(tar)) {
    const tmp = `${tar}.tmp-${process.pid}`;
    log(`docker save ${nodeImage} → ${tar}`);
    try {
      await host.run(["nice", "-n", "10", "docker", "save", "-o", tmp, nodeImage], { timeoutMs: 1_800_000 });
      renameSync(tmp, tar);
    } finally {
      rmSync(tmp, { force: true });
    }
  }
  summary.seconds.dockerSave = (Date.now() - t) / 1000;
  log(`saved image ${(statSync(tar).size / 2 ** 20).toFixed(0)} MiB (${summary.seconds.dockerSave.toFixed(0)} s${summary.seconds.dockerSave < 1 ? ", cached" : ""})`);

  // 3. a grown copy of root.raw with the tar and kind in it
  t = Date.now();
  const diskDir = join(cache, `disk-${process.pid}`);
  rmSync(diskDir, { recursive: true, force: true });
  mkdirSync(diskDir, { recursive: true });
  cleanups.push(() => rmSync(diskDir, { recursive: true, force: true }));
  const disk = join(diskDir, "root.raw");
  await host.run(["cp", "--sparse=always", base.root, disk], { timeoutMs: 600_000 });
  await host.run(["truncate", "-s", args.disk, disk]);
  await host.run(["e2fsck", "-f", "-p", disk], { timeoutMs: 600_000, allowFailure: true }).then((r) => {
    if (r.exitCode > 1) throw new Error(`e2fsck ${disk} exited ${r.exitCode}: ${r.stdout}${r.stderr}`);
  });
  await host.run(["resize2fs", disk], { timeoutMs: 600_000 });
  const debugfs = [
    "cd /root", `write ${tar} kind-node.tar`,
    "cd /usr/local/bin", `write ${kind} kind`, "sif /usr/local/bin/kind mode 0100755",
  ].join("\n");
  const d = await host.run(["debugfs", "-w", "-f", "-", disk], { input: `${debugfs}\n`, timeoutMs: 900_000 });
  if (/error|not found|no space/i.test(d.stderr.replace(/^debugfs [0-9.]+.*$/m, ""))) throw new Error(`debugfs: ${d.stderr.trim()}`);
  summary.seconds.prepareDisk = (Date.now() - t) / 1000;
  log(`disk ${disk} (${args.disk}) ready (${summary.seconds.prepareDisk.toFixed(0)} s)`);

  // 4. boot, dockerd, docker load
  t = Date.now();
  const vm = await LabVm.start({ image: { ...base, root: disk }, dir: out, name: `kind-probe-${process.pid}`, memoryMb, cpus, maxLifeS: (limitMin + 30) * 60 });
  cleanups.unshift(async () => {
    const s = await vm.stop();
    log(`VM stopped: ${s.how} in ${s.ms} ms`);
  });
  summary.seconds.boot = vm.bootMs / 1000;
  log(`booted ${vm.where} in ${summary.seconds.boot.toFixed(1)} s (${memoryMb} MiB, ${cpus} vCPUs)`);

  t = Date.now();
  const setup = await vm.sh(`set -u
mountpoint -q /sys/fs/cgroup || mount -t cgroup2 cgroup2 /sys/fs/cgroup
for m in overlay bridge br_netfilter veth nf_conntrack nf_nat iptable_nat iptable_filter iptable_mangle ip6table_nat ip6table_filter xt_MASQUERADE xt_addrtype xt_conntrack xt_comment xt_mark; do modprobe $m || echo "modprobe $m failed"; done
sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1
chmod 0755 /usr/local/bin/kind
[ -f /etc/hosts ] || printf '127.0.0.1 localhost\\n' > /etc/hosts
setsid -f dockerd >/var/log/dockerd.log 2>&1 </dev/null
i=0; while [ $i -lt 240 ]; do docker info >/dev/null 2>&1 && break; sleep 1; i=$((i+1)); done
docker info --format 'docker {{.ServerVersion}} cgroup v{{.CgroupVersion}} {{.CgroupDriver}} storage {{.Driver}}' || { tail -n 30 /var/log/dockerd.log; exit 1; }
df -h / | tail -n 1; free -m | sed -n 2p`, { timeoutMs: 420_000, allowFailure: true });
  writeFileSync(join(out, "guest-setup.txt"), setup.stdout + setup.stderr);
  if (setup.exitCode !== 0) throw new Error(`dockerd did not come up in the guest:\n${setup.stdout}${setup.stderr}`);
  summary.seconds.dockerdStart = (Date.now() - t) / 1000;
  log(`guest: ${setup.stdout.trim().split("\n").join(" | ")} (${summary.seconds.dockerdStart.toFixed(0)} s)`);

  t = Date.now();
  const load = await vm.sh("docker load -i /root/kind-node.tar && rm -f /root/kind-node.tar && df -h / | tail -n 1", { timeoutMs: 1_800_000, allowFailure: true });
  if (load.exitCode !== 0) throw new Error(`docker load failed in the guest: ${load.stdout}${load.stderr}`);
  summary.seconds.imageLoad = (Date.now() - t) / 1000;
  log(`docker load: ${load.stdout.trim().split("\n").join(" | ")} (${summary.seconds.imageLoad.toFixed(0)} s)`);

  // 5. kind create, polled
  const limitS = limitMin * 60;
  // kubeadm gives the control plane 4 min by default; under TCG it needs longer, so the bound is ours
  const kindConfig = `kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
networking: {kubeProxyMode: iptables, ipFamily: ipv4}
kubeadmConfigPatches:
- |
  apiVersion: kubeadm.k8s.io/${KIND_KUBEADM_API}
  kind: ClusterConfiguration
  apiServer:
    timeoutForControlPlane: ${limitMin}m0s
`;
  writeFileSync(join(out, "kind-config.yaml"), kindConfig);
  await vm.run(["sh", "-c", "cat > /root/kind-config.yaml"], { input: kindConfig });
  if (args["enable-hugetlb"]) {
    await vm.sh(`setsid -f sh -c 'i=0; while [ $i -lt ${limitS} ]; do id=$(docker inspect -f "{{.Id}}" ${NODE} 2>/dev/null); c=/sys/fs/cgroup/docker/$id; if [ -n "$id" ] && [ -d $c/init.scope ] && echo +hugetlb > $c/cgroup.subtree_control; then echo "+hugetlb written to $c after $i s: $(cat $c/cgroup.subtree_control)" > /root/hugetlb.log; exit 0; fi; sleep 1; i=$((i+1)); done; echo "gave up after $i s" > /root/hugetlb.log' </dev/null >/dev/null 2>&1`);
  }
  await vm.sh(`rm -f /root/kind-create.rc; date +%s.%N > /root/kind-create.start
setsid -f sh -c 'timeout ${limitS} kind create cluster --name ${CLUSTER} --image ${nodeImage} --config /root/kind-config.yaml --kubeconfig /root/kubeconfig --retain --wait 0s -v 1 >/root/kind-create.log 2>&1; echo $? > /root/kind-create.rc' </dev/null >/dev/null 2>&1`);
  const createT0 = Date.now();
  log(`kind create cluster started (limit ${limitMin} min)`);
  let guestStart = NaN;
  let lastPods: Pod[] = [];
  let readyAtS: number | undefined;
  let firstRunningS: number | undefined;
  let allReady = false;
  let lastLine = "";
  while (Date.now() - createT0 < limitS * 1000) {
    await new Promise((r) => setTimeout(r, pollS * 1000));
    const p = await vm.sh(`cat /root/kind-create.start; cat /root/kind-create.rc 2>/dev/null || echo -; docker inspect -f '{{.State.Status}}' ${NODE} 2>/dev/null || echo none
echo ---; grep -E '^ERROR|^ ?[•✓✗]' /root/kind-create.log | tail -n 1; echo ---
docker exec ${NODE} kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes,pods -A -o json 2>/dev/null`, { timeoutMs: 120_000, allowFailure: true });
    const [head, tail, json] = p.stdout.split(/^---$/m);
    const [startS, rc, nodeState] = (head ?? "").trim().split("\n");
    guestStart = Number(startS);
    if (rc && rc !== "-") summary.createExit = rc;
    let parsed: z.infer<typeof listSchema> | undefined;
    try {
      parsed = json?.trim() ? listSchema.parse(JSON.parse(json)) : undefined;
    } catch {
      parsed = undefined;
    }
    const node = parsed?.items.find((i): i is z.infer<typeof nodeSchema> => i.kind === "Node");
    const ready = node?.status.conditions?.find((c) => c.type === "Ready");
    lastPods = (parsed?.items ?? []).filter((i): i is Pod => i.kind === "Pod");
    const rel = (iso: string) => Date.parse(iso) / 1000 - guestStart;
    if (ready?.status === "True" && readyAtS === undefined) readyAtS = rel(ready.lastTransitionTime);
    const starts = lastPods.flatMap((pd) => pd.status.containerStatuses?.flatMap((c) => (c.state.running ? [rel(c.state.running.startedAt)] : [])) ?? []);
    const coredns = lastPods.filter((pd) => pd.metadata.name.startsWith("coredns")).flatMap((pd) => pd.status.containerStatuses?.flatMap((c) => (c.state.running ? [rel(c.state.running.startedAt)] : [])) ?? []);
    if (coredns.length && firstRunningS === undefined) firstRunningS = Math.min(...coredns);
    if (starts.length) summary.seconds.firstContainerRunning = Math.min(...starts);
    allReady = lastPods.length > 0 && lastPods.every((pd) => pd.status.phase === "Running" && (pd.status.containerStatuses ?? []).every((c) => c.ready));
    const line = `node ${nodeState ?? "?"} Ready=${ready?.status ?? "-"}; pods ${lastPods.map((pd) => `${pd.metadata.name.replace(/-[a-z0-9]{5,10}(-[a-z0-9]{5})?$/, "")}:${pd.status.containerStatuses?.every((c) => c.ready) ? "ready" : (pd.status.containerStatuses?.[0]?.state.waiting?.reason ?? pd.status.phase ?? "?")}`).join(" ") || "-"}; kind: ${(tail ?? "").trim().split("\n").pop()?.trim().slice(0, 100) ?? ""}${rc !== "-" ? ` (exit ${rc})` : ""}`;
    if (line !== lastLine) log(`+${((Date.now() - createT0) / 1000).toFixed(0)} s ${line}`);
    lastLine = line;
    if (readyAtS !== undefined && allReady) break;
    if (rc && rc !== "-" && rc !== "0") break; // kind gave up: no CNI gets installed, so the node cannot become Ready
  }
  summary.seconds.polled = (Date.now() - createT0) / 1000;
  summary.nodeReady = readyAtS !== undefined;
  if (readyAtS !== undefined) summary.seconds.createToNodeReady = readyAtS;
  if (firstRunningS !== undefined) summary.seconds.createToCorednsRunning = firstRunningS;
  summary.pods = lastPods.map((pd) => {
    const cs = pd.status.containerStatuses ?? [];
    const st = cs.flatMap((c) => (c.state.running ? [Date.parse(c.state.running.startedAt) / 1000 - guestStart] : []));
    return {
      pod: `${pd.metadata.namespace}/${pd.metadata.name}`,
      phase: pd.status.phase ?? "?",
      ready: cs.length > 0 && cs.every((c) => c.ready),
      restarts: cs.reduce((a, c) => a + c.restartCount, 0),
      ...(st.length ? { startedAfterS: Math.round(Math.min(...st)) } : {}),
      ...(cs.some((c) => c.state.waiting?.reason || c.state.terminated?.reason) ? { waiting: cs.map((c) => c.state.waiting?.reason ?? c.state.terminated?.reason ?? "").filter(Boolean).join(",") } : {}),
    };
  });
  if (!summary.nodeReady) summary.stalledAt = lastLine;

  // 6. diagnostics
  const diag = await vm.sh(`n=${NODE}; k="docker exec $n kubectl --kubeconfig /etc/kubernetes/admin.conf"
echo "== hugetlb workaround"; cat /root/hugetlb.log 2>/dev/null || echo "not used"
echo "== kind create log"; cat /root/kind-create.log; echo "== rc $(cat /root/kind-create.rc 2>/dev/null)"
echo "== docker ps -a"; docker ps -a
echo "== crictl ps -a"; docker exec $n crictl ps -a
echo "== pods"; $k get pods -A -o wide
echo "== nodes"; $k get nodes -o wide
echo "== events"; $k get events -A --sort-by=.lastTimestamp | tail -n 40
echo "== kubelet journal (last 80)"; docker exec $n journalctl -u kubelet --no-pager | tail -n 80
echo "== containerd journal (last 30)"; docker exec $n journalctl -u containerd --no-pager | tail -n 30
echo "== node container log (last 30)"; docker logs $n 2>&1 | tail -n 30
echo "== dockerd log (last 30)"; tail -n 30 /var/log/dockerd.log
echo "== guest"; free -m; cat /proc/loadavg; df -h /; docker stats --no-stream $n`, { timeoutMs: 600_000, allowFailure: true });
  writeFileSync(join(out, "diagnostics.txt"), diag.stdout + diag.stderr);
  summary.guestMemory = /^Mem:.*$/m.exec(diag.stdout)?.[0].replace(/\s+/g, " ");
  summary.hostUptimeAfter = await uptime();
  save();

  const s = summary.seconds;
  const f = (v: number | undefined) => (v === undefined ? "—" : `${v.toFixed(0)} s`);
  process.stdout.write(`
kind-probe result (${summary.kernel}, ${memoryMb} MiB${args["enable-hugetlb"] ? ", --enable-hugetlb" : ""}, ${cpus} vCPUs, disk ${args.disk}, node image ${nodeImage})
  variant image      ${f(s.variantImage)}   docker save ${f(s.dockerSave)}   disk prep ${f(s.prepareDisk)}
  boot               ${(s.boot ?? 0).toFixed(1)} s   dockerd up ${f(s.dockerdStart)}
  docker load        ${f(s.imageLoad)}
  create → first container running  ${f(s.firstContainerRunning)}
  create → node Ready               ${f(s.createToNodeReady)}${summary.nodeReady ? "" : `  (NOT Ready within ${limitMin} min)`}
  create → coredns Running          ${f(s.createToCorednsRunning)}
  polled for                        ${f(s.polled)}; kind create exit ${summary.createExit ?? "(still running)"}
  pods: ${summary.pods.map((p) => `${p.pod.split("/")[1]} ${p.ready ? "ready" : p.waiting ?? p.phase}${p.startedAfterS !== undefined ? ` @${p.startedAfterS}s` : ""}${p.restarts ? ` restarts=${p.restarts}` : ""}`).join("; ") || "none"}
  guest memory: ${summary.guestMemory ?? "?"}
  host load before: ${summary.hostUptimeBefore}
  host load after:  ${summary.hostUptimeAfter}
  logs: ${out}
`);
  return summary.nodeReady ? 0 : 1;
}

const cleanups: Array<() => unknown> = [];
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const c of cleanups) {
      try {
        await c();
      } catch (e) {
        process.stderr.write(`kind-probe: cleanup: ${(e as Error).message}\n`);
      }
    }
  })();
  return cleaning;
}
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    process.stderr.write(`\nkind-probe: ${sig}: stopping the VM\n`);
    void cleanup().then(() => process.exit(130));
  });
}

main().then(
  async (code) => {
    await cleanup();
    process.exit(code);
  },
  async (e) => {
    process.stderr.write(`kind-probe: ${(e as Error).message}\n`);
    await cleanup();
    process.exit(2);
  },
);

