import { z } from "@hono/zod-openapi";
import { invalid, unsupported } from "./errors.ts";
import { type FilterNode, ODataFilterError, parseODataFilter } from "./odata-filter.ts";
import { ODataSearchError, planSearch, type SearchPlan, type SearchProperty } from "./odata-search.ts";

// ---- which query options a route serves -------------------------------------------------------------------
//
// A route's query schema is the list of system query options it serves: defineRoute (core/openapi.ts) refuses every
// other `$` option before the request is validated, so an option is never silently ignored.

const option = (description: string) => z.string().optional().openapi({ description });

/** Paging and projection: what every directory collection serves, relationships included. */
export const pageQuerySchema = z.object({
  $top: option("Page size, 1-999 (default 100)"),
  $skiptoken: option("Opaque cursor from @odata.nextLink"),
  $select: option("Properties to return, comma-separated"),
});

/** One object of users or groups: projection, and $expand (refused with Graph's errors: nothing is expanded). */
export const entityQuerySchema = z.object({
  $select: option("Properties to return, comma-separated"),
  $expand: option("Refused with Graph's errors: seatflow expands no navigation property"),
});

/** Users and groups: paging, projection, and the query options Graph serves on them. */
export const listQuerySchema = pageQuerySchema.extend({
  $filter: option("OData filter; advanced operators need ConsistencyLevel: eventual"),
  $count: option("true adds @odata.count; needs ConsistencyLevel: eventual"),
  $orderby: option(
    "displayName [asc|desc] (users also userPrincipalName); with $filter needs ConsistencyLevel: eventual and $count=true",
  ),
  $search: option(
    '"property:text" clauses joined by AND / OR, e.g. "displayName:room" (words of displayName and description, startsWith elsewhere); needs ConsistencyLevel: eventual',
  ),
  $expand: option("Refused with Graph's errors: seatflow expands no navigation property"),
});
export type ListQuery = z.infer<typeof listQuerySchema>;

/** GET /users/$count and /groups/$count: what they count. */
export const countQuerySchema = z.object({
  $filter: option("OData filter: count only the matching objects"),
  $search: option('"property:text" clauses joined by AND / OR'),
});

/** The OData system query options (OData 4.01 §11.2.x); any other `$` name is not a query option at all. */
const SYSTEM_QUERY_OPTIONS: ReadonlySet<string> = new Set([
  "$apply",
  "$compute",
  "$count",
  "$deltatoken",
  "$expand",
  "$filter",
  "$format",
  "$id",
  "$index",
  "$levels",
  "$orderby",
  "$schemaversion",
  "$search",
  "$select",
  "$skip",
  "$skiptoken",
  "$top",
]);

/**
 * Refuses the system query options a route does not serve, so none is silently ignored:
 * - an option given twice, in ODataLib's words ("Query option '$top' was specified more than once, but it must be
 *   specified at most once.", ODataLib's QueryOptionUtils text, which Graph's OData front end answers with);
 * - `$skip`, as Graph's directory answers it: 400 Request_BadRequest "'$skip' is not supported by the service."
 *   (verbatim in microsoftgraph/msgraph-metadata#135 and microsoftgraph/microsoft-graph-docs#9279);
 * - an OData option this route does not serve (Request_UnsupportedQuery), and a `$` name that is no OData option
 *   (Request_BadRequest), both as "The query parameter '$x' is not supported." — ASP.NET Web API OData's text for an
 *   unsupported `$` parameter; Graph's own answer to an unknown `$` option was not found (docs/graph-errors-research.md).
 * Names are matched as spelled: `$Top` is not `$top`.
 */
export function checkQueryOptions(params: URLSearchParams, served: ReadonlySet<string>) {
  const names: string[] = [];
  for (const name of params.keys()) {
    if (!name.startsWith("$")) continue;
    if (names.includes(name)) {
      throw invalid(`Query option '${name}' was specified more than once, but it must be specified at most once.`);
    }
    names.push(name);
  }
  if (names.includes("$skip")) throw invalid("'$skip' is not supported by the service.");
  for (const name of names) {
    if (served.has(name)) continue;
    const message = `The query parameter '${name}' is not supported.`;
    throw SYSTEM_QUERY_OPTIONS.has(name) ? unsupported(message) : invalid(message);
  }
}

export function parseTop(raw: string | undefined, fallback = 100): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > 999) {
    throw invalid(`Invalid page size specified: '${raw}'. Must be between 1 and 999 inclusive.`);
  }
  return n;
}

/** Keyset cursors are opaque to clients: base64url of the UTF-8 of the last key seen. */
export function encodeSkipToken(key: string): string {
  let binary = "";
  for (const byte of new TextEncoder().encode(key)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function decodeSkipToken(token: string | undefined): string | undefined {
  if (token === undefined) return undefined;
  try {
    const binary = atob(token.replace(/-/g, "+").replace(/_/g, "/"));
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(
      Uint8Array.from(binary, (c) => c.charCodeAt(0)),
    );
  } catch {
    throw invalid("Invalid $skiptoken.");
  }
}

/** Graph's prefix on $select and $expand errors (its OData front end parses both together). */
const SELECT_EXPAND_FAILED = "Parsing OData Select and Expand failed:";

const notAProperty = (name: string, typeName: string) =>
  invalid(`${SELECT_EXPAND_FAILED} Could not find a property named '${name}' on type 'microsoft.graph.${typeName}'.`);

export function parseSelect(raw: string | undefined, known: readonly string[], typeName: string): string[] | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  const fields = raw
    .split(",")
    .map((f) => f.trim())
    .filter(Boolean);
  const byLower = new Map(known.map((k) => [k.toLowerCase(), k]));
  return fields.map((f) => {
    const name = byLower.get(f.toLowerCase());
    if (!name) throw notAProperty(f, typeName);
    return name;
  });
}

/** What `$expand` may name on a type: its structural properties and its navigation properties. */
export type ExpandableType = { name: string; properties: readonly string[]; navigation: readonly string[] };

/** The items of an `$expand`, split at the commas outside parentheses (`memberOf($select=id),manager`). */
function expandItems(raw: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === "(") depth++;
    else if (c === ")") depth = Math.max(0, depth - 1);
    else if (c === "," && depth === 0) {
      items.push(raw.slice(start, i));
      start = i + 1;
    }
  }
  items.push(raw.slice(start));
  return items.map((item) => item.trim()).filter(Boolean);
}

/**
 * Refuses `$expand`: seatflow expands no navigation property. Graph's texts where it has them (verbatim, see
 * docs/graph-errors-research.md): a name that is no property ("Parsing OData Select and Expand failed: Could not find a
 * property named 'x' on type 'microsoft.graph.user'.", microsoftgraph/msgraph-sdk-powershell#2103), a structural
 * property ("... is not a navigation property or complex property. Only navigation properties can be expanded.",
 * quoted in Softeria/ms-365-mcp-server#595). A navigation property Graph would expand gets seatflow's own
 * Request_UnsupportedQuery, since the query is valid OData this service does not serve.
 */
export function refuseExpand(raw: string | undefined, type: ExpandableType): void {
  if (raw === undefined) return;
  const properties = new Map(type.properties.map((p) => [p.toLowerCase(), p]));
  const navigation = new Map(type.navigation.map((p) => [p.toLowerCase(), p]));
  for (const item of expandItems(raw)) {
    const name = item.split(/[(/;]/, 1)[0]!.trim();
    const lower = name.toLowerCase();
    if (properties.has(lower)) {
      throw invalid(
        `${SELECT_EXPAND_FAILED} Property '${properties.get(lower)}' on type 'microsoft.graph.${type.name}' is not a navigation property or complex property. Only navigation properties can be expanded.`,
      );
    }
    if (name !== "*" && !navigation.has(lower)) throw notAProperty(name, type.name);
    throw unsupported(
      `Expanding '${navigation.get(lower) ?? name}' on type 'microsoft.graph.${type.name}' is not supported by this service.`,
    );
  }
}

// ---- $orderby -------------------------------------------------------------------------------------------------

/** One sort key: a property (as Graph spells it) and its direction. */
export type SortOrder = { property: string; descending: boolean };

/** Graph's answer to a sort it does not serve (verbatim, microsoftgraph/microsoft-graph-docs#10835). */
export const SORTING_NOT_SUPPORTED = "Sorting not supported for current query.";

/**
 * `$orderby` as Graph's directory serves it: one property of `sortable`, `asc` (the default) or `desc`. Another
 * property is Graph's "Unsupported sort property 'createdDateTime' for 'User'." (verbatim,
 * microsoftgraph/microsoft-graph-docs#20427); several keys get Graph's general sorting refusal (seatflow's choice: no
 * capture of a multi-key sort on directory objects was found); text that is no sort clause gets ODataLib's syntax error.
 */
export function parseOrderBy(
  raw: string | undefined,
  sortable: readonly string[],
  resource: string,
): SortOrder | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  if (raw.includes(",")) throw unsupported(SORTING_NOT_SUPPORTED);
  const words = [...raw.matchAll(/\S+/g)];
  const [name, direction, extra] = words;
  const bad = extra ?? (direction && !/^(asc|desc)$/i.test(direction[0]) ? direction : undefined);
  if (bad || !name || !/^[A-Za-z_][A-Za-z0-9_./]*$/.test(name[0])) {
    const at = bad ?? name;
    throw invalid(`Syntax error at position ${at ? at.index + at[0].length : 0} in '${raw}'.`);
  }
  const property = sortable.find((p) => p.toLowerCase() === name[0].toLowerCase());
  if (!property) throw unsupported(`Unsupported sort property '${name[0]}' for '${resource}'.`);
  return { property, descending: direction?.[0].toLowerCase() === "desc" };
}

/**
 * Graph sorts its default-sortable properties without advanced query parameters, but `$filter` with `$orderby` needs
 * both of them (ConsistencyLevel: eventual and $count=true), else "Sorting not supported for current query."
 * (aad-advanced-queries, "Support for sorting"; the text in microsoftgraph/microsoft-graph-docs#10835).
 */
export function requireAdvancedSort(header: string | undefined, count: boolean) {
  if (!isEventual(header) || !count) throw unsupported(SORTING_NOT_SUPPORTED);
}

/**
 * A keyset cursor in a sort order: the order it was taken in and the last row's sort key, so a $skiptoken is only ever
 * read in the order that wrote it (the nextLink keeps $orderby; a token edited across orders is refused).
 */
export const sortCursor = (order: SortOrder, key: readonly string[]) =>
  JSON.stringify({ o: `${order.property} ${order.descending ? "desc" : "asc"}`, k: key });

/** The sort key a $skiptoken carries for `order`, of `arity` values; undefined without a token. */
export function decodeSortCursor(token: string | undefined, order: SortOrder, arity: number): string[] | undefined {
  const text = decodeSkipToken(token);
  if (text === undefined) return undefined;
  let cursor: unknown;
  try {
    cursor = JSON.parse(text);
  } catch {
    throw invalid("Invalid $skiptoken.");
  }
  const { o, k } = (cursor ?? {}) as { o?: unknown; k?: unknown };
  const expected = JSON.parse(sortCursor(order, [])).o;
  if (o !== expected || !Array.isArray(k) || k.length !== arity || !k.every((v) => typeof v === "string")) {
    throw invalid("Invalid $skiptoken.");
  }
  return k;
}

/**
 * The keyset cursor of a listing from its $skiptoken: in the default id order the token is the last id, as it always
 * was; in a sort order it is a sortCursor.
 */
export function readCursor(token: string | undefined, order: SortOrder | undefined, arity: number) {
  if (order) return decodeSortCursor(token, order, arity);
  const id = decodeSkipToken(token);
  return id === undefined ? undefined : [id];
}

/** The text a page's nextLink carries as $skiptoken for the last row's sort key (readCursor reads it back). */
export const writeCursor = (order: SortOrder | undefined, key: readonly string[]) =>
  order ? sortCursor(order, key) : key[0]!;

export function parseCount(raw: string | undefined): boolean {
  if (raw === undefined) return false;
  if (raw !== "true" && raw !== "false") throw invalid(`Invalid value '${raw}' for $count.`);
  return raw === "true";
}

/**
 * The request header Graph's advanced queries need, as a route documents it. Handlers read it with
 * c.req.header("ConsistencyLevel") (headers are case-insensitive; the validated copy is keyed in lower case).
 */
export const consistencyHeaderSchema = z.object({
  ConsistencyLevel: z.string().optional().openapi({
    description: "eventual: advanced queries ($count, $search, advanced $filter operators, $orderby with $filter)",
  }),
});

export const isEventual = (header: string | undefined) => header?.toLowerCase() === "eventual";

/**
 * GET /users/$count and /groups/$count without ConsistencyLevel: eventual: current Graph's 400 Request_UnsupportedQuery,
 * verbatim without a final period (azurekid/ScEntra#17, 2025, on /applications/$count; the advanced-queries doc still
 * shows the older "$count is not currently supported.").
 */
export function requireRawCountConsistency(header: string | undefined) {
  if (!isEventual(header)) {
    throw unsupported(
      "Raw count (/$count) is not supported because the 'ConsistencyLevel:eventual' header is missing. Refer to https://aka.ms/graph-docs/advanced-queries for more information",
    );
  }
}

/** The number a GET …/$count answers: a bare integer, as Graph's text/plain body (e.g. `893`). */
export const RawCountSchema = z
  .string()
  .regex(/^[0-9]+$/)
  .openapi("RawCount", { example: "893" });

/** Graph's advanced queries ($count, ne, not, endsWith, assignedLicenses/$count) need ConsistencyLevel: eventual. */
export function requireEventualConsistency(header: string | undefined) {
  if (!isEventual(header)) {
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
 * Parses `$search` against a resource's searchable properties (core/odata-search.ts); the parser's errors become the
 * domain's (Request_UnsupportedQuery for valid OData this service does not serve, else a 400).
 */
export function parseSearch(
  raw: string | undefined,
  properties: readonly SearchProperty[],
  resource: string,
): SearchPlan | undefined {
  if (raw === undefined) return undefined;
  try {
    return planSearch(raw, properties, resource);
  } catch (error) {
    if (error instanceof ODataSearchError) {
      throw error.code === "Request_UnsupportedQuery" ? unsupported(error.message) : invalid(error.message);
    }
    throw error;
  }
}

/**
 * The header checks of a directory listing, in Graph's order: $search needs the header; a sort with a filter needs
 * the header and $count=true (Graph ignores a $count=true without the header, then refuses the sort); $count and the
 * advanced filter operators need the header.
 */
export function requireListConsistency(
  header: string | undefined,
  query: { search: unknown; order: unknown; filter: { advanced?: boolean } | undefined; count: boolean },
) {
  if (query.search) requireSearchConsistency(header);
  if (query.order && query.filter) requireAdvancedSort(header, query.count);
  if (query.count || query.filter?.advanced) requireEventualConsistency(header);
}

/**
 * `$search` on directory objects is an advanced query: without ConsistencyLevel: eventual Graph answers 400
 * Request_UnsupportedQuery with this text (verbatim, no final period: aad-advanced-queries, "Error handling for
 * advanced queries on directory objects", and microsoftgraph/microsoft-graph-docs-contrib#3495). $count=true is not
 * needed ("with the exception of $search").
 */
export function requireSearchConsistency(header: string | undefined) {
  if (!isEventual(header)) {
    throw unsupported(
      "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'",
    );
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
