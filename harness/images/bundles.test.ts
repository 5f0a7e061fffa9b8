import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { nvipamMissing } from "../components/nvipam.ts";
import {
  BundleIntegrityError, BundleMissingError, bundleAvailability, cacheManifest, loadBundleManifest, missingComponents, parseSha256Sums, renderImages, verifyArchive, verifyBundleManifest,
} from "./bundles.ts";
import { type Catalogue, loadCatalogue, parseCatalogue } from "./catalogue.ts";
import { sha256 } from "./manifests.ts";

const run = promisify(execFile);
const DS = (tag: string) => `apiVersion: apps/v1
kind: DaemonSet
metadata: { name: x, namespace: kube-system }
spec:
  template:
    spec:
      initContainers:
        - name: install
          image: example.io/org/thing:${tag}
      containers:
      - name: main
        image: example.io/org/thing:${tag}
`;
const TEXT = DS("latest");

/** a catalogue with one bundle component whose manifest is TEXT */
function testCatalogue(text = TEXT, extra = ""): Catalogue {
  return parseCatalogue(`images: []
bundles:
  - name: thing
    version: v1.2.3
    purpose: test component
    images:
      - { ref: example.io/org/thing:v1.2.3, archive: thing-v1.2.3.tar.gz }
    manifests:
      - name: thing-install
        url: https://example.invalid/thing/v1.2.3/install.yaml
        sha256: ${sha256(text)}
        file: thing/install.yaml
        images: { "example.io/org/thing:latest": "example.io/org/thing:v1.2.3" }
${extra}`);
}

let tmp: string;
let bundle: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), "nc-bundle-"));
  bundle = join(tmp, "bundle");
  mkdirSync(join(bundle, "manifests", "thing"), { recursive: true });
  mkdirSync(join(bundle, "images"), { recursive: true });
  process.env.NETCONFORM_MANIFEST_CACHE = join(tmp, "cache");
});
afterEach(() => {
  delete process.env.NETCONFORM_MANIFEST_CACHE;
  rmSync(tmp, { recursive: true, force: true });
});

describe("images/bundles: catalogue entries", () => {
  it("pins Multus thin and nv-ipam by upstream URL / kustomize target + sha256, rendered to their release tags", () => {
    const cat = loadCatalogue();
    const multus = cat.bundles.find((b) => b.name === "multus")!;
    const nvipam = cat.bundles.find((b) => b.name === "nv-ipam")!;
    expect(multus.manifests[0]).toMatchObject({ url: "https://raw.githubusercontent.com/k8snetworkplumbingwg/multus-cni/v4.3.0/deployments/multus-daemonset.yml", sha256: "290c502f3923864392f0bd7dd5f03e23262565853100c0ebfd7b35cc79ec565a" });
    expect(nvipam.manifests[0]).toMatchObject({ kustomize: "https://github.com/mellanox/nvidia-k8s-ipam/deploy/overlays/no-webhook?ref=v0.4.0", sha256: "a283f78cbc61d8a049d6ac92e24976d0c77c6d462ae65d9987903e1052e6ad31" });
    expect(Object.values(multus.manifests[0]!.images)).toEqual(["ghcr.io/k8snetworkplumbingwg/multus-cni:v4.3.0"]);
    expect(Object.values(nvipam.manifests[0]!.images)).toEqual(["ghcr.io/mellanox/nvidia-k8s-ipam:v0.4.0"]);
  });

  it("refuses an entry with both url and kustomize, a render target the bundle lacks, a path leaving the bundle", () => {
    expect(() => testCatalogue(TEXT).bundles[0]).not.toThrow();
    const bad = (patch: (s: string) => string) => () => parseCatalogue(patch(`images: []
bundles:
  - name: thing
    version: v1
    purpose: p
    images: [{ ref: example.io/org/thing:v1, archive: a.tar }]
    manifests:
      - { name: m, url: "https://example.invalid/m.yaml", sha256: "${"0".repeat(64)}", file: m.yaml, images: { "example.io/org/thing:latest": "example.io/org/thing:v1" } }
`));
    expect(bad((s) => s.replace("file: m.yaml", "file: m.yaml, kustomize: x"))).toThrow(/exactly one of url and kustomize/);
    expect(bad((s) => s.replace('"example.io/org/thing:v1" }', '"example.io/org/other:v1" }'))).toThrow(/rendered with example.io\/org\/other:v1, which bundle thing does not carry/);
    expect(bad((s) => s.replace("file: m.yaml", "file: ../m.yaml"))).toThrow(/relative path inside the bundle/);
  });
});

describe("images/bundles: manifests", () => {
  it("reads a manifest from a bundle directory, verifies it and caches it; the next read comes from the cache", async () => {
    const cat = testCatalogue();
    writeFileSync(join(bundle, "manifests", "thing", "install.yaml"), TEXT);
    const first = await loadBundleManifest("thing-install", { dirs: [bundle], online: false, cat });
    expect(first).toMatchObject({ text: TEXT, source: "bundle" });
    const again = await loadBundleManifest("thing-install", { dirs: [], online: false, cat });
    expect(again).toMatchObject({ text: TEXT, source: "cache" });
  });

  it("refuses a bundle manifest whose sha256 differs from the pin, naming both digests and the upstream URL", async () => {
    const cat = testCatalogue();
    const p = join(bundle, "manifests", "thing", "install.yaml");
    writeFileSync(p, TEXT.replace("latest", "snapshot"));
    const err = await loadBundleManifest("thing-install", { dirs: [bundle], online: false, cat }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BundleIntegrityError);
    expect((err as Error).message).toBe(
      `manifest thing-install: ${p} has sha256 ${sha256(TEXT.replace("latest", "snapshot"))}, but the catalogue pins ${sha256(TEXT)} (upstream: https://example.invalid/thing/v1.2.3/install.yaml): refusing to apply it`,
    );
    expect(() => cacheManifest(cat.bundles[0]!.manifests[0]!, "tampered")).toThrow(BundleIntegrityError);
    expect(() => verifyBundleManifest(cat.bundles[0]!.manifests[0]!, TEXT, "x")).not.toThrow();
  });

  it("offline without a bundle: BundleMissingError says where it looked (or that NETCONFORM_BUNDLES is unset)", async () => {
    const cat = testCatalogue();
    await expect(loadBundleManifest("thing-install", { dirs: [], online: false, cat })).rejects.toThrow(/manifest thing-install: no bundle holds manifests\/thing\/install.yaml \(no bundle directory given: NETCONFORM_BUNDLES is unset\)/);
    await expect(loadBundleManifest("thing-install", { dirs: [bundle], online: false, cat })).rejects.toBeInstanceOf(BundleMissingError);
  });

  it("renders the floating tag to the release everywhere, and refuses a file where the pin no longer matches", () => {
    const m = testCatalogue().bundles[0]!.manifests[0]!;
    const out = renderImages(m, TEXT);
    expect(out.match(/image: example\.io\/org\/thing:v1\.2\.3$/gm)).toHaveLength(2);
    expect(out).not.toMatch(/:latest/);
    expect(() => renderImages(m, DS("v1.2.3"))).toThrow(/no "image: example.io\/org\/thing:latest" to render/);
    expect(() => renderImages(m, `${TEXT}---\nkind: Pod\nspec:\n  containers:\n  - image: example.io/org/thing:nightly\n`)).toThrow(/image example.io\/org\/thing:nightly left unrendered \(the release is example.io\/org\/thing:v1.2.3\)/);
  });

  it("renders the real pinned files' shapes: Multus says snapshot, nv-ipam latest", () => {
    const cat = loadCatalogue();
    const multus = cat.bundles.find((b) => b.name === "multus")!.manifests[0]!;
    const text = "      containers:\n      - name: kube-multus\n        image: ghcr.io/k8snetworkplumbingwg/multus-cni:snapshot\n      initContainers:\n        - name: install-multus-binary\n          image: ghcr.io/k8snetworkplumbingwg/multus-cni:snapshot\n";
    expect(renderImages(multus, text)).toBe(text.replace(/:snapshot/g, ":v4.3.0"));
  });
});

describe("images/bundles: image archives", () => {
  it("parses SHA256SUMS and refuses an archive whose digest differs from it", async () => {
    const img = testCatalogue().bundles[0]!.images[0]!;
    const archive = join(bundle, "images", img.archive);
    writeFileSync(archive, "not really an image");
    expect(await verifyArchive(bundle, img)).toEqual({ sha256: sha256("not really an image"), listed: false });
    writeFileSync(join(bundle, "images", "SHA256SUMS"), `${sha256("not really an image")}  ${img.archive}\n`);
    expect(await verifyArchive(bundle, img)).toEqual({ sha256: sha256("not really an image"), listed: true });
    writeFileSync(join(bundle, "images", "SHA256SUMS"), `${"a".repeat(64)}  ${img.archive}\n`);
    await expect(verifyArchive(bundle, img)).rejects.toThrow(new RegExp(`has sha256 ${sha256("not really an image")}, but .*SHA256SUMS lists ${"a".repeat(64)}: refusing to load it`));
    expect(() => parseSha256Sums("deadbeef  x\n")).toThrow(/line 1 is not "<sha256>  <file>"/);
    expect(parseSha256Sums(`${"b".repeat(64)} *y.tar.gz\n`).get("y.tar.gz")).toBe("b".repeat(64));
  });
});

describe("images/bundles: the suite gate's decision", () => {
  const offline = { probe: async () => false, holds: async () => undefined };

  it("without a bundle and without the internet: the exact missing manifests and images, and how to provide them", async () => {
    const cat = testCatalogue();
    const avail = await bundleAvailability(["thing"], { dirs: [], strictOffline: true, ...offline, cat });
    expect(missingComponents(avail, [])).toBe(
      "thing v1.2.3: manifest thing/install.yaml (offline: no bundle holds it, and https://example.invalid/thing/v1.2.3/install.yaml is unreachable); " +
        "image example.io/org/thing:v1.2.3 (not in its mirror; no bundle holds images/thing-v1.2.3.tar.gz) (NETCONFORM_BUNDLES is unset). " +
        "Give a bundle directory (images/<archive>, manifests/<file>) with NETCONFORM_BUNDLES=<dir>, load one with `npm run bundle -- load <dir>`, or run where the internet is reachable",
    );
  });

  it("a bundle holding both, or the image already in its mirror and the manifest online: nothing missing", async () => {
    const cat = testCatalogue();
    writeFileSync(join(bundle, "manifests", "thing", "install.yaml"), TEXT);
    writeFileSync(join(bundle, "images", "thing-v1.2.3.tar.gz"), "x");
    expect(missingComponents(await bundleAvailability(["thing"], { dirs: [bundle], strictOffline: true, ...offline, cat }), [bundle])).toBeUndefined();
    const online = await bundleAvailability(["thing"], { dirs: [], strictOffline: true, probe: async () => true, holds: async () => true, cat });
    expect(online[0]).toMatchObject({ manifests: [{ source: "online" }], images: [{ source: "mirror" }] });
    expect(missingComponents(online, [])).toBeUndefined();
    // not strict: the nodes pull through the mirror from the upstream registry
    const upstream = await bundleAvailability(["thing"], { dirs: [], strictOffline: false, probe: async () => true, holds: async () => false, cat });
    expect(upstream[0]!.images[0]!.source).toBe("upstream");
  });

  it("a bundle whose manifest was tampered with is named as such, not as missing", async () => {
    const cat = testCatalogue();
    writeFileSync(join(bundle, "manifests", "thing", "install.yaml"), `${TEXT}# changed\n`);
    writeFileSync(join(bundle, "images", "thing-v1.2.3.tar.gz"), "x");
    const why = missingComponents(await bundleAvailability(["thing"], { dirs: [bundle], strictOffline: true, ...offline, cat }), [bundle]);
    expect(why).toMatch(/^thing v1\.2\.3: manifest thing-install: .*install\.yaml has sha256 [0-9a-f]{64}, but the catalogue pins [0-9a-f]{64} .*refusing to apply it \(bundle directories /);
  });

  it("nv-ipam: a bundle directory that does not exist is named; none given names every missing piece", async () => {
    expect(await nvipamMissing({ bundles: [join(tmp, "nope")], strictOffline: true }, offline)).toBe(`bundle directory ${join(tmp, "nope")} does not exist (NETCONFORM_BUNDLES)`);
    const why = await nvipamMissing({ bundles: [], strictOffline: true }, offline);
    expect(why).toMatch(/^multus v4\.3\.0: manifest multus-cni-v4\.3\.0\/deployments\/multus-daemonset\.yml \(offline: no bundle holds it, and https:\/\/raw\.githubusercontent\.com\/k8snetworkplumbingwg\/multus-cni\/v4\.3\.0\/deployments\/multus-daemonset\.yml is unreachable\); image ghcr\.io\/k8snetworkplumbingwg\/multus-cni:v4\.3\.0 \(not in its mirror; no bundle holds images\/multus-cni-v4\.3\.0\.tar\.gz\)\. nv-ipam v0\.4\.0: manifest nv-ipam-v0\.4\.0-no-webhook\.rendered\.yaml /);
    expect(why).toMatch(/\(NETCONFORM_BUNDLES is unset\)\. Give a bundle directory/);
  });
});

describe("cli/bundle", () => {
  const cli = (args: string[]) => run(process.execPath, ["harness/cli/bundle.ts", ...args], { env: { ...process.env, NETCONFORM_MANIFEST_CACHE: join(tmp, "cache") } }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

  it("exits 2 naming a missing directory, a directory with nothing pinned, and a manifest whose sha256 differs", async () => {
    expect(await cli(["load", join(tmp, "nope")])).toMatchObject({ code: 2, stderr: `bundle: bundle directory ${join(tmp, "nope")} does not exist\n` });
    expect(await cli(["load", bundle])).toMatchObject({ code: 2, stderr: expect.stringMatching(/holds nothing the catalogue pins \(looked for manifests\/multus-cni-v4\.3\.0\/deployments\/multus-daemonset\.yml/) });
    const p = join(bundle, "manifests", "multus-cni-v4.3.0", "deployments", "multus-daemonset.yml");
    mkdirSync(join(p, ".."), { recursive: true });
    writeFileSync(p, "kind: ConfigMap\n");
    const r = await cli(["load", bundle]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`bundle: manifest multus-thin: ${p} has sha256 ${sha256("kind: ConfigMap\n")}, but the catalogue pins 290c502f3923864392f0bd7dd5f03e23262565853100c0ebfd7b35cc79ec565a (upstream: https://raw.githubusercontent.com/k8snetworkplumbingwg/multus-cni/v4.3.0/deployments/multus-daemonset.yml): refusing to apply it\n`);
    expect(readFileSync(p, "utf8")).toBe("kind: ConfigMap\n");
    expect(await cli([])).toMatchObject({ code: 2, stderr: expect.stringMatching(/^bundle: usage: npm run bundle -- load <dir>/) });
  }, 90_000); // four node processes: ~5 s on an idle machine, over 20 s on a busy one
});
