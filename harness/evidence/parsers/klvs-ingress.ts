/**
 * The two ENM KLVS router custom resources of seed 004, and what each asks of IPVS.
 *
 * LvsIngress (routing.lvsingress.ericsson.com/v1alpha1; Go API at 004 L310-333, sample L995-1011):
 *   spec.virtualServiceIP, spec.backendService.serviceName,
 *   spec.backendService.portMappings[] {lbPort, svcPort, protocol, sch}; status.changeId
 * EricIngress (routing.ericingress.ericsson.com/v1alpha1; 004 L384-403):
 *   spec.virtualServiceIP, spec.backends.name,
 *   spec.backends.config[] {portRange {vipPortRange {start,end}, svcPortRange {start,end}}, protocol, algo, mode}
 *
 * Either becomes a list of IngressRule: one IPVS virtual service per VIP:port/protocol with the CR's
 * scheduler, whose real servers are the backend service's endpoints on svcPort.
 */
import { z } from "zod";
import { ParseError } from "../parse-error.ts";
import { canonicalIp, check, isIpAddress, structuredDocuments } from "./common.ts";
import type { IpvsForward, IpvsProtocol } from "./ipvsadm.ts";

const Port = z.number().int().min(1).max(65535);
const Protocol = z.enum(["tcp", "udp", "sctp"]);
/** schedulers ipvsadm knows; seed 004 L136-140 names rr, sh, lc */
const Scheduler = z.enum(["rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos"]);
/** returned canonical (RFC 5952), as the ipvsadm parser returns table addresses */
const Vip = z.string().refine(isIpAddress, "not an IP address").transform(canonicalIp);
const Meta = z.object({ name: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/), namespace: z.string().optional() }).loose();

export const LvsIngressSchema = z
  .object({
    apiVersion: z.literal("routing.lvsingress.ericsson.com/v1alpha1"),
    kind: z.literal("LvsIngress"),
    metadata: Meta,
    spec: z
      .object({
        virtualServiceIP: Vip,
        backendService: z
          .object({
            serviceName: z.string().min(1),
            portMappings: z.array(z.object({ lbPort: Port, svcPort: Port, protocol: Protocol, sch: Scheduler }).strict()).min(1),
          })
          .strict(),
      })
      .strict(),
    status: z.object({ changeId: z.number().int().optional() }).loose().optional(),
  })
  .loose();
export type LvsIngress = z.output<typeof LvsIngressSchema>;

const PortRange = z.object({ start: Port, end: Port }).strict().refine((r) => r.start <= r.end, "start after end");

export const EricIngressSchema = z
  .object({
    apiVersion: z.literal("routing.ericingress.ericsson.com/v1alpha1"),
    kind: z.literal("EricIngress"),
    metadata: Meta,
    spec: z
      .object({
        virtualServiceIP: Vip,
        backends: z
          .object({
            name: z.string().min(1),
            config: z
              .array(
                z
                  .object({
                    portRange: z.object({ vipPortRange: PortRange, svcPortRange: PortRange }).strict(),
                    protocol: Protocol,
                    algo: Scheduler,
                    mode: z.enum(["nat", "dr", "tun"]).default("nat"),
                  })
                  .strict()
                  .refine((c) => {
                    const v = c.portRange?.vipPortRange, s = c.portRange?.svcPortRange;
                    return !v || !s || v.end - v.start === s.end - s.start;
                  }, "vipPortRange and svcPortRange differ in length"),
              )
              .min(1),
          })
          .strict(),
      })
      .strict(),
  })
  .loose();
export type EricIngress = z.output<typeof EricIngressSchema>;

export type KlvsIngress = LvsIngress | EricIngress;

/** one virtual service an ingress CR asks for */
export interface IngressRule {
  /** "LvsIngress/lvsingress-samba7" */
  source: string;
  vip: string;
  vipPort: number;
  protocol: Exclude<IpvsProtocol, "FWM">;
  scheduler: string;
  forward: Exclude<IpvsForward, "Local">;
  service: string;
  namespace?: string;
  svcPort: number;
}

const P = "klvs-ingress";

/** LvsIngress/EricIngress objects from manifests or `kubectl get … -o yaml|json` (Lists allowed) */
export function parseKlvsIngresses(text: string): KlvsIngress[] {
  const out: KlvsIngress[] = [];
  for (const d of structuredDocuments(P, text)) {
    const items = d && typeof d === "object" && !Array.isArray(d) && (d as { kind?: unknown }).kind === "List" ? (d as { items?: unknown }).items : [d];
    if (!Array.isArray(items)) throw new ParseError(P, undefined, text.slice(0, 200), "List without items");
    for (const o of items) {
      const kind = o && typeof o === "object" ? (o as { kind?: unknown }).kind : undefined;
      if (kind === "LvsIngress") out.push(check(P, LvsIngressSchema, o));
      else if (kind === "EricIngress") out.push(check(P, EricIngressSchema, o));
      else throw new ParseError(P, undefined, JSON.stringify(o)?.slice(0, 200) ?? "", `kind ${JSON.stringify(kind)} is neither LvsIngress nor EricIngress`);
    }
  }
  if (out.length === 0) throw new ParseError(P, undefined, text, "no ingress object");
  return out;
}

const FORWARD = { nat: "Masq", dr: "Route", tun: "Tunnel" } as const;

/** the virtual services a CR asks for (LvsIngress has no mode: NAT, i.e. Masq) */
export function ingressRules(cr: KlvsIngress): IngressRule[] {
  const source = `${cr.kind}/${cr.metadata.name}`;
  const ns = cr.metadata.namespace;
  const withNs = (r: IngressRule): IngressRule => (ns ? { ...r, namespace: ns } : r);
  if (cr.kind === "LvsIngress") {
    return cr.spec.backendService.portMappings.map((m) =>
      withNs({
        source,
        vip: cr.spec.virtualServiceIP,
        vipPort: m.lbPort,
        protocol: m.protocol.toUpperCase() as IngressRule["protocol"],
        scheduler: m.sch,
        forward: "Masq",
        service: cr.spec.backendService.serviceName,
        svcPort: m.svcPort,
      }),
    );
  }
  return cr.spec.backends.config.flatMap((c) => {
    const out: IngressRule[] = [];
    const { vipPortRange: v, svcPortRange: s } = c.portRange;
    for (let k = 0; k <= v.end - v.start; k++) {
      out.push(
        withNs({
          source,
          vip: cr.spec.virtualServiceIP,
          vipPort: v.start + k,
          protocol: c.protocol.toUpperCase() as IngressRule["protocol"],
          scheduler: c.algo,
          forward: FORWARD[c.mode],
          service: cr.spec.backends.name,
          svcPort: s.start + k,
        }),
      );
    }
    return out;
  });
}
