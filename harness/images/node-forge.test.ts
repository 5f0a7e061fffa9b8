import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadCatalogue } from "./catalogue.ts";
import { K8S_MODULE_VERSION, NODE_DIR, binaryModuleDir, goInputs, nodeImageRef } from "./node-forge.ts";

const hostLacksSysResource = (() => {
  const bnd = /^CapBnd:\s*([0-9a-f]+)/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
  return bnd !== undefined && (BigInt(`0x${bnd}`) & (1n << 24n)) === 0n;
})();
const haveJq = (() => {
  try {
    execFileSync("jq", ["--version"]);
    return true;
  } catch {
    return false;
  }
})();

describe("kind node catalogue", () => {
  const cat = loadCatalogue();
  const node = cat.images.find((i) => i.name === "kind-node")!;
  const inputs = node.build.kind === "custom" ? (node.build.inputs as { kubernetes: string; preload: string[] }) : undefined;

  it("pins the Kubernetes version that go/k8s/go.mod requires", () => {
    expect(inputs?.kubernetes).toBe(K8S_MODULE_VERSION);
  });

  it("preloads every image kubeadm init needs, under its upstream name and the pinned version", () => {
    const refs = inputs!.preload.map((n) => nodeImageRef(n, cat));
    for (const c of ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy"]) expect(refs).toContain(`registry.k8s.io/${c}:${K8S_MODULE_VERSION}`);
    expect(refs.some((r) => r.startsWith("registry.k8s.io/etcd:"))).toBe(true);
    expect(refs.some((r) => r.startsWith("registry.k8s.io/coredns/coredns:"))).toBe(true);
    expect(refs.some((r) => r.startsWith("registry.k8s.io/pause:"))).toBe(true);
  });

  it("ships manifests that reference only preloaded images", () => {
    const refs = new Set(inputs!.preload.map((n) => nodeImageRef(n, cat)));
    for (const f of ["default-cni.yaml", "default-storage.yaml"]) {
      const text = readFileSync(join(NODE_DIR, "files", "kind", "manifests", f), "utf8");
      for (const m of text.matchAll(/(?:image:|--helper-image",?)\s*"?([a-z0-9.-]+\/[^\s",\]]+)/g)) expect(refs, `${f}: ${m[1]}`).toContain(m[1]);
    }
  });
});

describe.runIf(hostLacksSysResource && haveJq)("node-runc on a kernel without CAP_SYS_RESOURCE", () => {
  it("drops CAP_SYS_RESOURCE from every capability set and clamps a negative oomScoreAdj to 0", () => {
    const bundle = mkdtempSync(join(tmpdir(), "node-runc-"));
    const caps = ["CAP_NET_ADMIN", "CAP_SYS_RESOURCE", "CAP_SYS_ADMIN"];
    writeFileSync(join(bundle, "config.json"), JSON.stringify({ process: { oomScoreAdj: -998, capabilities: { bounding: caps, effective: caps, permitted: caps } } }));
    const out = execFileSync(join(NODE_DIR, "files", "usr", "local", "bin", "node-runc"), ["create", "--bundle", bundle, "id1"], {
      env: { ...process.env, NODE_RUNC_REAL: "/bin/echo" },
      encoding: "utf8",
    });
    expect(out.trim()).toBe(`create --bundle ${bundle} id1`);
    const spec = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
    expect(spec.process.oomScoreAdj).toBe(0);
    for (const set of ["bounding", "effective", "permitted"]) expect(spec.process.capabilities[set]).toEqual(["CAP_NET_ADMIN", "CAP_SYS_ADMIN"]);
  });

  it("leaves a non-negative oomScoreAdj alone and adapts exec process files", () => {
    const dir = mkdtempSync(join(tmpdir(), "node-runc-"));
    writeFileSync(join(dir, "config.json"), JSON.stringify({ process: { oomScoreAdj: 1000 } }));
    writeFileSync(join(dir, "process.json"), JSON.stringify({ capabilities: { bounding: ["CAP_SYS_RESOURCE", "CAP_KILL"] } }));
    const run = (args: string[]) => execFileSync(join(NODE_DIR, "files", "usr", "local", "bin", "node-runc"), args, { env: { ...process.env, NODE_RUNC_REAL: "/bin/true" } });
    run(["create", `--bundle=${dir}`, "id2"]);
    run(["exec", "--process", join(dir, "process.json"), "id2"]);
    expect(JSON.parse(readFileSync(join(dir, "config.json"), "utf8")).process.oomScoreAdj).toBe(1000);
    expect(JSON.parse(readFileSync(join(dir, "process.json"), "utf8")).capabilities.bounding).toEqual(["CAP_KILL"]);
  });
});

describe("forge inputs per Go module", () => {
  it("maps build targets to their module directory, and refuses an unknown target", () => {
    expect(binaryModuleDir("kubelet")).toBe("k8s");
    expect(binaryModuleDir("frr-metrics")).toBe("metallb");
    expect(() => binaryModuleDir("nope")).toThrow(/go\/build.sh has no target "nope"/);
  });

  it("hashes only the modules a binary is built from: MetalLB binaries share inputs, Kubernetes ones differ from them", () => {
    expect(goInputs(["metallb-speaker"])).toBe(goInputs(["cp-tool"]));
    expect(goInputs(["metallb-speaker"])).not.toBe(goInputs(["kubelet"]));
    expect(goInputs(["kubelet", "kubeadm"])).toBe(goInputs(["kubeadm"]));
  });
});
