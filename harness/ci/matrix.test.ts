import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadCatalogue } from "../images/catalogue.ts";
import { cellClusterName } from "./cell.ts";
import { MATRIX_FILE, MatrixError, expandMatrix, findCell, loadMatrix, parseMatrix, strategyMatrix } from "./matrix.ts";

const text = readFileSync(MATRIX_FILE, "utf8");
const bad = (edit: (s: string) => string) => () => parseMatrix(edit(text));

describe("ci/matrix (.ci/matrix.yaml)", () => {
  it("expands into version × proxy mode × family cells, minus the exclusions, each with its kernel needs", () => {
    const m = expandMatrix(loadMatrix());
    const ids = m.cells.map((c) => c.cell);
    expect(ids).toContain("cluster-v1.34-iptables");
    expect(ids).toContain("metallb-v1.33-nftables");
    expect(new Set(ids).size).toBe(ids.length);
    // at least two Kubernetes versions, the three proxy modes
    expect(new Set(m.cells.map((c) => c.kubernetes)).size).toBeGreaterThanOrEqual(2);
    expect(new Set(m.cells.map((c) => c.proxyMode))).toEqual(new Set(["iptables", "nftables", "ipvs"]));
    expect(findCell(m, "cluster-v1.34-ipvs").kernel).toEqual(["IP_VS"]);
    expect(findCell(m, "cluster-v1.34-iptables").kernel).toEqual([]);
    expect(m.excluded.map((x) => x.cell)).toContain("metallb-v1.34-ipvs");
    expect(m.excluded.every((x) => x.reason.length > 10)).toBe(true);
    expect(m.excluded.map((x) => x.cell)).toEqual(expect.arrayContaining(["ipsec-v1.34-ipvs", "nvipam-v1.33-nftables", "nvipam-v1.34-ipvs"]));
    expect(ids).toEqual(expect.arrayContaining(["services-v1.34-ipvs", "ipsec-v1.33-nftables", "nvipam-v1.34-iptables"]));
    // versions × modes × families (cluster, metallb, services, ipsec, nvipam)
    expect(m.cells.length + m.excluded.length).toBe(2 * 3 * 5);
  });

  it("every version has a kindest/node pinned by digest in the catalogue", () => {
    const pins = loadCatalogue().nodeImages;
    for (const v of loadMatrix().kubernetes) expect(pins.find((p) => p.kubernetes === v)?.kindest).toMatch(new RegExp(`^docker\\.io/kindest/node:v${v.replace(".", "\\.")}\\.\\d+@sha256:[0-9a-f]{64}$`));
  });

  it("strategy JSON has `include` only (another key would become a matrix dimension)", () => {
    const s = strategyMatrix(expandMatrix(loadMatrix()));
    expect(Object.keys(s)).toEqual(["include"]);
    expect(Object.keys(s.include[0]!).sort()).toEqual(["cell", "family", "kernel", "kubernetes", "proxyMode", "suites", "timeoutMinutes"]);
  });

  it("narrows by families, versions and proxy modes; unknown names are refused with the allowed ones", () => {
    const m = expandMatrix(loadMatrix(), { families: ["cluster"], kubernetes: ["1.34"], proxyModes: ["iptables", "nftables"] });
    expect(m.cells.map((c) => c.cell)).toEqual(["cluster-v1.34-iptables", "cluster-v1.34-nftables"]);
    expect(() => expandMatrix(loadMatrix(), { proxyModes: ["ebpf"] })).toThrow(/proxy modes: unknown "ebpf"; allowed: iptables, nftables, ipvs/);
    expect(() => expandMatrix(loadMatrix(), { families: ["nope"] })).toThrow(/families: unknown "nope"; allowed: cluster, metallb, services, ipsec, nvipam/);
  });

  it("findCell names the cells, and says why an excluded one is excluded", () => {
    const m = expandMatrix(loadMatrix());
    expect(() => findCell(m, "cluster-v9.99-iptables")).toThrow(/no cell "cluster-v9.99-iptables".*cells: cluster-v1.34-iptables/);
    expect(() => findCell(m, "metallb-v1.34-ipvs")).toThrow(/excluded.*strictARP/);
  });

  it.each([
    ["an unknown proxy mode", (s: string) => s.replace("  nftables: { kernel: [] }", "  ebpf: { kernel: [] }"), /proxyModes.*ebpf.*allowed: iptables, nftables, ipvs/],
    ["an unknown kernel feature", (s: string) => s.replace("kernel: [IP_VS]", "kernel: [IP_FOO]"), /proxyModes\.ipvs\.kernel\.0: must be one of .*"IP_VS"/],
    ["a version without a pinned node image", (s: string) => s.replace('["1.34", "1.33"]', '["1.34", "1.99"]'), /kubernetes\.1: "1\.99" has no node image pinned .*allowed: 1\.34, 1\.33/],
    ["a malformed version", (s: string) => s.replace('"1.33"', '"v1.33"'), /kubernetes\.1: a Kubernetes minor version/],
    ["an exclusion of an unknown family", (s: string) => s.replace("  - family: metallb", "  - family: metalb"), /exclude\.0\.family: "metalb" is not a family; allowed: cluster, metallb, services, ipsec, nvipam/],
    ["an exclusion without a reason", (s: string) => s.replace(/    reason: .*\n/, ""), /exclude\.0\.reason/],
    ["an unknown field", (s: string) => `${s}\nnightly: true\n`, /nightly: unknown field; allowed: kubernetes, proxyModes, families, exclude/],
    ["a family timeout out of range", (s: string) => s.replace("timeoutMinutes: 30", "timeoutMinutes: 1"), /families\.cluster\.timeoutMinutes/],
    ["not YAML", () => "kubernetes: [", /not valid YAML/],
  ])("refuses %s, naming the field and what is allowed", (_w, edit, msg) => {
    expect(bad(edit)).toThrow(MatrixError);
    expect(bad(edit)).toThrow(msg);
  });

  it("cell cluster names are DNS labels of at most 32 characters", () => {
    for (const c of expandMatrix(loadMatrix()).cells) expect(cellClusterName(c)).toMatch(/^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$/);
  });
});
