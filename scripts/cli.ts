/// <reference types="node" />
/**
 * seatflow's admin CLI, against the local D1 that `wrangler dev` (npm start) uses; safe to run while it serves.
 *
 *   tenant create <displayName> [--country XX] [--domain d]... [--operator] [--self-service-subscriptions]
 *                                                        prints the tenant id alone on the last line
 *   tenant list                                          one "id<TAB>country<TAB>displayName" line per tenant
 *   key create --tenant <id> --role <Role> [--name n]    prints the API key alone on the last line
 *   catalog import <file.csv>                            idempotent; prints the counts
 *   seed                                                 demo tenant when the DB is empty; prints the admin key
 *   bench-seed [--users N]                               bench tenant; prints one JSON line
 *   bench-groups-seed [--users N] [--readers M]          group bench tenants (bulk SQL users); one JSON line
 *   bench-purge-seed [--mailboxes N] [--items M]         purge bench tenant (bulk SQL mailboxes, items); one JSON line
 *   bench-rules-seed [--users N]                         rule-isolation bench tenant (bulk SQL users); one JSON line
 *
 * Global option: --persist-to <dir> (as wrangler's; default .wrangler/state).
 * stdout carries results only (wrangler/miniflare output goes to stderr). Exit codes: 0 ok, 1 failure, 2 usage.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { importCatalog } from "../functions/catalog/actions.ts";
import { cliActor, makeCtx, type Role, roles } from "../functions/core/context.ts";
import { DomainError } from "../functions/core/errors.ts";
import { createTenant } from "../functions/lifecycle/tenants.ts";
import { issueApiKey } from "../functions/tenancy/actions.ts";
import { emit, openPlatform, type Platform, projectRoot, quietStdout } from "./platform.ts";
import { seedBench, seedBenchGroups, seedBenchPurge, seedBenchRules, seedDemo } from "./seed.ts";

quietStdout();

class UsageError extends Error {}

const usage = `usage: npm run -s tenant -- create <displayName> [--country XX] [--domain example.com]... [--operator]
                                                  [--self-service-subscriptions]
       npm run -s tenant -- list
       npm run -s key -- create --tenant <tenantId> --role <${roles.join("|")}> [--name <name>]
       npm run catalog:import -- <file.csv>
       npm run -s seed            (demo tenant; npm start runs it)
       node scripts/cli.ts bench-seed [--users N]   (npm run bench runs it)
       node scripts/cli.ts bench-groups-seed [--users N] [--readers M]   (npm run bench runs it)
       node scripts/cli.ts bench-purge-seed [--mailboxes N] [--items M]   (npm run bench runs it)
       node scripts/cli.ts bench-rules-seed [--users N]   (npm run bench runs it)
global option: --persist-to <dir>  (default .wrangler/state)`;

const log = (line: string) => process.stderr.write(`${line}\n`);

const { values, positionals } = (() => {
  try {
    return parseArgs({
      args: process.argv.slice(2),
      allowPositionals: true,
      options: {
        country: { type: "string" },
        operator: { type: "boolean" },
        domain: { type: "string", multiple: true },
        "self-service-subscriptions": { type: "boolean" },
        tenant: { type: "string" },
        role: { type: "string" },
        name: { type: "string" },
        users: { type: "string" },
        readers: { type: "string" },
        mailboxes: { type: "string" },
        items: { type: "string" },
        "persist-to": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    log((error as Error).message);
    log(usage);
    process.exit(2);
  }
})();

// npm runs scripts from the package root; relative paths are taken from where the user typed the command.
const userCwd = process.env.INIT_CWD ?? process.cwd();
const persistRoot = values["persist-to"]
  ? path.resolve(userCwd, values["persist-to"])
  : path.join(projectRoot, ".wrangler/state");

let platform: Platform | undefined;
async function env(): Promise<Env> {
  platform ??= await openPlatform(persistRoot);
  return platform.env;
}

async function ensureMigrated(d1: D1Database) {
  const row = await d1
    .prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'tenants'")
    .first<{ n: number }>();
  if (!row?.n) {
    throw new Error(
      `the local database at ${persistRoot} has no schema: run \`npx wrangler d1 migrations apply DB --local${
        values["persist-to"] ? ` --persist-to ${values["persist-to"]}` : ""
      }\` (npm start does it) first`,
    );
  }
}

async function tenantCreate(args: string[]) {
  const displayName = args.join(" ").trim();
  if (!displayName) throw new UsageError("tenant create needs a display name");
  const country = (values.country ?? "US").toUpperCase();
  const e = await env();
  await ensureMigrated(e.DB);
  // --operator: this tenant's GlobalAdministrators may import the shared catalogue and create tenants over the API.
  const { tenant, domains } = await createTenant({
    ctx: makeCtx(e, "", cliActor),
    input: {
      displayName,
      country,
      operator: values.operator ?? false,
      // --domain, repeatable: verified domains its users' userPrincipalNames may end in (the first is the default).
      domains: values.domain ?? [],
      // --self-service-subscriptions: its own GlobalAdministrators may buy seats (otherwise only the operator may).
      selfServiceSubscriptions: values["self-service-subscriptions"] ?? false,
    },
  });
  log(`created tenant ${tenant.displayName} (${tenant.country}); domains: ${domains.map((d) => d.name).join(", ")}`);
  emit(tenant.id);
}

async function tenantList() {
  const e = await env();
  await ensureMigrated(e.DB);
  const rows = await e.DB.prepare(
    "SELECT id, country, display_name AS displayName FROM tenants ORDER BY created_at, id",
  ).all<{
    id: string;
    country: string;
    displayName: string;
  }>();
  for (const t of rows.results) emit(`${t.id}\t${t.country}\t${t.displayName}`);
}

async function keyCreate() {
  const tenantId = values.tenant?.trim();
  if (!tenantId) throw new UsageError("key create needs --tenant <tenantId>");
  const role = values.role;
  if (!role || !(roles as readonly string[]).includes(role)) {
    throw new UsageError(`--role must be one of ${roles.join(", ")}${role ? ` (got '${role}')` : ""}`);
  }
  const e = await env();
  await ensureMigrated(e.DB);
  const tenant = await e.DB.prepare("SELECT id, display_name AS displayName FROM tenants WHERE id = ?1")
    .bind(tenantId.toLowerCase())
    .first<{ id: string; displayName: string }>();
  if (!tenant) throw new Error(`unknown tenant '${tenantId}' (see: npm run -s tenant -- list)`);
  const issued = await issueApiKey({
    ctx: makeCtx(e, tenant.id, cliActor),
    input: { role: role as Role, ...(values.name ? { name: values.name } : {}) },
  });
  log(`issued ${issued.role} key ${issued.id} for ${tenant.displayName}; it is shown once, keep it`);
  emit(issued.key);
}

async function catalogImport(args: string[]) {
  const file = args[0];
  if (!file || args.length > 1) throw new UsageError("catalog import needs exactly one CSV file");
  const csv = await readFile(path.resolve(userCwd, file), "utf8").catch((error: NodeJS.ErrnoException) => {
    throw new Error(`cannot read ${file}: ${error.code ?? error.message}`);
  });
  const e = await env();
  await ensureMigrated(e.DB);
  const result = await importCatalog({ ctx: makeCtx(e, "", cliActor), input: { csv } });
  emit(
    `rows ${result.rows}, products ${result.products}, service plans ${result.servicePlans}; added: ${result.added.skus} SKUs, ${result.added.servicePlans} service plans, ${result.added.skuServicePlans} SKU-plan links`,
  );
}

async function seed() {
  const e = await env();
  await ensureMigrated(e.DB);
  const result = await seedDemo(e, persistRoot, log);
  log(`demo tenant ${result.tenantId}: GlobalAdministrator key follows`);
  emit(result.key);
}

async function benchSeed() {
  const users = Number(values.users ?? "200");
  if (!Number.isInteger(users) || users < 1 || users > 100_000) throw new UsageError("--users must be 1..100000");
  const e = await env();
  await ensureMigrated(e.DB);
  emit(JSON.stringify(await seedBench(e, users, log)));
}

async function benchGroupsSeed() {
  const users = Number(values.users ?? "100000");
  if (!Number.isInteger(users) || users < 1 || users > 1_000_000) throw new UsageError("--users must be 1..1000000");
  const readers = Number(values.readers ?? "300");
  if (!Number.isInteger(readers) || readers < 1 || readers > 10_000) throw new UsageError("--readers must be 1..10000");
  const e = await env();
  await ensureMigrated(e.DB);
  emit(JSON.stringify(await seedBenchGroups(e, users, readers, log)));
}

async function benchPurgeSeed() {
  const mailboxes = Number(values.mailboxes ?? "100000");
  if (!Number.isInteger(mailboxes) || mailboxes < 1 || mailboxes > 1_000_000)
    throw new UsageError("--mailboxes must be 1..1000000");
  const items = Number(values.items ?? "1000000");
  if (!Number.isInteger(items) || items < 0 || items > 10_000_000) throw new UsageError("--items must be 0..10000000");
  const e = await env();
  await ensureMigrated(e.DB);
  emit(JSON.stringify(await seedBenchPurge(e, mailboxes, items, log)));
}

async function benchRulesSeed() {
  const users = Number(values.users ?? "20000");
  if (!Number.isInteger(users) || users < 1 || users > 1_000_000) throw new UsageError("--users must be 1..1000000");
  const e = await env();
  await ensureMigrated(e.DB);
  emit(JSON.stringify(await seedBenchRules(e, users, log)));
}

async function main(): Promise<number> {
  const [group, verb, ...rest] = positionals;
  if (values.help || !group) {
    log(usage);
    return values.help ? 0 : 2;
  }
  const command = `${group} ${verb ?? ""}`.trim();
  if (command === "tenant create") await tenantCreate(rest);
  else if (command === "tenant list") await tenantList();
  else if (command === "key create") await keyCreate();
  else if (command === "catalog import") await catalogImport(rest);
  else if (group === "seed" && !verb) await seed();
  else if (group === "bench-seed" && !verb) await benchSeed();
  else if (group === "bench-groups-seed" && !verb) await benchGroupsSeed();
  else if (group === "bench-purge-seed" && !verb) await benchPurgeSeed();
  else if (group === "bench-rules-seed" && !verb) await benchRulesSeed();
  else throw new UsageError(`unknown command '${command}'`);
  return 0;
}

let code: number;
try {
  code = await main();
} catch (error) {
  if (error instanceof UsageError) {
    log(`error: ${error.message}`);
    log(usage);
    code = 2;
  } else {
    log(
      `error: ${error instanceof DomainError ? `${error.kind}: ${error.message}` : error instanceof Error ? error.message : String(error)}`,
    );
    if (!(error instanceof DomainError) && process.env.DEBUG) log(String((error as Error)?.stack));
    code = 1;
  }
}
try {
  await platform?.dispose();
} catch {
  // the process is ending anyway
}
process.exit(code);
