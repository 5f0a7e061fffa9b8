/**
 * Meridio IPAM allocations as stored in its SQLite database (seed 000 L10: the HA IPAM keeps them
 * in a shared SQLite file). Meridio's model (pkg/ipam/storage/sqlite) keeps one row per prefix in
 * the `prefixes` table: id, name, cidr, parent_id ("" for a root such as a trench's prefix).
 * Collected with either
 *   sqlite3 -json  <db> 'SELECT id, name, cidr, parent_id FROM prefixes'
 *   sqlite3 -header <db> 'SELECT id, name, cidr, parent_id FROM prefixes'     (pipe-separated)
 */
import { z } from "zod";
import { ParseError } from "../parse-error.ts";
import { check, isCidr, jsonValue, lines } from "./common.ts";

export const IpamPrefixSchema = z
  .object({
    id: z.string().min(1),
    name: z.string().min(1),
    cidr: z.string().refine(isCidr, "not a CIDR"),
    parent_id: z.string().nullable().transform((v) => v ?? ""),
  })
  .strict();
export type IpamPrefix = z.output<typeof IpamPrefixSchema>;

const P = "meridio-ipam";

function validateSet(rows: IpamPrefix[], text: string): IpamPrefix[] {
  const ids = new Set<string>();
  for (const r of rows) {
    if (ids.has(r.id)) throw new ParseError(P, undefined, text.slice(0, 200), `prefix id ${r.id} appears twice`);
    ids.add(r.id);
  }
  for (const r of rows) {
    if (r.parent_id !== "" && !ids.has(r.parent_id)) throw new ParseError(P, undefined, text.slice(0, 200), `prefix ${r.id} names a parent ${r.parent_id} that is not listed`);
  }
  return rows;
}

/** both output modes; an empty table in -json mode prints nothing at all */
export function parseIpamPrefixes(text: string): IpamPrefix[] {
  const t = text.trim();
  if (t === "") return [];
  if (t.startsWith("[")) return validateSet(check(P, z.array(IpamPrefixSchema), jsonValue(P, t)), text);
  const all = lines(text);
  if (all[0]!.trim() !== "id|name|cidr|parent_id") throw new ParseError(P, 1, all[0]!, 'expected the header "id|name|cidr|parent_id" (sqlite3 -header)');
  const rows = all.slice(1).map((raw, i) => {
    const f = raw.split("|");
    if (f.length !== 4) throw new ParseError(P, i + 2, raw, "expected 4 fields separated by |");
    return check(P, IpamPrefixSchema, { id: f[0], name: f[1], cidr: f[2], parent_id: f[3] }, i + 2, raw);
  });
  return validateSet(rows, text);
}
