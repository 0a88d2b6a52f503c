/** Grammar-aware generators for the fuzz suite: OData query options per resource and dynamic membership rules. */
import fc from "fast-check";
import { groupSelectable } from "../../functions/directory/group-schemas.ts";
import { userSelectable } from "../../functions/directory/user-fields.ts";
import { SKU } from "./api.ts";
import { hostileText } from "./fuzz.ts";

// ---- OData literals and $filter ---------------------------------------------------------------------------------

const quoted = (s: string) => `'${s.replaceAll("'", "''")}'`;

/** Literals of every OData kind, well and badly formed. */
export const odataLiteral = (ids: readonly string[]): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 4, arbitrary: hostileText(40).map(quoted) },
    { weight: 1, arbitrary: hostileText(6000).map(quoted) },
    // an unescaped quote inside, an unterminated string
    { weight: 1, arbitrary: fc.string({ maxLength: 8 }).map((s) => `'${s}'${s}'`) },
    { weight: 1, arbitrary: fc.string({ maxLength: 8 }).map((s) => `'${s}`) },
    { weight: 2, arbitrary: fc.constantFrom(...Object.values(SKU), ...ids) },
    { weight: 1, arbitrary: fc.tuple(fc.uuid(), fc.boolean()).map(([u, q]) => (q ? quoted(u) : u)) },
    { weight: 1, arbitrary: fc.integer().map(String) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        "99999999999999999999999",
        "-0",
        "1e309",
        "0x10",
        "true",
        "false",
        "TRUE",
        "null",
        "NULL",
        "2024-01-01T00:00:00Z",
        "2024-01-01T00:00:00.1234567+14:00",
        "9999-99-99T99:99Z",
        "0000-00-00T00:00:00Z",
        "'2024-02-30T00:00:00Z'",
        "duration'P1D'",
        "binary'AA=='",
        "$it",
        "$root",
        "@p1",
      ),
    },
  );

type PropertyType = "string" | "boolean" | "datetime" | "int";

export type FilterResource = {
  /** Properties the resource's compiler knows (and some it does not). */
  props: readonly string[];
  /** The properties it filters on, with their types: most generated clauses are well typed, so they reach SQL. */
  typed: Readonly<Record<string, PropertyType>>;
  /** What $select and $orderby may name. */
  select: readonly string[];
  /** A lambda clause, given a literal: `collection/any(v: …)`, well formed or not. */
  lambda: (literal: fc.Arbitrary<string>) => fc.Arbitrary<string>;
};

const variable = fc.constantFrom("x", "t", "c", "l", "a1", "_", "it", "$it");

const skuLiteral = fc.oneof(fc.constantFrom(...Object.values(SKU)), fc.uuid(), fc.constant("'E3'"));

export const userFilterResource: FilterResource = {
  select: userSelectable,
  typed: {
    id: "string",
    userPrincipalName: "string",
    displayName: "string",
    mailNickname: "string",
    givenName: "string",
    surname: "string",
    mail: "string",
    jobTitle: "string",
    department: "string",
    companyName: "string",
    country: "string",
    employeeId: "string",
    usageLocation: "string",
    userType: "string",
    accountEnabled: "boolean",
    createdDateTime: "datetime",
    "assignedLicenses/$count": "int",
  },
  props: [
    "id",
    "userPrincipalName",
    "displayName",
    "mailNickname",
    "givenName",
    "surname",
    "mail",
    "jobTitle",
    "department",
    "companyName",
    "country",
    "employeeId",
    "usageLocation",
    "userType",
    "accountEnabled",
    "createdDateTime",
    "assignedLicenses/$count",
    "DISPLAYNAME",
    "manager/id",
    "unknownProperty",
    "assignedPlans",
  ],
  lambda: (literal) =>
    fc.oneof(
      fc.tuple(variable, skuLiteral).map(([v, s]) => `assignedLicenses/any(${v}:${v}/skuId eq ${s})`),
      fc.tuple(variable, skuLiteral).map(([v, s]) => `assignedLicenses/any(${v}:${v}/skuId ne ${s})`),
      fc
        .tuple(variable, fc.array(skuLiteral, { maxLength: 70 }))
        .map(([v, s]) => `assignedLicenses/any(${v}:${v}/skuId in (${s.join(",")}))`),
      fc.tuple(variable, literal).map(([v, s]) => `assignedLicenses/all(${v}:${v}/skuId eq ${s})`),
      fc.tuple(variable, literal).map(([v, s]) => `assignedPlans/any(${v}:${v}/servicePlanId eq ${s})`),
      fc
        .tuple(variable, variable, skuLiteral)
        .map(([v, w, s]) => `assignedLicenses/any(${v}:${v}/disabledPlans/any(${w}:${w} eq ${s}))`),
      fc.constant("assignedLicenses/any()"),
      fc.constant("assignedLicenses/any(x:)"),
    ),
};

export const groupFilterResource: FilterResource = {
  select: groupSelectable,
  typed: {
    id: "string",
    displayName: "string",
    mailNickname: "string",
    description: "string",
    membershipRule: "string",
    securityEnabled: "boolean",
    mailEnabled: "boolean",
    hasMembersWithLicenseErrors: "boolean",
  },
  props: [
    "id",
    "displayName",
    "mailNickname",
    "description",
    "membershipRule",
    "securityEnabled",
    "mailEnabled",
    "hasMembersWithLicenseErrors",
    "groupTypes",
    "createdDateTime",
    "unknownProperty",
  ],
  lambda: (literal) =>
    fc.oneof(
      fc.tuple(variable, literal).map(([v, s]) => `groupTypes/any(${v}:${v} eq ${s})`),
      fc.constantFrom(
        "groupTypes/any(c:c eq 'Unified')",
        "groupTypes/any(c:c eq 'DynamicMembership')",
        "groupTypes/any(c:c ne 'Unified')",
      ),
      fc.tuple(variable, skuLiteral).map(([v, s]) => `assignedLicenses/any(${v}:${v}/skuId eq ${s})`),
      fc.tuple(variable, literal).map(([v, s]) => `members/any(${v}:${v}/id eq ${s})`),
      fc.constant("groupTypes/any()"),
    ),
};

export const auditFilterResource: FilterResource = {
  select: ["id", "activityDisplayName", "activityDateTime", "targetResources"],
  typed: {
    activityDisplayName: "string",
    category: "string",
    result: "string",
    operationType: "string",
    correlationId: "string",
    activityDateTime: "datetime",
  },
  props: [
    "activityDisplayName",
    "category",
    "result",
    "operationType",
    "correlationId",
    "activityDateTime",
    "loggedByService",
    "initiatedBy/user/id",
    "id",
  ],
  lambda: (literal) =>
    fc.oneof(
      fc.tuple(variable, literal).map(([v, s]) => `targetResources/any(${v}:${v}/id eq ${s})`),
      fc.tuple(variable, literal).map(([v, s]) => `targetResources/any(${v}:${v}/displayName eq ${s})`),
      fc.tuple(variable, literal).map(([v, s]) => `targetResources/any(${v}:startswith(${v}/id, ${s}))`),
      fc.tuple(variable, literal).map(([v, s]) => `targetResources/all(${v}:${v}/id eq ${s})`),
      fc.constant("targetResources/any()"),
    ),
};

export const subscribedSkuFilterResource: FilterResource = {
  select: ["skuId", "skuPartNumber", "consumedUnits", "prepaidUnits"],
  typed: { skuPartNumber: "string", consumedUnits: "int" },
  props: ["skuId", "skuPartNumber", "capabilityStatus", "consumedUnits", "appliesTo"],
  lambda: (literal) => literal.map((s) => `servicePlans/any(p:p/servicePlanId eq ${s})`),
};

const comparisonOperator = fc.constantFrom("eq", "ne", "gt", "ge", "lt", "le", "EQ", "has", "like", "eqq", "");
const functionName = fc.constantFrom("startswith", "endswith", "startsWith", "contains", "substringof", "length");

const typedLiteral: Record<PropertyType, fc.Arbitrary<string>> = {
  string: fc.oneof(
    { weight: 4, arbitrary: hostileText(40).map(quoted) },
    { weight: 1, arbitrary: fc.constantFrom("'Sales'", "'Adele Vance'", "'Ünïcødé 𝒰ser'", "'O''Brien'", "''") },
  ),
  boolean: fc.constantFrom("true", "false"),
  datetime: fc.oneof(
    fc
      .date({ noInvalidDate: true, min: new Date("0001-01-01"), max: new Date("9999-12-31") })
      .map((d) => d.toISOString()),
    fc.constantFrom("2024-01-01T00:00:00Z", "2024-01-01T00:00:00.1234567+14:00", "9999-12-31T23:59:59Z"),
  ),
  int: fc.oneof(fc.integer({ min: -3, max: 5 }).map(String), fc.constantFrom("2147483648", "-2147483649")),
};
const opsFor: Record<PropertyType, fc.Arbitrary<string>> = {
  string: fc.constantFrom("eq", "ne", "ge", "le", "gt", "lt"),
  boolean: fc.constantFrom("eq", "ne"),
  datetime: fc.constantFrom("ge", "le", "gt", "lt", "eq"),
  int: fc.constantFrom("eq", "ne", "gt", "le"),
};

/** A clause Graph would accept: a known property, an operator it takes, a literal of its type (with hostile text). */
function typedClause(resource: FilterResource): fc.Arbitrary<string> {
  const entries = Object.entries(resource.typed) as [string, PropertyType][];
  const strings = entries.filter(([, t]) => t === "string").map(([p]) => p);
  const compare = fc
    .constantFrom(...entries)
    .chain(([p, t]) => fc.tuple(opsFor[t], typedLiteral[t]).map(([o, v]) => `${p} ${o} ${v}`));
  const str = fc.constantFrom(...strings);
  return fc.oneof(
    { weight: 4, arbitrary: compare },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom("startswith", "endswith"), str, typedLiteral.string)
        .map(([f, p, v]) => `${f}(${p},${v})`),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(str, fc.array(typedLiteral.string, { minLength: 1, maxLength: 70 }))
        .map(([p, vs]) => `${p} in (${vs.join(",")})`),
    },
    { weight: 1, arbitrary: fc.tuple(str, fc.constantFrom("eq", "ne")).map(([p, o]) => `${p} ${o} null`) },
  );
}

/** One clause of a filter over `resource`: mostly well typed, else any property, operator and literal. */
export function filterClause(resource: FilterResource, ids: readonly string[]): fc.Arbitrary<string> {
  const literal = odataLiteral(ids);
  const prop = fc.constantFrom(...resource.props);
  return fc.oneof(
    { weight: 6, arbitrary: typedClause(resource) },
    { weight: 3, arbitrary: fc.tuple(prop, comparisonOperator, literal).map(([p, o, v]) => `${p} ${o} ${v}`) },
    { weight: 1, arbitrary: fc.tuple(functionName, prop, literal).map(([f, p, v]) => `${f}(${p},${v})`) },
    {
      weight: 1,
      arbitrary: fc.tuple(prop, fc.array(literal, { maxLength: 80 })).map(([p, vs]) => `${p} in (${vs.join(", ")})`),
    },
    { weight: 4, arbitrary: resource.lambda(literal) },
  );
}

/** A whole `$filter`: nested and/or/not and parentheses over clauses, long flat chains, and character-level mutations. */
export function filterText(resource: FilterResource, ids: readonly string[]): fc.Arbitrary<string> {
  const clause = filterClause(resource, ids);
  const { tree } = fc.letrec<{ tree: string }>((tie) => ({
    tree: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      clause,
      tie("tree").map((e) => `(${e})`),
      tie("tree").map((e) => `not ${e}`),
      fc
        .tuple(tie("tree"), fc.constantFrom("and", "or", "AND", "Or"), tie("tree"))
        .map(([a, o, b]) => `${a} ${o} ${b}`),
    ),
  }));
  const chain = fc
    .tuple(clause, fc.integer({ min: 10, max: 130 }), fc.constantFrom("and", "or"))
    .map(([c, n, op]) => Array.from({ length: n }, () => c).join(` ${op} `));
  const deep = fc
    .tuple(clause, fc.integer({ min: 20, max: 200 }), fc.constantFrom("(", "not (", "not "))
    .map(([c, n, open]) => `${open.repeat(n)}${c}${open.includes("(") ? ")".repeat(n) : ""}`);
  return fc.oneof(
    { weight: 5, arbitrary: tree },
    { weight: 2, arbitrary: chain },
    { weight: 1, arbitrary: deep },
    { weight: 2, arbitrary: fc.tuple(tree, fc.array(mutation, { minLength: 1, maxLength: 4 })).map(mutate) },
  );
}

type Mutation = { at: number; kind: "delete" | "insert" | "duplicate"; text: string };
const mutation: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom("delete", "insert", "duplicate"),
  text: fc.constantFrom("(", ")", "'", ",", ":", "/", " and ", " not ", "any(", "\u0000", "\ud800", "$", "''"),
});

function mutate([text, mutations]: [string, Mutation[]]): string {
  let out = text;
  for (const m of mutations) {
    const at = out.length === 0 ? 0 : m.at % out.length;
    if (m.kind === "delete") out = out.slice(0, at) + out.slice(at + 1);
    else if (m.kind === "insert") out = out.slice(0, at) + m.text + out.slice(at);
    else out = out.slice(0, at) + out.slice(at, at + 20) + out.slice(at);
  }
  return out;
}

// ---- the other query options --------------------------------------------------------------------------------------

/** `$select`: known and unknown properties, odd separators and casing. */
export const selectText = (props: readonly string[]): fc.Arbitrary<string> =>
  fc.oneof(
    {
      weight: 4,
      arbitrary: fc.array(fc.constantFrom(...props), { minLength: 1, maxLength: 6 }).map((ps) => ps.join(",")),
    },
    {
      weight: 1,
      arbitrary: fc
        .array(fc.oneof(fc.constantFrom(...props), hostileText(20)), { maxLength: 12 })
        .map((ps) => ps.join(",")),
    },
    { weight: 1, arbitrary: fc.array(fc.constantFrom(...props), { maxLength: 200 }).map((ps) => ps.join(" , ")) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        "*",
        ",",
        ",,id,",
        "id,ID",
        "assignedLicenses/skuId",
        "$ref",
        "id)",
        "displayName desc",
      ),
    },
  );

export const orderbyText = (props: readonly string[]): fc.Arbitrary<string> =>
  fc.oneof(
    fc
      .tuple(fc.constantFrom(...props), fc.constantFrom("", " asc", " desc", " DESC", " sideways"))
      .map(([p, d]) => `${p}${d}`),
    fc.array(fc.constantFrom(...props), { minLength: 2, maxLength: 30 }).map((ps) => ps.join(",")),
    hostileText(30),
  );

export const searchText: fc.Arbitrary<string> = fc.oneof(
  hostileText(30).map((s) => `"displayName:${s.replaceAll('"', '\\"')}"`),
  fc
    .array(hostileText(10), { minLength: 2, maxLength: 40 })
    .map((ss) => ss.map((s) => `"displayName:${s}"`).join(" OR ")),
  fc.constantFrom('"mail:a"', '"displayName:"', "displayName:a", '"', '""', '"unknown:x"', '"displayName:a" AND'),
  // the grammar's corners: grouping, NOT (refused), implicit AND, escapes, nesting and clause counts past the bounds,
  // words past D1's 50-byte GLOB pattern limit
  fc.constantFrom(
    '("displayName:a" OR "mail:b") AND "description:c"',
    'NOT "displayName:a"',
    '"displayName:a" "displayName:b"',
    '"displayName:\\"q\\\\"',
    `${"(".repeat(40)}"displayName:a"${")".repeat(40)}`,
    `${"(".repeat(40)}"displayName:a"`,
    Array.from({ length: 30 }, (_, i) => `"displayName:w${i}"`).join(" AND "),
    `"displayName:${"漢".repeat(40)}"`,
    `"mail:${"%_".repeat(60)}"`,
    `"displayName:${"aB1-".repeat(60)}"`,
  ),
  fc
    .array(fc.tuple(fc.constantFrom("displayName", "description", "mail", "userPrincipalName"), hostileText(12)), {
      minLength: 1,
      maxLength: 12,
    })
    .chain((clauses) =>
      fc
        .array(fc.constantFrom(" AND ", " OR ", " "), { minLength: clauses.length, maxLength: clauses.length })
        .map((ops) => clauses.map(([p, v], i) => `${i ? ops[i] : ""}"${p}:${v.replace(/["\\]/g, "\\$&")}"`).join("")),
    ),
  hostileText(60),
);

export const topText: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 999 }).map(String) },
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.integer({ min: -5, max: 1200 }).map(String),
      fc.constantFrom("", "0", "1000", "1e3", "+5", " 5", "5 ", "٣", "0x10", "9".repeat(400), "NaN", "-0", "1.5"),
    ),
  },
);

export const countText: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("true", "false") },
  { weight: 1, arbitrary: fc.constantFrom("TRUE", "1", "", "yes", "true,true") },
);

export const skiptokenText: fc.Arbitrary<string> = fc.oneof(
  fc.base64String({ maxLength: 200 }),
  hostileText(60).map((s) => btoa(String.fromCharCode(...new TextEncoder().encode(s)))),
  hostileText(30),
  fc.constantFrom("====", "%%%", "a|b|c", btoa("|"), btoa("x|y|z"), btoa("\u0000")),
);

/**
 * A query string for a list route: any combination of the options, each generated for the resource, plus ones Graph
 * refuses on directory objects ($skip, $expand) and made-up ones. `encode` percent-encodes each value.
 */
export function listQuery(
  resource: FilterResource,
  ids: readonly string[],
  encode: (value: string) => string,
): fc.Arbitrary<{ query: string; headers: Record<string, string> }> {
  // Each option present or not; the ones that refuse the whole request early ($orderby, $search, $skip …) are
  // rarer, so most requests reach the $filter compiler.
  const sometimes = <T>(arb: fc.Arbitrary<T>, presentOneIn: number): fc.Arbitrary<T | undefined> =>
    fc.oneof({ weight: presentOneIn - 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });
  const options = fc.record({
    $filter: fc.option(filterText(resource, ids), { nil: undefined, freq: 5 }),
    $select: sometimes(selectText(resource.select), 3),
    $top: sometimes(topText, 3),
    $count: sometimes(countText, 3),
    $skiptoken: sometimes(skiptokenText, 6),
    $orderby: sometimes(orderbyText(resource.select), 8),
    $search: sometimes(searchText, 8),
    $skip: sometimes(fc.constantFrom("1", "0", "-1", "x"), 12),
    $expand: sometimes(fc.constantFrom("memberOf", "manager", "*", "members($select=id)"), 12),
    $format: sometimes(fc.constantFrom("json", "xml"), 12),
  });
  return fc
    .tuple(
      options,
      fc.constantFrom<Record<string, string>>(
        { ConsistencyLevel: "eventual" },
        { ConsistencyLevel: "eventual" },
        {},
        { ConsistencyLevel: "bogus" },
      ),
      // a raw suffix: duplicate options, invalid percent-encodings, bare names
      fc.oneof(
        { weight: 12, arbitrary: fc.constant("") },
        {
          weight: 1,
          arbitrary: fc.constantFrom(
            "&$top=5&$top=6",
            "&%FF%FE=1",
            "&$filter=%ED%A0%80",
            "&$select",
            "&=",
            "&$count=true&$count=false",
          ),
        },
      ),
    )
    .map(([opts, headers, raw]) => ({
      query: `?${Object.entries(opts)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k}=${encode(v!)}`)
        .join("&")}${raw}`,
      headers,
    }));
}

// ---- dynamic membership rules ---------------------------------------------------------------------------------------

/** Regular expressions built to make a backtracking engine explode, and the constructs RE2 refuses. */
export const hostileRegex: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "(a|a)*b",
    "(.*a){12}b",
    "(a+)+$",
    "((a+)+)+b",
    "(x+x+)+y",
    "^(a|aa)+$",
    "(.*){1,30}[bc]",
    "(\\w+\\.)+@",
    "^(([a-z])+.)+[A-Z]([a-z])+$",
    "(a*)*b",
    "(a|b|ab)*c",
    "([a-zA-Z]+)*$",
    "(.*a){20}",
    "a{1000}",
    "a{1001}",
    "(a{1000}){1000}",
    "((a{100}){100}){100}",
    "[\\x{0}-\\x{10FFFF}]{500}",
    "\\p{L}+\\p{Greek}*",
    "(?i)ß",
    "(a)\\1",
    "(?<n>a)\\k<n>",
    "(?=a)a",
    "(?!a)b",
    "(?<=a)b",
    "(?<!a)b",
    "(?>a+)b",
    "a++b",
    "a*+b",
    "(?(1)a|b)",
    "(?#comment)a",
    "a\\Z",
    "\\Ga",
    "\\u0041\\u00",
    "[",
    "(",
    ")",
    "*a",
    "a{2,1}",
    "\\",
    "[z-a]",
    "(?P<x>a)(?P=x)",
    "\\Q(a|a)*\\E",
  ),
  // random nesting of groups and quantifiers over a small alphabet
  fc
    .array(
      fc.constantFrom("a", "b", ".", "(", ")", "|", "*", "+", "?", "{12}", "{1,1000}", "[a-z]", "\\d", "\\w", "^", "$"),
      { maxLength: 40 },
    )
    .map((parts) => parts.join("")),
  fc
    .tuple(fc.integer({ min: 1, max: 12 }), fc.constantFrom("(a|a)", "(a*)", "(.*a)", "(a?)", "(a|b)"))
    .map(([n, g]) => `${"(".repeat(n)}${g}${")*".repeat(n)}b`),
  fc.integer({ min: 200, max: 400 }).map((n) => "a".repeat(n)),
  fc.string({ unit: "binary", maxLength: 30 }),
);

const ruleProperty = fc.constantFrom(
  "user.department",
  "user.displayName",
  "user.mail",
  "user.userPrincipalName",
  "user.jobTitle",
  "user.companyName",
  "user.country",
  "user.usageLocation",
  "user.employeeId",
  "user.objectId",
  "user.userType",
  "user.accountEnabled",
  "user.mailNickname",
  "user.givenName",
  "user.surname",
  "user.Department",
  "user.memberOf",
  "device.deviceOSType",
  "user.assignedPlans",
);
const ruleOperator = fc.constantFrom(
  "-eq",
  "-ne",
  "-startsWith",
  "-notStartsWith",
  "-endsWith",
  "-contains",
  "-notContains",
  "-match",
  "-notMatch",
  "-in",
  "-notIn",
  "-EQ",
  "-any",
  "-all",
  "-like",
  "eq",
);

/** Quotes a value for a rule (only \" and \\ are escapes there). */
const ruleQuote = (s: string) => `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

export const ruleValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: hostileText(30).map(ruleQuote) },
  { weight: 3, arbitrary: hostileRegex.map(ruleQuote) },
  {
    weight: 1,
    arbitrary: fc.array(hostileText(10).map(ruleQuote), { maxLength: 40 }).map((vs) => `[${vs.join(",")}]`),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom("null", "true", "false", "True", '"', '"unterminated', "[", '["a",', "[]", "''"),
  },
);

/** Text a rule's string may hold and the text rules let through: any code point but controls and lone surrogates. */
const ruleText = (maxLength: number) => fc.string({ unit: "binary", maxLength }).map(withoutControls);

/** Drops C0 and C1 controls (the text rules refuse them everywhere; the rule suite wants its rules parsed). */
function withoutControls(text: string): string {
  return [...text]
    .filter((c) => {
      const n = c.codePointAt(0)!;
      return n >= 0x20 && (n < 0x7f || n > 0x9f);
    })
    .join("");
}

const validStringProperty = fc.constantFrom(
  "user.department",
  "user.displayName",
  "user.mail",
  "user.userPrincipalName",
  "user.jobTitle",
  "user.companyName",
  "user.country",
  "user.objectId",
  "user.userType",
);

/** A clause the parser accepts (mostly): a property, an operator it takes, a value of the right shape. */
const validRuleClause: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        validStringProperty,
        fc.constantFrom("-eq", "-ne", "-startsWith", "-notStartsWith", "-endsWith", "-contains", "-notContains"),
        fc.oneof(ruleText(12), fc.constantFrom("Sales", "sales", "HR", "a", "Ünïcødé", "Member", "Guest")),
      )
      .map(([p, o, v]) => `${p} ${o} ${ruleQuote(v)}`),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(validStringProperty, fc.constantFrom("-match", "-notMatch"), hostileRegex)
      .map(([p, o, v]) => `${p} ${o} ${ruleQuote(withoutControls(v))}`),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        validStringProperty,
        fc.constantFrom("-in", "-notIn"),
        fc.array(ruleText(8), { minLength: 1, maxLength: 20 }),
      )
      .map(([p, o, vs]) => `${p} ${o} [${vs.map(ruleQuote).join(", ")}]`),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(validStringProperty, fc.constantFrom("-eq", "-ne")).map(([p, o]) => `${p} ${o} null`),
  },
  { weight: 1, arbitrary: fc.constantFrom("user.accountEnabled -eq true", "user.accountEnabled -ne false") },
);

const ruleClause: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: validRuleClause },
  { weight: 1, arbitrary: fc.tuple(ruleProperty, ruleOperator, ruleValue).map(([p, o, v]) => `${p} ${o} ${v}`) },
);

/** A membership rule: nested -and/-or/-not over clauses, long chains near the length limit, deep parentheses. */
export const membershipRuleText: fc.Arbitrary<string> = (() => {
  const { tree } = fc.letrec<{ tree: string }>((tie) => ({
    tree: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      ruleClause,
      tie("tree").map((e) => `(${e})`),
      tie("tree").map((e) => `-not ${e}`),
      fc
        .tuple(tie("tree"), fc.constantFrom("-and", "-or", "-AND", "and"), tie("tree"))
        .map(([a, o, b]) => `${a} ${o} ${b}`),
    ),
  }));
  const chain = fc
    .tuple(ruleClause, fc.integer({ min: 10, max: 120 }), fc.constantFrom(" -or ", " -and "))
    .map(([c, n, op]) => Array.from({ length: n }, () => c).join(op));
  const deep = fc
    .tuple(ruleClause, fc.integer({ min: 20, max: 60 }))
    .map(([c, n]) => `${"(".repeat(n)}${c}${")".repeat(n)}`);
  const notChain = fc.tuple(ruleClause, fc.integer({ min: 10, max: 700 })).map(([c, n]) => `${"-not ".repeat(n)}${c}`);
  return fc.oneof(
    { weight: 6, arbitrary: tree },
    { weight: 2, arbitrary: chain },
    { weight: 1, arbitrary: deep },
    { weight: 1, arbitrary: notChain },
    { weight: 1, arbitrary: fc.tuple(tree, fc.array(mutation, { minLength: 1, maxLength: 3 })).map(mutate) },
  );
})();
