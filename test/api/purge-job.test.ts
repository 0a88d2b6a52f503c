import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { makeCtx } from "../../functions/core/context.ts";
import { QueryBudget, runJob } from "../../functions/jobs/runner.ts";
import { jobKinds } from "../../functions/queue.ts";
import { startPurge } from "../../functions/retention/purge-actions.ts";
import { readRun } from "../../functions/retention/purge-store.ts";
import { newTenant } from "../helpers/api.ts";
import { instrumentedD1, seedUsers } from "../helpers/fixtures.ts";

// The purge is a paged job: stopped anywhere (a throw between pages, a batch that never lands), then run again, it
// ends where an uninterrupted run ends; run twice at the same clock, the second changes nothing.

const ASOF = "2026-07-01T03:00:00.000Z";
const DUE = "2026-06-01T00:00:00.000Z";
const LATER = "2027-01-01T00:00:00.000Z";

/** A queue that drops what it is given: the test drives the job itself. */
const dropping = { send: async () => {}, sendBatch: async () => {} } as unknown as Queue;

/**
 * The same mailboxes in a fresh tenant each time: 12 due (one of 40 items, bigger than a test page), 2 on hold, 1
 * inactive, 1 active, 1 not yet due; every third item labelled, half of those kept past the clock. 2 OneDrives retained
 * (one due), 2 users in the recycle bin (one past 30 days).
 */
async function seedTenant() {
  const t = await newTenant();
  await env.DB.prepare(
    "INSERT INTO retention_labels (id, tenant_id, name, retention_days, created_at, updated_at) VALUES (?1, ?2, 'Legal', 3650, ?3, ?3)",
  )
    .bind(crypto.randomUUID(), t.id, DUE)
    .run();
  const label = (await env.DB.prepare("SELECT seq FROM retention_labels WHERE tenant_id = ?1")
    .bind(t.id)
    .first<{ seq: number }>())!.seq;
  const ids = await seedUsers(t.id, 21);
  const seqs = (
    await env.DB.prepare("SELECT seq FROM users WHERE tenant_id = ?1 ORDER BY id").bind(t.id).all<{ seq: number }>()
  ).results.map((r) => r.seq);
  const shape = (i: number) =>
    i < 12
      ? { state: "Disconnected", hold: 0, purgeAfter: DUE, items: i === 5 ? 40 : 3 + (i % 4) }
      : i < 14
        ? { state: "Disconnected", hold: 1, purgeAfter: DUE, items: 4 }
        : i === 14
          ? { state: "Inactive", hold: 1, purgeAfter: null, items: 5 }
          : i === 15
            ? { state: "Active", hold: 0, purgeAfter: null, items: 3 }
            : { state: "Disconnected", hold: 0, purgeAfter: LATER, items: 3 };
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < 17; i++) {
    const s = shape(i);
    statements.push(
      env.DB.prepare(
        `INSERT INTO mailboxes (tenant_id, user_seq, state, litigation_hold, purge_after, next_purge_at, item_count,
           size_bytes, last_item_seq, state_changed_at, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, ?6, ?8, ?8, ?8)`,
      ).bind(t.id, seqs[i], s.state, s.hold, s.purgeAfter, s.items, s.items * 100, DUE),
    );
    const items = Array.from({ length: s.items }, (_, j) => {
      const labelled = j % 3 === 0;
      const until = labelled ? (j % 2 === 0 ? LATER : "2026-06-15T00:00:00.000Z") : null;
      return [j + 1, `Mail ${j}`, 100, "2026-01-01T00:00:00.000Z", labelled ? label : null, until];
    });
    statements.push(
      env.DB.prepare(
        `INSERT INTO mailbox_items (mailbox_seq, item_seq, subject, size_bytes, received_at, label_seq, retained_until)
         SELECT (SELECT seq FROM mailboxes WHERE user_seq = ?1), value ->> 0, value ->> 1, value ->> 2, value ->> 3,
           value ->> 4, value ->> 5 FROM json_each(?2)`,
      ).bind(seqs[i], JSON.stringify(items)),
    );
  }
  for (const [i, purgeAfter] of [
    [17, DUE],
    [18, LATER],
  ] as const) {
    statements.push(
      env.DB.prepare(
        "INSERT INTO onedrive_sites (tenant_id, user_seq, state, purge_after, created_at, updated_at) VALUES (?1, ?2, 'Retained', ?3, ?4, ?4)",
      ).bind(t.id, seqs[i], purgeAfter, DUE),
    );
  }
  statements.push(
    env.DB.prepare("UPDATE users SET deleted_at = ?2 WHERE seq = ?1").bind(seqs[19], "2026-05-01T00:00:00.000Z"),
    env.DB.prepare("UPDATE users SET deleted_at = ?2 WHERE seq = ?1").bind(seqs[20], "2026-06-20T00:00:00.000Z"),
  );
  await env.DB.batch(statements);
  return { t, ids };
}

/** What a purge leaves, by the users' order (seqs differ between tenants). */
async function stateOf(tenantId: string, runId: string) {
  const [mailboxes, items, sites, users] = await env.DB.batch([
    env.DB.prepare(
      `SELECT u.id, m.state, m.item_count, m.size_bytes, m.next_purge_at FROM mailboxes m JOIN users u ON u.seq = m.user_seq
       WHERE m.tenant_id = ?1 ORDER BY u.id`,
    ).bind(tenantId),
    env.DB.prepare(
      `SELECT u.id, i.item_seq, i.retained_until FROM mailboxes m JOIN users u ON u.seq = m.user_seq
       JOIN mailbox_items i ON i.mailbox_seq = m.seq WHERE m.tenant_id = ?1 ORDER BY u.id, i.item_seq`,
    ).bind(tenantId),
    env.DB.prepare("SELECT state, purge_after FROM onedrive_sites WHERE tenant_id = ?1 ORDER BY purge_after").bind(
      tenantId,
    ),
    env.DB.prepare(
      "SELECT id, deleted_at IS NOT NULL AS deleted, hard_deleted_at AS hard FROM users WHERE tenant_id = ?1 ORDER BY id",
    ).bind(tenantId),
  ]);
  const run = await readRun({ d1: env.DB, tenantId }, runId);
  const audits = await env.DB.prepare(
    `SELECT activity_display_name AS activity, json_array_length(entries) AS n FROM audit_log
     WHERE tenant_id = ?1 AND activity_display_name IN ('Change mailbox state', 'Change OneDrive state', 'Hard Delete user', 'Run retention purge')
     ORDER BY activity, n`,
  )
    .bind(tenantId)
    .all();
  const { id: _id, startedAt: _s, finishedAt: _f, labels, ...totals } = run!;
  return {
    mailboxes: mailboxes!.results,
    items: items!.results,
    sites: sites!.results,
    users: users!.results,
    totals,
    labels: labels.map(({ labelId: _l, ...rest }) => rest),
    audits: audits.results,
  };
}

async function newRun(tenantId: string) {
  const ctx = makeCtx(
    { ...env, LICENSE_JOBS: dropping },
    tenantId,
    { kind: "system", name: "test fixtures" },
    "r",
    new Date(ASOF),
  );
  return (await startPurge({ ctx, input: { trigger: "api", dryRun: false } })).id;
}

/** Runs the job until done, invocation by invocation (each its own budget), on `d1` (one that may crash). */
async function drive(tenantId: string, jobId: string, d1: D1Database = env.DB) {
  for (let invocation = 0; invocation < 100; invocation++) {
    const ctx = { ...makeCtx(env, tenantId, { kind: "system", name: "test fixtures" }), d1 };
    // Small pages (four mailboxes, twelve items): the 40-item mailbox is walked in parts.
    const outcome = await runJob(ctx, jobId, jobKinds, new QueryBudget(60, 4));
    if (outcome !== "continue") return invocation + 1;
  }
  throw new Error("the purge did not finish");
}

describe("the purge job", () => {
  it("interrupted at any batch and run again, ends as an uninterrupted run does", async () => {
    const reference = await seedTenant();
    const refRun = await newRun(reference.t.id);
    const counted = instrumentedD1(env.DB);
    const invocations = await drive(reference.t.id, refRun, counted.d1);
    expect(invocations).toBeGreaterThan(1);
    const expected = await stateOf(reference.t.id, refRun);
    // What a correct purge leaves: 12 due mailboxes done, the held, inactive, active and not-due ones untouched.
    expect(expected.totals).toMatchObject({
      state: "Complete",
      mailboxes: 12,
      oneDriveSitesPurged: 1,
      usersDeleted: 1,
    });
    expect(expected.totals.held).toEqual({
      litigationHold: { mailboxes: 2, items: 8, bytes: 800 },
      inactiveMailbox: { mailboxes: 1, items: 5, bytes: 500 },
    });
    const left = (i: number) => expected.mailboxes[i] as { state: string; item_count: number };
    const dueLeft = Array.from({ length: 12 }, (_, i) => left(i));
    expect(dueLeft.every((m) => m.state === "Purged" || m.item_count > 0)).toBe(true);
    // …and it deleted something: a purge that deletes nothing would leave the same shape.
    expect(expected.totals.itemsPurged).toBeGreaterThan(0);
    expect(expected.totals.bytesPurged).toBeGreaterThan(0);

    // Crash points spread over the whole run (every page, phase change and the finish are batches of their own).
    expect(counted.stats.batches).toBeGreaterThanOrEqual(15);
    for (const crashAt of [2, 3, 5, 8, 11, 14, counted.stats.batches - 1, counted.stats.batches]) {
      const copy = await seedTenant();
      const run = await newRun(copy.t.id);
      const { d1 } = instrumentedD1(env.DB, { failOnBatch: crashAt });
      await expect(drive(copy.t.id, run, d1)).rejects.toThrow("simulated crash");
      await drive(copy.t.id, run);
      const got = await stateOf(copy.t.id, run);
      const comparable = (s: typeof got) => ({
        ...s,
        mailboxes: s.mailboxes.map(strip),
        items: s.items.map(strip),
        users: s.users.map(strip),
      });
      expect({ crashAt, ...comparable(got) }).toEqual({ crashAt, ...comparable(expected) });
    }
  });

  it("keeps every invocation within its query budget, the run continuing in the next", async () => {
    const { t } = await seedTenant();
    const run = await newRun(t.id);
    const perInvocation: number[] = [];
    for (let i = 0; i < 100; i++) {
      const { d1, stats } = instrumentedD1(env.DB);
      const ctx = { ...makeCtx(env, t.id, { kind: "system", name: "test fixtures" }), d1 };
      const outcome = await runJob(ctx, run, jobKinds, new QueryBudget(60, 4));
      perInvocation.push(stats.queries);
      if (outcome !== "continue") break;
    }
    expect(perInvocation.length).toBeGreaterThan(2);
    // The production budget is 900 of D1's 1,000 a invocation; here 60, so the run needs several.
    expect(Math.max(...perInvocation)).toBeLessThanOrEqual(60);
  });

  it("never deletes a held item, and a second run at the same clock changes nothing", async () => {
    const { t } = await seedTenant();
    const before = await env.DB.prepare(
      `SELECT count(*) AS n FROM mailboxes m JOIN mailbox_items i ON i.mailbox_seq = m.seq
       WHERE m.tenant_id = ?1 AND (m.litigation_hold = 1 OR m.state IN ('Inactive', 'Active') OR m.purge_after > ?2
         OR i.retained_until > ?2)`,
    )
      .bind(t.id, ASOF)
      .first<{ n: number }>();
    const first = await newRun(t.id);
    await drive(t.id, first);
    const after = await env.DB.prepare(
      `SELECT count(*) AS n FROM mailboxes m JOIN mailbox_items i ON i.mailbox_seq = m.seq WHERE m.tenant_id = ?1`,
    )
      .bind(t.id)
      .first<{ n: number }>();
    // Everything left is exactly what was protected.
    expect(after!.n).toBe(before!.n);
    const once = await stateOf(t.id, first);
    const second = await newRun(t.id);
    await drive(t.id, second);
    const twice = await stateOf(t.id, second);
    expect(twice.mailboxes).toEqual(once.mailboxes);
    expect(twice.items).toEqual(once.items);
    expect(twice.totals).toMatchObject({
      mailboxes: 0,
      mailboxesPurged: 0,
      itemsPurged: 0,
      oneDriveSitesPurged: 0,
      usersDeleted: 0,
    });
  });

  it("a dry run counts what a run deletes and deletes nothing", async () => {
    const a = await seedTenant();
    const b = await seedTenant();
    const count = async (tenantId: string) =>
      (await env.DB.prepare(
        "SELECT count(*) AS n FROM mailboxes m JOIN mailbox_items i ON i.mailbox_seq = m.seq WHERE m.tenant_id = ?1",
      )
        .bind(tenantId)
        .first<{ n: number }>())!.n;
    const seeded = await count(a.t.id);
    const ctx = makeCtx(
      { ...env, LICENSE_JOBS: dropping },
      a.t.id,
      { kind: "system", name: "test fixtures" },
      "r",
      new Date(ASOF),
    );
    const dry = (await startPurge({ ctx, input: { trigger: "api", dryRun: true } })).id;
    await drive(a.t.id, dry);
    const real = await newRun(b.t.id);
    await drive(b.t.id, real);
    const dryState = await stateOf(a.t.id, dry);
    const realState = await stateOf(b.t.id, real);
    const { dryRun: _d, ...dryTotals } = dryState.totals;
    const { dryRun: _r, ...realTotals } = realState.totals;
    expect(dryTotals).toEqual(realTotals);
    expect(dryState.labels).toEqual(realState.labels);
    expect(await count(a.t.id)).toBe(seeded);
    expect(realTotals.itemsPurged).toBeGreaterThan(0);
    expect(await count(b.t.id)).toBe(seeded - realTotals.itemsPurged);
  });
});

/** Rows without their user ids (which differ between tenants; the order is the users' and the same). */
const strip = (row: unknown) => {
  const { id: _id, ...rest } = row as Record<string, unknown>;
  return rest;
};
