import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type ApiResponse, assign, buy, type Client, newTenant, newUser, SKU } from "../helpers/api.ts";

const poolOf = async (api: Client, skuId: string) => {
  const res = await api.get("/v1.0/subscribedSkus");
  expect(res.status).toBe(200);
  return res.body.value.find((s: { skuId: string }) => s.skuId === skuId) as {
    consumedUnits: number;
    prepaidUnits: { enabled: number };
  };
};

/** Holders as the directory reports them (Graph's license filter), following every page. */
async function holdersByFilter(api: Client, skuId: string): Promise<string[]> {
  const ids: string[] = [];
  let path: string | undefined =
    `/v1.0/users?$select=id&$top=999&$filter=${encodeURIComponent(`assignedLicenses/any(x:x/skuId eq ${skuId})`)}`;
  while (path) {
    const res: ApiResponse = await api.get(path);
    expect(res.status).toBe(200);
    ids.push(...res.body.value.map((u: { id: string }) => u.id));
    const next: string | undefined = res.body["@odata.nextLink"];
    path = next ? next.slice(new URL(next).origin.length) : undefined;
  }
  return ids.sort();
}

/** Holders as stored: distinct live users with a seat-consuming row for the SKU. */
async function holdersInDb(tenantId: string, skuId: string): Promise<string[]> {
  const { results } = await env.DB.prepare(
    `SELECT DISTINCT ul.user_id AS id FROM user_licenses_by_id ul JOIN users u ON u.tenant_id = ul.tenant_id AND u.id = ul.user_id
     WHERE ul.tenant_id = ?1 AND ul.sku_id = ?2 AND u.deleted_at IS NULL ORDER BY ul.user_id`,
  )
    .bind(tenantId, skuId)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}

const poolRow = (tenantId: string, skuId: string) =>
  env.DB.prepare(
    "SELECT enabled_units AS enabled, consumed_units AS consumed FROM seat_pools WHERE tenant_id = ?1 AND sku_id = ?2",
  )
    .bind(tenantId, skuId)
    .first<{ enabled: number; consumed: number }>();

const tally = (statuses: number[]) =>
  statuses.reduce<Record<number, number>>((acc, s) => {
    acc[s] = (acc[s] ?? 0) + 1;
    return acc;
  }, {});

describe("seat accounting under concurrent assignLicense calls", () => {
  it("50 parallel assignments for 10 free seats: exactly 10 succeed, the rest are refused, none over-allocate", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.EMS, 12);
    // Two seats already taken, so 10 are left.
    const early = [await newUser(t.admin), await newUser(t.admin)];
    for (const id of early) expect((await assign(t.admin, id, [{ skuId: SKU.EMS }])).status).toBe(200);
    const users = await Promise.all(Array.from({ length: 50 }, () => newUser(t.admin)));
    expect(new Set(users).size).toBe(50);

    const results = await Promise.all(
      users.map((id) => assign(t.as("LicenseAdministrator"), id, [{ skuId: SKU.EMS }])),
    );
    const statuses = results.map((r) => r.status);
    const counts = tally(statuses);
    expect(
      statuses.filter((s) => s >= 500),
      JSON.stringify(counts),
    ).toEqual([]);
    for (const r of results) {
      if (r.status === 200) continue;
      if (r.status === 409) {
        expect(r.body.error.code).toBe("Directory_ConcurrencyViolation");
        expect(r.headers.get("retry-after")).toBeTruthy();
        continue;
      }
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe("Request_BadRequest");
      expect(r.body.error.message).toBe(`Subscription with SKU ${SKU.EMS} does not have any available licenses.`);
    }
    // A handful of 409s would be tolerable under heavy contention; they must not cost a seat being handed out.
    expect(counts[409] ?? 0).toBeLessThanOrEqual(3);
    expect(counts[200]).toBe(10);
    expect(counts[400]).toBe(40 - (counts[409] ?? 0));

    const pool = await poolOf(t.admin, SKU.EMS);
    expect(pool.consumedUnits).toBe(12);
    expect(pool.prepaidUnits.enabled).toBe(12);
    const winners = users.filter((_, i) => statuses[i] === 200);
    const expected = [...early, ...winners].sort();
    expect(await holdersInDb(t.id, SKU.EMS)).toEqual(expected);
    expect(await holdersByFilter(t.admin, SKU.EMS)).toEqual(expected);
    expect(await poolRow(t.id, SKU.EMS)).toEqual({ enabled: 12, consumed: 12 });
    // Every winner has exactly one Change user license audit row; no loser has one.
    const { results: audit } = await env.DB.prepare(
      `SELECT e.value ->> 0 AS userId FROM audit_log a JOIN json_each(a.entries) e
       WHERE a.tenant_id = ?1 AND a.activity_display_name = 'Change user license'`,
    )
      .bind(t.id)
      .all<{ userId: string }>();
    expect(audit.map((a) => a.userId).sort()).toEqual(expected);
  });

  it("parallel swaps and fresh assignments over one last seat never over-allocate", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.E3, 1);
    await buy(t.admin, SKU.SPB, 3);
    const holders = await Promise.all(Array.from({ length: 3 }, () => newUser(t.admin)));
    for (const id of holders) expect((await assign(t.admin, id, [{ skuId: SKU.SPB }])).status).toBe(200);
    const fresh = await Promise.all(Array.from({ length: 3 }, () => newUser(t.admin)));
    // Three users try to swap SPB → E3 while three others try to take E3 outright: one E3 seat in all.
    const results = await Promise.all([
      ...holders.map((id) => assign(t.admin, id, [{ skuId: SKU.E3 }], [SKU.SPB])),
      ...fresh.map((id) => assign(t.admin, id, [{ skuId: SKU.E3 }])),
    ]);
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);

    const e3 = await holdersInDb(t.id, SKU.E3);
    const spb = await holdersInDb(t.id, SKU.SPB);
    expect(e3).toHaveLength(1);
    expect((await poolOf(t.admin, SKU.E3)).consumedUnits).toBe(1);
    expect((await poolOf(t.admin, SKU.SPB)).consumedUnits).toBe(spb.length);
    // A swap that lost kept its SPB; the one that won (if a swap won) gave it up: no gap, no double holding.
    const winner = [...holders, ...fresh][statuses.indexOf(200)]!;
    expect(e3).toEqual([winner]);
    expect(spb).toEqual(holders.filter((h) => h !== winner).sort());
  });

  it("20 parallel assign/remove toggles on one user leave the counter equal to the real holders", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.E3, 2);
    const other = await newUser(t.admin);
    expect((await assign(t.admin, other, [{ skuId: SKU.E3 }])).status).toBe(200);
    const target = await newUser(t.admin);

    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        i % 2 === 0 ? assign(t.admin, target, [{ skuId: SKU.E3 }]) : assign(t.admin, target, [], [SKU.E3]),
      ),
    );
    const statuses = results.map((r) => r.status);
    const counts = tally(statuses);
    expect(
      statuses.filter((s) => ![200, 400, 409].includes(s)),
      JSON.stringify(counts),
    ).toEqual([]);
    for (const r of results) {
      if (r.status === 400) expect(r.body.error.message).toBe("User does not have a corresponding license.");
      if (r.status === 409) expect(r.body.error.code).toBe("Directory_ConcurrencyViolation");
    }
    expect(counts[200] ?? 0).toBeGreaterThan(0);

    const holders = await holdersByFilter(t.admin, SKU.E3);
    expect(holders).toEqual(await holdersInDb(t.id, SKU.E3));
    expect(holders).toContain(other);
    const pool = await poolOf(t.admin, SKU.E3);
    expect(pool.consumedUnits).toBe(holders.length);
    expect(await poolRow(t.id, SKU.E3)).toEqual({ enabled: 2, consumed: holders.length });
    // licenseDetails agrees with the filter for the toggled user.
    const details = await t.admin.get(`/v1.0/users/${target}/licenseDetails`);
    expect(details.body.value.map((d: { skuId: string }) => d.skuId)).toEqual(holders.includes(target) ? [SKU.E3] : []);
    // One direct source row at most, and it matches the seat row.
    const sources = await env.DB.prepare(
      "SELECT count(*) AS n FROM license_sources_by_id WHERE tenant_id = ?1 AND user_id = ?2 AND sku_id = ?3",
    )
      .bind(t.id, target, SKU.E3)
      .first<{ n: number }>();
    expect(sources?.n).toBe(holders.includes(target) ? 1 : 0);
  });

  it("50 parallel identical no-op calls all answer 200 and write nothing: a call that changes nothing never conflicts", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.E3, 1);
    const user = await newUser(t.admin);
    expect((await assign(t.admin, user, [{ skuId: SKU.E3 }])).status).toBe(200);
    const audits = async () =>
      (await t.admin.get("/v1.0/auditLogs/directoryAudits?$filter=activityDisplayName eq 'Change user license'")).body
        .value.length;
    const before = await audits();
    // The same license again (and removing one never held would be a 400, so only adds here): nothing moves.
    const results = await Promise.all(Array.from({ length: 50 }, () => assign(t.admin, user, [{ skuId: SKU.E3 }])));
    expect(tally(results.map((r) => r.status))).toEqual({ 200: 50 });
    expect(await audits()).toBe(before);
    expect(await poolRow(t.id, SKU.E3)).toEqual({ enabled: 1, consumed: 1 });
  });

  it("parallel deletes and assignments keep the counter exact", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.EMS, 5);
    const holders = await Promise.all(Array.from({ length: 5 }, () => newUser(t.admin)));
    for (const id of holders) expect((await assign(t.admin, id, [{ skuId: SKU.EMS }])).status).toBe(200);
    const waiting = await Promise.all(Array.from({ length: 8 }, () => newUser(t.admin)));
    const results = await Promise.all([
      ...holders.slice(0, 3).map((id) => t.admin.delete(`/v1.0/users/${id}`)),
      ...waiting.map((id) => assign(t.admin, id, [{ skuId: SKU.EMS }])),
    ]);
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    expect(statuses.slice(0, 3)).toEqual([204, 204, 204]);
    const won = statuses.slice(3).filter((s) => s === 200).length;
    expect(won).toBeLessThanOrEqual(3);
    const live = await holdersInDb(t.id, SKU.EMS);
    expect(live).toHaveLength(2 + won);
    expect((await poolOf(t.admin, SKU.EMS)).consumedUnits).toBe(live.length);
    expect((await poolRow(t.id, SKU.EMS))?.consumed).toBe(live.length);
  });

  it("assignments racing the deletion of the same users never leave a deleted user holding a seat", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.EMS, 20);
    const users = await Promise.all(Array.from({ length: 10 }, () => newUser(t.admin)));
    const results = await Promise.all(
      users.flatMap((id) => [assign(t.admin, id, [{ skuId: SKU.EMS }]), t.admin.delete(`/v1.0/users/${id}`)]),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    // Every delete went through; an assignment either landed first (then was freed) or found the user gone.
    expect(statuses.filter((_, i) => i % 2 === 1)).toEqual(Array(10).fill(204));
    for (const s of statuses.filter((_, i) => i % 2 === 0)) expect([200, 404, 409]).toContain(s);
    expect(await holdersInDb(t.id, SKU.EMS)).toEqual([]);
    const stored = await env.DB.prepare("SELECT count(*) AS n FROM user_licenses_by_id WHERE tenant_id = ?1")
      .bind(t.id)
      .first<{ n: number }>();
    expect(stored?.n).toBe(0);
    expect((await poolOf(t.admin, SKU.EMS)).consumedUnits).toBe(0);
    expect(await poolRow(t.id, SKU.EMS)).toEqual({ enabled: 20, consumed: 0 });
  });
});

describe("userPrincipalName uniqueness under concurrent creates", () => {
  it("5 parallel creates of one UPN: exactly one 201, the rest get the duplicate-UPN 400", async () => {
    const t = await newTenant();
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        t.admin.post("/v1.0/users", {
          accountEnabled: true,
          displayName: `Racer ${i}`,
          mailNickname: `racer${i}`,
          userPrincipalName: i % 2 === 0 ? `racer@${t.domain}` : `RACER@${t.domain.toUpperCase()}`,
        }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 400, 400, 400, 400]);
    for (const r of results.filter((x) => x.status === 400)) {
      expect(r.body.error.message).toBe(
        "Another object with the same value for property userPrincipalName already exists.",
      );
    }
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM users WHERE tenant_id = ?1")
      .bind(t.id)
      .first<{ n: number }>();
    expect(rows?.n).toBe(1);
    const audit = await env.DB.prepare(
      "SELECT count(*) AS n FROM audit_log WHERE tenant_id = ?1 AND activity_display_name = 'Add user'",
    )
      .bind(t.id)
      .first<{ n: number }>();
    expect(audit?.n).toBe(1);
  });
});
