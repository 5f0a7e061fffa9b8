import { describe, expect, it } from "vitest";
import { loadCatalogue, parseCatalogue } from "./catalogue.ts";
import { ManifestIntegrityError, fileInModule, manifestEntry, sha256, verifyManifest } from "./manifests.ts";

describe("pinned upstream manifests", () => {
  it("pins metallb-native by release URL, module file and one sha256, all at one version", () => {
    const e = manifestEntry("metallb-native");
    expect(e.version).toBe(e.goModule.version);
    expect(e.url).toBe(`https://raw.githubusercontent.com/metallb/metallb/${e.version}/${e.goModule.file}`);
    expect(e.goModule.path).toBe("go.universe.tf/metallb");
    // the images the manifest names are the catalogue's, at the same version
    const refs = loadCatalogue().images.map((i) => i.ref);
    expect(refs).toContain(`quay.io/metallb/controller:${e.version}`);
    expect(refs).toContain(`quay.io/metallb/speaker:${e.version}`);
  });

  it("pins metallb-frr the same way, and the FRR image its speaker pod runs has a catalogue entry", () => {
    const e = manifestEntry("metallb-frr");
    expect(e.version).toBe(manifestEntry("metallb-native").version);
    expect(e.url).toBe(`https://raw.githubusercontent.com/metallb/metallb/${e.version}/${e.goModule.file}`);
    expect(e.sha256).not.toBe(manifestEntry("metallb-native").sha256);
    expect(loadCatalogue().images.map((i) => i.ref)).toContain("quay.io/frrouting/frr:9.1.0");
  });

  it("passes the pinned text through and refuses a changed one, naming both digests", () => {
    const text = "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n";
    const cat = parseCatalogue(`images: []\nmanifests:\n  - name: m\n    version: v1\n    url: https://example.invalid/m.yaml\n    sha256: ${sha256(text)}\n    goModule: { path: example.invalid/m, version: v1, file: m.yaml }\n`);
    const e = manifestEntry("m", cat);
    expect(verifyManifest(e, text, "/cache/m.yaml")).toBe(text);
    const bad = () => verifyManifest(e, `${text}# edited\n`, "/cache/m.yaml");
    expect(bad).toThrow(ManifestIntegrityError);
    expect(bad).toThrow(new RegExp(`/cache/m.yaml has sha256 ${sha256(`${text}# edited\n`)}, but the catalogue pins ${sha256(text)}`));
  });

  it("names the known manifests for an unknown one, and refuses files outside the module", () => {
    expect(() => manifestEntry("nope")).toThrow(/no manifest named "nope" \(known: metallb-native/);
    expect(fileInModule("/mod/x@v1", "config/a.yaml")).toBe("/mod/x@v1/config/a.yaml");
    expect(() => fileInModule("/mod/x@v1", "../../etc/passwd")).toThrow(/not a path inside the module/);
    expect(() => fileInModule("/mod/x@v1", "/etc/passwd")).toThrow(/not a path inside the module/);
  });
});
