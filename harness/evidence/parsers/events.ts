/**
 * Kubernetes events, from three places, normalised into one KubeEvent:
 *  - `kubectl get events [-A]` (LAST SEEN, TYPE, REASON, OBJECT, MESSAGE)
 *  - the "Events:" block of `kubectl describe` (Type, Reason, Age, From, Message)
 *  - core/v1 Event objects as the API returns them (JSON/YAML, an EventList or single objects)
 */
import { z } from "zod";
import { ParseError } from "../parse-error.ts";
import { check, ELISION, lineStep, lines, softFail, structuredDocuments, warn, type ParseOptions } from "./common.ts";
import { parseKubectlTable, tableRows } from "./kubectl-get.ts";

export interface KubeEvent {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
  /** the involved object; kind is lower-case as kubectl prints it ("pod"), name without namespace */
  object?: { kind: string; name: string; namespace?: string };
  /** reporting component ("kubelet", "default-scheduler", "multus") when known */
  source?: string;
  /** the node it was reported from: source.host, or the "kubelet, <node>" From of older kubectl */
  node?: string;
  /** how many times it happened, when known */
  count?: number;
  /** age as kubectl prints it ("5s") or an RFC 3339 timestamp from the API */
  lastSeen?: string;
}

const REASON = /^[A-Za-z][A-Za-z0-9_.:-]*$/;
const AGE = /^(<unknown>|<invalid>|\d+[smhdy](\d+[smhdy])?)$/;

function typeOf(parser: string, n: number, raw: string, t: string): KubeEvent["type"] {
  if (t !== "Normal" && t !== "Warning") throw new ParseError(parser, n, raw, `event type "${t}" is neither Normal nor Warning`);
  return t;
}

/** `kubectl get events [-o wide]`: OBJECT is "kind/name"; with -A there is a NAMESPACE column first. */
export function parseEventsTable(text: string, opts?: ParseOptions): KubeEvent[] {
  const P = "kubectl-events";
  const t = parseKubectlTable(P, text, { parse: opts });
  for (const c of ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]) {
    if (!t.columns.includes(c)) throw new ParseError(P, undefined, text.split("\n")[0] ?? "", `missing column ${c}`);
  }
  return tableRows(opts, t, (r, n) => {
    const raw = Object.values(r).join(" ");
    if (!AGE.test(r["LAST SEEN"]!)) throw new ParseError(P, n, raw, `LAST SEEN "${r["LAST SEEN"]}" is not an age`);
    if (!REASON.test(r.REASON!)) throw new ParseError(P, n, raw, `REASON "${r.REASON}" is not a reason`);
    const obj = /^([a-z][a-z0-9.-]*)\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/.exec(r.OBJECT!);
    if (!obj) throw new ParseError(P, n, raw, `OBJECT "${r.OBJECT}" is not kind/name`);
    if (r.MESSAGE === "") throw new ParseError(P, n, raw, "empty MESSAGE");
    const ev: KubeEvent = {
      type: typeOf(P, n, raw, r.TYPE!),
      reason: r.REASON!,
      message: r.MESSAGE!,
      object: { kind: obj[1]!, name: obj[2]! },
      lastSeen: r["LAST SEEN"]!,
    };
    if (r.NAMESPACE) ev.object!.namespace = r.NAMESPACE;
    // -o wide adds SUBOBJECT, SOURCE, MESSAGE, FIRST SEEN, COUNT, NAME
    if (r.SOURCE) {
      if (!/^[a-z][a-z0-9_.-]*(, [a-z0-9.-]+)?$/.test(r.SOURCE)) throw new ParseError(P, n, raw, `SOURCE "${r.SOURCE}" is not a component`);
      ev.source = r.SOURCE.split(",")[0]!;
      const host = r.SOURCE.split(", ")[1];
      if (host) ev.node = host;
    }
    if (r.COUNT !== undefined && r.COUNT !== "") {
      if (!/^\d+$/.test(r.COUNT)) throw new ParseError(P, n, raw, `COUNT "${r.COUNT}" is not a count`);
      ev.count = Number(r.COUNT);
    }
    return ev;
  });
}

/**
 * The "Events:" block of `kubectl describe <kind> <name>`. Everything before the "Events:" line is
 * the describe body and is not examined; every line after it must be part of the block.
 * `object` names the described object, which the block itself does not repeat.
 *
 * kubectl writes the block through a tabwriter (cells padded by at least two spaces) and prints
 * a message's own newlines as they are: the text after one starts a line of its own, at column 0,
 * and the rows after it may be aligned anew. So a row is read by its cells (Type, Reason, Age,
 * From, Message, split at runs of two or more spaces), not by the header's offsets, and a line that
 * does not start a row continues the previous row's message. Older kubectl printed From as
 * "kubelet, <node>": the node is kept (`node`).
 */
export function parseDescribeEvents(text: string, object?: KubeEvent["object"], opts?: ParseOptions): KubeEvent[] {
  const P = "describe-events";
  const all = lines(text);
  const at = all.findIndex((l) => /^Events:/.test(l));
  if (at < 0) throw new ParseError(P, undefined, text.slice(0, 200), 'no "Events:" block');
  const head = all[at]!.slice("Events:".length).trim();
  if (head === "<none>") {
    const rest = all.slice(at + 1).findIndex((l) => l.trim() !== "");
    if (rest >= 0) softFail(opts, new ParseError(P, at + 2 + rest, all[at + 1 + rest]!, "text after Events: <none>"));
    return [];
  }
  if (head !== "") throw new ParseError(P, at + 1, all[at]!, "unexpected text after Events:");
  const body = all.slice(at + 1);
  while (body.length && body[body.length - 1]!.trim() === "") body.pop();
  if (body.length < 2) throw new ParseError(P, at + 2, body[0] ?? "", "events block without header and ruler");
  const cols = body[0]!.trim().split(/\s{2,}/);
  for (const c of ["Type", "Reason", "Age", "From", "Message"]) {
    if (!cols.includes(c) && !cols.includes(c.toUpperCase())) throw new ParseError(P, at + 2, body[0]!, `missing column ${c}`);
  }
  if (cols.join(" ").toLowerCase() !== "type reason age from message") throw new ParseError(P, at + 2, body[0]!, "expected the columns Type, Reason, Age, From, Message");
  const ruler = body[1]!;
  if (!/^ *-+( +-+)* *$/.test(ruler)) throw new ParseError(P, at + 3, ruler, "expected the ---- ruler under the header");
  const out: KubeEvent[] = [];
  let last: KubeEvent | undefined;
  for (let k = 2; k < body.length; k++) {
    const n = at + 2 + k;
    const raw = body[k]!;
    if (/^\s*(Normal|Warning)\s{2,}\S/.test(raw) || /^\s+\S+\s{2,}\S+\s{2,}\S/.test(raw)) {
      last = lineStep(opts, { no: n, text: raw }, () => describeRow(P, n, raw, object));
      if (last) out.push(last);
      continue;
    }
    if (opts?.tolerant && ELISION.test(raw)) {
      warn(opts, n, raw, "elision or comment in a pasted excerpt");
      last = undefined;
      continue;
    }
    // the rest of a multi-line message
    if (!last) {
      softFail(opts, new ParseError(P, n, raw, "line is neither an event row nor the continuation of one"));
      continue;
    }
    last.message += `\n${raw.trim()}`;
  }
  return out;
}

function describeRow(P: string, n: number, raw: string, object: KubeEvent["object"] | undefined): KubeEvent {
  if (/[\t\u0000-\u001f\u007f]/.test(raw)) throw new ParseError(P, n, raw, "control character in an event row");
  const cells = raw.trim().split(/\s{2,}/);
  if (cells.length < 5) throw new ParseError(P, n, raw, `expected Type, Reason, Age, From and Message, found ${cells.length} cell(s) (empty Message?)`);
  const [type, reason, ageText, from] = cells as [string, string, string, string];
  const message = raw.trim().slice(raw.trim().indexOf(from) + from.length).trim();
  if (!REASON.test(reason)) throw new ParseError(P, n, raw, `Reason "${reason}" is not a reason`);
  const age = /^(\S+)(?: \(x(\d+) over (\S+)\))?$/.exec(ageText);
  if (!age || !AGE.test(age[1]!) || (age[3] !== undefined && !AGE.test(age[3]))) throw new ParseError(P, n, raw, `Age "${ageText}" is not an age`);
  const src = /^([A-Za-z][A-Za-z0-9_.-]*)(?:, ([a-z0-9][a-z0-9.-]*))?$/.exec(from);
  if (!src) throw new ParseError(P, n, raw, `From "${from}" is not a component`);
  if (message === "") throw new ParseError(P, n, raw, "empty Message");
  const ev: KubeEvent = { type: typeOf(P, n, raw, type), reason, message, source: src[1]!, lastSeen: age[1]! };
  if (src[2]) ev.node = src[2];
  if (age[2]) ev.count = Number(age[2]);
  if (object) ev.object = { ...object };
  return ev;
}

const Time = z.string().regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/, "not an RFC 3339 time");

/** core/v1 Event as the API returns it (the fields this project reads; others are allowed) */
export const EventObjectSchema = z
  .object({
    apiVersion: z.literal("v1").optional(),
    kind: z.literal("Event").optional(),
    metadata: z.object({ name: z.string().min(1), namespace: z.string().min(1).optional() }).loose(),
    involvedObject: z.object({ kind: z.string().min(1), name: z.string().min(1), namespace: z.string().optional(), uid: z.string().optional(), apiVersion: z.string().optional(), fieldPath: z.string().optional() }).loose(),
    reason: z.string().regex(REASON),
    message: z.string().default(""),
    type: z.enum(["Normal", "Warning"]),
    source: z.object({ component: z.string().optional(), host: z.string().optional() }).optional(),
    reportingComponent: z.string().optional(),
    reportingInstance: z.string().optional(),
    count: z.number().int().min(0).optional(),
    firstTimestamp: Time.nullable().optional(),
    lastTimestamp: Time.nullable().optional(),
    eventTime: Time.nullable().optional(),
    series: z.object({ count: z.number().int().min(0), lastObservedTime: Time }).optional(),
  })
  .loose();
export type EventObject = z.output<typeof EventObjectSchema>;

export function normaliseEvent(e: EventObject): KubeEvent {
  const ev: KubeEvent = { type: e.type, reason: e.reason, message: e.message, object: { kind: e.involvedObject.kind.toLowerCase(), name: e.involvedObject.name } };
  const ns = e.involvedObject.namespace ?? e.metadata.namespace;
  if (ns) ev.object!.namespace = ns;
  const src = e.source?.component || e.reportingComponent;
  if (src) ev.source = src;
  if (e.source?.host) ev.node = e.source.host;
  const count = e.series?.count ?? e.count;
  if (count !== undefined) ev.count = count;
  const seen = e.series?.lastObservedTime ?? e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp;
  if (seen) ev.lastSeen = seen;
  return ev;
}

/** `kubectl get events -o json|yaml` or any stream of Event objects */
export function parseEventObjects(text: string): KubeEvent[] {
  const P = "event-objects";
  const out: KubeEvent[] = [];
  for (const d of structuredDocuments(P, text)) {
    const list = d && typeof d === "object" && !Array.isArray(d) && "items" in d ? (d as { items: unknown }).items : [d];
    if (!Array.isArray(list)) throw new ParseError(P, undefined, text.slice(0, 200), "items is not a list");
    for (const o of list) out.push(normaliseEvent(check(P, EventObjectSchema, o)));
  }
  return out;
}

/** Any of the three shapes, told apart by their first non-blank line. */
export function parseEvents(text: string, object?: KubeEvent["object"], opts?: ParseOptions): KubeEvent[] {
  const first = lines(text).find((l) => l.trim() !== "")?.trim() ?? "";
  if (first.startsWith("{") || first.startsWith("apiVersion") || first.startsWith("kind") || first.startsWith("items") || first.startsWith("- ")) return parseEventObjects(text);
  if (/^(NAMESPACE\s+)?LAST SEEN\s/.test(first)) return parseEventsTable(text, opts);
  return parseDescribeEvents(text, object, opts);
}
