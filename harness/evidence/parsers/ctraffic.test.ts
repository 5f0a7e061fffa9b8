import { describe, expect, it } from "vitest";
import { ParseError } from "../parse-error.ts";
import { hostsFromStats, parseCtrafficHosts, parseCtrafficStats } from "./ctraffic.ts";
import { fuzz } from "./fuzz-util.ts";

// shaped like ctraffic's README summary (Nordix/ctraffic), -stats summary
const SUMMARY = `{"Started":"2019-01-21T08:40:08.293474852Z","Duration":59993832043,"Rate":100,"Connections":200,"PacketSize":1024,"FailedConnections":0,"Sent":5994,"Received":5994,"Dropped":0,"Retransmits":0,"FailedConnects":0}
`;
const ALL = JSON.stringify({
  Started: "2025-06-02T09:00:00.000000001Z",
  Duration: 12000000000,
  Rate: 10,
  Connections: 2,
  PacketSize: 1024,
  FailedConnections: 1,
  Sent: 60,
  Received: 58,
  Dropped: 0,
  Retransmits: 2,
  FailedConnects: 0,
  ConnStats: [
    { Started: 1000, Connect: 2000000, Ended: 12000000000, Err: "", Sent: 30, Received: 30, Dropped: 0, Retransmits: 0, Local: "10.0.0.9:40001", Remote: "20.0.0.1:5000", Host: "target-a-1" },
    { Started: 1000, Connect: 2000000, Ended: 5000000000, Err: "read tcp 10.0.0.9:40002->20.0.0.1:5000: i/o timeout", Sent: 15, Received: 13, Dropped: 0, Retransmits: 2, Local: "10.0.0.9:40002", Remote: "20.0.0.1:5000", Host: "target-a-2" },
    { Started: 6000000000, Connect: 6100000000, Ended: 12000000000, Err: "", Sent: 15, Received: 15, Dropped: 0, Retransmits: 0, Local: "10.0.0.9:40003", Remote: "20.0.0.1:5000", Host: "target-a-1" },
  ],
  Samples: [
    { Time: 1000000000, Sent: 5, Received: 5, Dropped: 0 },
    { Time: 2000000000, Sent: 10, Received: 10, Dropped: 0 },
  ],
});
// the shape of ctraffic -analyze hosts (README of Nordix/ctraffic)
const HOSTS = `Lost connections: 1
  target-a-2 1
Lasting connections: 2
  target-a-1 2
`;

describe("evidence/parsers/ctraffic", () => {
  it("reads summary statistics", () => {
    const s = parseCtrafficStats(SUMMARY);
    expect(s).toMatchObject({ Connections: 200, Sent: 5994, Received: 5994, FailedConnections: 0, Duration: 59993832043 });
    expect(s.ConnStats).toBeUndefined();
  });

  it("reads -stats all and computes the hosts analysis from it", () => {
    const s = parseCtrafficStats(ALL);
    expect(s.ConnStats).toHaveLength(3);
    expect(hostsFromStats(s)).toEqual(parseCtrafficHosts(HOSTS));
  });

  it("reads the hosts analysis", () => {
    expect(parseCtrafficHosts(HOSTS)).toEqual({ lost: 1, lostByHost: { "target-a-2": 1 }, lasting: 2, lastingByHost: { "target-a-1": 2 } });
    expect(parseCtrafficHosts("Lost connections: 0\nLasting connections: 0\n")).toEqual({ lost: 0, lostByHost: {}, lasting: 0, lastingByHost: {} });
  });

  it("refuses inconsistent or foreign input", () => {
    expect(() => parseCtrafficStats(SUMMARY.replace('"Received":5994', '"Received":6000'))).toThrow(/more received than sent/);
    expect(() => parseCtrafficStats(SUMMARY.replace('"Rate":100,', '"Rate":100,"Colour":1,'))).toThrow(ParseError);
    expect(() => parseCtrafficStats("Conn act/fail/connecting: 200/0/0\n" + SUMMARY)).toThrow(/not a -monitor line before the statistics JSON/);
    expect(() => parseCtrafficHosts(HOSTS.replace("Lost connections: 1", "Lost connections: 3"))).toThrow(/adds up to 1, not 3/);
    expect(() => parseCtrafficHosts(HOSTS.split("\n").slice(0, 2).join("\n"))).toThrow(/missing/);
  });

  it("fuzz: a full result or a ParseError", () => {
    const a = fuzz([SUMMARY, ALL], parseCtrafficStats, (s) => expect(s.Received).toBeLessThanOrEqual(s.Sent));
    const b = fuzz([HOSTS], parseCtrafficHosts, () => {}, 300, 2);
    expect([...a.bad, ...b.bad]).toEqual([]);
  });
});
