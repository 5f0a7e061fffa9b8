import { describe, expect, it } from "vitest";
import { loadFixture } from "../fixtures.ts";
import { ParseError } from "../parse-error.ts";
import { fuzz } from "./fuzz-util.ts";
import { announcements, l2Refusals, parseSpeakerLog, speakerLineSchema, withdrawals } from "./metallb-speaker.ts";

const fx = (id: string, kind: "pass" | "fail", name: string) => loadFixture(id, kind, name).text;
const announcing = fx("MLB-07", "pass", "speaker-89b29.jsonl");
const refusing = fx("MLB-05", "pass", "speaker.jsonl");
const transitions = fx("MLB-06", "pass", "speaker-vm2.jsonl");
// seed 001 L4000-4002: memberlist and ARP debug lines
const arp = [
  '{"caller":"net.go:962","component":"Memberlist","level":"debug","msg":"memberlist: Initiating push/pull sync with: vm3 10.65.94.59:7946","ts":"2025-02-05T12:10:00Z"}',
  '{"caller":"arp.go:110","interface":"ens3","ip":"10.123.123.100","level":"debug","msg":"got ARP request for service IP, sending response","responseMAC":"52:54:00:b2:5b:52","senderIP":"10.123.123.4","senderMAC":"52:54:00:41:4c:72","ts":"2025-02-05T12:10:03Z"}',
].join("\n");

describe("parsers/metallb-speaker", () => {
  it("parses serviceAnnounced and createARPResponder lines (the lab capture)", () => {
    const log = parseSpeakerLog(announcing);
    expect(log.map((e) => [e.event, e.level, e.caller])).toEqual([
      ["serviceAnnounced", "info", "main.go:409"],
      ["createARPResponder", "info", "announcer.go:126"],
      ["createARPResponder", "info", "announcer.go:126"],
    ]);
    expect(announcements(log, "10.123.123.100")).toHaveLength(1);
    expect(announcements(log, "10.123.123.100")[0]).toMatchObject({ pool: "external-pool", protocol: "layer2", text: "service has IP, announcing", atMs: Date.parse("2025-02-05T10:14:46Z") });
    expect(log[1]!.raw.interface).toBe("ens3");
  });

  it("reads the l2 controller's refusal under 'message' and the bgp one without any text (the lab capture)", () => {
    const log = parseSpeakerLog(refusing);
    expect(log.map((e) => [e.event, e.text, e.protocol, e.service])).toEqual([
      ["skipping should announce bgp", "", "bgp", "default/never-ready-svc"],
      ["shouldannounce", "failed no active endpoints", "l2", "default/never-ready-svc"],
    ]);
    expect(l2Refusals(log, "10.123.123.99")).toHaveLength(1);
    expect(l2Refusals(log, "10.123.123.100")).toHaveLength(0);
  });

  it("turns a single ip into ips and keeps the ARP debug keys (the lab capture)", () => {
    const log = parseSpeakerLog(arp);
    expect(log[1]!.ips).toEqual(["10.123.123.100"]);
    expect(log[1]!.raw).toMatchObject({ responseMAC: "52:54:00:b2:5b:52", senderIP: "10.123.123.4" });
    expect(withdrawals(parseSpeakerLog(transitions), "10.123.123.98")).toHaveLength(1);
  });

  it.each([
    ["a line that is not JSON", "I0205 12:10:00.000 speaker starting", /not a JSON object line/],
    ["a JSON line cut short", announcing.split("\n")[0]!.slice(0, 120), /not a JSON object line|not JSON/],
    ["a caller that is not file.go:line", '{"caller":"somewhere","level":"info","msg":"x","ts":"2025-02-05T10:14:46Z"}', /file\.go:line/],
    ["a line without ts", '{"caller":"main.go:1","level":"info","msg":"x"}', /invalid ts/],
    ["an unknown level", '{"caller":"main.go:1","level":"chatty","ts":"2025-02-05T10:14:46Z"}', /invalid level/],
    ["a bad ts", '{"caller":"main.go:1","level":"info","ts":"yesterday"}', /RFC 3339/],
    ["ips that are not addresses", '{"caller":"main.go:1","level":"info","ts":"2025-02-05T10:14:46Z","ips":["vip"]}', /ips\.0/],
    ["the markdown fence the seed left on L3972", announcing.split("\n")[0] + "```", /not a JSON object line/],
  ])("rejects %s with a ParseError", (_w, text, msg) => {
    expect(() => parseSpeakerLog(text)).toThrow(ParseError);
    expect(() => parseSpeakerLog(text)).toThrow(msg);
  });

  it("fuzz: a mangled log parses fully or fails with ParseError", () => {
    const r = fuzz([announcing, refusing, arp, transitions], parseSpeakerLog, (log) => log.forEach((e) => speakerLineSchema.parse(e.raw)), 400, 7);
    expect(r.bad.slice(0, 3)).toEqual([]);
    expect(r.rejected).toBeGreaterThan(100);
  });
});
