import type { CompiledFilter } from "../core/odata.ts";
import {
  type FilterLiteral,
  type FilterNode,
  ODataFilterError,
  unsupportedFilterClause,
} from "../core/odata-filter.ts";

const RESOURCE = "Group";
const strings: Record<string, string> = {
  id: "g.id",
  displayname: "g.display_name",
  mailnickname: "g.mail_nickname",
  description: "g.description",
  membershiprule: "g.membership_rule",
};
const booleans: Record<string, string> = { securityenabled: "g.security_enabled", mailenabled: "g.mail_enabled" };

function text(value: FilterLiteral, prop: string): string {
  if (value.kind === "string" || value.kind === "guid") return value.value;
  throw new ODataFilterError(
    `A string value is expected for property '${prop}' of resource '${RESOURCE}'.`,
    -1,
    "Request_BadRequest",
  );
}

function bool(value: FilterLiteral, prop: string): number {
  if (value.kind === "boolean") return value.value ? 1 : 0;
  throw new ODataFilterError(
    `A boolean value is expected for property '${prop}' of resource '${RESOURCE}'.`,
    -1,
    "Request_BadRequest",
  );
}

const errorsExist = "EXISTS (SELECT 1 FROM license_sources ls WHERE ls.source_seq = g.seq AND ls.state = 'Error')";

/** $filter on groups, including Graph's hasMembersWithLicenseErrors (never returned, only filterable). */
export function compileGroupFilter(node: FilterNode, params: (string | number)[]): string {
  switch (node.kind) {
    case "and":
    case "or":
      return `(${compileGroupFilter(node.left, params)} ${node.kind.toUpperCase()} ${compileGroupFilter(node.right, params)})`;
    case "not":
      return `(NOT ${compileGroupFilter(node.operand, params)})`;
    case "compare": {
      const prop = node.path.join("/");
      const key = prop.toLowerCase();
      if (key === "hasmemberswithlicenseerrors" && (node.op === "eq" || node.op === "ne")) {
        const wanted = bool(node.value, prop) === 1 ? node.op === "eq" : node.op === "ne";
        return wanted ? errorsExist : `NOT ${errorsExist}`;
      }
      if (booleans[key] && (node.op === "eq" || node.op === "ne")) {
        params.push(bool(node.value, prop));
        return `${booleans[key]} ${node.op === "eq" ? "=" : "<>"} ?`;
      }
      if (strings[key] && (node.op === "eq" || node.op === "ne")) {
        params.push(text(node.value, prop));
        return `${strings[key]} ${node.op === "eq" ? "=" : "IS NOT"} ? COLLATE NOCASE`;
      }
      throw unsupportedFilterClause(prop, RESOURCE);
    }
    case "function": {
      const prop = node.path.join("/");
      const column = strings[prop.toLowerCase()];
      if (!column || node.name !== "startswith") throw unsupportedFilterClause(prop, RESOURCE);
      params.push(`${text(node.value, prop).replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      return `${column} LIKE ? ESCAPE '\\'`;
    }
    case "lambda": {
      const prop = node.path.join("/").toLowerCase();
      const body = node.body;
      const variable = node.variable.toLowerCase();
      if (node.operator === "any" && body.kind === "compare" && body.op === "eq") {
        const target = body.path.map((p) => p.toLowerCase()).join("/");
        if (prop === "grouptypes" && target === variable) {
          params.push(text(body.value, "groupTypes"));
          return "EXISTS (SELECT 1 FROM json_each(g.group_types) t WHERE t.value = ? COLLATE NOCASE)";
        }
        if (prop === "assignedlicenses" && target === `${variable}/skuid` && body.value.kind === "guid") {
          params.push(body.value.value.toLowerCase());
          return "EXISTS (SELECT 1 FROM group_licenses gl WHERE gl.group_id = g.id AND gl.sku_id = ?)";
        }
      }
      throw unsupportedFilterClause(node.path.join("/"), RESOURCE);
    }
    default:
      throw unsupportedFilterClause(node.path.join("/"), RESOURCE);
  }
}

/** The compiled filter in the shape every resource's compiler gives (core/odata.ts compileODataFilter). */
export function groupFilterQuery(node: FilterNode): CompiledFilter {
  const params: (string | number)[] = [];
  return { sql: compileGroupFilter(node, params), params };
}
