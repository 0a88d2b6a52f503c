/**
 * Entra ID dynamic group membership rules (user rules only): parse, evaluate, print.
 * Pure: no I/O, no clock. Parsed ASTs are plain data so they can be cached or compared.
 */
import { RE2JS, RE2JSSyntaxException } from "re2js";
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
  // Every -match occurrence is evaluated on its own, so repeats count again.
  private programTotal = 0;

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
    if (operator === "-match" || operator === "-notMatch") {
      this.programTotal += compilePattern(v.value, v.pos).size;
      if (this.programTotal > MAX_RULE_PROGRAM_SIZE) {
        throw fail(
          `the rule's regular expressions are too complex together (program size ${this.programTotal}; the maximum is ${MAX_RULE_PROGRAM_SIZE})`,
          v.pos,
        );
      }
    }
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
// Regular expressions for -match, run by RE2 (re2js): matching time is linear in the input, whatever the pattern, so
// `(a|a)*b` or `(.*a){12}b` cannot stall an isolate that evaluates rules for every tenant. This replaces the
// hand-written nested-quantifier check, which both refused safe patterns like `(\w+\.)+` and missed bad ones.
//
// Entra evaluates -match with .NET regular expressions. What changes with RE2:
// - Refused when the rule is saved: backreferences (`\1`, `\k<n>`), lookahead and lookbehind (`(?=`, `(?!`, `(?<=`,
//   `(?<!`), atomic groups `(?>`, possessive quantifiers `a++`, conditionals, comments `(?#`, `\Z`, `\G`, and
//   repetition counts above 1000 (RE2's own limit). `\uXXXX` is kept by rewriting it to RE2's `\x{XXXX}`.
// - Matched differently: `\d`, `\w`, `\s` and `\b` are ASCII-only in RE2 (Unicode in .NET); `$` matches only at the
//   very end (.NET also matches before a final newline); `.` matches a whole code point (.NET: a UTF-16 unit);
//   case-insensitive matching uses Unicode simple case folding (K also matches the Kelvin sign), not .NET's culture rules.

/** Patterns longer than this are refused (a bound kept from before RE2; Entra's rule limit is the real cap). */
export const MAX_PATTERN_LENGTH = 256;
/**
 * RE2 program size (its instruction count: about one per literal, class or repetition unrolled, so `a{1000}` is 1002)
 * allowed for one pattern, and for all patterns of a rule together. Matching costs at most one step per instruction
 * per input character, so these bound the regex work of an evaluation. 512 admits any 256-character literal pattern
 * or alternation; real rules use tens.
 */
export const MAX_PATTERN_PROGRAM_SIZE = 512;
export const MAX_RULE_PROGRAM_SIZE = 1024;

interface CompiledPattern {
  re: RE2JS;
  size: number;
}

const regexCache = new Map<string, CompiledPattern>();
const REGEX_CACHE_LIMIT = 256;

/** `\uXXXX` (.NET and JavaScript) to RE2's `\x{XXXX}`; escaped backslashes are skipped so `\\u0041` stays literal. */
function translateUnicodeEscapes(pattern: string): string {
  if (!pattern.includes("\\u")) return pattern;
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c !== "\\") {
      out += c;
      continue;
    }
    const hex = pattern.slice(i + 2, i + 6);
    if (pattern[i + 1] === "u" && /^[0-9A-Fa-f]{4}$/.test(hex)) {
      out += `\\x{${hex}}`;
      i += 5;
    } else {
      out += c + (pattern[i + 1] ?? "");
      i++;
    }
  }
  return out;
}

/** What .NET users reach for that RE2 lacks, said plainly next to RE2's own words. */
function unsupportedHint(pattern: string): string {
  if (/\(\?[=!]|\(\?<[=!]/.test(pattern)) return "; lookahead and lookbehind are not supported";
  if (/\\[1-9]|\\k</.test(pattern)) return "; backreferences are not supported";
  if (/\(\?>/.test(pattern)) return "; atomic groups are not supported";
  return "";
}

/** RE2's description of why it refused, e.g. "missing closing ): `(unclosed`", without the flags re2js prefixes. */
function describeRe2Error(error: unknown): string {
  if (error instanceof RE2JSSyntaxException) {
    const fragment = (error.input ?? "").replace(/^\(\?i\)/, "");
    return fragment ? `${error.error}: '${fragment}'` : error.error;
  }
  return error instanceof Error ? error.message : "unreadable pattern";
}

function compilePattern(pattern: string, position: number): CompiledPattern {
  const cached = regexCache.get(pattern);
  if (cached) return cached;
  if (pattern.length > MAX_PATTERN_LENGTH) {
    throw fail(`regular expression is longer than ${MAX_PATTERN_LENGTH} characters`, position);
  }
  let re: RE2JS;
  try {
    re = RE2JS.compile(translateUnicodeEscapes(pattern), RE2JS.CASE_INSENSITIVE);
  } catch (error) {
    throw fail(`invalid regular expression (${describeRe2Error(error)}${unsupportedHint(pattern)})`, position);
  }
  const size = re.programSize();
  if (size > MAX_PATTERN_PROGRAM_SIZE) {
    throw fail(
      `regular expression is too complex (program size ${size}; the maximum is ${MAX_PATTERN_PROGRAM_SIZE})`,
      position,
    );
  }
  const compiled = { re, size };
  // Bounded so a long-lived isolate evaluating many tenants' rules can't grow without limit.
  if (regexCache.size >= REGEX_CACHE_LIMIT) regexCache.clear();
  regexCache.set(pattern, compiled);
  return compiled;
}

// ---------------------------------------------------------------------------
// Evaluation, with its work counted.
//
// One step per rule node visited, plus the characters each test reads: a string test folds both sides (attribute
// length + value length); a list folds the attribute once and each value (its length + 1, so empty values count); a
// -match reads the attribute through RE2, at most one step per program instruction per character plus one
// ((length + 1) × program size — the Pike VM's bound; RE2's DFA usually does far less). Booleans and null tests read
// nothing more. Every term is bounded by the rule's size limits, which gives MAX_EVALUATION_STEPS below.

/** The longest attribute value a rule can read: the wire schemas' longest user field (displayName, mail: 256). */
export const MAX_RULE_ATTRIBUTE_LENGTH = 256;
/** `user.mail-eq""` is the shortest comparison the parser accepts, so a rule holds at most MAX_RULE_LENGTH/14. */
const MIN_COMPARISON_LENGTH = 14;

/**
 * Steps one evaluation of a parsed rule can take against attribute values within MAX_RULE_ATTRIBUTE_LENGTH:
 * nodes (each owns at least one character of the rule) + string-test values and list values (their characters are in
 * the rule) + attribute reads (one per comparison) + regex work ((attribute + 1) × the rule's total program size).
 */
export const MAX_EVALUATION_STEPS =
  MAX_RULE_LENGTH +
  2 * MAX_RULE_LENGTH +
  Math.floor(MAX_RULE_LENGTH / MIN_COMPARISON_LENGTH) * MAX_RULE_ATTRIBUTE_LENGTH +
  (MAX_RULE_ATTRIBUTE_LENGTH + 1) * MAX_RULE_PROGRAM_SIZE;

/**
 * The most steps one evaluation of `rule` can take on attribute values within MAX_RULE_ATTRIBUTE_LENGTH: the count
 * below with every attribute at its longest and every operand read. At most MAX_EVALUATION_STEPS; what a job uses to
 * size its pages, so that a page of a heavy rule holds the isolate no longer than a page of a light one.
 */
export function evaluationStepsBound(rule: MembershipRule): number {
  const longest = MAX_RULE_ATTRIBUTE_LENGTH;
  switch (rule.kind) {
    case "and":
    case "or":
      return 1 + rule.operands.reduce((sum, r) => sum + evaluationStepsBound(r), 0);
    case "not":
      return 1 + evaluationStepsBound(rule.operand);
    case "boolean":
    case "null":
      return 1;
    case "list":
      return 1 + longest + rule.values.reduce((sum, v) => sum + v.length + 1, 0);
    case "string":
      return POSITIVE_OF[rule.operator] === "-match"
        ? 1 + (longest + 1) * compilePattern(rule.value, 0).size
        : 1 + longest + rule.value.length;
  }
}

/**
 * Rule-evaluation steps one synchronous stretch may take: a page of a rule job, a page of a licensing preview, a
 * re-evaluation between yields. A page is evaluated in one synchronous stretch, and every other request of
 * the isolate (any tenant's) waits behind it: at the slowest rate measured (about 13 ns a step, re2js running a
 * hundred one-letter patterns over 256-character values) this is some 25 ms, the order of a page's D1 writes. A rule
 * like `user.department -eq "Sales"` (262 steps at most) keeps full pages; the heaviest the limits admit get a few
 * dozen users a page.
 */
export const RULE_STEPS_PER_PAGE = 2_000_000;

/** Users a page of `rule` may hold (at most RULE_STEPS_PER_PAGE of work), by the most one evaluation of it can take. */
export const usersPerPage = (rule: MembershipRule | null) =>
  rule ? Math.max(1, Math.floor(RULE_STEPS_PER_PAGE / evaluationStepsBound(rule))) : Number.POSITIVE_INFINITY;

/** Pass one to evaluateMembershipRule to read the work done; it accumulates across calls. */
export interface StepMeter {
  steps: number;
}

const fold = (s: string) => s.toLowerCase();

function positiveStringTest(operator: StringOperator, actual: string, expected: string, meter: StepMeter): boolean {
  if (POSITIVE_OF[operator] === "-match") {
    const { re, size } = compilePattern(expected, 0);
    meter.steps += (actual.length + 1) * size;
    return re.test(actual);
  }
  meter.steps += actual.length + expected.length;
  switch (POSITIVE_OF[operator]) {
    case "-eq":
      return fold(actual) === fold(expected);
    case "-startsWith":
      return fold(actual).startsWith(fold(expected));
    case "-endsWith":
      return fold(actual).endsWith(fold(expected));
    case "-contains":
      // V8's string search is linear (it switches to Boyer-Moore when a naive scan would not be), so this is fair.
      return fold(actual).includes(fold(expected));
    default:
      return false;
  }
}

function evaluate(rule: MembershipRule, user: RuleUser, meter: StepMeter): boolean {
  meter.steps++;
  switch (rule.kind) {
    case "and":
      return rule.operands.every((r) => evaluate(r, user, meter));
    case "or":
      return rule.operands.some((r) => evaluate(r, user, meter));
    case "not":
      return !evaluate(rule.operand, user, meter);
    case "boolean":
      return (user.accountEnabled === rule.value) === (rule.operator === "-eq");
    case "null":
      return (user[rule.property] == null) === (rule.operator === "-eq");
    case "list": {
      const actual = user[rule.property] ?? null;
      let hit = false;
      if (actual !== null) {
        meter.steps += actual.length;
        const folded = fold(actual);
        hit = rule.values.some((v) => {
          meter.steps += v.length + 1;
          return fold(v) === folded;
        });
      }
      return rule.operator === "-in" ? hit : !hit;
    }
    case "string": {
      const actual = user[rule.property] ?? null;
      // A missing value matches no positive test, so every negated test holds ("-ne 'x'" on null is true).
      const hit = actual !== null && positiveStringTest(rule.operator, actual, rule.value, meter);
      return POSITIVE_OF[rule.operator] === rule.operator ? hit : !hit;
    }
  }
}

/**
 * Whether `user` satisfies `rule`. With a `meter`, the steps taken are added to it (the fuzz suite reads them against
 * MAX_EVALUATION_STEPS); without one they are counted and dropped.
 */
export function evaluateMembershipRule(rule: MembershipRule, user: RuleUser, meter: StepMeter = { steps: 0 }): boolean {
  return evaluate(rule, user, meter);
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
