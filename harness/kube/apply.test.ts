import { describe, expect, it } from "vitest";
import { ManifestError, docRef, orderForApply, orderForDelete, parseDocuments } from "./apply.ts";

const MANIFEST = `
# a comment before the first document
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: pool
  namespace: metallb-system
spec:
  addresses: [172.18.255.200-172.18.255.250]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: controller
  namespace: metallb-system
spec:
  template:
    spec:
      volumes:
        - name: cert
          secret: {secretName: x, defaultMode: 0644}
---
---
apiVersion: v1
kind: Namespace
metadata: {name: metallb-system}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: ipaddresspools.metallb.io}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: bgppeers.metallb.io}
`;

describe("kube/apply: multi-document YAML", () => {
  it("splits documents, skips empty ones, and keeps each document's position", () => {
    const docs = parseDocuments(MANIFEST);
    expect(docs.map((d) => [d.index, d.kind, d.name])).toEqual([
      [1, "IPAddressPool", "pool"],
      [2, "Deployment", "controller"],
      [4, "Namespace", "metallb-system"],
      [5, "CustomResourceDefinition", "ipaddresspools.metallb.io"],
      [6, "CustomResourceDefinition", "bgppeers.metallb.io"],
    ]);
    // a comment before the first "---" belongs to the first document; "---\n---" is an empty one
    expect(docs.every((d) => d.of === 6)).toBe(true);
    expect(docRef(docs[1]!)).toBe("document 2 of 6 (Deployment metallb-system/controller)");
    expect(docRef(docs[2]!)).toBe("document 4 of 6 (Namespace metallb-system)");
  });

  it("reads YAML as Kubernetes does (1.1): 0644 is octal, timestamps stay strings", () => {
    const [d] = parseDocuments(`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, annotations: {at: 2024-01-02}}\ndata: {mode: 0644}\n`);
    expect((d!.object as { data: { mode: unknown } }).data.mode).toBe(420);
    expect(d!.object.metadata!.annotations!.at).toBe("2024-01-02");
  });

  it("orders CRDs first, then Namespaces, then the rest in document order; delete is the reverse", () => {
    const docs = parseDocuments(MANIFEST);
    expect(orderForApply(docs).map((d) => d.name)).toEqual(["ipaddresspools.metallb.io", "bgppeers.metallb.io", "metallb-system", "pool", "controller"]);
    expect(orderForDelete(docs).map((d) => d.name)).toEqual(["controller", "pool", "metallb-system", "bgppeers.metallb.io", "ipaddresspools.metallb.io"]);
  });

  it("flattens a List into its items, each named by the List's document", () => {
    const docs = parseDocuments(`apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Service, metadata: {name: a}}\n- {apiVersion: v1, kind: Service, metadata: {name: b, namespace: x}}\n`);
    expect(docs.map((d) => `${d.index} ${d.kind} ${d.namespace ?? "-"}/${d.name}`)).toEqual(["1 Service -/a", "1 Service x/b"]);
  });

  it("names the document that is not an object", () => {
    expect(() => parseDocuments("apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\nkind: Pod\nmetadata: {name: p}\n")).toThrow(
      new ManifestError(2, "no apiVersion"),
    );
    expect(() => parseDocuments("apiVersion: v1\nkind: Service\nmetadata: {}\n")).toThrow(/manifest document 1: Service has no metadata.name/);
    expect(() => parseDocuments("a: 1\n---\n- x\n")).toThrow(/manifest document 1: no apiVersion/);
    expect(() => parseDocuments("apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\n- just\n- a list\n")).toThrow(/manifest document 2: not a mapping/);
  });

  it("names the document that is not YAML", () => {
    expect(() => parseDocuments("apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\nkey: [unclosed\n")).toThrow(/manifest document 2: not valid YAML/);
  });

  it("returns nothing for an empty text", () => {
    expect(parseDocuments("")).toEqual([]);
    expect(parseDocuments("---\n# nothing\n---\n")).toEqual([]);
  });
});
