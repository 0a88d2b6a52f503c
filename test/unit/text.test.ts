import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  controlCharacterAt,
  findBadText,
  graphString,
  graphText,
  invalidPropertyValue,
  isWellFormedUtf16,
  loneSurrogateAt,
  textProblem,
} from "../../functions/core/text.ts";
import { CreateUserSchema, UpdateUserSchema } from "../../functions/directory/schemas.ts";

const nativeWellFormed = (s: string) => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

describe("well-formed UTF-16", () => {
  it.each([
    ["", -1],
    ["Adele Vance", -1],
    ["😀 emoji pair", -1],
    ["\ud800", 0],
    ["a\udc00b", 1],
    ["ok\ud83d", 2],
    ["\ud83d\ud83d\ude00", 0],
    ["\ude00\ud83d", 0],
  ])("%j → lone surrogate at %i", (s, at) => {
    expect(loneSurrogateAt(s)).toBe(at);
    expect(isWellFormedUtf16(s)).toBe(at === -1);
  });

  it("workerd has String.prototype.isWellFormed and it agrees on every string", () => {
    expect(typeof (String.prototype as unknown as { isWellFormed?: unknown }).isWellFormed).toBe("function");
    fc.assert(
      fc.property(
        fc.string({ unit: "binary" }),
        fc.string({ unit: fc.integer({ min: 0xd7f0, max: 0xe010 }).map((c) => String.fromCharCode(c)) }),
        (a, b) => {
          for (const s of [a, b, a + b]) expect(isWellFormedUtf16(s)).toBe(nativeWellFormed(s));
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("control characters", () => {
  it("refuses NUL, every other C0 control, DEL and C1 controls in names", () => {
    for (let c = 0; c <= 0x1f; c++) expect(controlCharacterAt(`ab${String.fromCharCode(c)}`), `U+${c}`).toBe(2);
    expect(controlCharacterAt("a\u007f")).toBe(1);
    for (let c = 0x80; c <= 0x9f; c++) expect(controlCharacterAt(String.fromCharCode(c))).toBe(0);
    expect(controlCharacterAt("Zoë Ørsted 李 \u00a0 \u2028")).toBe(-1);
  });

  it("lets multiline text keep tab, line feed and carriage return, nothing else", () => {
    expect(controlCharacterAt("line one\r\n\tline two", "multiline")).toBe(-1);
    expect(controlCharacterAt("line one\r\n", "name")).toBe(8);
    expect(controlCharacterAt("bell\u0007", "multiline")).toBe(4);
    expect(controlCharacterAt("nul\u0000", "multiline")).toBe(3);
  });

  it("reports a lone surrogate before a control character", () => {
    expect(textProblem("\u0000\ud800")).toEqual({ reason: "loneSurrogate", index: 1 });
    expect(textProblem("a\u0000")).toEqual({ reason: "controlCharacter", index: 1 });
    expect(textProblem("fine")).toBeNull();
  });
});

describe("findBadText", () => {
  it("names the nearest property and gives the path", () => {
    expect(findBadText({ displayName: "ok", passwordProfile: { password: "p\u0000" } })).toEqual({
      path: ["passwordProfile", "password"],
      property: "password",
      problem: { reason: "controlCharacter", index: 1 },
    });
    expect(findBadText({ addLicenses: [{ disabledPlans: ["x", "\udfff"] }] })).toMatchObject({
      path: ["addLicenses", 0, "disabledPlans", 1],
      property: "disabledPlans",
    });
    expect(findBadText({ "bad\ud800key": 1 })).toMatchObject({ property: "bad\ud800key", path: ["bad\ud800key"] });
    expect(findBadText(["\u0001"])).toMatchObject({ property: "body", path: [0] });
    expect(findBadText({ a: 1, b: null, c: [true, 2.5] })).toBeNull();
  });

  it("applies the per-property policy", () => {
    const policy = (p: string) => (p === "description" ? "multiline" : "name");
    expect(findBadText({ description: "a\nb" }, policy)).toBeNull();
    expect(findBadText({ displayName: "a\nb" }, policy)).toMatchObject({ property: "displayName" });
  });

  it("does not recurse without bound", () => {
    let deep: unknown = "\u0000";
    for (let i = 0; i < 10_000; i++) deep = { x: deep };
    expect(() => findBadText(deep)).not.toThrow();
  });

  it("property: finds a bad string wherever it is nested, and nothing in clean JSON", () => {
    const clean = fc.string({ unit: fc.constantFrom(..."abc XYZ 09 é😀-_'.") });
    const json = fc.letrec<{ v: unknown }>((tie) => ({
      v: fc.oneof(
        { depthSize: "small" },
        clean,
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie("v"), { maxLength: 3 }),
        fc.dictionary(clean, tie("v"), { maxKeys: 3 }),
      ),
    })).v;
    fc.assert(
      fc.property(json, fc.constantFrom("\u0000", "\ud800", "\u009f", "\u007f"), (v, bad) => {
        expect(findBadText(v)).toBeNull();
        expect(findBadText({ wrapper: [v, { field: `x${bad}y` }] })).toMatchObject({ property: "field" });
      }),
      { numRuns: 300 },
    );
  });
});

describe("zod helpers (how routes apply the rules in one place)", () => {
  const CreateUser = graphText(CreateUserSchema, "User");
  const UpdateUser = graphText(UpdateUserSchema, "User");
  const valid = {
    accountEnabled: true,
    displayName: "Adele Vance",
    mailNickname: "adele",
    userPrincipalName: "adele@contoso.com",
  };
  const issueOf = (r: z.ZodSafeParseResult<unknown>) => (r.success ? null : r.error.issues[0]);

  it("passes clean input through unchanged", () => {
    expect(CreateUser.parse(valid)).toEqual(CreateUserSchema.parse(valid));
  });

  it("refuses a lone surrogate in displayName with Graph's message naming the field", () => {
    const issue = issueOf(CreateUser.safeParse({ ...valid, displayName: "Adele \ud800" }));
    expect(issue).toMatchObject({ path: ["displayName"], message: invalidPropertyValue("displayName", "User") });
    expect(issue?.message).toBe("Invalid value specified for property 'displayName' of resource 'User'.");
  });

  it("refuses NUL and control characters in names and UPNs, on create and update", () => {
    expect(issueOf(CreateUser.safeParse({ ...valid, surname: "Van\u0000ce" }))).toMatchObject({ path: ["surname"] });
    expect(issueOf(UpdateUser.safeParse({ jobTitle: "Boss\u001b[31m" }))).toMatchObject({ path: ["jobTitle"] });
    expect(issueOf(UpdateUser.safeParse({ department: "Sales\u0085" }))).toMatchObject({ path: ["department"] });
    expect(issueOf(CreateUser.safeParse({ ...valid, passwordProfile: { password: "\ud800" } }))).toMatchObject({
      path: ["passwordProfile", "password"],
      message: invalidPropertyValue("password", "User"),
    });
  });

  it("keeps multiline fields multiline", () => {
    const Group = graphText(z.object({ displayName: z.string(), description: z.string().optional() }), "Group", {
      multiline: ["description"],
    });
    expect(Group.safeParse({ displayName: "G", description: "line 1\nline 2" }).success).toBe(true);
    expect(issueOf(Group.safeParse({ displayName: "G\nH" }))).toMatchObject({
      message: "Invalid value specified for property 'displayName' of resource 'Group'.",
    });
    expect(issueOf(Group.safeParse({ displayName: "G", description: "a\u0000" }))).toMatchObject({
      path: ["description"],
    });
  });

  it("wrapping a registered schema keeps its OpenAPI name, so defineRoute can wrap every body in one place", () => {
    const app = new OpenAPIHono();
    const route = createRoute({
      method: "post",
      path: "/users",
      request: { body: { content: { "application/json": { schema: graphText(CreateUserSchema, "User") } } } },
      responses: { 200: { description: "ok" } },
    });
    app.openapi(route, (c) => c.json({}));
    const doc = app.getOpenAPIDocument({ openapi: "3.0.0", info: { title: "t", version: "1" } });
    expect(doc.paths["/users"]?.post?.requestBody).toEqual({
      content: { "application/json": { schema: { $ref: "#/components/schemas/CreateUser" } } },
    });
  });

  it("graphString checks one field", () => {
    const s = graphString("employeeId", "User");
    expect(s.safeParse("E-1").success).toBe(true);
    expect(issueOf(s.safeParse("E\u0000"))?.message).toBe(invalidPropertyValue("employeeId", "User"));
  });
});
