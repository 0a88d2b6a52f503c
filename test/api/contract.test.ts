import { describe, expect, it } from "vitest";
import { app } from "../../functions/app.ts";
import { call } from "../helpers/api.ts";

// The contract /openapi.json publishes: every route named and typed, so a client can be generated from it. Live
// answers are checked against these schemas by every API test (test/helpers/api.ts, checkContract).

type Operation = { operationId?: string; responses: Record<string, { content?: Record<string, { schema: unknown }> }> };

describe("the OpenAPI contract", () => {
  it("names every operation once and types every answer", async () => {
    const res = await call(null, "GET", "/openapi.json");
    expect(res.status).toBe(200);
    const paths = res.body.paths as Record<string, Record<string, Operation>>;
    const operations = Object.entries(paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, op })),
    );
    expect(operations.length).toBeGreaterThanOrEqual(40);
    const ids = operations.map((o) => o.op.operationId);
    expect(ids.filter((id) => !id)).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
    const untyped: string[] = [];
    for (const { key, op } of operations) {
      for (const [status, response] of Object.entries(op.responses)) {
        const schema = response.content?.["application/json"]?.schema as Record<string, unknown> | undefined;
        // A JSON answer must say what it holds: a named component or a described object, never `{}` (z.any()).
        if (schema && Object.keys(schema).length === 0) untyped.push(`${key} ${status}`);
      }
    }
    expect(untyped).toEqual([]);
    // Request bodies stay named components although defineRoute wraps each in the text rules.
    const body = (path: string, method: string) =>
      (paths[path]?.[method] as { requestBody?: { content: Record<string, { schema: unknown }> } })?.requestBody
        ?.content["application/json"]?.schema;
    expect(body("/v1.0/users", "post")).toEqual({ $ref: "#/components/schemas/CreateUser" });
    expect(body("/v1.0/users/{id}/assignLicense", "post")).toMatchObject({
      $ref: expect.stringMatching(/^#\/components/),
    });
  });

  it("declares every route in the app's registry with a zod schema for each JSON answer", () => {
    const routes = app.openAPIRegistry.definitions.filter((d) => d.type === "route");
    for (const d of routes) {
      if (d.type !== "route") continue;
      for (const [status, response] of Object.entries(d.route.responses)) {
        const content = (response as { content?: Record<string, { schema?: { _zod?: { def: { type: string } } } }> })
          .content;
        const type = content?.["application/json"]?.schema?._zod?.def.type;
        expect({ route: `${d.route.method} ${d.route.path} ${status}`, any: type === "any" }).toEqual({
          route: `${d.route.method} ${d.route.path} ${status}`,
          any: false,
        });
      }
    }
  });
});
