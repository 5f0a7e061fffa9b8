import {
  ApiextensionsV1Api,
  ApiException,
  AppsV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  Exec,
  KubeConfig,
  KubernetesObjectApi,
} from "@kubernetes/client-node";
import { PassThrough } from "node:stream";
// not re-exported by the package index; needed to give Exec streams of our own (see below)
import { WebSocketHandler } from "@kubernetes/client-node/dist/web-socket-handler.js";

/**
 * The dynamic object API, with its (protected) discovery lookup made public: apply needs to know
 * whether a kind is namespaced before it fills in a default namespace.
 */
export class ObjectApi extends KubernetesObjectApi {
  resourceOf(apiVersion: string, kind: string): ReturnType<KubernetesObjectApi["resource"]> {
    return this.resource(apiVersion, kind);
  }
  static fromConfig(kc: KubeConfig): ObjectApi {
    const api = kc.makeApiClient(ObjectApi);
    api.setDefaultNamespace(kc);
    return api;
  }
}

/**
 * One handle on a cluster: the typed APIs the harness uses, the dynamic object API for apply and
 * delete, and Exec over websocket. Built from a kubeconfig path or a KubeConfig; no kubectl.
 */
export interface KubeClient {
  readonly kc: KubeConfig;
  /** the API server URL of the current context, for messages */
  readonly server: string;
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly discovery: DiscoveryV1Api;
  readonly apiext: ApiextensionsV1Api;
  readonly objects: ObjectApi;
  readonly exec: Exec;
}

export function kubeClient(source: string | KubeConfig): KubeClient {
  let kc: KubeConfig;
  if (typeof source === "string") {
    kc = new KubeConfig();
    try {
      kc.loadFromFile(source);
    } catch (e) {
      throw new Error(`kubeconfig ${source}: ${(e as Error).message}`);
    }
  } else kc = source;
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error(`kubeconfig${typeof source === "string" ? ` ${source}` : ""}: no current context / cluster`);
  // Exec's default WebSocketHandler closes process.stdout/stderr when the server sends a v5 CLOSE
  // frame for a stream (WebSocketHandler.closeStream uses its constructor's streams, which default
  // to the process's). Give it throwaway streams so a pod exec can never end the test runner's stdout.
  const sink = { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough() };
  sink.stdout.resume();
  sink.stderr.resume();
  return {
    kc,
    server: cluster.server,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    discovery: kc.makeApiClient(DiscoveryV1Api),
    apiext: kc.makeApiClient(ApiextensionsV1Api),
    objects: ObjectApi.fromConfig(kc),
    exec: new Exec(kc, new WebSocketHandler(kc, undefined, sink)),
  };
}

/** HTTP status of a client-node error, when it is one */
export function statusCode(e: unknown): number | undefined {
  if (e instanceof ApiException) return e.code;
  const c = (e as { code?: unknown; statusCode?: unknown } | null)?.code ?? (e as { statusCode?: unknown } | null)?.statusCode;
  return typeof c === "number" ? c : undefined;
}

export function isNotFound(e: unknown): boolean {
  return statusCode(e) === 404;
}

/**
 * A one-line message for a client-node error. ApiException's own message carries the whole body and
 * every response header; the API server's Status.message is what a reader needs.
 */
export function apiErrorMessage(e: unknown): string {
  if (e instanceof ApiException) {
    let body: unknown = e.body;
    if (typeof body === "string") {
      try {
        body = JSON.parse(body);
      } catch {
        /* plain text body */
      }
    }
    const b = body as { message?: string; reason?: string } | string | undefined;
    const msg = typeof b === "string" ? b.trim() : b?.message ?? "";
    const reason = typeof b === "object" && b?.reason ? ` ${b.reason}` : "";
    return `HTTP ${e.code}${reason}${msg ? `: ${msg}` : ""}`;
  }
  return e instanceof Error ? e.message : String(e);
}

/** Does the API server answer a node list within `ms`? undefined when it does, else the first line of why not. */
export async function apiAnswers(kube: KubeClient, ms: number): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([kube.core.listNode({ limit: 1 }), new Promise((_, rej) => (timer = setTimeout(() => rej(new Error(`no answer within ${ms / 1000} s`)), ms)))]);
    return undefined;
  } catch (e) {
    return apiErrorMessage(e).split("\n")[0];
  } finally {
    clearTimeout(timer);
  }
}
