import { z } from "@hono/zod-openapi";
import { invalid, unsupported } from "./errors.ts";
import { type FilterNode, ODataFilterError, parseODataFilter } from "./odata-filter.ts";

/** The OData query options Graph's list endpoints accept. */
export const listQuerySchema = z.object({
  $top: z.string().optional().openapi({ description: "Page size, 1-999 (default 100)" }),
  $skiptoken: z.string().optional().openapi({ description: "Opaque cursor from @odata.nextLink" }),
  $select: z.string().optional(),
  $filter: z.string().optional(),
  $count: z.string().optional(),
  $orderby: z.string().optional(),
  $search: z.string().optional(),
});
export type ListQuery = z.infer<typeof listQuerySchema>;

export function parseTop(raw: string | undefined, fallback = 100): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > 999) {
    throw invalid(`Invalid page size specified: '${raw}'. Must be between 1 and 999 inclusive.`);
  }
  return n;
}

/** Keyset cursors are opaque to clients: base64url of the last key seen. */
export const encodeSkipToken = (key: string): string =>
  btoa(key).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

export function decodeSkipToken(token: string | undefined): string | undefined {
  if (token === undefined) return undefined;
  try {
    return atob(token.replace(/-/g, "+").replace(/_/g, "/"));
  } catch {
    throw invalid("Invalid $skiptoken.");
  }
}

export function parseSelect(raw: string | undefined, known: readonly string[], typeName: string): string[] | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  const fields = raw
    .split(",")
    .map((f) => f.trim())
    .filter(Boolean);
  const byLower = new Map(known.map((k) => [k.toLowerCase(), k]));
  return fields.map((f) => {
    const name = byLower.get(f.toLowerCase());
    if (!name) throw invalid(`Could not find a property named '${f}' on type 'microsoft.graph.${typeName}'.`);
    return name;
  });
}

export function parseCount(raw: string | undefined): boolean {
  if (raw === undefined) return false;
  if (raw !== "true" && raw !== "false") throw invalid(`Invalid value '${raw}' for $count.`);
  return raw === "true";
}

/** Graph's advanced queries ($count, ne, not, endsWith, assignedLicenses/$count) need ConsistencyLevel: eventual. */
export function requireEventualConsistency(header: string | undefined) {
  if (header?.toLowerCase() !== "eventual") {
    throw unsupported(
      "Unsupported query. This query requires the ConsistencyLevel header set to 'eventual' and $count=true.",
    );
  }
}

/** The next page's absolute URL: the request URL with $skiptoken replaced. */
export function nextLink(requestUrl: string, lastKey: string): string {
  const url = new URL(requestUrl);
  url.searchParams.set("$skiptoken", encodeSkipToken(lastKey));
  return url.toString().replace(/%24/g, "$");
}

export const contextUrl = (requestUrl: string, fragment: string) =>
  `${new URL(requestUrl).origin}/v1.0/$metadata#${fragment}`;

/** Projects a Graph object onto $select (id always included, as Graph does). */
export function project<T extends Record<string, unknown>>(
  object: T,
  select: readonly string[] | undefined,
): Record<string, unknown> {
  if (!select) return object;
  const out: Record<string, unknown> = {};
  for (const key of select) out[key] = object[key] ?? null;
  if (!("id" in out) && "id" in object) out.id = object.id;
  return out;
}

/** A `$filter` compiled to SQL: a boolean expression over the resource's table, its parameters, and whether Graph
 * serves it only as an advanced query (ConsistencyLevel: eventual). */
export type CompiledFilter = { sql: string; params: (string | number | null)[]; advanced?: boolean };

/**
 * Parses `$filter` and compiles it with a resource's compiler; the parser's and compilers' errors become the domain's
 * (Graph's Request_UnsupportedQuery where the filter is valid OData this service does not serve, else a 400).
 */
export function compileODataFilter(
  raw: string | undefined,
  compile: (node: FilterNode) => CompiledFilter,
): CompiledFilter | undefined {
  if (raw === undefined) return undefined;
  try {
    return compile(parseODataFilter(raw));
  } catch (error) {
    if (error instanceof ODataFilterError) {
      throw error.code === "Request_UnsupportedQuery" ? unsupported(error.message) : invalid(error.message);
    }
    throw error;
  }
}

/**
 * One keyset page from the `top + 1` rows a read returned: the rows to show and, when there were more, the next
 * page's link (the request URL with the last shown key as $skiptoken).
 */
export function keysetPage<T>(rows: readonly T[], top: number, requestUrl: string, keyOf: (row: T) => string) {
  const more = rows.length > top;
  const shown = more ? rows.slice(0, top) : [...rows];
  const last = shown[shown.length - 1];
  return {
    shown,
    nextLink: more && last !== undefined ? { "@odata.nextLink": nextLink(requestUrl, keyOf(last)) } : {},
  };
}
