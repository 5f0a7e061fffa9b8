import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { removeImage } from "../adapters/docker.ts";
import { HostExecutor } from "../exec/host.ts";
import type { Run } from "../run.ts";

/**
 * A one-file image of a run's own (`docker import` of a tar holding probe.txt), tagged
 * netconform/<name>:<run id> and labelled with the run, so the run's teardown (and a sweep of the
 * run) removes it. Used where a test needs an image to push or pull.
 */
export async function probeImage(run: Run, name: string, text = `netconform probe ${run.id}\n`): Promise<string> {
  const tag = `netconform/${name}:${run.id}`;
  const dir = mkdtempSync(join(tmpdir(), "nc-probe-"));
  try {
    writeFileSync(join(dir, "probe.txt"), text);
    const labels = Object.entries(run.labels("image")).map(([k, v]) => `--change 'LABEL ${k}=${v}'`).join(" ");
    await new HostExecutor().run(["sh", "-c", `tar -C ${dir} -c probe.txt | docker import --change 'CMD ["/probe.txt"]' ${labels} - ${tag}`]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  run.defer(`image ${tag}`, () => removeImage(tag));
  return tag;
}
