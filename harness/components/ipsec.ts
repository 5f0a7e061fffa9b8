/**
 * In-cluster strongSwan endpoints for the IPSEC suite: the gateway DaemonSet (hostNetwork, one per
 * worker, behind a MetalLB VIP with externalTrafficPolicy Local for IKE/NAT-T) and the pod that is
 * both IPsec endpoint and service (IPSEC-05), with the Services in front of them and the agnhost
 * backends behind the inner VIP. Pure rendering: Kubernetes objects as YAML text; suites apply them.
 *
 * Datapaths (`GatewayMode`):
 *  - libipsec: strongSwan's kernel-libipsec, ESP in user space over the `ipsec0` TUN device; charon
 *    installs `<client inner> dev ipsec0` in table 220 (route-based; no kernel SA, no if_id);
 *  - xfrmi:    kernel ESP with an XFRM interface (`nc-ipsec0`, if_id) and a route through it;
 *  - policy:   kernel ESP, policy-based (charon's policies and table-220 routes);
 *  - vti:      kernel ESP with a `vti` link keyed by the CHILD SA's mark.
 *
 * The start script runs in the pod: it sets the datapath up, puts the traffic-selector address on
 * `lo` (charon needs a local address inside its local traffic selector), starts charon, loads
 * swanctl.conf and marks the pod ready; on SIGTERM it stops charon and removes what it added to a
 * shared (hostNetwork) namespace. swanctl.conf carries the pre-shared key, so it travels in a Secret,
 * never in a ConfigMap, an argument or an environment variable.
 */
import type { RunConfig } from "../config.ts";
import { HostExecutor } from "../exec/host.ts";
import type { Executor } from "../exec/types.ts";
import { parseDocuments } from "../kube/apply.ts";
import { requireFeatures } from "../preflight/kernel.ts";
import { renderStrongswanConf, renderSwanctlConf, type TunnelSpec } from "../network/ipsec.ts";

export type GatewayMode = "libipsec" | "xfrmi" | "policy" | "vti";
/** the route-based modes IPSEC-01/05 run in, the suite parameter */
export type RouteMode = "libipsec" | "xfrmi";

/** the XFRM interface id of the xfrmi mode (the seed's 123) and the VTI key/mark of the vti mode (its 100) */
export const XFRM_IF_ID = 123;
export const VTI_MARK = 100;
/** the link the script makes in xfrmi/vti modes */
export const LINK = { xfrmi: "nc-ipsec0", vti: "nc-vti100" } as const;

/** The device replies to the client leave through, per mode (for routes and negative controls). */
export function tunnelDevice(mode: GatewayMode): string {
  return mode === "libipsec" ? "ipsec0" : mode === "xfrmi" ? LINK.xfrmi : mode === "vti" ? LINK.vti : "eth0";
}

/** The container's start script (POSIX sh); its parameters come from the environment (NC_*). */
export function gatewayScript(): string {
  return `#!/bin/sh
# netconform IPsec endpoint: datapath per NC_MODE, charon, swanctl.conf from the Secret.
set -eu
log() { echo "netconform ipsec endpoint: $*" >&2; }
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  ip addr del "$NC_TS_ADDR/32" dev lo 2>/dev/null || true
  case "$NC_MODE" in xfrmi|vti) ip link del "$NC_LINK" 2>/dev/null || true ;; esac
  ip route del "$NC_REMOTE_TS" table 220 2>/dev/null || true
  exit 0
}
trap cleanup TERM INT
case "$NC_MODE" in
  libipsec)
    [ -c /dev/net/tun ] || { log "/dev/net/tun is missing: kernel-libipsec needs it (run the pod privileged)"; exit 1; }
    load=yes ;;
  xfrmi)
    load=no
    ip link del "$NC_LINK" 2>/dev/null || true
    ip link add "$NC_LINK" type xfrm dev eth0 if_id "$NC_IF_ID"
    ip link set "$NC_LINK" up
    ip route replace "$NC_REMOTE_TS" dev "$NC_LINK" ;;
  vti)
    load=no
    local_ip=$(ip -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1 | head -n1)
    ip link del "$NC_LINK" 2>/dev/null || true
    ip link add "$NC_LINK" type vti key "$NC_MARK" local "$local_ip" remote "$NC_PEER"
    ip link set "$NC_LINK" up
    sysctl -qw "net.ipv4.conf.$NC_LINK.disable_policy=1"
    ip route replace "$NC_REMOTE_TS" dev "$NC_LINK" ;;
  policy) load=no ;;
  *) log "unknown NC_MODE $NC_MODE (libipsec, xfrmi, policy, vti)"; exit 1 ;;
esac
ip addr replace "$NC_TS_ADDR/32" dev lo
sed -i "s/^\\(\\s*load\\s*=\\s*\\)\\(yes\\|no\\)/\\1$load/" /etc/strongswan.d/charon/kernel-libipsec.conf
cp /nc/config/strongswan.conf /etc/strongswan.d/zz-netconform.conf
(umask 077 && cp /nc/secret/swanctl.conf /etc/swanctl/swanctl.conf)
rm -f /var/run/charon.vici /var/run/charon.pid /tmp/ready
/usr/sbin/charon-systemd &
pid=$!
i=0
until [ -S /var/run/charon.vici ]; do
  i=$((i + 1)); [ "$i" -lt 300 ] || { log "charon's VICI socket did not appear within 30 s"; exit 1; }
  kill -0 "$pid" 2>/dev/null || { log "charon exited"; exit 1; }
  sleep 0.1
done
swanctl --load-all --noprompt >&2
touch /tmp/ready
log "ready (mode $NC_MODE)"
wait "$pid"
`;
}

export interface EndpointOptions {
  ns: string;
  /** object names and the pods' app label */
  name: string;
  /** the strongSwan image (upstream-style name the nodes pull) */
  image: string;
  mode: GatewayMode;
  /** the tunnel, seen from the cluster end (the responder); swanctl.conf is rendered from it */
  spec: TunnelSpec;
  /** the peer's inner address or prefix the cluster end routes back into the tunnel (xfrmi/vti) */
  remoteTs: string;
  /** the peer's IKE address (vti: the link's remote end) */
  peer: string;
  /** DaemonSet on the host network (gateway) or a one-replica Deployment in the pod network (endpoint + service) */
  kind: "gateway" | "endpoint";
  /** endpoint: the agnhost image of the service container in the same pod */
  serviceImage?: string;
  /** pod labels besides app */
  labels?: Record<string, string>;
}

const doc = (o: unknown): string => JSON.stringify(o);

/**
 * Plugins of Debian's libcharon-extra-plugins that act on the whole network namespace, which is
 * the node's for the hostNetwork gateway: farp answers ARP for the peer's traffic selectors,
 * forecast joins multicast groups and re-sends broadcasts, dhcp and ha talk on the LAN.
 */
const PLUGINS_OFF = ["farp", "forecast", "dhcp", "ha"];

/** Secret (swanctl.conf with the PSK), ConfigMap (script, strongswan.conf) and the workload. */
export function endpointYaml(o: EndpointOptions): string {
  const responder = { ...o.spec, responder: { ...o.spec.responder, addr: "%any" } };
  const kernel = o.mode !== "libipsec";
  const strongswan = renderStrongswanConf({ datapath: kernel ? "kernel" : "libipsec", installRoutes: o.mode === "libipsec" || o.mode === "policy", logPath: "stderr", disablePlugins: PLUGINS_OFF });
  const env = [
    { name: "NC_MODE", value: o.mode },
    { name: "NC_TS_ADDR", value: o.spec.responder.tsAddress },
    { name: "NC_REMOTE_TS", value: o.remoteTs },
    { name: "NC_PEER", value: o.peer },
    { name: "NC_IF_ID", value: String(XFRM_IF_ID) },
    { name: "NC_MARK", value: String(VTI_MARK) },
    { name: "NC_LINK", value: o.mode === "vti" ? LINK.vti : LINK.xfrmi },
  ];
  const labels = { app: o.name, ...(o.labels ?? {}) };
  const strongswanContainer = {
    name: "strongswan",
    image: o.image,
    imagePullPolicy: "IfNotPresent",
    command: ["/bin/sh", "/nc/config/start.sh"],
    env,
    securityContext: { privileged: true },
    readinessProbe: { exec: { command: ["test", "-e", "/tmp/ready"] }, periodSeconds: 1, failureThreshold: 1, successThreshold: 1 },
    volumeMounts: [
      { name: "config", mountPath: "/nc/config", readOnly: true },
      { name: "secret", mountPath: "/nc/secret", readOnly: true },
    ],
  };
  const containers: unknown[] = [strongswanContainer];
  if (o.kind === "endpoint") {
    if (!o.serviceImage) throw new Error("ipsec endpoint: serviceImage (agnhost) is required for the endpoint-and-service pod");
    containers.push({ name: "netexec", image: o.serviceImage, imagePullPolicy: "IfNotPresent", command: ["/agnhost", "netexec", "--http-port=8080", "--udp-port=8081"], ports: [{ containerPort: 8080 }, { containerPort: 8081, protocol: "UDP" }] });
  }
  const podSpec = {
    ...(o.kind === "gateway" ? { hostNetwork: true, dnsPolicy: "ClusterFirstWithHostNet" } : {}),
    terminationGracePeriodSeconds: 5,
    containers,
    volumes: [
      { name: "config", configMap: { name: `${o.name}-config` } },
      { name: "secret", secret: { secretName: `${o.name}-swanctl`, defaultMode: 0o400 } },
    ],
  };
  const template = { metadata: { labels }, spec: podSpec };
  const workload =
    o.kind === "gateway"
      ? { apiVersion: "apps/v1", kind: "DaemonSet", metadata: { name: o.name, namespace: o.ns }, spec: { selector: { matchLabels: { app: o.name } }, template } }
      : { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: o.name, namespace: o.ns }, spec: { replicas: 1, selector: { matchLabels: { app: o.name } }, template } };
  const docs = [
    doc({ apiVersion: "v1", kind: "Secret", metadata: { name: `${o.name}-swanctl`, namespace: o.ns }, type: "Opaque", stringData: { "swanctl.conf": renderSwanctlConf(responder, "responder") } }),
    doc({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: `${o.name}-config`, namespace: o.ns }, data: { "start.sh": gatewayScript(), "strongswan.conf": strongswan } }),
    doc(workload),
  ];
  const text = docs.join("\n---\n");
  parseDocuments(text);
  return text;
}

/** The namespace the suite's objects live in. */
export function namespaceYaml(ns: string): string {
  return doc({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns, labels: { "app.kubernetes.io/managed-by": "netconform" } } });
}

/** LoadBalancer for IKE and NAT-T (UDP 500 and 4500), externalTrafficPolicy Local: no balancing of IPsec. */
export function ikeServiceYaml(o: { ns: string; name: string; app: string; pool: string }): string {
  return doc({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: o.name, namespace: o.ns, annotations: { "metallb.io/address-pool": o.pool } },
    spec: {
      type: "LoadBalancer",
      externalTrafficPolicy: "Local",
      selector: { app: o.app },
      ports: [
        { name: "ike", port: 500, targetPort: 500, protocol: "UDP" },
        { name: "nat-t", port: 4500, targetPort: 4500, protocol: "UDP" },
      ],
    },
  });
}

/** The inner ports: TCP 80 → 8080, UDP 81 → 8081, SCTP 82 → 8082 (only where the kernel has SCTP). */
export const INNER_PORTS = { tcp: { port: 80, target: 8080 }, udp: { port: 81, target: 8081 }, sctp: { port: 82, target: 8082 } } as const;
export type InnerProto = keyof typeof INNER_PORTS;

/** LoadBalancer reachable only through the tunnel: its pool has no advertisement, nobody outside routes to it. */
export function innerServiceYaml(o: { ns: string; name: string; app: string; pool: string; policy: "Cluster" | "Local"; protos: InnerProto[] }): string {
  return doc({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: o.name, namespace: o.ns, annotations: { "metallb.io/address-pool": o.pool } },
    spec: {
      type: "LoadBalancer",
      externalTrafficPolicy: o.policy,
      selector: { app: o.app },
      ports: o.protos.map((p) => ({ name: p, port: INNER_PORTS[p].port, targetPort: INNER_PORTS[p].target, protocol: p.toUpperCase() })),
    },
  });
}

/** agnhost netexec backends, one per worker: HTTP 8080, UDP 8081, SCTP 8082 (with sctp); on the host network for IPSEC-03. */
export function backendsYaml(o: { ns: string; name: string; image: string; protos: InnerProto[]; hostNetwork?: boolean }): string {
  const args = ["netexec", `--http-port=${INNER_PORTS.tcp.target}`, `--udp-port=${INNER_PORTS.udp.target}`, ...(o.protos.includes("sctp") ? [`--sctp-port=${INNER_PORTS.sctp.target}`] : [])];
  const text = doc({
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: o.name, namespace: o.ns },
    spec: {
      selector: { matchLabels: { app: o.name } },
      template: {
        metadata: { labels: { app: o.name } },
        spec: {
          ...(o.hostNetwork ? { hostNetwork: true, dnsPolicy: "ClusterFirstWithHostNet" } : {}),
          terminationGracePeriodSeconds: 1,
          containers: [{ name: "netexec", image: o.image, imagePullPolicy: "IfNotPresent", command: ["/agnhost", ...args], readinessProbe: { tcpSocket: { port: INNER_PORTS.tcp.target }, periodSeconds: 1 } }],
        },
      },
    },
  });
  parseDocuments(text);
  return text;
}

/** IPAddressPool without an L2Advertisement: MetalLB assigns its addresses, nobody announces them. */
export function unadvertisedPoolYaml(o: { name: string; addresses: string[] }): string {
  return doc({ apiVersion: "metallb.io/v1beta1", kind: "IPAddressPool", metadata: { name: o.name, namespace: "metallb-system" }, spec: { addresses: o.addresses, autoAssign: false } });
}

/**
 * The route-based datapath IPSEC-01/05 run in (the suite parameter, NETCONFORM_IPSEC_MODE): as
 * configured, or for "auto" xfrmi where this kernel has INET_ESP and XFRM_INTERFACE, else libipsec.
 * `missing` is the kernel's reason when the chosen mode cannot run here (then those tests skip).
 */
export async function resolveMode(config: Pick<RunConfig, "ipsecMode">, ex: Executor = new HostExecutor()): Promise<{ mode: RouteMode; why: string; missing?: string }> {
  const xfrmi = await requireFeatures(ex, ["INET_ESP", "XFRM_INTERFACE"]).catch((e: Error) => ({ ok: false as const, reason: `probe failed: ${e.message}` }));
  if (config.ipsecMode === "xfrmi") return { mode: "xfrmi", why: "NETCONFORM_IPSEC_MODE=xfrmi", ...(xfrmi.ok ? {} : { missing: xfrmi.reason }) };
  const tun = await requireFeatures(ex, ["TUN"]).catch((e: Error) => ({ ok: false as const, reason: `probe failed: ${e.message}` }));
  if (config.ipsecMode === "libipsec") return { mode: "libipsec", why: "NETCONFORM_IPSEC_MODE=libipsec", ...(tun.ok ? {} : { missing: tun.reason }) };
  if (xfrmi.ok) return { mode: "xfrmi", why: "auto: the kernel has INET_ESP and XFRM_INTERFACE" };
  return { mode: "libipsec", why: `auto: ${xfrmi.reason}`, ...(tun.ok ? {} : { missing: tun.reason }) };
}

