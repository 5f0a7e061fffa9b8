import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse } from "yaml";
import { z } from "zod";
import { type Catalogue, loadCatalogue } from "../images/catalogue.ts";
import { KERNEL_FEATURES, type KernelFeature } from "../preflight/kernel.ts";

/**
 * The nightly CI matrix (.ci/matrix.yaml): Kubernetes version × kube-proxy mode × suite family,
 * minus the exclusions, each cell with the kernel features it needs. The workflow's plan job
 * prints it with `npm run matrix` and feeds it to strategy.matrix; `npm run matrix -- --run <cell>`
 * runs one cell (harness/cli/matrix.ts). There is no second list anywhere else.
 */
export const MATRIX_FILE = resolve(import.meta.dirname, "..", "..", ".ci", "matrix.yaml");

export const PROXY_MODES = ["iptables", "nftables", "ipvs"] as const;
export type ProxyMode = (typeof PROXY_MODES)[number];

const kernel = z.array(z.enum(KERNEL_FEATURES)).default([]);
const familyName = z.string().regex(/^[a-z][a-z0-9-]*$/, "a family name: lower-case letters, digits and dashes");

const MatrixShape = z
  .object({
    kubernetes: z.array(z.string().regex(/^1\.\d+$/, 'a Kubernetes minor version such as "1.34"')).min(1),
    proxyModes: z.partialRecord(z.enum(PROXY_MODES), z.object({ kernel }).strict()),
    families: z.record(
      familyName,
      z
        .object({
          /** the vitest filter the cell runs (`npm test -- <suites>`) */
          suites: z.string().regex(/^suites\/[a-z0-9/_-]+$/, "a path under suites/, such as suites/metallb"),
          kernel,
          timeoutMinutes: z.number().int().min(5).max(360),
        })
        .strict(),
    ),
    exclude: z
      .array(
        z
          .object({
            family: familyName.optional(),
            kubernetes: z.string().optional(),
            proxyMode: z.enum(PROXY_MODES).optional(),
            reason: z.string().min(10, "say why the family cannot run there (at least 10 characters)"),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();
export type MatrixFile = z.infer<typeof MatrixShape>;

export interface Cell {
  /** e.g. metallb-v1.34-nftables: a job name, an artifact name and a cluster name part */
  cell: string;
  family: string;
  kubernetes: string;
  proxyMode: ProxyMode;
  suites: string;
  /** kernel features this cell needs (proxy mode's and family's) */
  kernel: KernelFeature[];
  timeoutMinutes: number;
}
export interface ExcludedCell { cell: string; family: string; kubernetes: string; proxyMode: ProxyMode; reason: string }
export interface Matrix { cells: Cell[]; excluded: ExcludedCell[] }

export class MatrixError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MatrixError";
  }
}

/** What may stand at a path of the matrix file, for "unknown field" messages. */
function allowedKeys(path: PropertyKey[]): string {
  const [top, , third] = path.map(String);
  if (path.length === 0) return `field; allowed: ${Object.keys(MatrixShape.shape).join(", ")}`;
  if (top === "proxyModes" && path.length === 1) return `proxy mode; allowed: ${PROXY_MODES.join(", ")}`;
  if (top === "proxyModes") return "field; allowed: kernel";
  if (top === "families" && third === undefined) return "field; allowed: suites, kernel, timeoutMinutes";
  if (top === "exclude") return "field; allowed: family, kubernetes, proxyMode, reason";
  return "field";
}

export const cellId = (family: string, kubernetes: string, proxyMode: string): string => `${family}-v${kubernetes}-${proxyMode}`;

/** Parse and check a matrix file's text; every problem names its field and what is allowed. */
export function parseMatrix(text: string, source = ".ci/matrix.yaml", cat: Catalogue = loadCatalogue()): MatrixFile {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (e) {
    throw new MatrixError(`${source}: not valid YAML: ${(e as Error).message}`);
  }
  const r = MatrixShape.safeParse(raw);
  const problems: string[] = [];
  if (!r.success) {
    for (const i of r.error.issues) {
      const path = i.path.join(".") || "(root)";
      if (i.code === "unrecognized_keys") problems.push(`${path === "(root)" ? "" : `${path}.`}${i.keys.join(", ")}: unknown ${allowedKeys(i.path)}`);
      else if (i.code === "invalid_value") problems.push(`${path}: ${i.message.replace(/^Invalid option: expected one of /, "must be one of ")}`);
      else if (i.code === "invalid_key") problems.push(`${path}: unknown key; allowed: ${i.path[0] === "proxyModes" ? PROXY_MODES.join(", ") : "a family name"}`);
      else problems.push(`${path}: ${i.message}`);
    }
    throw new MatrixError(`${source} is not a valid matrix:\n${problems.map((p) => `  ${p}`).join("\n")}`);
  }
  const m = r.data;
  const pinned = cat.nodeImages.map((n) => n.kubernetes);
  m.kubernetes.forEach((v, i) => {
    if (!pinned.includes(v)) problems.push(`kubernetes.${i}: "${v}" has no node image pinned in harness/images/catalogue.yaml (nodeImages); allowed: ${pinned.join(", ")}`);
  });
  if (new Set(m.kubernetes).size !== m.kubernetes.length) problems.push("kubernetes: a version is listed twice");
  m.exclude.forEach((x, i) => {
    if (x.family && !(x.family in m.families)) problems.push(`exclude.${i}.family: "${x.family}" is not a family; allowed: ${Object.keys(m.families).join(", ")}`);
    if (x.kubernetes && !m.kubernetes.includes(x.kubernetes)) problems.push(`exclude.${i}.kubernetes: "${x.kubernetes}" is not in kubernetes; allowed: ${m.kubernetes.join(", ")}`);
    if (x.proxyMode && !(x.proxyMode in m.proxyModes)) problems.push(`exclude.${i}.proxyMode: "${x.proxyMode}" is not in proxyModes; allowed: ${Object.keys(m.proxyModes).join(", ")}`);
    if (!x.family && !x.kubernetes && !x.proxyMode) problems.push(`exclude.${i}: names no family, kubernetes or proxyMode (it would exclude every cell)`);
  });
  if (!Object.keys(m.proxyModes).length) problems.push(`proxyModes: at least one of ${PROXY_MODES.join(", ")}`);
  if (!Object.keys(m.families).length) problems.push("families: at least one family");
  if (problems.length) throw new MatrixError(`${source} is not a valid matrix:\n${problems.map((p) => `  ${p}`).join("\n")}`);
  return m;
}

export function loadMatrix(path = MATRIX_FILE): MatrixFile {
  return parseMatrix(readFileSync(path, "utf8"), path === MATRIX_FILE ? ".ci/matrix.yaml" : path);
}

/** What a workflow_dispatch (or a person) narrows the matrix to; empty lists mean "all". */
export interface MatrixFilter { families?: string[]; kubernetes?: string[]; proxyModes?: string[] }

/** Every cell, in file order (version, then proxy mode, then family), and the excluded ones with their reasons. */
export function expandMatrix(m: MatrixFile, f: MatrixFilter = {}): Matrix {
  const check = (what: string, asked: string[] | undefined, allowed: string[]) => {
    const bad = (asked ?? []).filter((a) => !allowed.includes(a));
    if (bad.length) throw new MatrixError(`${what}: unknown ${bad.map((b) => `"${b}"`).join(", ")}; allowed: ${allowed.join(", ")}`);
    return asked?.length ? asked : allowed;
  };
  const versions = check("versions", f.kubernetes, m.kubernetes);
  const modes = check("proxy modes", f.proxyModes, Object.keys(m.proxyModes)) as ProxyMode[];
  const families = check("families", f.families, Object.keys(m.families));
  const cells: Cell[] = [];
  const excluded: ExcludedCell[] = [];
  for (const kubernetes of versions)
    for (const proxyMode of modes)
      for (const family of families) {
        const cell = cellId(family, kubernetes, proxyMode);
        const x = m.exclude.find((e) => (!e.family || e.family === family) && (!e.kubernetes || e.kubernetes === kubernetes) && (!e.proxyMode || e.proxyMode === proxyMode));
        if (x) {
          excluded.push({ cell, family, kubernetes, proxyMode, reason: x.reason });
          continue;
        }
        const fam = m.families[family]!;
        const kernelNeeds = [...new Set([...(m.proxyModes[proxyMode]?.kernel ?? []), ...fam.kernel])];
        cells.push({ cell, family, kubernetes, proxyMode, suites: fam.suites, kernel: kernelNeeds, timeoutMinutes: fam.timeoutMinutes });
      }
  return { cells, excluded };
}

/** The object the workflow feeds to strategy.matrix: `include` only (any other key would become a matrix dimension). */
export function strategyMatrix(x: Matrix): { include: Cell[] } {
  return { include: x.cells };
}

export function findCell(x: Matrix, id: string): Cell {
  const c = x.cells.find((c) => c.cell === id);
  if (c) return c;
  const ex = x.excluded.find((c) => c.cell === id);
  if (ex) throw new MatrixError(`cell ${id} is excluded from the matrix: ${ex.reason}`);
  throw new MatrixError(`no cell "${id}" in .ci/matrix.yaml; cells: ${x.cells.map((c) => c.cell).join(", ")}`);
}

/** Split "a,b c" (workflow_dispatch inputs, CLI flags) into names. */
export function splitList(s: string | undefined): string[] {
  return (s ?? "").split(/[\s,]+/).filter(Boolean);
}
