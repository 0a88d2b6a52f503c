// Fuzz: OData query options on every list route, generated from each resource's grammar; never a 5xx, and nothing changes.
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { SKU } from "../helpers/api.ts";
import {
  changedTables,
  checked,
  encodeQueryValue,
  fuzzRuns,
  fuzzTimeout,
  type Seeded,
  type Snapshot,
  seededTenant,
  snapshot,
} from "../helpers/fuzz.ts";
import {
  auditFilterResource,
  type FilterResource,
  filterText,
  groupFilterResource,
  listQuery,
  subscribedSkuFilterResource,
  userFilterResource,
} from "../helpers/fuzz-grammars.ts";

let s: Seeded;
/** The tenant before any query: every request here is a GET, so the last test finds it unchanged. */
let initial: Snapshot;
beforeAll(async () => {
  s = await seededTenant();
  initial = await snapshot(s.t.id);
});

/** Each list route with the grammar its $filter speaks. */
const lists: { path: (s: Seeded) => string; resource: FilterResource }[] = [
  { path: () => "/v1.0/users", resource: userFilterResource },
  { path: () => "/v1.0/groups", resource: groupFilterResource },
  { path: () => "/v1.0/users/$count", resource: userFilterResource },
  { path: () => "/v1.0/groups/$count", resource: groupFilterResource },
  { path: () => "/v1.0/auditLogs/directoryAudits", resource: auditFilterResource },
  { path: () => "/v1.0/subscribedSkus", resource: subscribedSkuFilterResource },
  { path: (s) => `/v1.0/groups/${s.staticGroup}/members`, resource: userFilterResource },
  { path: (s) => `/v1.0/users/${s.users[0]}/memberOf`, resource: groupFilterResource },
  { path: (s) => `/v1.0/groups/${s.licensedGroup}/membersWithLicenseErrors`, resource: userFilterResource },
];

describe("fuzz: query options", { timeout: fuzzTimeout }, () => {
  for (const list of lists) {
    it(`${list.path({ staticGroup: "{id}", users: ["{id}"], licensedGroup: "{id}" } as Seeded)}: any query options answer below 500 and change nothing`, async () => {
      await fc.assert(
        fc.asyncProperty(
          listQuery(list.resource, s.ids, encodeQueryValue),
          fc.constantFrom(
            s.t.keys.GlobalReader,
            s.t.keys.GlobalReader,
            s.t.keys.GlobalAdministrator,
            s.t.keys.HrIntegration,
          ),
          async ({ query, headers }, key) => {
            // GETs: the tenant is compared once, after all of them (below), rather than around each.
            await checked([], { key, method: "GET", path: `${list.path(s)}${query}`, headers });
          },
        ),
        fuzzRuns(40),
      );
    });
  }

  // The probe's cases from issue #14, kept as fixed examples next to the generated ones.
  const lambdas = (n: number, clause: string, op = "and") => Array.from({ length: n }, () => clause).join(` ${op} `);
  const issueCases: [string, string][] = [
    ["/v1.0/users", lambdas(48, `assignedLicenses/any(x:x/skuId eq ${SKU.E3})`)],
    ["/v1.0/users", lambdas(200, `assignedLicenses/any(x:x/skuId eq ${SKU.E3})`, "or")],
    ["/v1.0/groups", lambdas(48, `assignedLicenses/any(x:x/skuId eq ${SKU.EMS})`)],
    ["/v1.0/auditLogs/directoryAudits", lambdas(60, "targetResources/any(t:t/id eq 'x')")],
    ["/v1.0/auditLogs/directoryAudits", lambdas(60, "targetResources/any(t:t/id eq 'x')", "or")],
    ["/v1.0/users", `userPrincipalName in (${Array.from({ length: 2000 }, (_, i) => `'u${i}'`).join(",")})`],
    ["/v1.0/users", `${"not ".repeat(500)}accountEnabled eq true`],
    ["/v1.0/users", `startswith(displayName,'${"%_".repeat(3000)}')`],
    ["/v1.0/groups", `startswith(displayName,'${"%".repeat(4000)}')`],
    // Found by this suite: a LIKE pattern over D1's 50 bytes was a 500 ("LIKE or GLOB pattern too complex").
    ["/v1.0/users", `endswith(userPrincipalName,'${"a".repeat(300)}')`],
    ["/v1.0/users", `startswith(displayName,'${"漢".repeat(17)}')`],
    ["/v1.0/groups", `startswith(mailNickname,'${"%".repeat(30)}')`],
    ["/v1.0/auditLogs/directoryAudits", `startswith(activityDisplayName,'${"_".repeat(40)}')`],
  ];
  it.each(issueCases)("%s with the issue's query (%#) answers below 500", async (path, filter) => {
    const res = await checked([], {
      key: s.t.keys.GlobalReader,
      method: "GET",
      path: `${path}?$filter=${encodeURIComponent(filter)}&$count=true`,
      headers: { ConsistencyLevel: "eventual" },
    });
    expect(res.status).toBeLessThan(500);
  });

  // $search at its bounds, with the deepest filter beside it: D1's 100 bound values, its 50-byte GLOB patterns.
  const deepFilter = lambdas(16, `assignedLicenses/any(x:x/skuId eq ${SKU.E3})`, "or");
  const searchCases: [string, string, string | null][] = [
    ["/v1.0/users", Array.from({ length: 30 }, (_, i) => `"displayName:w${i}"`).join(" OR "), deepFilter],
    ["/v1.0/users", Array.from({ length: 24 }, (_, i) => `"displayName:${"漢".repeat(20)}${i}"`).join(" "), deepFilter],
    ["/v1.0/groups", `"displayName:${"aB1-".repeat(60)}"`, null],
    ["/v1.0/users/$count", `${"(".repeat(40)}"mail:a"${")".repeat(40)}`, null],
    ["/v1.0/groups/$count", `"description:${"%_".repeat(60)}"`, null],
  ];
  it.each(searchCases)("%s with a $search at its bounds (%#) answers below 500", async (path, search, filter) => {
    const filterOption = filter === null ? "" : `&$filter=${encodeURIComponent(filter)}`;
    await checked([], {
      key: s.t.keys.GlobalReader,
      method: "GET",
      path: `${path}?$search=${encodeURIComponent(search)}${filterOption}${path.endsWith("$count") ? "" : "&$count=true"}`,
      headers: { ConsistencyLevel: "eventual" },
    });
  });

  it("$filter on /v1.0/users alone, many runs: the grammar's deep and long corners", async () => {
    await fc.assert(
      fc.asyncProperty(filterText(userFilterResource, s.ids), async (filter) => {
        await checked([], {
          key: s.t.keys.GlobalReader,
          method: "GET",
          path: `/v1.0/users?$filter=${encodeQueryValue(filter)}&$count=true`,
          headers: { ConsistencyLevel: "eventual" },
        });
      }),
      fuzzRuns(120),
    );
  });

  it("all of those GETs, whatever they were answered, left the tenant as it was", async () => {
    expect(changedTables(initial, await snapshot(s.t.id))).toEqual({});
  });
});
