import { describe, expect, it } from "vitest";
import { ParseError } from "../parse-error.ts";
import { fuzz } from "./fuzz-util.ts";
import { ingressRules, parseKlvsIngresses } from "./klvs-ingress.ts";

// seed 004 L995-1011, code-block indentation removed
const LVS = `apiVersion: routing.lvsingress.ericsson.com/v1alpha1
kind: LvsIngress
metadata:
 name: lvsingress-samba7
spec:
 virtualServiceIP: 10.32.184.59
 backendService:
  serviceName: tcpserver7 
  portMappings:
  - lbPort: 8080
    svcPort: 8080
    protocol: tcp
    sch: sh
  - lbPort: 7070
    protocol: tcp
    svcPort: 7070
    sch: rr
`;
// seed 004 L384-402 with the Helm value rendered
const ERIC = `apiVersion: routing.ericingress.ericsson.com/v1alpha1
kind: EricIngress
metadata:
  name: mscm
spec:
  virtualServiceIP: 10.232.35.200
  backends:
    name: mscm
    config:
      - portRange:
          vipPortRange:
            start: 58978
            end: 58979
          svcPortRange:
            start: 58978
            end: 58979
        protocol: tcp
        algo: sh
        mode: nat
`;

describe("evidence/parsers/klvs-ingress", () => {
  it("reads the lab's LvsIngress and its rules", () => {
    const [cr] = parseKlvsIngresses(LVS);
    expect(cr!.kind).toBe("LvsIngress");
    expect(ingressRules(cr!)).toEqual([
      { source: "LvsIngress/lvsingress-samba7", vip: "10.32.184.59", vipPort: 8080, protocol: "TCP", scheduler: "sh", forward: "Masq", service: "tcpserver7", svcPort: 8080 },
      { source: "LvsIngress/lvsingress-samba7", vip: "10.32.184.59", vipPort: 7070, protocol: "TCP", scheduler: "rr", forward: "Masq", service: "tcpserver7", svcPort: 7070 },
    ]);
  });

  it("reads the lab's EricIngress and expands its port ranges", () => {
    const rules = ingressRules(parseKlvsIngresses(ERIC)[0]!);
    expect(rules.map((r) => `${r.protocol} ${r.vip}:${r.vipPort} ${r.scheduler} ${r.forward} → ${r.service}:${r.svcPort}`)).toEqual([
      "TCP 10.232.35.200:58978 sh Masq → mscm:58978",
      "TCP 10.232.35.200:58979 sh Masq → mscm:58979",
    ]);
  });

  it("reads several documents and Lists", () => {
    expect(parseKlvsIngresses(`${LVS}---\n${ERIC}`)).toHaveLength(2);
    expect(parseKlvsIngresses(JSON.stringify({ kind: "List", items: parseKlvsIngresses(ERIC) }))).toHaveLength(1);
  });

  it("refuses unknown schedulers, unequal ranges and other kinds", () => {
    expect(() => parseKlvsIngresses(LVS.replace("sch: rr", "sch: random"))).toThrow(/sch/);
    expect(() => parseKlvsIngresses(ERIC.replace("end: 58979\n        protocol", "end: 58980\n        protocol"))).toThrow(/differ in length/);
    expect(() => parseKlvsIngresses(LVS.replace("kind: LvsIngress", "kind: Ingress"))).toThrow(/neither LvsIngress nor EricIngress/);
    expect(() => parseKlvsIngresses(LVS.replace("lbPort: 8080", "lbPort: 80800"))).toThrow(ParseError);
  });

  it("fuzz: a full result or a ParseError", () => {
    const r = fuzz([LVS, ERIC], parseKlvsIngresses, (crs) => crs.forEach((c) => expect(ingressRules(c).length).toBeGreaterThan(0)));
    expect(r.bad).toEqual([]);
  });
});
