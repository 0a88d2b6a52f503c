import { env } from "cloudflare:workers";
import { groupLicensingActor, makeCtx } from "../../functions/core/context.ts";
import { newId } from "../../functions/core/ids.ts";
import { queueJob } from "../../functions/jobs/outbox.ts";

/**
 * Inserts users straight into D1 (fast fixtures for paging tests); returns their ids in id order. Inserted in id
 * order, so their seqs (the order jobs page in) follow their ids.
 */
export async function seedUsers(
  tenantId: string,
  count: number,
  fields: (i: number) => Record<string, unknown> = () => ({}),
) {
  const now = new Date().toISOString();
  const rows = Array.from({ length: count }, (_, i) => {
    const nick = `bulk${i}_${Math.random().toString(36).slice(2, 8)}`;
    return {
      id: newId(),
      upn: `${nick}@contoso.test`,
      name: `Bulk ${i}`,
      usageLocation: "US",
      department: null,
      userType: "Member",
      ...fields(i),
    };
  });
  rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (let i = 0; i < rows.length; i += 500) {
    await env.DB.prepare(
      `INSERT INTO users (id, tenant_id, user_principal_name, display_name, usage_location, department, user_type, created_at, updated_at)
       SELECT value ->> '$.id', ?1, value ->> '$.upn', value ->> '$.name', value ->> '$.usageLocation', value ->> '$.department',
         value ->> '$.userType', ?2, ?2
       FROM json_each(?3)`,
    )
      .bind(tenantId, now, JSON.stringify(rows.slice(i, i + 500)))
      .run();
  }
  return rows.map((r) => r.id).sort();
}

export async function seedMembers(tenantId: string, groupId: string, userIds: string[]) {
  for (let i = 0; i < userIds.length; i += 500) {
    await env.DB.prepare(
      `INSERT INTO group_members (group_seq, user_seq, added_at)
       SELECT (SELECT seq FROM groups WHERE tenant_id = ?1 AND id = ?2), u.seq, ?3 FROM json_each(?4) AS j
       CROSS JOIN users u ON u.id = j.value WHERE u.tenant_id = ?1`,
    )
      .bind(tenantId, groupId, new Date().toISOString(), JSON.stringify(userIds.slice(i, i + 500)))
      .run();
  }
}

/**
 * Gives a group a license and creates its processing job, recorded in the outbox as the API records it but never
 * sent, so a test can drive the job (or the sweep find it).
 */
export async function stageGroupJob(tenantId: string, groupId: string, skuId: string) {
  const ctx = makeCtx(env, tenantId, groupLicensingActor);
  const jobId = newId();
  const run = queueJob(ctx, { id: jobId, subjectId: groupId, kind: "groupLicense" });
  await env.DB.batch([
    env.DB.prepare(
      "INSERT INTO group_licenses (tenant_id, group_id, sku_id, disabled_plans, assigned_at) VALUES (?1, ?2, ?3, '[]', ?4)",
    ).bind(tenantId, groupId, skuId, new Date().toISOString()),
    ...run.statements,
    env.DB.prepare(
      "UPDATE groups SET license_processing_state = 'QueuedForProcessing', license_job_id = ?2 WHERE id = ?1",
    ).bind(groupId, jobId),
  ]);
  return { ctx, jobId, outboxId: run.id };
}

/** The tenant's licensing state without timestamps: what two equivalent runs must agree on. */
export async function licensingState(tenantId: string) {
  const [sources, licenses, pools] = await env.DB.batch([
    env.DB.prepare(
      "SELECT user_id, sku_id, source_id, state, error, disabled_plans FROM license_sources_by_id WHERE tenant_id = ?1 ORDER BY user_id, sku_id, source_id",
    ).bind(tenantId),
    env.DB.prepare(
      "SELECT user_id, sku_id, disabled_plans FROM user_licenses_by_id WHERE tenant_id = ?1 ORDER BY user_id, sku_id",
    ).bind(tenantId),
    env.DB.prepare(
      "SELECT sku_id, enabled_units, consumed_units FROM seat_pools WHERE tenant_id = ?1 ORDER BY sku_id",
    ).bind(tenantId),
  ]);
  return {
    sources: sources!.results as Record<string, unknown>[],
    licenses: licenses!.results as { user_id: string; sku_id: string; disabled_plans: string }[],
    pools: pools!.results as { sku_id: string; enabled_units: number; consumed_units: number }[],
  };
}

/**
 * A D1 binding that counts the queries it runs, notes the largest value bound (D1 refuses one over 2,000,000 bytes),
 * and can be told to fail the n-th batch (a crash mid-job).
 */
export function instrumentedD1(inner: D1Database, options: { failOnBatch?: number } = {}) {
  const stats = { queries: 0, batches: 0, maxValueBytes: 0 };
  const encoder = new TextEncoder();
  // D1's own objects keep private state: hand the originals back to it, never the counting wrappers.
  const originals = new WeakMap<object, D1PreparedStatement>();
  const d1 = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          stats.batches++;
          if (options.failOnBatch !== undefined && stats.batches === options.failOnBatch)
            throw new Error("simulated crash");
          stats.queries += statements.length;
          return target.batch(statements.map((s) => originals.get(s) ?? s));
        };
      }
      if (prop === "prepare") {
        return (sql: string) => {
          const statement = target.prepare(sql);
          const count = (s: D1PreparedStatement): D1PreparedStatement => {
            const wrapped = new Proxy(s, {
              get(st, p) {
                if (p === "bind") {
                  return (...args: unknown[]) => {
                    for (const arg of args) {
                      if (typeof arg === "string")
                        stats.maxValueBytes = Math.max(stats.maxValueBytes, encoder.encode(arg).length);
                    }
                    return count(st.bind(...args));
                  };
                }
                if (p === "first" || p === "all" || p === "run" || p === "raw") {
                  return (...args: unknown[]) => {
                    stats.queries++;
                    return (st as unknown as Record<string, (...a: unknown[]) => unknown>)[p as string]!(...args);
                  };
                }
                const value = Reflect.get(st, p);
                return typeof value === "function" ? value.bind(st) : value;
              },
            });
            originals.set(wrapped, s);
            return wrapped;
          };
          return count(statement);
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { d1, stats };
}
