import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import Papa from "papaparse";
import { describe, expect, it } from "vitest";
import { isExchangeMailboxPlan, isOneDrivePlan } from "../../functions/catalog/service-plans.ts";
import { catalogCsv } from "../helpers/catalog.ts";

const migrations = env.TEST_MIGRATIONS;
const db = env.MIGRATION_DB;

const T = "0191a000-0000-7000-8000-00000000000a";
const OTHER = "0191a000-0000-7000-8000-00000000000b";
const U1 = "0191a000-0000-7000-8000-100000000001";
const U2 = "0191a000-0000-7000-8000-100000000002";
const U3 = "0191a000-0000-7000-8000-100000000003";
const U4 = "0191a000-0000-7000-8000-100000000004";
const G1 = "0191a000-0000-7000-8000-200000000001";
const G2 = "0191a000-0000-7000-8000-200000000002";
const EMS = "efccb6f7-5641-4e0e-bd10-b4976e1bf68e";
const E3 = "6fd2c87f-b296-42f0-b197-1e91e994b900";
const AT = "2026-01-01T00:00:00.000Z";

// Migration 0009 moves every per-member row from ids to seqs by hand-written SQL: nothing may be lost or misattributed.
describe("migration 0009 (per-member tables keyed by seqs)", () => {
  it("carries every membership, source and license of a database written before it, across tenants", async () => {
    const before = migrations.filter((m) => m.name < "0009");
    const m0009 = migrations.filter((m) => m.name.startsWith("0009_"));
    const later = migrations.filter((m) => m.name >= "0010" && m.name < "0012");
    const m0012 = migrations.filter((m) => m.name.startsWith("0012_"));
    expect(m0012).toHaveLength(1);
    expect(m0009).toHaveLength(1);
    await applyD1Migrations(db, before);

    const user = (id: string, tenant: string, upn: string, deletedAt: string | null = null) =>
      db
        .prepare(
          `INSERT INTO users (id, tenant_id, user_principal_name, display_name, created_at, updated_at, deleted_at)
           VALUES (?1, ?2, ?3, ?3, ?4, ?4, ?5)`,
        )
        .bind(id, tenant, upn, AT, deletedAt);
    const group = (id: string, tenant: string) =>
      db
        .prepare(
          "INSERT INTO groups (id, tenant_id, display_name, created_at, updated_at) VALUES (?1, ?2, 'g', ?3, ?3)",
        )
        .bind(id, tenant, AT);
    const rows = (table: string, columns: string, values: unknown[][]) =>
      values.map((v) =>
        db.prepare(`INSERT INTO ${table} (${columns}) VALUES (${v.map((_, i) => `?${i + 1}`).join(", ")})`).bind(...v),
      );
    const sources: unknown[][] = [
      [T, U1, EMS, "direct", '["p1"]', "Active", "None", AT],
      [T, U1, EMS, G1, "[]", "Active", "None", AT],
      [T, U1, E3, G1, "[]", "Error", "CountViolation", "2026-01-02T00:00:00.000Z"],
      [T, U2, E3, G2, "[]", "Active", "None", AT],
      [T, U3, EMS, "direct", "[]", "Active", "None", AT],
      [OTHER, U4, EMS, "direct", "[]", "Active", "None", AT],
    ];
    const licenses: unknown[][] = [
      [T, U1, EMS, '["p1"]', AT],
      [T, U2, E3, "[]", AT],
      [T, U3, EMS, "[]", AT],
      [OTHER, U4, EMS, "[]", AT],
    ];
    const members: unknown[][] = [
      [T, G1, U1, AT],
      [T, G2, U1, AT],
      [T, G2, U2, AT],
    ];
    await db.batch([
      ...rows("tenants", "id, display_name, country, created_at", [
        [T, "t", "US", AT],
        [OTHER, "o", "DE", AT],
      ]),
      user(U3, T, "u3@t.test"),
      user(U1, T, "u1@t.test"),
      user(U2, T, "u2@t.test", AT),
      user(U4, OTHER, "u4@o.test"),
      group(G1, T),
      group(G2, T),
      ...rows("seat_pools", "tenant_id, sku_id, enabled_units, consumed_units", [
        [T, EMS, 10, 2],
        [T, E3, 5, 1],
        [OTHER, EMS, 3, 1],
      ]),
      ...rows("group_members", "tenant_id, group_id, user_id, added_at", members),
      ...rows(
        "license_sources",
        "tenant_id, user_id, sku_id, source_id, disabled_plans, state, error, last_updated_at",
        sources,
      ),
      ...rows("user_licenses", "tenant_id, user_id, sku_id, disabled_plans, assigned_at", licenses),
      ...rows("license_jobs", "id, tenant_id, group_id, kind, state, cursor, processed, created_at, updated_at", [
        ["job-running", T, G1, "groupLicense", "Running", U1, 1, AT, AT],
        ["job-done", T, G2, "groupLicense", "Complete", U2, 2, AT, AT],
      ]),
    ]);

    await applyD1Migrations(db, m0009);

    const all = async (sql: string) => (await db.prepare(sql).all()).results.map((r) => Object.values(r));
    const byKey = (a: unknown[], b: unknown[]) => JSON.stringify(a).localeCompare(JSON.stringify(b));
    expect(
      (
        await all(
          "SELECT tenant_id, user_id, sku_id, source_id, disabled_plans, state, error, last_updated_at FROM license_sources_by_id",
        )
      ).sort(byKey),
    ).toEqual([...sources].sort(byKey));
    expect(
      (await all("SELECT tenant_id, user_id, sku_id, disabled_plans, assigned_at FROM user_licenses_by_id")).sort(
        byKey,
      ),
    ).toEqual([...licenses].sort(byKey));
    expect((await all("SELECT tenant_id, group_id, user_id, added_at FROM group_members_by_id")).sort(byKey)).toEqual(
      [...members].sort(byKey),
    );
    // Seqs follow insertion; pools keep their counters; a running job starts over (its cursor was an id).
    expect(await all("SELECT id FROM users ORDER BY seq")).toEqual([[U3], [U1], [U2], [U4]]);
    expect(await all("SELECT tenant_id, sku_id, enabled_units, consumed_units FROM seat_pools ORDER BY seq")).toEqual([
      [T, EMS, 10, 2],
      [T, E3, 5, 1],
      [OTHER, EMS, 3, 1],
    ]);
    expect(await all("SELECT id, cursor, processed FROM license_jobs ORDER BY id")).toEqual([
      ["job-done", U2, 2],
      ["job-running", "", 0],
    ]);
    // A direct source is seq 0; the partial indexes came along.
    expect(await all("SELECT count(*) FROM license_sources WHERE source_seq = 0")).toEqual([[3]]);
    expect(
      await all("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'license_sources_%' ORDER BY name"),
    ).toEqual([["license_sources_errors"], ["license_sources_waiting"]]);

    // Migration 0010: license_jobs becomes the engine's jobs (a group is the job's subject), and a job still to run
    // gets the outbox row the sweep goes by; a finished one needs none.
    await applyD1Migrations(db, later);
    expect(await all("SELECT id, subject_id, kind, state, cursor FROM jobs ORDER BY id")).toEqual([
      ["job-done", G2, "groupLicense", "Complete", U2],
      ["job-running", G1, "groupLicense", "Running", ""],
    ]);
    expect(await all("SELECT tenant_id, kind, payload, done_at FROM outbox")).toEqual([
      [T, "job", JSON.stringify({ jobId: "job-running" }), null],
    ]);

    // Migration 0011: existing tenants keep buying their own seats, get an initial domain, and keep the domains their
    // users' userPrincipalNames use, verified.
    expect(await all("SELECT id, self_service_subscriptions FROM tenants ORDER BY id")).toEqual([
      [T, 1],
      [OTHER, 1],
    ]);
    expect(
      await all(
        "SELECT tenant_id, name, is_initial, is_default, is_verified FROM domains ORDER BY tenant_id, is_initial DESC, name",
      ),
    ).toEqual([
      [T, `tenant-${T.replace(/-/g, "").slice(-6)}.onseatflow.local`, 1, 1, 1],
      [T, "t.test", 0, 0, 1],
      [OTHER, `tenant-${OTHER.replace(/-/g, "").slice(-6)}.onseatflow.local`, 1, 1, 1],
      [OTHER, "o.test", 0, 0, 1],
    ]);

    // Migration 0012: every live user holding an enabled Exchange mailbox plan of a SKU that still delivers gets an
    // Active mailbox, every live user holding a OneDrive plan an Active OneDrive; no one else gets either.
    const EXO2 = "efb87545-963c-4e0d-99df-69c6916d9eb0";
    const SPO2 = "5dbe027f-2339-4123-9542-606e4d348a72";
    const FOUNDATION = "113feb6c-3fe4-4440-bddc-54d774bf0318";
    const EXO2_SKU = "19ec0d23-8335-4cbd-94ac-6050e30712fa";
    const U5 = "0191a000-0000-7000-8000-100000000005";
    const U6 = "0191a000-0000-7000-8000-100000000006";
    const U7 = "0191a000-0000-7000-8000-100000000007";
    await db.batch([
      ...rows("skus", "id, sku_part_number, display_name", [
        [E3, "ENTERPRISEPACK", "Office 365 E3"],
        [EMS, "EMS", "EMS E3"],
        [EXO2_SKU, "EXCHANGEENTERPRISE", "Exchange Online (Plan 2)"],
      ]),
      ...rows("service_plans", "id, name, friendly_name", [
        [EXO2, "EXCHANGE_S_ENTERPRISE", "Exchange Online (Plan 2)"],
        [SPO2, "SHAREPOINTENTERPRISE", "SharePoint (Plan 2)"],
        [FOUNDATION, "EXCHANGE_S_FOUNDATION", "Exchange Foundation"],
      ]),
      ...rows("sku_service_plans", "sku_id, service_plan_id, position", [
        [E3, EXO2, 0],
        [E3, SPO2, 1],
        [EMS, FOUNDATION, 0],
        [EXO2_SKU, EXO2, 0],
      ]),
      ...rows("seat_pools", "tenant_id, sku_id, enabled_units, consumed_units", [
        [T, EXO2_SKU, 5, 1],
        [OTHER, E3, 0, 1],
      ]),
      ...rows("subscriptions", "id, tenant_id, sku_id, commerce_subscription_id, total_licenses, status, created_at", [
        ["s1", T, E3, "c1", 5, "Enabled", AT],
        ["s2", T, EMS, "c2", 10, "Enabled", AT],
        ["s3", T, EXO2_SKU, "c3", 5, "Enabled", AT],
        // The other tenant's E3 no longer delivers.
        ["s4", OTHER, E3, "c4", 5, "LockedOut", AT],
      ]),
      user(U5, T, "u5@t.test"),
      user(U6, T, "u6@t.test"),
      user(U7, OTHER, "u7@o.test"),
    ]);
    const seqOf = (id: string) => `(SELECT seq FROM users WHERE id = '${id}')`;
    const poolOf = (tenant: string, sku: string) =>
      `(SELECT seq FROM seat_pools WHERE tenant_id = '${tenant}' AND sku_id = '${sku}')`;
    await db.batch(
      [
        // U5: E3 in full (mailbox and OneDrive); U6: E3 with Exchange off (OneDrive only); U3 (EMS): neither;
        // U1: Exchange Plan 2 (mailbox, no OneDrive); U7: E3 of a locked-out subscription (neither).
        [U5, T, E3, "[]"],
        [U6, T, E3, JSON.stringify([EXO2])],
        [U1, T, EXO2_SKU, "[]"],
        [U7, OTHER, E3, "[]"],
      ].map(([u, tenant, sku, disabled]) =>
        db
          .prepare(
            `INSERT INTO user_licenses (user_seq, pool_seq, disabled_plans, assigned_at) VALUES (${seqOf(u!)}, ${poolOf(tenant!, sku!)}, ?1, ?2)`,
          )
          .bind(disabled, AT),
      ),
    );
    await applyD1Migrations(db, m0012);
    const holders = async (table: string) =>
      (await all(`SELECT u.id, t.state FROM ${table} t JOIN users u ON u.seq = t.user_seq ORDER BY u.id`)).map(
        (r) => r,
      );
    expect(await holders("mailboxes")).toEqual([
      [U1, "Active"],
      [U5, "Active"],
    ]);
    expect(await holders("onedrive_sites")).toEqual([
      [U5, "Active"],
      [U6, "Active"],
    ]);
    expect(await all("SELECT tenant_id FROM mailboxes ORDER BY seq")).toEqual([[T], [T]]);
    // The UPN index now frees a permanently deleted user's name: U2 (deleted) keeps it until then.
    await db.prepare("UPDATE users SET hard_deleted_at = ?2 WHERE id = ?1").bind(U2, AT).run();
    await user("0191a000-0000-7000-8000-100000000008", T, "u2@t.test").run();
    await expect(user("0191a000-0000-7000-8000-100000000009", T, "u2@t.test").run()).rejects.toThrow(/UNIQUE/);
  });
});

describe("migration 0012's plan lists", () => {
  it("classify every plan of the shipped catalogue as catalog/service-plans.ts does", async () => {
    const rows = Papa.parse<Record<string, string>>(catalogCsv.replace(/^\uFEFF/, ""), {
      header: true,
      skipEmptyLines: true,
    });
    const names = [...new Set(rows.data.map((r) => r.Service_Plan_Name!).filter(Boolean))];
    expect(names.length).toBeGreaterThan(700);
    const sql = migrations.find((m) => m.name.startsWith("0012_"))!.queries.join("\n");
    const mailboxPredicate = sql
      .match(/s\.`name` GLOB [^\n]+\n\s+AND s\.`name` NOT LIKE '%ANALYTICS%'/)![0]
      .replace(/s\.`name`/g, "value");
    const oneDriveList = sql.match(/s\.`name` IN \(([^)]+)\)/)![1]!;
    const { results } = await env.DB.prepare(
      `SELECT value, (${mailboxPredicate}) AS mailbox, value IN (${oneDriveList}) AS oneDrive FROM json_each(?1)`,
    )
      .bind(JSON.stringify(names))
      .all<{ value: string; mailbox: number; oneDrive: number }>();
    const wrong = results.filter(
      (r) => (r.mailbox === 1) !== isExchangeMailboxPlan(r.value) || (r.oneDrive === 1) !== isOneDrivePlan(r.value),
    );
    expect(wrong).toEqual([]);
    expect(results.filter((r) => r.mailbox === 1).length).toBeGreaterThan(5);
  });
});
