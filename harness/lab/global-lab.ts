import type { TestProject } from "vitest/node";
import { HostToolsMissing, LAB_TOOLS, ensureHostTools } from "../preflight/host-tools.ts";
import { recordEnvironment } from "../report/environment.ts";
import { reportGlobalError } from "../report/global-error.ts";
import { type LabBuildRecord, ensureLabImage, labKernels } from "./image.ts";
import type { LabProvided } from "./lab.ts";

/**
 * lab project setup: NETCONFORM_LAB=never skips the lab (every test says so). Otherwise the host
 * tools are made present (installed as root on Debian/Ubuntu, see harness/preflight/host-tools.ts;
 * elsewhere the lab's tests are skipped naming the packages), and each kernel's image is built
 * when missing (cached by its inputs under ~/.cache/netconform/lab). A build that fails is an error.
 */
export default async function setup(project: TestProject): Promise<void> {
  const provided: LabProvided = { images: [] };
  const kernels = labKernels();
  try {
    if (process.env.NETCONFORM_LAB === "never") {
      provided.missing = "NETCONFORM_LAB=never";
      provided.images = kernels.map((pkg) => ({ pkg }));
    } else {
      try {
        await ensureHostTools(LAB_TOOLS, { files: [] });
      } catch (e) {
        if (!(e instanceof HostToolsMissing)) throw e;
        provided.missing = e.message;
      }
      const records: LabBuildRecord[] = [];
      for (const pkg of kernels) provided.images.push(provided.missing ? { pkg } : { pkg, image: await ensureLabImage(pkg, { records }) });
      const built = records.filter((r) => r.built);
      if (built.length) process.stderr.write(`lab: built ${built.map((r) => `${r.what} (${r.seconds.toFixed(0)} s)`).join(", ")}\n`);
      const env: Record<string, string> = {};
      for (const i of provided.images) if (i.image) env[`lab.kernel.${i.image.kernelVersion}`] = i.image.kernelPackage;
      if (Object.keys(env).length) recordEnvironment(env, process.env.NETCONFORM_ALLURE_RESULTS);
    }
    project.provide("lab", provided);
  } catch (e) {
    reportGlobalError("lab", e);
    throw e;
  }
}
