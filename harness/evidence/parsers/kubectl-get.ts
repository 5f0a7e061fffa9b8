/**
 * `kubectl get` output: the column-aligned tables (pods -o wide, nodes, endpoints, pvc, events) and
 * a few core/v1 objects as JSON/YAML (Endpoints, NodeList, StorageClass).
 *
 * kubectl prints tables through a tabwriter: every cell starts at its column's offset in the
 * header, and columns are separated by at least one space (in practice three). Header names are
 * separated by two or more spaces ("NOMINATED NODE", "LAST SEEN" are one column each). A row
 * whose cells do not start at the header's offsets is an error, never a guess.
 */
import { z } from "zod";
import { ParseError } from "../parse-error.ts";
import { canonicalIp, check, isIpAddress, lines, splitHostPort, structuredDocuments, ELISION, lineStep, type ParseOptions } from "./common.ts";

export interface KubectlTable {
  columns: string[];
  rows: Record<string, string>[];
  /** 1-based line number of each row in the input */
  lineOf: number[];
  /** each row's line as printed */
  rawOf?: string[];
}

/**
 * Read one table. Blank lines before the header and after the last row are skipped; a blank line
 * between rows is an error (a second table is a different input). `indent` strips a fixed indentation (describe blocks).
 */
export function parseKubectlTable(parser: string, text: string, opts: { indent?: number; firstLine?: number; parse?: ParseOptions | undefined } = {}): KubectlTable {
  const all = lines(text);
  while (all.length && all[all.length - 1]!.trim() === "") all.pop();
  const first = opts.firstLine ?? 1;
  let i = 0;
  while (i < all.length && all[i]!.trim() === "") i++;
  if (i >= all.length) throw new ParseError(parser, undefined, text, "no table header");
  const strip = (s: string, n: number) => {
    const ind = opts.indent ?? 0;
    if (ind && s.slice(0, ind).trim() !== "") throw new ParseError(parser, n, s, `expected ${ind} spaces of indentation`);
    return s.slice(ind);
  };
  const header = strip(all[i]!, i + first).trimEnd();
  const columns: string[] = [];
  const starts: number[] = [];
  const re = /\S+(?: \S+)*/g;
  for (let m = re.exec(header); m; m = re.exec(header)) {
    columns.push(m[0]);
    starts.push(m.index);
  }
  if (columns.length === 0 || starts[0] !== 0) throw new ParseError(parser, i + first, header, "header must start at column 0");
  if (!columns.every((c) => /^[A-Z][A-Za-z0-9_ -]*$/.test(c))) throw new ParseError(parser, i + first, header, "not a kubectl table header");
  if (new Set(columns).size !== columns.length) throw new ParseError(parser, i + first, header, "duplicate column names");

  const rows: Record<string, string>[] = [];
  const lineOf: number[] = [];
  const rawOf: string[] = [];
  for (let j = i + 1; j < all.length; j++) {
    const n = j + first;
    const raw = all[j]!;
    lineStep(opts.parse, { no: n, text: raw }, () => {
    if (opts.parse?.tolerant && ELISION.test(raw)) throw new ParseError(parser, n, raw, "elision or comment in a pasted excerpt");
    if (raw.trim() === "") throw new ParseError(parser, n, raw, "blank line inside a table");
    const line = strip(raw, n).trimEnd();
    if (/[\t\u0000-\u001f\u007f]/.test(line)) throw new ParseError(parser, n, raw, "control character in a table row");
    const row: Record<string, string> = {};
    for (let c = 0; c < columns.length; c++) {
      const start = starts[c]!;
      const end = c + 1 < columns.length ? starts[c + 1]! : Infinity;
      if (c > 0 && line.length > start && line[start - 1] !== " ") {
        throw new ParseError(parser, n, raw, `cell of ${columns[c - 1]} runs into column ${columns[c]}`);
      }
      const cell = line.slice(start, end);
      if (cell !== "" && cell[0] === " " && cell.trim() !== "") {
        throw new ParseError(parser, n, raw, `cell of ${columns[c]} does not start at the column's offset`);
      }
      const value = cell.trim();
      if (c + 1 < columns.length && /\s{2,}/.test(value)) throw new ParseError(parser, n, raw, `cell of ${columns[c]} holds a column gap`);
      row[columns[c]!] = value;
    }
    if (row[columns[0]!] === "") throw new ParseError(parser, n, raw, `row without ${columns[0]}`);
    rows.push(row);
    lineOf.push(n);
    rawOf.push(raw);
    });
  }
  return { columns, rows, lineOf, rawOf };
}

/**
 * Map a table's rows; in tolerant mode a row the mapper refuses is skipped with a warning (its line
 * and cells), so one odd row of a pasted listing does not lose the others.
 */
export function tableRows<T>(opts: ParseOptions | undefined, t: KubectlTable, fn: (r: Record<string, string>, line: number) => T): T[] {
  const out: T[] = [];
  t.rows.forEach((r, k) => {
    const n = t.lineOf[k]!;
    const v = lineStep(opts, { no: n, text: t.rawOf?.[k] ?? Object.values(r).join(" ") }, () => fn(r, n));
    if (v !== undefined) out.push(v);
  });
  return out;
}

function need(parser: string, t: KubectlTable, cols: string[], text: string): void {
  const missing = cols.filter((c) => !t.columns.includes(c));
  if (missing.length) throw new ParseError(parser, undefined, text.split("\n")[0] ?? "", `missing column(s) ${missing.join(", ")}`);
}

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const AGE = /^(<unknown>|<invalid>|\d+[smhdy](\d+[smhdy])?)$/;

// ---------------------------------------------------------------------------------------------
// pods

export interface PodRow {
  namespace?: string;
  name: string;
  readyContainers: number;
  totalContainers: number;
  /** every container ready (READY n/n with n > 0) */
  ready: boolean;
  status: string;
  restarts: number;
  age: string;
  ip?: string;
  node?: string;
}

/** `kubectl get pods [-A] [-o wide]` */
export function parsePods(text: string, opts?: ParseOptions): PodRow[] {
  const P = "kubectl-pods";
  const t = parseKubectlTable(P, text, { parse: opts });
  need(P, t, ["NAME", "READY", "STATUS", "RESTARTS", "AGE"], text);
  return tableRows(opts, t, (r, n) => {
    const bad = (what: string) => new ParseError(P, n, Object.values(r).join(" "), what);
    const ready = /^(\d+)\/(\d+)$/.exec(r.READY!);
    if (!ready) throw bad(`READY "${r.READY}" is not n/m`);
    const restarts = /^(\d+)( \(\S+ ago\))?$/.exec(r.RESTARTS!);
    if (!restarts) throw bad(`RESTARTS "${r.RESTARTS}" is not a count`);
    if (!NAME.test(r.NAME!)) throw bad(`NAME "${r.NAME}" is not a pod name`);
    // Running, ContainerCreating, Init:0/1, Init:CrashLoopBackOff, Terminating, Completed, …
    if (!/^[A-Za-z][A-Za-z0-9]*(:[A-Za-z0-9/]+)?$/.test(r.STATUS!)) throw bad(`STATUS "${r.STATUS}" is not a pod status`);
    if (!AGE.test(r.AGE!)) throw bad(`AGE "${r.AGE}" is not an age`);
    const row: PodRow = {
      name: r.NAME!,
      readyContainers: Number(ready[1]),
      totalContainers: Number(ready[2]),
      ready: Number(ready[2]) > 0 && ready[1] === ready[2],
      status: r.STATUS!,
      restarts: Number(restarts[1]),
      age: r.AGE!,
    };
    if (Number(ready[1]) > Number(ready[2])) throw bad(`READY "${r.READY}" counts more ready than total`);
    if ("NAMESPACE" in r) {
      if (!NAME.test(r.NAMESPACE!)) throw bad(`NAMESPACE "${r.NAMESPACE}" is not a namespace`);
      row.namespace = r.NAMESPACE!;
    }
    if ("IP" in r && r.IP !== "<none>" && r.IP !== "") {
      if (!isIpAddress(r.IP!)) throw bad(`IP "${r.IP}" is not an address`);
      row.ip = r.IP!;
    }
    if ("NODE" in r && r.NODE !== "<none>" && r.NODE !== "") {
      if (!NAME.test(r.NODE!)) throw bad(`NODE "${r.NODE}" is not a node name`);
      row.node = r.NODE!;
    }
    return row;
  });
}

// ---------------------------------------------------------------------------------------------
// nodes

export interface NodeRow {
  name: string;
  ready: boolean;
  status: string;
  roles: string[];
  version: string;
  /** extra columns, e.g. from `-L ipam-worker`, keyed by the header name */
  extra: Record<string, string>;
}

/** `kubectl get nodes [-L label…]` */
export function parseNodes(text: string, opts?: ParseOptions): NodeRow[] {
  const P = "kubectl-nodes";
  const t = parseKubectlTable(P, text, { parse: opts });
  need(P, t, ["NAME", "STATUS", "ROLES", "AGE", "VERSION"], text);
  return tableRows(opts, t, (r, n) => {
    const bad = (what: string) => new ParseError(P, n, Object.values(r).join(" "), what);
    if (!NAME.test(r.NAME!)) throw bad(`NAME "${r.NAME}" is not a node name`);
    const status = r.STATUS!.split(",");
    if (!["Ready", "NotReady", "Unknown"].includes(status[0]!) || !status.slice(1).every((s) => s === "SchedulingDisabled")) {
      throw bad(`STATUS "${r.STATUS}" is not a node status`);
    }
    if (!/^(<none>|[a-z0-9.-]+(,[a-z0-9.-]+)*)$/.test(r.ROLES!)) throw bad(`ROLES "${r.ROLES}" is not a role list`);
    if (!/^v\d+\.\d+\.\d+\S*$/.test(r.VERSION!)) throw bad(`VERSION "${r.VERSION}" is not a version`);
    if (!AGE.test(r.AGE!)) throw bad(`AGE "${r.AGE}" is not an age`);
    const extra: Record<string, string> = {};
    for (const c of t.columns) if (!["NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"].includes(c)) extra[c] = r[c]!;
    return {
      name: r.NAME!,
      ready: status[0] === "Ready",
      status: r.STATUS!,
      roles: r.ROLES === "<none>" ? [] : r.ROLES!.split(","),
      version: r.VERSION!,
      extra,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// endpoints (table)

export interface EndpointsRow {
  name: string;
  /** "ip:port" entries; empty for <none> */
  endpoints: string[];
}

/** `kubectl get endpoints`; a truncated list ("+ 2 more...") is refused: use -o json for those. */
export function parseEndpointsTable(text: string, opts?: ParseOptions): EndpointsRow[] {
  const P = "kubectl-endpoints";
  const t = parseKubectlTable(P, text, { parse: opts });
  need(P, t, ["NAME", "ENDPOINTS", "AGE"], text);
  return tableRows(opts, t, (r, n) => {
    const bad = (what: string) => new ParseError(P, n, Object.values(r).join(" "), what);
    if (!NAME.test(r.NAME!)) throw bad(`NAME "${r.NAME}" is not a name`);
    if (!AGE.test(r.AGE!)) throw bad(`AGE "${r.AGE}" is not an age`);
    if (/more\.\.\.$/.test(r.ENDPOINTS!)) throw bad("endpoint list truncated by kubectl; collect with -o json");
    const eps = r.ENDPOINTS === "<none>" ? [] : r.ENDPOINTS!.split(",");
    for (const e of eps) if (!splitHostPort(e)) throw bad(`endpoint "${e}" is not ip:port`);
    return { name: r.NAME!, endpoints: eps };
  });
}

// ---------------------------------------------------------------------------------------------
// persistent volume claims

export interface PvcRow {
  name: string;
  status: "Bound" | "Pending" | "Lost";
  volume: string;
  capacity: string;
  accessModes: string[];
  storageClass: string;
  age: string;
}

/** `kubectl get pvc` */
export function parsePvcs(text: string, opts?: ParseOptions): PvcRow[] {
  const P = "kubectl-pvc";
  const t = parseKubectlTable(P, text, { parse: opts });
  need(P, t, ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS", "AGE"], text);
  return tableRows(opts, t, (r, n) => {
    const bad = (what: string) => new ParseError(P, n, Object.values(r).join(" "), what);
    if (!NAME.test(r.NAME!)) throw bad(`NAME "${r.NAME}" is not a name`);
    if (r.STATUS !== "Bound" && r.STATUS !== "Pending" && r.STATUS !== "Lost") throw bad(`STATUS "${r.STATUS}" is not a claim phase`);
    if (r.VOLUME !== "" && !NAME.test(r.VOLUME!)) throw bad(`VOLUME "${r.VOLUME}" is not a volume name`);
    if (r.CAPACITY !== "" && !/^\d+(\.\d+)?([KMGTPE]i?|m|k)?$/.test(r.CAPACITY!)) throw bad(`CAPACITY "${r.CAPACITY}" is not a quantity`);
    const modes = r["ACCESS MODES"] === "" ? [] : r["ACCESS MODES"]!.split(",");
    if (!modes.every((m) => ["RWO", "ROX", "RWX", "RWOP"].includes(m))) throw bad(`ACCESS MODES "${r["ACCESS MODES"]}" unknown`);
    if (!AGE.test(r.AGE!)) throw bad(`AGE "${r.AGE}" is not an age`);
    if (r.STATUS === "Bound" && (r.VOLUME === "" || modes.length === 0)) throw bad("a Bound claim without volume or access modes");
    return {
      name: r.NAME!,
      status: r.STATUS,
      volume: r.VOLUME!,
      capacity: r.CAPACITY!,
      accessModes: modes,
      storageClass: r.STORAGECLASS === "<unset>" ? "" : r.STORAGECLASS!,
      age: r.AGE!,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// core/v1 objects as JSON or YAML

const K8sName = z.string().regex(NAME);
const Meta = z.object({ name: K8sName, namespace: K8sName.optional(), labels: z.record(z.string(), z.string()).optional(), uid: z.string().optional() });

const EndpointAddress = z.object({
  ip: z.string().refine(isIpAddress, "not an IP address").transform(canonicalIp),
  nodeName: z.string().optional(),
  hostname: z.string().optional(),
  targetRef: z.object({ kind: z.string(), name: z.string(), namespace: z.string().optional() }).partial().optional(),
});
const EndpointPort = z.object({ name: z.string().optional(), port: z.number().int().min(1).max(65535), protocol: z.enum(["TCP", "UDP", "SCTP"]).default("TCP") });
export const EndpointsSchema = z.object({
  kind: z.literal("Endpoints").optional(),
  metadata: Meta,
  subsets: z
    .array(z.object({ addresses: z.array(EndpointAddress).default([]), notReadyAddresses: z.array(EndpointAddress).default([]), ports: z.array(EndpointPort).default([]) }))
    .default([]),
});
export type Endpoints = z.output<typeof EndpointsSchema>;

function objectsOf(parser: string, text: string): unknown[] {
  const out: unknown[] = [];
  for (const d of structuredDocuments(parser, text)) {
    if (d && typeof d === "object" && !Array.isArray(d) && Array.isArray((d as { items?: unknown }).items)) out.push(...((d as { items: unknown[] }).items));
    else out.push(d);
  }
  return out;
}

/** `kubectl get endpoints NAME -o json|yaml` (one object, a List, or several documents) */
export function parseEndpointsObjects(text: string): Endpoints[] {
  return objectsOf("endpoints-json", text).map((o) => check("endpoints-json", EndpointsSchema, o));
}

const Taint = z.object({ key: z.string().min(1), value: z.string().optional(), effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]) });
export const NodeSchema = z.object({
  kind: z.literal("Node").optional(),
  metadata: Meta,
  spec: z.object({ taints: z.array(Taint).default([]), podCIDR: z.string().optional(), unschedulable: z.boolean().optional() }).default({ taints: [] }),
  status: z
    .object({
      conditions: z.array(z.object({ type: z.string(), status: z.enum(["True", "False", "Unknown"]) }).loose()).default([]),
      addresses: z.array(z.object({ type: z.string(), address: z.string() })).default([]),
    })
    .loose()
    .optional(),
});

export interface NodeInfo {
  name: string;
  labels: Record<string, string>;
  taints: { key: string; value?: string; effect: string }[];
  ready?: boolean;
}

/** `kubectl get nodes -o json|yaml` → name, labels, taints, Ready */
export function parseNodeObjects(text: string): NodeInfo[] {
  return objectsOf("nodes-json", text).map((o) => {
    const n = check("nodes-json", NodeSchema, o);
    const cond = n.status?.conditions.find((c) => c.type === "Ready");
    const info: NodeInfo = { name: n.metadata.name, labels: n.metadata.labels ?? {}, taints: n.spec.taints };
    if (cond) info.ready = cond.status === "True";
    return info;
  });
}

export const StorageClassSchema = z.object({
  apiVersion: z.literal("storage.k8s.io/v1"),
  kind: z.literal("StorageClass"),
  metadata: Meta,
  provisioner: z.string().min(1),
  reclaimPolicy: z.enum(["Delete", "Retain"]).default("Delete"),
  volumeBindingMode: z.enum(["Immediate", "WaitForFirstConsumer"]).default("Immediate"),
  mountOptions: z.array(z.string()).optional(),
  parameters: z.record(z.string(), z.string()).optional(),
  allowVolumeExpansion: z.boolean().optional(),
});
export type StorageClass = z.output<typeof StorageClassSchema>;

/** a StorageClass manifest or `kubectl get sc NAME -o yaml|json` */
export function parseStorageClass(text: string): StorageClass {
  const docs = objectsOf("storageclass", text);
  if (docs.length !== 1) throw new ParseError("storageclass", undefined, text, `expected one StorageClass, got ${docs.length} documents`);
  return check("storageclass", StorageClassSchema, docs[0]);
}
