// Whether a two-letter code is an assigned ISO 3166-1 alpha-2 country code (usageLocation, tenant country).
// The data is iso-3166 (wooorm/iso-3166, MIT, kept in step with the ISO 3166 Maintenance Agency), imported by its
// alpha-2 → alpha-3 table only: 249 entries, a few kB in the Worker, none of the 350 kB of subdivisions.
import { iso31661Alpha2ToAlpha3 } from "iso-3166/1-a2-to-1-a3.js";

const ASSIGNED: ReadonlySet<string> = new Set(Object.keys(iso31661Alpha2ToAlpha3));

/**
 * Exact codes as ISO writes them (upper case): callers upper-case first, as the wire schema does for usageLocation.
 * Reserved and user-assigned codes (ZZ, XX, AA, QM–QZ, XA–XZ, EU, UK, XK) are not assigned, so they are refused.
 */
export const isAssignedCountryCode = (code: string): boolean => ASSIGNED.has(code);

/**
 * Graph's answer to a usageLocation it does not accept (HTTP 400; reported by Okta's Office 365 provisioning KB for
 * `UK` instead of `GB`): see docs/graph-errors-research.md.
 */
export const INVALID_USAGE_LOCATION = "Property usageLocation is invalid.";

/** seatflow's own answer for a tenant's country (Graph has no create-organization call to copy). */
export const INVALID_COUNTRY = "country must be an assigned ISO 3166-1 alpha-2 code (for example US, GB, DE).";
