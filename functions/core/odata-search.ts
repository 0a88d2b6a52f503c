// OData `$search` as Microsoft Graph serves it on directory objects (users, groups). Pure: the stores turn a plan into
// SQL (core/sql.ts searchSql).
//
// Graph parses `$search` with ODataLib's search grammar (terms, AND / OR / NOT, parentheses, implicit AND between
// adjacent terms) and then reads each term as a directory clause "<property>:<text to search>"
// (concepts/search-query-parameter.md, "Using $search on directory object collections"):
// - the whole clause is in double quotes; `\"` and `\\` are its only escapes;
// - AND and OR join clauses, outside the quotes and in upper case; parentheses set precedence;
// - displayName and description are *tokenized*: the text and the value are split into words at spaces, symbols,
//   changes between letters and digits and from lower to upper case, and every word of the text must begin a word of
//   the value, in any order and any case ("room" finds "Conference Room", "OneVideo" finds "one video");
// - any other property "defaults to $filter startsWith behavior": the value starts with the text, in any case.
// The syntax errors are ODataLib's (its resource texts; "Syntax error: character ':' is not valid at position 11 in
// 'displayName:room'." is what Graph answers an unquoted clause, as a public test of the Graph JS client records).
//
// Where seatflow's matching differs from Graph's, knowingly:
// - a search word may run on past the end of a value's word at a case change ("helloworld" finds "HelloWorld"), as
//   the match reads lower(value);
// - words separated only by symbols are not joined ("helloworld" does not find "hello-world", which Graph's page says
//   it does), and a symbol is no word of its own;
// - case is folded for ASCII and for letters with a single-character other case (é/É); startsWith clauses fold ASCII
//   only (NOCASE, as $filter does);
// - a word too long for D1's 50-byte patterns is matched on its head at a word start and whole anywhere (wordMatcher).

export const MAX_SEARCH_LENGTH = 1024;
/** Parentheses (and NOT, which is parsed to be refused) nested at most this deep; it also bounds the recursion. */
export const MAX_SEARCH_DEPTH = 8;
/**
 * Bound values a search may bind: each word of a tokenized clause binds one GLOB pattern, two when it begins with an
 * ASCII letter (the lower-to-upper case boundary has its own), one more when it is too long for its patterns
 * (wordMatcher); each startsWith clause binds one. With the filter's 64
 * (MAX_FILTER_PARAMS) and the route's own (tenant, page size, a two-value cursor) a statement stays under D1's 100.
 */
export const MAX_SEARCH_VALUES = 24;

export type ODataSearchErrorCode = "BadRequest" | "Request_UnsupportedQuery";

export class ODataSearchError extends Error {
  override name = "ODataSearchError";
  code: ODataSearchErrorCode;

  constructor(message: string, code: ODataSearchErrorCode = "BadRequest") {
    super(message);
    this.code = code;
  }
}

/** A parsed `$search`: terms (the decoded text of a phrase or a bare word) joined by AND and OR. */
export type SearchNode =
  | { kind: "and" | "or"; left: SearchNode; right: SearchNode }
  | { kind: "term"; text: string; position: number };

// ---- lexer: ODataLib's SearchLexer ---------------------------------------------------------------------------

type Token =
  | { type: "(" | ")" | "end"; pos: number; end: number }
  | { type: "keyword"; word: "AND" | "OR" | "NOT"; pos: number; end: number }
  | { type: "term"; text: string; pos: number; end: number };

const KEYWORDS: ReadonlySet<string> = new Set(["AND", "OR", "NOT"]);
/** ODataLib's InvalidWordPattern: a bare word holds letters only (a digit is "not valid", as Graph answers). */
const INVALID_WORD_CHAR = /[^\p{L}\p{Nl}]/u;
const isWhiteSpace = (c: string) => /\s/u.test(c);

const syntaxError = (position: number, input: string) =>
  new ODataSearchError(`Syntax error at position ${position} in '${input}'.`);

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  for (;;) {
    while (i < input.length && isWhiteSpace(input[i]!)) i++;
    if (i >= input.length) {
      tokens.push({ type: "end", pos: input.length, end: input.length });
      return tokens;
    }
    const c = input[i]!;
    if (c === "(" || c === ")") {
      tokens.push({ type: c, pos: i, end: i + 1 });
      i++;
      continue;
    }
    if (c === '"') {
      let text = "";
      let j = i + 1;
      for (;;) {
        if (j >= input.length) {
          throw new ODataSearchError(
            `There is an unterminated string literal at position ${input.length} in '${input}'.`,
          );
        }
        const d = input[j]!;
        if (d === '"') break;
        if (d === "\\") {
          const escaped = input[j + 1];
          if (escaped !== "\\" && escaped !== '"') {
            // ODataLib's ExpressionLexer_InvalidEscapeSequence; its exact text was not found, these words are ours.
            throw new ODataSearchError(
              `There is an invalid escape sequence '\\${escaped ?? ""}' at position ${j + 1} in '${input}'.`,
            );
          }
          text += escaped;
          j += 2;
          continue;
        }
        text += d;
        j++;
      }
      if (text === "") throw new ODataSearchError(`An identifier was expected at position ${i}.`);
      tokens.push({ type: "term", text, pos: i, end: j + 1 });
      i = j + 1;
      continue;
    }
    let j = i;
    while (j < input.length && !isWhiteSpace(input[j]!) && input[j] !== ")") j++;
    const word = input.slice(i, j);
    if (KEYWORDS.has(word)) tokens.push({ type: "keyword", word: word as "AND" | "OR" | "NOT", pos: i, end: j });
    else {
      const bad = INVALID_WORD_CHAR.exec(word);
      if (bad) {
        const char = String.fromCodePoint(word.codePointAt(bad.index)!);
        throw new ODataSearchError(
          `Syntax error: character '${char}' is not valid at position ${i + bad.index} in '${input}'.`,
        );
      }
      tokens.push({ type: "term", text: word, pos: i, end: j });
    }
    i = j;
  }
}

// ---- parser: ODataLib's search grammar -------------------------------------------------------------------------

class Parser {
  private index = 0;
  private depth = 0;
  private readonly input: string;
  private readonly tokens: Token[];

  constructor(input: string) {
    this.input = input;
    this.tokens = tokenize(input);
  }

  parse(): SearchNode {
    const node = this.parseOr();
    const rest = this.peek();
    if (rest.type !== "end") throw syntaxError(rest.end, this.input);
    return node;
  }

  private peek(): Token {
    return this.tokens[Math.min(this.index, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const t = this.peek();
    if (t.type !== "end") this.index++;
    return t;
  }

  private isKeyword(word: "AND" | "OR" | "NOT"): boolean {
    const t = this.peek();
    return t.type === "keyword" && t.word === word;
  }

  private enter() {
    if (++this.depth > MAX_SEARCH_DEPTH) {
      throw new ODataSearchError(`Invalid $search: clauses are nested deeper than ${MAX_SEARCH_DEPTH} levels.`);
    }
  }

  private parseOr(): SearchNode {
    let left = this.parseAnd();
    while (this.isKeyword("OR")) {
      this.next();
      left = { kind: "or", left, right: this.parseAnd() };
    }
    return left;
  }

  private parseAnd(): SearchNode {
    let left = this.parseUnary();
    for (;;) {
      const t = this.peek();
      if (this.isKeyword("AND")) this.next();
      // Adjacent terms are joined by an implicit AND, as ODataLib reads them.
      else if (!(t.type === "term" || t.type === "(" || this.isKeyword("NOT"))) break;
      left = { kind: "and", left, right: this.parseUnary() };
    }
    return left;
  }

  private parseUnary(): SearchNode {
    if (this.isKeyword("NOT")) {
      // Valid OData; Graph documents no NOT for directory objects, and seatflow does not serve it.
      throw new ODataSearchError("NOT is not supported in $search on directory objects.", "Request_UnsupportedQuery");
    }
    const t = this.peek();
    if (t.type === "(") {
      this.enter();
      this.next();
      const inner = this.parseOr();
      const close = this.peek();
      if (close.type !== ")") {
        throw new ODataSearchError(`')' or operator expected at position ${close.pos} in '${this.input}'.`);
      }
      this.next();
      this.depth--;
      return inner;
    }
    if (t.type === "term") {
      this.next();
      return { kind: "term", text: t.text, position: t.pos };
    }
    throw new ODataSearchError(`Expression expected at position ${t.pos} in '${this.input}'.`);
  }
}

/** Parses `$search` with ODataLib's grammar; throws ODataSearchError with ODataLib's texts. */
export function parseODataSearch(input: string): SearchNode {
  if (input.length > MAX_SEARCH_LENGTH) {
    throw new ODataSearchError(`Invalid $search: the search is longer than ${MAX_SEARCH_LENGTH} characters.`);
  }
  return new Parser(input).parse();
}

// ---- words: Graph's tokenization -------------------------------------------------------------------------------

const isAsciiLetter = (c: string) => (c >= "A" && c <= "Z") || (c >= "a" && c <= "z");
const isDigit = (c: string) => c >= "0" && c <= "9";
/** Letters are ASCII letters and every character beyond ASCII (CJK, accented letters…); digits are 0-9. */
const isLetter = (c: string) => isAsciiLetter(c) || c.codePointAt(0)! >= 0x80;
const isWordChar = (c: string) => isLetter(c) || isDigit(c);

/**
 * Whether a word of `value` begins at `chars[i]`: at the start, after a symbol or space, between a letter and a digit
 * either way, and from a lower-case to an upper-case ASCII letter ("HelloWorld" → hello, world; "HELLOworld" is one
 * word, as Graph's tokenizer has it).
 */
function beginsWord(chars: readonly string[], i: number): boolean {
  const c = chars[i]!;
  if (!isWordChar(c)) return false;
  if (i === 0) return true;
  const before = chars[i - 1]!;
  if (!isWordChar(before)) return true;
  if (isDigit(before) !== isDigit(c)) return true;
  return before >= "a" && before <= "z" && c >= "A" && c <= "Z";
}

/** One character in any case: the lower case where it is a single character, else the character itself. */
const fold = (c: string) => {
  const lower = c.toLowerCase();
  return [...lower].length === 1 ? lower : c;
};
/** The other case of a folded character, where it has exactly one. */
const otherCase = (c: string) => {
  const upper = c.toUpperCase();
  return upper !== c && [...upper].length === 1 ? upper : undefined;
};

/** The words of a search text, folded to lower case and each once, in order of appearance. */
export function searchWords(text: string): string[] {
  const chars = [...text];
  const words: string[] = [];
  let current = "";
  for (let i = 0; i < chars.length; i++) {
    if (beginsWord(chars, i) && current) {
      words.push(current);
      current = "";
    }
    if (isWordChar(chars[i]!)) current += fold(chars[i]!);
    else if (current) {
      words.push(current);
      current = "";
    }
  }
  if (current) words.push(current);
  return [...new Set(words)];
}

// ---- matchers: how the SQL finds a word, and the model it is tested against ---------------------------------------

/**
 * D1 refuses a LIKE or GLOB pattern longer than 50 bytes ("LIKE or GLOB pattern too complex"; measured in workerd:
 * 50 ASCII characters pass, 51 fail), so a word's patterns are cut to fit, and a cut word is also looked for whole.
 */
export const MAX_PATTERN_BYTES = 50;

/**
 * How the SQL finds one word (folded) in a value, with bound values only:
 * - `lowered`, a GLOB over `lower(' ' || value)`: the word after a non-letter (for a word of digits, a non-digit) —
 *   the start of the value (the space in front), a space or symbol, or a change between letters and digits;
 * - `cased`, for a word beginning with an ASCII letter, a GLOB over the value itself: its first letter upper case
 *   right after an ASCII lower-case one (the lower-to-upper boundary);
 * - `whole`, when a pattern had to be cut to MAX_PATTERN_BYTES: the word must also occur in `lower(value)`.
 * Letters beyond ASCII match in both their cases through a class (`[éÉ]`); lower() folds ASCII. Words hold letters and
 * digits only, so no GLOB metacharacter (`*?[]`) ever reaches a pattern from the client.
 */
export type WordMatcher = { lowered: string; cased?: string; whole?: string };

const utf8Length = (text: string) => new TextEncoder().encode(text).length;

/** Characters that do not end a letter run, once ASCII is lower case: a-z and everything beyond ASCII. */
const LETTERS = "a-z\u0080-\u{10FFFF}";

/** `head`, then as many of `parts` as fit with `tail` in MAX_PATTERN_BYTES; and how many parts fit. */
function fitPattern(head: string, parts: readonly string[], tail: string) {
  let pattern = head;
  let used = 0;
  for (const part of parts) {
    if (utf8Length(pattern + part + tail) > MAX_PATTERN_BYTES) break;
    pattern += part;
    used++;
  }
  return { pattern: pattern + tail, used };
}

/** A folded character for lower(value): a class for a letter beyond ASCII with two cases (lower() folds ASCII only). */
const loweredChar = (c: string) => {
  const other = otherCase(c);
  return other && !isAsciiLetter(c) ? `[${c}${other}]` : c;
};
/** A folded character for the value as it is: a class for any letter with two cases. */
const casedChar = (c: string) => {
  const other = otherCase(c);
  return other ? `[${c}${other}]` : c;
};

const loweredHead = (first: string) => (isDigit(first) ? "*[^0-9]" : `*[^${LETTERS}]`);
const casedHead = (first: string) => `*[a-z]${first.toUpperCase()}`;

export function wordMatcher(word: string): WordMatcher {
  const chars = [...word];
  const first = chars[0]!;
  const lowered = fitPattern(loweredHead(first), chars.map(loweredChar), "*");
  let cut = lowered.used < chars.length;
  const matcher: WordMatcher = { lowered: lowered.pattern };
  if (isAsciiLetter(first)) {
    const cased = fitPattern(casedHead(first), chars.slice(1).map(casedChar), "*");
    matcher.cased = cased.pattern;
    cut ||= cased.used < chars.length - 1;
  }
  if (cut) matcher.whole = word;
  return matcher;
}

/** The number of bound values a matcher takes. */
export const matcherValues = (m: WordMatcher) => 1 + (m.cased ? 1 : 0) + (m.whole ? 1 : 0);

const lowerAscii = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());
/** A value's character against a folded word character: equal, or its other case. */
const sameLetter = (v: string | undefined, w: string) => v !== undefined && (v === w || v === otherCase(w));

/**
 * Whether `value` matches one search word (folded, as searchWords gives it): the word begins where a word of the value
 * begins (as beginsWord finds them), in any case, and may run on across a case change of the value. Exactly what
 * wordMatcher's SQL selects, cut patterns included: a word longer than its patterns matches where its cut head begins
 * a word and the whole word occurs somewhere in the value (ASCII folded).
 */
export function wordMatches(value: string, word: string): boolean {
  const chars = [...value];
  const wanted = [...word];
  const first = wanted[0]!;
  const ascii = isAsciiLetter(first);
  const lowered = fitPattern(loweredHead(first), wanted.map(loweredChar), "*").used;
  const cased = ascii ? fitPattern(casedHead(first), wanted.slice(1).map(casedChar), "*").used : 0;
  const cut = lowered < wanted.length || (ascii && cased < wanted.length - 1);
  if (cut && !lowerAscii(value).includes(word)) return false;
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    const before = chars[i - 1];
    // After the start, a non-word character, or a change between letters and digits.
    const afterBreak = before === undefined || !isWordChar(before) || isDigit(before) !== isDigit(c);
    if (isWordChar(c) && afterBreak && wanted.slice(0, lowered).every((w, k) => sameLetter(chars[i + k], w))) {
      return true;
    }
    // From an ASCII lower-case to an upper-case letter.
    const fromLower = before !== undefined && before >= "a" && before <= "z";
    if (ascii && fromLower && c === first.toUpperCase()) {
      if (wanted.slice(1, 1 + cased).every((w, k) => sameLetter(chars[i + 1 + k], w))) return true;
    }
  }
  return false;
}

/** Whether `value` starts with `text`, ASCII letters in any case (what SQLite's NOCASE compares). */
export function prefixMatches(value: string, text: string): boolean {
  return lowerAscii(value).startsWith(lowerAscii(text));
}

// ---- plans: a search resolved against a resource's properties ------------------------------------------------------

/** How a property is searched: tokenized words (displayName, description) or startsWith (the rest). */
export type SearchProperty = { name: string; match: "words" | "prefix" };

export type SearchPlan =
  | { kind: "and" | "or"; parts: SearchPlan[] }
  /** Every word must begin a word of the property's value; `matchers` says how the SQL finds each. */
  | { kind: "words"; property: string; words: string[]; matchers: WordMatcher[] }
  /** The value starts with `text` (ASCII letters in any case). */
  | { kind: "prefix"; property: string; text: string };

/** The number of bound values a plan's SQL takes (bounded by MAX_SEARCH_VALUES). */
export function searchValueCount(plan: SearchPlan): number {
  switch (plan.kind) {
    case "and":
    case "or":
      return plan.parts.reduce((n, p) => n + searchValueCount(p), 0);
    case "words":
      return plan.matchers.reduce((n, m) => n + matcherValues(m), 0);
    case "prefix":
      return 1;
  }
}

function clauseOf(
  term: Extract<SearchNode, { kind: "term" }>,
  properties: readonly SearchProperty[],
  resource: string,
) {
  const colon = term.text.indexOf(":");
  if (colon < 0) {
    throw new ODataSearchError(
      `Invalid $search clause '${term.text}' at position ${term.position}: a clause is "<property>:<text to search>", in double quotes.`,
    );
  }
  const name = term.text.slice(0, colon).trim();
  const text = term.text.slice(colon + 1);
  const property = properties.find((p) => p.name.toLowerCase() === name.toLowerCase());
  if (!property) {
    throw new ODataSearchError(`Unsupported search property '${name}' for '${resource}'.`, "Request_UnsupportedQuery");
  }
  if (property.match === "prefix") {
    // "givenName: Adele" means "Adele": the space after the colon is layout, not text to match.
    const prefix = text.trimStart();
    if (prefix === "") throw noText(term);
    return { kind: "prefix" as const, property: property.name, text: prefix };
  }
  const words = searchWords(text);
  if (words.length === 0) throw noText(term);
  return { kind: "words" as const, property: property.name, words, matchers: words.map(wordMatcher) };
}

const noText = (term: Extract<SearchNode, { kind: "term" }>) =>
  new ODataSearchError(
    `Invalid $search clause '${term.text}' at position ${term.position}: it has nothing to search for.`,
  );

/** A chain of one connective as one node with its operands in order (`a AND (b AND c)` → AND [a, b, c]). */
function resolve(node: SearchNode, properties: readonly SearchProperty[], resource: string): SearchPlan {
  if (node.kind === "term") return clauseOf(node, properties, resource);
  const parts: SearchPlan[] = [];
  const stack: SearchNode[] = [node];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (n.kind === node.kind) stack.push(n.right, n.left);
    else parts.push(resolve(n, properties, resource));
  }
  return { kind: node.kind, parts };
}

/**
 * Parses `$search` and resolves its clauses against a resource's searchable properties (names in any case), bounded
 * so that its SQL can never reach D1's limits: MAX_SEARCH_LENGTH characters, MAX_SEARCH_DEPTH levels, and
 * MAX_SEARCH_VALUES bound values.
 */
export function planSearch(raw: string, properties: readonly SearchProperty[], resource: string): SearchPlan {
  const plan = resolve(parseODataSearch(raw), properties, resource);
  if (searchValueCount(plan) > MAX_SEARCH_VALUES) {
    throw new ODataSearchError(
      `The query specified in the URI is not valid. The limit of '${MAX_SEARCH_VALUES}' for search values has been exceeded.`,
    );
  }
  return plan;
}

/** Whether an object matches a plan, by the rules above (the reference the SQL is tested against). */
export function searchMatches(plan: SearchPlan, read: (property: string) => string | null): boolean {
  switch (plan.kind) {
    case "and":
      return plan.parts.every((p) => searchMatches(p, read));
    case "or":
      return plan.parts.some((p) => searchMatches(p, read));
    case "words": {
      const value = read(plan.property);
      return value !== null && plan.words.every((w) => wordMatches(value, w));
    }
    case "prefix": {
      const value = read(plan.property);
      return value !== null && prefixMatches(value, plan.text);
    }
  }
}
