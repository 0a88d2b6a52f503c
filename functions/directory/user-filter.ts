/**
 * Compiles a parsed `$filter` into a SQLite predicate over `users u` for GET /v1.0/users. Every literal is bound as a
 * parameter; the SQL text depends only on the filter's shape.
 */
import { skuOfPool } from "../../db/seqs.ts";
import {
  balancedSql,
  bindFilterValues,
  type ComparisonOperator,
  chainOperands,
  checkSqlDepth,
  type FilterFunctionName,
  type FilterLiteral,
  type FilterNode,
  type FilterPath,
  GUID_PATTERN,
  incompatibleOperandTypes,
  noMatchingFunctionSignature,
  normalizeDateTime,
  ODataFilterError,
  type SqlDepthModel,
  sqlDepth,
  unsupportedFilterClause,
  unwrapNots,
} from "../core/odata-filter.ts";
import { endsWithSql, sqlLength, startsWithSql } from "../core/sql.ts";
import { userFields } from "./user-fields.ts";

export type SqlParam = string | number | null;

export interface CompiledUserFilter {
  /** Self-contained boolean expression; safe to splice as `WHERE ... AND ${sql}`. */
  sql: string;
  params: SqlParam[];
  /** Graph only serves these with `ConsistencyLevel: eventual` (advanced query). */
  advanced: boolean;
}

const RESOURCE = "User";

type PropertyType = "string" | "boolean" | "datetime";

interface UserProperty {
  name: string;
  column: string;
  type: PropertyType;
}

const USER_PROPERTIES: ReadonlyMap<string, UserProperty> = new Map(
  userFields
    .filter((f): f is Extract<(typeof userFields)[number], { filter: true }> => "filter" in f)
    .map((f) => [
      f.graph.toLowerCase(),
      { name: f.graph, column: `u.${f.column}`, type: f.kind === "guid" ? "string" : f.kind },
    ]),
);

const EDM_TYPE: Record<PropertyType, string> = {
  string: "Edm.String",
  boolean: "Edm.Boolean",
  datetime: "Edm.DateTimeOffset",
};

const SQL_OPERATOR: Record<ComparisonOperator, string> = {
  eq: "=",
  ne: "<>",
  gt: ">",
  ge: ">=",
  lt: "<",
  le: "<=",
};

const LICENSE_OWNER = "ul.user_seq = u.seq";
const LICENSE_COUNT = `(SELECT COUNT(*) FROM user_licenses ul WHERE ${LICENSE_OWNER})`;

interface Context {
  params: SqlParam[];
  advanced: boolean;
  // Set inside `assignedLicenses/any(x: ...)`, where paths are `x/<prop>` over user_licenses.
  licenseVariable: string | null;
}

function same(a: string | undefined, b: string): boolean {
  return a !== undefined && a.toLowerCase() === b.toLowerCase();
}

function bind(ctx: Context, value: SqlParam): string {
  bindFilterValues(ctx.params, 0, value);
  return "?";
}

function resolveUserProperty(path: FilterPath): UserProperty {
  const prop = USER_PROPERTIES.get(path[0]!.toLowerCase());
  if (!prop || path.length !== 1) throw unsupportedFilterClause(path[0]!, RESOURCE);
  return prop;
}

/** The bindable value of `literal` for `prop`, enforcing Graph's operand typing. */
function propertyValue(prop: UserProperty, literal: FilterLiteral, op: ComparisonOperator | "in"): SqlParam {
  switch (prop.type) {
    case "string":
      if (literal.kind === "string") return literal.value;
      break;
    case "boolean":
      if (literal.kind === "boolean") return literal.value ? 1 : 0;
      break;
    case "datetime": {
      // Quoted timestamps are not Graph syntax but are accepted because clients commonly send them.
      if (literal.kind === "datetime" || literal.kind === "string") {
        const iso = normalizeDateTime(literal.value);
        if (iso !== null) return iso;
        if (literal.kind === "datetime") {
          throw new ODataFilterError(
            `Unrecognized 'Edm.DateTimeOffset' literal '${literal.value}'.`,
            -1,
            "Request_BadRequest",
          );
        }
      }
      break;
    }
  }
  throw incompatibleOperandTypes(EDM_TYPE[prop.type], literal, op);
}

function compileUserComparison(ctx: Context, op: ComparisonOperator, path: FilterPath, literal: FilterLiteral): string {
  if (path.length === 2 && same(path[0], "assignedLicenses") && same(path[1], "$count")) {
    if (literal.kind === "null") throw unsupportedFilterClause(path[0]!, RESOURCE);
    if (literal.kind !== "int") throw incompatibleOperandTypes("Edm.Int32", literal, op);
    ctx.advanced = true;
    return `${LICENSE_COUNT} ${SQL_OPERATOR[op]} ${bind(ctx, literal.value)}`;
  }
  const prop = resolveUserProperty(path);
  if (prop.type === "boolean" && op !== "eq" && op !== "ne") throw unsupportedFilterClause(prop.name, RESOURCE);
  if (literal.kind === "null") {
    if (op === "eq") return `${prop.column} IS NULL`;
    if (op === "ne") return `${prop.column} IS NOT NULL`;
    throw unsupportedFilterClause(prop.name, RESOURCE);
  }
  const value = propertyValue(prop, literal, op);
  const collate = prop.type === "string" ? " COLLATE NOCASE" : "";
  // OData `ne` is true when the property is null; SQL `<>` would yield NULL there, so nullable
  // string columns use the null-safe IS NOT.
  const sqlOp = op === "ne" && prop.type === "string" ? "IS NOT" : SQL_OPERATOR[op];
  return `${prop.column} ${sqlOp} ${bind(ctx, value)}${collate}`;
}

function compileUserIn(ctx: Context, path: FilterPath, values: FilterLiteral[]): string {
  const prop = resolveUserProperty(path);
  const bound: SqlParam[] = [];
  let includesNull = false;
  for (const v of values) {
    if (v.kind === "null") includesNull = true;
    else bound.push(propertyValue(prop, v, "in"));
  }
  const collate = prop.type === "string" ? " COLLATE NOCASE" : "";
  const parts: string[] = [];
  if (bound.length > 0) {
    parts.push(`${prop.column}${collate} IN (${bound.map((b) => bind(ctx, b)).join(", ")})`);
  }
  if (includesNull) parts.push(`${prop.column} IS NULL`);
  return parts.length === 1 ? parts[0]! : `(${parts.join(" OR ")})`;
}

function compileFunction(ctx: Context, name: FilterFunctionName, path: FilterPath, literal: FilterLiteral): string {
  if (ctx.licenseVariable !== null) throw unsupportedFilterClause(path.at(-1)!, RESOURCE);
  const prop = resolveUserProperty(path);
  if (prop.type !== "string") throw unsupportedFilterClause(prop.name, RESOURCE);
  if (literal.kind !== "string") throw noMatchingFunctionSignature(name);
  if (name === "endswith") ctx.advanced = true;
  // A substring compare, not LIKE: D1 caps patterns at 50 bytes (core/sql.ts).
  const sql = name === "startswith" ? startsWithSql : endsWithSql;
  return sql(prop.column, bind(ctx, literal.value), sqlLength(literal.value));
}

function skuIdValue(literal: FilterLiteral, op: ComparisonOperator | "in"): string {
  if (literal.kind === "guid" && GUID_PATTERN.test(literal.value)) return literal.value.toLowerCase();
  // Every assigned license has a skuId, so comparing it with null is meaningless rather than mistyped.
  if (literal.kind === "null") throw unsupportedFilterClause("skuId", RESOURCE);
  throw incompatibleOperandTypes("Edm.Guid", literal, op);
}

/** Resolves `x/skuId` inside the license lambda; anything else there is unsupported. */
function licenseColumn(ctx: Context, path: FilterPath): string {
  if (path.length === 2 && path[0] === ctx.licenseVariable && same(path[1], "skuId")) return skuOfPool("ul.pool_seq");
  throw unsupportedFilterClause(path.at(-1)!, RESOURCE);
}

function compileLambda(ctx: Context, node: Extract<FilterNode, { kind: "lambda" }>): string {
  if (
    ctx.licenseVariable !== null ||
    node.operator !== "any" ||
    node.path.length !== 1 ||
    !same(node.path[0], "assignedLicenses")
  ) {
    throw unsupportedFilterClause(node.path[0]!, RESOURCE);
  }
  const inner: Context = { ...ctx, licenseVariable: node.variable };
  const body = compileNode(inner, node.body);
  ctx.advanced = inner.advanced;
  return `EXISTS (SELECT 1 FROM user_licenses ul WHERE ${LICENSE_OWNER} AND ${body})`;
}

function compileNode(ctx: Context, node: FilterNode): string {
  switch (node.kind) {
    case "or":
    case "and": {
      const parts = chainOperands(node, node.kind).map((operand) => compileNode(ctx, operand));
      return balancedSql(parts, node.kind === "or" ? "OR" : "AND");
    }
    case "not": {
      ctx.advanced = true;
      // A run of `not`s compiles to one negation or none: each would otherwise add two levels of SQL depth.
      const { operand, negate } = unwrapNots(node);
      // Two-valued OData logic: an atom over a null column yields SQL NULL, which NOT would keep NULL.
      const inner = `coalesce(${compileNode(ctx, operand)}, 0)`;
      return negate ? `(NOT ${inner})` : inner;
    }
    case "compare":
      if (node.op === "ne") ctx.advanced = true;
      if (ctx.licenseVariable !== null) {
        const column = licenseColumn(ctx, node.path);
        if (node.op !== "eq" && node.op !== "ne") throw unsupportedFilterClause(node.path.at(-1)!, RESOURCE);
        return `${column} ${SQL_OPERATOR[node.op]} ${bind(ctx, skuIdValue(node.value, node.op))}`;
      }
      return compileUserComparison(ctx, node.op, node.path, node.value);
    case "in":
      if (ctx.licenseVariable !== null) {
        const column = licenseColumn(ctx, node.path);
        const values = node.values.map((v) => skuIdValue(v, "in"));
        return `${column} IN (${values.map((v) => bind(ctx, v)).join(", ")})`;
      }
      return compileUserIn(ctx, node.path, node.values);
    case "function":
      return compileFunction(ctx, node.name, node.path, node.value);
    case "lambda":
      return compileLambda(ctx, node);
  }
}

/** Levels of this compiler's SQL, measured on D1 and rounded up (a license lambda measures 15; this says 17). */
const DEPTH: SqlDepthModel = {
  not: 2,
  evenNot: 1,
  // startsWith/endsWith compare substr(…) with COLLATE: a level deeper than a comparison.
  leaf: (node) => (isLicenseCount(node) ? 5 : node.kind === "in" || node.kind === "function" ? 3 : 2),
  leafSubquery: (node) => (isLicenseCount(node) ? 4 : 0),
  lambdaLeaf: 4,
  lambdaLeafSubquery: 3,
  lambda: 4,
  lambdaWhere: 2,
};

function isLicenseCount(node: FilterNode): boolean {
  return node.kind === "compare" && node.path.length === 2 && same(node.path[1], "$count");
}

/** An upper bound of the SQL depth D1 counts for this compiler's output (checked against D1 in the tests). */
export const userFilterSqlDepth = (node: FilterNode): number => sqlDepth(node, DEPTH);

export function compileUserFilter(node: FilterNode): CompiledUserFilter {
  checkSqlDepth(node, DEPTH);
  const ctx: Context = { params: [], advanced: false, licenseVariable: null };
  const sql = compileNode(ctx, node);
  return { sql, params: ctx.params, advanced: ctx.advanced };
}
