import { type KubernetesObject, PatchStrategy } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { redact } from "../report/redact.ts";
import { type KubeClient, apiErrorMessage, isNotFound } from "./client.ts";
import { AbortWait, type WaitBudget, waitFor } from "./wait.ts";

/** One object of a multi-document YAML text. */
export interface KubeDoc {
  /** 1-based position of its document in the text (items of a List share their List's index) */
  index: number;
  /** how many documents the text has (empty ones included, so that index ≤ of), for "document 3 of 7" */
  of: number;
  object: KubernetesObject & Record<string, unknown>;
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

/** "document 3 of 7 (Deployment metallb-system/controller)" */
export function docRef(d: Pick<KubeDoc, "index" | "of" | "kind" | "name" | "namespace">): string {
  return `document ${d.index} of ${d.of} (${d.kind} ${d.namespace ? `${d.namespace}/` : ""}${d.name})`;
}

export class ManifestError extends Error {
  readonly index: number;
  constructor(index: number, message: string) {
    super(`manifest document ${index}: ${message}`);
    this.name = "ManifestError";
    this.index = index;
  }
}

/** Split and parse a multi-document YAML text (the YAML 1.1 rules Kubernetes' own parser follows). */
export function parseDocuments(text: string): KubeDoc[] {
  // YAML 1.1 as sigs.k8s.io/yaml (go-yaml v2): `defaultMode: 0644` is octal 420, `yes` is a boolean.
  // Timestamps stay strings, as they reach the API server as JSON strings anyway.
  const docs = parseAllDocuments(text, {
    version: "1.1",
    customTags: (tags) => tags.filter((t) => (typeof t === "object" && "tag" in t ? t.tag !== "tag:yaml.org,2002:timestamp" : true)),
  });
  const list = Array.isArray(docs) ? docs : [docs];
  const raw: Array<{ index: number; value: unknown }> = [];
  list.forEach((doc, i) => {
    const index = i + 1;
    if (doc.errors.length) throw new ManifestError(index, `not valid YAML: ${doc.errors[0]!.message}`);
    const value = doc.toJS({ maxAliasCount: 1000 }) as unknown;
    if (value === null || value === undefined) return; // an empty document, or only comments
    raw.push({ index, value });
  });
  const out: Array<Omit<KubeDoc, "of">> = [];
  for (const { index, value } of raw) {
    const o = checkObject(index, value);
    if (/List$/.test(o.kind!) && Array.isArray((o as { items?: unknown }).items)) {
      ((o as { items: unknown[] }).items).forEach((item, k) => out.push(toDoc(index, checkObject(index, item, `item ${k}`))));
    } else out.push(toDoc(index, o));
  }
  return out.map((d) => ({ ...d, of: list.length }));
}

function checkObject(index: number, v: unknown, where = ""): KubernetesObject & Record<string, unknown> {
  const at = where ? `${where}: ` : "";
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new ManifestError(index, `${at}not a mapping (a Kubernetes object)`);
  const o = v as Record<string, unknown>;
  if (typeof o.apiVersion !== "string" || !o.apiVersion) throw new ManifestError(index, `${at}no apiVersion`);
  if (typeof o.kind !== "string" || !o.kind) throw new ManifestError(index, `${at}no kind`);
  const md = o.metadata as { name?: unknown } | undefined;
  if (!/List$/.test(o.kind) && (typeof md !== "object" || md === null || typeof md.name !== "string" || !md.name))
    throw new ManifestError(index, `${at}${o.kind} has no metadata.name (server-side apply needs a name)`);
  return o as KubernetesObject & Record<string, unknown>;
}

function toDoc(index: number, o: KubernetesObject & Record<string, unknown>): Omit<KubeDoc, "of"> {
  const d: Omit<KubeDoc, "of"> = { index, object: o, apiVersion: o.apiVersion!, kind: o.kind!, name: o.metadata!.name! };
  if (o.metadata?.namespace) d.namespace = o.metadata.namespace;
  return d;
}

const isCrd = (d: KubeDoc) => d.kind === "CustomResourceDefinition" && d.apiVersion.startsWith("apiextensions.k8s.io/");
const isNs = (d: KubeDoc) => d.kind === "Namespace" && d.apiVersion === "v1";

/**
 * Apply order: CustomResourceDefinitions first, then Namespaces, then everything else in document
 * order (a CR or a namespaced object may come before its CRD or Namespace in upstream manifests).
 */
export function orderForApply(docs: KubeDoc[]): KubeDoc[] {
  return [...docs.filter(isCrd), ...docs.filter((d) => !isCrd(d) && isNs(d)), ...docs.filter((d) => !isCrd(d) && !isNs(d))];
}

/** Delete order: the reverse of the apply order (custom resources before their CRDs, Namespaces last but CRDs). */
export function orderForDelete(docs: KubeDoc[]): KubeDoc[] {
  return orderForApply(docs).reverse();
}

export class ApplyError extends Error {
  readonly doc: KubeDoc;
  override readonly cause: unknown;
  constructor(doc: KubeDoc, verb: string, cause: unknown) {
    super(redact(`${verb} ${docRef(doc)}: ${apiErrorMessage(cause)}`));
    this.name = "ApplyError";
    this.doc = doc;
    this.cause = cause;
  }
}

export interface ApplyOptions {
  fieldManager?: string;
  /** namespace for namespaced objects that name none (cluster-scoped objects are left alone) */
  namespace?: string;
  /** take over fields owned by other managers (server-side apply `force`); default true */
  force?: boolean;
  dryRun?: boolean;
  /** how long applied CRDs may take to become Established; default 60 s */
  crdEstablished?: WaitBudget;
  /**
   * Retry a document that an admission webhook refused to answer for ("failed calling webhook": the
   * webhook's pod is not serving yet), for this long. Without it the first refusal fails the apply.
   */
  webhookRetry?: WaitBudget;
}

export interface AppliedObject {
  ref: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
}

const WEBHOOK_NOT_READY = /failed calling webhook|no endpoints available for service|connection refused/i;

/**
 * Server-side apply of every object of a multi-document YAML text, CRDs first, then Namespaces,
 * then the rest in document order. Stops at the first object that fails, naming its document.
 */
export async function apply(kube: KubeClient, yamlText: string, opts: ApplyOptions = {}): Promise<AppliedObject[]> {
  const docs = orderForApply(parseDocuments(yamlText));
  const fieldManager = opts.fieldManager ?? "netconform";
  const out: AppliedObject[] = [];
  const crds: KubeDoc[] = [];
  let crdsWaited = false;
  for (const d of docs) {
    if (!isCrd(d) && crds.length && !crdsWaited) {
      await waitCrdsEstablished(kube, crds, opts.crdEstablished ?? { timeoutMs: 60_000, timeoutLabel: "CRDs Established, default budget" });
      crdsWaited = true;
    }
    const spec = structuredClone(d.object);
    let doc = d; // with the namespace it is applied in, for messages
    try {
      const res = await kube.objects.resourceOf(d.apiVersion, d.kind);
      if (!res) throw new Error(`the API server does not serve ${d.kind} in ${d.apiVersion}`);
      if (res.namespaced && !spec.metadata!.namespace && opts.namespace) spec.metadata!.namespace = opts.namespace;
      if (res.namespaced && spec.metadata!.namespace) doc = { ...d, namespace: spec.metadata!.namespace };
    } catch (e) {
      throw new ApplyError(d, "apply", e);
    }
    const patch = () => kube.objects.patch(spec, undefined, opts.dryRun ? "All" : undefined, fieldManager, opts.force ?? true, PatchStrategy.ServerSideApply);
    let result: KubernetesObject;
    try {
      result = await patch();
    } catch (e) {
      if (!opts.webhookRetry || !WEBHOOK_NOT_READY.test(apiErrorMessage(e))) throw new ApplyError(doc, "apply", e);
      let applied: KubernetesObject | undefined;
      try {
        await waitFor(`admission webhook to accept ${docRef(doc)}`, async () => {
          try {
            applied = await patch();
            return { done: true, detail: "applied" };
          } catch (e2) {
            if (!WEBHOOK_NOT_READY.test(apiErrorMessage(e2))) throw new AbortWait(new ApplyError(doc, "apply", e2));
            return { done: false, detail: apiErrorMessage(e2) };
          }
        }, opts.webhookRetry);
      } catch (e3) {
        throw e3 instanceof ApplyError ? e3 : new ApplyError(doc, "apply", e3);
      }
      result = applied!;
    }
    if (isCrd(d)) crds.push(d);
    const a: AppliedObject = { ref: docRef(doc), kind: d.kind, name: d.name };
    const ns = result.metadata?.namespace ?? spec.metadata?.namespace;
    if (ns) a.namespace = ns;
    if (result.metadata?.uid) a.uid = result.metadata.uid;
    if (result.metadata?.resourceVersion) a.resourceVersion = result.metadata.resourceVersion;
    out.push(a);
  }
  if (crds.length && !crdsWaited) await waitCrdsEstablished(kube, crds, opts.crdEstablished ?? { timeoutMs: 60_000, timeoutLabel: "CRDs Established, default budget" });
  return out;
}

async function waitCrdsEstablished(kube: KubeClient, crds: KubeDoc[], budget: WaitBudget): Promise<void> {
  if (crds.length === 0) return;
  await waitFor(`CRDs Established: ${crds.map((c) => c.name).join(", ")}`, async () => {
    const pending: string[] = [];
    for (const c of crds) {
      const crd = await kube.apiext.readCustomResourceDefinition({ name: c.name });
      const est = crd.status?.conditions?.find((x) => x.type === "Established");
      if (est?.status !== "True") pending.push(`${c.name} (Established=${est?.status ?? "absent"}${est?.message ? `: ${est.message}` : ""})`);
    }
    return { done: pending.length === 0, detail: pending.length ? `not yet: ${pending.join(", ")}` : "all Established" };
  }, budget);
}

export interface DeleteOptions {
  namespace?: string;
  /** default Background: dependents are removed by the garbage collector */
  propagationPolicy?: "Background" | "Foreground" | "Orphan";
  gracePeriodSeconds?: number;
}

export interface DeletedObject {
  ref: string;
  /** false: it was not there (NotFound, or its kind is no longer served) */
  deleted: boolean;
}

/** Delete every object of a multi-document YAML text, in reverse apply order; absent objects are fine. */
export async function deleteObjects(kube: KubeClient, yamlText: string, opts: DeleteOptions = {}): Promise<DeletedObject[]> {
  const docs = orderForDelete(parseDocuments(yamlText));
  const out: DeletedObject[] = [];
  for (const d of docs) {
    const spec = structuredClone(d.object);
    let ref = docRef(d);
    try {
      let res;
      try {
        res = await kube.objects.resourceOf(d.apiVersion, d.kind);
      } catch (e) {
        if (isNotFound(e)) {
          out.push({ ref: docRef(d), deleted: false }); // the group/version is gone: so are its objects
          continue;
        }
        throw e;
      }
      if (!res) {
        out.push({ ref: docRef(d), deleted: false });
        continue;
      }
      if (res.namespaced && !spec.metadata!.namespace && opts.namespace) spec.metadata!.namespace = opts.namespace;
      if (res.namespaced && spec.metadata!.namespace) ref = docRef({ ...d, namespace: spec.metadata!.namespace });
      await kube.objects.delete(spec, undefined, undefined, opts.gracePeriodSeconds, undefined, opts.propagationPolicy ?? "Background");
      out.push({ ref, deleted: true });
    } catch (e) {
      if (isNotFound(e)) out.push({ ref, deleted: false });
      else throw new ApplyError(d, "delete", e);
    }
  }
  return out;
}

/** Set (string) or remove (null) labels of a node with a JSON merge patch. */
export async function labelNode(kube: KubeClient, name: string, labels: Record<string, string | null>): Promise<void> {
  const spec = { apiVersion: "v1", kind: "Node", metadata: { name, labels } } as unknown as KubernetesObject;
  try {
    await kube.objects.patch(spec, undefined, undefined, "netconform", undefined, PatchStrategy.MergePatch);
  } catch (e) {
    throw new Error(`label node ${name}: ${apiErrorMessage(e)}`);
  }
}
