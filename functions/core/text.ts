// Text every string input must be before it is stored: well-formed UTF-16 and free of control characters.
// Pure: the checks and the zod refinement that applies them to a whole wire schema at once.
import { z } from "@hono/zod-openapi";

/**
 * Where a lone surrogate sits, or -1. A lone surrogate cannot be encoded as UTF-8, so D1 stores U+FFFD in its place
 * (the row no longer says what the client sent) and strict JSON readers of the audit page choke on the echo.
 * `String.prototype.isWellFormed` does the same test in workerd, but ES2023 typings lack it and we want the index.
 */
export function loneSurrogateAt(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
    }
    return i;
  }
  return -1;
}

export const isWellFormedUtf16 = (s: string): boolean => loneSurrogateAt(s) === -1;

/**
 * "name": one-line values (names, UPNs, nicknames, ids) take no control character at all.
 * "multiline": free text such as a group's description may hold tab, line feed and carriage return, which admins paste
 * from documents; every other control character is still refused.
 */
export type TextPolicy = "name" | "multiline";

/** C0 controls (U+0000–U+001F, NUL included), DEL and the C1 controls (U+0080–U+009F). */
const isControl = (c: number) => c <= 0x1f || (c >= 0x7f && c <= 0x9f);
const isLineLayout = (c: number) => c === 0x09 || c === 0x0a || c === 0x0d;

/** Where the first character the policy refuses sits, or -1. */
export function controlCharacterAt(s: string, policy: TextPolicy = "name"): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (isControl(c) && !(policy === "multiline" && isLineLayout(c))) return i;
  }
  return -1;
}

export type TextProblem = { reason: "loneSurrogate" | "controlCharacter"; index: number };

export function textProblem(s: string, policy: TextPolicy = "name"): TextProblem | null {
  const surrogate = loneSurrogateAt(s);
  if (surrogate >= 0) return { reason: "loneSurrogate", index: surrogate };
  const control = controlCharacterAt(s, policy);
  return control >= 0 ? { reason: "controlCharacter", index: control } : null;
}

/** Graph's wording for a value it refuses, e.g. on an empty or malformed displayName or department. */
export const invalidPropertyValue = (property: string, resource: string) =>
  `Invalid value specified for property '${property}' of resource '${resource}'.`;

export type BadText = { path: (string | number)[]; property: string; problem: TextProblem };

/**
 * Every string anywhere in a JSON value, keys included (a key is text the client chose too), checked in document
 * order; the first bad one is returned. `property` is the nearest object key on the path, which is what Graph names.
 */
export function findBadText(
  value: unknown,
  policyOf: (property: string) => TextPolicy = () => "name",
  maxDepth = 64,
): BadText | null {
  const walk = (v: unknown, path: (string | number)[], property: string, depth: number): BadText | null => {
    if (typeof v === "string") {
      const problem = textProblem(v, policyOf(property));
      return problem ? { path, property, problem } : null;
    }
    if (depth >= maxDepth || v === null || typeof v !== "object") return null;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const bad = walk(v[i], [...path, i], property, depth + 1);
        if (bad) return bad;
      }
      return null;
    }
    for (const [key, child] of Object.entries(v)) {
      const keyProblem = textProblem(key, "name");
      if (keyProblem) return { path: [...path, key], property: key, problem: keyProblem };
      const bad = walk(child, [...path, key], key, depth + 1);
      if (bad) return bad;
    }
    return null;
  };
  return walk(value, [], "body", 0);
}

/**
 * Applies the text rules to every string of a schema's parsed value in one place, with Graph's message naming the
 * property. Meant to wrap each route's body schema where the route is declared (before `.openapi(name)`, which
 * registers the instance it is called on), e.g. `graphText(z.object(userFields).strict(), "User").openapi("CreateUser")`.
 * It runs after the fields' own parsing (so after `.trim()`; trimming never turns bad text into good except by
 * dropping edge whitespace, which is fine to store).
 */
export function graphText<T extends z.ZodType>(
  schema: T,
  resource: string,
  options: { multiline?: readonly string[] } = {},
): T {
  const multiline = new Set(options.multiline ?? []);
  return schema.superRefine((value, ctx) => {
    const bad = findBadText(value, (property) => (multiline.has(property) ? "multiline" : "name"));
    if (bad) {
      const message = invalidPropertyValue(bad.property, resource);
      ctx.addIssue({ code: "custom", path: bad.path, message, params: { graphWords: true } });
    }
  }) as T;
}

/** A single string field with the text rules, for schemas built field by field. */
export const graphString = (property: string, resource: string, policy: TextPolicy = "name") =>
  z.string().superRefine((value, ctx) => {
    if (textProblem(value, policy)) {
      ctx.addIssue({ code: "custom", message: invalidPropertyValue(property, resource), params: { graphWords: true } });
    }
  });
