// Whether a userPrincipalName is one Entra would accept for this tenant, and Graph's words when it is not.
// Pure: the tenant's verified domains are passed in.
//
// Rules are Entra's username policy ("Password policies and account restrictions in Microsoft Entra ID", the
// UserPrincipalName requirements table): characters A–Z a–z 0–9 ' . - _ ! # ^ ~ before the "@"; no "@" other than
// the separator; no "." immediately before the "@"; at most 113 characters in all, 64 before the "@" and 48 after it.
// The domain must be one of the tenant's verified domains (Graph's user resource: "domain must be present in the
// tenant's collection of verified domains"). Two things that table leaves open are decided here, and say so:
// - Non-ASCII letters: the table allows none, while Graph's property note says accents are possible but break first-party
//   apps. We follow the table (it is the rule Entra enforces for cloud-created users).
// - Leading or doubled periods: not refused by the table, so not refused here (`#EXT#` guest UPNs and `a..b` are kept).
import { MAX_UPN_DOMAIN_LENGTH } from "../tenancy/rules.ts";

export const MAX_UPN_LENGTH = 113;
export const MAX_UPN_LOCAL_LENGTH = 64;
export { MAX_UPN_DOMAIN_LENGTH };

/** Graph's message for any malformed UPN (Request_BadRequest; microsoftgraph/microsoft-graph-docs-contrib#7106). */
export const INVALID_UPN = "Property userPrincipalName is invalid.";
/** Graph's message when the UPN's domain is not verified in the tenant (Request_BadRequest). */
export const UPN_DOMAIN_NOT_VERIFIED =
  "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.";
/**
 * Graph's message when another user already holds the UPN (Request_BadRequest, with details
 * `[{ target: "userPrincipalName", code: "ObjectConflict" }]`; microsoftgraph/microsoft-graph-docs#1508).
 */
export const UPN_TAKEN = "Another object with the same value for property userPrincipalName already exists.";

export type UpnRefusalReason =
  | "empty"
  | "tooLong"
  | "missingAt"
  | "extraAt"
  | "emptyLocalPart"
  | "localPartTooLong"
  | "invalidCharacter"
  | "periodBeforeAt"
  | "emptyDomain"
  | "domainTooLong"
  | "domainNotVerified";

export type UpnCheck =
  | { ok: true; localPart: string; domain: string }
  | { ok: false; reason: UpnRefusalReason; message: string; index: number };

const LOCAL_PART_CHAR = /^[A-Za-z0-9'.\-_!#^~]$/;

// ASCII-only folding: toLowerCase would let "\u212Aontoso.com" (Kelvin sign) match a verified "kontoso.com".
const asciiLower = (s: string) => s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));

const refuse = (reason: UpnRefusalReason, index: number): UpnCheck => ({
  ok: false,
  reason,
  message: reason === "domainNotVerified" ? UPN_DOMAIN_NOT_VERIFIED : INVALID_UPN,
  index,
});

/**
 * `domain` in the result is the verified domain as the tenant spells it, so stored UPNs share one spelling per domain;
 * the local part is kept as the client sent it (Entra preserves its case and compares case-insensitively).
 * `index` points at the offending character (or the "@", or the end) for diagnostics; Graph's message has none.
 */
export function checkUserPrincipalName(upn: string, verifiedDomains: Iterable<string>): UpnCheck {
  if (upn.length === 0) return refuse("empty", 0);
  if (upn.length > MAX_UPN_LENGTH) return refuse("tooLong", MAX_UPN_LENGTH);
  const at = upn.indexOf("@");
  if (at < 0) return refuse("missingAt", upn.length);
  const extra = upn.indexOf("@", at + 1);
  if (extra >= 0) return refuse("extraAt", extra);
  if (at === 0) return refuse("emptyLocalPart", 0);
  if (at > MAX_UPN_LOCAL_LENGTH) return refuse("localPartTooLong", MAX_UPN_LOCAL_LENGTH);
  for (let i = 0; i < at; i++) {
    // One code unit at a time: a surrogate, NUL, "/" or space is simply not in the allowed set.
    if (!LOCAL_PART_CHAR.test(upn[i]!)) return refuse("invalidCharacter", i);
  }
  if (upn[at - 1] === ".") return refuse("periodBeforeAt", at - 1);
  const domain = upn.slice(at + 1);
  if (domain.length === 0) return refuse("emptyDomain", at + 1);
  if (domain.length > MAX_UPN_DOMAIN_LENGTH) return refuse("domainTooLong", at + 1 + MAX_UPN_DOMAIN_LENGTH);
  const wanted = asciiLower(domain);
  for (const verified of verifiedDomains) {
    if (asciiLower(verified) === wanted) return { ok: true, localPart: upn.slice(0, at), domain: verified };
  }
  return refuse("domainNotVerified", at + 1);
}
