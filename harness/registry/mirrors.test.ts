import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadCatalogue } from "../images/catalogue.ts";
import { LOCAL_REGISTRY_HOST, type Mirrors, isLocalRef, writeHostsDir } from "./mirrors.ts";

const mirrors: Mirrors = {
  network: "kind",
  strict: true,
  byHost: new Map([
    ["quay.io", { host: "quay.io", container: "nc-mirror-quay-io", fromNodes: "http://nc-mirror-quay-io:5000", fromHost: "127.0.0.1:40001" }],
    ["local", { host: "local", container: "nc-mirror-local", fromNodes: "http://nc-mirror-local:5000", fromHost: "127.0.0.1:40002" }],
  ]),
};

describe("the local registry for images with no upstream twin", () => {
  it("gets a hosts.toml under its in-network name, plain HTTP, never an upstream", () => {
    const dir = writeHostsDir(mkdtempSync(join(tmpdir(), "nc-certs.d-")), mirrors);
    expect(readdirSync(dir).sort()).toEqual(["nc-mirror-local:5000", "quay.io"]);
    const t = readFileSync(join(dir, LOCAL_REGISTRY_HOST, "hosts.toml"), "utf8");
    expect(t).toContain('server = "http://nc-mirror-local:5000"');
    expect(t).toContain('[host."http://nc-mirror-local:5000"]');
  });

  it("names the catalogue's own images under it, and only those", () => {
    expect(isLocalRef("nc-mirror-local:5000/netconform/strongswan:5.9.8")).toBe(true);
    expect(isLocalRef("quay.io/metallb/speaker:v0.15.2")).toBe(false);
    const local = loadCatalogue().images.filter((i) => i.ref && isLocalRef(i.ref)).map((i) => i.name);
    expect(local).toEqual(["strongswan"]);
  });
});
