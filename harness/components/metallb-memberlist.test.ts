import { describe, expect, it } from "vitest";
import { parseSpeakerLog } from "../evidence/parsers/metallb-speaker.ts";
import { speakerJoined } from "./metallb.ts";

// Lines in MetalLB v0.15.2's speaker format, as suites/metallb recorded them live (soak run of
// 2026-12-03: netconform-worker2 restarted by suites/cluster, its speaker joining late).
const join = (others: number, ts = "2026-12-03T07:52:48Z") =>
  `{"caller":"speakerlist.go:271","level":"info","msg":"memberlist join successfully","number of other nodes":${others},"op":"Member detection","ts":"${ts}"}`;
const event = (kind: "NodeJoin" | "NodeLeave", node: string, ts = "2026-12-03T07:52:49Z") =>
  `{"caller":"speakerlist.go:331","level":"info","msg":"node event - forcing sync","node addr":"172.19.0.10","node event":"${kind}","node name":"${node}","ts":"${ts}"}`;
const announced = `{"caller":"main.go:443","event":"serviceAnnounced","ips":["172.19.255.224"],"level":"info","msg":"service has IP, announcing","pool":"nc-etp","protocol":"layer2","ts":"2026-12-03T07:52:43Z"}`;
const log = (...lines: string[]) => parseSpeakerLog(lines.join("\n"));
const OTHERS = ["netconform-worker", "netconform-control-plane"];

describe("speakerJoined: a speaker with every other speaker in its memberlist", () => {
  it("MLB-02 NodeJoin for each other node (and itself), as every v0.15.2 speaker logs them", () => {
    const l = log(event("NodeJoin", "netconform-worker2"), event("NodeJoin", "netconform-worker"), event("NodeJoin", "netconform-control-plane"), join(2));
    expect(speakerJoined(l, OTHERS)).toEqual({ ok: true, detail: "all 2 other speaker(s) in its memberlist" });
  });
  it("MLB-02 the first speaker to start never logs 'memberlist join successfully': its NodeJoin lines decide", () => {
    expect(speakerJoined(log(announced, event("NodeJoin", "netconform-worker"), event("NodeJoin", "netconform-control-plane")), OTHERS).ok).toBe(true);
  });
  it("MLB-02 negative controls: nobody seen yet; one node missing; a node that left and is not back", () => {
    expect(speakerJoined(log(announced), OTHERS)).toEqual({ ok: false, detail: "not in its memberlist: netconform-worker, netconform-control-plane" });
    expect(speakerJoined(log(join(1), event("NodeJoin", "netconform-worker")), OTHERS).detail).toBe("not in its memberlist: netconform-control-plane");
    const l = log(event("NodeJoin", "netconform-worker"), event("NodeJoin", "netconform-control-plane"), event("NodeLeave", "netconform-worker"));
    expect(speakerJoined(l, OTHERS)).toEqual({ ok: false, detail: "not in its memberlist: netconform-worker (left, not back)" });
  });
  it("MLB-02 a node that left and joined again counts (the worker restarted by suites/cluster)", () => {
    const l = log(event("NodeJoin", "netconform-worker"), event("NodeJoin", "netconform-control-plane"), event("NodeLeave", "netconform-worker"), event("NodeJoin", "netconform-worker", "2026-12-03T07:53:10Z"));
    expect(speakerJoined(l, OTHERS).ok).toBe(true);
  });
  it("MLB-02 a speaker running for long (log possibly rotated): only a node that left and is not back is missing", () => {
    expect(speakerJoined(log(announced), OTHERS, { fresh: false }).ok).toBe(true);
    expect(speakerJoined(log(event("NodeLeave", "netconform-worker")), OTHERS, { fresh: false }).detail).toBe("not in its memberlist: netconform-worker (left, not back)");
  });
});
