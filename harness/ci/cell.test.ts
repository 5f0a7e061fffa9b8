import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { countResults, nodeImageSource } from "./cell.ts";
import { expandMatrix, findCell, loadMatrix } from "./matrix.ts";

const m = expandMatrix(loadMatrix());
const env = (e: Record<string, string>) => ({ NETCONFORM_CONFIG: "/dev/null", ...e }) as NodeJS.ProcessEnv;

describe("ci/cell", () => {
  it("node image: given, pulled through the docker.io mirror (pull-through mode), or forged when the forge builds that version", () => {
    expect(nodeImageSource(findCell(m, "cluster-v1.34-iptables"), env({ NETCONFORM_NODE_IMAGE: "x/node:1" }))).toBe("given");
    expect(nodeImageSource(findCell(m, "cluster-v1.33-iptables"), env({ NETCONFORM_STRICT_OFFLINE: "false", NETCONFORM_IMAGE_SOURCE: "mirror" }))).toBe("pull-through");
    expect(nodeImageSource(findCell(m, "cluster-v1.34-iptables"), env({}))).toBe("forge");
  });

  it("a version the forge does not build, under strict offline, is refused with the way out", () => {
    expect(() => nodeImageSource(findCell(m, "cluster-v1.33-iptables"), env({}))).toThrow(/no node image for Kubernetes 1\.33 .*NETCONFORM_STRICT_OFFLINE=false NETCONFORM_IMAGE_SOURCE=mirror/);
  });

  it("counts Allure results by status (broken is failed, anything else not passed is skipped)", () => {
    const d = mkdtempSync(join(tmpdir(), "nc-cell-"));
    ["passed", "passed", "failed", "broken", "skipped", "unknown"].forEach((s, i) => writeFileSync(join(d, `${i}-result.json`), JSON.stringify({ status: s })));
    writeFileSync(join(d, "x-container.json"), "{}");
    expect(countResults(d)).toEqual({ passed: 2, failed: 2, skipped: 2 });
    expect(countResults(join(d, "absent"))).toEqual({ passed: 0, failed: 0, skipped: 0 });
  });
});
