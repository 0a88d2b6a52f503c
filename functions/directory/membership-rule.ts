/**
 * Entra ID dynamic group membership rules (user rules only): parse, evaluate, print.
 * Pure: no I/O, no clock. Parsed ASTs are plain data so they can be cached or compared.
 */
import type { UserRow } from "./store.ts";
import { keyOf, userFields } from "./user-fields.ts";

type RuleFields = Extract<(typeof userFields)[number], { rule: string }>;

/** The user attributes a rule may read (Entra names them user.<property>; user-fields.ts lists them). */
export type RuleUser = Pick<UserRow, Exclude<RuleFields["graph"], "userType"> | "id"> & { userType: string };

export type RuleProperty = keyof RuleUser;
export type StringRuleProperty = Exclude<RuleProperty, "accountEnabled">;

export type StringOperator =
  | "-eq"
  | "-ne"
  | "-startsWith"
  | "-notStartsWith"
  | "-endsWith"
  | "-notEndsWith"
  | "-contains"
  | "-notContains"
  | "-match"
  | "-notMatch";
export type ListOperator = "-in" | "-notIn";
export type EqualityOperator = "-eq" | "-ne";

type Operands = [MembershipRule, MembershipRule, ...MembershipRule[]];

export type MembershipRule =
  | { kind: "string"; property: StringRuleProperty; operator: StringOperator; value: string }
  | { kind: "null"; property: StringRuleProperty; operator: EqualityOperator }
  | { kind: "list"; property: StringRuleProperty; operator: ListOperator; values: [string, ...string[]] }
  | { kind: "boolean"; property: "accountEnabled"; operator: EqualityOperator; value: boolean }
  | { kind: "not"; operand: MembershipRule }
  | { kind: "and"; operands: Operands }
  | { kind: "or"; operands: Operands };

export class MembershipRuleError extends Error {
  readonly position: number;

  constructor(message: string, position: number) {
    super(message);
    this.name = "MembershipRuleError";
    this.position = position;
  }
}

export const MAX_RULE_LENGTH = 3072;
export const MAX_NESTING_DEPTH = 32;
export const MAX_PATTERN_LENGTH = 256;

/** Entra's rule property names (case-sensitive) → RuleUser keys. */
const ENTRA_PROPERTIES: Readonly<Record<string, RuleProperty>> = Object.fromEntries(
  userFields.filter((f): f is RuleFields => "rule" in f).map((f) => [f.rule, keyOf(f) as RuleProperty]),
);

const ENTRA_NAME_OF: Readonly<Record<RuleProperty, string>> = Object.fromEntries(
  Object.entries(ENTRA_PROPERTIES).map(([entra, key]) => [key, entra]),
) as Record<RuleProperty, string>;

const OPERATORS: Readonly<Record<string, StringOperator | ListOperator>> = {
  "-eq": "-eq",
  "-ne": "-ne",
  "-startswith": "-startsWith",
  "-notstartswith": "-notStartsWith",
  "-endswith": "-endsWith",
  "-notendswith": "-notEndsWith",
  "-contains": "-contains",
  "-notcontains": "-notContains",
  "-match": "-match",
  "-notmatch": "-notMatch",
  "-in": "-in",
  "-notin": "-notIn",
};

/** Negative operators are defined as the negation of their positive twin, which also fixes their meaning on null. */
const POSITIVE_OF: Readonly<Record<StringOperator | ListOperator, StringOperator | ListOperator>> = {
  "-eq": "-eq",
  "-ne": "-eq",
  "-startsWith": "-startsWith",
  "-notStartsWith": "-startsWith",
  "-endsWith": "-endsWith",
  "-notEndsWith": "-endsWith",
  "-contains": "-contains",
  "-notContains": "-contains",
  "-match": "-match",
  "-notMatch": "-match",
  "-in": "-in",
  "-notIn": "-in",
};

const fail = (detail: string, position: number) =>
  new MembershipRuleError(`Invalid membership rule: ${detail} at position ${position}.`, position);

// ---------------------------------------------------------------------------
// Lexer. Tokens are produced on demand so the first problem in reading order is the one reported.

type Token =
  | { type: "(" | ")" | "[" | "]" | "," | "end"; pos: number }
  | { type: "string"; value: string; pos: number }
  | { type: "dash"; text: string; pos: number }
  | { type: "word"; text: string; pos: number };

const isWordStart = (c: string) => /[A-Za-z0-9_]/.test(c);
const isWordPart = (c: string) => /[A-Za-z0-9_.]/.test(c);
const isLetter = (c: string) => /[A-Za-z]/.test(c);
const isSpace = (c: string) => c === " " || c === "\t" || c === "\n" || c === "\r";

class Lexer {
  private readonly src: string;
  private i = 0;
  private lookahead: Token | null = null;

  constructor(src: string) {
    this.src = src;
  }

  peek(): Token {
    if (this.lookahead === null) this.lookahead = this.read();
    return this.lookahead;
  }

  next(): Token {
    const t = this.peek();
    this.lookahead = null;
    return t;
  }

  private read(): Token {
    const s = this.src;
    while (this.i < s.length && isSpace(s[this.i]!)) this.i++;
    const pos = this.i;
    if (pos >= s.length) return { type: "end", pos };
    const c = s[pos]!;
    if (c === "(" || c === ")" || c === "[" || c === "]" || c === ",") {
      this.i++;
      return { type: c, pos };
    }
    if (c === '"') return this.readString(pos);
    if (c === "-" && pos + 1 < s.length && isLetter(s[pos + 1]!)) {
      let j = pos + 1;
      while (j < s.length && isLetter(s[j]!)) j++;
      this.i = j;
      return { type: "dash", text: s.slice(pos, j), pos };
    }
    if (isWordStart(c)) {
      let j = pos + 1;
      while (j < s.length && isWordPart(s[j]!)) j++;
      this.i = j;
      return { type: "word", text: s.slice(pos, j), pos };
    }
    throw fail(`unexpected character ${JSON.stringify(c)}`, pos);
  }

  private readString(start: number): Token {
    const s = this.src;
    let j = start + 1;
    let value = "";
    while (j < s.length) {
      const c = s[j]!;
      // Only \" and \\ are escapes; other backslashes stay literal so regex escapes like "\d" survive.
      if (c === "\\" && (s[j + 1] === '"' || s[j + 1] === "\\")) {
        value += s[j + 1];
        j += 2;
        continue;
      }
      if (c === '"') {
        this.i = j + 1;
        return { type: "string", value, pos: start };
      }
      value += c;
      j++;
    }
    throw fail("unterminated string", start);
  }
}

const describe = (t: Token): string => {
  switch (t.type) {
    case "end":
      return "end of rule";
    case "string":
      return "a string";
    case "dash":
    case "word":
      return `'${t.text}'`;
    default:
      return `'${t.type}'`;
  }
};

const logicalWord = (t: Token): "and" | "or" | "not" | null => {
  if (t.type !== "dash" && t.type !== "word") return null;
  const w = (t.type === "dash" ? t.text.slice(1) : t.text).toLowerCase();
  return w === "and" || w === "or" || w === "not" ? w : null;
};

// ---------------------------------------------------------------------------
// Parser. Precedence (high → low): comparison, -not, -and, -or.

class Parser {
  private readonly lx: Lexer;

  constructor(src: string) {
    this.lx = new Lexer(src);
  }

  parseRule(): MembershipRule {
    const rule = this.parseOr(0);
    const t = this.lx.peek();
    if (t.type !== "end") throw fail(`unexpected ${describe(t)}; expected '-and', '-or' or end of rule`, t.pos);
    return rule;
  }

  private parseOr(depth: number): MembershipRule {
    const first = this.parseAnd(depth);
    const rest: MembershipRule[] = [];
    while (logicalWord(this.lx.peek()) === "or") {
      this.lx.next();
      rest.push(this.parseAnd(depth));
    }
    return rest.length === 0 ? first : { kind: "or", operands: [first, ...(rest as [MembershipRule])] };
  }

  private parseAnd(depth: number): MembershipRule {
    const first = this.parseNot(depth);
    const rest: MembershipRule[] = [];
    while (logicalWord(this.lx.peek()) === "and") {
      this.lx.next();
      rest.push(this.parseNot(depth));
    }
    return rest.length === 0 ? first : { kind: "and", operands: [first, ...(rest as [MembershipRule])] };
  }

  private parseNot(depth: number): MembershipRule {
    if (logicalWord(this.lx.peek()) === "not") {
      this.lx.next();
      return { kind: "not", operand: this.parseNot(depth) };
    }
    return this.parsePrimary(depth);
  }

  private parsePrimary(depth: number): MembershipRule {
    const t = this.lx.next();
    if (t.type === "(") {
      if (depth + 1 > MAX_NESTING_DEPTH) {
        throw fail(`parentheses nest deeper than the maximum of ${MAX_NESTING_DEPTH}`, t.pos);
      }
      const inner = this.parseOr(depth + 1);
      const close = this.lx.next();
      if (close.type === ")") return inner;
      if (close.type === "end") throw fail("unclosed '('", t.pos);
      throw fail(`unexpected ${describe(close)}; expected ')', '-and' or '-or'`, close.pos);
    }
    if (t.type === "word" && logicalWord(t) === null) return this.parseComparison(t);
    throw fail(`expected a property, '(' or '-not' but found ${describe(t)}`, t.pos);
  }

  private parseComparison(propTok: Extract<Token, { type: "word" }>): MembershipRule {
    const property = Object.hasOwn(ENTRA_PROPERTIES, propTok.text) ? ENTRA_PROPERTIES[propTok.text] : undefined;
    if (property === undefined) throw fail(`unknown property '${propTok.text}'`, propTok.pos);

    const opTok = this.lx.next();
    const key = opTok.type === "dash" ? opTok.text.toLowerCase() : "";
    const operator = Object.hasOwn(OPERATORS, key) ? OPERATORS[key] : undefined;
    if (operator === undefined) {
      if (opTok.type === "dash" && logicalWord(opTok) === null) {
        throw fail(`unknown operator '${opTok.text}'`, opTok.pos);
      }
      throw fail(`expected an operator after '${propTok.text}' but found ${describe(opTok)}`, opTok.pos);
    }
    const opText = opTok.type === "dash" ? opTok.text : operator;

    if (property === "accountEnabled") {
      if (operator !== "-eq" && operator !== "-ne") {
        throw fail(`operator '${opText}' is not supported for '${propTok.text}'`, opTok.pos);
      }
      const v = this.lx.next();
      const text = v.type === "word" ? v.text.toLowerCase() : v.type === "string" ? v.value.toLowerCase() : "";
      if (text !== "true" && text !== "false") throw fail(`expected true or false after '${opText}'`, v.pos);
      return { kind: "boolean", property, operator, value: text === "true" };
    }

    if (operator === "-in" || operator === "-notIn") {
      return { kind: "list", property, operator, values: this.parseList(opText) };
    }

    const v = this.lx.next();
    if (v.type === "word" && v.text.toLowerCase() === "null") {
      if (operator !== "-eq" && operator !== "-ne") {
        throw fail(`null can only be compared with '-eq' or '-ne', not '${opText}'`, v.pos);
      }
      return { kind: "null", property, operator };
    }
    if (v.type !== "string") throw fail(`expected a value after '${opText}'`, v.pos);
    if (operator === "-match" || operator === "-notMatch") compilePattern(v.value, v.pos);
    return { kind: "string", property, operator, value: v.value };
  }

  private parseList(opText: string): [string, ...string[]] {
    const open = this.lx.next();
    if (open.type !== "[") throw fail(`expected a value after '${opText}' (a list such as ["a", "b"])`, open.pos);
    const values: string[] = [];
    for (;;) {
      const v = this.lx.next();
      if (v.type === "end") throw fail("unclosed '['", open.pos);
      if (v.type !== "string") throw fail(`expected a string in the list but found ${describe(v)}`, v.pos);
      values.push(v.value);
      const sep = this.lx.next();
      if (sep.type === "]") return values as [string, ...string[]];
      if (sep.type === "end") throw fail("unclosed '['", open.pos);
      if (sep.type !== ",") throw fail(`expected ',' or ']' but found ${describe(sep)}`, sep.pos);
    }
  }
}

export function parseMembershipRule(rule: string): MembershipRule {
  if (typeof rule !== "string") throw fail("rule must be a string", 0);
  if (rule.length > MAX_RULE_LENGTH) {
    throw new MembershipRuleError(
      `Membership rule exceeds the maximum length of ${MAX_RULE_LENGTH} characters.`,
      MAX_RULE_LENGTH,
    );
  }
  try {
    return new Parser(rule).parseRule();
  } catch (e) {
    if (e instanceof MembershipRuleError) throw e;
    // Backstop for the "parse or MembershipRuleError, nothing else" contract.
    throw fail("unreadable rule", 0);
  }
}

// ---------------------------------------------------------------------------
// Regular expressions for -match. Entra runs .NET regexes; JS syntax is close enough for the patterns admins write.

/**
 * Star height > 1 (an unbounded quantifier applied to a group that itself contains one, e.g. `(a+)+`) is the classic
 * catastrophic-backtracking shape. Rules run against every user in a tenant inside a CPU-limited Worker, so such
 * patterns are refused up front rather than timed out later. Conservative: `(\w+\.)+` is refused too.
 */
function hasNestedUnboundedQuantifier(p: string): boolean {
  const frames: boolean[] = [false];
  let previousGroupUnbounded: boolean | null = null;
  let i = 0;
  while (i < p.length) {
    const c = p[i]!;
    if (c === "\\") {
      i += 2;
      previousGroupUnbounded = null;
      continue;
    }
    if (c === "[") {
      i++;
      if (p[i] === "^") i++;
      if (p[i] === "]") i++;
      while (i < p.length && p[i] !== "]") i += p[i] === "\\" ? 2 : 1;
      i++;
      previousGroupUnbounded = null;
      continue;
    }
    if (c === "(") {
      frames.push(false);
      i++;
      if (p[i] === "?") {
        i++;
        if (p[i] === "<" && p[i + 1] !== "=" && p[i + 1] !== "!") {
          while (i < p.length && p[i] !== ">") i++;
        } else if (p[i] === "<") {
          i++;
        }
        i++;
      }
      previousGroupUnbounded = null;
      continue;
    }
    if (c === ")") {
      const inner = frames.length > 1 ? frames.pop()! : false;
      if (inner) frames[frames.length - 1] = true;
      previousGroupUnbounded = inner;
      i++;
      continue;
    }
    const brace = c === "{" ? /^\{(\d+)(,(\d*))?\}/.exec(p.slice(i)) : null;
    if (c === "*" || c === "+" || c === "?" || brace) {
      const unbounded = c === "*" || c === "+" || (brace !== null && brace[2] !== undefined && brace[3] === "");
      if (unbounded) {
        if (previousGroupUnbounded) return true;
        frames[frames.length - 1] = true;
      }
      i += brace ? brace[0].length : 1;
      if (p[i] === "?") i++;
      previousGroupUnbounded = null;
      continue;
    }
    previousGroupUnbounded = null;
    i++;
  }
  return false;
}

const regexCache = new Map<string, RegExp>();
const REGEX_CACHE_LIMIT = 256;

function compilePattern(pattern: string, position: number): RegExp {
  const cached = regexCache.get(pattern);
  if (cached) return cached;
  if (pattern.length > MAX_PATTERN_LENGTH) {
    throw fail(`regular expression is longer than ${MAX_PATTERN_LENGTH} characters`, position);
  }
  if (hasNestedUnboundedQuantifier(pattern)) {
    throw fail("regular expression nests repetition (e.g. '(a+)+'), which can backtrack catastrophically", position);
  }
  let re: RegExp;
  try {
    re = new RegExp(pattern, "i");
  } catch {
    throw fail("invalid regular expression", position);
  }
  // Bounded so a long-lived isolate evaluating many tenants' rules can't grow without limit.
  if (regexCache.size >= REGEX_CACHE_LIMIT) regexCache.clear();
  regexCache.set(pattern, re);
  return re;
}

// ---------------------------------------------------------------------------
// Evaluation

const fold = (s: string) => s.toLowerCase();

function positiveStringTest(operator: StringOperator, actual: string, expected: string): boolean {
  switch (POSITIVE_OF[operator]) {
    case "-eq":
      return fold(actual) === fold(expected);
    case "-startsWith":
      return fold(actual).startsWith(fold(expected));
    case "-endsWith":
      return fold(actual).endsWith(fold(expected));
    case "-contains":
      return fold(actual).includes(fold(expected));
    case "-match":
      return compilePattern(expected, 0).test(actual);
    default:
      return false;
  }
}

export function evaluateMembershipRule(rule: MembershipRule, user: RuleUser): boolean {
  switch (rule.kind) {
    case "and":
      return rule.operands.every((r) => evaluateMembershipRule(r, user));
    case "or":
      return rule.operands.some((r) => evaluateMembershipRule(r, user));
    case "not":
      return !evaluateMembershipRule(rule.operand, user);
    case "boolean":
      return (user.accountEnabled === rule.value) === (rule.operator === "-eq");
    case "null":
      return (user[rule.property] == null) === (rule.operator === "-eq");
    case "list": {
      const actual = user[rule.property] ?? null;
      const hit = actual !== null && rule.values.some((v) => fold(v) === fold(actual));
      return rule.operator === "-in" ? hit : !hit;
    }
    case "string": {
      const actual = user[rule.property] ?? null;
      // A missing value matches no positive test, so every negated test holds ("-ne 'x'" on null is true).
      const hit = actual !== null && positiveStringTest(rule.operator, actual, rule.value);
      return POSITIVE_OF[rule.operator] === rule.operator ? hit : !hit;
    }
  }
}

/** RuleUser keys the rule reads (`user.objectId` → `id`). */
export function ruleProperties(rule: MembershipRule): Set<string> {
  const out = new Set<string>();
  const walk = (r: MembershipRule): void => {
    if (r.kind === "and" || r.kind === "or") r.operands.forEach(walk);
    else if (r.kind === "not") walk(r.operand);
    else out.add(r.property);
  };
  walk(rule);
  return out;
}

// ---------------------------------------------------------------------------
// Printing: canonical text that parses back to the same AST.

const quote = (s: string) => `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

export function printMembershipRule(rule: MembershipRule): string {
  const print = (r: MembershipRule, context: "top" | "or" | "and" | "not"): string => {
    switch (r.kind) {
      case "or": {
        const text = r.operands.map((o) => print(o, "or")).join(" -or ");
        return context === "top" ? text : `(${text})`;
      }
      case "and": {
        const text = r.operands.map((o) => print(o, "and")).join(" -and ");
        // Parenthesised where needed to bind, and also inside another -and so the parse keeps the same tree shape.
        return context === "and" || context === "not" ? `(${text})` : text;
      }
      case "not":
        return `-not ${print(r.operand, "not")}`;
      case "boolean":
        return `${ENTRA_NAME_OF[r.property]} ${r.operator} ${r.value}`;
      case "null":
        return `${ENTRA_NAME_OF[r.property]} ${r.operator} null`;
      case "list":
        return `${ENTRA_NAME_OF[r.property]} ${r.operator} [${r.values.map(quote).join(", ")}]`;
      case "string":
        return `${ENTRA_NAME_OF[r.property]} ${r.operator} ${quote(r.value)}`;
    }
  };
  return print(rule, "top");
}
