import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { KubeClient } from "../kube/index.ts";
import { clusterEnvironment } from "../session.ts";
import { parseProperties, readEnvironment, recordEnvironment, renderProperties } from "./environment.ts";

const fakeKube = (o: { versions: string[]; configConf?: string }) =>
  ({
    core: {
      listNode: async () => ({ items: o.versions.map((v) => ({ status: { nodeInfo: { kubeletVersion: v } } })) }),
      readNamespacedConfigMap: async () => {
        if (o.configConf === undefined) throw new Error("HTTP 404 configmaps \"kube-proxy\" not found");
        return { data: { "config.conf": o.configConf } };
      },
    },
  }) as unknown as KubeClient;

describe("report/environment", () => {
  it("round-trips properties with = : and newlines in values", () => {
    const v = { cluster: "nc-catalogue", "kube-proxy.mode": "iptables (the default: mode is empty)", odd: "a=b:c\nd" };
    expect(parseProperties(renderProperties(v))).toEqual(v);
    expect(parseProperties("# comment\n! other\nkey = value \n\nbroken line\n")).toEqual({ key: "value" });
  });

  it("merges what several suite files of one run record into environment.properties", () => {
    const dir = mkdtempSync(join(tmpdir(), "nc-env-"));
    try {
      recordEnvironment({ cluster: "none: no live suite ran" }, dir);
      recordEnvironment({ cluster: "nc-a", "kubernetes.version": "v1.34.4" }, dir);
      recordEnvironment({ "kube-proxy.mode": "ipvs" }, dir);
      expect(readEnvironment(dir)).toEqual({ cluster: "nc-a", "kubernetes.version": "v1.34.4", "kube-proxy.mode": "ipvs" });
      expect(readFileSync(join(dir, "environment.properties"), "utf8")).toBe("cluster=nc-a\nkubernetes.version=v1.34.4\nkube-proxy.mode=ipvs\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads the Kubernetes version from the kubelets and the kube-proxy mode from its ConfigMap", async () => {
    expect(await clusterEnvironment(fakeKube({ versions: ["v1.34.4", "v1.34.4"], configConf: "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nmode: ipvs\n" }))).toEqual({
      "kubernetes.version": "v1.34.4",
      "kube-proxy.mode": "ipvs",
    });
    expect((await clusterEnvironment(fakeKube({ versions: ["v1.34.4"], configConf: "mode: \"\"\n" })))["kube-proxy.mode"]).toBe("iptables (the default: mode is empty)");
    expect((await clusterEnvironment(fakeKube({ versions: ["v1.33.1", "v1.34.4"] })))).toEqual({
      "kubernetes.version": "v1.33.1, v1.34.4",
      "kube-proxy.mode": "none (no kube-proxy ConfigMap in kube-system)",
    });
  });
});
