/**
 * The log of a distribution registry container (`docker logs`, the registry's stdout+stderr):
 * logrus lines, which are skipped after a shape check, and access-log lines in the combined log
 * format, which are parsed:
 *
 *   time="2026-12-02T18:28:48.79Z" level=info msg="response completed" go.version=go1.19.8 …
 *   172.23.0.3 - - [02/Dec/2026:18:28:48 +0000] "GET /v2/e2e/probe/blobs/sha256:d549… HTTP/1.1" 200 119 "" "Go-http-client/1.1"
 *
 * Anything else is a ParseError.
 */
import { ParseError } from "../parse-error.ts";
import { splitLines } from "./tokens.ts";

export interface RegistryAccess {
  line: number;
  remote: string;
  method: string;
  /** request path without the query */
  path: string;
  status: number;
  bytes: number;
  userAgent: string;
  /** set when path is /v2/<name>/blobs/<digest> */
  blob?: { repository: string; digest: string };
  /** set when path is /v2/<name>/manifests/<reference> */
  manifest?: { repository: string; reference: string };
}

const ACCESS = /^(\S+) - (\S+) \[(\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\] "([A-Z]+) (\/\S*) HTTP\/\d(?:\.\d)?" (\d{3}) (\d+|-) "([^"]*)" "(.*)"$/;
const LOGRUS = /^time="[^"]+" level=(?:trace|debug|info|warning|error|fatal|panic) msg=/;
const METHODS = new Set(["GET", "HEAD", "PUT", "POST", "PATCH", "DELETE", "OPTIONS"]);

export function parseRegistryLog(text: string): RegistryAccess[] {
  const P = "registry-log";
  const out: RegistryAccess[] = [];
  for (const l of splitLines(text)) {
    const t = l.text.replace(/\r$/, "");
    if (t.trim() === "" || LOGRUS.test(t)) continue;
    const m = ACCESS.exec(t);
    if (!m) throw new ParseError(P, l.no, l.text, "neither a logrus line nor an access-log line");
    if (!METHODS.has(m[4]!)) throw new ParseError(P, l.no, l.text, `unknown HTTP method ${m[4]}`);
    const path = m[5]!.split("?")[0]!;
    const e: RegistryAccess = { line: l.no, remote: m[1]!, method: m[4]!, path, status: Number(m[6]), bytes: m[7] === "-" ? 0 : Number(m[7]), userAgent: m[9]! };
    if (e.status < 100 || e.status > 599) throw new ParseError(P, l.no, l.text, "HTTP status out of range");
    let r: RegExpExecArray | null;
    if ((r = /^\/v2\/(.+)\/blobs\/(sha256:[0-9a-f]{64})$/.exec(path))) e.blob = { repository: r[1]!, digest: r[2]! };
    else if ((r = /^\/v2\/(.+)\/manifests\/([\w.:-]+)$/.exec(path))) e.manifest = { repository: r[1]!, reference: r[2]! };
    out.push(e);
  }
  return out;
}

/** digest → number of successful blob GETs (what a pull-through cache fetched from this registry). */
export function blobGets(entries: RegistryAccess[]): Map<string, number> {
  const n = new Map<string, number>();
  for (const e of entries) if (e.blob && e.method === "GET" && e.status >= 200 && e.status < 300) n.set(e.blob.digest, (n.get(e.blob.digest) ?? 0) + 1);
  return n;
}
