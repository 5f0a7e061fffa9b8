import { basename } from "node:path";
import { z } from "zod";
import { type FeatureProbe, KERNEL_FEATURES, type KernelFeature } from "../preflight/kernel.ts";
import type { LabImage } from "./image.ts";

/**
 * Where the kernel lab's controls run. Each control file needs some kernel features (LAB_NEEDS).
 *
 *   NETCONFORM_LAB=auto (default)  on the host kernel directly when it has every feature the file
 *                                  needs (and the host can run the direct target: root, docker);
 *                                  otherwise in a VM per lab kernel
 *   NETCONFORM_LAB=always          in a VM per lab kernel, whatever the host has
 *   NETCONFORM_LAB=never           never a VM: on the host when it has the features, else a skip
 *                                  naming what the host lacks
 *
 * "Directly" means in a privileged container of the lab's userland on the host's kernel
 * (harness/lab/direct.ts): the same scripts, namespaces and daemons, without a VM; the container
 * keeps the controls' namespaces, addresses and rules away from the host's own.
 */
export const LAB_MODES = ["auto", "always", "never"] as const;
export type LabMode = (typeof LAB_MODES)[number];

export function labMode(env: string | undefined = process.env.NETCONFORM_LAB): LabMode {
  const r = z.enum(LAB_MODES).safeParse(env?.trim() || "auto");
  if (!r.success) throw new Error(`NETCONFORM_LAB: "${env}" is not one of ${LAB_MODES.join(", ")}`);
  return r.data;
}

/** The kernel features each lab control file needs from the kernel it runs on (by file name). */
export const LAB_NEEDS: Record<string, readonly KernelFeature[]> = {
  "sctp.lab.test.ts": ["IP_SCTP", "DUMMY"],
  "klvs.lab.test.ts": ["IP_VS"],
  "klvs-program.lab.test.ts": ["IP_VS", "IPIP"],
  "ipsec.lab.test.ts": ["INET_ESP", "XFRM_INTERFACE", "NET_IPVTI"],
  "nfs.lab.test.ts": ["NFS", "NFSD"],
};

export function labNeeds(file: string): readonly KernelFeature[] {
  const n = LAB_NEEDS[basename(file)];
  if (!n) throw new Error(`${basename(file)} is not in LAB_NEEDS (harness/lab/targets.ts): say which kernel features it needs`);
  return n;
}

/** every feature some lab file needs (what the lab's global setup probes on the host) */
export function allLabNeeds(): KernelFeature[] {
  const all = new Set(Object.values(LAB_NEEDS).flat());
  return KERNEL_FEATURES.filter((f) => all.has(f));
}

/** What the lab's global setup found about the host. */
export interface LabHost {
  /** `uname -r` */
  kernelVersion: string;
  probes: FeatureProbe[];
  /** the docker image of the lab userland, when the direct target can run here */
  directImage?: string;
  /** why the direct target cannot run here (not root, no docker, the userland could not be built) */
  directMissing?: string;
}

export type LabTarget =
  | { kind: "vm"; pkg: string; image?: LabImage }
  | { kind: "host"; kernelVersion: string; image: string };

export interface TargetChoice {
  targets: LabTarget[];
  /** why none of the targets can run (each test of the file is skipped, or errors when asked for by name) */
  missing?: string;
  /** why the VM was chosen over the host (for the report) */
  why: string;
}

/** "kernel lacks IP_VS (/proc/net/ip_vs absent); …" for the features of `needs` the host lacks */
export function hostLacks(host: LabHost | undefined, needs: readonly KernelFeature[]): string | undefined {
  if (needs.length === 0) return undefined;
  if (!host) return "the host kernel was not probed";
  const lacking = needs.map((f) => host.probes.find((p) => p.feature === f) ?? { feature: f, present: false, evidence: "not probed" }).filter((p) => !p.present);
  if (lacking.length === 0) return undefined;
  return `host kernel ${host.kernelVersion} lacks ${lacking.map((p) => `${p.feature} (${p.evidence})`).join(", ")}`;
}

/**
 * The targets of one lab file. Pure: what the global setup found (mode, host, VM images or why
 * there are none) and what the file needs decide it.
 */
export function chooseTargets(p: { mode: LabMode; host?: LabHost; images: Array<{ pkg: string; image?: LabImage }>; vmMissing?: string }, needs: readonly KernelFeature[]): TargetChoice {
  const lacks = hostLacks(p.host, needs);
  const direct = p.host?.directImage;
  const vms = (why: string): TargetChoice => ({ targets: p.images.map((i) => ({ kind: "vm" as const, ...i })), ...(p.vmMissing ? { missing: p.vmMissing } : {}), why });
  if (p.mode === "always") return vms("NETCONFORM_LAB=always");
  if (!lacks && direct && p.host) return { targets: [{ kind: "host", kernelVersion: p.host.kernelVersion, image: direct }], why: `the host kernel ${p.host.kernelVersion} has ${needs.join(", ") || "everything needed"}` };
  const hostReason = lacks ?? `the host kernel has ${needs.join(", ") || "everything needed"} but the direct target cannot run: ${p.host?.directMissing ?? "no lab userland image"}`;
  if (p.mode === "never") return { targets: [], missing: `NETCONFORM_LAB=never, and ${hostReason}`, why: hostReason };
  return vms(hostReason);
}

/** "[lab 6.1.0-50-amd64]" / "[host 6.8.0-45-generic]" for test names */
export function targetTag(t: LabTarget): string {
  return t.kind === "host" ? `[host ${t.kernelVersion}]` : `[lab ${t.image?.kernelVersion ?? t.pkg}]`;
}
