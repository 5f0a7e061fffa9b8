/**
 * Multus annotations of a pod:
 *  - `k8s.v1.cni.cncf.io/network-status`: what each attachment got (name, interface, ips, mac,
 *    default, dns, gateway), as JSON; also accepted under the "NETWORK-STATUS" header that
 *    `kubectl get pod -o custom-columns=NETWORK-STATUS:…` prints.
 *  - `k8s.v1.cni.cncf.io/networks`: what the pod asked for, either "net1,ns/net2@if" or a JSON list
 *    of selection elements ({name, namespace, interface, ips, mac, …}).
 */
import { z } from "zod";
import { ParseError } from "../parse-error.ts";
import { canonicalIp, check, isIpAddress, jsonValue, lines } from "./common.ts";

const Ip = z.string().refine(isIpAddress, "not an IP address");
const Mac = z.string().regex(/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$|^([0-9a-fA-F]{2}:){19}[0-9a-fA-F]{2}$/, "not a MAC address");

export const NetworkStatusEntrySchema = z
  .object({
    /** "" for the cluster default network in some Multus versions */
    name: z.string(),
    interface: z.string().min(1).max(15).optional(),
    ips: z.array(Ip).default([]).transform((xs) => xs.map(canonicalIp)),
    mac: Mac.optional(),
    mtu: z.number().int().positive().optional(),
    default: z.boolean().default(false),
    dns: z
      .object({ nameservers: z.array(z.string()).optional(), domain: z.string().optional(), search: z.array(z.string()).optional(), options: z.array(z.string()).optional() })
      .strict()
      .default({}),
    // Multus v4 prints a result without a gateway as ["<nil>"] (Go's nil net.IP): no gateway
    gateway: z
      .array(z.union([Ip, z.literal("<nil>")]))
      .transform((g) => g.filter((x) => x !== "<nil>"))
      .optional(),
    "device-info": z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type NetworkStatusEntry = z.output<typeof NetworkStatusEntrySchema>;

/** the annotation's JSON, or the custom-columns output with its NETWORK-STATUS header line */
export function parseNetworkStatus(text: string): NetworkStatusEntry[] {
  const P = "network-status";
  let body = text;
  const first = lines(text).findIndex((l) => l.trim() !== "");
  if (first >= 0 && lines(text)[first]!.trim() === "NETWORK-STATUS") body = lines(text).slice(first + 1).join("\n");
  const v = jsonValue(P, body);
  const list = check(P, z.array(NetworkStatusEntrySchema).min(1), v);
  if (list.filter((e) => e.default).length > 1) throw new ParseError(P, undefined, body.slice(0, 200), "more than one default network");
  return list;
}

/** the entry for a network attachment, matched as "ns/name" or, when unique, by name alone */
export function attachment(status: NetworkStatusEntry[], network: string): NetworkStatusEntry | undefined {
  if (network === "") return undefined;
  const exact = status.find((e) => e.name === network);
  if (exact) return exact;
  const bare = status.filter((e) => e.name !== "" && e.name.split("/").pop() === network.split("/").pop());
  return bare.length === 1 ? bare[0] : undefined;
}

export const NetworkSelectionSchema = z
  .object({
    name: z.string().min(1),
    namespace: z.string().min(1).optional(),
    interface: z.string().min(1).max(15).optional(),
    ips: z.array(z.string().refine((s) => isIpAddress(s.split("/")[0]!), "not an IP address")).optional(),
    mac: Mac.optional(),
    "default-route": z.array(Ip).optional(),
    "cni-args": z.record(z.string(), z.unknown()).optional(),
    "infiniband-guid": z.string().optional(),
    "portMappings": z.array(z.unknown()).optional(),
    "bandwidth": z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type NetworkSelection = z.output<typeof NetworkSelectionSchema>;

/** `k8s.v1.cni.cncf.io/networks`; requested static IPs come from "ips" or "cni-args".ips */
export function parseNetworkSelection(text: string): (NetworkSelection & { requestedIps: string[] })[] {
  const P = "network-selection";
  const t = text.trim();
  if (t === "") throw new ParseError(P, undefined, text, "empty annotation");
  let list: NetworkSelection[];
  if (t.startsWith("[")) list = check(P, z.array(NetworkSelectionSchema), jsonValue(P, t));
  else {
    list = t.split(",").map((item) => {
      const m = /^(?:([a-z0-9][-a-z0-9]*)\/)?([a-z0-9][-a-z0-9.]*)(?:@([A-Za-z0-9_.-]{1,15}))?$/.exec(item.trim());
      if (!m) throw new ParseError(P, undefined, item, "not [namespace/]name[@interface]");
      const sel: NetworkSelection = { name: m[2]! };
      if (m[1]) sel.namespace = m[1];
      if (m[3]) sel.interface = m[3];
      return sel;
    });
  }
  return list.map((s) => {
    const cniIps = s["cni-args"]?.ips;
    if (cniIps !== undefined && !(Array.isArray(cniIps) && cniIps.every((x) => typeof x === "string" && isIpAddress(x.split("/")[0]!)))) {
      throw new ParseError(P, undefined, JSON.stringify(s), "cni-args.ips is not a list of IP addresses");
    }
    const requestedIps = [...(s.ips ?? []), ...((cniIps as string[] | undefined) ?? [])].map((x) => x.split("/")[0]!);
    return { ...s, requestedIps };
  });
}
