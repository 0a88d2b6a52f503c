import type { CompiledFilter } from "../core/odata.ts";
import {
  balancedSql,
  chainOperands,
  compileBounded,
  type FilterLiteral,
  type FilterNode,
  ODataFilterError,
  type SqlDepthModel,
  sqlDepth,
  unsupportedFilterClause,
  unwrapNots,
} from "../core/odata-filter.ts";
import { sqlLength, startsWithSql } from "../core/sql.ts";

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

type Params = (string | number)[];

/** Levels of this compiler's SQL, measured on D1 and rounded up (a license lambda measures 8; this says 9). */
const DEPTH: SqlDepthModel = {
  not: 1,
  evenNot: 0,
  // startsWith compares substr(…) with COLLATE: a level deeper than a comparison.
  leaf: (node) => (hasErrorsClause(node) ? 4 : node.kind === "function" ? 3 : 2),
  leafSubquery: (node) => (hasErrorsClause(node) ? 4 : 0),
  lambdaLeaf: 2,
  lambdaLeafSubquery: 0,
  lambda: 2,
  lambdaWhere: 3,
};

function hasErrorsClause(node: FilterNode): boolean {
  return node.kind === "compare" && node.path.join("/").toLowerCase() === "hasmemberswithlicenseerrors";
}

/** An upper bound of the SQL depth D1 counts for this compiler's output (checked against D1 in the tests). */
export const groupFilterSqlDepth = (node: FilterNode): number => sqlDepth(node, DEPTH);

/**
 * $filter on groups, including Graph's hasMembersWithLicenseErrors (never returned, only filterable). Appends the
 * filter's values to `params` (which may already hold the route's own) and refuses past MAX_FILTER_PARAMS of them.
 */
export function compileGroupFilter(node: FilterNode, params: Params): string {
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
      const prop = node.path.join("/");
      const key = prop.toLowerCase();
      if (key === "hasmemberswithlicenseerrors" && (node.op === "eq" || node.op === "ne")) {
        const wanted = bool(node.value, prop) === 1 ? node.op === "eq" : node.op === "ne";
        return wanted ? errorsExist : `NOT ${errorsExist}`;
      }
      if (booleans[key] && (node.op === "eq" || node.op === "ne")) {
        bind(bool(node.value, prop));
        return `${booleans[key]} ${node.op === "eq" ? "=" : "<>"} ?`;
      }
      if (strings[key] && (node.op === "eq" || node.op === "ne")) {
        bind(text(node.value, prop));
        return `${strings[key]} ${node.op === "eq" ? "=" : "IS NOT"} ? COLLATE NOCASE`;
      }
      throw unsupportedFilterClause(prop, RESOURCE);
    }
    case "function": {
      const prop = node.path.join("/");
      const column = strings[prop.toLowerCase()];
      if (!column || node.name !== "startswith") throw unsupportedFilterClause(prop, RESOURCE);
      const value = text(node.value, prop);
      bind(value);
      // A substring compare, not LIKE: D1 caps patterns at 50 bytes (core/sql.ts).
      return startsWithSql(column, "?", sqlLength(value));
    }
    case "lambda": {
      const prop = node.path.join("/").toLowerCase();
      const body = node.body;
      const variable = node.variable.toLowerCase();
      if (node.operator === "any" && body.kind === "compare" && body.op === "eq") {
        const target = body.path.map((p) => p.toLowerCase()).join("/");
        if (prop === "grouptypes" && target === variable) {
          bind(text(body.value, "groupTypes"));
          return "EXISTS (SELECT 1 FROM json_each(g.group_types) t WHERE t.value = ? COLLATE NOCASE)";
        }
        if (prop === "assignedlicenses" && target === `${variable}/skuid` && body.value.kind === "guid") {
          bind(body.value.value.toLowerCase());
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
