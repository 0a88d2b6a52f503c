import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { groupPageSql } from "../../functions/directory/group-store.ts";
import { userPageSql } from "../../functions/directory/store.ts";
import { type ApiResponse, BASE, type Client, call, newTenant, newUser, type TestTenant } from "../helpers/api.ts";
import { seedUsers } from "../helpers/fixtures.ts";
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

// ---- $orderby ----------------------------------------------------------------------------------------------------

/** SQLite's NOCASE: ASCII letters folded, everything else compared as UTF-8 bytes (code points). */
const nocase = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());
const byCodePoint = (a: string, b: string) => {
  const x = [...a].map((c) => c.codePointAt(0)!);
  const y = [...b].map((c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
};
/** displayName order as Graph's index keeps it: case-insensitive, ties by id. */
const displayNameOrder = (a: { name: string; id: string }, b: { name: string; id: string }) =>
  byCodePoint(nocase(a.name), nocase(b.name)) || byCodePoint(a.id, b.id);

/** Every page of a listing through its nextLinks: the ids in order, and the number of pages. */
async function walk(api: Client, first: string, headers: Record<string, string> = {}) {
  const seen: { id: string; displayName: string }[] = [];
  let path: string | undefined = first;
  let pages = 0;
  while (path) {
    const res: ApiResponse = await api.get(path, headers);
    expect(res.status, path).toBe(200);
    seen.push(...res.body.value);
    const next: string | undefined = res.body["@odata.nextLink"];
    if (next) expect(next).toContain("$orderby=");
    path = next ? next.slice(new URL(next).origin.length) : undefined;
    if (++pages > 500) throw new Error("paging does not terminate");
  }
  return { ids: seen.map((u) => u.id), names: seen.map((u) => u.displayName), pages };
}

const NAMES = [
  "alice",
  "Alice",
  "ALICE",
  "alice",
  "Al",
  "Alice B",
  "alice b",
  "Bob",
  "bob",
  "BOB",
  "Émile",
  "émile",
  "Zoë",
  "zoe",
  "Zed",
  "_under",
  "1 First",
  "10 Tenth",
  "2 Second",
  " leading space",
  "Conference Room",
  "conference room",
  "Übel",
];

describe("$orderby=displayName", () => {
  it("walks users in displayName order across pages, ties and case variants included, both directions", async () => {
    const t = await newTenant();
    // 3 copies of each name: every page boundary falls among ties somewhere.
    const names = [...NAMES, ...NAMES, ...NAMES];
    const ids = await seedUsers(t.id, names.length, (i) => ({ name: names[i] }));
    const rows = await env.DB.prepare("SELECT id, display_name AS name FROM users WHERE tenant_id = ?1")
      .bind(t.id)
      .all<{ id: string; name: string }>();
    expect(rows.results).toHaveLength(ids.length);
    const ascending = [...rows.results].sort(displayNameOrder).map((r) => r.id);

    const asc = await walk(t.admin, "/v1.0/users?$orderby=displayName&$top=7&$select=id,displayName");
    expect(asc.pages).toBe(Math.ceil(names.length / 7));
    expect(asc.ids).toEqual(ascending);
    expect((await walk(t.admin, "/v1.0/users?$orderby=displayName%20asc&$top=10&$select=id,displayName")).ids).toEqual(
      ascending,
    );
    const desc = await walk(t.admin, "/v1.0/users?$orderby=displayName%20desc&$top=7&$select=id,displayName");
    expect(desc.ids).toEqual([...ascending].reverse());
    // One page of all, and a page size of one (every row a boundary).
    expect((await walk(t.admin, "/v1.0/users?$orderby=displayName&$top=999")).ids).toEqual(ascending);
    expect((await walk(t.admin, "/v1.0/users?$orderby=DisplayName%20DESC&$top=1&$select=id,displayName")).ids).toEqual(
      [...ascending].reverse(),
    );
  });

  it("walks groups in displayName order across pages with ties, both directions", async () => {
    const t = await newTenant();
    const names = ["Sales", "sales", "SALES", "Marketing", "marketing team", "Ops", "ops", "Zeta", "alpha", "Alpha"];
    const created: { id: string; name: string }[] = [];
    for (const name of [...names, ...names]) created.push({ id: await newGroup(t.admin, { displayName: name }), name });
    const ascending = [...created].sort(displayNameOrder).map((g) => g.id);
    expect((await walk(t.admin, "/v1.0/groups?$orderby=displayName&$top=3&$select=id,displayName")).ids).toEqual(
      ascending,
    );
    expect((await walk(t.admin, "/v1.0/groups?$orderby=displayName desc&$top=4")).ids).toEqual(
      [...ascending].reverse(),
    );
  });

  it("orders users by userPrincipalName too, which Graph sorts by default", async () => {
    const t = await newTenant();
    const upns: string[] = [];
    for (const nick of ["mike", "Anna", "zack", "bea", "carl"]) {
      const id = await newUser(t.admin, { mailNickname: nick, userPrincipalName: `${nick}@${t.domain}` });
      upns.push((await t.admin.get(`/v1.0/users/${id}?$select=userPrincipalName`)).body.userPrincipalName);
    }
    const res = await t.admin.get("/v1.0/users?$orderby=userPrincipalName desc&$top=2&$select=userPrincipalName");
    expect(res.body.value.map((u: { userPrincipalName: string }) => u.userPrincipalName)).toEqual(
      [...upns].sort().reverse().slice(0, 2),
    );
    const all = await walk(t.admin, "/v1.0/users?$orderby=userPrincipalName&$top=2");
    expect(all.ids).toHaveLength(5);
  });

  it("needs the advanced query parameters with $filter, as Graph does", async () => {
    const t = await newTenant();
    for (const name of ["Sam", "adam", "Kim", "bo"]) await newUser(t.admin, { displayName: name, department: "Sales" });
    await newUser(t.admin, { displayName: "Aaron", department: "Support" });
    const q = `/v1.0/users?$filter=${encodeURIComponent("department eq 'Sales'")}&$orderby=displayName`;
    for (const [path, headers] of [
      [q, {}],
      [q, eventual],
      [`${q}&$count=true`, {}],
      [`/v1.0/groups?$filter=${encodeURIComponent("securityEnabled eq true")}&$orderby=displayName`, eventual],
    ] as const) {
      expectRefused(
        await t.admin.get(path, headers),
        "Request_UnsupportedQuery",
        "Sorting not supported for current query.",
      );
    }
    const served = await t.admin.get(`${q}&$count=true&$select=displayName`, eventual);
    expect(served.status).toBe(200);
    expect(served.body["@odata.count"]).toBe(4);
    expect(served.body.value.map((u: { displayName: string }) => u.displayName)).toEqual(["adam", "bo", "Kim", "Sam"]);
  });

  it("refuses other properties, several keys and malformed clauses with Graph's texts", async () => {
    const t = await newTenant();
    const cases: [string, string, string][] = [
      [
        "/v1.0/users?$orderby=createdDateTime",
        "Request_UnsupportedQuery",
        "Unsupported sort property 'createdDateTime' for 'User'.",
      ],
      [
        "/v1.0/users?$orderby=shoeSize desc",
        "Request_UnsupportedQuery",
        "Unsupported sort property 'shoeSize' for 'User'.",
      ],
      ["/v1.0/groups?$orderby=mail", "Request_UnsupportedQuery", "Unsupported sort property 'mail' for 'Group'."],
      [
        "/v1.0/groups?$orderby=userPrincipalName",
        "Request_UnsupportedQuery",
        "Unsupported sort property 'userPrincipalName' for 'Group'.",
      ],
      ["/v1.0/users?$orderby=displayName,id", "Request_UnsupportedQuery", "Sorting not supported for current query."],
      ["/v1.0/users?$orderby=displayName up", "Request_BadRequest", "Syntax error at position 14 in 'displayName up'."],
      [
        "/v1.0/users?$orderby=displayName asc desc",
        "Request_BadRequest",
        "Syntax error at position 20 in 'displayName asc desc'.",
      ],
      ["/v1.0/groups?$orderby='x'", "Request_BadRequest", "Syntax error at position 3 in ''x''."],
    ];
    for (const [path, code, message] of cases) expectRefused(await t.admin.get(path), code, message);
    // An empty $orderby asks for no order.
    expect((await t.admin.get("/v1.0/users?$orderby=")).status).toBe(200);
  });

  it("reads a $skiptoken only in the order that wrote it", async () => {
    const t = await newTenant();
    for (let i = 0; i < 3; i++) await newUser(t.admin);
    const first = await t.admin.get("/v1.0/users?$orderby=displayName&$top=1");
    const token = new URL(first.body["@odata.nextLink"]).searchParams.get("$skiptoken")!;
    expect((await t.admin.get(`/v1.0/users?$orderby=displayName&$top=1&$skiptoken=${token}`)).status).toBe(200);
    for (const path of [
      `/v1.0/users?$orderby=displayName desc&$top=1&$skiptoken=${token}`,
      `/v1.0/users?$top=1&$skiptoken=${token}x`,
      `/v1.0/users?$orderby=userPrincipalName&$skiptoken=${token}`,
      `/v1.0/groups?$orderby=displayName&$skiptoken=${token.slice(0, -4)}`,
    ]) {
      expectRefused(await t.admin.get(path), "Request_BadRequest", "Invalid $skiptoken.");
    }
    const byId = await t.admin.get("/v1.0/users?$top=1");
    const idToken = new URL(byId.body["@odata.nextLink"]).searchParams.get("$skiptoken")!;
    expectRefused(
      await t.admin.get(`/v1.0/users?$orderby=displayName&$skiptoken=${idToken}`),
      "Request_BadRequest",
      "Invalid $skiptoken.",
    );
  });

  it("reads a page as an index range in displayName order, never a sort of the tenant", async () => {
    const plan = async (sql: string, params: unknown[]) =>
      (
        await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
          .bind(...params)
          .all<{ detail: string }>()
      ).results
        .map((r) => r.detail)
        .join("\n");
    for (const descending of [false, true]) {
      const order = { property: "displayName", descending };
      const users = await plan(
        ...(Object.values(userPageSql("t", { top: 10, order, after: ["Name", "id"] })) as [string, unknown[]]),
      );
      expect(users).toMatch(
        /USING (COVERING )?INDEX users_tenant_display_name \(tenant_id=\? AND \(display_name,id\)[<>]\(\?,\?\)\)/,
      );
      expect(users).not.toMatch(/TEMP B-TREE/);
      const firstPage = await plan(...(Object.values(userPageSql("t", { top: 10, order })) as [string, unknown[]]));
      expect(firstPage).toMatch(/USING (COVERING )?INDEX users_tenant_display_name \(tenant_id=\?\)/);
      expect(firstPage).not.toMatch(/TEMP B-TREE/);
      const groups = await plan(
        ...(Object.values(groupPageSql("t", { top: 10, order, after: ["Name", "id"] })) as [string, unknown[]]),
      );
      expect(groups).toMatch(
        /USING (COVERING )?INDEX groups_tenant_display_name \(tenant_id=\? AND \(display_name,id\)[<>]\(\?,\?\)\)/,
      );
      expect(groups).not.toMatch(/TEMP B-TREE/);
      const upn = await plan(
        ...(Object.values(
          userPageSql("t", { top: 10, order: { property: "userPrincipalName", descending }, after: ["a@b"] }),
        ) as [string, unknown[]]),
      );
      expect(upn).toMatch(/USING INDEX users_tenant_upn \(tenant_id=\? AND user_principal_name[<>]\?\)/);
      expect(upn).not.toMatch(/TEMP B-TREE/);
    }
  });
});

// ---- $search -----------------------------------------------------------------------------------------------------

const search = (text: string) => `$search=${encodeURIComponent(text)}`;
const names = (res: ApiResponse) => res.body.value.map((o: { displayName: string }) => o.displayName).sort();

describe("$search on users", () => {
  async function people() {
    const t = await newTenant();
    const make = (displayName: string, fields: Record<string, unknown> = {}) =>
      newUser(t.admin, { displayName, ...fields });
    await make("Conference Room", { department: "Facilities" });
    await make("Room Service", { department: "Roomba Ops" });
    await make("Adele Vance", { givenName: "Adele", surname: "Vance", mail: `adele.vance@${t.domain}` });
    await make("Alex Wilber", { givenName: "Alex", mail: `alexw@${t.domain}` });
    await make("HelloWorld Bot");
    await make("HELLOWORLD");
    await make("Conf2024 Planner");
    await make("李四(David Li)");
    await newUser(t.admin, {
      displayName: "Megan Bowen",
      mailNickname: "meganb",
      userPrincipalName: `meganb@${t.domain}`,
    });
    return t;
  }
  const find = (t: TestTenant, text: string, extra = "") =>
    t.admin.get(`/v1.0/users?${search(text)}&$select=displayName${extra}`, eventual);

  it("matches displayName words by prefix in any case and order, and other properties by startsWith", async () => {
    const t = await people();
    const cases: [string, string[]][] = [
      ['"displayName:room"', ["Conference Room", "Room Service"]],
      ['"displayName:ROOM conf"', ["Conference Room"]],
      ['"displayName:conf"', ["Conf2024 Planner", "Conference Room"]],
      ['"displayName:2024"', ["Conf2024 Planner"]],
      ['"displayName:ence"', []],
      ['"displayName:world"', ["HelloWorld Bot"]],
      // One word of the value, and (seatflow's reading) a search word may run on across a case change of the value.
      ['"displayName:helloworld"', ["HELLOWORLD", "HelloWorld Bot"]],
      ['"displayName:李"', ["李四(David Li)"]],
      ['"displayName:david"', ["李四(David Li)"]],
      ['"givenName:ade"', ["Adele Vance"]],
      ['"surname:VAN"', ["Adele Vance"]],
      ['"mail:adele.v"', ["Adele Vance"]],
      ['"mail:vance"', []],
      ['"department:room"', ["Room Service"]],
      ['"mailNickname:megan"', ["Megan Bowen"]],
      [`"userPrincipalName:meganb@${t.domain}"`, ["Megan Bowen"]],
      ['"displayName:alex" OR "mail:adele"', ["Adele Vance", "Alex Wilber"]],
      ['"displayName:room" AND "department:fac"', ["Conference Room"]],
      ['"displayName:room" "department:fac"', ["Conference Room"]],
      ['("displayName:room" OR "displayName:alex") AND "displayName:service"', ["Room Service"]],
      ['"displayName:room" OR "displayName:alex" AND "displayName:service"', ["Conference Room", "Room Service"]],
      // GLOB and LIKE characters are text: a word holds letters and digits only, startsWith compares text.
      ['"displayName:r*m"', []],
      ['"mail:a%"', []],
      ['"mail:_"', []],
    ];
    for (const [text, expected] of cases) {
      const res = await find(t, text);
      expect({ text, status: res.status, names: res.status === 200 ? names(res) : res.body }).toEqual({
        text,
        status: 200,
        names: expected,
      });
    }
  });

  it("combines with $filter, $count, $select, $orderby and paging", async () => {
    const t = await people();
    for (let i = 0; i < 6; i++) await newUser(t.admin, { displayName: `${["b", "A", "c"][i % 3]} room ${i}` });
    const counted = await find(t, '"displayName:room"', "&$count=true");
    expect(counted.body["@odata.count"]).toBe(8);
    const filtered = await t.admin.get(
      `/v1.0/users?${search('"displayName:room"')}&$filter=${encodeURIComponent("department eq 'Facilities'")}&$count=true`,
      eventual,
    );
    expect(names(filtered)).toEqual(["Conference Room"]);
    expect(filtered.body["@odata.count"]).toBe(1);
    // In displayName order, through pages of 3: the nextLink keeps $search (and the header is the client's to send).
    const walked = await walk(
      t.admin,
      `/v1.0/users?${search('"displayName:room"')}&$orderby=displayName&$top=3`,
      eventual,
    );
    expect(walked.names).toEqual([
      "A room 1",
      "A room 4",
      "b room 0",
      "b room 3",
      "c room 2",
      "c room 5",
      "Conference Room",
      "Room Service",
    ]);
    expect(walked.pages).toBe(3);
    // The raw count honours $search too.
    const raw = await t.admin.get(`/v1.0/users/$count?${search('"displayName:room" OR "givenName:alex"')}`, eventual);
    expect(raw.body).toBe(9);
    // $select projects the found users.
    const selected = await t.admin.get(`/v1.0/users?${search('"mail:adele"')}&$select=mail,givenName`, eventual);
    expect(selected.body.value).toEqual([
      { id: expect.any(String), mail: `adele.vance@${t.domain}`, givenName: "Adele" },
    ]);
  });

  it("needs ConsistencyLevel: eventual, as Graph does", async () => {
    const t = await newTenant();
    const text =
      "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'";
    for (const path of ["/v1.0/users", "/v1.0/groups"]) {
      expectRefused(await t.admin.get(`${path}?${search('"displayName:a"')}`), "Request_UnsupportedQuery", text);
    }
    // $count=true is not needed with $search.
    expect((await t.admin.get(`/v1.0/users?${search('"displayName:a"')}`, eventual)).status).toBe(200);
  });

  it("refuses malformed searches with ODataLib's texts and unsupported ones as unsupported queries", async () => {
    const t = await newTenant();
    const cases: [string, string, string][] = [
      [
        "displayName:room",
        "Request_BadRequest",
        "Syntax error: character ':' is not valid at position 11 in 'displayName:room'.",
      ],
      [
        '"displayName:room',
        "Request_BadRequest",
        `There is an unterminated string literal at position 17 in '"displayName:room'.`,
      ],
      ['"displayName:a" OR', "Request_BadRequest", `Expression expected at position 18 in '"displayName:a" OR'.`],
      [
        '"room"',
        "Request_BadRequest",
        `Invalid $search clause 'room' at position 0: a clause is "<property>:<text to search>", in double quotes.`,
      ],
      [
        '"displayName:*"',
        "Request_BadRequest",
        `Invalid $search clause 'displayName:*' at position 0: it has nothing to search for.`,
      ],
      ['NOT "displayName:a"', "Request_UnsupportedQuery", "NOT is not supported in $search on directory objects."],
      ['"accountEnabled:true"', "Request_UnsupportedQuery", "Unsupported search property 'accountEnabled' for 'User'."],
    ];
    for (const [text, code, message] of cases)
      expectRefused(await t.admin.get(`/v1.0/users?${search(text)}`, eventual), code, message);
    expectRefused(
      await t.admin.get(`/v1.0/groups?${search('"userPrincipalName:a"')}`, eventual),
      "Request_UnsupportedQuery",
      "Unsupported search property 'userPrincipalName' for 'Group'.",
    );
  });
});

describe("$search on groups", () => {
  it("tokenizes displayName and description, and matches mail and mailNickname by startsWith", async () => {
    const t = await newTenant();
    await newGroup(t.admin, {
      displayName: "OneVideo Team",
      mailEnabled: true,
      mailNickname: "onevideo",
      groupTypes: ["Unified"],
    });
    await newGroup(t.admin, { displayName: "Video Producers", description: "One place for drive uploads" });
    await newGroup(t.admin, { displayName: "Drive Owners", description: "Everyone who owns a drive" });
    await newGroup(t.admin, { displayName: "Sales", mailNickname: "sales-emea" });
    const find = async (text: string) => names(await t.admin.get(`/v1.0/groups?${search(text)}`, eventual));
    // The examples of Graph's search-query-parameter page.
    expect(await find('"displayName:OneVideo" OR "mail:onevideo"')).toEqual(["OneVideo Team"]);
    expect(await find('"description:One" AND ("displayName:Video" OR "displayName:Drive")')).toEqual([
      "Video Producers",
    ]);
    expect(await find('"displayName:video"')).toEqual(["OneVideo Team", "Video Producers"]);
    expect(await find('"description:drive"')).toEqual(["Drive Owners", "Video Producers"]);
    expect(await find(`"mail:onevideo@"`)).toEqual(["OneVideo Team"]);
    expect(await find('"mailNickname:SALES-e"')).toEqual(["Sales"]);
    // Not mail-enabled: no mail to match.
    expect(await find('"mail:sales"')).toEqual([]);
    const filtered = await t.admin.get(
      `/v1.0/groups?$filter=${encodeURIComponent("mailEnabled eq true")}&${search('"displayName:video"')}`,
      eventual,
    );
    expect(names(filtered)).toEqual(["OneVideo Team"]);
    expect((await t.admin.get(`/v1.0/groups/$count?${search('"displayName:video"')}`, eventual)).body).toBe(2);
    const ordered = await t.admin.get(
      `/v1.0/groups?${search('"displayName:video"')}&$orderby=displayName desc`,
      eventual,
    );
    expect(ordered.body.value.map((g: { displayName: string }) => g.displayName)).toEqual([
      "Video Producers",
      "OneVideo Team",
    ]);
  });
});

describe("texts longer than D1's 50-byte patterns", () => {
  it("answer startsWith, endsWith and $search clauses instead of a 500", async () => {
    const t = await newTenant();
    const long = `${"Verylongdisplaynamepart".repeat(3)} Ü`;
    await newUser(t.admin, { displayName: long, mail: `${"m".repeat(60)}@${t.domain}` });
    await newGroup(t.admin, { displayName: long });
    const filter = (f: string) => `$filter=${encodeURIComponent(f)}&$count=true`;
    const cases: [string, number][] = [
      [`/v1.0/users?${filter(`startsWith(displayName,'${long.slice(0, 60)}')`)}`, 1],
      [`/v1.0/users?${filter(`endsWith(mail,'${"m".repeat(55)}@${t.domain}')`)}`, 1],
      [`/v1.0/users?${filter(`startsWith(displayName,'${"x".repeat(60)}')`)}`, 0],
      [`/v1.0/groups?${filter(`startsWith(displayName,'${long.slice(0, 60).toUpperCase()}')`)}`, 1],
      [`/v1.0/users?${search(`"displayName:${long.slice(0, 40)}"`)}&$count=true`, 1],
      [`/v1.0/users?${search(`"mail:${"M".repeat(60)}"`)}&$count=true`, 1],
      // One word of 69 letters: its patterns cut to 50 bytes, and the whole word found too.
      [`/v1.0/groups?${search(`"displayName:${"verylongdisplaynamepart".repeat(3)}"`)}&$count=true`, 1],
      [`/v1.0/groups?${search(`"displayName:${"verylongdisplaynamepart".repeat(2)}x"`)}&$count=true`, 0],
    ];
    for (const [path, count] of cases) {
      const res = await t.admin.get(path, eventual);
      expect({ path, status: res.status, count: res.body["@odata.count"] }).toEqual({ path, status: 200, count });
    }
    const audits = await t.admin.get(
      `/v1.0/auditLogs/directoryAudits?$filter=${encodeURIComponent(`startsWith(activityDisplayName,'${"A".repeat(60)}')`)}`,
    );
    expect(audits.status).toBe(200);
  });
});
