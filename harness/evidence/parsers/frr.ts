/**
 * FRR `vtysh -c '… json'` output through zod schemas (seed 002 L403-505; shapes as FRR 8.4 prints
 * them in the netconform toolbox):
 *
 *   show bgp summary json                       → { ipv4Unicast: { routerId, as, peers: { ip: {state, msgRcvd, pfxSnt…} } } }
 *   show bgp ipv4 unicast json / show ip bgp json → { routerId, localAS, routes: { "p/len": [path…] } }
 *   show bgp neighbors json                     → { ip: { bgpState, messageStats, addressFamilyInfo, peerBfdInfo… } }
 *   show bfd peers json                         → [ { peer, local, multihop, status, uptime|downtime, timers… } ]
 *   show bfd peers brief                        → the text table (seed 002 L483-503)
 *
 * Keys FRR always prints are required, the rest optional, unknown keys pass through (FRR adds keys
 * between versions). Values are checked for what they mean: addresses are addresses, prefixes are
 * prefixes whose key agrees with the path's prefix/prefixLen, BGP states are FSM states. Anything
 * else — not JSON, a truncated document, a wrong type — is a ParseError.
 */
import { z } from "zod";
import { ParseError } from "../parse-error.ts";
import { canonicalIp, check, isCidr, isIpAddress, jsonValue, lineStep, nothingUsable, type ParseOptions } from "./common.ts";
import { splitLines } from "./tokens.ts";

const u = z.number().int().nonnegative();
const ipAddr = z.string().refine(isIpAddress, "not an IP address");
/** a BGP FSM state as FRR prints it ("Idle", "Idle (Admin)", "Active", "Established", …) */
const bgpState = z.string().regex(/^(Idle|Connect|Active|OpenSent|OpenConfirm|Established|Clearing|Deleted|Policy)( \([A-Za-z ]+\))?$/, "not a BGP state");
/** a neighbor key: an address, or an interface name for unnumbered peers */
const peerKey = z.string().regex(/^[A-Za-z0-9_.:%@-]{1,64}$/, "not a neighbor address or interface");

// ---------------------------------------------------------------------------------------------
// show bgp summary json

export const bgpSummaryPeerSchema = z.looseObject({
  hostname: z.string().optional(),
  remoteAs: u,
  localAs: u.optional(),
  version: u.optional(),
  msgRcvd: u,
  msgSent: u,
  tableVersion: u.optional(),
  outq: u.optional(),
  inq: u.optional(),
  peerUptime: z.string(),
  peerUptimeMsec: u,
  /** absent on some versions while a session is down */
  pfxRcd: u.optional(),
  pfxSnt: u.optional(),
  state: bgpState,
  peerState: z.string().optional(),
  connectionsEstablished: u.optional(),
  connectionsDropped: u.optional(),
  idType: z.string().optional(),
});
export const bgpSummaryAfiSchema = z.looseObject({
  routerId: ipAddr,
  as: u,
  vrfId: z.number().int().optional(),
  vrfName: z.string().optional(),
  tableVersion: u.optional(),
  peerCount: u.optional(),
  peers: z.record(peerKey, bgpSummaryPeerSchema),
  failedPeers: u.optional(),
  totalPeers: u.optional(),
});
/** afi/safi name ("ipv4Unicast", "ipv6Unicast", "l2VpnEvpn", …) → its summary */
export const bgpSummarySchema = z.record(z.string().regex(/^[a-z][A-Za-z0-9]+$/, "not an address-family key"), bgpSummaryAfiSchema);

export type BgpSummaryPeer = z.infer<typeof bgpSummaryPeerSchema>;
export type BgpSummaryAfi = z.infer<typeof bgpSummaryAfiSchema>;
export type BgpSummary = z.infer<typeof bgpSummarySchema>;

/**
 * Parse `show bgp summary json`. An empty object (no peers in any family) is a valid answer. The
 * single-family form (`show bgp ipv4 unicast summary json`, the family object without wrapper) is
 * returned under the key given as `family`.
 */
export function parseBgpSummary(text: string, family = "ipv4Unicast", vrf = "default"): BgpSummary {
  const P = "frr bgp-summary";
  let v = jsonValue(P, text);
  if (isVrfKeyed(v, (x) => Object.values(x).some((a) => isObj(a) && "peers" in a) || Object.keys(x).length === 0)) v = pickVrf(P, v, vrf, text);
  if (v !== null && typeof v === "object" && !Array.isArray(v) && "peers" in v) return check(P, bgpSummarySchema, { [family]: v });
  return check(P, bgpSummarySchema, v);
}

// `show bgp vrf all [summary] json` keys the usual document by VRF name:
// {"default": {…}, "red": {…}}. The parsers take one VRF from it ("default" unless named).
const isObj = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === "object" && !Array.isArray(x);

/** Is this a VRF-keyed document: every value an object that `isDoc` accepts, with a vrfName/vrfId or a VRF-like key? */
function isVrfKeyed(v: unknown, isDoc: (x: Record<string, unknown>) => boolean): v is Record<string, Record<string, unknown>> {
  if (!isObj(v) || Object.keys(v).length === 0 || "peers" in v || "routes" in v) return false;
  // the plain summary is keyed by address family, each holding "peers" itself
  if (Object.values(v).some((x) => isObj(x) && "peers" in x)) return false;
  return Object.values(v).every((x) => isObj(x) && ("vrfName" in x || "vrfId" in x || isDoc(x))) && Object.values(v).some((x) => isObj(x) && ("vrfName" in x || "vrfId" in x || Object.values(x).some((a) => isObj(a) && "peers" in a)));
}

function pickVrf(P: string, v: Record<string, Record<string, unknown>>, vrf: string, text: string): Record<string, unknown> {
  const doc = v[vrf];
  if (!doc) throw new ParseError(P, undefined, text.slice(0, 200), `VRF-keyed output (show bgp vrf all … json) without VRF ${vrf}: it has ${Object.keys(v).join(", ")}`);
  return doc;
}

/** The VRF names of a `show bgp vrf all [summary] json` document ([] when it is not VRF-keyed). */
export function bgpVrfs(text: string): string[] {
  const v = jsonValue("frr bgp", text);
  return isVrfKeyed(v, () => true) ? Object.keys(v) : [];
}

// ---------------------------------------------------------------------------------------------
// show bgp ipv4 unicast json / show ip bgp json

export const bgpNexthopSchema = z.looseObject({
  ip: ipAddr,
  hostname: z.string().optional(),
  afi: z.enum(["ipv4", "ipv6"]),
  scope: z.string().optional(),
  used: z.boolean().optional(),
});
export const bgpPathSchema = z.looseObject({
  valid: z.boolean().optional(),
  bestpath: z.boolean().optional(),
  multipath: z.boolean().optional(),
  selectionReason: z.string().optional(),
  pathFrom: z.enum(["external", "internal"]).optional(),
  prefix: ipAddr,
  prefixLen: z.number().int().min(0).max(128),
  network: z.string().optional(),
  metric: u.optional(),
  locPrf: u.optional(),
  weight: u.optional(),
  /** the peer the path came from; "(unspec)" for a locally originated path */
  peerId: z.string().min(1),
  /** the AS path, "" when locally originated */
  path: z.string().regex(/^[0-9 {},()[\]]*$/, "not an AS path"),
  origin: z.enum(["IGP", "EGP", "incomplete"]),
  nexthops: z.array(bgpNexthopSchema).min(1),
});
export const bgpRoutesSchema = z
  .looseObject({
    vrfId: z.number().int().optional(),
    vrfName: z.string().optional(),
    tableVersion: u.optional(),
    routerId: ipAddr,
    defaultLocPrf: u.optional(),
    localAS: u,
    routes: z.record(z.string().refine(isCidr, "not a prefix"), z.array(bgpPathSchema).min(1)),
  })
  .superRefine((v, ctx) => {
    for (const [k, paths] of Object.entries(v.routes)) {
      paths.forEach((p, i) => {
        if (`${p.prefix}/${p.prefixLen}` !== k) ctx.addIssue({ code: "custom", path: ["routes", k, i], message: `path for ${p.prefix}/${p.prefixLen} listed under ${k}` });
      });
    }
  });

export type BgpNexthop = z.infer<typeof bgpNexthopSchema>;
export type BgpPath = z.infer<typeof bgpPathSchema>;
export type BgpRoutes = z.infer<typeof bgpRoutesSchema>;

/** Parse `show bgp ipv4 unicast json` (or `show ip bgp json`, the same document). */
export function parseBgpRoutes(text: string, vrf = "default"): BgpRoutes {
  const P = "frr bgp-routes";
  let v = jsonValue(P, text);
  if (isVrfKeyed(v, (x) => "routes" in x)) v = pickVrf(P, v, vrf, text);
  return check(P, bgpRoutesSchema, v);
}

// ---------------------------------------------------------------------------------------------
// show bgp neighbors json

export const peerBfdInfoSchema = z.looseObject({
  type: z.string(),
  detectMultiplier: u,
  rxMinInterval: u,
  txMinInterval: u,
  status: z.string(),
  lastUpdate: z.string().optional(),
});
export const bgpNeighborSchema = z.looseObject({
  remoteAs: u,
  localAs: u,
  hostname: z.string().optional(),
  remoteRouterId: ipAddr.optional(),
  localRouterId: ipAddr.optional(),
  bgpState: bgpState,
  bgpTimerUpMsec: u.optional(),
  messageStats: z.looseObject({ totalSent: u, totalRecv: u }).optional(),
  addressFamilyInfo: z.record(z.string(), z.looseObject({ acceptedPrefixCounter: u.optional(), sentPrefixCounter: u.optional() })).optional(),
  /** the ebgp-multihop TTL when configured */
  externalBgpNbrMaxHopsAway: u.optional(),
  updateSource: z.string().optional(),
  hostLocal: ipAddr.optional(),
  hostForeign: ipAddr.optional(),
  nexthop: ipAddr.optional(),
  peerBfdInfo: peerBfdInfoSchema.optional(),
});
export const bgpNeighborsSchema = z.record(peerKey, bgpNeighborSchema);

export type BgpNeighbor = z.infer<typeof bgpNeighborSchema>;
export type BgpNeighbors = z.infer<typeof bgpNeighborsSchema>;

export function parseBgpNeighbors(text: string): BgpNeighbors {
  const P = "frr bgp-neighbors";
  return check(P, bgpNeighborsSchema, jsonValue(P, text));
}

// ---------------------------------------------------------------------------------------------
// show bfd peers json / brief

export const BFD_STATUSES = ["up", "down", "init", "shutdown", "unknown"] as const;

export const bfdPeerSchema = z
  .looseObject({
    multihop: z.boolean(),
    peer: ipAddr,
    local: ipAddr.optional(),
    vrf: z.string().optional(),
    interface: z.string().optional(),
    id: u,
    "remote-id": u.optional(),
    "passive-mode": z.boolean().optional(),
    "minimum-ttl": u.optional(),
    status: z.enum(BFD_STATUSES),
    /** seconds since the session came up (status up) */
    uptime: u.optional(),
    /** seconds since the session went down (status down, after it had been up) */
    downtime: u.optional(),
    diagnostic: z.string(),
    "remote-diagnostic": z.string().optional(),
    "receive-interval": u,
    "transmit-interval": u,
    "echo-receive-interval": u.optional(),
    "echo-transmit-interval": u.optional(),
    "detect-multiplier": u.min(1),
    "remote-receive-interval": u.optional(),
    "remote-transmit-interval": u.optional(),
    "remote-detect-multiplier": u.optional(),
  })
  .superRefine((p, ctx) => {
    if (p.status === "up" && p.uptime === undefined) ctx.addIssue({ code: "custom", path: ["uptime"], message: "an up session without uptime" });
  });
export const bfdPeersSchema = z.array(bfdPeerSchema);

export type BfdPeer = z.infer<typeof bfdPeerSchema>;

export function parseBfdPeers(text: string): BfdPeer[] {
  const P = "frr bfd-peers";
  return check(P, bfdPeersSchema, jsonValue(P, text));
}

/** One row of `show bfd peers brief`. */
export interface BfdBriefPeer {
  id: number;
  local: string;
  peer: string;
  status: (typeof BFD_STATUSES)[number];
}

/** Parse `show bfd peers brief` (seed 002 L483-503): the session count must match the rows. */
export function parseBfdPeersBrief(text: string, opts?: ParseOptions): BfdBriefPeer[] {
  const P = "frr bfd-brief";
  let count: number | undefined;
  let header = 0;
  const out: BfdBriefPeer[] = [];
  for (const line of splitLines(text)) {
    const t = line.text.trim();
    if (t === "") continue;
    const c = /^Session count: (\d+)$/.exec(t);
    if (c && count === undefined && header === 0) {
      count = Number(c[1]);
      continue;
    }
    if (header === 0 && /^SessionId\s+LocalAddress\s+PeerAddress\s+Status$/.test(t)) {
      header = 1;
      continue;
    }
    if (header === 1 && /^=+\s+=+\s+=+\s+=+$/.test(t)) {
      header = 2;
      continue;
    }
    lineStep(opts, line, () => {
      const m = /^(\d+)\s+(\S+)\s+(\S+)\s+(\S+)$/.exec(t);
      // tolerant: a table pasted without its Session count / header lines is read by its rows
      if (!m || (!opts?.tolerant && (header !== 2 || count === undefined))) throw new ParseError(P, line.no, line.text, "unrecognised line");
      const status = m[4] as BfdBriefPeer["status"];
      if (!isIpAddress(m[2]!) && m[2] !== "*") throw new ParseError(P, line.no, line.text, "local address is not an IP address");
      if (!isIpAddress(m[3]!)) throw new ParseError(P, line.no, line.text, "peer address is not an IP address");
      if (!BFD_STATUSES.includes(status)) throw new ParseError(P, line.no, line.text, `unknown status ${m[4]}`);
      out.push({ id: Number(m[1]), local: m[2] === "*" ? "*" : canonicalIp(m[2]!), peer: canonicalIp(m[3]!), status });
    });
  }
  if (opts?.tolerant && out.length === 0 && (opts.warnings?.length ?? 0) > 0) throw nothingUsable(P, opts, "BFD session row");
  const whole = (d: string): void => {
    const e = new ParseError(P, undefined, text.slice(0, 200), d);
    if (!opts?.tolerant) throw e;
    opts.warnings?.push({ line: 0, text: "", reason: d });
  };
  if (count === undefined || header !== 2) whole("no Session count / table header (truncated output?)");
  else if (count !== out.length) whole(`Session count ${count} but ${out.length} rows (truncated output?)`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Samples over time: a sampler loop prints "@@ <epoch ms>" before each `show bfd peers json`.

export interface BfdSample {
  /** wall-clock time of the sample, epoch milliseconds */
  atMs: number;
  peers: BfdPeer[];
}

/**
 * Parse the output of a sampling loop such as
 *   while :; do echo "@@ $(date +%s%3N)"; vtysh -c 'show bfd peers json'; sleep 0.05; done
 * Every block must be a complete `show bfd peers json` document; a truncated last block (the
 * loop killed mid-print) is dropped only when `dropTruncatedLast` is set, and counted.
 */
export function parseBfdSamples(text: string, o: { dropTruncatedLast?: boolean } = {}): { samples: BfdSample[]; droppedLast: boolean } {
  const P = "frr bfd-samples";
  const blocks: { atMs: number; body: string[]; line: number }[] = [];
  for (const line of splitLines(text)) {
    const m = /^@@ (\d{10,16})$/.exec(line.text.trim());
    if (m) {
      blocks.push({ atMs: Number(m[1]), body: [], line: line.no });
      continue;
    }
    const cur = blocks[blocks.length - 1];
    if (!cur) {
      if (line.text.trim() === "") continue;
      throw new ParseError(P, line.no, line.text, "output before the first @@ timestamp");
    }
    cur.body.push(line.text);
  }
  const samples: BfdSample[] = [];
  let droppedLast = false;
  blocks.forEach((b, i) => {
    const prev = samples[samples.length - 1];
    try {
      if (prev && b.atMs < prev.atMs) throw new ParseError(P, b.line, String(b.atMs), "timestamps go backwards");
      samples.push({ atMs: b.atMs, peers: parseBfdPeers(b.body.join("\n")) });
    } catch (e) {
      if (e instanceof ParseError && o.dropTruncatedLast && i === blocks.length - 1 && i > 0) droppedLast = true;
      else if (e instanceof ParseError) throw new ParseError(P, b.line, e.text, `sample ${i + 1}: ${e.message}`);
      else throw e;
    }
  });
  if (samples.length === 0) throw new ParseError(P, undefined, text.slice(0, 200), "no samples");
  return { samples, droppedLast };
}

// ---------------------------------------------------------------------------------------------
// Text forms, for evidence saved without `json`: `show bgp summary` and `show bfd peers`.

/** FRR's peer uptime ("00:10:37", "1d02h03m", "01w2d03h", "never") → milliseconds */
function uptimeMs(s: string): number | undefined {
  if (s === "never") return 0;
  let m = /^(\d+):(\d\d):(\d\d)$/.exec(s);
  if (m) return ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000;
  m = /^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$/.exec(s);
  if (m && s !== "") return (((Number(m[1] ?? 0) * 7 + Number(m[2] ?? 0)) * 24 + Number(m[3] ?? 0)) * 60 + Number(m[4] ?? 0)) * 60_000;
  return undefined;
}

const AFI_TITLE: Record<string, string> = { "IPv4 Unicast": "ipv4Unicast", "IPv6 Unicast": "ipv6Unicast", "IPv4 Multicast": "ipv4Multicast", "IPv6 Multicast": "ipv6Multicast", "L2VPN EVPN": "l2VpnEvpn", "IPv4 VPN": "ipv4Vpn", "IPv6 VPN": "ipv6Vpn", "IPv4 Flowspec": "ipv4Flowspec", "IPv6 Flowspec": "ipv6Flowspec", "IPv4 labeled-unicast": "ipv4LabeledUnicast", "IPv6 labeled-unicast": "ipv6LabeledUnicast" };

/**
 * `show bgp summary` as text (FRR 7 to 10): per address family a title ("IPv4 Unicast Summary
 * (VRF default):", or without the VRF before 8.x), the router id and AS, counters, a Neighbor table
 * (PfxSnt and Desc columns from 8.x on), and "Total number of neighbors N". The result has the
 * shape of `show bgp summary json`. "Neighbor" may be "hostname(address)" (show-hostname).
 */
export function parseBgpSummaryText(text: string, opts?: ParseOptions): BgpSummary {
  const P = "frr bgp-summary-text";
  const out: Record<string, { routerId: string; as: number; vrfName?: string; peers: Record<string, Record<string, unknown>>; totalPeers?: number }> = {};
  let afi: (typeof out)[string] | undefined;
  let cols: string[] | undefined;
  for (const l of splitLines(text)) {
    const t = l.text.trim();
    if (t === "") continue;
    lineStep(opts, l, () => {
      let m: RegExpExecArray | null;
      const fail = (d: string): never => {
        throw new ParseError(P, l.no, l.text, d);
      };
      if ((m = /^(.+?) Summary(?: \(VRF (\S+)\))?:$/.exec(t))) {
        const key = AFI_TITLE[m[1]!];
        if (!key) fail(`unknown address family "${m[1]}"`);
        afi = out[key!] = { routerId: "", as: 0, peers: {} };
        if (m[2]) afi.vrfName = m[2];
        cols = undefined;
        return;
      }
      if (!afi) fail('line before an "<AFI> Summary:" title');
      const a = afi!;
      if ((m = /^BGP router identifier (\S+), local AS number (\d+)(?: vrf-id (-?\d+))?$/.exec(t))) {
        a.routerId = m[1]!;
        a.as = Number(m[2]);
        return;
      }
      if (/^(BGP table version \d+|RIB entries \d+, using .+ of memory|Peers \d+, using .+ of memory|Peer groups \d+, using .+ of memory|Dynamic peers \d+, using .+|% No BGP neighbors found.*)$/.test(t)) return;
      if ((m = /^Total number of neighbors (\d+)$/.exec(t))) {
        a.totalPeers = Number(m[1]);
        if (Object.keys(a.peers).length !== a.totalPeers) fail(`says ${a.totalPeers} neighbors, ${Object.keys(a.peers).length} listed (truncated output?)`);
        cols = undefined;
        return;
      }
      if (/^Neighbor\s+V\s+AS\s+/.test(t)) {
        cols = t.split(/\s+/);
        if (cols.slice(0, 9).join(" ") !== "Neighbor V AS MsgRcvd MsgSent TblVer InQ OutQ Up/Down") fail("unexpected Neighbor table header");
        return;
      }
      if (!cols) fail("unrecognised line");
      const w = t.split(/\s+/);
      // State/PfxRcd may be two words ("Idle (Admin)")
      const idle = /^\((Admin|PfxCt|Policy)\)$/.test(w[9] ?? "") ? w.splice(9, 1)[0] : undefined;
      if (w.length < 10) fail("neighbor row too short (truncated line?)");
      const nb = /^(?:(\S+)\()?([^()]+)\)?$/.exec(w[0]!)!;
      const addr = nb[2]!;
      const up = uptimeMs(w[8]!);
      if (up === undefined) fail(`Up/Down "${w[8]}" unreadable`);
      const num = (x: string | undefined, what: string): number => (x !== undefined && /^\d+$/.test(x) ? Number(x) : fail(`${what} "${x ?? ""}" is not a number`));
      const peer: Record<string, unknown> = { remoteAs: num(w[2], "AS"), version: num(w[1], "V"), msgRcvd: num(w[3], "MsgRcvd"), msgSent: num(w[4], "MsgSent"), tableVersion: num(w[5], "TblVer"), inq: num(w[6], "InQ"), outq: num(w[7], "OutQ"), peerUptime: w[8]!, peerUptimeMsec: up! };
      if (nb[1]) peer.hostname = nb[1];
      if (/^\d+$/.test(w[9]!)) {
        peer.state = "Established";
        peer.pfxRcd = Number(w[9]);
      } else peer.state = idle ? `${w[9]} ${idle}` : w[9]!;
      if (cols!.includes("PfxSnt") && w[10] !== undefined) peer.pfxSnt = num(w[10], "PfxSnt");
      if (a.peers[addr]) fail(`neighbor ${addr} listed twice`);
      a.peers[addr] = peer;
    });
  }
  if (Object.keys(out).length === 0) throw new ParseError(P, undefined, text.slice(0, 200), 'no "<AFI> Summary:" section');
  return check(P, bgpSummarySchema, out);
}

/** "1 minute(s), 51 second(s)", "0 day(s), 0 hour(s), 1 min(s), 46 sec(s)", "5 minutes", "1 day, 2:34:56" → seconds */
function durationSecs(s: string): number | undefined {
  let total = 0;
  for (const part of s.split(/,\s*/)) {
    let m = /^(\d+):(\d\d):(\d\d)$/.exec(part);
    if (m) {
      total += Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
      continue;
    }
    m = /^(\d+) (month|week|day|hour|minute|min|second|sec)(?:\(s\)|s)?$/.exec(part);
    if (!m) return undefined;
    const unit = { month: 2_592_000, week: 604_800, day: 86_400, hour: 3600, minute: 60, min: 60, second: 1, sec: 1 }[m[2] as "sec"];
    total += Number(m[1]) * unit;
  }
  return total;
}

/** one peer of `show bfd peers` text, in the keys of `show bfd peers json` */
export interface BfdPeerText {
  peer: string;
  multihop: boolean;
  local?: string;
  vrf?: string;
  interface?: string;
  label?: string;
  id?: number;
  "remote-id"?: number;
  status: (typeof BFD_STATUSES)[number];
  uptime?: number;
  downtime?: number;
  diagnostic?: string;
  "remote-diagnostic"?: string;
  "receive-interval"?: number;
  "transmit-interval"?: number;
  "detect-multiplier"?: number;
  "remote-receive-interval"?: number;
  "remote-transmit-interval"?: number;
  "remote-detect-multiplier"?: number;
  line: number;
}

/**
 * `show bfd peers` (or `show bfd peer X`) as text, as FRR 7 to 10 print it: "BFD Peers:", then
 * per peer a "peer ADDR [multihop] [local-address A] [vrf V] [interface I]" line and indented
 * fields (ID, Status, Uptime/Downtime, Diagnostics, Local/Remote timers…). Timers are in ms.
 */
export function parseBfdPeersText(text: string, opts?: ParseOptions): BfdPeerText[] {
  const P = "frr bfd-peers-text";
  const out: BfdPeerText[] = [];
  let cur: BfdPeerText | undefined;
  let timers: "local" | "remote" | undefined;
  let sawTitle = false;
  for (const l of splitLines(text)) {
    const t = l.text.trim();
    if (t === "") continue;
    lineStep(opts, l, () => {
      let m: RegExpExecArray | null;
      const fail = (d: string): never => {
        throw new ParseError(P, l.no, l.text, d);
      };
      if (/^BFD Peers?:$/.test(t)) {
        if (sawTitle) fail('second "BFD Peers:" title');
        sawTitle = true;
        return;
      }
      if ((m = /^(multihop )?peer (\S+)(.*)$/.exec(t))) {
        if (!isIpAddress(m[2]!)) fail(`peer "${m[2]}" is not an address`);
        cur = { peer: canonicalIp(m[2]!), multihop: m[1] !== undefined, status: "unknown", line: l.no };
        const w = m[3]!.trim().split(/\s+/).filter(Boolean);
        for (let i = 0; i < w.length; i++) {
          if (w[i] === "multihop") cur.multihop = true;
          else if (w[i] === "local-address" && w[i + 1] && isIpAddress(w[i + 1]!)) cur.local = canonicalIp(w[++i]!);
          else if (w[i] === "vrf" && w[i + 1]) cur.vrf = w[++i]!;
          else if (w[i] === "interface" && w[i + 1]) cur.interface = w[++i]!;
          else fail(`unexpected "${w[i]}" in the peer line`);
        }
        out.push(cur);
        timers = undefined;
        return;
      }
      if (!cur) fail("line before any peer");
      const c = cur!;
      if (t === "Local timers:" || t === "Remote timers:") {
        timers = t.startsWith("Local") ? "local" : "remote";
        return;
      }
      if ((m = /^(Detect-multiplier|Receive interval|Transmission interval|Echo receive interval|Echo transmission interval): ?(\d*)(ms)?\s*(disabled)?$/.exec(t))) {
        if (!timers) fail("timer outside Local/Remote timers");
        const v = m[2] === "" ? undefined : Number(m[2]);
        const key = { "Detect-multiplier": "detect-multiplier", "Receive interval": "receive-interval", "Transmission interval": "transmit-interval" }[m[1] as "Detect-multiplier"] as "detect-multiplier" | "receive-interval" | "transmit-interval" | undefined;
        if (key && v !== undefined) (c as unknown as Record<string, number>)[timers === "remote" ? `remote-${key}` : key] = v;
        return;
      }
      if ((m = /^(ID|Remote ID): (\d+)$/.exec(t))) {
        if (m[1] === "ID") c.id = Number(m[2]);
        else c["remote-id"] = Number(m[2]);
        return;
      }
      if ((m = /^Status: (\S+)$/.exec(t))) {
        if (!(BFD_STATUSES as readonly string[]).includes(m[1]!)) fail(`status "${m[1]}" is not a BFD status`);
        c.status = m[1] as BfdPeerText["status"];
        return;
      }
      if ((m = /^(Uptime|Downtime): (.+)$/.exec(t))) {
        const secs = durationSecs(m[2]!);
        if (secs === undefined) fail(`${m[1]} "${m[2]}" unreadable`);
        if (m[1] === "Uptime") c.uptime = secs!;
        else c.downtime = secs!;
        return;
      }
      if ((m = /^(Diagnostics|Remote diagnostics): (.+)$/i.exec(t))) {
        if (/^remote/i.test(m[1]!)) c["remote-diagnostic"] = m[2]!;
        else c.diagnostic = m[2]!;
        return;
      }
      if ((m = /^label: (.+)$/.exec(t))) {
        c.label = m[1]!;
        return;
      }
      if (/^(Active mode|Passive mode(: \w+)?|Profile: .+|Minimum TTL: \d+|Peer Type: .+|RTT min\/avg\/max: .+|Echo mode: .+|Local address: .+)$/.test(t)) return;
      fail("unrecognised BFD peer line");
    });
  }
  for (const p of out) {
    if (p.status === "unknown") softFailPeer(P, opts, p, "peer without a Status line (truncated output?)");
    if (p.status === "up" && p.uptime === undefined) softFailPeer(P, opts, p, "an up session without Uptime (truncated output?)");
  }
  if (opts?.tolerant && out.length === 0 && (opts.warnings?.length ?? 0) > 0) throw nothingUsable(P, opts, "BFD peer");
  return out;
}

function softFailPeer(P: string, opts: ParseOptions | undefined, p: BfdPeerText, d: string): void {
  const e = new ParseError(P, p.line, `peer ${p.peer}`, d);
  if (!opts?.tolerant) throw e;
  opts.warnings?.push({ line: p.line, text: `peer ${p.peer}`, reason: d });
}
