import type { TestProject } from "vitest/node";
import { HostExecutor } from "../exec/host.ts";
import { HostToolsMissing, LAB_TOOLS, ensureHostTools } from "../preflight/host-tools.ts";
import { probeKernel } from "../preflight/kernel.ts";
import { recordEnvironment } from "../report/environment.ts";
import { reportGlobalError } from "../report/global-error.ts";
import { ensureDirectImage } from "./direct.ts";
import { type LabBuildRecord, ensureLabImage, labKernels } from "./image.ts";
import type { LabProvided } from "./lab.ts";
import { LAB_NEEDS, type LabHost, allLabNeeds, hostLacks, labMode } from "./targets.ts";

/**
 * lab project setup (harness/lab/targets.ts says where each file runs):
 *  1. NETCONFORM_LAB (auto | always | never; anything else is an error naming the variable);
 *  2. the host's kernel is probed for every feature a lab file needs (harness/preflight/kernel.ts);
 *  3. the direct target (the lab userland as a docker image, harness/lab/direct.ts) is made ready
 *     unless NETCONFORM_LAB=always; if it cannot be (no docker, no debootstrap and no way to
 *     install it), the reason is kept and files fall back to the VM;
 *  4. the VM images are built when some file will need a VM: NETCONFORM_LAB=always, or auto with
 *     a file whose features the host lacks. The host tools are made present first (installed as
 *     root on Debian/Ubuntu, see harness/preflight/host-tools.ts; elsewhere the VM's tests are
 *     skipped naming the packages). Images are cached by their inputs under ~/.cache/netconform/lab.
 * A build that fails is an error.
 */
export default async function setup(project: TestProject): Promise<void> {
  const kernels = labKernels();
  try {
    const mode = labMode();
    const provided: LabProvided = { mode, images: kernels.map((pkg) => ({ pkg })) };
    const records: LabBuildRecord[] = [];
    const exec = new HostExecutor({ PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" });
    const uname = await exec.run(["uname", "-r"]);
    const host: LabHost = { kernelVersion: uname.stdout.trim(), probes: await probeKernel(exec, allLabNeeds()) };
    provided.host = host;
    if (mode !== "always") {
      try {
        await exec.run(["docker", "version", "--format", "{{.Server.Version}}"], { timeoutMs: 30_000 });
        await ensureHostTools(LAB_TOOLS.filter((t) => t.cmd === "debootstrap"), { files: [] });
        host.directImage = await ensureDirectImage({ records });
      } catch (e) {
        host.directMissing = (e as Error).message.split("\n")[0];
      }
    }
    const vmNeeded = mode === "always" || (mode === "auto" && Object.values(LAB_NEEDS).some((n) => n.length > 0 && (hostLacks(host, n) || !host.directImage)));
    if (mode === "never") provided.missing = "NETCONFORM_LAB=never";
    else if (!vmNeeded) provided.missing = `no VM needed: the host kernel ${host.kernelVersion} has every feature the lab files need`;
    else {
      try {
        await ensureHostTools(LAB_TOOLS, { files: [] });
      } catch (e) {
        if (!(e instanceof HostToolsMissing)) throw e;
        provided.missing = e.message;
      }
      if (!provided.missing) provided.images = [];
      if (!provided.missing) for (const pkg of kernels) provided.images.push({ pkg, image: await ensureLabImage(pkg, { records }) });
    }
    const built = records.filter((r) => r.built);
    if (built.length) process.stderr.write(`lab: built ${built.map((r) => `${r.what} (${r.seconds.toFixed(0)} s)`).join(", ")}\n`);
    const env: Record<string, string> = { "lab.mode": mode, "lab.host.kernel": host.kernelVersion };
    for (const i of provided.images) if (i.image) env[`lab.kernel.${i.image.kernelVersion}`] = i.image.kernelPackage;
    recordEnvironment(env, process.env.NETCONFORM_ALLURE_RESULTS);
    project.provide("lab", provided);
  } catch (e) {
    reportGlobalError("lab", e);
    throw e;
  }
}
