import { describe, expect, it } from "vitest";
import { renderFrrConf } from "./frr.ts";

describe("network/frr renderFrrConf", () => {
  it("renders a single-hop BFD peer as before (no update-source, no network, plain bfd peer)", () => {
    const conf = renderFrrConf({ asn: 64512, routerId: "172.31.252.11", neighbors: [{ ip: "172.31.252.12", remoteAs: 64513, bfd: true }] });
    expect(conf).toBe(
      [
        "frr defaults traditional", "log stdout informational", "!", "router bgp 64512", " bgp router-id 172.31.252.11", " no bgp ebgp-requires-policy", " no bgp default ipv4-unicast",
        " neighbor 172.31.252.12 remote-as 64513", " neighbor 172.31.252.12 timers connect 5", " neighbor 172.31.252.12 bfd profile netconform", " address-family ipv4 unicast", "  neighbor 172.31.252.12 activate", " exit-address-family", "!",
        "bfd", " profile netconform", "  receive-interval 300", "  transmit-interval 300", "  detect-multiplier 3", " exit", " peer 172.31.252.12", "  profile netconform", " exit", "exit", "!", "",
      ].join("\n"),
    );
  });

  it("renders a multihop speaker: ebgp-multihop, update-source, network statement, multihop BFD peer with its local address", () => {
    const conf = renderFrrConf({ asn: 64500, routerId: "10.253.41.21", networks: ["203.0.113.200/32"], neighbors: [{ ip: "10.253.42.11", remoteAs: 64512, bfd: true, multihop: 2, localAddress: "10.253.41.21" }] });
    expect(conf).toContain(" neighbor 10.253.42.11 ebgp-multihop 2\n neighbor 10.253.42.11 update-source 10.253.41.21\n");
    expect(conf).toContain(" address-family ipv4 unicast\n  network 203.0.113.200/32\n  neighbor 10.253.42.11 activate\n");
    expect(conf).toContain(" peer 10.253.42.11 multihop local-address 10.253.41.21\n  profile netconform\n");
  });

  it("renders an iBGP peer a router away: no ebgp-multihop, but a multihop BFD peer with its local address", () => {
    const conf = renderFrrConf({ asn: 64500, routerId: "10.251.7.11", neighbors: [{ ip: "172.18.0.3", remoteAs: 64500, bfd: true, bfdMultihop: true, localAddress: "10.251.7.11" }] });
    expect(conf).not.toContain("ebgp-multihop");
    expect(conf).toContain(" neighbor 172.18.0.3 remote-as 64500\n neighbor 172.18.0.3 timers connect 5\n neighbor 172.18.0.3 update-source 10.251.7.11\n");
    expect(conf).toContain(" peer 172.18.0.3 multihop local-address 10.251.7.11\n  profile netconform\n");
  });

  it("renders a neighbour that gets routes with their next hop unchanged", () => {
    const conf = renderFrrConf({ asn: 64500, routerId: "10.251.7.11", neighbors: [{ ip: "10.251.7.254", remoteAs: 64600, nextHopUnchanged: true }] });
    expect(conf).toContain("  neighbor 10.251.7.254 activate\n  neighbor 10.251.7.254 attribute-unchanged next-hop\n");
    expect(conf).not.toContain("bfd profile netconform\n");
  });
});
