/**
 * POST /api/licensing/preview: what a licensing change would do, without doing it. A user's assignLicense, a group's
 * assignLicense, a membership change or a new membership rule is decided exactly as the change itself would decide it
 * (licensing's planDirectChange + reconcileUser for one user, decidePage over pages of members for a group, the
 * membership rule's evaluator for a rule), and each user whose licenses would move is told with the mailbox outcome
 * retention's rules give (mailboxOutcome, the rules the licensing hook writes in SQL): who gains and loses which SKUs
 * and plans, the seats after, who goes to an error state, whose mailbox starts its 30-day countdown. Refusals the real
 * change would answer come back as the refusal. A change over many users is examined within a budget and says so.
 *
 * Here, at the top of the layers, because it composes licensing's decisions with retention's.
 */
import { requireRole, roleOf } from "../core/authorize.ts";
import type { Ctx } from "../core/context.ts";
import { DomainError, notFound } from "../core/errors.ts";
import { can } from "../core/roles.ts";
import { checkGuests } from "../directory/group-actions.ts";
import { findGroup, type GroupRow } from "../directory/group-store.ts";
import {
  evaluateMembershipRule,
  parseMembershipRule,
  RULE_STEPS_PER_PAGE,
  ruleProperties,
  type StepMeter,
  usersPerPage,
} from "../directory/membership-rule.ts";
import { checkRule, groupMessages, isDynamic } from "../directory/rules.ts";
import { findUsers } from "../directory/store.ts";
import { reconcileSnapshot } from "../licensing/actions.ts";
import { deliveredLicenses } from "../licensing/consequences.ts";
import { type AssignLicenseRequest, firstDirectViolation, planDirectChange } from "../licensing/direct-rules.ts";
import { checkGroupRequest } from "../licensing/group-actions.ts";
import { decidePage } from "../licensing/page-rules.ts";
import {
  type Page,
  type PageUser,
  readPage,
  readTenantLicensing,
  type TenantLicensing,
  usersByIdSelector,
} from "../licensing/page-store.ts";
import type { ReconcileResult } from "../licensing/rules.ts";
import { loadGroupLicenses, readUserLicensing, snapshotDelivers } from "../licensing/store.ts";
import {
  addMoves,
  changes,
  type MailboxImpact,
  mailboxImpact,
  seatsAfter,
  type UserImpact,
  userImpact,
} from "./impact-rules.ts";
import { retentionChanges } from "./licensing-hook.ts";
import { mailboxOutcome } from "./rules.ts";
import { latestMailboxes } from "./store.ts";

/** Users a preview examines at most (a group's members, a rule's tenant): five pages of the jobs' size. */
export const PREVIEW_USERS = 10_000;
/** Users a preview lists at most; the counts cover every user examined. */
export const PREVIEW_LISTED = 500;
const PAGE = 2000;
/**
 * Rule-evaluation steps one preview of a membership rule may take, counted as the evaluator counts them: five of a
 * rule job's pages. The preview runs in the request, so this is what a worst-case rule can hold the isolate for; past
 * it the preview is partial (complete: false), as past PREVIEW_USERS.
 */
export const PREVIEW_RULE_STEPS = 5 * RULE_STEPS_PER_PAGE;

export type LicensingChangeInput =
  | ({ change: "userAssignLicense"; userId: string } & AssignLicenseRequest)
  | ({ change: "groupAssignLicense"; groupId: string } & AssignLicenseRequest)
  | { change: "groupMembers"; groupId: string; add: string[]; remove: string[] }
  | { change: "membershipRule"; groupId: string; membershipRule: string };

type Decided = {
  user: Pick<PageUser, "seq" | "id" | "userPrincipalName" | "held" | "sources">;
  result: Pick<ReconcileResult, "licenses" | "sources">;
};

export type UserPreview = UserImpact & { userId: string; userPrincipalName: string; mailbox: MailboxImpact | null };

export type LicensingPreview = {
  change: LicensingChangeInput["change"];
  complete: boolean;
  usersExamined: number;
  refusal: { reason: string | null; message: string } | null;
  summary: {
    usersChanged: number;
    usersWithNewErrors: number;
    mailboxesCreated: number;
    mailboxesDisconnected: number;
    mailboxesReconnected: number;
    mailboxesInactivated: number;
  };
  seats: { skuId: string; enabledUnits: number; consumedBefore: number; consumedAfter: number }[];
  users: UserPreview[];
  usersTruncated: boolean;
};

const refused = (change: LicensingChangeInput["change"], error: DomainError): LicensingPreview => ({
  change,
  complete: true,
  usersExamined: 0,
  refusal: { reason: error.reason ?? null, message: error.message },
  summary: {
    usersChanged: 0,
    usersWithNewErrors: 0,
    mailboxesCreated: 0,
    mailboxesDisconnected: 0,
    mailboxesReconnected: 0,
    mailboxesInactivated: 0,
  },
  seats: [],
  users: [],
  usersTruncated: false,
});

/** A refusal the real change would answer (a 4xx), as the preview's answer; anything else is thrown. */
async function orRefusal<T>(change: LicensingChangeInput["change"], run: () => Promise<T> | T) {
  try {
    return { ok: true as const, value: await run() };
  } catch (error) {
    if (error instanceof DomainError && error.kind !== "notFound")
      return { ok: false as const, preview: refused(change, error) };
    throw error;
  }
}

/** Tells the decided users: each one's impact and mailbox outcome, the counts, the seats. */
async function tell(
  ctx: Ctx,
  change: LicensingChangeInput["change"],
  decided: readonly Decided[],
  examined: number,
  complete: boolean,
  seats: LicensingPreview["seats"],
  plansOf: (skuId: string) => readonly { id: string; name: string }[] | undefined,
  delivers: (skuId: string) => boolean,
): Promise<LicensingPreview> {
  const impacts = decided
    .map((d) => ({ d, impact: userImpact({ held: d.user.held, sources: d.user.sources }, d.result, plansOf) }))
    .filter((x) => changes(x.impact));
  // The same classification and filter as the licensing hook's, then the rules' outcome on the stored mailbox.
  const { mailboxes } = retentionChanges(
    impacts.map(({ d }) => ({
      userSeq: d.user.seq,
      before: deliveredLicenses(d.user.held, delivers),
      after: deliveredLicenses(d.result.licenses, delivers),
      deletedBefore: false,
      deletedAfter: false,
    })),
    plansOf,
  );
  const current = await latestMailboxes(
    ctx,
    mailboxes.map(([seq]) => seq),
  );
  const now = ctx.now.toISOString();
  const mailboxOf = new Map<number, MailboxImpact | null>();
  for (const [seq, licensed] of mailboxes) {
    const box = current.get(seq) ?? null;
    const outcome = mailboxOutcome(
      box,
      { exchangeBefore: !licensed, exchangeAfter: licensed === 1, deletedBefore: false, deletedAfter: false },
      now,
    );
    mailboxOf.set(seq, mailboxImpact(box?.state ?? null, outcome));
  }
  const users = impacts.map(({ d, impact }) => ({
    userId: d.user.id,
    userPrincipalName: d.user.userPrincipalName,
    ...impact,
    mailbox: mailboxOf.get(d.user.seq) ?? null,
  }));
  const count = (kind: MailboxImpact["outcome"]) => users.filter((u) => u.mailbox?.outcome === kind).length;
  return {
    change,
    complete,
    usersExamined: examined,
    refusal: null,
    summary: {
      usersChanged: users.length,
      usersWithNewErrors: users.filter((u) => u.errors.length > 0).length,
      mailboxesCreated: count("create"),
      mailboxesDisconnected: count("disconnect"),
      mailboxesReconnected: count("reconnect"),
      mailboxesInactivated: count("inactivate"),
    },
    seats,
    users: users.slice(0, PREVIEW_LISTED),
    usersTruncated: users.length > PREVIEW_LISTED,
  };
}

/** The tenant's catalogue as the preview reads plans, and whether a SKU delivers. */
const tenantLookups = (tenant: TenantLicensing) => ({
  plansOf: (skuId: string) => tenant.skus.get(skuId)?.servicePlans,
  delivers: (skuId: string) => tenant.delivering.has(skuId),
});

/** Tells what a run of pages (decidePages) decided, with the seats its moves leave. */
function tellRun(
  ctx: Ctx,
  change: LicensingChangeInput["change"],
  tenant: TenantLicensing,
  run: Awaited<ReturnType<typeof decidePages>>,
) {
  const { plansOf, delivers } = tenantLookups(tenant);
  return tell(
    ctx,
    change,
    run.decided,
    run.examined,
    run.complete,
    seatsAfter(run.pools, run.moves),
    plansOf,
    delivers,
  );
}

/**
 * Decides pages of users as a job would, the pools carried from page to page; `adjust` gives each user of a page the
 * grants (and so the intents) they would have after the change, and returns the users the change touches.
 */
async function decidePages(
  ctx: Ctx,
  tenant: TenantLicensing,
  next: (after: number) => { sql: string; params: unknown[] } | null,
  adjust: (page: Page) => PageUser[],
  options: Parameters<typeof readPage>[2] = {},
  /** The users `next` asks for at most, and whether another page may still be examined after one. */
  paging: { pageSize: number; more: () => boolean } = { pageSize: PAGE, more: () => true },
) {
  const decided: Decided[] = [];
  const moves = new Map<string, { taken: number; freed: number }>();
  let startPools: Page["pools"] | null = null;
  let examined = 0;
  let after = 0;
  for (;;) {
    const selector = next(after);
    if (selector === null) break;
    const page = await readPage(ctx, selector, options);
    startPools ??= page.pools;
    if (page.seqs.length === 0) return { decided, moves, pools: startPools, examined, complete: true };
    // Seats as the earlier pages of this preview would have left them.
    const pools = new Map(
      [...startPools].map(([sku, p]) => {
        const m = moves.get(sku);
        return [sku, m ? { ...p, consumed: p.consumed + m.taken - m.freed } : p];
      }),
    );
    const decision = decidePage(ctx.now.toISOString(), tenant, { users: adjust(page), pools });
    addMoves(moves, decision.seatMoves);
    for (const c of decision.changed) decided.push(c);
    examined += page.users.length;
    after = page.seqs.at(-1)!;
    if (page.seqs.length < paging.pageSize) return { decided, moves, pools: startPools, examined, complete: true };
    if (examined >= PREVIEW_USERS || !paging.more())
      return { decided, moves, pools: startPools, examined, complete: false };
  }
  return { decided, moves, pools: startPools ?? new Map(), examined, complete: true };
}

/** A group's grants after an assignLicense (the SKUs removed dropped, the ones added replacing their old grant). */
function grantsAfter(
  group: GroupRow,
  before: { skuId: string; disabledPlans: string[] }[],
  request: AssignLicenseRequest,
) {
  const touched = new Set([...request.removeLicenses, ...request.addLicenses.map((a) => a.skuId)]);
  return [
    ...before.filter((l) => !touched.has(l.skuId)),
    ...request.addLicenses.map((a) => ({ skuId: a.skuId, disabledPlans: [...new Set(a.disabledPlans)] })),
  ]
    .map((l) => ({ groupId: group.id, skuId: l.skuId, disabledPlans: l.disabledPlans }))
    .sort((a, b) => a.skuId.localeCompare(b.skuId));
}

/** A user's grants with one group's replaced (in (group, sku) order, as a page read gives them). */
const withGroupGrants = (user: PageUser, groupId: string, grants: PageUser["grants"]) =>
  [...user.grants.filter((g) => g.groupId !== groupId), ...grants].sort(
    (a, b) => a.groupId.localeCompare(b.groupId) || a.skuId.localeCompare(b.skuId),
  );

async function groupOf(ctx: Ctx, groupId: string) {
  const group = await findGroup(ctx.d1, ctx.tenantId, groupId);
  if (!group) throw notFound(groupId);
  return group;
}

const membersAfter = (groupSeq: number) => (after: number) => ({
  sql: "SELECT user_seq AS seq FROM group_members WHERE group_seq = ?2 AND user_seq > ?3 ORDER BY user_seq LIMIT ?4",
  params: [groupSeq, after, PAGE],
});

export async function previewLicensingChange({
  ctx,
  input,
}: {
  ctx: Ctx;
  input: LicensingChangeInput;
}): Promise<LicensingPreview> {
  requireRole(ctx, can.readLicensing);
  const change = input.change;
  switch (input.change) {
    case "userAssignLicense": {
      const request = { addLicenses: input.addLicenses, removeLicenses: input.removeLicenses };
      const snapshot = await readUserLicensing(ctx, input.userId, [
        ...request.addLicenses.map((a) => a.skuId),
        ...request.removeLicenses,
      ]);
      if (!snapshot) throw notFound(input.userId);
      const decided = await orRefusal(change, () => {
        const result = reconcileSnapshot(ctx, snapshot, planDirectChange(snapshot, request, roleOf(ctx.actor)));
        const refusal = firstDirectViolation(result.sources, snapshot.sources, request);
        if (refusal) throw refusal;
        return result;
      });
      if (!decided.ok) return decided.preview;
      const result = decided.value;
      const moves = addMoves(new Map(), [
        ...result.seatsTaken.map((sku) => [sku, { taken: 1, freed: 0 }] as const),
        ...result.seatsFreed.map((sku) => [sku, { taken: 0, freed: 1 }] as const),
      ]);
      return tell(
        ctx,
        change,
        [{ user: { ...snapshot.user, held: snapshot.held, sources: snapshot.sources }, result }],
        1,
        true,
        seatsAfter(snapshot.pools, moves),
        (skuId) => snapshot.skus.get(skuId)?.servicePlans,
        snapshotDelivers(snapshot),
      );
    }
    case "groupAssignLicense": {
      const group = await groupOf(ctx, input.groupId);
      const request = { addLicenses: input.addLicenses, removeLicenses: input.removeLicenses };
      const before = (await loadGroupLicenses(ctx.d1, ctx.tenantId, [group.id])).get(group.id) ?? [];
      const checked = await orRefusal(change, () =>
        checkGroupRequest(ctx, group, request, new Set(before.map((l) => l.skuId))),
      );
      if (!checked.ok) return checked.preview;
      const grants = grantsAfter(group, before, request);
      const tenant = await readTenantLicensing(ctx);
      const run = await decidePages(ctx, tenant, membersAfter(group.seq), (page) =>
        page.users.map((u) => ({ ...u, grants: withGroupGrants(u, group.id, grants) })),
      );
      return tellRun(ctx, change, tenant, run);
    }
    case "groupMembers": {
      const group = await groupOf(ctx, input.groupId);
      if (isDynamic(group)) return refused(change, new DomainError("validation", groupMessages.dynamicMembers));
      const ids = [...new Set([...input.add, ...input.remove].map((id) => id.toLowerCase()))];
      const rows = await findUsers(ctx.d1, ctx.tenantId, ids);
      const unknown = ids.find((id) => !rows.some((u) => u.id === id));
      if (unknown) return refused(change, new DomainError("validation", groupMessages.unknownMember(unknown)));
      const adding = new Set(input.add.map((id) => id.toLowerCase()));
      const guests = await orRefusal(change, () =>
        checkGuests(
          ctx,
          group,
          rows.filter((u) => adding.has(u.id)),
        ),
      );
      if (!guests.ok) return guests.preview;
      const removing = new Set(input.remove.map((id) => id.toLowerCase()));
      const tenant = await readTenantLicensing(ctx);
      const page = await readPage(ctx, usersByIdSelector(ids));
      const grants = page.grantsOf.get(group.id) ?? [];
      const users = page.users.map((u) => {
        if (adding.has(u.id)) return { ...u, grants: withGroupGrants(u, group.id, [...grants]) };
        if (removing.has(u.id)) return { ...u, grants: withGroupGrants(u, group.id, []) };
        return u;
      });
      const decision = decidePage(ctx.now.toISOString(), tenant, { users, pools: page.pools });
      const { plansOf, delivers } = tenantLookups(tenant);
      return tell(
        ctx,
        change,
        decision.changed,
        users.length,
        true,
        seatsAfter(page.pools, decision.seatMoves),
        plansOf,
        delivers,
      );
    }
    case "membershipRule": {
      const group = await groupOf(ctx, input.groupId);
      if (!isDynamic(group)) return refused(change, new DomainError("validation", groupMessages.ruleWithoutDynamic));
      const checked = await orRefusal(change, () => checkRule(input.membershipRule));
      if (!checked.ok) return checked.preview;
      // checkRule parsed it: a rule that does not parse was refused above.
      const rule = parseMembershipRule(input.membershipRule);
      const tenant = await readTenantLicensing(ctx);
      // The rule's work is counted: a page holds at most RULE_STEPS_PER_PAGE of it (a heavy rule's pages are short,
      // and the isolate's other requests run between them), the preview at most PREVIEW_RULE_STEPS.
      const meter: StepMeter = { steps: 0 };
      const pageSize = Math.min(PAGE, usersPerPage(rule));
      const run = await decidePages(
        ctx,
        tenant,
        (after) => ({
          sql: "SELECT seq FROM users WHERE tenant_id = ?1 AND deleted_at IS NULL AND seq > ?2 ORDER BY seq LIMIT ?3",
          params: [after, pageSize],
        }),
        (page) => {
          const grants = page.grantsOf.get(group.id) ?? [];
          // As the rule's job: members follow the rule, and only users it touches are decided.
          return page.users.flatMap((u) => {
            const matches = evaluateMembershipRule(rule, u.attributes!, meter);
            if (matches && !u.member) return [{ ...u, grants: withGroupGrants(u, group.id, [...grants]) }];
            if (!matches && u.member) return [{ ...u, grants: withGroupGrants(u, group.id, []) }];
            return matches || u.sources.some((s) => s.sourceId === group.id) ? [u] : [];
          });
        },
        { withAttributes: [...ruleProperties(rule)], memberOf: group.seq },
        { pageSize, more: () => meter.steps + RULE_STEPS_PER_PAGE <= PREVIEW_RULE_STEPS },
      );
      return tellRun(ctx, change, tenant, run);
    }
  }
}
