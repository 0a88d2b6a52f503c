// OData v4 `$filter` parser for the subset Microsoft Graph accepts on directory objects.
// Pure: resource-specific compilers (users, groups) turn the AST into SQL.

export const MAX_FILTER_LENGTH = 4096;
/** Nesting through parentheses, `not` and lambdas; also what keeps the parser's recursion shallow. */
export const MAX_FILTER_DEPTH = 32;
// D1 allows at most 100 bound parameters per statement; the route needs a few of its own (tenant, cursor, page size).
export const MAX_FILTER_PARAMS = 64;
/**
 * Complexity bounds, checked on the AST before any SQL is built, so that neither of D1's limits can be reached: 100
 * bound parameters per statement, and an expression tree at most 100 deep (D1 lowers SQLite's default of 1000; measured:
 * 99 `AND`ed terms pass, 100 fail). MAX_FILTER_NODES is ODataLib's default MaxNodeCount, whose error Graph's OData
 * services answer with. A lambda is a correlated subquery run per row and adds a subquery's depth, so it costs
 * LAMBDA_NODE_COST nodes besides its body. MAX_OR_CLAUSES bounds one `or` chain or `in` list (Graph's own limit is 15
 * without advanced query parameters; seatflow admits more but stays under the parameter limit).
 */
export const MAX_FILTER_NODES = 100;
export const LAMBDA_NODE_COST = 5;
export const MAX_OR_CLAUSES = 64;

export type ODataFilterErrorCode = "BadRequest" | "Request_BadRequest" | "Request_UnsupportedQuery";

export class ODataFilterError extends Error {
  override name = "ODataFilterError";
  // 0-based offset into the filter text; -1 for semantic errors, which are reported against the AST
  // (printed text would not line up with what the client sent).
  position: number;
  code: ODataFilterErrorCode;

  constructor(message: string, position: number, code: ODataFilterErrorCode = "BadRequest") {
    super(message);
    this.position = position;
    this.code = code;
  }
}

export type ComparisonOperator = "eq" | "ne" | "gt" | "ge" | "lt" | "le";
export type FilterFunctionName = "startswith" | "endswith";
export type LambdaOperator = "any" | "all";

export type FilterLiteral =
  | { kind: "string"; value: string }
  | { kind: "boolean"; value: boolean }
  | { kind: "null" }
  | { kind: "int"; value: number }
  // Kept as written so compilers decide on normalisation (sku ids are lower-cased, dates re-serialised).
  | { kind: "guid"; value: string }
  | { kind: "datetime"; value: string };

/** Segments as written by the client; compilers match names case-insensitively. */
export type FilterPath = string[];

export type FilterNode =
  | { kind: "or"; left: FilterNode; right: FilterNode }
  | { kind: "and"; left: FilterNode; right: FilterNode }
  | { kind: "not"; operand: FilterNode }
  | { kind: "compare"; op: ComparisonOperator; path: FilterPath; value: FilterLiteral }
  | { kind: "in"; path: FilterPath; values: FilterLiteral[] }
  | { kind: "function"; name: FilterFunctionName; path: FilterPath; value: FilterLiteral }
  | { kind: "lambda"; operator: LambdaOperator; path: FilterPath; variable: string; body: FilterNode };

const COMPARISON_OPERATORS: ReadonlySet<string> = new Set(["eq", "ne", "gt", "ge", "lt", "le"]);
const FUNCTIONS: ReadonlySet<string> = new Set(["startswith", "endswith"]);
const LAMBDAS: ReadonlySet<string> = new Set(["any", "all"]);

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
// `$count`, `$it`: system segments are only meaningful after a `/`, but the parser leaves that to compilers.
const SYSTEM_SEGMENT = /^\$[A-Za-z]+$/;
const INTEGER = /^-?[0-9]+$/;
export const GUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
// Something the client evidently meant as a GUID; reported as Graph does instead of as a stray token.
const GUID_LIKE = /^[0-9a-fA-F]+(?:-[0-9a-fA-F]*)+$/;
export const DATETIME_PATTERN =
  /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.[0-9]{1,7})?)?(Z|[+-]([0-9]{2}):([0-9]{2}))$/i;
const DATETIME_TOKEN =
  /[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,7})?)?(?:Z|[+-][0-9]{2}:[0-9]{2})/iy;
const WORD_TOKEN = /[A-Za-z0-9_$.-]+/y;

type TokenType = "(" | ")" | "," | "/" | ":" | "string" | "datetime" | "word" | "eof";

interface Token {
  type: TokenType;
  // Decoded value for strings, raw text otherwise.
  value: string;
  pos: number;
  // Source text, for error messages.
  text: string;
}

function syntaxError(message: string, position: number): ODataFilterError {
  return new ODataFilterError(`Invalid filter clause: ${message} at position ${position}.`, position);
}

function unexpected(token: Token): ODataFilterError {
  if (token.type === "eof") return syntaxError("unexpected end of input", token.pos);
  return syntaxError(`unexpected '${token.text}'`, token.pos);
}

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (c === " " || c === "\t" || c === "\r" || c === "\n") {
      i++;
      continue;
    }
    if (c === "(" || c === ")" || c === "," || c === "/" || c === ":") {
      tokens.push({ type: c, value: c, pos: i, text: c });
      i++;
      continue;
    }
    if (c === "'") {
      let value = "";
      let j = i + 1;
      for (;;) {
        const q = input.indexOf("'", j);
        if (q < 0) throw syntaxError("unterminated string literal", i);
        value += input.slice(j, q);
        if (input[q + 1] === "'") {
          value += "'";
          j = q + 2;
          continue;
        }
        j = q + 1;
        break;
      }
      tokens.push({ type: "string", value, pos: i, text: input.slice(i, j) });
      i = j;
      continue;
    }
    if (c >= "0" && c <= "9") {
      DATETIME_TOKEN.lastIndex = i;
      const m = DATETIME_TOKEN.exec(input);
      if (m) {
        tokens.push({ type: "datetime", value: m[0], pos: i, text: m[0] });
        i += m[0].length;
        continue;
      }
    }
    WORD_TOKEN.lastIndex = i;
    const w = WORD_TOKEN.exec(input);
    if (w) {
      tokens.push({ type: "word", value: w[0], pos: i, text: w[0] });
      i += w[0].length;
      continue;
    }
    const cp = input.codePointAt(i)!;
    throw syntaxError(`unexpected '${String.fromCodePoint(cp)}'`, i);
  }
  tokens.push({ type: "eof", value: "", pos: input.length, text: "" });
  return tokens;
}

class Parser {
  private readonly input: string;
  private readonly tokens: Token[];
  private index = 0;
  private depth = 0;

  constructor(input: string) {
    this.input = input;
    this.tokens = tokenize(input);
  }

  parse(): FilterNode {
    const node = this.parseOr();
    const rest = this.peek();
    if (rest.type !== "eof") throw unexpected(rest);
    return node;
  }

  private peek(offset = 0): Token {
    // The eof token is always last, so clamping keeps lookahead total.
    return this.tokens[Math.min(this.index + offset, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const t = this.peek();
    if (t.type !== "eof") this.index++;
    return t;
  }

  private expect(type: TokenType): Token {
    const t = this.peek();
    if (t.type !== type) throw unexpected(t);
    return this.next();
  }

  private isKeyword(token: Token, keyword: string): boolean {
    return token.type === "word" && token.value.toLowerCase() === keyword;
  }

  // Recursion only happens through parentheses, `not` and lambdas, so bounding those bounds the stack.
  private enter(token: Token): void {
    if (++this.depth > MAX_FILTER_DEPTH) {
      throw syntaxError(`expression is nested deeper than ${MAX_FILTER_DEPTH} levels`, token.pos);
    }
  }

  private leave(): void {
    this.depth--;
  }

  private parseOr(): FilterNode {
    let left = this.parseAnd();
    while (this.isKeyword(this.peek(), "or")) {
      this.next();
      left = { kind: "or", left, right: this.parseAnd() };
    }
    return left;
  }

  private parseAnd(): FilterNode {
    let left = this.parseUnary();
    while (this.isKeyword(this.peek(), "and")) {
      this.next();
      left = { kind: "and", left, right: this.parseUnary() };
    }
    return left;
  }

  private parseUnary(): FilterNode {
    const t = this.peek();
    if (this.isKeyword(t, "not")) {
      this.enter(t);
      this.next();
      const operand = this.parseUnary();
      this.leave();
      return { kind: "not", operand };
    }
    if (t.type === "(") {
      this.enter(t);
      this.next();
      const inner = this.parseOr();
      this.expect(")");
      this.leave();
      return inner;
    }
    if (t.type === "word" && IDENTIFIER.test(t.value) && this.peek(1).type === "(") {
      return this.parseFunction();
    }
    return this.parsePathExpression();
  }

  private parseFunction(): FilterNode {
    const nameToken = this.next();
    const name = nameToken.value.toLowerCase();
    if (!FUNCTIONS.has(name)) throw syntaxError(`unknown function '${nameToken.text}'`, nameToken.pos);
    this.expect("(");
    const path = this.parsePlainPath();
    this.expect(",");
    const value = this.parseLiteral();
    this.expect(")");
    return { kind: "function", name: name as FilterFunctionName, path, value };
  }

  private parseSegment(first: boolean): string {
    const t = this.peek();
    if (t.type !== "word" || !(IDENTIFIER.test(t.value) || (!first && SYSTEM_SEGMENT.test(t.value)))) {
      throw unexpected(t);
    }
    this.next();
    return t.value;
  }

  private parsePlainPath(): FilterPath {
    const path = [this.parseSegment(true)];
    while (this.peek().type === "/") {
      this.next();
      path.push(this.parseSegment(false));
    }
    return path;
  }

  private parsePathExpression(): FilterNode {
    const path = [this.parseSegment(true)];
    while (this.peek().type === "/") {
      this.next();
      const seg = this.peek();
      if (seg.type === "word" && LAMBDAS.has(seg.value.toLowerCase()) && this.peek(1).type === "(") {
        return this.parseLambda(path);
      }
      path.push(this.parseSegment(false));
    }
    const op = this.peek();
    if (op.type === "word") {
      const keyword = op.value.toLowerCase();
      if (COMPARISON_OPERATORS.has(keyword)) {
        this.next();
        return { kind: "compare", op: keyword as ComparisonOperator, path, value: this.parseLiteral() };
      }
      if (keyword === "in") {
        this.next();
        return { kind: "in", path, values: this.parseLiteralList() };
      }
    }
    throw unexpected(op);
  }

  private parseLambda(path: FilterPath): FilterNode {
    const opToken = this.next();
    this.expect("(");
    const varToken = this.peek();
    if (varToken.type !== "word" || !IDENTIFIER.test(varToken.value)) throw unexpected(varToken);
    this.next();
    this.expect(":");
    this.enter(opToken);
    const body = this.parseOr();
    this.leave();
    this.expect(")");
    return {
      kind: "lambda",
      operator: opToken.value.toLowerCase() as LambdaOperator,
      path,
      variable: varToken.value,
      body,
    };
  }

  private parseLiteralList(): FilterLiteral[] {
    this.expect("(");
    const values = [this.parseLiteral()];
    while (this.peek().type === ",") {
      this.next();
      values.push(this.parseLiteral());
    }
    this.expect(")");
    return values;
  }

  private parseLiteral(): FilterLiteral {
    const t = this.peek();
    if (t.type === "string") {
      this.next();
      return { kind: "string", value: t.value };
    }
    if (t.type === "datetime") {
      this.next();
      return { kind: "datetime", value: t.value };
    }
    if (t.type !== "word") throw unexpected(t);
    const lower = t.value.toLowerCase();
    let literal: FilterLiteral;
    if (lower === "true" || lower === "false") literal = { kind: "boolean", value: lower === "true" };
    else if (lower === "null") literal = { kind: "null" };
    else if (INTEGER.test(t.value)) {
      const n = Number(t.value);
      if (!Number.isSafeInteger(n)) throw syntaxError(`integer literal '${t.text}' is out of range`, t.pos);
      // Normalise -0 so ASTs compare equal after a print/parse round trip.
      literal = { kind: "int", value: n === 0 ? 0 : n };
    } else if (GUID_PATTERN.test(t.value)) literal = { kind: "guid", value: t.value };
    else if (GUID_LIKE.test(t.value)) {
      throw new ODataFilterError(
        `Unrecognized 'Edm.Guid' literal '${t.text}' at '${t.pos}' in '${this.input}'.`,
        t.pos,
        "Request_BadRequest",
      );
    } else throw unexpected(t);
    this.next();
    return literal;
  }
}

export function parseODataFilter(input: string): FilterNode {
  if (input.length > MAX_FILTER_LENGTH) {
    throw new ODataFilterError(
      `Invalid filter clause: the filter is longer than ${MAX_FILTER_LENGTH} characters.`,
      MAX_FILTER_LENGTH,
    );
  }
  const node = new Parser(input).parse();
  checkFilterComplexity(node);
  return node;
}

// ---- Complexity: bounded here so compilers can never build SQL that D1 refuses ----

/** The operands of a chain of one connective, in order: `a and (b and c)` → [a, b, c] (AND and OR are associative). */
export function chainOperands(node: FilterNode, kind: "and" | "or"): FilterNode[] {
  const out: FilterNode[] = [];
  const stack: FilterNode[] = [node];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (n.kind === kind) stack.push(n.right, n.left);
    else out.push(n);
  }
  return out;
}

/** Nodes as the complexity bound counts them: one per AST node, one per `in` value, LAMBDA_NODE_COST per lambda. */
export function filterNodeCount(node: FilterNode): number {
  switch (node.kind) {
    case "and":
    case "or":
      return 1 + filterNodeCount(node.left) + filterNodeCount(node.right);
    case "not":
      return 1 + filterNodeCount(node.operand);
    case "lambda":
      return LAMBDA_NODE_COST + filterNodeCount(node.body);
    case "in":
      return 1 + node.values.length;
    default:
      return 1;
  }
}

/**
 * Graph's directory answer to an `or` chain or `in` list over its limit (Request_UnsupportedQuery; quoted in
 * microsoftgraph/microsoft-graph-docs#21098 for 16 `in` values).
 */
export function tooManyOrClauses(count: number): ODataFilterError {
  return new ODataFilterError(
    `Too many child clauses specified in search filter expression containing 'OR' operators: ${count}. Max allowed: ${MAX_OR_CLAUSES}.`,
    -1,
    "Request_UnsupportedQuery",
  );
}

/**
 * ODataLib's answer to a filter over MaxNodeCount, with the prefix Graph's OData services put on query errors (e.g.
 * "The query specified in the URI is not valid. The limit of '0' for Top query has been exceeded.",
 * microsoftgraph/msgraph-sdk-powershell#2466). ODataLib's server-side hint about MaxNodeCount is left out.
 */
export function nodeCountExceeded(): ODataFilterError {
  return new ODataFilterError(
    `The query specified in the URI is not valid. The node count limit of '${MAX_FILTER_NODES}' has been exceeded.`,
    -1,
  );
}

/**
 * The same family of message (after ODataLib's "The limit of '0' for Top query has been exceeded.") for more bound
 * values than a statement can carry; compilers raise it while binding, so before any SQL is complete.
 */
export function tooManyFilterValues(): ODataFilterError {
  return new ODataFilterError(
    `The query specified in the URI is not valid. The limit of '${MAX_FILTER_PARAMS}' for filter values has been exceeded.`,
    -1,
  );
}

/** Throws the 400 a filter too complex to run gets; parseODataFilter calls it, so compilers see bounded ASTs. */
export function checkFilterComplexity(node: FilterNode): void {
  const walk = (n: FilterNode, parentKind: FilterNode["kind"] | null): void => {
    switch (n.kind) {
      case "and":
      case "or":
        if (n.kind === "or" && parentKind !== "or") {
          const operands = chainOperands(n, "or").length;
          if (operands > MAX_OR_CLAUSES) throw tooManyOrClauses(operands);
        }
        walk(n.left, n.kind);
        walk(n.right, n.kind);
        return;
      case "not":
        walk(n.operand, n.kind);
        return;
      case "lambda":
        walk(n.body, n.kind);
        return;
      case "in":
        if (n.values.length > MAX_OR_CLAUSES) throw tooManyOrClauses(n.values.length);
        return;
      default:
        return;
    }
  };
  walk(node, null);
  if (filterNodeCount(node) > MAX_FILTER_NODES) throw nodeCountExceeded();
}

/**
 * Depth D1 may spend on a filter's own SQL: D1 refuses expression trees deeper than 100, and each route wraps the
 * filter a few levels deep (tenant, soft-delete and cursor conditions); 80 leaves those and a margin.
 */
export const MAX_FILTER_SQL_DEPTH = 80;

/**
 * Graph's directory answer to a filter nested too deep (Request_UnsupportedQuery; quoted in
 * microsoftgraph/microsoft-graph-docs#3641 as "search filter expression has excessive height: 4. Max allowed: 3").
 * The height reported here is the SQL depth of the compiled filter, the measure seatflow bounds.
 */
export function excessiveHeight(height: number): ODataFilterError {
  return new ODataFilterError(
    `Search filter expression has excessive height: ${height}. Max allowed: ${MAX_FILTER_SQL_DEPTH}.`,
    -1,
    "Request_UnsupportedQuery",
  );
}

/** A run of `not`s and what it negates: compilers emit one negation for an odd run and none for an even one. */
export function unwrapNots(node: Extract<FilterNode, { kind: "not" }>): { operand: FilterNode; negate: boolean } {
  let operand: FilterNode = node.operand;
  let negate = true;
  while (operand.kind === "not") {
    operand = operand.operand;
    negate = !negate;
  }
  return { operand, negate };
}

/**
 * How deep a compiler's SQL for each construct is, as SQLite counts it (measured on D1 in test/unit/odata-filter).
 * SQLite counts an expression's height, and when it resolves a subquery it adds that subquery's WHERE height to the
 * height of the whole statement so far; so a subquery costs its height where it sits, and its WHERE once more.
 */
export interface SqlDepthModel {
  /** Levels an odd run of `not`s adds, and an even run. */
  not: number;
  evenNot: number;
  /** A comparison, `in` or function outside a lambda, and the subquery WHERE it resolves (0 when it has none). */
  leaf(node: FilterNode): number;
  leafSubquery(node: FilterNode): number;
  /** A comparison inside a lambda body, and its own subquery's WHERE. */
  lambdaLeaf: number;
  lambdaLeafSubquery: number;
  /** A lambda's EXISTS around its body, and what its WHERE adds to the body. */
  lambda: number;
  lambdaWhere: number;
}

function sqlHeight(node: FilterNode, model: SqlDepthModel, inLambda: boolean): number {
  switch (node.kind) {
    case "and":
    case "or": {
      const operands = chainOperands(node, node.kind);
      let deepest = 0;
      for (const o of operands) deepest = Math.max(deepest, sqlHeight(o, model, inLambda));
      // Compilers emit balanced trees, so a chain adds log2 of its operands.
      return Math.ceil(Math.log2(operands.length)) + deepest;
    }
    case "not": {
      const { operand, negate } = unwrapNots(node);
      return (negate ? model.not : model.evenNot) + sqlHeight(operand, model, inLambda);
    }
    case "lambda":
      return model.lambda + sqlHeight(node.body, model, true);
    default:
      return inLambda ? model.lambdaLeaf : model.leaf(node);
  }
}

/** The most any subquery's WHERE (with the subqueries nested in it) adds when SQLite resolves it. */
function subqueryDepth(node: FilterNode, model: SqlDepthModel, inLambda: boolean): number {
  switch (node.kind) {
    case "and":
    case "or":
      return Math.max(subqueryDepth(node.left, model, inLambda), subqueryDepth(node.right, model, inLambda));
    case "not":
      return subqueryDepth(node.operand, model, inLambda);
    case "lambda":
      return model.lambdaWhere + sqlHeight(node.body, model, true) + subqueryDepth(node.body, model, true);
    default:
      return inLambda ? model.lambdaLeafSubquery : model.leafSubquery(node);
  }
}

/** An upper bound of the expression depth D1 reports for a compiler's SQL for `node`, per its model. */
export function sqlDepth(node: FilterNode, model: SqlDepthModel): number {
  return sqlHeight(node, model, false) + subqueryDepth(node, model, false);
}

/**
 * `a OP b OP c …` as a balanced tree of parenthesised pairs, operands kept in order (so are their `?` parameters).
 * SQLite parses a flat chain, and explicit left-nested parentheses too, as a left-deep tree one level deeper per
 * operand; balanced, a chain adds only log2(operands) to the statement's depth.
 */
export function balancedSql(parts: readonly string[], op: "AND" | "OR"): string {
  if (parts.length === 1) return parts[0]!;
  const mid = Math.ceil(parts.length / 2);
  return `(${balancedSql(parts.slice(0, mid), op)} ${op} ${balancedSql(parts.slice(mid), op)})`;
}

/** Refuses, before any SQL is built, a filter whose SQL D1 would refuse ("Expression tree is too large"). */
export function checkSqlDepth(node: FilterNode, model: SqlDepthModel): void {
  const depth = sqlDepth(node, model);
  if (depth > MAX_FILTER_SQL_DEPTH) throw excessiveHeight(depth);
}

/**
 * Compiles a filter whose values are appended to `params` (which may already hold the route's own), refusing it first
 * if its SQL would be too deep, and while compiling past MAX_FILTER_PARAMS values of its own.
 */
export function compileBounded<T>(
  node: FilterNode,
  model: SqlDepthModel,
  params: T[],
  compile: (node: FilterNode, bind: (...values: T[]) => void) => string,
): string {
  checkSqlDepth(node, model);
  const start = params.length;
  return compile(node, (...values) => bindFilterValues(params, start, ...values));
}

/** Appends bound values for a compiler whose own values start at `start`, refusing past MAX_FILTER_PARAMS. */
export function bindFilterValues<T>(params: T[], start: number, ...values: T[]): void {
  if (params.length - start + values.length > MAX_FILTER_PARAMS) throw tooManyFilterValues();
  params.push(...values);
}

// ---- Printing (inverse of parse, used for round-trip tests and for echoing filters into nextLinks) ----

export function formatFilterLiteral(literal: FilterLiteral): string {
  switch (literal.kind) {
    case "string":
      return `'${literal.value.replaceAll("'", "''")}'`;
    case "boolean":
      return literal.value ? "true" : "false";
    case "null":
      return "null";
    case "int":
      return String(literal.value);
    case "guid":
    case "datetime":
      return literal.value;
  }
}

function precedence(node: FilterNode): number {
  return node.kind === "or" ? 1 : node.kind === "and" ? 2 : 3;
}

function formatOperand(node: FilterNode, min: number): string {
  const text = formatODataFilter(node);
  return precedence(node) < min ? `(${text})` : text;
}

export function formatODataFilter(node: FilterNode): string {
  switch (node.kind) {
    case "or":
      return `${formatOperand(node.left, 1)} or ${formatOperand(node.right, 2)}`;
    case "and":
      return `${formatOperand(node.left, 2)} and ${formatOperand(node.right, 3)}`;
    case "not":
      return `not ${formatOperand(node.operand, 3)}`;
    case "compare":
      return `${node.path.join("/")} ${node.op} ${formatFilterLiteral(node.value)}`;
    case "in":
      return `${node.path.join("/")} in (${node.values.map(formatFilterLiteral).join(", ")})`;
    case "function":
      return `${node.name === "startswith" ? "startsWith" : "endsWith"}(${node.path.join("/")}, ${formatFilterLiteral(node.value)})`;
    case "lambda":
      return `${node.path.join("/")}/${node.operator}(${node.variable}:${formatODataFilter(node.body)})`;
  }
}

// ---- Helpers shared by resource compilers, so users and groups report errors with Graph's wording ----

const OPERATOR_KIND: Record<ComparisonOperator | "in", string> = {
  eq: "Equal",
  ne: "NotEqual",
  gt: "GreaterThan",
  ge: "GreaterThanOrEqual",
  lt: "LessThan",
  le: "LessThanOrEqual",
  in: "In",
};

export function edmTypeOf(literal: FilterLiteral): string {
  switch (literal.kind) {
    case "string":
      return "Edm.String";
    case "boolean":
      return "Edm.Boolean";
    case "null":
      return "null";
    case "int":
      return literal.value >= -2147483648 && literal.value <= 2147483647 ? "Edm.Int32" : "Edm.Int64";
    case "guid":
      return "Edm.Guid";
    case "datetime":
      return "Edm.DateTimeOffset";
  }
}

export function unsupportedFilterClause(property: string, resource: string): ODataFilterError {
  return new ODataFilterError(
    `Unsupported or invalid query filter clause specified for property '${property}' of resource '${resource}'.`,
    -1,
    "Request_UnsupportedQuery",
  );
}

export function incompatibleOperandTypes(
  propertyType: string,
  literal: FilterLiteral,
  op: ComparisonOperator | "in",
): ODataFilterError {
  return new ODataFilterError(
    `A binary operator with incompatible types was detected. Found operand types '${propertyType}' and '${edmTypeOf(literal)}' for operator kind '${OPERATOR_KIND[op]}'.`,
    -1,
    "Request_BadRequest",
  );
}

export function noMatchingFunctionSignature(name: FilterFunctionName): ODataFilterError {
  return new ODataFilterError(
    `No function signature for the function with name '${name}' matches the specified arguments. The function signatures considered are: ${name}(Edm.String Nullable=true, Edm.String Nullable=true).`,
    -1,
    "Request_BadRequest",
  );
}

/** Canonical UTC ISO-8601 with milliseconds (what `Date#toISOString` stores), or null if not a real instant. */
export function normalizeDateTime(text: string): string | null {
  const m = DATETIME_PATTERN.exec(text);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, , oh, om] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  // Date would silently roll 2021-02-31 over to March; Graph rejects it.
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const daysInMonth = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  if (daysInMonth === undefined || day < 1 || day > daysInMonth) return null;
  if (Number(h) > 23 || Number(mi) > 59 || Number(s ?? 0) > 59) return null;
  if (oh !== undefined && (Number(oh) > 23 || Number(om) > 59)) return null;
  const ms = Date.parse(text.toUpperCase());
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}
