/** What travels on the `license-jobs` queue: the id of an outbox row, whose row says what to do. */
import { z } from "zod";

/** Follow-up work, as an outbox row records it. Every kind is idempotent: doing it twice changes nothing twice. */
export const FollowUpSchema = z.discriminatedUnion("kind", [
  /** Weigh these users' licenses again (membership changed, reprocess). */
  z.object({ kind: z.literal("reconcileUsers"), userIds: z.array(z.string()).min(1).max(1000), reason: z.string() }),
  /** Re-evaluate dynamic group membership for these users (their attributes changed), and their licenses. */
  z.object({ kind: z.literal("userChanged"), userIds: z.array(z.string()).min(1).max(100) }),
  /** Run (or continue) a paged job from its durable cursor. */
  z.object({ kind: z.literal("job"), jobId: z.string() }),
  /** Seats of these SKUs came free or were added: reprocess members waiting in CountViolation, oldest first. */
  z.object({ kind: z.literal("healSeats"), skuIds: z.array(z.string()).min(1).max(100) }),
]);
export type FollowUp = z.infer<typeof FollowUpSchema>;

/** A queue message: which outbox row to work on. */
export const OutboxMessageSchema = z.object({ outboxId: z.string().min(1), tenantId: z.string().min(1) });
export type OutboxMessage = z.infer<typeof OutboxMessageSchema>;

/** Messages of the format before the outbox (work inline), still accepted so an upgrade drops nothing in flight. */
export const InlineMessageSchema = z.intersection(FollowUpSchema, z.object({ tenantId: z.string() }));
