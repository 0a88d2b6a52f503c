import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { bulkAuditStatements } from "../../functions/audit/store.ts";
import { makeCtx } from "../../functions/core/context.ts";
import { oneUserRetentionWrites } from "../../functions/retention/licensing-hook.ts";
import {
  addDays,
  type ExchangeChange,
  type Mailbox,
  mailboxOutcome,
  type OneDriveChange,
  type OneDriveSite,
  oneDriveOutcome,
  windows,
} from "../../functions/retention/rules.ts";
import {
  type MailboxChangeRow,
  mailboxTransitionStatements,
  type OneDriveChangeRow,
  oneDriveTransitionStatements,
  retentionStateSql,
} from "../../functions/retention/store.ts";
import { newTenant } from "../helpers/api.ts";
import { seedUsers } from "../helpers/fixtures.ts";

// The licensing hook applies rules.mailboxOutcome and rules.oneDriveOutcome in SQL, against the stored state. Here
// every stored state, hold, window and change meets both, and the SQL must land where the rules say.

const NOW = "2026-03-01T12:00:00.000Z";
const EARLIER = "2026-02-20T12:00:00.000Z";
const LATER = "2026-03-10T12:00:00.000Z";
const ctxAt = (tenantId: string) =>
  makeCtx(env, tenantId, { kind: "system", name: "test fixtures" }, crypto.randomUUID(), new Date(NOW));

type Stored = { label: string; mailbox: Mailbox | null };
const storedMailboxes: Stored[] = [{ label: "none", mailbox: null }];
for (const hold of [false, true]) {
  storedMailboxes.push(
    {
      label: `Active hold=${hold}`,
      mailbox: { state: "Active", litigationHold: hold, purgeAfter: null, nextPurgeAt: null },
    },
    {
      label: `Disconnected in window hold=${hold}`,
      mailbox: { state: "Disconnected", litigationHold: hold, purgeAfter: LATER, nextPurgeAt: LATER },
    },
    {
      label: `Disconnected past window hold=${hold}`,
      mailbox: { state: "Disconnected", litigationHold: hold, purgeAfter: EARLIER, nextPurgeAt: EARLIER },
    },
    {
      label: `Purged hold=${hold}`,
      mailbox: { state: "Purged", litigationHold: hold, purgeAfter: EARLIER, nextPurgeAt: null },
    },
  );
}
storedMailboxes.push({
  label: "Inactive",
  mailbox: { state: "Inactive", litigationHold: true, purgeAfter: null, nextPurgeAt: null },
});

const changes = [false, true].flatMap((exchangeAfter) =>
  [false, true].flatMap((deletedBefore) =>
    [false, true].map((deletedAfter) => ({
      exchangeBefore: !exchangeAfter,
      exchangeAfter,
      deletedBefore,
      deletedAfter,
    })),
  ),
);

async function latest(table: "mailboxes" | "onedrive_sites", userSeq: number) {
  return env.DB.prepare(
    `SELECT *, (SELECT count(*) FROM ${table} WHERE user_seq = ?1) AS n FROM ${table} WHERE user_seq = ?1 ORDER BY seq DESC LIMIT 1`,
  )
    .bind(userSeq)
    .first<Record<string, unknown>>();
}

const seqsOf = async (tenantId: string, ids: string[]) =>
  (
    await env.DB.prepare(
      "SELECT seq FROM users WHERE tenant_id = ?1 AND id IN (SELECT value FROM json_each(?2)) ORDER BY id",
    )
      .bind(tenantId, JSON.stringify(ids))
      .all<{ seq: number }>()
  ).results.map((r) => r.seq);

async function storeMailboxes(tenantId: string, seqs: number[], mailboxes: (Mailbox | null)[]) {
  const at = "2026-01-01T00:00:00.000Z";
  await env.DB.batch(
    mailboxes.flatMap((mailbox, i) =>
      mailbox
        ? [
            env.DB.prepare(
              `INSERT INTO mailboxes (tenant_id, user_seq, state, litigation_hold, purge_after, next_purge_at, item_count,
                 state_changed_at, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 3, ?7, ?7, ?7)`,
            ).bind(
              tenantId,
              seqs[i],
              mailbox.state,
              mailbox.litigationHold ? 1 : 0,
              mailbox.purgeAfter,
              mailbox.nextPurgeAt,
              at,
            ),
          ]
        : [],
    ),
  );
}

const sites: { label: string; site: OneDriveSite | null }[] = [
  { label: "none", site: null },
  { label: "Active", site: { state: "Active", purgeAfter: null } },
  { label: "Retained in window", site: { state: "Retained", purgeAfter: LATER } },
  { label: "Retained past window", site: { state: "Retained", purgeAfter: EARLIER } },
  { label: "Purged", site: { state: "Purged", purgeAfter: EARLIER } },
];
const odChanges = [false, true].flatMap((oneDriveAfter) =>
  [false, true].flatMap((deletedBefore) =>
    [false, true].map((deletedAfter) => ({ oneDriveAfter, deletedBefore, deletedAfter })),
  ),
);
// The one pair both paths leave alone on purpose: a retained site past its end whose user is back (unreachable: a
// user is restorable 30 days, a OneDrive is kept at least 30).
const unreachable = (s: OneDriveSite | null, c: (typeof odChanges)[number]) =>
  s?.state === "Retained" && s.purgeAfter === EARLIER && !c.deletedAfter && c.oneDriveAfter;
const siteCases = () =>
  sites.flatMap((s) => odChanges.filter((c) => !unreachable(s.site, c)).map((change) => ({ s, change })));

async function storeSites(tenantId: string, seqs: number[], stored: (OneDriveSite | null)[]) {
  await env.DB.batch(
    stored.flatMap((site, i) =>
      site
        ? [
            env.DB.prepare(
              `INSERT INTO onedrive_sites (tenant_id, user_seq, state, purge_after, created_at, updated_at)
               VALUES (?1, ?2, ?3, ?4, ?5, ?5)`,
            ).bind(tenantId, seqs[i], site.state, site.purgeAfter, NOW),
          ]
        : [],
    ),
  );
}

const DAYS = 45;
const setOneDriveDays = (tenantId: string) =>
  env.DB.prepare("INSERT INTO retention_settings (tenant_id, onedrive_retention_days, updated_at) VALUES (?1, ?2, ?3)")
    .bind(tenantId, DAYS, NOW)
    .run();

/** A tenant with one user per stored mailbox and change, each mailbox stored. */
async function mailboxCases() {
  const t = await newTenant();
  const cases = storedMailboxes.flatMap((stored) => changes.map((change) => ({ stored, change })));
  const seqs = await seqsOf(t.id, await seedUsers(t.id, cases.length));
  await storeMailboxes(
    t.id,
    seqs,
    cases.map((c) => c.stored.mailbox),
  );
  return { t, cases, seqs };
}

/** Each case's latest mailbox is where rules.mailboxOutcome put it; the number that moved. */
async function expectMailboxesAsRules(cases: Awaited<ReturnType<typeof mailboxCases>>["cases"], seqs: number[]) {
  let moves = 0;
  for (const [i, { stored, change }] of cases.entries()) {
    const outcome = mailboxOutcome(stored.mailbox, change, NOW);
    const row = await latest("mailboxes", seqs[i]!);
    const label = `${stored.label} ${JSON.stringify(change)} → ${outcome.kind}`;
    if (outcome.kind === "none") {
      expect(row, label).toBeNull();
      continue;
    }
    if (outcome.kind !== "stay") moves++;
    expect(
      {
        state: row!.state,
        litigationHold: row!.litigation_hold === 1,
        purgeAfter: row!.purge_after,
        nextPurgeAt: row!.next_purge_at,
      },
      label,
    ).toEqual(outcome.mailbox);
    // A new mailbox is a new row; every other outcome moves the one there is.
    expect(row!.n, label).toBe(outcome.kind === "create" && stored.mailbox ? 2 : 1);
    expect(row!.item_count, label).toBe(outcome.kind === "create" ? 0 : 3);
  }
  return moves;
}

/** A tenant with the OneDrive setting and one user per stored site and change, each site stored. */
async function siteCasesStored() {
  const t = await newTenant();
  await setOneDriveDays(t.id);
  const cases = siteCases();
  const seqs = await seqsOf(t.id, await seedUsers(t.id, cases.length));
  await storeSites(
    t.id,
    seqs,
    cases.map((c) => c.s.site),
  );
  return { t, cases, seqs };
}

/** Each case's latest site is where rules.oneDriveOutcome put it (a new one is a new row). */
async function expectSitesAsRules(cases: ReturnType<typeof siteCases>, seqs: number[]) {
  for (const [i, { s, change }] of cases.entries()) {
    const outcome = oneDriveOutcome(s.site, change, DAYS, NOW);
    const row = await latest("onedrive_sites", seqs[i]!);
    const label = `${s.label} ${JSON.stringify(change)} → ${outcome.kind}`;
    if (outcome.kind === "none") {
      expect(row, label).toBeNull();
      continue;
    }
    expect({ state: row!.state, purgeAfter: row!.purge_after }, label).toEqual(outcome.site);
    expect(row!.n, label).toBe(outcome.kind === "create" && s.site ? 2 : 1);
  }
}

/** Each user's retention state as the licensing read takes it (retentionStateSql), by seq. */
async function statesOf(tenantId: string, seqs: number[]) {
  const rows = await env.DB.prepare(
    `SELECT u.seq, ${retentionStateSql("u.seq", "?1")} AS state FROM users u
     WHERE u.tenant_id = ?1 AND u.seq IN (SELECT value FROM json_each(?2))`,
  )
    .bind(tenantId, JSON.stringify(seqs))
    .all<{ seq: number; state: string }>();
  return new Map(rows.results.map((r) => [r.seq, r.state]));
}

/** One user per case through oneUserRetentionWrites, in one batch with its audit rows; the decisions by case. */
async function decideOneByOne(
  tenantId: string,
  seqs: number[],
  moves: { exchange: ExchangeChange | null; oneDrive: OneDriveChange | null }[],
) {
  const ctx = ctxAt(tenantId);
  const before = await statesOf(tenantId, seqs);
  const decisions = moves.map((m, i) =>
    oneUserRetentionWrites(
      ctx,
      { seq: seqs[i]!, id: `user-${i}`, displayName: `User ${i}`, userPrincipalName: `user${i}@x.test` },
      m,
      before.get(seqs[i]!)!,
    ),
  );
  await env.DB.batch([
    ...decisions.flatMap((d) => d.statements),
    ...bulkAuditStatements(
      ctx,
      decisions.flatMap((d) => d.audits),
    ),
  ]);
  return { before, decisions, after: await statesOf(tenantId, seqs) };
}

describe("mailbox transitions in SQL", () => {
  it("land where rules.mailboxOutcome says, for every stored state, hold, window and change", async () => {
    const { t, cases, seqs } = await mailboxCases();
    const rows: MailboxChangeRow[] = cases.map(({ change }, i) => [
      seqs[i]!,
      change.exchangeAfter && !change.deletedAfter ? 1 : 0,
      change.deletedAfter ? 1 : 0,
    ]);
    const ctx = ctxAt(t.id);
    const purgeAfter = addDays(NOW, windows.disconnectedMailboxDays);
    await env.DB.batch(mailboxTransitionStatements(ctx, rows, purgeAfter));

    const moves = await expectMailboxesAsRules(cases, seqs);
    // One bulk audit row, one entry per mailbox that moved.
    const audit = await env.DB.prepare(
      "SELECT json_array_length(entries) AS n, entry_property AS property FROM audit_log WHERE tenant_id = ?1 AND activity_display_name = 'Change mailbox state'",
    )
      .bind(t.id)
      .all<{ n: number; property: string }>();
    expect(audit.results).toEqual([{ n: moves, property: "MailboxState" }]);
  });

  it("an empty list writes nothing", () => {
    expect(mailboxTransitionStatements(ctxAt("t"), [], NOW)).toEqual([]);
    expect(oneDriveTransitionStatements(ctxAt("t"), [])).toEqual([]);
  });
});

describe("OneDrive transitions in SQL", () => {
  it("land where rules.oneDriveOutcome says, with the tenant's retention setting", async () => {
    const { t, cases, seqs } = await siteCasesStored();
    const rows: OneDriveChangeRow[] = cases.map(({ change }, i) => [
      seqs[i]!,
      change.oneDriveAfter && !change.deletedAfter ? 1 : 0,
      change.deletedAfter ? 1 : 0,
    ]);
    await env.DB.batch(oneDriveTransitionStatements(ctxAt(t.id), rows));
    await expectSitesAsRules(cases, seqs);
  });
});

// A single user's change (assignLicense, a deletion) is decided by the rules themselves in the Worker, on the state
// the licensing read brought (licensing-hook.ts, oneUserRetentionWrites). Its short statements must land where the
// rules say, and the state it predicts must be what the next read gives (else every cached change would fail its
// guard and pay a second batch).
describe("one user's transitions, decided in the Worker", () => {
  it("land where rules.mailboxOutcome says, and the state after is the one it predicted", async () => {
    const { t, cases, seqs } = await mailboxCases();
    const { before, decisions, after } = await decideOneByOne(
      t.id,
      seqs,
      cases.map((c) => ({ exchange: c.change, oneDrive: null })),
    );
    for (const [i, { stored, change }] of cases.entries()) {
      const outcome = mailboxOutcome(stored.mailbox, change, NOW);
      const label = `${stored.label} ${JSON.stringify(change)} → ${outcome.kind}`;
      expect(decisions[i]!.readState, label).toBe(true);
      expect(after.get(seqs[i]!), label).toBe(decisions[i]!.stateAfter);
      if (outcome.kind === "none" || outcome.kind === "stay") {
        expect(decisions[i]!.statements, label).toEqual([]);
        expect(after.get(seqs[i]!), label).toBe(before.get(seqs[i]!));
      }
    }
    const moves = await expectMailboxesAsRules(cases, seqs);
    const audit = await env.DB.prepare(
      `SELECT e.value ->> 0 AS userId, entry_values ->> (e.value ->> 3) AS oldValue, entry_values ->> (e.value ->> 4) AS newValue
       FROM audit_log, json_each(entries) e WHERE tenant_id = ?1 AND activity_display_name = 'Change mailbox state'`,
    )
      .bind(t.id)
      .all<{ userId: string; oldValue: string; newValue: string }>();
    expect(audit.results).toHaveLength(moves);
    for (const entry of audit.results) {
      const { stored, change } = cases[Number(entry.userId.slice("user-".length))]!;
      const outcome = mailboxOutcome(stored.mailbox, change, NOW);
      expect(entry.newValue).toBe((outcome as { mailbox: Mailbox }).mailbox.state);
      expect(entry.oldValue).toBe(outcome.kind === "create" ? "" : stored.mailbox!.state);
    }
  });

  it("land where rules.oneDriveOutcome says, with the tenant's retention setting", async () => {
    const { t, cases, seqs } = await siteCasesStored();
    const { decisions, after } = await decideOneByOne(
      t.id,
      seqs,
      cases.map((c) => ({ exchange: null, oneDrive: c.change })),
    );
    for (const [i, { s }] of cases.entries()) expect(after.get(seqs[i]!), s.label).toBe(decisions[i]!.stateAfter);
    await expectSitesAsRules(cases, seqs);
  });

  it("a change that can move neither reads nothing it must guard", () => {
    const decision = oneUserRetentionWrites(
      ctxAt("t"),
      { seq: 1, id: "u", displayName: "U", userPrincipalName: "u@x.test" },
      { exchange: null, oneDrive: null },
      "[null,null,null,null,null,93]",
    );
    expect(decision).toEqual({
      statements: [],
      audits: [],
      readState: false,
      stateAfter: "[null,null,null,null,null,93]",
    });
  });
});
