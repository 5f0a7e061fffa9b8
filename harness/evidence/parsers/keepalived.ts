/**
 * keepalived.conf, as the KLVS node controller writes it (seed 004 L430-456): global_defs,
 * vrrp_instance and virtual_server blocks (lb_algo, lb_kind, protocol, real_server {…}), nested
 * brace blocks, "#" and "!" comments.
 *
 * First a generic tree (keyword, arguments, children); then the parts this project reads are
 * lifted into typed records. Unknown top-level blocks, unbalanced braces, keywords that are not
 * lower_case_words and list entries that are not addresses are errors.
 */
import { ParseError } from "../parse-error.ts";
import { isIpAddress, lines } from "./common.ts";

export interface KaNode {
  keyword: string;
  args: string[];
  children?: KaNode[];
  line: number;
}

const P = "keepalived";
const TOP = new Set([
  "global_defs", "vrrp_instance", "vrrp_sync_group", "vrrp_script", "vrrp_track_process", "track_file", "virtual_server",
  "virtual_server_group", "static_ipaddress", "static_routes", "static_rules", "linkbeat_interfaces", "include", "bfd_instance",
]);
/** blocks whose entries are addresses (with options), not keywords */
const ADDRESS_LISTS = new Set(["unicast_peer", "virtual_ipaddress", "virtual_ipaddress_excluded", "static_ipaddress", "virtual_routes", "static_routes"]);
/** keywords are lower_case_words; health checkers are upper case (TCP_CHECK, HTTP_GET, MISC_CHECK) */
const KEYWORD = /^([a-z][a-z0-9_]*|[A-Z][A-Z0-9_]*)$/;
const WORD = /^[\x21-\x7e]+$/;

/** the generic tree */
export function parseKeepalivedTree(text: string): KaNode[] {
  const root: KaNode[] = [];
  const stack: { node?: KaNode; children: KaNode[] }[] = [{ children: root }];
  lines(text).forEach((raw, i) => {
    const n = i + 1;
    const body = raw.replace(/[#!].*$/, "");
    if (/[\u0000-\u0008\u000b-\u001f\u007f-\uffff]/.test(body)) throw new ParseError(P, n, raw, "control or non-ASCII character");
    const tokens = body.replace(/([{}])/g, " $1 ").trim().split(/\s+/).filter(Boolean);
    let current: KaNode | undefined;
    for (const tok of tokens) {
      const top = stack[stack.length - 1]!;
      if (tok === "{") {
        if (!current) throw new ParseError(P, n, raw, "{ without a keyword before it on the line");
        current.children = [];
        stack.push({ node: current, children: current.children });
        current = undefined;
      } else if (tok === "}") {
        if (stack.length === 1) throw new ParseError(P, n, raw, "} without an open block");
        stack.pop();
        current = undefined;
      } else if (current) {
        if (!WORD.test(tok)) throw new ParseError(P, n, raw, `unreadable argument "${tok}"`);
        current.args.push(tok);
      } else {
        const parent = top.node;
        const inList = parent !== undefined && ADDRESS_LISTS.has(parent.keyword);
        if (inList) {
          if (!isIpAddress(tok.split("/")[0]!)) throw new ParseError(P, n, raw, `"${tok}" in ${parent.keyword} is not an address`);
        } else if (!KEYWORD.test(tok)) throw new ParseError(P, n, raw, `"${tok}" is not a keyword`);
        else if (!parent && !TOP.has(tok)) throw new ParseError(P, n, raw, `unknown top-level keyword "${tok}"`);
        current = { keyword: tok, args: [], line: n };
        top.children.push(current);
      }
    }
  });
  if (stack.length > 1) {
    const open = stack[stack.length - 1]!.node!;
    throw new ParseError(P, open.line, open.keyword, `block ${open.keyword} never closed`);
  }
  return root;
}

export interface VrrpInstance {
  name: string;
  state?: "MASTER" | "BACKUP";
  interface?: string;
  virtualRouterId?: number;
  priority?: number;
  advertInt?: number;
  nopreempt: boolean;
  unicastSrcIp?: string;
  unicastPeers: string[];
  /** addresses only (options such as "dev eth1" dropped), prefix length kept when given */
  virtualIpaddresses: string[];
}

export interface KaRealServer {
  address: string;
  port?: number;
  weight?: number;
}

export interface KaVirtualServer {
  /** address of the service, or undefined for "virtual_server fwmark N" / group */
  address?: string;
  port?: number;
  fwmark?: number;
  group?: string;
  lbAlgo?: string;
  lbKind?: "NAT" | "DR" | "TUN";
  protocol?: "TCP" | "UDP" | "SCTP";
  delayLoop?: number;
  persistenceTimeout?: number;
  realServers: KaRealServer[];
}

export interface KeepalivedConf {
  globalDefs: Record<string, string[]>;
  vrrpInstances: VrrpInstance[];
  virtualServers: KaVirtualServer[];
  tree: KaNode[];
}

function one(node: KaNode, what: string): string {
  if (node.args.length !== 1) throw new ParseError(P, node.line, `${node.keyword} ${node.args.join(" ")}`, `${what} takes one value`);
  return node.args[0]!;
}

function int(node: KaNode, min: number, max: number): number {
  const v = one(node, node.keyword);
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new ParseError(P, node.line, `${node.keyword} ${v}`, `${node.keyword} must be an integer ${min}..${max}`);
  return Number(v);
}

function addr(node: KaNode, v: string): string {
  if (!isIpAddress(v)) throw new ParseError(P, node.line, `${node.keyword} ${node.args.join(" ")}`, `"${v}" is not an IP address`);
  return v;
}

function port(node: KaNode, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{1,5}$/.test(v) || Number(v) > 65535) throw new ParseError(P, node.line, `${node.keyword} ${node.args.join(" ")}`, `"${v}" is not a port`);
  return Number(v);
}

function vrrp(node: KaNode): VrrpInstance {
  if (node.args.length !== 1 || !node.children) throw new ParseError(P, node.line, node.keyword, "vrrp_instance needs a name and a block");
  const v: VrrpInstance = { name: node.args[0]!, nopreempt: false, unicastPeers: [], virtualIpaddresses: [] };
  for (const c of node.children) {
    switch (c.keyword) {
      case "state": {
        const s = one(c, "state");
        if (s !== "MASTER" && s !== "BACKUP") throw new ParseError(P, c.line, `state ${s}`, "state is MASTER or BACKUP");
        v.state = s;
        break;
      }
      case "interface":
        v.interface = one(c, "interface");
        break;
      case "virtual_router_id":
        v.virtualRouterId = int(c, 1, 255);
        break;
      case "priority":
        v.priority = int(c, 1, 255);
        break;
      case "advert_int":
        v.advertInt = int(c, 1, 255);
        break;
      case "nopreempt":
        v.nopreempt = true;
        break;
      case "unicast_src_ip":
        v.unicastSrcIp = addr(c, one(c, "unicast_src_ip"));
        break;
      case "unicast_peer":
        v.unicastPeers = (c.children ?? []).map((p) => addr(p, p.keyword));
        break;
      case "virtual_ipaddress":
        v.virtualIpaddresses = (c.children ?? []).map((p) => p.keyword);
        break;
      default:
        break; // other vrrp keywords (authentication, track_script, …) stay in the tree
    }
  }
  return v;
}

function virtualServer(node: KaNode): KaVirtualServer {
  if (!node.children) throw new ParseError(P, node.line, node.keyword, "virtual_server needs a block");
  const vs: KaVirtualServer = { realServers: [] };
  const [a, b] = node.args;
  if (a === "fwmark") vs.fwmark = b !== undefined && /^\d{1,10}$/.test(b) && Number(b) <= 0xffffffff ? Number(b) : NaN;
  else if (a === "group") vs.group = b;
  else {
    vs.address = addr(node, a ?? "");
    vs.port = port(node, b);
  }
  if (Number.isNaN(vs.fwmark) || (a === "group" && !b) || node.args.length > 2) throw new ParseError(P, node.line, `virtual_server ${node.args.join(" ")}`, "virtual_server takes ADDRESS PORT, fwmark N or group NAME");
  for (const c of node.children) {
    switch (c.keyword) {
      case "lb_algo":
      case "lvs_sched":
        vs.lbAlgo = one(c, c.keyword);
        break;
      case "lb_kind":
      case "lvs_method": {
        const k = one(c, c.keyword);
        if (k !== "NAT" && k !== "DR" && k !== "TUN") throw new ParseError(P, c.line, `${c.keyword} ${k}`, "lb_kind is NAT, DR or TUN");
        vs.lbKind = k;
        break;
      }
      case "protocol": {
        const p = one(c, "protocol");
        if (p !== "TCP" && p !== "UDP" && p !== "SCTP") throw new ParseError(P, c.line, `protocol ${p}`, "protocol is TCP, UDP or SCTP");
        vs.protocol = p;
        break;
      }
      case "delay_loop":
        vs.delayLoop = int(c, 1, 86400);
        break;
      case "persistence_timeout":
        vs.persistenceTimeout = int(c, 1, 2 ** 31);
        break;
      case "real_server": {
        const rs: KaRealServer = { address: addr(c, c.args[0] ?? "") };
        const p = port(c, c.args[1]);
        if (p !== undefined) rs.port = p;
        if (c.args.length > 2) throw new ParseError(P, c.line, `real_server ${c.args.join(" ")}`, "real_server takes ADDRESS [PORT]");
        for (const r of c.children ?? []) if (r.keyword === "weight") rs.weight = int(r, 0, 65535);
        vs.realServers.push(rs);
        break;
      }
      default:
        break;
    }
  }
  return vs;
}

/** typed view of a keepalived.conf */
export function parseKeepalived(text: string): KeepalivedConf {
  const tree = parseKeepalivedTree(text);
  const conf: KeepalivedConf = { globalDefs: {}, vrrpInstances: [], virtualServers: [], tree };
  for (const node of tree) {
    if (node.keyword === "global_defs") {
      if (!node.children) throw new ParseError(P, node.line, node.keyword, "global_defs needs a block");
      for (const c of node.children) conf.globalDefs[c.keyword] = c.args;
    } else if (node.keyword === "vrrp_instance") conf.vrrpInstances.push(vrrp(node));
    else if (node.keyword === "virtual_server") conf.virtualServers.push(virtualServer(node));
  }
  const names = new Set<string>();
  for (const v of conf.vrrpInstances) {
    if (names.has(v.name)) throw new ParseError(P, undefined, v.name, `vrrp_instance ${v.name} defined twice`);
    names.add(v.name);
    for (const ip of v.virtualIpaddresses) if (!isIpAddress(ip.split("/")[0]!)) throw new ParseError(P, undefined, ip, "virtual_ipaddress entry is not an address");
  }
  return conf;
}
