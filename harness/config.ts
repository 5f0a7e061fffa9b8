import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";

/**
 * Everything a run can be told, in one schema. Sources, later ones winning:
 *   1. defaults below,
 *   2. a YAML/JSON file: $NETCONFORM_CONFIG, else ./netconform.config.yaml when present,
 *   3. environment variables NETCONFORM_<FIELD> (see ENV below).
 * Bad input fails with one error that names each bad field, where it came from, and what is allowed.
 */
const duration = z
  .union([z.number().int().positive(), z.string().regex(/^\d+(\.\d+)?(ms|s|m)$/, "a duration such as 90s, 500ms or 5m")])
  .transform((v) => (typeof v === "number" ? v : toMs(v)));

function toMs(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(s)!;
  const n = Number(m[1]);
  return Math.round(m[2] === "ms" ? n : m[2] === "s" ? n * 1000 : n * 60_000);
}

const boolish = z.union([z.boolean(), z.enum(["true", "false", "1", "0", "yes", "no"])]).transform((v) => v === true || v === "true" || v === "1" || v === "yes");

export const TIMEOUT_NAMES = [
  "clusterCreate", "nodeReady", "podReady", "deploymentReady", "webhookReady", "imagePush",
  "vipAnnounced", "bgpEstablished", "bfdUp", "nodeNotReady", "teardown",
] as const;

const DEFAULT_TIMEOUTS: Record<(typeof TIMEOUT_NAMES)[number], string> = {
  clusterCreate: "10m", nodeReady: "5m", podReady: "3m", deploymentReady: "5m", webhookReady: "3m",
  imagePush: "10m", vipAnnounced: "60s", bgpEstablished: "90s", bfdUp: "60s", nodeNotReady: "90s", teardown: "3m",
};

const RunConfigShape = z
  .object({
    /**
     * kind cluster name; its node containers are <name>-control-plane, <name>-worker, …
     * Default: "netconform" when reusing (a stable name to come back to), else one name per
     * `npm test` (nc-<run id>), so two runs on one machine never reach for the same cluster.
     */
    clusterName: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$/, "a DNS label of at most 32 characters (a-z, 0-9, -)").optional(),
    /** reuse a cluster of that name when it exists (and keep it for the next run) */
    reuse: boolish.default(false),
    /** what to keep at the end: never (delete all), on-failure (keep cluster + world when a test failed), always */
    keep: z.enum(["never", "on-failure", "always"]).default("never"),
    /** topology name (fixtures/topologies/<name>.yaml) or a path to a topology file */
    topology: z.string().min(1).default("default"),
    kubeProxyMode: z.enum(["iptables", "ipvs", "nftables", "none"]).default("iptables"),
    /**
     * route-based datapath of the IPSEC suite's in-cluster endpoints: xfrmi (kernel ESP + an XFRM
     * interface, if_id), libipsec (strongSwan kernel-libipsec over a TUN device: ESP in user space),
     * or auto (xfrmi where the kernel has INET_ESP and XFRM_INTERFACE, else libipsec)
     */
    ipsecMode: z.enum(["auto", "libipsec", "xfrmi"]).default("auto"),
    /** kind node image; default: the forged image from the catalogue */
    nodeImage: z.string().min(1).optional(),
    /** where cluster images come from: upstream registries, the local mirror (filled by skopeo or the forge), or built by the forge */
    imageSource: z.enum(["upstream", "mirror", "forge"]).default("forge"),
    /** mirrors never fall back to the upstream host; nothing contacts an upstream registry */
    strictOffline: boolish.default(true),
    /**
     * bundle directories (images/<archive>, manifests/<file>) for components the forge cannot build
     * (catalogue `bundles:`); the environment gives them ':'-separated
     */
    bundles: z
      .union([z.string(), z.array(z.string().min(1))])
      .transform((v) => (typeof v === "string" ? v.split(":").filter((x) => x !== "") : v))
      .default([]),
    /** keep the shared mirrors' data in <dir>/<mirror> on the host instead of docker volumes (CI caches that directory) */
    mirrorDataDir: z.string().min(1).optional(),
    /** use an existing cluster through this kubeconfig instead of creating one (no kind, no node faults) */
    kubeconfig: z.string().min(1).optional(),
    /** run id: labels everything this run creates; default set by vitest.config.ts */
    runId: z.string().regex(/^[a-z0-9][a-z0-9-]{2,40}$/, "lower-case letters, digits and dashes, 3-41 characters").optional(),
    /** where logs and exported cluster logs go */
    artifactsDir: z.string().default("reports/runs"),
    /** how many runs' folders to keep in artifactsDir (older ones are pruned at the start of a run; runs that kept a cluster stay) */
    keepRuns: z.coerce.number().int().min(0).default(20),
    logLevel: z.enum(["error", "warn", "info", "debug"]).default("info"),
    timeouts: z
      .object(Object.fromEntries(TIMEOUT_NAMES.map((n) => [n, duration.prefault(DEFAULT_TIMEOUTS[n])])) as Record<(typeof TIMEOUT_NAMES)[number], z.ZodPrefault<typeof duration>>)
      .strict()
      .prefault({}),
  })
  .strict();
export const RunConfig = RunConfigShape.superRefine((c, ctx) => {
    if (c.kubeconfig && c.reuse) ctx.addIssue({ code: "custom", path: ["reuse"], message: "reuse applies to kind clusters this harness manages; it cannot be combined with kubeconfig (an existing cluster is always used as it is)" });
    if (c.imageSource === "upstream" && c.strictOffline) ctx.addIssue({ code: "custom", path: ["imageSource"], message: 'imageSource "upstream" pulls from the internet, which strictOffline forbids; use "mirror" or "forge", or set strictOffline=false' });
  }).transform((c) => ({ ...c, clusterName: c.clusterName ?? defaultClusterName(c.reuse, c.runId) }));

/** "netconform" for a reused cluster; otherwise a name of this run's own (nc-<run id>, at most 32 characters). */
export function defaultClusterName(reuse: boolean, runId: string | undefined): string {
  if (reuse || !runId) return "netconform";
  const base = runId.startsWith("nc-") ? runId : `nc-${runId}`;
  return base.slice(0, 32).replace(/-+$/, "");
}
export type RunConfig = z.output<typeof RunConfig>;

/** environment variable → field (timeouts: NETCONFORM_TIMEOUT_<NAME>, e.g. NETCONFORM_TIMEOUT_NODEREADY=5m) */
export const ENV: Record<string, keyof RunConfig> = {
  NETCONFORM_CLUSTER: "clusterName",
  NETCONFORM_REUSE: "reuse",
  NETCONFORM_KEEP: "keep",
  NETCONFORM_TOPOLOGY: "topology",
  NETCONFORM_KUBE_PROXY_MODE: "kubeProxyMode",
  NETCONFORM_IPSEC_MODE: "ipsecMode",
  NETCONFORM_NODE_IMAGE: "nodeImage",
  NETCONFORM_IMAGE_SOURCE: "imageSource",
  NETCONFORM_STRICT_OFFLINE: "strictOffline",
  NETCONFORM_KUBECONFIG: "kubeconfig",
  NETCONFORM_BUNDLES: "bundles",
  NETCONFORM_MIRROR_DATA: "mirrorDataDir",
  NETCONFORM_RUN_ID: "runId",
  NETCONFORM_ARTIFACTS: "artifactsDir",
  NETCONFORM_KEEP_RUNS: "keepRuns",
  NETCONFORM_LOG_LEVEL: "logLevel",
};

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): RunConfig {
  const raw: Record<string, unknown> = {};
  const origin: Record<string, string> = {};
  const file = env.NETCONFORM_CONFIG ? resolve(cwd, env.NETCONFORM_CONFIG) : resolve(cwd, "netconform.config.yaml");
  if (env.NETCONFORM_CONFIG && !existsSync(file)) throw new ConfigError(`NETCONFORM_CONFIG: no such file ${file}`);
  if (existsSync(file)) {
    let parsed: unknown;
    try {
      parsed = parseYaml(readFileSync(file, "utf8"));
    } catch (e) {
      throw new ConfigError(`${file}: not valid YAML: ${(e as Error).message}`);
    }
    if (parsed !== null && parsed !== undefined) {
      if (typeof parsed !== "object" || Array.isArray(parsed)) throw new ConfigError(`${file}: must be a mapping of settings`);
      for (const [k, v] of Object.entries(parsed)) {
        raw[k] = v;
        origin[k] = file;
      }
    }
  }
  for (const [name, field] of Object.entries(ENV)) {
    const v = env[name];
    if (v !== undefined && v !== "") {
      raw[field] = v;
      origin[field] = name;
    }
  }
  const timeouts: Record<string, unknown> = { ...((raw.timeouts as object) ?? {}) };
  for (const [k, v] of Object.entries(env)) {
    const m = /^NETCONFORM_TIMEOUT_([A-Z_]+)$/.exec(k);
    if (!m || v === undefined) continue;
    const field = TIMEOUT_NAMES.find((n) => n.toUpperCase() === m[1]!.replace(/_/g, ""));
    if (!field) throw new ConfigError(`${k}: unknown timeout; allowed: ${TIMEOUT_NAMES.map((n) => `NETCONFORM_TIMEOUT_${n.toUpperCase()}`).join(", ")}`);
    timeouts[field] = v;
    origin[`timeouts.${field}`] = k;
  }
  if (Object.keys(timeouts).length) raw.timeouts = timeouts;
  return parseConfig(raw, origin);
}

export function parseConfig(raw: unknown, origin: Record<string, string> = {}): RunConfig {
  const r = RunConfig.safeParse(raw);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => {
    const path = i.path.join(".");
    const where = origin[path] ?? origin[String(i.path[0])];
    const src = where ? ` (from ${where})` : "";
    if (i.code === "unrecognized_keys") {
      const prefix = path ? `${path}.` : "";
      const from = [...new Set(i.keys.map((k) => origin[prefix + k] ?? origin[k]).filter(Boolean))];
      return `  ${i.keys.map((k) => prefix + k).join(", ")}${from.length ? ` (from ${from.join(", ")})` : src}: unknown setting; allowed: ${Object.keys(path === "timeouts" ? DEFAULT_TIMEOUTS : RunConfigShape.shape).join(", ")}`;
    }
    if (i.code === "invalid_value") return `  ${path}${src}: ${i.message.replace(/^Invalid option: expected one of /, "must be one of ")}`;
    return `  ${path}${src}: ${i.message}`;
  });
  throw new ConfigError(`invalid netconform configuration:\n${lines.join("\n")}`);
}
