/** Compiles directoryAudits' $filter into SQL over audit_log (and a bulk row's entries). */

import type { CompiledFilter } from "../core/odata.ts";
import {
  balancedSql,
  chainOperands,
  compileBounded,
  type FilterLiteral,
  type FilterNode,
  normalizeDateTime,
  ODataFilterError,
  type SqlDepthModel,
  sqlDepth,
  unsupportedFilterClause,
  unwrapNots,
} from "../core/odata-filter.ts";
import { sqlLength, startsWithSql } from "../core/sql.ts";

// The compiled SQL reads audit_log `a` LEFT JOIN json_each(a.entries) `e`: a bulk row's entry `e` is
// [userId, …], a single row has no `e`.
/**
 * An entry's id: a single row's own, a bulk entry's derived from its row and position (storing a UUID per entry was
 * a sixth of what a group job wrote). Zero-padded so that string order is entry order within the row.
 */
export const AUDIT_ID = "CASE WHEN e.key IS NULL THEN a.id ELSE a.id || '_' || printf('%05d', e.key) END";

const columns: Record<string, { column: string; name: string }> = {
  activitydisplayname: { column: "a.activity_display_name", name: "activityDisplayName" },
  category: { column: "a.category", name: "category" },
  result: { column: "a.result", name: "result" },
  operationtype: { column: "a.operation_type", name: "operationType" },
  correlationid: { column: "a.correlation_id", name: "correlationId" },
  activitydatetime: { column: "a.activity_date_time", name: "activityDateTime" },
};
const ops = { eq: "=", ne: "<>", gt: ">", ge: ">=", lt: "<", le: "<=" } as const;

function literal(value: FilterLiteral, property: string): string | number {
  if (property === "activityDateTime") {
    const text = value.kind === "datetime" || value.kind === "string" ? value.value : "";
    const iso = normalizeDateTime(text);
    if (!iso)
      throw new ODataFilterError(
        `Invalid DateTimeOffset value '${text}' for activityDateTime.`,
        -1,
        "Request_BadRequest",
      );
    return iso;
  }
  if (value.kind === "string" || value.kind === "guid") return value.value;
  throw new ODataFilterError(
    `A string value is expected for property '${property}' of resource 'DirectoryAudit'.`,
    -1,
    "Request_BadRequest",
  );
}

type Params = (string | number)[];

/** Levels of this compiler's SQL, measured on D1 and rounded up (a targetResources clause measures 12; this says 13). */
const DEPTH: SqlDepthModel = {
  not: 1,
  evenNot: 0,
  // startsWith compares substr(…) with COLLATE: a level deeper than a comparison.
  leaf: (node) => (node.kind === "function" ? 3 : 2),
  leafSubquery: () => 0,
  lambdaLeaf: 3,
  lambdaLeafSubquery: 1,
  lambda: 4,
  lambdaWhere: 2,
};

/** An upper bound of the SQL depth D1 counts for this compiler's output (checked against D1 in the tests). */
export const auditFilterSqlDepth = (node: FilterNode): number => sqlDepth(node, DEPTH);

/**
 * $filter for directoryAudits: activity, category, result, correlationId, date ranges and target ids. Appends the
 * filter's values to `params` (which may already hold the route's own) and refuses past MAX_FILTER_PARAMS of them: a
 * targetResources clause binds its id twice.
 */
export function compileAuditFilter(node: FilterNode, params: Params): string {
  return compileBounded(node, DEPTH, params, compile);
}

function compile(node: FilterNode, bind: (...values: Params) => void): string {
  switch (node.kind) {
    case "and":
    case "or":
      return balancedSql(
        chainOperands(node, node.kind).map((operand) => compile(operand, bind)),
        node.kind === "and" ? "AND" : "OR",
      );
    case "not": {
      // Three-valued NOT NOT x is x, so a run of `not`s compiles to one negation or none.
      const { operand, negate } = unwrapNots(node);
      const inner = compile(operand, bind);
      return negate ? `(NOT ${inner})` : inner;
    }
    case "compare": {
      const field = node.path.length === 1 ? columns[node.path[0]!.toLowerCase()] : undefined;
      if (!field) throw unsupportedFilterClause(node.path.join("/"), "DirectoryAudit");
      bind(literal(node.value, field.name));
      return `${field.column} ${ops[node.op]} ?`;
    }
    case "function": {
      const field = node.path.length === 1 ? columns[node.path[0]!.toLowerCase()] : undefined;
      if (!field || node.name !== "startswith") throw unsupportedFilterClause(node.path.join("/"), "DirectoryAudit");
      const value = String(literal(node.value, field.name));
      bind(value);
      // A substring compare, not LIKE: D1 caps patterns at 50 bytes (core/sql.ts).
      return startsWithSql(field.column, "?", sqlLength(value));
    }
    case "lambda": {
      // targetResources/any(t: t/id eq '…')
      const body = node.body;
      const isTargetId =
        node.operator === "any" &&
        node.path.join("/").toLowerCase() === "targetresources" &&
        body.kind === "compare" &&
        body.op === "eq" &&
        body.path.map((p) => p.toLowerCase()).join("/") === `${node.variable.toLowerCase()}/id`;
      if (!isTargetId || body.kind !== "compare") throw unsupportedFilterClause(node.path.join("/"), "DirectoryAudit");
      const id = String(literal(body.value, "id")).toLowerCase();
      bind(id, id);
      // IS, not =: a single row's missing entry must make this false, not NULL, or NOT(…) would drop the row.
      return "(lower(e.value ->> 0) IS ? OR EXISTS (SELECT 1 FROM json_each(a.target_resources) t WHERE lower(t.value ->> '$.id') = ?))";
    }
    default:
      throw unsupportedFilterClause(node.kind === "in" ? node.path.join("/") : "?", "DirectoryAudit");
  }
}

/** The compiled filter in the shape every resource's compiler gives (core/odata.ts compileODataFilter). */
export function auditFilterQuery(node: FilterNode): CompiledFilter {
  const params: (string | number)[] = [];
  return { sql: compileAuditFilter(node, params), params };
}
