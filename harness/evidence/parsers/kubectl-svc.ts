/**
 * `kubectl get svc [-o wide]` (seed 001 L663-667, L1344-1346, L4033-4036): type, ClusterIP,
 * external IPs and the ports with their node ports. Built on the shared table reader.
 */
import { ParseError } from "../parse-error.ts";
import { isIpAddress, type ParseOptions } from "./common.ts";
import { parseKubectlTable, tableRows } from "./kubectl-get.ts";

export interface ServicePort {
  port: number;
  nodePort?: number;
  protocol: "TCP" | "UDP" | "SCTP";
}

export interface ServiceRow {
  name: string;
  type: "ClusterIP" | "NodePort" | "LoadBalancer" | "ExternalName";
  clusterIP?: string;
  /** addresses under EXTERNAL-IP; [] for <none>; "<pending>" gives pending: true */
  externalIPs: string[];
  pending: boolean;
  ports: ServicePort[];
  selector?: string;
}

export function parseServices(text: string, opts?: ParseOptions): ServiceRow[] {
  const P = "kubectl-svc";
  // the shared table reader takes plain header names: rename PORT(S) in place (same width, same offsets)
  const t = parseKubectlTable(P, text.replace(/^(\s*NAME\s[^\n]*?)PORT\(S\)/, "$1PORTS  "), { parse: opts });
  for (const c of ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORTS", "AGE"]) if (!t.columns.includes(c)) throw new ParseError(P, 1, t.columns.join(" "), `no ${c} column`);
  return tableRows(opts, t, (r, n) => {
    const bad = (what: string): never => {
      throw new ParseError(P, n, Object.values(r).join(" "), what);
    };
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(r.NAME!)) bad(`NAME "${r.NAME}" is not a service name`);
    if (!["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"].includes(r.TYPE!)) bad(`TYPE "${r.TYPE}" is not a service type`);
    const row: ServiceRow = { name: r.NAME!, type: r.TYPE as ServiceRow["type"], externalIPs: [], pending: false, ports: [] };
    const cip = r["CLUSTER-IP"]!;
    if (cip !== "None" && cip !== "<none>") {
      if (!isIpAddress(cip)) bad(`CLUSTER-IP "${cip}" is not an address`);
      row.clusterIP = cip;
    }
    const ext = r["EXTERNAL-IP"]!;
    if (ext === "<pending>") row.pending = true;
    else if (ext !== "<none>") {
      row.externalIPs = ext.split(",");
      if (row.externalIPs.some((a) => !isIpAddress(a))) bad(`EXTERNAL-IP "${ext}" is not a list of addresses`);
    }
    const ports = r["PORTS"]!;
    if (ports !== "<none>") {
      for (const p of ports.split(",")) {
        const m = /^(\d+)(?::(\d+))?\/(TCP|UDP|SCTP)$/.exec(p);
        if (!m) bad(`PORT(S) entry "${p}" is not port[:nodePort]/PROTO`);
        const sp: ServicePort = { port: Number(m![1]), protocol: m![3] as ServicePort["protocol"] };
        if (m![2] !== undefined) sp.nodePort = Number(m![2]);
        if (sp.port > 65535 || (sp.nodePort ?? 0) > 65535) bad(`port out of range in "${p}"`);
        row.ports.push(sp);
      }
    }
    if (!/^(\d+[smhdy]){1,2}$/.test(r.AGE!)) bad(`AGE "${r.AGE}" is not an age`);
    if ("SELECTOR" in r) row.selector = r.SELECTOR!;
    return row;
  });
}
