/**
 * DNS evidence from inside a pod: `/etc/resolv.conf` and `getent hosts NAME` output. Unknown resolv.conf directives are a ParseError, as in every parser.
 */
import { z } from "zod";
import { ParseError } from "../parse-error.ts";
import { check, canonicalIp, lineStep, nothingUsable, type ParseOptions } from "./common.ts";
import { ip, splitLines } from "./tokens.ts";

export const resolvConfSchema = z.object({
  nameservers: z.array(z.string()),
  search: z.array(z.string()),
  domain: z.string().optional(),
  /** options as written: "ndots:5" → {ndots: "5"}, "edns0" → {edns0: ""} */
  options: z.record(z.string(), z.string()),
  sortlist: z.array(z.string()),
});
export type ResolvConf = z.infer<typeof resolvConfSchema>;

const DOMAIN = /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?$/;

export function parseResolvConf(text: string, opts?: ParseOptions): ResolvConf {
  const P = "resolv.conf";
  const r: ResolvConf = { nameservers: [], search: [], options: {}, sortlist: [] };
  for (const line of splitLines(text)) {
    const t = line.text.trim();
    if (t === "" || t.startsWith("#") || t.startsWith(";")) continue;
    lineStep(opts, line, () => {
    const [key, ...args] = t.split(/\s+/);
    const fail = (d: string): never => {
      throw new ParseError(P, line.no, line.text, d);
    };
    if (args.length === 0) fail(`${key} without a value`);
    switch (key) {
      case "nameserver":
        if (args.length !== 1) fail("nameserver takes one address");
        r.nameservers.push(canonicalIp(ip(P, line, args[0], "nameserver")));
        break;
      case "search":
        // The last search line wins, as in glibc.
        if (args.some((a) => !DOMAIN.test(a))) fail("bad search domain");
        r.search = args;
        break;
      case "domain":
        if (args.length !== 1 || !DOMAIN.test(args[0]!)) fail("bad domain");
        r.domain = args[0]!;
        break;
      case "options":
        for (const o of args) {
          const m = /^([a-z][a-z0-9-]*)(?::(\d+))?$/.exec(o);
          if (!m) fail(`bad option ${JSON.stringify(o)}`);
          r.options[m![1]!] = m![2] ?? "";
        }
        break;
      case "sortlist":
        r.sortlist = args;
        break;
      default:
        fail(`unknown directive ${JSON.stringify(key)}`);
    }
    });
  }
  const any = r.nameservers.length + r.search.length + r.sortlist.length + Object.keys(r.options).length + (r.domain ? 1 : 0);
  if (opts?.tolerant && any === 0 && (opts.warnings?.length ?? 0) > 0) throw nothingUsable(P, opts, "directive");
  return check(P, resolvConfSchema, r);
}

export const hostsEntrySchema = z.object({ address: z.string(), names: z.array(z.string()).min(1) });
export type HostsEntry = z.infer<typeof hostsEntrySchema>;

/** `getent hosts NAME`: "ADDRESS  NAME [ALIAS…]" per line. */
export function parseGetentHosts(text: string, opts?: ParseOptions): HostsEntry[] {
  const P = "getent-hosts";
  const out: HostsEntry[] = [];
  for (const line of splitLines(text)) {
    const t = line.text.trim();
    if (t === "") continue;
    lineStep(opts, line, () => {
      const [addr, ...names] = t.split(/\s+/);
      if (names.length === 0) throw new ParseError(P, line.no, line.text, "address without a name");
      if (names.some((n) => !DOMAIN.test(n))) throw new ParseError(P, line.no, line.text, "bad host name");
      out.push({ address: canonicalIp(ip(P, line, addr, "address")), names });
    });
  }
  if (opts?.tolerant && out.length === 0 && (opts.warnings?.length ?? 0) > 0) throw nothingUsable(P, opts, "host entry");
  return check(P, z.array(hostsEntrySchema), out);
}
