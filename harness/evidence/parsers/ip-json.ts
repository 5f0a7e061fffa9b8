/**
 * `ip -j route`, `ip -j [-s] link`, `ip -j neigh` and `ip -j addr` through zod schemas. Keys that
 * iproute2 always emits are required; everything else is optional, and unknown keys pass through
 * untouched (iproute2 adds keys between versions).
 *
 * One iproute2 quirk is handled explicitly: with a family filter (`ip -j -4 addr`) iproute2 prints
 * an empty object `{}` for every link without an address of that family. Those are dropped from
 * the result (and counted in `skippedEmpty`), never mistaken for links.
 */
import { z } from "zod";
import { canonicalCidr, canonicalIp, check, jsonValue } from "./common.ts";

const P = "ip-json";

const u = z.number().int().nonnegative();

export const ipRouteSchema = z.looseObject({
  dst: z.string().min(1),
  gateway: z.string().optional(),
  dev: z.string().optional(),
  protocol: z.string().optional(),
  scope: z.string().optional(),
  prefsrc: z.string().optional(),
  metric: u.optional(),
  table: z.string().optional(),
  type: z.string().optional(),
  flags: z.array(z.string()),
});

const linkStats = z.looseObject({
  rx: z.looseObject({ bytes: u, packets: u, errors: u, dropped: u }),
  tx: z.looseObject({ bytes: u, packets: u, errors: u, dropped: u }),
});

export const ipLinkSchema = z.looseObject({
  ifindex: u,
  ifname: z.string().min(1),
  flags: z.array(z.string()),
  mtu: u,
  operstate: z.string(),
  link_type: z.string(),
  qdisc: z.string().optional(),
  group: z.string().optional(),
  txqlen: u.optional(),
  address: z.string().optional(),
  broadcast: z.string().optional(),
  link: z.string().nullable().optional(),
  link_index: u.optional(),
  master: z.string().optional(),
  linkinfo: z.looseObject({ info_kind: z.string().optional(), info_data: z.looseObject({}).optional() }).optional(),
  stats64: linkStats.optional(),
  stats: linkStats.optional(),
});

export const ipNeighSchema = z.looseObject({
  dst: z.string().min(1),
  dev: z.string().optional(),
  lladdr: z.string().optional(),
  state: z.array(z.string()),
  router: z.null().optional(),
  proxy: z.null().optional(),
});

const addrInfo = z.looseObject({
  family: z.enum(["inet", "inet6"]),
  local: z.string().min(1),
  prefixlen: u,
  scope: z.string().optional(),
  label: z.string().optional(),
  broadcast: z.string().optional(),
  valid_life_time: u.optional(),
  preferred_life_time: u.optional(),
});

export const ipAddrSchema = ipLinkSchema.extend({ addr_info: z.array(addrInfo) });

export type IpRoute = z.infer<typeof ipRouteSchema>;
export type IpLink = z.infer<typeof ipLinkSchema>;
export type IpNeigh = z.infer<typeof ipNeighSchema>;
export type IpAddr = z.infer<typeof ipAddrSchema>;

export interface IpJsonResult<T> {
  items: T[];
  skippedEmpty: number;
}

function parseArray<S extends z.ZodType>(what: string, schema: S, text: string, allowEmptyObjects: boolean): IpJsonResult<z.output<S>> {
  const parser = `${P} ${what}`;
  const data = jsonValue(parser, text);
  const isEmptyObject = (v: unknown): boolean => v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0;
  const kept = Array.isArray(data) && allowEmptyObjects ? data.filter((v) => !isEmptyObject(v)) : data;
  const items = check(parser, z.array(schema), kept) as z.output<S>[];
  return { items, skippedEmpty: Array.isArray(data) ? data.length - items.length : 0 };
}

// Addresses come back canonical (RFC 5952); "default" and other words stay as printed.
const canonField = <T extends Record<string, unknown>>(o: T, keys: string[], f: (s: string) => string): T => {
  for (const k of keys) if (typeof o[k] === "string") (o as Record<string, unknown>)[k] = f(o[k] as string);
  return o;
};

export function parseIpRoute(text: string): IpRoute[] {
  return parseArray("route", ipRouteSchema, text, false).items.map((r) => canonField(r, ["dst", "gateway", "prefsrc", "src"], canonicalCidr));
}

export function parseIpLink(text: string): IpLink[] {
  return parseArray("link", ipLinkSchema, text, false).items;
}

export function parseIpNeigh(text: string): IpNeigh[] {
  return parseArray("neigh", ipNeighSchema, text, false).items.map((n) => canonField(n, ["dst"], canonicalIp));
}

export function parseIpAddr(text: string): IpJsonResult<IpAddr> {
  const r = parseArray("addr", ipAddrSchema, text, true);
  for (const l of r.items) for (const a of l.addr_info) canonField(a, ["local", "address", "broadcast"], canonicalIp);
  return r;
}
