import {
  type FilterLiteral,
  type FilterNode,
  normalizeDateTime,
  ODataFilterError,
  unsupportedFilterClause,
} from "../core/odata-filter.ts";

const columns: Record<string, string> = {
  activitydisplayname: "a.activity_display_name",
  category: "a.category",
  result: "a.result",
  operationtype: "a.operation_type",
  correlationid: "a.correlation_id",
  activitydatetime: "a.activity_date_time",
};
const ops = { eq: "=", ne: "<>", gt: ">", ge: ">=", lt: "<", le: "<=" } as const;

function literal(value: FilterLiteral, column: string): string | number {
  if (column === "a.activity_date_time") {
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
  throw new ODataFilterError(`A string value is expected for '${column.slice(2)}'.`, -1, "Request_BadRequest");
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
      const column = node.path.length === 1 ? columns[node.path[0]!.toLowerCase()] : undefined;
      if (!column) throw unsupportedFilterClause(node.path.join("/"), "DirectoryAudit");
      params.push(literal(node.value, column));
      return `${column} ${ops[node.op]} ?`;
    }
    case "function": {
      const column = node.path.length === 1 ? columns[node.path[0]!.toLowerCase()] : undefined;
      if (!column || node.name !== "startswith") throw unsupportedFilterClause(node.path.join("/"), "DirectoryAudit");
      params.push(`${String(literal(node.value, column)).replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      return `${column} LIKE ? ESCAPE '\\'`;
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
      params.push(String(literal(body.value, "a.target")).toLowerCase());
      return "EXISTS (SELECT 1 FROM json_each(a.target_resources) t WHERE lower(t.value ->> '$.id') = ?)";
    }
    default:
      throw unsupportedFilterClause(node.kind === "in" ? node.path.join("/") : "?", "DirectoryAudit");
  }
}
