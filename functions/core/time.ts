/** Graph writes timestamps at second precision with a `Z` suffix. */
export const graphTime = (iso: string | Date): string =>
  (typeof iso === "string" ? iso : iso.toISOString()).replace(/\.\d{3}Z$/, "Z");
