import { balancedSql } from "./odata-filter.ts";
import type { SearchPlan } from "./odata-search.ts";

/** D1 binds at most 100 parameters per statement; set-based writes pass rows as one JSON parameter instead. */
export const chunk = <T>(items: readonly T[], size: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
};

/**
 * Distinct values numbered in order of first appearance: set-based writes send repeated text (a license description,
 * a source's columns) once and refer to it by number, so a page's parameters grow by an id per row, not a copy.
 */
export class Distinct {
  private readonly numbers = new Map<string, number>();
  numberOf(text: string): number {
    const known = this.numbers.get(text);
    if (known !== undefined) return known;
    this.numbers.set(text, this.numbers.size);
    return this.numbers.size - 1;
  }
  /** The values in number order. */
  values(): string[] {
    return [...this.numbers.keys()];
  }
}

/**
 * A statement that aborts the whole D1 batch (rolling back everything before it) unless `condition` holds.
 * D1 has no interactive transactions; this is how a batch says "only if nothing changed since I read".
 * json() of a non-JSON string raises SQLITE_ERROR("malformed JSON"), which D1 turns into a failed batch.
 */
export const guardSql = (condition: string) =>
  `SELECT json(CASE WHEN ${condition} THEN '0' ELSE '${GUARD_MARKER}' END)`;
const GUARD_MARKER = "seatflow guard failed";

/**
 * The same guard folded into an UPDATE, saving a statement on hot paths: `SET col = guardedValue(cond, expr)` writes
 * NULL into a NOT NULL column when the condition fails, and the constraint aborts the batch.
 */
export const guardedValue = (condition: string, value: string) => `CASE WHEN ${condition} THEN ${value} ELSE NULL END`;

/** The NOT NULL columns written through guardedValue: their constraint failing means a guard failed. */
const guardedColumns = /NOT NULL constraint failed: (users\.license_version|seat_pools\.consumed_units)/i;

/** A UNIQUE or PRIMARY KEY constraint refused the write (a racing insert of the same key, a name taken). */
export const isUniqueViolation = (error: unknown): boolean =>
  error instanceof Error && /UNIQUE constraint failed|PRIMARY KEY/i.test(error.message);

export const isGuardFailure = (error: unknown): boolean =>
  error instanceof Error && (/malformed JSON/i.test(error.message) || guardedColumns.test(error.message));

/**
 * What one bound value of a page's writes may hold. D1 refuses any value over 2,000,000 bytes, and a page's writes
 * bind its users' licensing as JSON lists (the guard's fingerprints, new sources and licenses, audit entries and
 * their values). By usersThatFit's upper bound, a page of 2,000 users with four licensing rows each (sources, group
 * grants, licenses held) comes to 1,400,000; users with more make a shorter page, never a batch D1 refuses.
 */
export const PAGE_VALUE_BYTES = 1_500_000;

/** A column of a sort order, with the collation its index sorts it in. */
export type SortColumn = { sql: string; collate?: "NOCASE" };

/**
 * Keyset paging in a sort order: the ORDER BY, and the condition for the rows after a cursor (one bound value per
 * column, numbered from `firstParam`). The condition is a row-value comparison with the collation on the cursor's
 * side, which SQLite turns into a range of the index on those columns (tenant_id, col COLLATE NOCASE, id): a page is
 * an index range, never a sort of the tenant.
 */
export function keysetSql(columns: readonly SortColumn[], descending: boolean, firstParam: number) {
  const direction = descending ? " DESC" : "";
  const orderBy = columns.map((c) => `${c.sql}${c.collate ? ` COLLATE ${c.collate}` : ""}${direction}`).join(", ");
  const values = columns.map((c, i) => `?${firstParam + i}${c.collate ? ` COLLATE ${c.collate}` : ""}`);
  const after =
    columns.length === 1
      ? `${columns[0]!.sql} ${descending ? "<" : ">"} ${values[0]}`
      : `(${columns.map((c) => c.sql).join(", ")}) ${descending ? "<" : ">"} (${values.join(", ")})`;
  return { orderBy, after };
}

/**
 * A `$search` plan (core/odata-search.ts) as a boolean SQL expression over a resource's columns; `bind` appends a
 * value and returns its placeholder. A word is found with its matcher's GLOBs (over `lower(' ' || column)`, and over
 * the column as it is for a lower-to-upper boundary) and, for a word too long for them, instr; a startsWith clause
 * compares the value's head with NOCASE (no pattern: D1 caps patterns at 50 bytes). A NULL value matches nothing (no
 * NOT is served, so NULL and false never differ).
 */
export function searchSql(
  plan: SearchPlan,
  columnOf: (property: string) => string,
  bind: (value: string) => string,
): string {
  switch (plan.kind) {
    case "and":
    case "or":
      return balancedSql(
        plan.parts.map((p) => searchSql(p, columnOf, bind)),
        plan.kind === "and" ? "AND" : "OR",
      );
    case "words": {
      const column = columnOf(plan.property);
      const words = plan.matchers.map((m) => {
        const starts = [`lower(' ' || ${column}) GLOB ${bind(m.lowered)}`];
        if (m.cased) starts.push(`${column} GLOB ${bind(m.cased)}`);
        const found = balancedSql(starts, "OR");
        return m.whole ? `(${found} AND instr(lower(${column}), ${bind(m.whole)}) > 0)` : found;
      });
      return balancedSql(words, "AND");
    }
    case "prefix":
      return startsWithSql(columnOf(plan.property), bind(plan.text), sqlLength(plan.text));
  }
}

/**
 * `column` starts with / ends with a bound text, ASCII letters in any case, compared as a substring rather than with
 * LIKE: D1 refuses a LIKE or GLOB pattern longer than 50 bytes ("LIKE or GLOB pattern too complex", measured), which a
 * client's text can be. `length` is the text's length in characters (code points, as substr counts them): a number
 * this service computes, never client text.
 */
export const startsWithSql = (column: string, placeholder: string, length: number) =>
  `substr(${column}, 1, ${length}) = ${placeholder} COLLATE NOCASE`;

export const endsWithSql = (column: string, placeholder: string, length: number) =>
  // substr(x, -0) would be all of x; the empty text ends every value, as it starts every value.
  length === 0
    ? startsWithSql(column, placeholder, 0)
    : `substr(${column}, -${length}) = ${placeholder} COLLATE NOCASE`;

/** A text's length as SQLite's substr and length count it: in code points. */
export const sqlLength = (text: string) => [...text].length;
