/**
 * The behaviour catalogue (catalogue/behaviours.yaml): what each behaviour id promises, why, at
 * which depths it is proven and what running it live needs. Validated with zod on load; tests take
 * their Allure description and links from it (harness/report/allure.ts behaviour()).
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse } from "yaml";
import { z } from "zod";

export const CATALOGUE_DIR = resolve(import.meta.dirname, "..", "..", "catalogue");
export const CATALOGUE_FILE = resolve(CATALOGUE_DIR, "behaviours.yaml");
export const CATALOGUE_PAGE = resolve(CATALOGUE_DIR, "BEHAVIOURS.md");

export const DEPTHS = ["R", "D", "L"] as const;
export type Depth = (typeof DEPTHS)[number];
export const DEPTH_NAMES: Record<Depth, string> = {
  R: "recorded evidence (unit: oracle on fixtures)",
  D: "real daemons in containers (integration)",
  L: "live kind cluster (suites)",
};

const ID = /^([A-Z]+)-(\d{2})$/;
const text = z.string().trim().min(1);
const url = z.url({ protocol: /^https$/ });

const Ref = z.strictObject({ title: text, url });
const Lab = z.strictObject({ title: text, description: text, url: url.optional() });
const Family = z.strictObject({ title: text, summary: text });

const Behaviour = z.strictObject({
  id: z.string().regex(ID, "an id is FAMILY-NN, e.g. MLB-05"),
  title: text,
  kind: z.enum(["P", "N"]),
  promise: text,
  why: z
    .strictObject({ lab: z.string().optional(), observed: text.optional(), refs: z.array(Ref).min(1).optional() })
    .refine((w) => (w.lab === undefined) === (w.observed === undefined), { message: "lab and observed go together" })
    .refine((w) => w.lab !== undefined || w.refs !== undefined, { message: "name a lab observation or at least one public reference" }),
  extension: z.boolean().optional(),
  depths: z
    .array(z.enum(DEPTHS))
    .min(1)
    .refine((d) => new Set(d).size === d.length, { message: "a depth is listed twice" }),
  live: text,
});

const CatalogueFile = z.strictObject({
  labs: z.record(z.string().regex(/^[a-z0-9-]+$/), Lab),
  families: z.record(z.string().regex(/^[A-Z]+$/), Family),
  behaviours: z.array(Behaviour).min(1),
});

export type Behaviour = z.infer<typeof Behaviour>;
export type Lab = z.infer<typeof Lab>;
export type Family = z.infer<typeof Family>;

export interface Catalogue {
  labs: Record<string, Lab>;
  families: Record<string, Family>;
  behaviours: Behaviour[];
  byId: Map<string, Behaviour>;
}

export function familyOf(id: string): string {
  return ID.exec(id)?.[1] ?? id;
}

/** Parse and check a catalogue text; every problem is named by its path in the file. */
export function parseCatalogue(content: string, source = "catalogue/behaviours.yaml"): Catalogue {
  let raw: unknown;
  try {
    raw = parse(content);
  } catch (e) {
    throw new Error(`${source}: not valid YAML: ${(e as Error).message}`);
  }
  const r = CatalogueFile.safeParse(raw);
  if (!r.success) {
    const rows = r.error.issues.map((i) => {
      const at = i.path.map((p, n) => (typeof p === "number" && i.path[n - 1] === "behaviours" ? `[${(raw as { behaviours?: Array<{ id?: string }> }).behaviours?.[p]?.id ?? p}]` : `.${String(p)}`)).join("");
      return `  ${at || "(top)"}: ${i.message}`;
    });
    throw new Error(`${source} is invalid:\n${rows.join("\n")}`);
  }
  const c = r.data;
  const problems: string[] = [];
  const byId = new Map<string, Behaviour>();
  for (const b of c.behaviours) {
    if (byId.has(b.id)) problems.push(`${b.id}: listed twice`);
    byId.set(b.id, b);
    if (!c.families[familyOf(b.id)]) problems.push(`${b.id}: family ${familyOf(b.id)} is not under families`);
    if (b.why.lab && !c.labs[b.why.lab]) problems.push(`${b.id}: why.lab "${b.why.lab}" is not under labs (${Object.keys(c.labs).join(", ")})`);
  }
  for (const f of Object.keys(c.families)) if (!c.behaviours.some((b) => familyOf(b.id) === f)) problems.push(`family ${f} has no behaviour`);
  if (problems.length) throw new Error(`${source} is inconsistent:\n${problems.map((p) => `  ${p}`).join("\n")}`);
  return { ...c, byId };
}

let cached: Catalogue | undefined;

/** The repository's catalogue, loaded once per process. */
export function loadCatalogue(): Catalogue {
  cached ??= parseCatalogue(readFileSync(CATALOGUE_FILE, "utf8"));
  return cached;
}
