/**
 * The SKU-delivery job kind: a SKU started or stopped delivering its plans (its last subscription that delivers went
 * Deleted or LockedOut, or one arrived: subscriptions/rules deliversService), and its holders' services follow. The
 * licenses stay assigned, as Graph keeps them; what moves is what they deliver, so each page of holders goes through
 * the licensing consequences (licensing/consequences.ts) with the licenses delivered before and after: a mailbox whose
 * last Exchange plan came from this SKU starts its countdown, or reconnects when the SKU delivers again.
 */
import { auditStatement } from "../audit/store.ts";
import { groupLicensingActor } from "../core/context.ts";
import type { JobKind } from "../jobs/runner.ts";
import { consequenceWrites, deliveredLicenses, type LicensingConsequence } from "./consequences.ts";
import {
  type Page,
  pageRead,
  readTenantLicensing,
  TENANT_LICENSING_QUERIES,
  type TenantLicensing,
} from "./page-store.ts";
import { poolHoldersSelector } from "./store.ts";

type Shared = { skuId: string; tenant: TenantLicensing; deliversNow: boolean };
type Decision = { changes: LicensingConsequence[]; cursor: number; processed: number };

export const skuDeliveryJob: JobKind<Shared, Page, Decision> = {
  actor: groupLicensingActor,
  async load(ctx, job, budget) {
    budget.charge(TENANT_LICENSING_QUERIES);
    const tenant = await readTenantLicensing(ctx);
    return { skuId: job.subjectId, tenant, deliversNow: tenant.delivering.has(job.subjectId) };
  },
  onStart: (ctx, _job, { skuId, deliversNow }) => [
    auditStatement(ctx, {
      activity: deliversNow ? "Resume license service" : "Suspend license service",
      category: "DirectoryManagement",
      operationType: "Update",
      targets: [
        {
          id: skuId,
          type: "Other",
          modifiedProperties: [
            { displayName: "Delivering", oldValue: String(!deliversNow), newValue: String(deliversNow) },
          ],
        },
      ],
    }),
  ],
  readPage: (ctx, { skuId }, cursor, pageSize) =>
    pageRead(ctx, poolHoldersSelector(skuId, Number(cursor || 0), pageSize)),
  isEmpty: (page) => page.seqs.length === 0,
  decidePage(_ctx, { skuId, tenant, deliversNow }, page) {
    const now = (sku: string) => tenant.delivering.has(sku);
    // Before the change the SKU delivered exactly when it does not now; every other SKU as it is.
    const before = (sku: string) => (sku === skuId ? !deliversNow : now(sku));
    const changes = page.users.map((user) => ({
      userSeq: user.seq,
      before: deliveredLicenses(user.held, before),
      after: deliveredLicenses(user.held, now),
      deletedBefore: false,
      deletedAfter: false,
    }));
    return { changes, cursor: page.seqs.at(-1)!, processed: page.users.length };
  },
  writePage: (ctx, { tenant }, { changes, cursor, processed }) => ({
    writes: consequenceWrites(ctx, changes, (sku) => tenant.skus.get(sku)?.servicePlans),
    cursor: String(cursor),
    counts: { processed, succeeded: processed, failed: 0 },
  }),
};
