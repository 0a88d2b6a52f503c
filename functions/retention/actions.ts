/**
 * The retention verbs: mailboxes (read, mail arriving, litigation holds), retention labels and their application to
 * items, OneDrive sites and the tenant's OneDrive retention. The purge's verbs are in purge-actions.ts, the impact
 * preview of a licensing change in impact-actions.ts.
 */
import { auditStatement } from "../audit/store.ts";
import { litigationHoldAllowed } from "../catalog/service-plans.ts";
import { requireRole } from "../core/authorize.ts";
import type { Ctx } from "../core/context.ts";
import { concurrencyViolation, DomainError, invalid, notFound, uniqueness } from "../core/errors.ts";
import { newId } from "../core/ids.ts";
import { can } from "../core/roles.ts";
import { isGuardFailure, isUniqueViolation } from "../core/sql.ts";
import { deliveredLicenses } from "../licensing/consequences.ts";
import { readUserLicensing, snapshotDelivers } from "../licensing/store.ts";
import {
  effectivePlanNames,
  type MailboxState,
  messages,
  oneDriveRetentionProblem,
  placeLitigationHold,
  releaseLitigationHold,
  retainedUntil,
  retentionLabelProblem,
} from "./rules.ts";
import {
  addItemsStatements,
  deleteLabelStatements,
  findItems,
  findLabel,
  findLabels,
  insertLabelStatement,
  type LabelRow,
  labelItemsStatements,
  listItems as listStoredItems,
  listLabels as listStoredLabels,
  listMailboxes as listStoredMailboxes,
  type MailboxListQuery,
  type MailboxRow,
  readMailboxOf,
  readOneDriveOf,
  readSettings,
  setHoldStatements,
  writeSettingsStatement,
} from "./store.ts";

const ATTEMPTS = 5;

const noMailbox = () => new DomainError("notFound", messages.noMailbox, { reason: "noMailbox" });

/** The user's current mailbox, or a 404 (no such user, or a user with no mailbox). */
async function mailboxOf(ctx: Ctx, userRef: string) {
  const read = await readMailboxOf(ctx, userRef);
  if (read.user === null) throw notFound(userRef);
  if (read.mailbox === null) throw noMailbox();
  return { user: read.user, mailbox: read.mailbox };
}

/** GET /api/mailboxes/{user}: a user's current mailbox (an inactive one too, its user deleted or not). */
export async function getMailbox({ ctx, input }: { ctx: Ctx; input: { userRef: string } }): Promise<MailboxRow> {
  requireRole(ctx, can.readRetention);
  return (await mailboxOf(ctx, input.userRef)).mailbox;
}

/** GET /api/mailboxes: a page of the tenant's mailboxes, by state and hold. */
export async function listMailboxes({ ctx, input }: { ctx: Ctx; input: MailboxListQuery }) {
  requireRole(ctx, can.readRetention);
  return listStoredMailboxes(ctx, input);
}

/** The user's enabled plan names (SKUs that still deliver, less disabled plans), as a hold's licensing check needs. */
async function enabledPlanNames(ctx: Ctx, userId: string) {
  const snapshot = await readUserLicensing(ctx, userId, []);
  if (!snapshot) return new Set<string>();
  return effectivePlanNames(
    deliveredLicenses(snapshot.held, snapshotDelivers(snapshot)),
    (skuId) => snapshot.skus.get(skuId)?.servicePlans,
  );
}

/**
 * PATCH /api/mailboxes/{user} { litigationHold }: places a litigation hold (Exchange Online Plan 2, or Plan 1 with the
 * archiving add-on, among the user's enabled plans; else a 400) or releases it (an inactive mailbox then starts a
 * 183-day countdown, a disconnected one keeps at least 30 days: rules.releaseLitigationHold).
 */
export async function setLitigationHold({
  ctx,
  input,
}: {
  ctx: Ctx;
  input: { userRef: string; litigationHold: boolean };
}): Promise<MailboxRow> {
  requireRole(ctx, can.manageRetention);
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const { user, mailbox } = await mailboxOf(ctx, input.userRef);
    let after: typeof mailbox | null;
    if (input.litigationHold) {
      // The licensing read only matters for a hold not yet placed on an Active mailbox (the rule decides the rest).
      const allowed =
        mailbox.state === "Active" &&
        !mailbox.litigationHold &&
        litigationHoldAllowed(await enabledPlanNames(ctx, user.id));
      const placed = placeLitigationHold(mailbox, allowed);
      if (!placed.ok) {
        throw placed.error === "noMailbox" ? noMailbox() : invalid(placed.message, { reason: "holdNotLicensed" });
      }
      after = placed.changed ? { ...mailbox, ...placed.mailbox } : null;
    } else {
      if (mailbox.state === "Purged") throw noMailbox();
      after = mailbox.litigationHold ? { ...mailbox, ...releaseLitigationHold(mailbox, ctx.now.toISOString()) } : null;
    }
    if (after === null) return mailbox;
    const modifiedProperties = [
      {
        displayName: "LitigationHoldEnabled",
        oldValue: String(mailbox.litigationHold),
        newValue: String(after.litigationHold),
      },
      ...(after.state !== mailbox.state
        ? [{ displayName: "MailboxState", oldValue: mailbox.state, newValue: after.state }]
        : []),
    ];
    try {
      await ctx.d1.batch([
        ...setHoldStatements(ctx, mailbox, after),
        auditStatement(ctx, {
          activity: input.litigationHold ? "Place litigation hold" : "Remove litigation hold",
          category: "UserManagement",
          operationType: "Update",
          targets: [{ ...user, type: "User", modifiedProperties }],
        }),
      ]);
    } catch (error) {
      if (isGuardFailure(error)) continue;
      throw error;
    }
    return { ...after, stateChangedAt: after.state === mailbox.state ? mailbox.stateChangedAt : ctx.now.toISOString() };
  }
  throw concurrencyViolation();
}

export type NewItemInput = {
  subject: string;
  sizeBytes: number;
  receivedDateTime?: string | undefined;
  retentionLabelId?: string | null | undefined;
};

/** Labels by id, read in one statement; an unknown one is a 400 naming it. */
async function labelsById(ctx: Ctx, ids: Iterable<string>) {
  const wanted = [...new Set(ids)];
  const out = new Map((await findLabels(ctx, wanted)).map((label) => [label.id, label]));
  const unknown = wanted.find((id) => !out.has(id));
  if (unknown !== undefined) {
    throw invalid(`The retention label '${unknown}' does not exist.`, { reason: "unknownLabel" });
  }
  return out;
}

/**
 * POST /api/mailboxes/{user}/items: mail arriving (the stand-in for delivery). Only an Active mailbox receives mail: a
 * de-licensed user's mail bounces, and an inactive mailbox takes no new mail.
 */
export async function addMailboxItems({ ctx, input }: { ctx: Ctx; input: { userRef: string; items: NewItemInput[] } }) {
  requireRole(ctx, can.deliverMail);
  const now = ctx.now.toISOString();
  for (const [i, item] of input.items.entries()) {
    if (item.receivedDateTime !== undefined && Date.parse(item.receivedDateTime) > ctx.now.getTime()) {
      throw invalid(`items[${i}].receivedDateTime is in the future.`, {
        fields: [{ field: `items.${i}.receivedDateTime`, message: "must not be after now" }],
      });
    }
  }
  const labels = await labelsById(
    ctx,
    input.items.flatMap((i) => (i.retentionLabelId ? [i.retentionLabelId.toLowerCase()] : [])),
  );
  const items = input.items.map((item) => {
    const receivedAt = item.receivedDateTime ? new Date(item.receivedDateTime).toISOString() : now;
    const label = item.retentionLabelId ? labels.get(item.retentionLabelId.toLowerCase())! : null;
    return {
      subject: item.subject,
      sizeBytes: item.sizeBytes,
      receivedAt,
      label,
      retainedUntil: retainedUntil(receivedAt, label && { name: label.name, retentionDays: label.retentionDays }),
    };
  });
  const { mailbox } = await mailboxOf(ctx, input.userRef);
  if (mailbox.state !== "Active") throw notActive(mailbox.state);
  let results: D1Result[];
  try {
    results = await ctx.d1.batch(addItemsStatements(ctx, mailbox.seq, items));
  } catch (error) {
    // The mailbox left Active between the read and the write.
    if (isGuardFailure(error)) throw notActive((await mailboxOf(ctx, input.userRef)).mailbox.state);
    throw error;
  }
  const seqs = ((results.at(-1)?.results ?? []) as { itemSeq: number }[]).map((r) => r.itemSeq).sort((a, b) => a - b);
  return items.map((item, i) => ({
    itemSeq: seqs[i]!,
    subject: item.subject,
    sizeBytes: item.sizeBytes,
    receivedAt: item.receivedAt,
    labelId: item.label?.id ?? null,
    labeledAt: item.label ? now : null,
    retainedUntil: item.retainedUntil,
  }));
}

const notActive = (state: MailboxState) =>
  invalid(`The mailbox is ${state}: only an Active mailbox receives mail.`, { reason: "mailboxNotActive" });

/** GET /api/mailboxes/{user}/items: a page of the current mailbox's items. */
export async function listMailboxItems({
  ctx,
  input,
}: {
  ctx: Ctx;
  input: { userRef: string; top: number; after: number };
}) {
  requireRole(ctx, can.readRetention);
  const { mailbox } = await mailboxOf(ctx, input.userRef);
  return listStoredItems(ctx, mailbox.seq, input.top, input.after);
}

/**
 * POST /api/mailboxes/{user}/items/applyLabel: applies a retention label to items of the user's current mailbox (or,
 * with null, takes their label off). The label keeps each item from its received date for the label's days
 * (rules.retainedUntil); in a disconnected mailbox the purge looks again at its purgeAfter.
 */
export async function applyRetentionLabel({
  ctx,
  input,
}: {
  ctx: Ctx;
  input: { userRef: string; labelId: string | null; itemIds: number[] };
}) {
  requireRole(ctx, can.manageRetention);
  const label =
    input.labelId === null ? null : (await labelsById(ctx, [input.labelId.toLowerCase()])).values().next().value!;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const { user, mailbox } = await mailboxOf(ctx, input.userRef);
    if (mailbox.state === "Purged") throw noMailbox();
    const found = await findItems(ctx, mailbox.seq, input.itemIds);
    const missing = input.itemIds.filter((id) => !found.some((f) => f.itemSeq === id));
    if (missing.length > 0) {
      throw invalid(`No item ${missing.join(", ")} in the user's mailbox.`, { reason: "unknownItem" });
    }
    const rule = label && { name: label.name, retentionDays: label.retentionDays };
    const items = found.map((f) => ({ itemSeq: f.itemSeq, retainedUntil: retainedUntil(f.receivedAt, rule) }));
    try {
      await ctx.d1.batch([
        ...labelItemsStatements(ctx, mailbox.seq, label, items),
        auditStatement(ctx, {
          activity: label ? "Apply retention label" : "Remove retention label",
          category: "Policy",
          operationType: "Update",
          targets: [
            { ...user, type: "User" },
            ...(label ? [{ id: label.id, displayName: label.name, type: "Other" as const }] : []),
          ],
          additionalDetails: [{ key: "Items", value: String(items.length) }],
        }),
      ]);
    } catch (error) {
      if (isGuardFailure(error)) continue;
      throw error;
    }
    const now = ctx.now.toISOString();
    return found
      .map((f, i) => ({
        ...f,
        labelId: label?.id ?? null,
        labeledAt: label ? now : null,
        retainedUntil: items[i]!.retainedUntil,
      }))
      .sort((a, b) => a.itemSeq - b.itemSeq);
  }
  throw concurrencyViolation();
}

// ---- labels ---------------------------------------------------------------------------------------------------------

export async function listRetentionLabels({ ctx }: { ctx: Ctx }) {
  requireRole(ctx, can.readRetention);
  return listStoredLabels(ctx);
}

export async function getRetentionLabel({ ctx, input }: { ctx: Ctx; input: { id: string } }) {
  requireRole(ctx, can.readRetention);
  const label = await findLabel(ctx, input.id.toLowerCase());
  if (!label) throw notFound(input.id);
  return label;
}

/** A label's period is fixed at creation: items keep what they were labelled with (create another label to change). */
export async function createRetentionLabel({
  ctx,
  input,
}: {
  ctx: Ctx;
  input: { displayName: string; retentionDays: number };
}): Promise<LabelRow> {
  requireRole(ctx, can.manageRetention);
  const problem = retentionLabelProblem(input.retentionDays);
  if (problem) throw invalid(problem, { fields: [{ field: "retentionDays", message: problem }] });
  const label = {
    id: newId(),
    name: input.displayName,
    retentionDays: input.retentionDays,
    createdAt: ctx.now.toISOString(),
  };
  try {
    const [inserted] = await ctx.d1.batch<{ seq: number }>([
      insertLabelStatement(ctx, label),
      auditStatement(ctx, {
        activity: "Add retention label",
        category: "Policy",
        operationType: "Add",
        targets: [
          {
            id: label.id,
            displayName: label.name,
            type: "Other",
            modifiedProperties: [
              { displayName: "RetentionDays", oldValue: null, newValue: String(label.retentionDays) },
            ],
          },
        ],
      }),
    ]);
    return { ...label, seq: Number(inserted?.results[0]?.seq), items: 0 };
  } catch (error) {
    if (isUniqueViolation(error)) {
      throw uniqueness("displayName", "Another retention label with the same displayName already exists.");
    }
    throw error;
  }
}

/** A label in use can't be deleted: deleting it would release what it keeps without anybody saying so. */
export async function deleteRetentionLabel({ ctx, input }: { ctx: Ctx; input: { id: string } }) {
  requireRole(ctx, can.manageRetention);
  const label = await findLabel(ctx, input.id.toLowerCase());
  if (!label) throw notFound(input.id);
  const inUse = () =>
    invalid(`The retention label '${label.name}' is applied to items; take it off them first.`, {
      reason: "labelInUse",
    });
  if ((label.items ?? 0) > 0) throw inUse();
  try {
    await ctx.d1.batch([
      ...deleteLabelStatements(ctx, label),
      auditStatement(ctx, {
        activity: "Delete retention label",
        category: "Policy",
        operationType: "Delete",
        targets: [{ id: label.id, displayName: label.name, type: "Other" }],
      }),
    ]);
  } catch (error) {
    if (isGuardFailure(error)) throw inUse();
    throw error;
  }
}

// ---- OneDrive and settings --------------------------------------------------------------------------------------------

/** GET /api/onedrive/{user}: the user's current OneDrive. */
export async function getOneDrive({ ctx, input }: { ctx: Ctx; input: { userRef: string } }) {
  requireRole(ctx, can.readRetention);
  const read = await readOneDriveOf(ctx, input.userRef);
  if (!read.found) throw notFound(input.userRef);
  if (!read.site) throw new DomainError("notFound", "The user has no OneDrive.", { reason: "noOneDrive" });
  return read.site;
}

export async function getRetentionSettings({ ctx }: { ctx: Ctx }) {
  requireRole(ctx, can.readRetention);
  return readSettings(ctx);
}

/**
 * PATCH /api/retention/settings: the OneDrive retention (30-3650 days). It applies to users deleted from now on: a
 * OneDrive already counting keeps its date ("The setting takes effect for the next user that is deleted").
 */
export async function updateRetentionSettings({ ctx, input }: { ctx: Ctx; input: { oneDriveRetentionDays: number } }) {
  requireRole(ctx, can.manageRetention);
  const problem = oneDriveRetentionProblem(input.oneDriveRetentionDays);
  if (problem) throw invalid(problem, { fields: [{ field: "oneDriveRetentionDays", message: problem }] });
  const before = await readSettings(ctx);
  await ctx.d1.batch([
    writeSettingsStatement(ctx, input),
    auditStatement(ctx, {
      activity: "Update retention settings",
      category: "Policy",
      operationType: "Update",
      targets: [
        {
          id: ctx.tenantId,
          type: "Directory",
          modifiedProperties: [
            {
              displayName: "OneDriveRetentionDays",
              oldValue: String(before.oneDriveRetentionDays),
              newValue: String(input.oneDriveRetentionDays),
            },
          ],
        },
      ],
    }),
  ]);
  return { oneDriveRetentionDays: input.oneDriveRetentionDays };
}
