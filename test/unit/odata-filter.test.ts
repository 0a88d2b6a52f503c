import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { auditFilterSqlDepth, compileAuditFilter } from "../../functions/audit/filter.ts";
import {
  checkFilterComplexity,
  type FilterLiteral,
  type FilterNode,
  filterNodeCount,
  formatODataFilter,
  MAX_FILTER_DEPTH,
  MAX_FILTER_LENGTH,
  MAX_FILTER_NODES,
  MAX_FILTER_PARAMS,
  MAX_FILTER_SQL_DEPTH,
  MAX_OR_CLAUSES,
  ODataFilterError,
  parseODataFilter,
} from "../../functions/core/odata-filter.ts";
import { compileGroupFilter, groupFilterSqlDepth } from "../../functions/directory/group-filter.ts";
import { compileUserFilter, userFilterSqlDepth } from "../../functions/directory/user-filter.ts";

const SKU = "184efa21-98c3-4e5d-95ab-d07053a96e67";
const SKU2 = "6fd2c87f-b296-42f0-b197-1e91e994b900";
const OWNER = "ul.user_seq = u.seq";
const LICENSE_SKU = "(SELECT sku_id FROM seat_pools WHERE seq = ul.pool_seq)";

const compile = (filter: string) => compileUserFilter(parseODataFilter(filter));

const withinComplexity = (ast: FilterNode) => {
  try {
    checkFilterComplexity(ast);
    return true;
  } catch (e) {
    if (e instanceof ODataFilterError) return false;
    throw e;
  }
};

function errorOf(fn: () => unknown): ODataFilterError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ODataFilterError) return e;
    throw e;
  }
  throw new Error("expected an ODataFilterError");
}

const unsupported = (prop: string) =>
  `Unsupported or invalid query filter clause specified for property '${prop}' of resource 'User'.`;

describe("parseODataFilter", () => {
  it("parses comparisons, literals and paths", () => {
    expect(parseODataFilter("usageLocation eq 'US'")).toEqual({
      kind: "compare",
      op: "eq",
      path: ["usageLocation"],
      value: { kind: "string", value: "US" },
    });
    expect(parseODataFilter("accountEnabled NE TRUE")).toMatchObject({
      op: "ne",
      value: { kind: "boolean", value: true },
    });
    expect(parseODataFilter("mail eq null")).toMatchObject({ value: { kind: "null" } });
    expect(parseODataFilter("assignedLicenses/$count ge -3")).toMatchObject({
      op: "ge",
      path: ["assignedLicenses", "$count"],
      value: { kind: "int", value: -3 },
    });
    expect(parseODataFilter(`id eq ${SKU.toUpperCase()}`)).toMatchObject({
      value: { kind: "guid", value: SKU.toUpperCase() },
    });
    expect(parseODataFilter("createdDateTime ge 2021-01-01T00:00:00Z")).toMatchObject({
      value: { kind: "datetime", value: "2021-01-01T00:00:00Z" },
    });
  });

  it("unescapes doubled quotes", () => {
    expect(parseODataFilter("displayName eq 'O''Brien '''")).toMatchObject({ value: { value: "O'Brien '" } });
    expect(parseODataFilter("displayName eq ''")).toMatchObject({ value: { value: "" } });
  });

  it("parses in-lists, functions and lambdas", () => {
    expect(parseODataFilter("department in ('a', 'b','c')")).toEqual({
      kind: "in",
      path: ["department"],
      values: ["a", "b", "c"].map((value) => ({ kind: "string", value })),
    });
    expect(parseODataFilter("STARTSWITH(displayName,'Al')")).toEqual({
      kind: "function",
      name: "startswith",
      path: ["displayName"],
      value: { kind: "string", value: "Al" },
    });
    expect(parseODataFilter("endsWith(mail, '@contoso.com')")).toMatchObject({ name: "endswith" });
    expect(parseODataFilter(`assignedLicenses/ANY(lic: lic/skuId eq ${SKU} or lic/skuId eq ${SKU2})`)).toEqual({
      kind: "lambda",
      operator: "any",
      path: ["assignedLicenses"],
      variable: "lic",
      body: {
        kind: "or",
        left: { kind: "compare", op: "eq", path: ["lic", "skuId"], value: { kind: "guid", value: SKU } },
        right: { kind: "compare", op: "eq", path: ["lic", "skuId"], value: { kind: "guid", value: SKU2 } },
      },
    });
  });

  it("gives not > and > or precedence, left-associative", () => {
    const a = { kind: "compare", op: "eq", path: ["a"], value: { kind: "string", value: "x" } };
    const b = { kind: "compare", op: "eq", path: ["b"], value: { kind: "string", value: "y" } };
    const c = { kind: "compare", op: "eq", path: ["c"], value: { kind: "string", value: "z" } };
    expect(parseODataFilter("a eq 'x' or b eq 'y' and c eq 'z'")).toEqual({
      kind: "or",
      left: a,
      right: { kind: "and", left: b, right: c },
    });
    expect(parseODataFilter("(a eq 'x' or b eq 'y') and c eq 'z'")).toEqual({
      kind: "and",
      left: { kind: "or", left: a, right: b },
      right: c,
    });
    expect(parseODataFilter("not a eq 'x' and b eq 'y'")).toEqual({
      kind: "and",
      left: { kind: "not", operand: a },
      right: b,
    });
    expect(parseODataFilter("a eq 'x' OR b eq 'y' Or c eq 'z'")).toEqual({
      kind: "or",
      left: { kind: "or", left: a, right: b },
      right: c,
    });
    expect(parseODataFilter("NOT(((a eq 'x')))")).toEqual({ kind: "not", operand: a });
  });

  it.each([
    ["displayName eq 'x' xyz", "Invalid filter clause: unexpected 'xyz' at position 19.", 19],
    ["displayName eq", "Invalid filter clause: unexpected end of input at position 14.", 14],
    ["", "Invalid filter clause: unexpected end of input at position 0.", 0],
    ["displayName eq 'abc", "Invalid filter clause: unterminated string literal at position 15.", 15],
    ["displayName = 'x'", "Invalid filter clause: unexpected '=' at position 12.", 12],
    ["displayName eq 'x' and", "Invalid filter clause: unexpected end of input at position 22.", 22],
    ["(displayName eq 'x'", "Invalid filter clause: unexpected end of input at position 19.", 19],
    ["displayName eq 'x')", "Invalid filter clause: unexpected ')' at position 18.", 18],
    ["department in ()", "Invalid filter clause: unexpected ')' at position 15.", 15],
    ["contains(displayName, 'a')", "Invalid filter clause: unknown function 'contains' at position 0.", 0],
    ["displayName eq 1.5", "Invalid filter clause: unexpected '1.5' at position 15.", 15],
    ["displayName eq other", "Invalid filter clause: unexpected 'other' at position 15.", 15],
    ["a/any(x x/skuId eq 1)", "Invalid filter clause: unexpected 'x' at position 8.", 8],
    ["$count eq 1", "Invalid filter clause: unexpected '$count' at position 0.", 0],
  ])("reports syntax errors with positions: %s", (filter, message, position) => {
    const err = errorOf(() => parseODataFilter(filter));
    expect(err.message).toBe(message);
    expect(err.position).toBe(position);
    expect(err.code).toBe("BadRequest");
  });

  it("reports malformed GUIDs like Graph", () => {
    const filter = "assignedLicenses/any(x:x/skuId eq 184efa21-98c3-4e5d)";
    const err = errorOf(() => parseODataFilter(filter));
    expect(err.message).toBe(`Unrecognized 'Edm.Guid' literal '184efa21-98c3-4e5d' at '34' in '${filter}'.`);
    expect(err.position).toBe(34);
  });

  it("rejects over-long input and deep nesting without overflowing the stack", () => {
    const long = `displayName eq '${"a".repeat(MAX_FILTER_LENGTH)}'`;
    expect(errorOf(() => parseODataFilter(long)).message).toMatch(/longer than 4096/);

    const ok = `${"(".repeat(MAX_FILTER_DEPTH)}a eq 1${")".repeat(MAX_FILTER_DEPTH)}`;
    expect(parseODataFilter(ok)).toMatchObject({ kind: "compare" });
    const deep = `${"(".repeat(MAX_FILTER_DEPTH + 1)}a eq 1${")".repeat(MAX_FILTER_DEPTH + 1)}`;
    const err = errorOf(() => parseODataFilter(deep));
    expect(err.message).toBe("Invalid filter clause: expression is nested deeper than 32 levels at position 32.");
    expect(err.position).toBe(MAX_FILTER_DEPTH);

    expect(() => parseODataFilter("not ".repeat(1000))).toThrow(ODataFilterError);
    expect(() => parseODataFilter("(".repeat(4000))).toThrow(ODataFilterError);
    expect(() => parseODataFilter("a/any(x:".repeat(500))).toThrow(ODataFilterError);
  });

  it("handles long flat chains without deep recursion, refusing the ones over the node limit", () => {
    const clause = "mail eq null";
    const chain = (n: number, op = " or ") => Array.from({ length: n }, () => clause).join(op);
    // 240 clauses fit in 4096 characters: 479 nodes, refused as Graph's OData services refuse them.
    const err = errorOf(() => parseODataFilter(chain(Math.floor(MAX_FILTER_LENGTH / (clause.length + 5)), " and ")));
    expect(err.message).toBe(
      "The query specified in the URI is not valid. The node count limit of '100' has been exceeded.",
    );
    expect(compile(chain(50)).params).toEqual([]);
  });

  it("property: never throws anything but ODataFilterError", () => {
    const alphabet = fc.constantFrom(..."()',/:$ -_.0123456789abcdefxyzAEIOU\t\n&=", "eq", "and", "not", "any(x:");
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: "binary", maxLength: 200 }),
          fc.array(alphabet, { maxLength: 60 }).map((parts) => parts.join("")),
          fc.array(alphabet, { maxLength: 60 }).map((parts) => parts.join(" ")),
        ),
        (input) => {
          try {
            compileUserFilter(parseODataFilter(input));
          } catch (e) {
            if (!(e instanceof ODataFilterError)) throw e;
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("property: printing a random AST re-parses to the same AST", () => {
    const keywordLike = /^(not)$/i;
    const ident = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/).filter((s) => !keywordLike.test(s));
    const path = fc.tuple(ident, fc.array(fc.oneof(ident, fc.constant("$count")), { maxLength: 2 }));
    const literal: fc.Arbitrary<FilterLiteral> = fc.oneof(
      fc.string({ unit: "binary", maxLength: 12 }).map((value) => ({ kind: "string" as const, value })),
      fc.boolean().map((value) => ({ kind: "boolean" as const, value })),
      fc.constant({ kind: "null" as const }),
      fc.maxSafeInteger().map((value) => ({ kind: "int" as const, value: value === 0 ? 0 : value })),
      fc.uuid().map((value) => ({ kind: "guid" as const, value })),
      fc
        .date({ min: new Date("0001-01-01T00:00:00Z"), max: new Date("9999-12-31T00:00:00Z"), noInvalidDate: true })
        .map((d) => ({ kind: "datetime" as const, value: d.toISOString() })),
    );
    const op = fc.constantFrom("eq", "ne", "gt", "ge", "lt", "le" as const);
    const { node } = fc.letrec<{ node: FilterNode }>((tie) => ({
      node: fc.oneof(
        { maxDepth: 6, depthIdentifier: "filter" },
        fc.record({ kind: fc.constant("compare" as const), op, path: path.map(([h, t]) => [h, ...t]), value: literal }),
        fc.record({
          kind: fc.constant("in" as const),
          path: path.map(([h, t]) => [h, ...t]),
          values: fc.array(literal, { minLength: 1, maxLength: 3 }),
        }),
        fc.record({
          kind: fc.constant("function" as const),
          name: fc.constantFrom("startswith" as const, "endswith" as const),
          path: path.map(([h, t]) => [h, ...t]),
          value: literal,
        }),
        fc.record({ kind: fc.constantFrom("and" as const, "or" as const), left: tie("node"), right: tie("node") }),
        fc.record({ kind: fc.constant("not" as const), operand: tie("node") }),
        fc.record({
          kind: fc.constant("lambda" as const),
          operator: fc.constantFrom("any" as const, "all" as const),
          path: path.map(([h, t]) => [h, ...t]),
          variable: ident,
          body: tie("node"),
        }),
      ),
    }));
    fc.assert(
      fc.property(node, (ast) => {
        const text = formatODataFilter(ast);
        fc.pre(text.length <= MAX_FILTER_LENGTH && withinComplexity(ast));
        expect(parseODataFilter(text)).toEqual(ast);
      }),
      { numRuns: 1000 },
    );
  });
});

describe("compileUserFilter", () => {
  it.each([
    ["displayName eq 'Adele'", "u.display_name = ? COLLATE NOCASE", ["Adele"], false],
    ["USERPRINCIPALNAME eq 'a@b.c'", "u.user_principal_name = ? COLLATE NOCASE", ["a@b.c"], false],
    ["id eq 'abc'", "u.id = ? COLLATE NOCASE", ["abc"], false],
    ["mailNickname eq 'm'", "u.mail_nickname = ? COLLATE NOCASE", ["m"], false],
    ["givenName eq 'g'", "u.given_name = ? COLLATE NOCASE", ["g"], false],
    ["surname eq 's'", "u.surname = ? COLLATE NOCASE", ["s"], false],
    ["mail eq 'm@x'", "u.mail = ? COLLATE NOCASE", ["m@x"], false],
    ["usageLocation eq 'US'", "u.usage_location = ? COLLATE NOCASE", ["US"], false],
    ["userType eq 'Guest'", "u.user_type = ? COLLATE NOCASE", ["Guest"], false],
    ["department eq 'Sales'", "u.department = ? COLLATE NOCASE", ["Sales"], false],
    ["country eq 'NL'", "u.country = ? COLLATE NOCASE", ["NL"], false],
    ["jobTitle eq 'CEO'", "u.job_title = ? COLLATE NOCASE", ["CEO"], false],
    ["companyName eq 'Contoso'", "u.company_name = ? COLLATE NOCASE", ["Contoso"], false],
    ["employeeId eq '42'", "u.employee_id = ? COLLATE NOCASE", ["42"], false],
    ["department ne 'Sales'", "u.department IS NOT ? COLLATE NOCASE", ["Sales"], true],
    ["mail eq null", "u.mail IS NULL", [], false],
    ["mail ne null", "u.mail IS NOT NULL", [], true],
    ["displayName ge 'M'", "u.display_name >= ? COLLATE NOCASE", ["M"], false],
    ["displayName lt 'M'", "u.display_name < ? COLLATE NOCASE", ["M"], false],
    ["department in ('a', 'b')", "u.department COLLATE NOCASE IN (?, ?)", ["a", "b"], false],
    ["department in ('a', null)", "(u.department COLLATE NOCASE IN (?) OR u.department IS NULL)", ["a"], false],
    // Substring compares, not LIKE (D1 caps patterns at 50 bytes): LIKE's wildcards are plain text.
    ["startsWith(displayName, 'A%_\\')", "substr(u.display_name, 1, 4) = ? COLLATE NOCASE", ["A%_\\"], false],
    ["endswith(mail, '@contoso.com')", "substr(u.mail, -12) = ? COLLATE NOCASE", ["@contoso.com"], true],
    ["accountEnabled eq true", "u.account_enabled = ?", [1], false],
    ["accountEnabled eq false", "u.account_enabled = ?", [0], false],
    ["accountEnabled ne false", "u.account_enabled <> ?", [0], true],
    ["createdDateTime ge 2021-01-01T00:00:00Z", "u.created_at >= ?", ["2021-01-01T00:00:00.000Z"], false],
    ["createdDateTime lt 2021-01-01T02:00:00+02:00", "u.created_at < ?", ["2021-01-01T00:00:00.000Z"], false],
    ["createdDateTime le '2021-06-01T00:00:00Z'", "u.created_at <= ?", ["2021-06-01T00:00:00.000Z"], false],
    ["createdDateTime gt 2021-01-01T00:00Z", "u.created_at > ?", ["2021-01-01T00:00:00.000Z"], false],
    [
      `assignedLicenses/any(x:x/skuId eq ${SKU.toUpperCase()})`,
      `EXISTS (SELECT 1 FROM user_licenses ul WHERE ${OWNER} AND ${LICENSE_SKU} = ?)`,
      [SKU],
      false,
    ],
    [
      `assignedLicenses/any(s:s/SkuId in (${SKU}, ${SKU2}))`,
      `EXISTS (SELECT 1 FROM user_licenses ul WHERE ${OWNER} AND ${LICENSE_SKU} IN (?, ?))`,
      [SKU, SKU2],
      false,
    ],
    [
      `not assignedLicenses/any(x:x/skuId eq ${SKU})`,
      `(NOT coalesce(EXISTS (SELECT 1 FROM user_licenses ul WHERE ${OWNER} AND ${LICENSE_SKU} = ?), 0))`,
      [SKU],
      true,
    ],
    ["assignedLicenses/$count eq 0", `(SELECT COUNT(*) FROM user_licenses ul WHERE ${OWNER}) = ?`, [0], true],
    ["assignedLicenses/$count ne 0", `(SELECT COUNT(*) FROM user_licenses ul WHERE ${OWNER}) <> ?`, [0], true],
    ["assignedLicenses/$count eq 2", `(SELECT COUNT(*) FROM user_licenses ul WHERE ${OWNER}) = ?`, [2], true],
  ])("%s", (filter, sql, params, advanced) => {
    expect(compile(filter)).toEqual({ sql, params, advanced });
  });

  it("combines with and/or/not and keeps parameter order", () => {
    expect(compile("department eq 'a' or country eq 'b' and usageLocation eq 'c'")).toEqual({
      sql: "(u.department = ? COLLATE NOCASE OR (u.country = ? COLLATE NOCASE AND u.usage_location = ? COLLATE NOCASE))",
      params: ["a", "b", "c"],
      advanced: false,
    });
    expect(compile("(department eq 'a' or country eq 'b') and not usageLocation eq 'c'")).toEqual({
      sql: "((u.department = ? COLLATE NOCASE OR u.country = ? COLLATE NOCASE) AND (NOT coalesce(u.usage_location = ? COLLATE NOCASE, 0)))",
      params: ["a", "b", "c"],
      advanced: true,
    });
  });

  it("matches property names case-insensitively but lambda variables exactly", () => {
    expect(compile(`ASSIGNEDLICENSES/Any(X:X/SKUID eq ${SKU})`).params).toEqual([SKU]);
    expect(errorOf(() => compile(`assignedLicenses/any(x:X/skuId eq ${SKU})`)).message).toBe(unsupported("skuId"));
  });

  it.each([
    ["foo eq 'x'", unsupported("foo")],
    ["manager/displayName eq 'x'", unsupported("manager")],
    ["accountEnabled ge true", unsupported("accountEnabled")],
    ["startsWith(accountEnabled, 'x')", unsupported("accountEnabled")],
    ["startsWith(createdDateTime, '2021')", unsupported("createdDateTime")],
    ["displayName gt null", unsupported("displayName")],
    ["proxyAddresses/any(x:startsWith(x, 'smtp:'))", unsupported("proxyAddresses")],
    [`assignedLicenses/all(x:x/skuId eq ${SKU})`, unsupported("assignedLicenses")],
    ["assignedLicenses/any(x:x/disabledPlans eq 'a')", unsupported("disabledPlans")],
    [`assignedLicenses/any(x:x/skuId ge ${SKU})`, unsupported("skuId")],
    [`assignedLicenses/any(x:startsWith(x/skuId, 'a'))`, unsupported("skuId")],
    ["assignedLicenses/any(x:x/skuId eq null)", unsupported("skuId")],
    ["assignedLicenses/$count eq null", unsupported("assignedLicenses")],
  ])("rejects unsupported clause %s", (filter, message) => {
    const err = errorOf(() => compile(filter));
    expect(err.message).toBe(message);
    expect(err.code).toBe("Request_UnsupportedQuery");
  });

  it.each([
    [
      "accountEnabled eq 'yes'",
      "A binary operator with incompatible types was detected. Found operand types 'Edm.Boolean' and 'Edm.String' for operator kind 'Equal'.",
    ],
    [
      "displayName ne 3",
      "A binary operator with incompatible types was detected. Found operand types 'Edm.String' and 'Edm.Int32' for operator kind 'NotEqual'.",
    ],
    [
      `id eq ${SKU}`,
      "A binary operator with incompatible types was detected. Found operand types 'Edm.String' and 'Edm.Guid' for operator kind 'Equal'.",
    ],
    [
      `assignedLicenses/any(x:x/skuId eq '${SKU}')`,
      "A binary operator with incompatible types was detected. Found operand types 'Edm.Guid' and 'Edm.String' for operator kind 'Equal'.",
    ],
    [
      "createdDateTime ge 'yesterday'",
      "A binary operator with incompatible types was detected. Found operand types 'Edm.DateTimeOffset' and 'Edm.String' for operator kind 'GreaterThanOrEqual'.",
    ],
    [
      "assignedLicenses/$count eq true",
      "A binary operator with incompatible types was detected. Found operand types 'Edm.Int32' and 'Edm.Boolean' for operator kind 'Equal'.",
    ],
    ["createdDateTime ge 2021-02-30T00:00:00Z", "Unrecognized 'Edm.DateTimeOffset' literal '2021-02-30T00:00:00Z'."],
    [
      "startsWith(displayName, 1)",
      "No function signature for the function with name 'startswith' matches the specified arguments. The function signatures considered are: startswith(Edm.String Nullable=true, Edm.String Nullable=true).",
    ],
  ])("rejects type errors: %s", (filter, message) => {
    expect(errorOf(() => compile(filter)).message).toBe(message);
  });

  it("caps bound parameters below D1's limit", () => {
    const values = (n: number) => Array.from({ length: n }, (_, i) => `'v${i}'`).join(",");
    expect(compile(`department in (${values(64)})`).params).toHaveLength(64);
    const err = errorOf(() => compile(`department in (${values(65)})`));
    expect(err.message).toBe(
      "Too many child clauses specified in search filter expression containing 'OR' operators: 65. Max allowed: 64.",
    );
    expect(err.code).toBe("Request_UnsupportedQuery");
    // Two lists under the per-list limit still exceed the statement's: refused while binding, before SQL exists.
    const two = errorOf(() => compile(`department in (${values(40)}) or country in (${values(40)})`));
    expect(two.message).toBe(
      "The query specified in the URI is not valid. The limit of '64' for filter values has been exceeded.",
    );
  });

  it("property: string values are only ever bound, never spliced into SQL", () => {
    const template = compile("department eq 'x'").sql;
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (v) => {
        const { sql, params } = compile(`department eq '${v.replaceAll("'", "''")}'`);
        expect(params).toEqual([v]);
        expect(sql).toBe(template);
        if (v.length > 0) expect(sql.includes(v) && !template.includes(v)).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("compiled SQL runs on D1 with OData semantics", () => {
  const db = (env as unknown as { DB: D1Database }).DB;
  const tenant = "tenant-odata-filter-test";
  const now = "2024-01-01T00:00:00.000Z";
  const users = [
    {
      id: "u1",
      upn: "adele@contoso.com",
      name: "Adele Vance",
      dept: "Sales",
      enabled: 1,
      created: "2021-03-01T00:00:00.000Z",
    },
    {
      id: "u2",
      upn: "alex@contoso.com",
      name: "Alex Wilber",
      dept: null,
      enabled: 0,
      created: "2020-01-01T00:00:00.000Z",
    },
    {
      id: "u3",
      upn: "o'brien@fabrikam.com",
      name: "50%_off",
      dept: "sales",
      enabled: 1,
      created: "2022-01-01T00:00:00.000Z",
    },
  ];

  async function ids(filter: string): Promise<string[]> {
    const { sql, params } = compile(filter);
    const rows = await db
      .prepare(`SELECT u.id FROM users u WHERE u.tenant_id = ? AND ${sql} ORDER BY u.id`)
      .bind(tenant, ...params)
      .all<{ id: string }>();
    return rows.results.map((r) => r.id);
  }

  it("filters users", async () => {
    await db.batch([
      ...users.map((x) =>
        db
          .prepare(
            "INSERT INTO users (id, tenant_id, user_principal_name, display_name, department, account_enabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
          )
          .bind(x.id, tenant, x.upn, x.name, x.dept, x.enabled, x.created, now),
      ),
      db.prepare("INSERT INTO seat_pools (tenant_id, sku_id) VALUES (?1, ?2), (?1, ?3)").bind(tenant, SKU, SKU2),
      db
        .prepare(
          `INSERT INTO user_licenses (user_seq, pool_seq, assigned_at)
           SELECT u.seq, p.seq, ?4 FROM (SELECT 'u1' AS id, ?2 AS sku UNION ALL SELECT 'u1', ?3 UNION ALL SELECT 'u3', ?3) AS l
           JOIN users u ON u.tenant_id = ?1 AND u.id = l.id JOIN seat_pools p ON p.tenant_id = ?1 AND p.sku_id = l.sku`,
        )
        .bind(tenant, SKU, SKU2, now),
    ]);

    expect(await ids("department eq 'SALES'")).toEqual(["u1", "u3"]);
    expect(await ids("department ne 'sales'")).toEqual(["u2"]);
    expect(await ids("not (department eq 'sales')")).toEqual(["u2"]);
    expect(await ids("department eq null")).toEqual(["u2"]);
    expect(await ids("department in ('x', null)")).toEqual(["u2"]);
    expect(await ids("startsWith(userPrincipalName, 'AL')")).toEqual(["u2"]);
    expect(await ids("startsWith(displayName, '50%_')")).toEqual(["u3"]);
    expect(await ids("startsWith(displayName, '5%')")).toEqual([]);
    expect(await ids("endsWith(userPrincipalName, '@CONTOSO.com')")).toEqual(["u1", "u2"]);
    expect(await ids("userPrincipalName eq 'o''brien@fabrikam.com'")).toEqual(["u3"]);
    expect(await ids("accountEnabled eq false")).toEqual(["u2"]);
    expect(await ids("createdDateTime ge 2021-03-01T01:00:00+01:00")).toEqual(["u1", "u3"]);
    expect(await ids(`assignedLicenses/any(x:x/skuId eq ${SKU.toUpperCase()})`)).toEqual(["u1"]);
    expect(await ids(`not assignedLicenses/any(x:x/skuId eq ${SKU})`)).toEqual(["u2", "u3"]);
    expect(await ids("assignedLicenses/$count eq 0")).toEqual(["u2"]);
    expect(await ids("assignedLicenses/$count eq 2")).toEqual(["u1"]);
    expect(await ids(`accountEnabled eq true and assignedLicenses/any(x:x/skuId in (${SKU}, ${SKU2}))`)).toEqual([
      "u1",
      "u3",
    ]);
    // Past D1's 50-byte LIKE pattern limit, which a substring compare does not have.
    expect(await ids(`endsWith(userPrincipalName, '${"x".repeat(60)}@contoso.com')`)).toEqual([]);
  });
});

describe("complexity bounds: well-formed filters are 400s, never SQLite errors", () => {
  const db = (env as unknown as { DB: D1Database }).DB;
  const lambda = `assignedLicenses/any(x:x/skuId eq ${SKU})`;
  const target = "targetResources/any(t:t/id eq 'abc')";
  const times = (n: number, clause: string, op = " and ") => Array.from({ length: n }, () => clause).join(op);
  const nest = (n: number, leaf: string, wrap: (inner: string) => string) => {
    let s = leaf;
    for (let i = 0; i < n; i++) s = wrap(s);
    return s;
  };

  /** The statements the routes run (handlers.ts, group-handlers.ts, audit/handlers.ts), with room for a prefix. */
  const routes = {
    users: (filter: string, pad = "") => {
      const c = compileUserFilter(parseODataFilter(filter));
      return {
        sql: `SELECT u.id FROM users u WHERE u.tenant_id = ? AND u.deleted_at IS NULL AND (${pad}(${c.sql})) AND u.id > ? ORDER BY u.id LIMIT ?`,
        params: ["t", ...c.params, "", 11] as unknown[],
      };
    },
    groups: (filter: string, pad = "") => {
      const params: (string | number)[] = ["t"];
      const sql = compileGroupFilter(parseODataFilter(filter), params);
      return {
        sql: `SELECT g.id FROM groups g WHERE g.tenant_id = ? AND g.deleted_at IS NULL AND ${pad}(${sql}) AND g.id > ? ORDER BY g.id LIMIT ?`,
        params: [...params, "", 11] as unknown[],
      };
    },
    audits: (filter: string, pad = "") => {
      const params: (string | number)[] = ["t"];
      const sql = compileAuditFilter(parseODataFilter(filter), params);
      return {
        sql: `SELECT a.id FROM audit_log a LEFT JOIN json_each(a.entries) e WHERE a.tenant_id = ? AND ${pad}(${sql}) AND (a.activity_date_time < ? OR (a.activity_date_time = ? AND a.id < ?)) LIMIT ?`,
        params: [...params, "9", "9", "9", 11] as unknown[],
      };
    },
  };
  type Route = keyof typeof routes;

  async function runs(route: Route, filter: string, pad = ""): Promise<true | string> {
    const { sql, params } = routes[route](filter, pad);
    expect(params.length).toBeLessThanOrEqual(100);
    try {
      await db
        .prepare(sql)
        .bind(...params)
        .all();
      return true;
    } catch (e) {
      return String(e);
    }
  }

  /**
   * The depth D1 counts for a statement, measured: each NOT prefixed to the filter adds exactly one level, and D1
   * refuses depth 100, so depth = 100 − the most NOTs that still run.
   */
  async function measuredDepth(route: Route, filter: string): Promise<number> {
    let lo = 0;
    let hi = 100;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if ((await runs(route, filter, "NOT ".repeat(mid))) === true) lo = mid;
      else hi = mid - 1;
    }
    return 100 - lo;
  }

  it.each([47, 48, 100])("%i assignedLicenses/any clauses joined by and: a 400 on users and groups", async (n) => {
    const filter = times(n, lambda);
    for (const route of ["users", "groups"] as const) {
      const err = errorOf(() => routes[route](filter));
      // 100 of them are also longer than the 4096 characters a filter may have: refused on that first.
      expect(err.message).toBe(
        filter.length > MAX_FILTER_LENGTH
          ? `Invalid filter clause: the filter is longer than ${MAX_FILTER_LENGTH} characters.`
          : "The query specified in the URI is not valid. The node count limit of '100' has been exceeded.",
      );
      expect(err.code).toBe("BadRequest");
    }
  });

  it("the most lambda clauses the node limit admits run on D1", async () => {
    const most = Math.floor((MAX_FILTER_NODES + 1) / 7); // each: lambda cost + its comparison + an `and`
    expect(await runs("users", times(most, lambda))).toBe(true);
    expect(await runs("groups", times(most, lambda))).toBe(true);
    expect(await runs("audits", times(most, target))).toBe(true);
    expect(() => routes.users(times(most + 1, lambda))).toThrow(ODataFilterError);
  });

  it("60 targetResources clauses on directoryAudits: a 400, and the audit compiler keeps its own value budget", () => {
    expect(errorOf(() => routes.audits(times(60, target))).message).toMatch(/node count limit of '100'/);
    // Bypassing the parser's bound, the compiler still refuses before binding D1's 100th variable (2 per clause).
    const clause = parseODataFilter(target);
    let ast: FilterNode = clause;
    for (let i = 1; i < 40; i++) ast = { kind: "and", left: ast, right: clause };
    const params: (string | number)[] = ["tenant"];
    const err = errorOf(() => compileAuditFilter(ast, params));
    expect(err.message).toBe(
      "The query specified in the URI is not valid. The limit of '64' for filter values has been exceeded.",
    );
    expect(params.length - 1).toBeLessThanOrEqual(MAX_FILTER_PARAMS);
  });

  it("long in lists and or chains: Graph's 'Too many child clauses' past the limit", () => {
    const list = (n: number) => `department in (${Array.from({ length: n }, (_, i) => `'d${i}'`).join(", ")})`;
    expect(compile(list(MAX_OR_CLAUSES)).params).toHaveLength(MAX_OR_CLAUSES);
    for (const filter of [list(MAX_OR_CLAUSES + 1), list(500), times(65, "mail eq null", " or ")]) {
      const err = errorOf(() => compile(filter));
      expect(err.message).toMatch(
        /^Too many child clauses specified in search filter expression containing 'OR' operators: \d+\. Max allowed: 64\.$/,
      );
      expect(err.code).toBe("Request_UnsupportedQuery");
    }
    // An or chain broken by `not` or `and` counts per chain.
    expect(() =>
      checkFilterComplexity(parseODataFilter(`(${times(30, "a eq 1", " or ")}) and (${times(30, "b eq 1", " or ")})`)),
    ).toThrow(/node count/);
  });

  it("deep parentheses and not runs stay within the depth bound", async () => {
    expect(
      await runs(
        "users",
        nest(MAX_FILTER_DEPTH, "department eq 'x'", (i) => `(${i})`),
      ),
    ).toBe(true);
    // A lambda is a nesting level too.
    expect(await runs("users", `${"not ".repeat(MAX_FILTER_DEPTH - 1)}${lambda}`)).toBe(true);
    expect(await runs("users", `${"not ".repeat(MAX_FILTER_DEPTH)}department eq 'x'`)).toBe(true);
    expect(await runs("groups", `${"not ".repeat(MAX_FILTER_DEPTH - 1)}${lambda}`)).toBe(true);
    expect(await runs("audits", `${"not ".repeat(MAX_FILTER_DEPTH - 1)}${target}`)).toBe(true);
    expect(() => parseODataFilter(nest(MAX_FILTER_DEPTH + 1, "a eq 1", (i) => `(${i})`))).toThrow(/nested deeper/);
  });

  it("a lambda body nested deep is refused by height before D1 could refuse it", () => {
    // Before the bound this compiled and D1 answered "Expression tree is too large" (SQLite counts the body twice).
    const body = nest(15, `x/skuId eq ${SKU}`, (i) => `not (x/skuId eq ${SKU} or ${i})`);
    const err = errorOf(() => routes.users(`assignedLicenses/any(x:${body})`));
    expect(err.message).toMatch(/^Search filter expression has excessive height: \d+\. Max allowed: 80\.$/);
    expect(err.code).toBe("Request_UnsupportedQuery");
  });

  // ---- Property: whatever the parser and a compiler accept runs on D1, within the computed depth ----

  const SKU2 = "6fd2c87f-b296-42f0-b197-1e91e994b900";
  /** Levels each route's statement wraps around its filter (left-deep ANDs of its own conditions). */
  const ROUTE_DEPTH: Record<Route, number> = { users: 3, groups: 3, audits: 3 };
  /** The depth of each statement's own conditions (the audit cursor is an OR of an AND), whatever the filter. */
  const ROUTE_FLOOR: Record<Route, number> = { users: 4, groups: 4, audits: 5 };
  const MODEL: Record<Route, (node: FilterNode) => number> = {
    users: userFilterSqlDepth,
    groups: groupFilterSqlDepth,
    audits: auditFilterSqlDepth,
  };
  const deepest: Record<Route, number> = { users: 0, groups: 0, audits: 0 };
  const leaves: Record<Route, string[]> = {
    users: [
      "department eq 'x'",
      "mail eq null",
      "accountEnabled eq true",
      "startswith(displayName,'a')",
      "endswith(mail,'@x.com')",
      // past D1's 50-byte LIKE pattern limit
      `startswith(displayName,'${"é".repeat(30)}')`,
      `endswith(mail,'${"x".repeat(60)}')`,
      "department in ('a', null)",
      "assignedLicenses/$count eq 0",
      "createdDateTime ge 2021-01-01T00:00:00Z",
      lambda,
      `assignedLicenses/any(x:x/skuId in (${SKU}, ${SKU2}))`,
      `assignedLicenses/any(x:not (x/skuId eq ${SKU} or x/skuId ne ${SKU2}))`,
    ],
    groups: [
      "displayName eq 'x'",
      "securityEnabled eq true",
      "startswith(mailNickname,'a')",
      `startswith(mailNickname,'${"a".repeat(60)}')`,
      "hasMembersWithLicenseErrors eq true",
      "groupTypes/any(c:c eq 'Unified')",
      lambda,
    ],
    audits: [
      "category eq 'x'",
      "activityDateTime ge 2021-01-01T00:00:00Z",
      "startswith(result,'s')",
      `startswith(result,'${"s".repeat(60)}')`,
      target,
    ],
  };
  const filterOf = (route: Route): fc.Arbitrary<string> => {
    const leaf = fc.constantFrom(...leaves[route]);
    const { node } = fc.letrec<{ node: string }>((tie) => ({
      node: fc.oneof(
        { maxDepth: 6, depthIdentifier: route },
        leaf,
        tie("node").map((n) => `not ${n}`),
        fc
          .tuple(fc.constantFrom(" and ", " or "), fc.array(tie("node"), { minLength: 2, maxLength: 6 }))
          .map(([op, parts]) => `(${parts.join(op)})`),
      ),
    }));
    // Deep, narrow shapes too: the ones that stress depth rather than width.
    const deep = fc
      .tuple(leaf, fc.array(fc.tuple(fc.constantFrom("not", "and", "or"), leaf), { maxLength: 24 }))
      .map(([start, steps]) =>
        steps.reduce((acc, [op, l]) => (op === "not" ? `not (${acc})` : `(${l} ${op} ${acc})`), start),
      );
    return fc.oneof(node, deep);
  };

  it.each(["users", "groups", "audits"] as const)(
    "%s: the deepest filter the parser and the computed bound admit runs on D1; one level more is a 400",
    async (route) => {
      const leaf = { users: lambda, groups: lambda, audits: target }[route];
      const other = { users: "department eq 'x'", groups: "displayName eq 'x'", audits: "category eq 'x'" }[route];
      const at = (n: number) => nest(n, leaf, (inner) => `not (${other} or ${inner})`);
      const admitted = (n: number) => {
        try {
          routes[route](at(n));
          return true;
        } catch (e) {
          if (e instanceof ODataFilterError) return false;
          throw e;
        }
      };
      let levels = 0;
      while (admitted(levels + 1)) levels++;
      const deepestAccepted = at(levels);
      expect(levels).toBeGreaterThan(10);
      expect(await runs(route, deepestAccepted)).toBe(true);
      const depth = await measuredDepth(route, deepestAccepted);
      expect(depth).toBeLessThanOrEqual(ROUTE_DEPTH[route] + MODEL[route](parseODataFilter(deepestAccepted)));
      expect(depth).toBeLessThan(100);
    },
  );

  it.each(["users", "groups", "audits"] as const)(
    "property (%s): any accepted filter runs on D1 with ≤ 100 parameters, at a depth within the computed bound",
    async (route) => {
      await fc.assert(
        fc.asyncProperty(filterOf(route), async (filter) => {
          let built: { sql: string; params: unknown[] };
          try {
            built = routes[route](filter);
          } catch (e) {
            if (e instanceof ODataFilterError) return; // refused: a 400, which is the other acceptable outcome
            throw e;
          }
          expect(built.params.length).toBeLessThanOrEqual(100);
          expect(await runs(route, filter)).toBe(true);
          const depth = await measuredDepth(route, filter);
          // The compiler's computed bound, which it enforces (≤ MAX_FILTER_SQL_DEPTH), plus the route's own levels.
          const bound = MODEL[route](parseODataFilter(filter));
          expect(bound).toBeLessThanOrEqual(MAX_FILTER_SQL_DEPTH);
          expect(depth).toBeLessThanOrEqual(Math.max(ROUTE_FLOOR[route], ROUTE_DEPTH[route] + bound));
          deepest[route] = Math.max(deepest[route], depth);
          expect(filterNodeCount(parseODataFilter(filter))).toBeLessThanOrEqual(MAX_FILTER_NODES);
        }),
        { numRuns: route === "users" ? 150 : 80 },
      );
      // The random shapes do reach some depth; the test below takes each compiler to its bound.
      expect(deepest[route]).toBeGreaterThan(10);
    },
    120_000,
  );
});
