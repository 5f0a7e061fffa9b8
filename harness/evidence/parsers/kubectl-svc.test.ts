import { describe, expect, it } from "vitest";
import { loadFixture } from "../fixtures.ts";
import { ParseError } from "../parse-error.ts";
import { fuzz } from "./fuzz-util.ts";
import { parseServices } from "./kubectl-svc.ts";

const svc = loadFixture("MLB-01", "pass", "svc.txt").text;
const gated = loadFixture("MLB-05", "pass", "svc.txt").text;

describe("parsers/kubectl-svc", () => {
  it("parses kubectl get svc -o wide (the lab capture)", () => {
    const s = parseServices(svc);
    expect(s.map((r) => [r.name, r.type, r.externalIPs, r.ports.map((p) => `${p.port}:${p.nodePort ?? ""}/${p.protocol}`), r.selector])).toEqual([
      ["kubernetes", "ClusterIP", [], ["443:/TCP"], "<none>"],
      ["nginx-service", "ClusterIP", [], ["80:/TCP"], "app=nginx"],
      ["nginx-np-service", "NodePort", [], ["80:30000/TCP"], "app=nginx-np"],
      ["nginx-mlb-l2-service", "LoadBalancer", ["10.123.123.100"], ["80:30329/TCP"], "app=nginx-lbl2"],
    ]);
    expect(parseServices(gated)[1]).toMatchObject({ name: "never-ready-svc", clusterIP: "10.43.186.5", externalIPs: ["10.123.123.99"] });
    expect(parseServices(loadFixture("MLB-01", "fail", "svc-pending.txt").text)[3]).toMatchObject({ pending: true, externalIPs: [] });
  });

  it.each([
    ["a bad type", svc.replace("LoadBalancer ", "Loadbalancer "), /TYPE/],
    ["a bad port", svc.replace("80:30329/TCP", "80:30329/TPC"), /PORT\(S\)/],
    ["a bad external IP", svc.replace("10.123.123.100 ", "10.123.123.1000"), /EXTERNAL-IP/],
  ])("rejects %s with a ParseError", (_w, text, msg) => {
    expect(() => parseServices(text)).toThrow(ParseError);
    expect(() => parseServices(text)).toThrow(msg);
  });

  it("fuzz: mangled tables parse or fail with ParseError", () => {
    const r = fuzz([svc, gated], parseServices, () => undefined, 300, 3);
    expect(r.bad.slice(0, 3)).toEqual([]);
    expect(r.rejected).toBeGreaterThan(60);
  });
});
