import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { z } from "zod";

/**
 * The catalogue (catalogue.yaml) is data: every image the suites need, pinned, with the upstream
 * reference a user with internet would pull and how the offline forge builds an equivalent here;
 * and every upstream manifest, pinned by release URL + sha256 and by the Go module that carries
 * the same file. The mirror, the installers and the forge all read it through this module.
 */
export const CATALOGUE_DIR = dirname(fileURLToPath(import.meta.url));

const name = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "lower-case letters, digits and dashes");
const imageRef = z
  .string()
  .regex(/^[a-z0-9.-]+(?::\d+)?\/[a-z0-9._/-]+(?::[\w.-]+)?(?:@sha256:[0-9a-f]{64})?$/, "a fully qualified image reference such as quay.io/metallb/speaker:v0.15.2");

const DebootstrapBuild = z.object({
  kind: z.literal("debootstrap"),
  suite: z.string(),
  variant: z.enum(["minbase", "buildd", "fakechroot"]).default("minbase"),
  packages: z.array(z.string().regex(/^[a-z0-9][a-z0-9+.-]*$/)).default([]),
});
const DockerfileBuild = z.object({
  kind: z.literal("dockerfile"),
  /** the catalogue image this one is built FROM (passed as build-arg BASE) */
  from: name,
  /** build context directory, relative to harness/images/ */
  dir: z.string(),
  /** further catalogue images whose tags are passed as build-args (NAME_IMAGE=…) */
  uses: z.array(name).default([]),
});
/** Built by a custom step (node image, Go-built components): `step` names the forge module that does it. */
const CustomBuild = z.object({
  kind: z.literal("custom"),
  step: z.string(),
  from: name.optional(),
  inputs: z.record(z.string(), z.unknown()).default({}),
});

export const ImageEntry = z.object({
  name,
  ref: imageRef.nullable(),
  purpose: z.string(),
  build: z.discriminatedUnion("kind", [DebootstrapBuild, DockerfileBuild, CustomBuild]),
});
export type ImageEntry = z.infer<typeof ImageEntry>;

export const ManifestEntry = z.object({
  name,
  version: z.string(),
  url: z.url(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, "64 lower-case hex digits"),
  goModule: z.object({ path: z.string(), version: z.string(), file: z.string() }),
});
export type ManifestEntry = z.infer<typeof ManifestEntry>;

/**
 * A component the forge cannot build here (its Go module is not on the proxy): its images and
 * manifests come from outside, pinned. Online, the manifest is fetched by its upstream URL (or
 * rendered from its kustomize target) and the images are pulled through the mirrors; offline, both
 * come from a bundle directory (`images/<archive>`, `manifests/<file>`; harness/images/bundles.ts).
 * A manifest whose sha256 differs from the pin is refused wherever it came from.
 */
const sha = z.string().regex(/^[0-9a-f]{64}$/, "64 lower-case hex digits");
const relPath = z.string().regex(/^(?!\/)(?!.*(^|\/)\.\.(\/|$))[\w.@+/-]+$/, "a relative path inside the bundle (no .., no leading /)");
export const BundleImage = z.object({
  ref: imageRef,
  /** the image archive's file name under <bundle>/images/ (docker save/load format, gzip allowed) */
  archive: relPath,
});
export const BundleManifest = z
  .object({
    name,
    /** the raw upstream file (fetched online) … */
    url: z.url().optional(),
    /** … or the kustomize target upstream users apply (`kubectl kustomize <target>` online) */
    kustomize: z.string().min(1).optional(),
    sha256: sha,
    /** the file's path under <bundle>/manifests/ */
    file: relPath,
    /** image references to rewrite before applying (upstream's floating tags → the release tag) */
    images: z.record(imageRef, imageRef).default({}),
  })
  .refine((m) => (m.url ? 1 : 0) + (m.kustomize ? 1 : 0) === 1, { message: "exactly one of url and kustomize", path: ["url"] });
export const BundleEntry = z.object({
  name,
  version: z.string(),
  purpose: z.string(),
  images: z.array(BundleImage).min(1),
  manifests: z.array(BundleManifest).min(1),
});
export type BundleEntry = z.infer<typeof BundleEntry>;
export type BundleManifest = z.infer<typeof BundleManifest>;

/** The kind node image of one Kubernetes minor version: the published one (by digest) and the forge's, if any. */
export const NodeImageEntry = z
  .object({
    kubernetes: z.string().regex(/^1\.\d+$/, 'a Kubernetes minor version such as "1.34"'),
    kindest: imageRef.refine((r) => /^docker\.io\/kindest\/node:v1\.\d+\.\d+@sha256:[0-9a-f]{64}$/.test(r), "docker.io/kindest/node:v1.X.Y@sha256:<64 hex>, pinned by digest"),
    forge: name.nullable(),
  })
  .strict()
  .superRefine((e, ctx) => {
    if (!e.kindest.includes(`:v${e.kubernetes}.`)) ctx.addIssue({ code: "custom", path: ["kindest"], message: `${e.kindest} is not a v${e.kubernetes}.x image` });
  });
export type NodeImageEntry = z.infer<typeof NodeImageEntry>;

export const Catalogue = z
  .object({ images: z.array(ImageEntry), manifests: z.array(ManifestEntry).default([]), bundles: z.array(BundleEntry).default([]), nodeImages: z.array(NodeImageEntry).default([]) })
  .superRefine((c, ctx) => {
    const names = new Set<string>();
    for (const [i, img] of c.images.entries()) {
      if (names.has(img.name)) ctx.addIssue({ code: "custom", path: ["images", i, "name"], message: `duplicate image name ${img.name}` });
      names.add(img.name);
    }
    for (const [i, img] of c.images.entries()) {
      const deps = img.build.kind === "dockerfile" ? [img.build.from, ...img.build.uses] : img.build.kind === "custom" && img.build.from ? [img.build.from] : [];
      for (const d of deps)
        if (!names.has(d)) ctx.addIssue({ code: "custom", path: ["images", i, "build"], message: `${img.name} builds from unknown image ${d}` });
    }
    const manifests = new Set(c.manifests.map((m) => m.name));
    for (const [i, b] of c.bundles.entries()) {
      if (names.has(b.name)) ctx.addIssue({ code: "custom", path: ["bundles", i, "name"], message: `bundle ${b.name} has the name of an image` });
      for (const [j, m] of b.manifests.entries()) {
        if (manifests.has(m.name)) ctx.addIssue({ code: "custom", path: ["bundles", i, "manifests", j, "name"], message: `duplicate manifest name ${m.name}` });
        manifests.add(m.name);
        for (const to of Object.values(m.images))
          if (!b.images.some((x) => x.ref === to)) ctx.addIssue({ code: "custom", path: ["bundles", i, "manifests", j, "images"], message: `${m.name} is rendered with ${to}, which bundle ${b.name} does not carry` });
      }
      }
    const versions = new Set<string>();
    for (const [i, n] of c.nodeImages.entries()) {
      if (versions.has(n.kubernetes)) ctx.addIssue({ code: "custom", path: ["nodeImages", i, "kubernetes"], message: `duplicate Kubernetes version ${n.kubernetes}` });
      versions.add(n.kubernetes);
      if (n.forge && !names.has(n.forge)) ctx.addIssue({ code: "custom", path: ["nodeImages", i, "forge"], message: `unknown catalogue image ${n.forge}` });
    }
  });
export type Catalogue = z.infer<typeof Catalogue>;

export function parseCatalogue(text: string, source = "catalogue.yaml"): Catalogue {
  const r = Catalogue.safeParse(parse(text));
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new Error(`${source} is not a valid catalogue:\n${lines.join("\n")}`);
  }
  return r.data;
}

let cached: Catalogue | undefined;
export function loadCatalogue(): Catalogue {
  cached ??= parseCatalogue(readFileSync(join(CATALOGUE_DIR, "catalogue.yaml"), "utf8"));
  return cached;
}

export function imageEntry(name: string, cat: Catalogue = loadCatalogue()): ImageEntry {
  const e = cat.images.find((i) => i.name === name);
  if (!e) throw new Error(`catalogue has no image named "${name}" (known: ${cat.images.map((i) => i.name).join(", ")})`);
  return e;
}

export function bundleEntry(name: string, cat: Catalogue = loadCatalogue()): BundleEntry {
  const e = cat.bundles.find((b) => b.name === name);
  if (!e) throw new Error(`catalogue has no bundle component named "${name}" (known: ${cat.bundles.map((b) => b.name).join(", ") || "none"})`);
  return e;
}
