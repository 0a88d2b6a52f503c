/**
 * What a licensing change records in the audit log ("Change user license": the licenses before and after), built
 * the same way for one user and for a page of thousands. Pure, apart from a per-isolate memo of license texts.
 */
import type { UserLicenseChange } from "../audit/store.ts";
import type { HeldLicense, ReconcileResult } from "./rules.ts";

/** What the audit needs to know of a user's state before a change. */
export type LicensingBefore = {
  held: ReadonlyMap<string, HeldLicense>;
  sources: readonly { skuId: string; sourceId: string; state: string; error: string }[];
  skus: ReadonlyMap<string, { skuPartNumber: string }>;
  user: { id: string; displayName: string; userPrincipalName: string };
};

// A group job describes the licenses of thousands of users a page, nearly all the same few: each license's JSON is
// built once per isolate (it was the costliest single function of planning a page), and a user's list is those joined.
const licenseDescriptions = new Map<string, string>();
const LICENSE_DESCRIPTIONS_KEPT = 10_000;

function describeLicense(skuId: string, skuPartNumber: string | null, disabledPlans: readonly string[]): string {
  const key = `${skuId}|${skuPartNumber}|${disabledPlans.join(",")}`;
  let text = licenseDescriptions.get(key);
  if (text === undefined) {
    if (licenseDescriptions.size >= LICENSE_DESCRIPTIONS_KEPT) licenseDescriptions.clear();
    text = JSON.stringify({ skuId, skuPartNumber, disabledPlans });
    licenseDescriptions.set(key, text);
  }
  return text;
}

/** The licenses as JSON text, by skuId: what JSON.stringify of their descriptions gives, built from the memo. */
const describeLicenses = (licenses: ReadonlyMap<string, HeldLicense>, snapshot: LicensingBefore) =>
  `[${[...licenses]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([skuId, l]) => describeLicense(skuId, snapshot.skus.get(skuId)?.skuPartNumber ?? null, l.disabledPlans))
    .join(",")}]`;

const describeSources = (sources: readonly { skuId: string; sourceId: string; state: string; error: string }[]) =>
  JSON.stringify([...sources].map((s) => `${s.skuId}:${s.sourceId}:${s.state}:${s.error}`).sort());

/** The audit of a licensing change, or nothing when neither the licenses nor the sources' states moved. */
export function changeUserLicenseAudit(
  snapshot: LicensingBefore,
  result: ReconcileResult,
): UserLicenseChange | undefined {
  const oldValue = describeLicenses(snapshot.held, snapshot);
  const newValue = describeLicenses(result.licenses, snapshot);
  if (oldValue === newValue && describeSources(snapshot.sources) === describeSources(result.sources)) return undefined;
  return { user: snapshot.user, oldValue, newValue };
}
