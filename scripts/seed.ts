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
    }
  }
  const issued = await issueApiKey({
    ctx: makeCtx(env, tenant.id, seedActor),
    input: { role: "GlobalAdministrator", name: "Demo admin key" },
  });
  const key = { tenantId: tenant.id, key: issued.key, createdAt: issued.createdAt };
  await writeDemoKey(persistRoot, key);
  log(
    `seeded demo tenant Contoso (${tenant.id}): ${demoSubscriptions.length} subscriptions, ${demoUsers.length} users`,
  );
  return { ...key, seeded: true };
}

export type BenchSeed = { tenantId: string; key: string; skuId: string; userIds: string[] };

/** A tenant for `npm run bench`: a large E3 pool and `users` licensable users holding nothing yet. */
export async function seedBench(env: Env, users: number, log: (line: string) => void): Promise<BenchSeed> {
  await ensureCatalog(env, log);
  const { tenant } = await createTenant({
    ctx: makeCtx(env, "", seedActor),
    input: { displayName: "Bench", country: "US", domains: ["bench.example"], selfServiceSubscriptions: true },
  });
  const ctx = makeCtx(env, tenant.id, seedActor);
  const sub = await createSubscription({
    ctx,
    input: { skuPartNumber: "ENTERPRISEPACK", totalLicenses: users * 2 + 100 },
  });
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
  return { tenantId: tenant.id, key: issued.key, skuId: sub.subscription.skuId, userIds };
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
  await ensureCatalog(env, log);
  const { tenant } = await createTenant({
    ctx: makeCtx(env, "", seedActor),
    input: { displayName: "Bench Groups", country: "US", domains: ["gbench.bench.example"] },
  });
  const ctx = makeCtx(env, tenant.id, seedActor);
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
