/**
 * FRR configuration for an external BGP/BFD peer (the BGP/BFD lab: frr1/frr2 peering with every node,
 * BFD profile 300 ms / 300 ms / x3). Rendered text; the world writes it into the container.
 */
export interface FrrNeighbor {
  ip: string;
  remoteAs: number;
  bfd?: boolean;
  /** eBGP multihop TTL when the peer is behind a router (the BGP/BFD lab: the nodes are one hop away) */
  multihop?: number;
  /** our address towards this peer: `update-source`, and the BFD `local-address` a multihop BFD peer needs */
  localAddress?: string;
  /** a multihop BFD session (default: when `multihop` is set; iBGP peers a router away need it without ebgp-multihop) */
  bfdMultihop?: boolean;
  /** pass routes to this neighbour with their next hop unchanged (`attribute-unchanged next-hop`) */
  nextHopUnchanged?: boolean;
}
export interface FrrSpec {
  asn: number;
  routerId: string;
  neighbors: FrrNeighbor[];
  bfd?: { receiveIntervalMs: number; transmitIntervalMs: number; detectMultiplier: number };
  /** prefixes this router announces (`network` statements; the route must exist, e.g. an address on lo) */
  networks?: string[];
}

export function renderFrrDaemons(): string {
  return ["bgpd=yes", "bfdd=yes", "zebra=yes", "staticd=yes", "vtysh_enable=yes", 'zebra_options="  -A 127.0.0.1 -s 90000000"', 'bgpd_options="   -A 127.0.0.1"', 'bfdd_options="   -A 127.0.0.1"', 'staticd_options="-A 127.0.0.1"', ""].join("\n");
}

export function renderFrrConf(s: FrrSpec): string {
  const bfd = s.bfd ?? { receiveIntervalMs: 300, transmitIntervalMs: 300, detectMultiplier: 3 };
  const lines = ["frr defaults traditional", "log stdout informational", "!", `router bgp ${s.asn}`, ` bgp router-id ${s.routerId}`, " no bgp ebgp-requires-policy", " no bgp default ipv4-unicast"];
  for (const n of s.neighbors) {
    lines.push(` neighbor ${n.ip} remote-as ${n.remoteAs}`);
    // retry a failed connect after 5 s, not the traditional profile's 120 s: a peer whose first
    // attempts fell before the other side listened otherwise sits in Active for two minutes
    // (CI: HARN-03 "timed out after 60000 ms waiting for BGP Established frr1→frr2")
    lines.push(` neighbor ${n.ip} timers connect 5`);
    if (n.multihop) lines.push(` neighbor ${n.ip} ebgp-multihop ${n.multihop}`);
    if (n.localAddress) lines.push(` neighbor ${n.ip} update-source ${n.localAddress}`);
    if (n.bfd) lines.push(` neighbor ${n.ip} bfd profile netconform`);
  }
  lines.push(" address-family ipv4 unicast");
  for (const p of s.networks ?? []) lines.push(`  network ${p}`);
  for (const n of s.neighbors) {
    lines.push(`  neighbor ${n.ip} activate`);
    if (n.nextHopUnchanged) lines.push(`  neighbor ${n.ip} attribute-unchanged next-hop`);
  }
  lines.push(" exit-address-family", "!", "bfd", " profile netconform", `  receive-interval ${bfd.receiveIntervalMs}`, `  transmit-interval ${bfd.transmitIntervalMs}`, `  detect-multiplier ${bfd.detectMultiplier}`, " exit");
  for (const n of s.neighbors.filter((x) => x.bfd)) {
    const mh = n.bfdMultihop ?? !!n.multihop;
    lines.push(` peer ${n.ip}${mh ? " multihop" : ""}${mh && n.localAddress ? ` local-address ${n.localAddress}` : ""}`, "  profile netconform", " exit");
  }
  lines.push("exit", "!", "");
  return lines.join("\n");
}
