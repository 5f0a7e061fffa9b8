import { describe, expect, it } from "vitest";
import { ParseError } from "../parse-error.ts";
import { fuzz } from "./fuzz-util.ts";
import { blobGets, parseRegistryLog } from "./registry-log.ts";

// written from the registry's own output (distribution 2.8.2, Debian's docker-registry) and the
// combined log format (https://httpd.apache.org/docs/2.4/logs.html#combined)
const D1 = `sha256:${"d5".repeat(32)}`;
const D2 = `sha256:${"6f".repeat(32)}`;
const LOG = [
  `time="2026-12-02T18:28:46.1Z" level=info msg="listening on [::]:5000" go.version=go1.19.8 instance.id=29dd service=registry version=2.8.2+ds1`,
  `172.23.0.3 - - [02/Dec/2026:18:28:48 +0000] "GET /v2/ HTTP/1.1" 200 2 "" "Go-http-client/1.1"`,
  `172.23.0.3 - - [02/Dec/2026:18:28:48 +0000] "HEAD /v2/metallb/speaker/manifests/v0.15.2 HTTP/1.1" 200 523 "" "Go-http-client/1.1"`,
  `172.23.0.3 - - [02/Dec/2026:18:28:48 +0000] "GET /v2/metallb/speaker/blobs/${D1} HTTP/1.1" 200 119 "" "Go-http-client/1.1"`,
  `time="2026-12-02T18:28:48.79Z" level=info msg="response completed" go.version=go1.19.8 http.request.method=GET http.response.status=200`,
  `172.23.0.3 - - [02/Dec/2026:18:28:49 +0000] "GET /v2/metallb/speaker/blobs/${D2}?ns=quay.io HTTP/1.1" 200 - "" "containerd/1.6.20"`,
  `172.23.0.3 - - [02/Dec/2026:18:28:50 +0000] "GET /v2/metallb/speaker/blobs/${D2} HTTP/1.1" 404 157 "" "Go-http-client/1.1"`,
  "",
].join("\n");

describe("parsers/registry-log", () => {
  it("parses access-log lines, skips logrus lines, recognises blob and manifest requests", () => {
    const e = parseRegistryLog(LOG);
    expect(e.map((x) => [x.method, x.status])).toEqual([["GET", 200], ["HEAD", 200], ["GET", 200], ["GET", 200], ["GET", 404]]);
    expect(e[1]!.manifest).toEqual({ repository: "metallb/speaker", reference: "v0.15.2" });
    expect(e[2]!.blob).toEqual({ repository: "metallb/speaker", digest: D1 });
    expect(e[3]!).toMatchObject({ path: `/v2/metallb/speaker/blobs/${D2}`, bytes: 0, userAgent: "containerd/1.6.20" });
  });

  it("counts successful blob GETs per digest (a failed GET is not a fetch)", () => {
    expect([...blobGets(parseRegistryLog(LOG))]).toEqual([[D1, 1], [D2, 1]]);
    expect(blobGets(parseRegistryLog(`${LOG}${LOG}`)).get(D1)).toBe(2);
  });

  it.each([
    ["an unknown line", `${LOG}panic: boom`, /neither a logrus line/],
    ["an unknown method", LOG.replace('"HEAD /v2/', '"BREW /v2/'), /unknown HTTP method/],
    ["a truncated access line", LOG.split("\n")[2]!.slice(0, 60), /neither/],
  ])("rejects %s with a ParseError", (_w, text, msg) => {
    expect(() => parseRegistryLog(text)).toThrow(ParseError);
    expect(() => parseRegistryLog(text)).toThrow(msg);
  });

  it("fuzz: mangled registry logs parse or fail with ParseError", () => {
    const r = fuzz([LOG], parseRegistryLog, () => undefined, 300, 11);
    expect(r.bad.slice(0, 3)).toEqual([]);
    expect(r.rejected).toBeGreaterThan(30);
  });
});
