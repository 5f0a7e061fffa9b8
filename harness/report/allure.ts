import * as allure from "allure-js-commons";

/** Where behaviour ids link to in the report; override for a hosted copy of BEHAVIOURS.md. */
const BASE = process.env.NETCONFORM_BEHAVIOURS_URL ?? "https://netconform.invalid/BEHAVIOURS.md";

const FAMILY = /^(HARN|SVC|MLB|ETP|BGP|IPSEC|NVIPAM|MIPAM|KLVS)-\d{2}$/;

/** Tag the running test with its behaviour id: an Allure label, a link, and the family as epic. */
export async function behaviour(id: string, depth?: "R" | "D" | "L"): Promise<void> {
  if (!FAMILY.test(id)) throw new Error(`behaviour(): "${id}" is not a behaviour id of BEHAVIOURS.md`);
  await allure.label("behaviour", id);
  await allure.link(`${BASE}#${id.toLowerCase()}`, id, "behaviour");
  await allure.epic(id.split("-")[0]!);
  if (depth) await allure.label("depth", depth);
}

export async function attachText(name: string, content: string, contentType = "text/plain"): Promise<void> {
  await allure.attachment(name, content, contentType);
}

export async function attachJson(name: string, value: unknown): Promise<void> {
  await allure.attachment(name, JSON.stringify(value, null, 2), "application/json");
}

export const step = allure.step;
