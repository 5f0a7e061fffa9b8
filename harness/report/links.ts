/**
 * The generated report only makes absolute http(s) links clickable; behaviour() records relative
 * ones ("behaviours.html#mlb-05") unless NETCONFORM_BEHAVIOURS_URL is set. `npm run report`
 * rewrites them against the address the report is served from.
 */
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** rewrite relative behaviour links of the generated test results; returns how many changed */
export function absoluteLinks(dir: string, reportUrl: string): number {
  let n = 0;
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith(".json"));
  } catch {
    return 0;
  }
  for (const f of files) {
    const p = join(dir, f);
    const tr = JSON.parse(readFileSync(p, "utf8")) as { links?: Array<{ url?: string; type?: string }> };
    let changed = false;
    for (const l of tr.links ?? []) {
      if (l.type === "behaviour" && l.url && !/^[a-z]+:/i.test(l.url)) {
        l.url = new URL(l.url, reportUrl).toString();
        changed = true;
        n++;
      }
    }
    if (changed) writeFileSync(p, JSON.stringify(tr));
  }
  return n;
}

