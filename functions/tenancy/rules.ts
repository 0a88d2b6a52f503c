/** Pure rules of a tenant's domains: what a domain name may be, and the initial domain every tenant gets. */
import { invalid } from "../core/errors.ts";

/** The most a domain may hold: Entra allows 48 characters after a userPrincipalName's "@". */
export const MAX_UPN_DOMAIN_LENGTH = 48;

/** Where every tenant's initial domain lives (Entra's is <name>.onmicrosoft.com). */
export const INITIAL_DOMAIN_SUFFIX = "onseatflow.local";

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * A domain name as stored (lower-case), or a refusal: DNS labels of letters, digits and inner hyphens, at least two,
 * and short enough to end a userPrincipalName (48 characters after the "@").
 */
export function domainName(raw: string): string {
  const name = raw.trim().toLowerCase().replace(/\.$/, "");
  const labels = name.split(".");
  if (name.length > MAX_UPN_DOMAIN_LENGTH || labels.length < 2 || !labels.every((l) => LABEL.test(l))) {
    throw invalid(`'${raw}' is not a valid domain name.`, {
      reason: "invalidDomainName",
      fields: [{ field: "id", message: "A domain name is two or more DNS labels, at most 48 characters." }],
    });
  }
  return name;
}

/** The initial domain of a new tenant: its name's letters and digits, and a piece of its id so names never clash. */
export function initialDomain(displayName: string, tenantId: string): string {
  const slug =
    displayName
      .toLowerCase()
      .normalize("NFKD")
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 20) || "tenant";
  return `${slug}-${tenantId.replace(/-/g, "").slice(-6)}.${INITIAL_DOMAIN_SUFFIX}`;
}
