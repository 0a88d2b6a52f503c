/// <reference types="node" />
/**
 * Demo and benchmark data, written through seatflow's own actions (never raw SQL of its tables, except the read-only
 * checks below), so the seed always follows the current rules. One exception: `seedBenchGroups` bulk-inserts its
 * users and group memberships with set-based SQL (as test/helpers/fixtures.ts does), since 100,000 users through
 * createUser would take many minutes; tenants, subscriptions, groups, group licenses and keys go through the actions.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { importCatalog } from "../functions/catalog/actions.ts";
import { type Actor, groupLicensingActor, makeCtx } from "../functions/core/context.ts";
import { newId } from "../functions/core/ids.ts";
import { createUser } from "../functions/directory/actions.ts";
import { createGroup } from "../functions/directory/group-actions.ts";
import { CreateGroupSchema } from "../functions/directory/group-schemas.ts";
import { CreateUserSchema } from "../functions/directory/schemas.ts";
import { QueryBudget, runJob } from "../functions/jobs/runner.ts";
import { assignUserLicenses } from "../functions/licensing/actions.ts";
import { assignGroupLicenses } from "../functions/licensing/group-actions.ts";
import { createTenant } from "../functions/lifecycle/tenants.ts";
import { jobKinds } from "../functions/queue.ts";
import { addMailboxItems, createRetentionLabel } from "../functions/retention/actions.ts";
import { createSubscription } from "../functions/subscriptions/actions.ts";
import { issueApiKey } from "../functions/tenancy/actions.ts";
import { hashApiKey } from "../functions/tenancy/keys.ts";
import { projectRoot } from "./platform.ts";

export const seedActor: Actor = { kind: "system", name: "seatflow seed" };

export const catalogCsvPath = path.join(projectRoot, "db/catalog/product-names-and-service-plan-identifiers.csv");

/** Imports the shipped catalogue when the database has none (the import is idempotent anyway). */
export async function ensureCatalog(env: Env, log: (line: string) => void) {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM skus").first<{ n: number }>();
  if ((row?.n ?? 0) > 0) return;
  const result = await importCatalog({
    ctx: makeCtx(env, "", seedActor),
    input: { csv: await readFile(catalogCsvPath, "utf8") },
  });
  log(`catalogue imported: ${result.products} products, ${result.servicePlans} service plans`);
}

const demoSubscriptions = [
  { skuPartNumber: "SPB", totalLicenses: 5 },
  { skuPartNumber: "SPB", totalLicenses: 8 },
  { skuPartNumber: "ENTERPRISEPACK", totalLicenses: 10 },
  { skuPartNumber: "EMS", totalLicenses: 10 },
  { skuPartNumber: "EXCHANGESTANDARD", totalLicenses: 5 },
  { skuPartNumber: "MCOMEETADV", totalLicenses: 5 },
];

type DemoUser = {
  nick: string;
  displayName: string;
  givenName: string;
  surname: string;
  department: string;
  jobTitle: string;
  usageLocation: string | null;
  userType?: "Guest";
  upn?: string;
  licenses: string[];
};

const demoUsers: DemoUser[] = [
  {
    nick: "AdeleV",
    displayName: "Adele Vance",
    givenName: "Adele",
    surname: "Vance",
    department: "Sales",
    jobTitle: "Retail Manager",
    usageLocation: "US",
    licenses: ["SPB"],
  },
  {
    nick: "MeganB",
    displayName: "Megan Bowen",
    givenName: "Megan",
    surname: "Bowen",
    department: "Marketing",
    jobTitle: "Marketing Manager",
    usageLocation: "US",
    licenses: ["SPB"],
  },
  {
    nick: "AlexW",
    displayName: "Alex Wilber",
    givenName: "Alex",
    surname: "Wilber",
    department: "Marketing",
    jobTitle: "Marketing Assistant",
    usageLocation: "US",
    licenses: ["ENTERPRISEPACK", "EMS"],
  },
  {
    nick: "LeeG",
    displayName: "Lee Gu",
    givenName: "Lee",
    surname: "Gu",
    department: "Engineering",
    jobTitle: "Director",
    usageLocation: "GB",
    licenses: ["ENTERPRISEPACK", "MCOMEETADV"],
  },
  {
    nick: "IsaiahL",
    displayName: "Isaiah Langer",
    givenName: "Isaiah",
    surname: "Langer",
    department: "Sales",
    jobTitle: "Sales Rep",
    usageLocation: "DE",
    licenses: ["EXCHANGESTANDARD"],
  },
  {
    nick: "PradeepG",
    displayName: "Pradeep Gupta",
    givenName: "Pradeep",
    surname: "Gupta",
    department: "Finance",
    jobTitle: "Accountant",
    usageLocation: "IN",
    licenses: [],
  },
  // Synced from on-premises AD: no usage location yet, so no direct license can be assigned (rule 12).
  {
    nick: "JohannaL",
    displayName: "Johanna Lorenz",
    givenName: "Johanna",
    surname: "Lorenz",
    department: "Engineering",
    jobTitle: "Senior Engineer",
    usageLocation: null,
    licenses: [],
  },
  {
    nick: "nestor.wilke_fabrikam.com#EXT#",
    upn: "nestor.wilke_fabrikam.com#EXT#@contoso.example",
    displayName: "Nestor Wilke (Fabrikam)",
    givenName: "Nestor",
    surname: "Wilke",
    department: "Partners",
    jobTitle: "Consultant",
    usageLocation: "US",
    userType: "Guest",
    licenses: [],
  },
];

export type DemoKey = { tenantId: string; key: string; createdAt: string };

const demoKeyFile = (persistRoot: string) => path.join(persistRoot, "seatflow-demo-key.json");

async function readDemoKey(persistRoot: string): Promise<DemoKey | undefined> {
  try {
    return JSON.parse(await readFile(demoKeyFile(persistRoot), "utf8")) as DemoKey;
  } catch {
    return undefined;
  }
}

async function writeDemoKey(persistRoot: string, key: DemoKey) {
  await mkdir(persistRoot, { recursive: true });
  await writeFile(demoKeyFile(persistRoot), `${JSON.stringify(key, null, 2)}\n`, { mode: 0o600 });
}

async function isLiveAdminKey(d1: D1Database, key: string) {
  const row = await d1
    .prepare(
      "SELECT tenant_id AS tenantId FROM api_keys WHERE key_hash = ?1 AND revoked_at IS NULL AND role = 'GlobalAdministrator'",
    )
    .bind(await hashApiKey(key))
    .first<{ tenantId: string }>();
  return row?.tenantId;
}

/**
 * Seeds the demo tenant when the database holds no tenant; otherwise returns the stored demo key, issuing a
 * fresh GlobalAdministrator key (for the demo tenant, else the oldest tenant) when the stored one no longer works.
 */
export async function seedDemo(
  env: Env,
  persistRoot: string,
  log: (line: string) => void,
): Promise<DemoKey & { seeded: boolean }> {
  const d1 = env.DB;
  await ensureCatalog(env, log);
  const tenants = await d1.prepare("SELECT count(*) AS n FROM tenants").first<{ n: number }>();
  if ((tenants?.n ?? 0) > 0) {
    const stored = await readDemoKey(persistRoot);
    if (stored && (await isLiveAdminKey(d1, stored.key))) return { ...stored, seeded: false };
    const tenant =
      (stored &&
        (await d1.prepare("SELECT id FROM tenants WHERE id = ?1").bind(stored.tenantId).first<{ id: string }>())) ??
      (await d1.prepare("SELECT id FROM tenants ORDER BY created_at, id LIMIT 1").first<{ id: string }>());
    if (!tenant) throw new Error("tenants table is not empty but no tenant could be read");
    const issued = await issueApiKey({
      ctx: makeCtx(env, tenant.id, seedActor),
      input: { role: "GlobalAdministrator", name: "Demo admin key" },
    });
    const key = { tenantId: tenant.id, key: issued.key, createdAt: issued.createdAt };
    await writeDemoKey(persistRoot, key);
    log("the stored demo key no longer worked: issued a new GlobalAdministrator key");
    return { ...key, seeded: false };
  }

  // The demo tenant is the local installation's operator: its admin key may also import the catalogue and create tenants.
  const { tenant } = await createTenant({
    ctx: makeCtx(env, "", seedActor),
    input: {
      displayName: "Contoso",
      country: "US",
      operator: true,
      domains: ["contoso.example"],
      selfServiceSubscriptions: true,
    },
  });
  const ctx = makeCtx(env, tenant.id, seedActor);
  const skuIds = new Map<string, string>();
  for (const input of demoSubscriptions) {
    const sub = await createSubscription({ ctx, input });
    skuIds.set(sub.skuPartNumber, sub.subscription.skuId);
  }
  const mailUsers: { id: string; nick: string }[] = [];
  for (const u of demoUsers) {
    const user = await createUser({
      ctx,
      input: CreateUserSchema.parse({
        accountEnabled: true,
        displayName: u.displayName,
        mailNickname: u.nick.replace(/#/g, "_"),
        userPrincipalName: u.upn ?? `${u.nick}@contoso.example`,
        givenName: u.givenName,
        surname: u.surname,
        usageLocation: u.usageLocation,
        department: u.department,
        jobTitle: u.jobTitle,
        companyName: u.userType === "Guest" ? "Fabrikam" : "Contoso",
        ...(u.userType ? { userType: u.userType } : {}),
      }),
    });
    if (u.licenses.length > 0) {
      await assignUserLicenses({
        ctx,
        input: {
          userRef: user.id,
          addLicenses: u.licenses.map((part) => ({ skuId: skuIds.get(part)!, disabledPlans: [] })),
          removeLicenses: [],
        },
      });
      mailUsers.push({ id: user.id, nick: u.nick });
    }
  }
  await seedDemoMail(ctx, mailUsers, skuIds.get("ENTERPRISEPACK")!);
  const issued = await issueApiKey({
    ctx: makeCtx(env, tenant.id, seedActor),
    input: { role: "GlobalAdministrator", name: "Demo admin key" },
  });
  const key = { tenantId: tenant.id, key: issued.key, createdAt: issued.createdAt };
  await writeDemoKey(persistRoot, key);
  log(
    `seeded demo tenant Contoso (${tenant.id}): ${demoSubscriptions.length} subscriptions, ${demoUsers.length + 1} users, mailboxes with mail`,
  );
  return { ...key, seeded: true };
}

/**
 * Mail for the demo's mailboxes (every licensed demo user has an Exchange plan), two retention labels with some of it
 * under them, and a leaver whose license went: a Disconnected mailbox counting down, for the retention API's tour.
 */
async function seedDemoMail(ctx: ReturnType<typeof makeCtx>, users: { id: string; nick: string }[], e3: string) {
  const legal = await createRetentionLabel({
    ctx,
    input: { displayName: "Legal hold - 7 years", retentionDays: 2555 },
  });
  const project = await createRetentionLabel({
    ctx,
    input: { displayName: "Project records - 1 year", retentionDays: 365 },
  });
  const daysAgo = (days: number) => new Date(ctx.now.getTime() - days * 86_400_000).toISOString();
  const subjects = [
    "Quarterly report",
    "Re: contract renewal",
    "Invoice 2291",
    "Team offsite agenda",
    "Onboarding plan",
  ];
  for (const [i, user] of users.entries()) {
    await addMailboxItems({
      ctx,
      input: {
        userRef: user.id,
        items: subjects.map((subject, j) => ({
          subject,
          sizeBytes: 12_000 + 7_919 * ((i * 5 + j) % 17),
          receivedDateTime: daysAgo(3 + 11 * j + i),
          retentionLabelId: j === 1 ? legal.id : j === 4 ? project.id : null,
        })),
      },
    });
  }
  const leaver = await createUser({
    ctx,
    input: CreateUserSchema.parse({
      accountEnabled: false,
      displayName: "Diego Siciliani",
      mailNickname: "DiegoS",
      userPrincipalName: "DiegoS@contoso.example",
      givenName: "Diego",
      surname: "Siciliani",
      usageLocation: "US",
      department: "HR",
      jobTitle: "HR Manager",
      companyName: "Contoso",
    }),
  });
  const license = { userRef: leaver.id, addLicenses: [{ skuId: e3, disabledPlans: [] }], removeLicenses: [] };
  await assignUserLicenses({ ctx, input: license });
  await addMailboxItems({
    ctx,
    input: {
      userRef: leaver.id,
      items: [
        { subject: "Handover notes", sizeBytes: 48_000, receivedDateTime: daysAgo(20) },
        {
          subject: "Re: employment contract",
          sizeBytes: 96_000,
          receivedDateTime: daysAgo(40),
          retentionLabelId: legal.id,
        },
      ],
    },
  });
  await assignUserLicenses({ ctx, input: { userRef: leaver.id, addLicenses: [], removeLicenses: [e3] } });
}

/** `skuId` is E3 (its Exchange moves a mailbox on every change); `noMailboxSkuId` is EMS (licensing alone). */
export type BenchSeed = { tenantId: string; key: string; skuId: string; noMailboxSkuId: string; userIds: string[] };

/** A bench's tenant, on the catalogue, and the seed's context in it. */
async function benchTenant(env: Env, input: Parameters<typeof createTenant>[0]["input"], log: (line: string) => void) {
  await ensureCatalog(env, log);
  const { tenant } = await createTenant({ ctx: makeCtx(env, "", seedActor), input });
  return { tenant, ctx: makeCtx(env, tenant.id, seedActor) };
}

/** A tenant for `npm run bench`: large E3 and EMS pools and `users` licensable users holding nothing yet. */
export async function seedBench(env: Env, users: number, log: (line: string) => void): Promise<BenchSeed> {
  const { tenant, ctx } = await benchTenant(
    env,
    { displayName: "Bench", country: "US", domains: ["bench.example"], selfServiceSubscriptions: true },
    log,
  );
  const sub = await createSubscription({
    ctx,
    input: { skuPartNumber: "ENTERPRISEPACK", totalLicenses: users * 2 + 100 },
  });
  const ems = await createSubscription({ ctx, input: { skuPartNumber: "EMS", totalLicenses: users * 2 + 100 } });
  const userIds: string[] = [];
  for (let i = 0; i < users; i++) {
    const nick = `bench${String(i).padStart(4, "0")}`;
    const user = await createUser({
      ctx,
      input: CreateUserSchema.parse({
        accountEnabled: true,
        displayName: `Bench User ${i}`,
        mailNickname: nick,
        userPrincipalName: `${nick}@bench.example`,
        usageLocation: "US",
        department: ["Sales", "Marketing", "Engineering", "Finance"][i % 4],
      }),
    });
    userIds.push(user.id);
  }
  const issued = await issueApiKey({
    ctx: makeCtx(env, tenant.id, seedActor),
    input: { role: "LicenseAdministrator", name: "bench" },
  });
  log(`seeded bench tenant ${tenant.id}: ${users} users, ENTERPRISEPACK x${sub.subscription.totalLicenses}`);
  return {
    tenantId: tenant.id,
    key: issued.key,
    skuId: sub.subscription.skuId,
    noMailboxSkuId: ems.subscription.skuId,
    userIds,
  };
}

export type BenchGroupsSeed = {
  tenantId: string;
  /** GlobalAdministrator key of the big tenant. */
  key: string;
  users: number;
  emsSkuId: string;
  e3SkuId: string;
  /** Static security group holding every user; no license yet (the bench assigns EMS). */
  groupId: string;
  /** Dynamic group, rule `user.department -eq "Nobody"` (no members), ENTERPRISEPACK assigned and processed. */
  dynamicGroupId: string;
  /** A second, small tenant whose users the interactive-latency load reads (never rows the job writes). */
  readTenantId: string;
  readKey: string;
  readUserIds: string[];
};

const BULK_ROWS = 1000;
const BULK_STATEMENTS = 10;

/** Inserts `count` licensable users straight into D1, a batch of 10 x 1000-row statements per round trip. */
async function bulkUsers(d1: D1Database, tenantId: string, count: number, prefix: string, department: string) {
  const now = new Date().toISOString();
  const ids = Array.from({ length: count }, () => newId());
  const insert = d1.prepare(
    `INSERT INTO users (id, tenant_id, user_principal_name, display_name, mail_nickname, usage_location, department, user_type,
       created_at, updated_at)
     SELECT value ->> 0, ?1, value ->> 1, value ->> 2, value ->> 3, 'US', ?2, 'Member', ?3, ?3 FROM json_each(?4)`,
  );
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < count; i += BULK_ROWS) {
    const rows = ids.slice(i, i + BULK_ROWS).map((id, j) => {
      const nick = `${prefix}${i + j}`;
      return [id, `${nick}@${prefix}.bench.example`, `${prefix} user ${i + j}`, nick];
    });
    statements.push(insert.bind(tenantId, department, now, JSON.stringify(rows)));
  }
  for (let i = 0; i < statements.length; i += BULK_STATEMENTS) await d1.batch(statements.slice(i, i + BULK_STATEMENTS));
  return ids.sort();
}

async function bulkMembers(d1: D1Database, tenantId: string, groupId: string, userIds: string[]) {
  const insert = d1.prepare(
    `INSERT INTO group_members (group_seq, user_seq, added_at)
     SELECT (SELECT seq FROM groups WHERE tenant_id = ?1 AND id = ?2), u.seq, ?3 FROM json_each(?4) AS j
     CROSS JOIN users u ON u.id = j.value WHERE u.tenant_id = ?1`,
  );
  const now = new Date().toISOString();
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < userIds.length; i += BULK_ROWS)
    statements.push(insert.bind(tenantId, groupId, now, JSON.stringify(userIds.slice(i, i + BULK_ROWS))));
  for (let i = 0; i < statements.length; i += BULK_STATEMENTS) await d1.batch(statements.slice(i, i + BULK_STATEMENTS));
}

export type BenchPurgeSeed = {
  tenantId: string;
  /** GlobalAdministrator key of the tenant. */
  key: string;
  mailboxes: number;
  items: number;
  /** Every Disconnected mailbox's window ended at this instant: a run at or after it finds them all due. */
  dueSince: string;
  /** What a correct purge leaves, counted on the seeded rows. */
  expect: {
    itemsDeleted: number;
    itemsKept: number;
    bytesDeleted: number;
    mailboxesPurged: number;
    heldMailboxes: number;
    heldItems: number;
    dueMailboxes: number;
  };
};

/**
 * For the purge bench (bench/purge.mjs): a tenant with `mailboxes` users whose mailboxes are all past their window,
 * holding `items` items between them, as bench/purge-floor.mjs builds its database: every 10th mailbox held as a whole
 * (every 20th inactive, the other half on litigation hold), 1 item in 10 under a 7-year label, the items spread evenly
 * over the mailboxes. Bulk SQL (users, mailboxes, items), the label and the key through the actions.
 */
export async function seedBenchPurge(
  env: Env,
  mailboxes: number,
  items: number,
  log: (line: string) => void,
): Promise<BenchPurgeSeed> {
  const d1 = env.DB;
  const t0 = Date.now();
  const since = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
  const { tenant, ctx } = await benchTenant(
    env,
    { displayName: "Bench Purge", country: "US", domains: ["pbench.bench.example"] },
    log,
  );
  const label = await createRetentionLabel({ ctx, input: { displayName: "Legal - 7 years", retentionDays: 2555 } });
  await bulkUsers(d1, tenant.id, mailboxes, "pbench", "Leavers");
  const now = new Date().toISOString();
  const due = new Date(Date.now() - 86_400_000).toISOString();
  await d1
    .prepare(
      `INSERT INTO mailboxes (tenant_id, user_seq, state, litigation_hold, purge_after, next_purge_at, state_changed_at,
         created_at, updated_at)
       SELECT ?1, seq, CASE WHEN n % 20 = 0 THEN 'Inactive' ELSE 'Disconnected' END, n % 10 = 0,
         CASE WHEN n % 20 = 0 THEN NULL ELSE ?2 END, CASE WHEN n % 20 = 0 THEN NULL ELSE ?2 END, ?2, ?3, ?2
       FROM (SELECT seq, row_number() OVER (ORDER BY seq) AS n FROM users WHERE tenant_id = ?1) ORDER BY seq`,
    )
    .bind(tenant.id, due, now)
    .run();
  log(`bench purge: ${mailboxes} users and mailboxes inserted (${since()})`);
  // Mailbox n (1-based, in seq order) holds items floor((n-1)·I/M) … floor(n·I/M) - 1 of the whole set.
  const perMailbox = Math.ceil(items / mailboxes);
  const chunk = Math.max(1, Math.floor(50_000 / perMailbox));
  const insert = d1.prepare(
    `WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?4),
       mb AS (SELECT seq, ((n - 1) * ?3) / ?2 AS first, (n * ?3) / ?2 - ((n - 1) * ?3) / ?2 AS cnt
              FROM (SELECT seq, row_number() OVER (ORDER BY seq) AS n FROM mailboxes WHERE tenant_id = ?1)
              WHERE n > ?5 AND n <= ?6),
       it AS (SELECT mb.seq, k.i, mb.first + k.i - 1 AS j FROM mb JOIN k ON k.i <= mb.cnt),
       dated AS (SELECT seq, i, j, strftime('%Y-%m-%dT%H:%M:%fZ', ?7, '-' || (1 + (j * 31) % 700) || ' days') AS received,
                   (j * 2654435761) % 100 < 10 AS labelled FROM it)
     INSERT INTO mailbox_items (mailbox_seq, item_seq, subject, size_bytes, received_at, label_seq, labeled_at, retained_until)
     SELECT seq, i, 'Mail #' || j, 2000 + (j * 7919) % 150000, received, CASE WHEN labelled THEN ?8 END,
       CASE WHEN labelled THEN received END,
       CASE WHEN labelled THEN strftime('%Y-%m-%dT%H:%M:%fZ', received, '+2555 days') END
     FROM dated ORDER BY seq, i`,
  );
  const statements: D1PreparedStatement[] = [];
  for (let lo = 0; lo < mailboxes; lo += chunk) {
    statements.push(insert.bind(tenant.id, mailboxes, items, perMailbox, lo, lo + chunk, now, label.seq));
  }
  for (let i = 0; i < statements.length; i += 2) await d1.batch(statements.slice(i, i + 2));
  await d1
    .prepare(
      `UPDATE mailboxes SET item_count = (SELECT count(*) FROM mailbox_items WHERE mailbox_seq = mailboxes.seq),
         size_bytes = (SELECT coalesce(sum(size_bytes), 0) FROM mailbox_items WHERE mailbox_seq = mailboxes.seq),
         last_item_seq = (SELECT coalesce(max(item_seq), 0) FROM mailbox_items WHERE mailbox_seq = mailboxes.seq)
       WHERE tenant_id = ?1`,
    )
    .bind(tenant.id)
    .run();
  log(`bench purge: ${items} items inserted (${since()})`);
  const expect = await d1
    .prepare(
      `WITH due AS (SELECT seq FROM mailboxes WHERE tenant_id = ?1 AND state = 'Disconnected' AND litigation_hold = 0)
       SELECT
         (SELECT count(*) FROM due JOIN mailbox_items i ON i.mailbox_seq = due.seq WHERE i.retained_until IS NULL) AS itemsDeleted,
         (SELECT coalesce(sum(i.size_bytes), 0) FROM due JOIN mailbox_items i ON i.mailbox_seq = due.seq
            WHERE i.retained_until IS NULL) AS bytesDeleted,
         (SELECT count(*) FROM mailboxes m JOIN mailbox_items i ON i.mailbox_seq = m.seq WHERE m.tenant_id = ?1) AS total,
         (SELECT count(*) FROM due WHERE NOT EXISTS (SELECT 1 FROM mailbox_items i WHERE i.mailbox_seq = due.seq
            AND i.retained_until IS NOT NULL)) AS mailboxesPurged,
         (SELECT count(*) FROM mailboxes WHERE tenant_id = ?1 AND litigation_hold = 1) AS heldMailboxes,
         (SELECT coalesce(sum(item_count), 0) FROM mailboxes WHERE tenant_id = ?1 AND litigation_hold = 1) AS heldItems,
         (SELECT count(*) FROM due) AS dueMailboxes`,
    )
    .bind(tenant.id)
    .first<Record<string, number>>();
  const key = await issueApiKey({
    ctx: makeCtx(env, tenant.id, seedActor),
    input: { role: "GlobalAdministrator", name: "bench purge" },
  });
  log(`bench purge: seeded tenant ${tenant.id} in ${since()}`);
  return {
    tenantId: tenant.id,
    key: key.key,
    mailboxes,
    items,
    dueSince: due,
    expect: {
      itemsDeleted: expect!.itemsDeleted!,
      itemsKept: expect!.total! - expect!.itemsDeleted!,
      bytesDeleted: expect!.bytesDeleted!,
      mailboxesPurged: expect!.mailboxesPurged!,
      heldMailboxes: expect!.heldMailboxes!,
      heldItems: expect!.heldItems!,
      dueMailboxes: expect!.dueMailboxes!,
    },
  };
}

/** Runs a group job to its end in this process, with the consumer's own code (the CLI's queue has no consumer). */
async function drainJob(env: Env, tenantId: string, jobId: string) {
  const ctx = makeCtx(env, tenantId, groupLicensingActor);
  for (let i = 0; i < 1000; i++) if ((await runJob(ctx, jobId, jobKinds, new QueryBudget())) !== "continue") return;
  throw new Error(`job ${jobId} did not finish`);
}

/**
 * For the group bench (bench/groups.mjs): a tenant with `users` users (department "Bench", usage location US), all
 * members of one static security group; EMS and ENTERPRISEPACK with users x 2 seats each; a dynamic group whose rule
 * matches nobody, holding ENTERPRISEPACK. Plus a second tenant of `readers` users for the interactive-latency load.
 * The dynamic group and its license are created (and their jobs run) before the users exist, so they end settled.
 */
export async function seedBenchGroups(
  env: Env,
  users: number,
  readers: number,
  log: (line: string) => void,
): Promise<BenchGroupsSeed> {
  const d1 = env.DB;
  const t0 = Date.now();
  const since = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
  const { tenant, ctx } = await benchTenant(
    env,
    { displayName: "Bench Groups", country: "US", domains: ["gbench.bench.example"] },
    log,
  );
  const ems = await createSubscription({ ctx, input: { skuPartNumber: "EMS", totalLicenses: users * 2 } });
  const e3 = await createSubscription({ ctx, input: { skuPartNumber: "ENTERPRISEPACK", totalLicenses: users * 2 } });
  const group = await createGroup({
    ctx,
    input: CreateGroupSchema.parse({
      displayName: "Bench all users",
      mailEnabled: false,
      mailNickname: "bench-all",
      securityEnabled: true,
    }),
  });
  const dynamic = await createGroup({
    ctx,
    input: CreateGroupSchema.parse({
      displayName: "Bench dynamic",
      mailEnabled: false,
      mailNickname: "bench-dynamic",
      securityEnabled: true,
      groupTypes: ["DynamicMembership"],
      membershipRule: 'user.department -eq "Nobody"',
    }),
  });
  if (dynamic.ruleJobId) await drainJob(env, tenant.id, dynamic.ruleJobId);
  const licensed = await assignGroupLicenses({
    ctx,
    input: {
      groupId: dynamic.id,
      addLicenses: [{ skuId: e3.subscription.skuId, disabledPlans: [] }],
      removeLicenses: [],
    },
  });
  await drainJob(env, tenant.id, licensed.licenseJobId);
  log(`bench groups: tenant, subscriptions and groups ready (${since()})`);
  const userIds = await bulkUsers(d1, tenant.id, users, "gbench", "Bench");
  log(`bench groups: ${users} users inserted (${since()})`);
  await bulkMembers(d1, tenant.id, group.id, userIds);
  log(`bench groups: ${users} members of the static group inserted (${since()})`);
  const key = await issueApiKey({
    ctx: makeCtx(env, tenant.id, seedActor),
    input: { role: "GlobalAdministrator", name: "bench groups" },
  });

  const { tenant: readTenant } = await createTenant({
    ctx: makeCtx(env, "", seedActor),
    input: { displayName: "Bench Readers", country: "US", domains: ["rbench.bench.example"] },
  });
  const readUserIds = await bulkUsers(d1, readTenant.id, readers, "rbench", "Readers");
  const readKey = await issueApiKey({
    ctx: makeCtx(env, readTenant.id, seedActor),
    input: { role: "GlobalReader", name: "bench readers" },
  });
  log(`bench groups: seeded tenant ${tenant.id} (${users} users) and reader tenant (${readers} users) in ${since()}`);
  return {
    tenantId: tenant.id,
    key: key.key,
    users,
    emsSkuId: ems.subscription.skuId,
    e3SkuId: e3.subscription.skuId,
    groupId: group.id,
    dynamicGroupId: dynamic.id,
    readTenantId: readTenant.id,
    readKey: readKey.key,
    readUserIds,
  };
}

export type BenchRulesSeed = {
  tenantId: string;
  /** GlobalAdministrator key of the tenant whose rules the bench makes as heavy as they may be. */
  key: string;
  users: number;
  /** A few of its users, for the bench's stream of user changes. */
  changeUserIds: string[];
};

/**
 * For the rule-isolation bench (bench/rule-isolation.mjs): a tenant of `users` users whose rule-readable attributes are
 * as long as the wire allows (displayName and mail 256 characters, jobTitle 128, department and companyName 64), so a
 * rule's -match work per user is the most it can be. Users are bulk-inserted as seedBenchGroups' are; the bench saves
 * the rules itself, through the API, as a hostile tenant would.
 */
export async function seedBenchRules(env: Env, users: number, log: (line: string) => void): Promise<BenchRulesSeed> {
  const d1 = env.DB;
  const domain = "rules.bench.example";
  const { tenant, ctx } = await benchTenant(env, { displayName: "Bench Rules", country: "US", domains: [domain] }, log);
  const now = new Date().toISOString();
  const ids = Array.from({ length: users }, () => newId()).sort();
  const long = (n: number, i: number) => `${"a".repeat(n - String(i).length)}${i}`;
  const insert = d1.prepare(
    `INSERT INTO users (id, tenant_id, user_principal_name, display_name, mail_nickname, mail, job_title, department,
       company_name, usage_location, user_type, created_at, updated_at)
     SELECT value ->> 0, ?1, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6, value ->> 7,
       'US', 'Member', ?2, ?2
     FROM json_each(?3)`,
  );
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < users; i += BULK_ROWS) {
    const rows = ids.slice(i, i + BULK_ROWS).map((id, j) => {
      const n = i + j;
      const nick = `rules${n}`;
      const mailLocal = long(64, n);
      return [
        id,
        `${nick}@${domain}`,
        long(256, n),
        nick,
        `${mailLocal}@${"a".repeat(256 - mailLocal.length - domain.length - 2)}.${domain}`,
        long(128, n),
        long(64, n),
        long(64, n),
      ];
    });
    statements.push(insert.bind(tenant.id, now, JSON.stringify(rows)));
  }
  for (let i = 0; i < statements.length; i += BULK_STATEMENTS) await d1.batch(statements.slice(i, i + BULK_STATEMENTS));
  const key = await issueApiKey({ ctx, input: { role: "GlobalAdministrator", name: "bench rules" } });
  log(`bench rules: seeded tenant ${tenant.id} with ${users} users of maximal attributes`);
  return { tenantId: tenant.id, key: key.key, users, changeUserIds: ids.slice(0, 200) };
}
