import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileODataFilter } from "../../functions/core/odata.ts";
import { MAX_FILTER_SQL_DEPTH, ODataFilterError, parseODataFilter } from "../../functions/core/odata-filter.ts";
import {
  MAX_PATTERN_BYTES,
  MAX_SEARCH_DEPTH,
  MAX_SEARCH_LENGTH,
  MAX_SEARCH_VALUES,
  ODataSearchError,
  parseODataSearch,
  planSearch,
  type SearchNode,
  type SearchPlan,
  type SearchProperty,
  searchMatches,
  searchValueCount,
  searchWords,
  wordMatcher,
  wordMatches,
} from "../../functions/core/odata-search.ts";
import { searchSql } from "../../functions/core/sql.ts";
import { groupPageSql, groupSearchable } from "../../functions/directory/group-store.ts";
import { userPageSql } from "../../functions/directory/store.ts";
import { userSearchable } from "../../functions/directory/user-fields.ts";
import { compileUserFilter } from "../../functions/directory/user-filter.ts";

const db = (env as unknown as { DB: D1Database }).DB;

function errorOf(fn: () => unknown): ODataSearchError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ODataSearchError) return e;
    throw e;
  }
  throw new Error("expected an ODataSearchError");
}

/** The AST as text, for readable expectations: terms quoted, connectives in brackets. */
const show = (n: SearchNode): string =>
  n.kind === "term" ? JSON.stringify(n.text) : `[${show(n.left)} ${n.kind.toUpperCase()} ${show(n.right)}]`;

const USER = [...userSearchable];

describe("parseODataSearch: ODataLib's grammar", () => {
  it("reads phrases, bare words, AND, OR, implicit AND and parentheses with OR binding loosest", () => {
    expect(show(parseODataSearch('"displayName:room"'))).toBe('"displayName:room"');
    expect(show(parseODataSearch('"displayName:a" OR "mail:b"'))).toBe('["displayName:a" OR "mail:b"]');
    expect(show(parseODataSearch('"a:1" AND "b:2" OR "c:3"'))).toBe('[["a:1" AND "b:2"] OR "c:3"]');
    expect(show(parseODataSearch('"a:1" OR "b:2" AND "c:3"'))).toBe('["a:1" OR ["b:2" AND "c:3"]]');
    expect(show(parseODataSearch('"a:1" "b:2"'))).toBe('["a:1" AND "b:2"]');
    expect(show(parseODataSearch('"description:One" AND ("displayName:Video" OR "displayName:Drive")'))).toBe(
      '["description:One" AND ["displayName:Video" OR "displayName:Drive"]]',
    );
    expect(show(parseODataSearch("  mountain   bike  "))).toBe('["mountain" AND "bike"]');
    // Lower-case and/or are words, as in ODataLib.
    expect(show(parseODataSearch("mountain or bike"))).toBe('[["mountain" AND "or"] AND "bike"]');
    // Escapes inside a phrase: \" and \\ only.
    expect(show(parseODataSearch('"displayName:say \\"hi\\" \\\\o/"'))).toBe(
      JSON.stringify('displayName:say "hi" \\o/'),
    );
  });

  it("answers malformed searches with ODataLib's texts and positions", () => {
    const cases: [string, string][] = [
      ['"', `There is an unterminated string literal at position 1 in '"'.`],
      ['A "', `There is an unterminated string literal at position 3 in 'A "'.`],
      ['A " BC', `There is an unterminated string literal at position 6 in 'A " BC'.`],
      ['\\"', `Syntax error: character '\\' is not valid at position 0 in '\\"'.`],
      ['"\\t"', `There is an invalid escape sequence '\\t' at position 2 in '"\\t"'.`],
      ["(", "Expression expected at position 1 in '('."],
      ['("displayName:a"', `')' or operator expected at position 16 in '("displayName:a"'.`],
      ["AND OR", "Expression expected at position 0 in 'AND OR'."],
      ["kit (", "Expression expected at position 5 in 'kit ('."],
      ["kit ( A", "')' or operator expected at position 7 in 'kit ( A'."],
      ["kit )", "Syntax error at position 5 in 'kit )'."],
      ['"a:1" OR', `Expression expected at position 8 in '"a:1" OR'.`],
      ["", "Expression expected at position 0 in ''."],
      ['""', "An identifier was expected at position 0."],
      // What Graph answers an unquoted clause, and a digit in a bare word.
      ["displayName:room", "Syntax error: character ':' is not valid at position 11 in 'displayName:room'."],
      ["Backup Config 0", "Syntax error: character '0' is not valid at position 14 in 'Backup Config 0'."],
    ];
    for (const [input, message] of cases) {
      const e = errorOf(() => parseODataSearch(input));
      expect({ input, message: e.message, code: e.code }).toEqual({ input, message, code: "BadRequest" });
    }
  });

  it("refuses NOT as an unsupported query, and bounds length and nesting", () => {
    const not = errorOf(() => parseODataSearch('NOT "displayName:a"'));
    expect(not.code).toBe("Request_UnsupportedQuery");
    expect(not.message).toBe("NOT is not supported in $search on directory objects.");
    expect(errorOf(() => parseODataSearch('"a:b" AND NOT "c:d"')).code).toBe("Request_UnsupportedQuery");

    const nested = (n: number) => `${"(".repeat(n)}"displayName:a"${")".repeat(n)}`;
    expect(show(parseODataSearch(nested(MAX_SEARCH_DEPTH)))).toBe('"displayName:a"');
    expect(errorOf(() => parseODataSearch(nested(MAX_SEARCH_DEPTH + 1))).message).toBe(
      `Invalid $search: clauses are nested deeper than ${MAX_SEARCH_DEPTH} levels.`,
    );
    // Thousands of parentheses are refused by length before any recursion.
    expect(errorOf(() => parseODataSearch(nested(5000))).message).toBe(
      `Invalid $search: the search is longer than ${MAX_SEARCH_LENGTH} characters.`,
    );
  });

  it("property: any text either parses or is refused with an ODataSearchError, never anything else", () => {
    const alphabet = fc.constantFrom('"', "\\", "(", ")", " ", "A", "N", "D", "O", "R", "T", ":", "a", "0", "é");
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.array(alphabet, { maxLength: 40 }).map((cs) => cs.join("")),
        ),
        (text) => {
          try {
            parseODataSearch(text);
          } catch (e) {
            expect(e).toBeInstanceOf(ODataSearchError);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe("words: Graph's tokenization", () => {
  it("splits at spaces, symbols, letter-digit changes and lower-to-upper case, as Graph's docs show", () => {
    expect(searchWords("hello world")).toEqual(["hello", "world"]);
    expect(searchWords("HelloWorld")).toEqual(["hello", "world"]);
    expect(searchWords("helloWORLD")).toEqual(["hello", "world"]);
    expect(searchWords("HELLOworld")).toEqual(["helloworld"]);
    expect(searchWords("HelloWORld")).toEqual(["hello", "world"]);
    expect(searchWords("hello.world")).toEqual(["hello", "world"]);
    expect(searchWords("hello123world")).toEqual(["hello", "123", "world"]);
    expect(searchWords("李四(David Li)")).toEqual(["李四", "david", "li"]);
    expect(searchWords("OneVideo one")).toEqual(["one", "video"]);
    expect(searchWords("Émile")).toEqual(["émile"]);
    expect(searchWords(" --- ")).toEqual([]);
  });

  it("matches a word at the start of a word of the value, in any case and order", () => {
    expect(wordMatches("Conference Room", "room")).toBe(true);
    expect(wordMatches("Conference Room", "conf")).toBe(true);
    expect(wordMatches("Conference Room", "ence")).toBe(false);
    expect(wordMatches("HelloWorld", "world")).toBe(true);
    expect(wordMatches("HELLOWORLD", "world")).toBe(false);
    expect(wordMatches("HELLOworld", "helloworld")).toBe(true);
    expect(wordMatches("hello123world", "123")).toBe(true);
    expect(wordMatches("hello123world", "23")).toBe(false);
    expect(wordMatches("hello-world", "world")).toBe(true);
    expect(wordMatches("李四(David Li)", "李")).toBe(true);
    expect(wordMatches("李四(David Li)", "四")).toBe(false);
    expect(wordMatches("李四(David Li)", "li")).toBe(true);
    expect(wordMatches("ÉMILE Zola", "émile")).toBe(true);
  });

  /** Whether D1 selects `value` for one word, through searchSql (the SQL the stores run). */
  const sqlMatches = async (value: string, word: string) => {
    const params: unknown[] = [value];
    const plan: SearchPlan = { kind: "words", property: "v", words: [word], matchers: [wordMatcher(word)] };
    const sql = searchSql(
      plan,
      () => "?1",
      (v) => {
        params.push(v);
        return "?";
      },
    );
    const row = await db
      .prepare(`SELECT coalesce((${sql}), 0) AS hit`)
      .bind(...params)
      .first<{ hit: number }>();
    return row?.hit === 1;
  };

  it("cuts a long word's patterns to D1's 50 bytes and then also looks for the whole word", async () => {
    const long = "internationalisation";
    const m = wordMatcher(long);
    expect(new TextEncoder().encode(m.lowered).length).toBeLessThanOrEqual(MAX_PATTERN_BYTES);
    expect(new TextEncoder().encode(m.cased!).length).toBeLessThanOrEqual(MAX_PATTERN_BYTES);
    expect(m.whole).toBe(long);
    expect(wordMatcher("room")).toEqual({ lowered: "*[^a-z\u0080-\u{10FFFF}]room*", cased: "*[a-z]R[oO][oO][mM]*" });
    expect(wordMatcher("42")).toEqual({ lowered: "*[^0-9]42*" });
    expect(wordMatcher("émile")).toEqual({ lowered: "*[^a-z\u0080-\u{10FFFF}][éÉ]mile*" });
    for (const [value, hit] of [
      ["Internationalisation Team", true],
      ["team internationalisation", true],
      ["TeamInternationalisation", true],
      ["Internationalisatio", false],
      ["xinternationalisation", false],
      ["InternationalisationTeam", true],
    ] as const) {
      expect({ value, model: wordMatches(value, long), d1: await sqlMatches(value, long) }).toEqual({
        value,
        model: hit,
        d1: hit,
      });
    }
    // 60 digits, a word of 30 two-byte letters: cut, still found (the whole word in ASCII-folded case only).
    for (const word of ["1".repeat(60), "é".repeat(30)]) {
      expect(await sqlMatches(`x ${word} y`, word)).toBe(true);
      expect(await sqlMatches(`x${word}`, word)).toBe(word.startsWith("1"));
      expect(await sqlMatches(`x ${word.toUpperCase()} y`, word)).toBe(wordMatches(`x ${word.toUpperCase()} y`, word));
    }
  });

  it("property: the GLOB patterns match on D1 exactly when the model says a word matches", async () => {
    // Code points, never halves of one (a lone surrogate is no text a client can send).
    const char = fc.constantFrom(...[..."aAbBzZ019 .-_(*?[]^éÉßİıK李四äÄ\u{1F600}"]);
    const text = fc.array(char, { maxLength: 14 }).map((cs) => cs.join(""));
    await fc.assert(
      fc.asyncProperty(text, text, async (value, search) => {
        for (const word of searchWords(search)) {
          expect({ value, word, hit: await sqlMatches(value, word) }).toEqual({
            value,
            word,
            hit: wordMatches(value, word),
          });
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("planSearch: clauses resolved against a resource", () => {
  it("reads property:text clauses, tokenized or as startsWith, property names in any case", () => {
    expect(planSearch('"displayName:OneVideo" OR "MAIL:onevideo"', USER, "User")).toEqual({
      kind: "or",
      parts: [
        {
          kind: "words",
          property: "displayName",
          words: ["one", "video"],
          matchers: [wordMatcher("one"), wordMatcher("video")],
        },
        { kind: "prefix", property: "mail", text: "onevideo" },
      ],
    });
    // A space after the colon is layout; LIKE's wildcards are text (no pattern is built from a startsWith).
    expect(planSearch('"givenName: 50%_off"', USER, "User")).toEqual({
      kind: "prefix",
      property: "givenName",
      text: "50%_off",
    });
    expect(planSearch('"description:one" "displayName:two"', [...groupSearchable], "Group")).toMatchObject({
      kind: "and",
    });
  });

  it("refuses clauses without a property, unknown properties, nothing to search for and too many values", () => {
    expect(errorOf(() => planSearch('"room"', USER, "User")).message).toBe(
      `Invalid $search clause 'room' at position 0: a clause is "<property>:<text to search>", in double quotes.`,
    );
    expect(errorOf(() => planSearch("room", USER, "User")).message).toMatch(/^Invalid \$search clause 'room'/);
    const unknown = errorOf(() => planSearch('"accountEnabled:true"', USER, "User"));
    expect({ message: unknown.message, code: unknown.code }).toEqual({
      message: "Unsupported search property 'accountEnabled' for 'User'.",
      code: "Request_UnsupportedQuery",
    });
    expect(errorOf(() => planSearch('"userPrincipalName:x"', [...groupSearchable], "Group")).message).toBe(
      "Unsupported search property 'userPrincipalName' for 'Group'.",
    );
    for (const empty of ['"displayName:"', '"displayName: -- "', '"mail:  "']) {
      expect(errorOf(() => planSearch(empty, USER, "User")).message).toMatch(/it has nothing to search for\.$/);
    }
    const many = Array.from({ length: MAX_SEARCH_VALUES + 1 }, (_, i) => `"mail:m${i}"`).join(" OR ");
    expect(errorOf(() => planSearch(many, USER, "User")).message).toBe(
      `The query specified in the URI is not valid. The limit of '${MAX_SEARCH_VALUES}' for search values has been exceeded.`,
    );
    const words = `"displayName:${Array.from({ length: MAX_SEARCH_VALUES / 2 }, (_, i) => `w${"abcdefghijklmnop"[i]}`).join(" ")}"`;
    expect(searchValueCount(planSearch(words, USER, "User"))).toBe(MAX_SEARCH_VALUES);
    expect(() => planSearch(words.replace('"displayName:', '"displayName:x '), USER, "User")).toThrow(ODataSearchError);
  });
});

// ---- the SQL: searchSql over real rows on D1, against the model -------------------------------------------------

describe("searchSql on D1", () => {
  const PROPS: SearchProperty[] = [
    { name: "displayName", match: "words" },
    { name: "mail", match: "prefix" },
  ];
  const VALUES = [
    "Conference Room",
    "conference room 2",
    "HelloWorld",
    "HELLOWORLD",
    "Adele Vance",
    "adele.vance",
    "AdeleV",
    "Room101",
    "李四(David Li)",
    "Émile Zola",
    "50%_off",
    "o'brien",
  ];
  const WORDS = ["room", "conf", "world", "hello", "adele", "vance", "101", "李", "li", "émile", "50", "off", "o", "x"];

  it("property: a search plan selects exactly the rows the model matches", async () => {
    const tenant = `search-${crypto.randomUUID()}`;
    const rows = VALUES.flatMap((name, i) => [
      { id: `a${i}`, name, mail: `${name.replace(/\s/g, "")}@x.test`.toLowerCase() },
      { id: `b${i}`, name: VALUES[(i + 5) % VALUES.length]!, mail: null },
    ]);
    await db
      .prepare(
        `INSERT INTO users (id, tenant_id, user_principal_name, display_name, mail, created_at, updated_at)
         SELECT value ->> '$.id', ?1, value ->> '$.id', value ->> '$.name', value ->> '$.mail', '', '' FROM json_each(?2)`,
      )
      .bind(tenant, JSON.stringify(rows.map((r) => ({ ...r, id: `${tenant}-${r.id}` }))))
      .run();

    const clause = fc.oneof(
      fc.array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 3 }).map((ws) => `"displayName:${ws.join(" ")}"`),
      fc.constantFrom(...VALUES, "adele", "ROOM", "50%", "o'").map((v) => `"mail:${v.slice(0, 4)}"`),
    );
    const { search } = fc.letrec<{ search: string }>((tie) => ({
      search: fc.oneof(
        { maxDepth: 3, depthIdentifier: "search" },
        clause,
        fc
          .tuple(fc.constantFrom(" AND ", " OR ", " "), fc.array(tie("search"), { minLength: 2, maxLength: 3 }))
          .map(([op, parts]) => `(${parts.join(op)})`),
      ),
    }));
    await fc.assert(
      fc.asyncProperty(search, async (text) => {
        let plan: SearchPlan;
        try {
          plan = planSearch(text, PROPS, "User");
        } catch (e) {
          expect(e).toBeInstanceOf(ODataSearchError); // over the value limit: a 400
          return;
        }
        const params: unknown[] = [tenant];
        const sql = searchSql(
          plan,
          (p) => (p === "displayName" ? "u.display_name" : "u.mail"),
          (v) => {
            params.push(v);
            return "?";
          },
        );
        const { results } = await db
          .prepare(`SELECT u.id FROM users u WHERE u.tenant_id = ?1 AND (${sql}) ORDER BY u.id`)
          .bind(...params)
          .all<{ id: string }>();
        const expected = rows
          .filter((r) => searchMatches(plan, (p) => (p === "displayName" ? r.name : r.mail)))
          .map((r) => `${tenant}-${r.id}`)
          .sort();
        expect({ text, ids: results.map((r) => r.id) }).toEqual({ text, ids: expected });
      }),
      { numRuns: 150 },
    );
  });

  it("the largest search with the deepest filter and a cursor runs on D1 under its limits", async () => {
    // The deepest filter the users compiler admits (as test/unit/odata-filter.test.ts builds it).
    const lambda = "assignedLicenses/any(x:x/skuId eq 184efa21-98c3-4e5d-95ab-d07053a96e67)";
    const at = (n: number) => {
      let s = lambda;
      for (let i = 0; i < n; i++) s = `not (department eq 'x' or ${s})`;
      return s;
    };
    let levels = 0;
    const admitted = (n: number) => {
      try {
        compileUserFilter(parseODataFilter(at(n)));
        return true;
      } catch (e) {
        if (e instanceof ODataFilterError) return false;
        throw e;
      }
    };
    while (admitted(levels + 1)) levels++;
    expect(levels).toBeGreaterThan(10);
    const filter = compileODataFilter(at(levels), compileUserFilter)!;
    expect(MAX_FILTER_SQL_DEPTH).toBe(80);

    // The deepest and the widest search: nesting at the bound, alternating connectives, all values used.
    const letters = "abcdefghijklmnopqrstuvwxyz";
    let deep = '"displayName:ab cd"';
    for (let i = 0; i < MAX_SEARCH_DEPTH; i++) deep = `("mail:${letters[i]}" ${i % 2 ? "AND" : "OR"} ${deep})`;
    const wide = `"displayName:${Array.from({ length: MAX_SEARCH_VALUES / 2 }, (_, i) => `q${letters[i]}`).join(" ")}"`;
    for (const text of [deep, wide]) {
      const search = planSearch(text, USER, "User");
      expect(searchValueCount(search)).toBeLessThanOrEqual(MAX_SEARCH_VALUES);
      for (const order of [undefined, { property: "displayName", descending: true }]) {
        const page = userPageSql("t", {
          filter,
          search,
          top: 999,
          order,
          after: order ? ["Name", "id"] : ["id"],
        });
        expect(page.params.length).toBeLessThanOrEqual(100);
        await db
          .prepare(page.sql)
          .bind(...page.params)
          .all();
      }
      const groups = groupPageSql("t", {
        search: planSearch(text.replaceAll("mail:", "mailNickname:"), [...groupSearchable], "Group"),
        top: 10,
      });
      await db
        .prepare(groups.sql)
        .bind(...groups.params)
        .all();
    }
  });
});
