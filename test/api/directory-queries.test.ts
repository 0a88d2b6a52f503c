import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type ApiResponse, BASE, call, newTenant, newUser } from "../helpers/api.ts";
import { newGroup } from "../helpers/groups.ts";

// Graph's advanced queries on users and groups (issue #14): the raw count, $orderby=displayName with keyset paging in
// that order, and $search.

const eventual = { ConsistencyLevel: "eventual" };
const RAW_COUNT_NEEDS_HEADER =
  "Raw count (/$count) is not supported because the 'ConsistencyLevel:eventual' header is missing. Refer to https://aka.ms/graph-docs/advanced-queries for more information";

function expectRefused(res: ApiResponse, code: string, message: string) {
  expect({ status: res.status, code: res.body?.error?.code, message: res.body?.error?.message }).toEqual({
    status: 400,
    code,
    message,
  });
}

describe("GET /v1.0/users/$count and /v1.0/groups/$count", () => {
  it("answers the bare number as text/plain with ConsistencyLevel: eventual, honouring $filter", async () => {
    const t = await newTenant();
    for (let i = 0; i < 3; i++) await newUser(t.admin, { department: "Sales" });
    await newUser(t.admin, { department: "Support" });
    for (let i = 0; i < 2; i++) await newGroup(t.admin);
    const other = await newTenant();
    await newUser(other.admin);

    const users = await t.admin.get("/v1.0/users/$count", eventual);
    expect(users.status).toBe(200);
    expect(users.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(users.body).toBe(4);
    const raw = await fetchText(t.keys.GlobalReader, "/v1.0/users/$count");
    expect(raw).toBe("4");
    const sales = await t.admin.get(`/v1.0/users/$count?$filter=${encodeURIComponent("department eq 'sales'")}`, {
      consistencylevel: "Eventual",
    });
    expect(sales.body).toBe(3);
    // An advanced filter is served too: the header is there.
    const notSales = await t.admin.get(
      `/v1.0/users/$count?$filter=${encodeURIComponent("department ne 'Sales'")}`,
      eventual,
    );
    expect(notSales.body).toBe(1);
    expect((await t.admin.get("/v1.0/groups/$count", eventual)).body).toBe(2);
    const none = await t.admin.get(
      `/v1.0/groups/$count?$filter=${encodeURIComponent("displayName eq 'nobody'")}`,
      eventual,
    );
    expect(none.body).toBe(0);
    // Another tenant's objects are not counted; a deleted user no longer is.
    expect((await other.admin.get("/v1.0/users/$count", eventual)).body).toBe(1);
    const gone = await newUser(t.admin);
    expect((await t.admin.get("/v1.0/users/$count", eventual)).body).toBe(5);
    expect((await t.admin.delete(`/v1.0/users/${gone}`)).status).toBe(204);
    expect((await t.admin.get("/v1.0/users/$count", eventual)).body).toBe(4);
  });

  it("is refused without the header with Graph's current text, and is never a lookup of a user called $count", async () => {
    const t = await newTenant();
    await newUser(t.admin);
    for (const path of ["/v1.0/users/$count", "/v1.0/groups/$count"]) {
      const res = await t.admin.get(path);
      expectRefused(res, "Request_UnsupportedQuery", RAW_COUNT_NEEDS_HEADER);
      expect(res.headers.get("content-type")).toMatch(/application\/json/);
      expectRefused(
        await t.admin.get(path, { ConsistencyLevel: "session" }),
        "Request_UnsupportedQuery",
        RAW_COUNT_NEEDS_HEADER,
      );
    }
    // What a count does not serve is refused, not ignored.
    expectRefused(
      await t.admin.get("/v1.0/users/$count?$top=1", eventual),
      "Request_UnsupportedQuery",
      "The query parameter '$top' is not supported.",
    );
    expectRefused(
      await t.admin.get("/v1.0/groups/$count?$skip=1", eventual),
      "Request_BadRequest",
      "'$skip' is not supported by the service.",
    );
    // A malformed filter is the filter's 400.
    expect(
      (await t.admin.get(`/v1.0/users/$count?$filter=${encodeURIComponent("displayName eq")}`, eventual)).status,
    ).toBe(400);
    // /v1.0/users/{id} still finds users; PATCH and DELETE on $count find nobody.
    const id = await newUser(t.admin);
    expect((await t.admin.get(`/v1.0/users/${id}`)).status).toBe(200);
    expect((await t.admin.patch("/v1.0/users/$count", { jobTitle: "x" })).status).toBe(404);
    expect((await t.admin.delete("/v1.0/groups/$count")).status).toBe(404);
  });

  it("is documented in /openapi.json as text/plain, with the ConsistencyLevel header", async () => {
    const res = await call(null, "GET", "/openapi.json");
    const doc = res.body;
    for (const path of ["/v1.0/users/$count", "/v1.0/groups/$count"]) {
      const op = doc.paths[path].get;
      expect(Object.keys(op.responses["200"].content)).toEqual(["text/plain"]);
      expect(op.parameters.map((p: { name: string; in: string }) => `${p.in} ${p.name}`)).toEqual(
        expect.arrayContaining(["query $filter", "query $search", "header ConsistencyLevel"]),
      );
    }
  });
});

/** The raw text of an answer, as a client reading text/plain sees it. */
async function fetchText(key: string, path: string) {
  const res = await exports.default.fetch(
    new Request(`${BASE}${path}`, { headers: { authorization: `Bearer ${key}`, ConsistencyLevel: "eventual" } }),
  );
  return res.text();
}
