import * as allure from "allure-js-commons";
import { expect } from "vitest";
import { type Depth, DEPTH_NAMES, familyOf, loadCatalogue } from "../behaviours/catalogue.ts";
import { anchor } from "../behaviours/render.ts";

/**
 * Where behaviour links point. Default: behaviours.html next to the report's index.html, which
 * `npm run report` writes from the catalogue (and turns into an absolute URL: the report only makes
 * absolute http(s) links clickable). NETCONFORM_BEHAVIOURS_URL names a hosted copy instead (e.g.
 * catalogue/BEHAVIOURS.md of your repository on its forge).
 */
export function behavioursUrl(id: string): string {
  const base = process.env.NETCONFORM_BEHAVIOURS_URL || "behaviours.html";
  return `${base}#${anchor(id)}`;
}


/** what behaviour() already put on the running test, so a test naming two ids gets one epic per family */
const tagged = new Map<string, { families: Set<string>; ids: string[]; depths: Set<string> }>();

function currentTest(): string {
  const s = expect.getState();
  return `${s.testPath ?? ""}\u0000${s.currentTestName ?? ""}`;
}

/** the behaviour ids the running test has named so far */
export function taggedBehaviours(): readonly string[] {
  return tagged.get(currentTest())?.ids ?? [];
}

/**
 * Tag the running test with its behaviour from catalogue/behaviours.yaml: the `behaviour` label,
 * the family as epic and "<id> <title>" as feature (the report's tree is family → behaviour →
 * test), the depth label, the promise as description and a link to the catalogue entry. Throws
 * for an id the catalogue lacks. A test may name several ids (each call adds one).
 */
export async function behaviour(id: string, depth?: Depth): Promise<void> {
  const b = loadCatalogue().byId.get(id);
  if (!b) throw new Error(`behaviour(): "${id}" is not a behaviour id of catalogue/behaviours.yaml (add an entry there first)`);
  if (depth !== undefined && !(depth in DEPTH_NAMES)) throw new Error(`behaviour(): depth "${String(depth)}" is not one of R, D, L`);
  const key = currentTest();
  const seen = tagged.get(key) ?? { families: new Set<string>(), ids: [], depths: new Set<string>() };
  tagged.set(key, seen);
  if (seen.ids.includes(id)) return;
  seen.ids.push(id);
  const fam = familyOf(id);
  await allure.label("behaviour", id);
  if (!seen.families.has(fam)) {
    seen.families.add(fam);
    await allure.epic(`${fam}: ${loadCatalogue().families[fam]!.title}`);
  }
  await allure.feature(`${id} ${b.title}`);
  await allure.link(behavioursUrl(id), `${id} in the behaviour catalogue`, "behaviour");
  if (depth && !seen.depths.has(depth)) {
    seen.depths.add(depth);
    await allure.label("depth", depth);
    await allure.tag(`depth ${depth}`);
  }
  const c = loadCatalogue();
  await allure.description(
    seen.ids
      .map((i) => {
        const e = c.byId.get(i)!;
        return `**${i} ${e.title}** (${e.kind === "P" ? "must happen" : "must fail / be refused"}): ${e.promise.replace(/\s+/g, " ")}`;
      })
      .join("\n\n"),
  );
}

export async function attachText(name: string, content: string, contentType = "text/plain"): Promise<void> {
  await allure.attachment(name, content, contentType);
}

export async function attachJson(name: string, value: unknown): Promise<void> {
  await allure.attachment(name, JSON.stringify(value, null, 2), "application/json");
}

export const step = allure.step;
