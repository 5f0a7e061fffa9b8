/**
 * `swanctl --list-sas` (strongSwan 5.x/6.x text output) as IKE SAs with their CHILD SAs.
 *
 *   tunnel-accept-any: #1, ESTABLISHED, IKEv2, 5b9b1d0c0a7e3f21_i 9e4c6f3a1d2b8e70_r*
 *     local  'myserver' @ 10.123.123.200[4500]
 *     remote 'myclient' @ 10.123.123.4[4500]
 *     AES_CBC-128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_3072
 *     established 212s ago, rekeying in 10239s
 *     net-net: #1, reqid 1, INSTALLED, TUNNEL-in-UDP, ESP:AES_GCM_16-128
 *       installed 212s ago, rekeying in 3150s, expires in 3748s
 *       in  c6c3b5d2 (-|0x0000007b),   1680 bytes,    20 packets,     3s ago
 *       out c9e0a7f4 (-|0x0000007b),   1680 bytes,    20 packets,     3s ago
 *       local  0.0.0.0/0
 *       remote 0.0.0.0/0
 *
 * strongSwan 5.x before 5.9 printed the IKE head's SPIs as `<spi_i>:<spi_r>` (no `_i`/`_r`, no
 * `*` telling which side this host is), endpoints as `'id' @ host` without `[port]`, and CHILD
 * heads without `reqid` (`home: #1, INSTALLED, TUNNEL, ESP:AES_GCM_16-128`, as in the strongSwan
 * documentation's swanctl examples); those parse too, with `initiator`, `port` and `reqid` absent.
 *
 * Two IKE SAs, or two INSTALLED CHILD SAs, with one name are kept as listed (never collapsed);
 * duplicateSas() names them, and findChild() reports them beside its pick.
 *
 * Every line is accounted for by its indentation and shape; anything else is a ParseError (in
 * tolerant mode a warning, the line skipped).
 */
import { z } from "zod";
import { ParseError } from "../parse-error.ts";
import { canonicalIp, check, ELISION, isIpAddress, lineStep, nothingUsable, warn, type ParseOptions } from "./common.ts";
import { splitLines, uint, type Line } from "./tokens.ts";

const P = "swanctl";

const IKE_STATES = ["CREATED", "CONNECTING", "ESTABLISHED", "PASSIVE", "REKEYING", "REKEYED", "DELETING", "DESTROYING"] as const;
const CHILD_STATES = ["CREATED", "ROUTED", "INSTALLING", "INSTALLED", "UPDATING", "REKEYING", "REKEYED", "RETRYING", "DELETING", "DELETED", "DESTROYING"] as const;

const direction = z.object({
  spi: z.string().regex(/^[0-9a-f]{8}$/),
  cpi: z.string().optional(),
  /** "0x00000064/0xffffffff" when a mark is set */
  mark: z.string().optional(),
  /** XFRM interface id, e.g. "0x0000007b" (123), when set */
  ifId: z.string().optional(),
  bytes: z.number().int().nonnegative(),
  packets: z.number().int().nonnegative(),
  /** seconds since last use, when the SA was used */
  lastUseSecs: z.number().int().nonnegative().optional(),
});

export const childSaSchema = z.object({
  name: z.string().min(1),
  uniqueId: z.number().int().nonnegative(),
  /** absent in strongSwan before 5.9's CHILD heads */
  reqid: z.number().int().nonnegative().optional(),
  cpu: z.string().optional(),
  state: z.enum(CHILD_STATES),
  /** TUNNEL, TRANSPORT, BEET, PASS, DROP */
  mode: z.string(),
  /** true for `TUNNEL-in-UDP` (NAT-T encapsulation) */
  udpEncap: z.boolean(),
  /** ESP or AH */
  protocol: z.string(),
  /** e.g. "AES_CBC-128/HMAC_SHA2_256_128" or "AES_GCM_16-128" (may be empty when not negotiated) */
  proposal: z.string(),
  installedSecsAgo: z.number().int().nonnegative().optional(),
  rekeyInSecs: z.number().int().nonnegative().optional(),
  expiresInSecs: z.number().int().nonnegative().optional(),
  in: direction,
  out: direction,
  label: z.string().optional(),
  localTs: z.array(z.string()),
  remoteTs: z.array(z.string()),
});

export const ikeSaSchema = z.object({
  name: z.string().min(1),
  uniqueId: z.number().int().nonnegative(),
  state: z.enum(IKE_STATES),
  version: z.number().int(),
  spiI: z.string(),
  spiR: z.string(),
  /** which side this host is: the `*` after the SPI; absent in the pre-5.9 `spi:spi` head */
  initiator: z.boolean().optional(),
  /** port absent when the endpoint is printed without `[port]` (before 5.9) */
  local: z.object({ id: z.string(), host: z.string(), port: z.number().int().optional(), vips: z.array(z.string()) }),
  remote: z.object({ id: z.string(), host: z.string(), port: z.number().int().optional(), vips: z.array(z.string()), eapId: z.string().optional(), xauthId: z.string().optional() }),
  proposal: z.string().optional(),
  establishedSecsAgo: z.number().int().nonnegative().optional(),
  rekeyInSecs: z.number().int().nonnegative().optional(),
  reauthInSecs: z.number().int().nonnegative().optional(),
  expiresInSecs: z.number().int().nonnegative().optional(),
  tasks: z.object({ queued: z.array(z.string()), active: z.array(z.string()), passive: z.array(z.string()) }),
  children: z.array(childSaSchema),
});
export const swanctlSasSchema = z.array(ikeSaSchema);

export type ChildSa = z.infer<typeof childSaSchema>;
export type IkeSa = z.infer<typeof ikeSaSchema>;
export type SwanctlSas = z.infer<typeof swanctlSasSchema>;

const IKE_HEAD = /^([^\s:][^:]*): #(\d+), ([A-Z]+), IKEv(\d), ([0-9a-f]{16})_i(\*?) ([0-9a-f]{16})_r(\*?)$/;
/** strongSwan before 5.9: `home: #1, ESTABLISHED, IKEv2, 7e1c8d6b6a09a9a5:c3c2d3c7f5a8b6e8` */
const IKE_HEAD_OLD = /^([^\s:][^:]*): #(\d+), ([A-Z]+), IKEv(\d), ([0-9a-f]{16}):([0-9a-f]{16})$/;
const ENDPOINT = /^ {2}(local|remote) {1,2}'(.*)' @ ([^\s[]+)(?:\[(\d+)\])?(.*)$/;
const CHILD_HEAD = /^ {2}([^\s:][^:]*): #(\d+), (?:reqid (\d+), )?(?:cpu (\S+), )?([A-Z]+), ([A-Z]+)(-in-UDP)?, ([A-Z]+):(\S*)$/;
const DIRECTION = /^ {4}(in|out) {1,2}([0-9a-f]{8})(?:\/(\S+))?(?: \(([^)]*)\))?, +(\d+) bytes, +(\d+) packets(?:, +(\d+)s ago)?$/;
const TIMES = /^(\w+) in (\d+)s$/;

function times(line: Line, text: string, first: RegExp): Record<string, number> {
  const out: Record<string, number> = {};
  const parts = text.split(", ");
  const m = first.exec(parts[0] ?? "");
  if (!m) throw new ParseError(P, line.no, line.text, "bad time line");
  out.first = uint(P, line, m[1], "seconds");
  for (const part of parts.slice(1)) {
    const t = TIMES.exec(part);
    if (!t || !/^(rekeying|reauth|expires)$/.test(t[1]!)) throw new ParseError(P, line.no, line.text, `bad time ${JSON.stringify(part)}`);
    if (out[t[1]!] !== undefined) throw new ParseError(P, line.no, line.text, `${t[1]} twice`);
    out[t[1]!] = uint(P, line, t[2], t[1]!);
  }
  return out;
}

/** Parse `swanctl --list-sas` output (zero or more IKE SAs). */
export function parseSwanctlSas(text: string, opts?: ParseOptions): SwanctlSas {
  const sas: IkeSa[] = [];
  let ike: IkeSa | undefined;
  let child: ChildSa | undefined;
  // Which lines the current IKE SA / CHILD SA still expects, to catch truncation.
  let ikeSeen = new Set<string>();
  let childSeen = new Set<string>();
  const closeChild = (line: Line | undefined): void => {
    if (!child) return;
    for (const k of ["installed", "in", "out", "local", "remote"]) {
      if (!childSeen.has(k)) throw new ParseError(P, line?.no, line?.text ?? "(end of output)", `CHILD_SA ${child.name} is missing its "${k}" line (truncated output?)`);
    }
    child = undefined;
  };
  const closeIke = (line: Line | undefined): void => {
    closeChild(line);
    if (!ike) return;
    for (const k of ["local", "remote"]) {
      if (!ikeSeen.has(k)) throw new ParseError(P, line?.no, line?.text ?? "(end of output)", `IKE_SA ${ike.name} is missing its "${k}" line (truncated output?)`);
    }
    if (ike.state === "ESTABLISHED" && !ikeSeen.has("established")) {
      throw new ParseError(P, line?.no, line?.text ?? "(end of output)", `ESTABLISHED IKE_SA ${ike.name} has no "established" line (truncated output?)`);
    }
    ike = undefined;
  };
  const handle = (line: Line): void => {
    const t = line.text;
    const fail = (d: string): never => {
      throw new ParseError(P, line.no, t, d);
    };
    let m = IKE_HEAD.exec(t);
    const old = m ? null : IKE_HEAD_OLD.exec(t);
    if (m || old) {
      closeIke(line);
      const h = (m ?? old)!;
      if (!(IKE_STATES as readonly string[]).includes(h[3]!)) fail(`unknown IKE_SA state ${h[3]}`);
      if (m && (m[6] === "*") === (m[8] === "*")) fail("exactly one SPI must carry the local-side *");
      ike = {
        name: h[1]!,
        uniqueId: uint(P, line, h[2], "unique id"),
        state: h[3] as IkeSa["state"],
        version: uint(P, line, h[4], "IKE version"),
        spiI: h[5]!,
        spiR: m ? m[7]! : old![6]!,
        local: { id: "", host: "", vips: [] },
        remote: { id: "", host: "", vips: [] },
        tasks: { queued: [], active: [], passive: [] },
        children: [],
      };
      if (m) ike.initiator = m[6] === "*";
      ikeSeen = new Set();
      sas.push(ike);
      return;
    }
    if (!ike) fail("line outside an IKE_SA");
    const cur = ike!;
    if ((m = CHILD_HEAD.exec(t))) {
      closeChild(line);
      if (!(CHILD_STATES as readonly string[]).includes(m[5]!)) fail(`unknown CHILD_SA state ${m[5]}`);
      if (!/^(TUNNEL|TRANSPORT|BEET|PASS|DROP)$/.test(m[6]!)) fail(`unknown mode ${m[6]}`);
      if (!/^(ESP|AH)$/.test(m[8]!)) fail(`unknown protocol ${m[8]}`);
      const c: ChildSa = {
        name: m[1]!,
        uniqueId: uint(P, line, m[2], "unique id"),
        state: m[5] as ChildSa["state"],
        mode: m[6]!,
        udpEncap: m[7] !== undefined,
        protocol: m[8]!,
        proposal: m[9]!,
        in: { spi: "", bytes: 0, packets: 0 },
        out: { spi: "", bytes: 0, packets: 0 },
        localTs: [],
        remoteTs: [],
      };
      if (m[3] !== undefined) c.reqid = uint(P, line, m[3], "reqid");
      if (m[4] !== undefined) c.cpu = m[4];
      child = c;
      childSeen = new Set();
      cur.children.push(c);
      return;
    }
    if (child && t.startsWith("    ")) {
      const c = child;
      const once = (k: string): void => {
        if (childSeen.has(k)) fail(`second "${k}" line in CHILD_SA ${c.name}`);
        childSeen.add(k);
      };
      if ((m = DIRECTION.exec(t))) {
        const dir = m[1] as "in" | "out";
        once(dir);
        const d = c[dir];
        d.spi = m[2]!;
        if (m[3] !== undefined) d.cpi = m[3];
        if (m[4] !== undefined) {
          const [mark, ifId, ...rest] = m[4].split("|");
          if (rest.length > 0 || mark === undefined || !/^(-|0x[0-9a-f]+(\/0x[0-9a-f]+)?)$/.test(mark) || (ifId !== undefined && !/^0x[0-9a-f]+$/.test(ifId))) fail("bad mark/if_id");
          if (mark !== "-") d.mark = mark;
          if (ifId !== undefined) d.ifId = ifId;
        }
        d.bytes = uint(P, line, m[5], "bytes");
        d.packets = uint(P, line, m[6], "packets");
        if (m[7] !== undefined) d.lastUseSecs = uint(P, line, m[7], "last use");
        return;
      }
      if (t.startsWith("    installed ")) {
        once("installed");
        const x = times(line, t.slice(4), /^installed (\d+)s ago$/);
        c.installedSecsAgo = x.first;
        if (x.rekeying !== undefined) c.rekeyInSecs = x.rekeying;
        if (x.expires !== undefined) c.expiresInSecs = x.expires;
        if (x.reauth !== undefined) fail("reauth on a CHILD_SA");
        return;
      }
      if ((m = /^ {4}(local|remote) {1,2}(\S.*)$/.exec(t))) {
        once(m[1]!);
        const ts = m[2]!.split(" ");
        if (ts.some((x) => !/^[0-9a-fA-F.:]+(\/\d{1,3})?(\[[^\]]+\])?$|^dynamic$/.test(x))) fail("bad traffic selector");
        if (m[1] === "local") c.localTs = ts;
        else c.remoteTs = ts;
        return;
      }
      if ((m = /^ {4}label {2}(\S.*)$/.exec(t))) {
        once("label");
        c.label = m[1]!;
        return;
      }
      fail("unrecognised CHILD_SA line");
    }
    if (child) closeChild(line); // an IKE-level line after a child: the child is complete
    if ((m = ENDPOINT.exec(t))) {
      const side = m[1] as "local" | "remote";
      if (ikeSeen.has(side)) fail(`second ${side} line`);
      if (cur.children.length > 0) fail(`${side} line after CHILD_SAs`);
      ikeSeen.add(side);
      const ep = cur[side];
      ep.id = m[2]!;
      ep.host = isIpAddress(m[3]!) ? canonicalIp(m[3]!) : m[3]!;
      if (m[4] !== undefined) ep.port = uint(P, line, m[4], "port");
      let rest = m[5]!;
      if (side === "remote") {
        const eap = /^ EAP: '([^']*)'/.exec(rest);
        if (eap) {
          cur.remote.eapId = eap[1]!;
          rest = rest.slice(eap[0].length);
        }
        const xa = /^ XAuth: '([^']*)'/.exec(rest);
        if (xa) {
          cur.remote.xauthId = xa[1]!;
          rest = rest.slice(xa[0].length);
        }
      }
      const vips = /^ \[([^\]]+)\]$/.exec(rest);
      if (vips) ep.vips = vips[1]!.split(" ");
      else if (rest !== "") fail(`unexpected text after ${side} endpoint`);
      return;
    }
    if ((m = /^ {2}([A-Z0-9_]+(-\d+)?(\/[A-Z0-9_]+(-\d+)?)+)$/.exec(t))) {
      if (ikeSeen.has("proposal")) fail("second IKE proposal line");
      ikeSeen.add("proposal");
      cur.proposal = m[1]!;
      return;
    }
    if (t.startsWith("  established ")) {
      if (ikeSeen.has("established")) fail("second established line");
      ikeSeen.add("established");
      const x = times(line, t.slice(2), /^established (\d+)s ago$/);
      cur.establishedSecsAgo = x.first;
      if (x.rekeying !== undefined) cur.rekeyInSecs = x.rekeying;
      if (x.reauth !== undefined) cur.reauthInSecs = x.reauth;
      if (x.expires !== undefined) cur.expiresInSecs = x.expires;
      return;
    }
    if ((m = /^ {2}(queued|active|passive): +(\S.*)$/.exec(t))) {
      const k = m[1] as "queued" | "active" | "passive";
      if (ikeSeen.has(k)) fail(`second ${k} line`);
      ikeSeen.add(k);
      cur.tasks[k] = m[2]!.split(" ");
      return;
    }
    fail("unrecognised line");
  };
  for (const line of splitLines(text)) {
    if (line.text.trim() === "") continue;
    if (opts?.tolerant && ELISION.test(line.text)) {
      warn(opts, line.no, line.text, "elision or comment in a pasted excerpt");
      continue;
    }
    lineStep(opts, line, () => handle(line));
  }
  lineStep(opts, { no: 0, text: "(end of output)" }, () => closeIke(undefined));
  if (opts?.tolerant && sas.length === 0 && (opts.warnings?.length ?? 0) > 0) throw nothingUsable(P, opts, "IKE_SA");
  return check(P, swanctlSasSchema, sas);
}

/**
 * IKE SAs, or CHILD SAs, that share one name where only one should exist: two ESTABLISHED IKE SAs
 * of one connection, or two INSTALLED CHILD SAs of one name (a rekey lists the old one as REKEYED
 * or DELETING beside the new, which is not a duplicate). Each finding names the SAs.
 */
export function duplicateSas(sas: SwanctlSas): string[] {
  const out: string[] = [];
  const ikes = new Map<string, IkeSa[]>();
  for (const ike of sas) if (ike.state === "ESTABLISHED") ikes.set(ike.name, [...(ikes.get(ike.name) ?? []), ike]);
  for (const [name, xs] of ikes) if (xs.length > 1) out.push(`${xs.length} ESTABLISHED IKE_SAs named ${name} (#${xs.map((x) => x.uniqueId).join(", #")}): duplicate IKE SAs`);
  const children = new Map<string, { ike: IkeSa; child: ChildSa }[]>();
  for (const ike of sas) for (const child of ike.children) if (child.state === "INSTALLED") children.set(child.name, [...(children.get(child.name) ?? []), { ike, child }]);
  for (const [name, xs] of children) {
    if (xs.length > 1) out.push(`${xs.length} INSTALLED CHILD_SAs named ${name} (${xs.map((x) => `#${x.child.uniqueId} in/out ${x.child.in.spi}/${x.child.out.spi} under IKE_SA ${x.ike.name} #${x.ike.uniqueId}`).join("; ")}): duplicate CHILD SAs`);
  }
  return out;
}

/**
 * Find a CHILD SA by name, with its IKE SA. During a rekey the old and the new CHILD SA are listed
 * under the same name; the INSTALLED one is preferred, else the first listed. `duplicates` names
 * every other INSTALLED CHILD SA of that name (and extra ESTABLISHED IKE SAs of its IKE name):
 * a real fault an oracle must report, never collapse.
 */
export function findChild(sas: SwanctlSas, childName: string): { ike: IkeSa; child: ChildSa; duplicates: string[] } | undefined {
  const all = sas.flatMap((ike) => ike.children.filter((c) => c.name === childName).map((child) => ({ ike, child })));
  const pick = all.find((x) => x.child.state === "INSTALLED") ?? all[0];
  if (!pick) return undefined;
  const duplicates = duplicateSas(sas).filter((d) => d.includes(`named ${childName} (`) || d.includes(`named ${pick.ike.name} (`));
  return { ...pick, duplicates };
}

// ---------------------------------------------------------------------------------------------
// `ipsec statusall` / `ipsec status` (the stroke interface of strongSwan 5.x), read into the same
// IKE/CHILD SA records, so the IPSEC oracles judge either:
//
//   Security Associations (1 up, 0 connecting):
//           home[1]: ESTABLISHED 7 seconds ago, 192.168.0.100[carol@strongswan.org]...192.168.0.1[moon.strongswan.org]
//           home[1]: IKEv2 SPIs: 7e1c8d6b6a09a9a5_i* c3c2d3c7f5a8b6e8_r, public key reauthentication in 56 minutes
//           home[1]: IKE proposal: AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_3072
//           home{1}:  INSTALLED, TUNNEL, reqid 1, ESP SPIs: c92a2f0e_i c4ea0b8d_o
//           home{1}:  AES_GCM_16_128, 84 bytes_i (1 pkt, 2s ago), 84 bytes_o (1 pkt, 2s ago), rekeying in 56 minutes
//           home{1}:   10.3.0.1/32 === 10.1.0.0/16
//
// The sections before it (daemon status, listening addresses, configured connections) are
// recognised by their headings and indentation and not read. A CHILD SA belongs to the IKE SA
// printed before it.

const UNIT_SECS: Record<string, number> = { second: 1, seconds: 1, minute: 60, minutes: 60, hour: 3600, hours: 3600, day: 86400, days: 86400 };
const strokeSecs = (n: string, unit: string): number => Number(n) * (UNIT_SECS[unit] ?? NaN);

export function parseIpsecStatusall(text: string, opts?: ParseOptions): SwanctlSas {
  const PS = "ipsec-statusall";
  const sas: IkeSa[] = [];
  let section: "daemon" | "listening" | "connections" | "sas" | undefined;
  const children = new Map<string, ChildSa>();
  for (const line of splitLines(text)) {
    const t = line.text;
    if (t.trim() === "") continue;
    lineStep(opts, line, () => {
      const fail = (d: string): never => {
        throw new ParseError(PS, line.no, t, d);
      };
      let m: RegExpExecArray | null;
      if (opts?.tolerant && ELISION.test(t)) fail("elision or comment in a pasted excerpt");
      if (/^Status of IKE charon daemon \(.*\):$/.test(t)) return void (section = "daemon");
      if (t === "Listening IP addresses:") return void (section = "listening");
      if (t === "Connections:") return void (section = "connections");
      if (/^Security Associations \(\d+ up, \d+ connecting\):$/.test(t)) return void (section = "sas");
      // names are right-aligned to a common width, so a long one starts at column 0
      if (section === undefined) fail("line before any section heading");
      if (section === "daemon" || section === "connections") {
        if (section === "daemon" ? !/^\s+\S/.test(t) : !/^\s*[^\s:]+: /.test(t)) fail(`unrecognised ${section} line`);
        return; // not read
      }
      if (section === "listening") {
        if (!isIpAddress(t.trim())) fail("not a listening address");
        return;
      }
      if (t.trim() === "none") return;
      const ikeLine = /^\s*([^\s[{]+)\[(\d+)\]: (.*)$/.exec(t);
      if (ikeLine) {
        const [, name, idText, rest] = ikeLine as unknown as [string, string, string, string];
        const id = uint(PS, line, idText, "unique id");
        let ike = sas.find((x) => x.name === name && x.uniqueId === id);
        if ((m = /^([A-Z]+)(?: (\d+) (seconds?|minutes?|hours?|days?) ago)?, (\S+)\[(.*?)\]\.\.\.(\S+)\[(.*?)\]$/.exec(rest))) {
          if (ike) fail(`IKE_SA ${name}[${id}] listed twice`);
          if (!(IKE_STATES as readonly string[]).includes(m[1]!)) fail(`unknown IKE_SA state ${m[1]}`);
          ike = { name, uniqueId: id, state: m[1] as IkeSa["state"], version: 0, spiI: "", spiR: "", local: { id: m[5]!, host: canonicalIp(m[4]!), vips: [] }, remote: { id: m[7]!, host: canonicalIp(m[6]!), vips: [] }, tasks: { queued: [], active: [], passive: [] }, children: [] };
          if (m[2] !== undefined) ike.establishedSecsAgo = strokeSecs(m[2], m[3]!);
          sas.push(ike);
          return;
        }
        if (!ike) fail(`IKE_SA ${name}[${id}] detail before its state line`);
        const cur = ike!;
        if ((m = /^IKEv(\d) SPIs: ([0-9a-f]{16})_i(\*?) ([0-9a-f]{16})_r(\*?)(?:, (.*))?$/.exec(rest))) {
          cur.version = Number(m[1]);
          cur.spiI = m[2]!;
          cur.spiR = m[4]!;
          cur.initiator = m[3] === "*";
          const tm = /(rekeying|reauthentication) in (\d+) (seconds?|minutes?|hours?|days?)$/.exec(m[6] ?? "");
          if (tm) cur[tm[1] === "rekeying" ? "rekeyInSecs" : "reauthInSecs"] = strokeSecs(tm[2]!, tm[3]!);
          return;
        }
        if ((m = /^IKE proposal: (\S+)$/.exec(rest))) return void (cur.proposal = m[1]!);
        if (/^(Tasks (queued|active|passive)|Remote (EAP|XAuth) identity|Remote\s+\S+ identity|peer supports .*|local\s+.*|remote\s+.*): ?.*$/.test(rest)) return;
        fail("unrecognised IKE_SA line");
      }
      const childLine = /^\s*([^\s[{]+)\{(\d+)\}:\s+(.*)$/.exec(t);
      if (!childLine) fail("unrecognised Security Associations line");
      const [, cname, cidText, crest] = childLine as unknown as [string, string, string, string];
      const key = `${cname}{${cidText}}`;
      let child = children.get(key);
      if ((m = /^([A-Z]+), ([A-Z]+)(-in-UDP)?, reqid (\d+), (ESP|AH)(?: in UDP)? SPIs: ([0-9a-f]{8})_i ([0-9a-f]{8})_o(?:, IPCOMP CPIs: \S+ \S+)?$/.exec(crest))) {
        if (child) fail(`CHILD_SA ${key} listed twice`);
        const ike = sas[sas.length - 1];
        if (!ike) fail(`CHILD_SA ${key} before any IKE_SA`);
        if (!(CHILD_STATES as readonly string[]).includes(m[1]!)) fail(`unknown CHILD_SA state ${m[1]}`);
        child = { name: cname, uniqueId: uint(PS, line, cidText, "unique id"), reqid: Number(m[4]), state: m[1] as ChildSa["state"], mode: m[2]!, udpEncap: m[3] !== undefined || / in UDP SPIs/.test(crest), protocol: m[5]!, proposal: "", in: { spi: m[6]!, bytes: 0, packets: 0 }, out: { spi: m[7]!, bytes: 0, packets: 0 }, localTs: [], remoteTs: [] };
        children.set(key, child);
        ike!.children.push(child);
        return;
      }
      if (!child) fail(`CHILD_SA ${key} detail before its state line`);
      const c = child!;
      if ((m = /^(\S+), (\d+) bytes_i(?: \((\d+) pkts?, (\d+)s ago\))?, (\d+) bytes_o(?: \((\d+) pkts?, (\d+)s ago\))?(?:, (rekeying|expires) in (\d+) (seconds?|minutes?|hours?|days?))?$/.exec(crest))) {
        c.proposal = m[1]!;
        c.in.bytes = Number(m[2]);
        c.in.packets = Number(m[3] ?? 0);
        if (m[4] !== undefined) c.in.lastUseSecs = Number(m[4]);
        c.out.bytes = Number(m[5]);
        c.out.packets = Number(m[6] ?? 0);
        if (m[7] !== undefined) c.out.lastUseSecs = Number(m[7]);
        if (m[8] === "rekeying") c.rekeyInSecs = strokeSecs(m[9]!, m[10]!);
        if (m[8] === "expires") c.expiresInSecs = strokeSecs(m[9]!, m[10]!);
        return;
      }
      if ((m = /^(\S+(?: \S+)*) === (\S+(?: \S+)*)$/.exec(crest))) {
        c.localTs = m[1]!.split(" ");
        c.remoteTs = m[2]!.split(" ");
        return;
      }
      fail("unrecognised CHILD_SA line");
    });
  }
  if (sas.length === 0 && section === undefined) {
    if (opts?.tolerant && (opts.warnings?.length ?? 0) > 0) throw nothingUsable(PS, opts, "section or SA");
    throw new ParseError(PS, undefined, text.slice(0, 200), 'no "Security Associations" section (ipsec statusall / ipsec status)');
  }
  return check(PS, swanctlSasSchema, sas);
}
