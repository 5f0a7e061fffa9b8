/** Reading what happened in a cluster: events and pod logs. */
import type { CoreV1Event } from "@kubernetes/client-node";
import type { KubeClient } from "./client.ts";

export interface EventFilter {
  /** only events about this object; any field may be left out */
  involvedObject?: { kind?: string; name?: string; namespace?: string; uid?: string };
}

/** when an event happened last, for ordering: series, lastTimestamp, eventTime, firstTimestamp, creation */
export function eventTime(e: CoreV1Event): number {
  const t = e.series?.lastObservedTime ?? e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp;
  return t ? new Date(t).getTime() : 0;
}

export function sortEvents(events: CoreV1Event[]): CoreV1Event[] {
  return [...events].sort((a, b) => eventTime(a) - eventTime(b) || (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""));
}

export function involvedObjectSelector(f: EventFilter["involvedObject"]): string | undefined {
  if (!f) return undefined;
  const parts: string[] = [];
  for (const k of ["kind", "name", "namespace", "uid"] as const) if (f[k]) parts.push(`involvedObject.${k}=${f[k]}`);
  return parts.length ? parts.join(",") : undefined;
}

/** core/v1 Events of a namespace (all namespaces when ns is undefined), oldest first */
export async function events(kube: KubeClient, ns?: string, filter: EventFilter = {}): Promise<CoreV1Event[]> {
  const fieldSelector = involvedObjectSelector(filter.involvedObject);
  const list = ns === undefined
    ? await kube.core.listEventForAllNamespaces(fieldSelector ? { fieldSelector } : {})
    : await kube.core.listNamespacedEvent({ namespace: ns, ...(fieldSelector ? { fieldSelector } : {}) });
  return sortEvents(list.items);
}

/** one line per event, oldest first: "2026-11-23T18:00:01Z Warning FailedScheduling pod/ns/x (default-scheduler ×3): message" */
export function formatEvents(evs: CoreV1Event[]): string {
  return evs
    .map((e) => {
      const t = eventTime(e);
      const io = e.involvedObject;
      const src = e.source?.component || e.reportingComponent || "";
      const count = e.series?.count ?? e.count;
      return `${t ? new Date(t).toISOString() : "-"} ${e.type ?? "-"} ${e.reason ?? "-"} ${(io.kind ?? "").toLowerCase()}/${io.namespace ? `${io.namespace}/` : ""}${io.name ?? ""}${src || count ? ` (${src}${count && count > 1 ? ` ×${count}` : ""})` : ""}: ${(e.message ?? "").trim()}`;
    })
    .join("\n");
}

export interface LogOptions {
  sinceSeconds?: number;
  /** the previous (crashed) instance of the container */
  previous?: boolean;
  tailLines?: number;
}

/** a container's log as text */
export async function podLogs(kube: KubeClient, ns: string, pod: string, container?: string, opts: LogOptions = {}): Promise<string> {
  let r: unknown;
  try {
    r = await kube.core.readNamespacedPodLog({
    namespace: ns,
    name: pod,
    ...(container ? { container } : {}),
    ...(opts.sinceSeconds !== undefined ? { sinceSeconds: opts.sinceSeconds } : {}),
    ...(opts.previous ? { previous: true } : {}),
    ...(opts.tailLines !== undefined ? { tailLines: opts.tailLines } : {}),
    });
  } catch (e) {
    // an empty log can come back without a Content-Type, which the generated client refuses to parse
    if (e instanceof Error && /No Content-Type defined/.test(e.message)) return "";
    throw e;
  }
  return typeof r === "string" ? r : String(r ?? "");
}
