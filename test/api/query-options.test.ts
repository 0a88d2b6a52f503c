import { beforeAll, describe, expect, it } from "vitest";
import { type ApiResponse, newTenant, newUser, type TestTenant } from "../helpers/api.ts";
import { addMembers, newGroup } from "../helpers/groups.ts";

// Query options Graph refuses are refused, never ignored (issue #14): $skip on directory objects, options a route does
// not serve, unknown `$` options, an option given twice, and every $expand (seatflow expands nothing).

const SKIP = "'$skip' is not supported by the service.";

function expectRefused(res: ApiResponse, code: string, message: string) {
  expect({ status: res.status, code: res.body?.error?.code, message: res.body?.error?.message }).toEqual({
    status: 400,
    code,
    message,
  });
}

let t: TestTenant;
let user: string;
let group: string;

beforeAll(async () => {
  t = await newTenant();
  user = await newUser(t.admin);
  group = await newGroup(t.admin);
  await addMembers(t.admin, group, [user]);
});

/** Every directory-object read, with what its answer is a page of. */
const reads = () => ({
  users: "/v1.0/users",
  user: `/v1.0/users/${user}`,
  memberOf: `/v1.0/users/${user}/memberOf`,
  groups: "/v1.0/groups",
  group: `/v1.0/groups/${group}`,
  members: `/v1.0/groups/${group}/members`,
  membersWithLicenseErrors: `/v1.0/groups/${group}/membersWithLicenseErrors`,
});

describe("$skip", () => {
  it("is refused on every directory-object read with Graph's 400, never answered with page 1", async () => {
    for (const [name, path] of Object.entries(reads())) {
      const res = await t.admin.get(`${path}?$skip=1`);
      expect(res.status, name).toBe(400);
      expectRefused(res, "Request_BadRequest", SKIP);
      // Also next to the options the route serves, and as $skip=0.
      expectRefused(await t.admin.get(`${path}?$top=1&$skip=0`), "Request_BadRequest", SKIP);
    }
  });

  it("is refused inside a JSON batch as well", async () => {
    const res = await t.admin.post("/v1.0/$batch", { requests: [{ id: "1", method: "GET", url: "/users?$skip=5" }] });
    expect(res.status).toBe(200);
    expect(res.body.responses[0].status).toBe(400);
    expect(res.body.responses[0].body.error.message).toBe(SKIP);
  });
});

describe("options a route does not serve", () => {
  it("refuses an unknown $ option (Request_BadRequest) and ignores custom options without $", async () => {
    for (const [name, path] of Object.entries(reads())) {
      const res = await t.admin.get(`${path}?$foo=bar`);
      expect(res.status, name).toBe(400);
      expectRefused(res, "Request_BadRequest", "The query parameter '$foo' is not supported.");
    }
    // Names are matched as spelled.
    expectRefused(
      await t.admin.get("/v1.0/users?$TOP=1"),
      "Request_BadRequest",
      "The query parameter '$TOP' is not supported.",
    );
    // OData allows custom query options (no $): they mean nothing here and are left alone.
    expect((await t.admin.get("/v1.0/users?debug=1")).status).toBe(200);
  });

  it("refuses OData options a relationship or an object does not serve (Request_UnsupportedQuery)", async () => {
    const r = reads();
    const cases: [string, string][] = [
      [r.members, "$filter"],
      [r.members, "$count"],
      [r.members, "$orderby"],
      [r.members, "$search"],
      [r.members, "$expand"],
      [r.membersWithLicenseErrors, "$filter"],
      [r.membersWithLicenseErrors, "$count"],
      [r.memberOf, "$filter"],
      [r.memberOf, "$count"],
      [r.user, "$top"],
      [r.user, "$filter"],
      [r.group, "$top"],
      [r.users, "$format"],
      [r.groups, "$levels"],
    ];
    for (const [path, option] of cases) {
      const res = await t.admin.get(`${path}?${option}=x`, { ConsistencyLevel: "eventual" });
      expect(res.status, `${path} ${option}`).toBe(400);
      expectRefused(res, "Request_UnsupportedQuery", `The query parameter '${option}' is not supported.`);
    }
  });

  it("refuses an option given twice in ODataLib's words", async () => {
    const res = await t.admin.get("/v1.0/users?$top=1&$top=2");
    expectRefused(
      res,
      "Request_BadRequest",
      "Query option '$top' was specified more than once, but it must be specified at most once.",
    );
    expect((await t.admin.get(`/v1.0/groups/${group}/members?$select=id&$select=id`)).status).toBe(400);
  });

  it("still serves what the routes declare", async () => {
    const r = reads();
    for (const path of [r.users, r.groups, r.members, r.membersWithLicenseErrors, r.memberOf]) {
      const res = await t.admin.get(`${path}?$top=1&$select=id`);
      expect(res.status, path).toBe(200);
    }
    expect((await t.admin.get(`${r.user}?$select=id`)).status).toBe(200);
    expect((await t.admin.get(`${r.group}?$select=id`)).status).toBe(200);
  });
});

describe("$expand", () => {
  const notFound = (name: string, type: string) =>
    `Parsing OData Select and Expand failed: Could not find a property named '${name}' on type 'microsoft.graph.${type}'.`;
  const structural = (name: string, type: string) =>
    `Parsing OData Select and Expand failed: Property '${name}' on type 'microsoft.graph.${type}' is not a navigation property or complex property. Only navigation properties can be expanded.`;
  const unserved = (name: string, type: string) =>
    `Expanding '${name}' on type 'microsoft.graph.${type}' is not supported by this service.`;

  it("refuses a name that is no property of a user or a group with Graph's text", async () => {
    const r = reads();
    for (const path of [r.users, r.user]) {
      expectRefused(await t.admin.get(`${path}?$expand=shoeSize`), "Request_BadRequest", notFound("shoeSize", "user"));
    }
    for (const path of [r.groups, r.group]) {
      expectRefused(await t.admin.get(`${path}?$expand=colour`), "Request_BadRequest", notFound("colour", "group"));
    }
  });

  it("refuses a structural property with Graph's text (names matched in any case, reported as Graph spells them)", async () => {
    expectRefused(
      await t.admin.get("/v1.0/users?$expand=displayName"),
      "Request_BadRequest",
      structural("displayName", "user"),
    );
    expectRefused(
      await t.admin.get(`/v1.0/users/${user}?$expand=ASSIGNEDLICENSES`),
      "Request_BadRequest",
      structural("assignedLicenses", "user"),
    );
    expectRefused(
      await t.admin.get(`/v1.0/groups/${group}?$expand=mailNickname`),
      "Request_BadRequest",
      structural("mailNickname", "group"),
    );
  });

  it("refuses a navigation property it does not expand as an unsupported query", async () => {
    const cases: [string, string, string][] = [
      ["/v1.0/users", "memberOf", "user"],
      [`/v1.0/users/${user}`, "manager($levels=max;$select=id)", "user"],
      [`/v1.0/users/${user}`, "licensedetails", "user"],
      ["/v1.0/groups", "members", "group"],
      [`/v1.0/groups/${group}`, "owners", "group"],
    ];
    for (const [path, expand, type] of cases) {
      const name = { licensedetails: "licenseDetails" }[expand] ?? expand.split("(")[0]!;
      expectRefused(
        await t.admin.get(`${path}?$expand=${encodeURIComponent(expand)}`),
        "Request_UnsupportedQuery",
        unserved(name, type),
      );
    }
    // The first item that cannot be served is the one reported.
    expectRefused(
      await t.admin.get("/v1.0/users?$expand=memberOf,shoeSize"),
      "Request_UnsupportedQuery",
      unserved("memberOf", "user"),
    );
    expectRefused(await t.admin.get("/v1.0/users?$expand=*"), "Request_UnsupportedQuery", unserved("*", "user"));
    // An empty $expand asks for nothing.
    expect((await t.admin.get("/v1.0/users?$expand=")).status).toBe(200);
  });
});
