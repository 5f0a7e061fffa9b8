/**
 * The evidence bundle (HARN-05): what a failed step leaves behind for the reader of the report —
 * per node/container netfilter, routes, neighbours, addresses, conntrack and the daemons' own views
 * (ipvsadm, vtysh, swanctl), and from the cluster its events and pod logs. Every item is redacted
 * and attached to the Allure test; a collection that fails becomes an item, never the error.
 */
import { ExecError, type Executor } from "../exec/types.ts";
import type { KubeClient } from "../kube/client.ts";
import { apiErrorMessage } from "../kube/client.ts";
import { events as listEvents, podLogs } from "../kube/inspect.ts";
import { podNotReadyReason, isPodReady } from "../kube/readiness.ts";
import { attachText, step } from "../report/allure.ts";
import { redact } from "../report/redact.ts";

export interface EvidenceItem {
  /** what it is: "iptables-save", "ip-route", "events", "logs speaker" */
  name: string;
  /** where it comes from, as executors name it: "node:kind-worker", "container:frr1", "pod:ns/name", "cluster" */
  where: string;
  /** the command or API request that produced it */
  command: string;
  /** its output (stdout), or a one-line account of why there is none ("conntrack: not installed") */
  text: string;
  /** the command's exit code; 0 for an API read that worked, -1 when the collection itself failed */
  exitCode: number;
  /** the command's stderr, when it wrote any */
  stderr?: string;
  /** "application/json" for JSON output, else text/plain */
  contentType?: string;
}

export interface Bundle {
  items: EvidenceItem[];
  /** ISO time the collection started */
  startedAt: string;
  durationMs: number;
}

/** Optional per-target evidence beyond the standard node set. */
export type Extra = "ipvs" | "bgp" | "bfd" | "ipsec" | "nft";

/** What each kind of container carries by default (a role's daemons). */
export const ROLE_EXTRAS: Record<string, Extra[]> = {
  node: [],
  router: [],
  client: [],
  frr: ["bgp", "bfd"],
  ipsec: ["ipsec"],
  strongswan: ["ipsec"],
  ipvs: ["ipvs"],
  klvs: ["ipvs"],
};

interface CommandSpec {
  name: string;
  argv: string[];
  json?: boolean;
}

export const STANDARD_COMMANDS: CommandSpec[] = [
  { name: "iptables-save", argv: ["iptables-save"] },
  { name: "ip-route", argv: ["ip", "-j", "route"], json: true },
  { name: "ip-neigh", argv: ["ip", "-j", "neigh"], json: true },
  { name: "ip-addr", argv: ["ip", "-j", "addr"], json: true },
  { name: "conntrack", argv: ["conntrack", "-L"] },
];

export const EXTRA_COMMANDS: Record<Extra, CommandSpec[]> = {
  // the kernel's own tables too: kind node images carry no ipvsadm (ipvs-mode kube-proxy programs
  // IPVS over netlink), and /proc/net/ip_vs is what the services suite judges in ipvs mode
  ipvs: [
    { name: "ipvsadm", argv: ["ipvsadm", "-Ln"] },
    { name: "proc-ip_vs", argv: ["cat", "/proc/net/ip_vs"] },
    { name: "proc-ip_vs_conn", argv: ["cat", "/proc/net/ip_vs_conn"] },
  ],
  bgp: [{ name: "bgp-summary", argv: ["vtysh", "-c", "show bgp summary json"], json: true }],
  bfd: [{ name: "bfd-peers", argv: ["vtysh", "-c", "show bfd peers json"], json: true }],
  ipsec: [{ name: "swanctl-sas", argv: ["swanctl", "--list-sas"] }],
  nft: [{ name: "nft-ruleset", argv: ["nft", "list", "ruleset"] }],
};

export interface EvidenceTarget {
  executor: Executor;
  /** a role of ROLE_EXTRAS ("frr", "ipsec", …) adds that role's extras */
  role?: string;
  extras?: Extra[];
}

export interface LogSelector {
  namespace: string;
  /** all pods of the namespace when absent */
  labelSelector?: string;
  sinceSeconds?: number;
  /** default 2000 lines per container */
  tailLines?: number;
}

export interface CollectSpec {
  targets?: EvidenceTarget[];
  kube?: {
    client: KubeClient;
    /** namespaces whose events to read; all namespaces when absent */
    eventNamespaces?: string[];
    logs?: LogSelector[];
  };
  /** per command / API call; default 30 s */
  timeoutMs?: number;
}

const MAX_TEXT = 4 * 1024 * 1024;

function cap(s: string): string {
  return s.length <= MAX_TEXT ? s : `${s.slice(0, MAX_TEXT)}\n… (${s.length - MAX_TEXT} more characters cut by the evidence collector)`;
}

function clean(item: EvidenceItem): EvidenceItem {
  const out: EvidenceItem = { name: redact(item.name), where: redact(item.where), command: redact(item.command), text: redact(cap(item.text)), exitCode: item.exitCode };
  if (item.stderr?.trim()) out.stderr = redact(cap(item.stderr));
  if (item.contentType) out.contentType = item.contentType;
  return out;
}

/**
 * The executable was not there: a shell's 127, or docker exec's 126 with the OCI runtime's
 * "executable file not found". A tool that runs and then cannot reach its daemon ("connecting to
 * 'unix:///var/run/charon.vici' failed: No such file or directory") is installed: that output is evidence.
 */
export function notInstalled(exitCode: number, stderr: string): boolean {
  return exitCode === 127 || (exitCode !== 0 && /executable file not found|: command not found/i.test(stderr));
}

export async function runCommand(exec: Executor, c: CommandSpec, timeoutMs: number): Promise<EvidenceItem> {
  const command = c.argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
  try {
    const r = await exec.run(c.argv, { timeoutMs, allowFailure: true });
    // docker exec prints the OCI runtime's "executable file not found" on stdout, not stderr
    if (notInstalled(r.exitCode, `${r.stderr}\n${r.stdout}`)) return clean({ name: c.name, where: exec.where, command: r.command, text: `${c.argv[0]}: not installed`, exitCode: r.exitCode, stderr: `${r.stderr}${r.stdout}` });
    const item: EvidenceItem = { name: c.name, where: exec.where, command: r.command, text: r.stdout, exitCode: r.timedOut ? 124 : r.exitCode, stderr: r.timedOut ? `${r.stderr}\n(timed out after ${timeoutMs} ms)` : r.stderr };
    if (c.json && item.exitCode === 0) item.contentType = "application/json";
    return clean(item);
  } catch (e) {
    const msg = e instanceof ExecError ? e.message : e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return clean({ name: c.name, where: exec.where, command, text: `collection failed: ${msg}`, exitCode: -1 });
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error(`${what}: no answer within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

async function collectTarget(t: EvidenceTarget, timeoutMs: number): Promise<EvidenceItem[]> {
  const extras = new Set<Extra>([...(t.role ? ROLE_EXTRAS[t.role] ?? [] : []), ...(t.extras ?? [])]);
  const cmds = [...STANDARD_COMMANDS, ...[...extras].flatMap((x) => EXTRA_COMMANDS[x])];
  const out: EvidenceItem[] = [];
  // one after the other inside a target: a node under a fault should not also get a burst of execs
  for (const c of cmds) out.push(await runCommand(t.executor, c, timeoutMs));
  return out;
}

async function collectKube(k: NonNullable<CollectSpec["kube"]>, timeoutMs: number): Promise<EvidenceItem[]> {
  const out: EvidenceItem[] = [];
  const failed = (name: string, where: string, command: string, e: unknown) =>
    out.push(clean({ name, where, command, text: `collection failed: ${apiErrorMessage(e)}`, exitCode: -1 }));
  for (const ns of k.eventNamespaces ?? [undefined]) {
    const where = ns ? `namespace:${ns}` : "cluster";
    const command = ns ? `GET /api/v1/namespaces/${ns}/events` : "GET /api/v1/events";
    try {
      const evs = await withTimeout(listEvents(k.client, ns), timeoutMs, command);
      out.push(clean({ name: "events", where, command, text: JSON.stringify({ apiVersion: "v1", kind: "EventList", items: evs }, null, 1), exitCode: 0, contentType: "application/json" }));
    } catch (e) {
      failed("events", where, command, e);
    }
  }
  for (const sel of k.logs ?? []) {
    const listCmd = `GET /api/v1/namespaces/${sel.namespace}/pods${sel.labelSelector ? `?labelSelector=${sel.labelSelector}` : ""}`;
    let pods;
    try {
      pods = (await withTimeout(k.client.core.listNamespacedPod({ namespace: sel.namespace, ...(sel.labelSelector ? { labelSelector: sel.labelSelector } : {}) }), timeoutMs, listCmd)).items;
    } catch (e) {
      failed("pods", `namespace:${sel.namespace}`, listCmd, e);
      continue;
    }
    const table = pods.map((p) => {
      const restarts = (p.status?.containerStatuses ?? []).reduce((a, c) => a + c.restartCount, 0);
      return `${p.metadata?.name}\t${p.spec?.nodeName ?? "-"}\t${p.status?.podIP ?? "-"}\t${isPodReady(p) ? "Ready" : `NotReady: ${podNotReadyReason(p)}`}\trestarts=${restarts}`;
    });
    out.push(clean({ name: `pods${sel.labelSelector ? ` {${sel.labelSelector}}` : ""}`, where: `namespace:${sel.namespace}`, command: listCmd, text: table.join("\n") || "(no pods)", exitCode: 0 }));
    for (const p of pods) {
      const name = p.metadata!.name!;
      const statuses = [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])];
      const containers = [...(p.spec?.initContainers ?? []), ...(p.spec?.containers ?? [])].map((c) => c.name);
      for (const c of containers) {
        const restarted = (statuses.find((s) => s.name === c)?.restartCount ?? 0) > 0;
        for (const previous of restarted ? [true, false] : [false]) {
          const opts = { tailLines: sel.tailLines ?? 2000, ...(sel.sinceSeconds !== undefined ? { sinceSeconds: sel.sinceSeconds } : {}), ...(previous ? { previous: true } : {}) };
          const command = `GET /api/v1/namespaces/${sel.namespace}/pods/${name}/log?container=${c}&tailLines=${opts.tailLines}${sel.sinceSeconds !== undefined ? `&sinceSeconds=${sel.sinceSeconds}` : ""}${previous ? "&previous=true" : ""}`;
          const itemName = `logs ${c}${previous ? " (previous)" : ""}`;
          try {
            const text = await withTimeout(podLogs(k.client, sel.namespace, name, c, opts), timeoutMs, command);
            out.push(clean({ name: itemName, where: `pod:${sel.namespace}/${name}`, command, text, exitCode: 0 }));
          } catch (e) {
            failed(itemName, `pod:${sel.namespace}/${name}`, command, e);
          }
        }
      }
    }
  }
  return out;
}

/** Collect every item of the spec; never throws for a target or API read that fails (that is an item). */
export async function collectEvidence(spec: CollectSpec): Promise<Bundle> {
  const started = Date.now();
  const timeoutMs = spec.timeoutMs ?? 30_000;
  const parts = await Promise.all([
    ...(spec.targets ?? []).map((t) => collectTarget(t, timeoutMs)),
    ...(spec.kube ? [collectKube(spec.kube, timeoutMs)] : []),
  ]);
  return { items: parts.flat(), startedAt: new Date(started).toISOString(), durationMs: Date.now() - started };
}

/** The attachment body of an item: for text, a header line naming the command and its exit code. */
export function attachmentBody(item: EvidenceItem): { content: string; contentType: string } {
  if (item.contentType === "application/json") return { content: item.text, contentType: item.contentType };
  const header = `# ${item.where}$ ${item.command}  (exit ${item.exitCode})\n`;
  const stderr = item.stderr ? `\n# --- stderr ---\n${item.stderr}` : "";
  return { content: redact(header + item.text + stderr), contentType: "text/plain" };
}

/** Attach every item to the current Allure test (or step) as "<where> <name>", then an index of them. */
export async function attachBundle(bundle: Bundle): Promise<void> {
  for (const item of bundle.items) {
    const { content, contentType } = attachmentBody(item);
    await attachText(redact(`${item.where} ${item.name}`), content, contentType);
  }
  const index = bundle.items.map((i) => `${i.exitCode === 0 ? "ok  " : `${String(i.exitCode).padEnd(4)}`} ${i.where} ${i.name}: ${i.command} (${i.text.length} chars)`);
  await attachText("evidence index", redact(`collected ${bundle.startedAt} in ${bundle.durationMs} ms\n${index.join("\n")}`));
}

const bundles = new WeakMap<object, Bundle>();

/** the bundle withEvidence collected for this error, if any */
export function evidenceOf(error: unknown): Bundle | undefined {
  return typeof error === "object" && error !== null ? bundles.get(error) : undefined;
}

/**
 * Run fn as an Allure step. When it throws, collect the evidence and attach it to the step — before
 * any cleanup runs, since the caller's cleanup comes after — then rethrow the very same error. A
 * collection or attachment that fails is recorded as an item and never replaces the original error;
 * so is a collection that takes longer than collectTimeoutMs (default 180 s).
 */
export async function withEvidence<T>(stepName: string, collect: () => Promise<Bundle>, fn: () => Promise<T>, opts: { collectTimeoutMs?: number } = {}): Promise<T> {
  return step(stepName, async () => {
    try {
      return await fn();
    } catch (original) {
      const started = Date.now();
      let bundle: Bundle;
      try {
        // a collector that hangs must not turn the step's failure into a test timeout
        bundle = await withTimeout(collect(), opts.collectTimeoutMs ?? 180_000, "evidence collection");
      } catch (e) {
        bundle = { items: [], startedAt: new Date(started).toISOString(), durationMs: Date.now() - started };
        bundle.items.push(clean({ name: "collection error", where: "harness", command: "collect()", text: e instanceof Error ? (e.stack ?? e.message) : String(e), exitCode: -1 }));
      }
      try {
        await attachBundle(bundle);
      } catch (e) {
        try {
          await attachText("evidence attachment error", redact(e instanceof Error ? (e.stack ?? e.message) : String(e)));
        } catch {
          /* the report cannot take attachments at all: the original error still goes up */
        }
      }
      if (typeof original === "object" && original !== null) bundles.set(original, bundle);
      throw original;
    }
  });
}
