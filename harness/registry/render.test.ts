import { describe, expect, it } from "vitest";
import { behaviour } from "../report/allure.ts";
import { expectGolden } from "../testing/golden.ts";
import { mirrorName, renderHostsToml, renderLocalRegistryHosting, splitRef } from "./render.ts";

describe("registry/render", () => {
  it("HARN-02 renders a strict hosts.toml whose server is the mirror (no upstream fallback)", async () => {
    await behaviour("HARN-02", "R");
    const t = renderHostsToml("registry.k8s.io", `http://${mirrorName("registry.k8s.io")}:5000`, true);
    expectGolden("hosts.toml/registry.k8s.io.strict.toml", t);
    expect(t).not.toContain("https://registry.k8s.io");
  });
  it("HARN-02 renders a non-strict docker.io hosts.toml falling back to registry-1.docker.io", async () => {
    await behaviour("HARN-02", "R");
    expectGolden("hosts.toml/docker.io.fallback.toml", renderHostsToml("docker.io", "http://nc-mirror-docker-io:5000", false));
  });
  it("HARN-02 renders the KEP-1755 ConfigMap", async () => {
    await behaviour("HARN-02", "R");
    expectGolden(
      "configmap/local-registry-hosting.yaml",
      renderLocalRegistryHosting({ hostFromHost: "127.0.0.1:5001", hostFromRuntime: "nc-mirror-local:5000", hostFromClusterNetwork: "nc-mirror-local:5000" }),
    );
  });
  it("HARN-02 splits references like docker does", async () => {
    await behaviour("HARN-02", "R");
    expect(splitRef("registry.k8s.io/e2e-test-images/agnhost:2.56")).toEqual({ host: "registry.k8s.io", path: "e2e-test-images/agnhost", tag: "2.56" });
    expect(splitRef("registry:2.8.2")).toEqual({ host: "docker.io", path: "library/registry", tag: "2.8.2" });
    expect(splitRef("frrouting/frr:9.1.0")).toEqual({ host: "docker.io", path: "frrouting/frr", tag: "9.1.0" });
    expect(splitRef("localhost:5000/x")).toEqual({ host: "localhost:5000", path: "x", tag: "latest" });
    expect(() => splitRef("quay.io/a/b@sha256:00")).toThrow(/digests/);
  });
});
