/** Compiles directoryAudits' $filter into SQL over audit_log (and a bulk row's entries). */

import type { CompiledFilter } from "../core/odata.ts";
import {
  type FilterLiteral,
  type FilterNode,
  normalizeDateTime,
  ODataFilterError,
  unsupportedFilterClause,
} from "../core/odata-filter.ts";

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

/** $filter for directoryAudits: activity, category, result, correlationId, date ranges and target ids. */
export function compileAuditFilter(node: FilterNode, params: (string | number)[]): string {
  switch (node.kind) {
    case "and":
    case "or":
      return `(${compileAuditFilter(node.left, params)} ${node.kind.toUpperCase()} ${compileAuditFilter(node.right, params)})`;
    case "not":
      return `(NOT ${compileAuditFilter(node.operand, params)})`;
    case "compare": {
      const field = node.path.length === 1 ? columns[node.path[0]!.toLowerCase()] : undefined;
      if (!field) throw unsupportedFilterClause(node.path.join("/"), "DirectoryAudit");
      params.push(literal(node.value, field.name));
      return `${field.column} ${ops[node.op]} ?`;
    }
    case "function": {
      const field = node.path.length === 1 ? columns[node.path[0]!.toLowerCase()] : undefined;
      if (!field || node.name !== "startswith") throw unsupportedFilterClause(node.path.join("/"), "DirectoryAudit");
      params.push(`${String(literal(node.value, field.name)).replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      return `${field.column} LIKE ? ESCAPE '\\'`;
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
      params.push(id, id);
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
