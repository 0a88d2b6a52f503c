import { z } from "zod";

/** Messages on the `license-jobs` queue. Every consumer step is idempotent: redelivery changes nothing twice. */
export const LicenseJobSchema = z.discriminatedUnion("kind", [
  /** Weigh these users' licenses again (membership changed, user attributes changed, reprocess). */
  z.object({
    kind: z.literal("reconcileUsers"),
    tenantId: z.string(),
    userIds: z.array(z.string()).min(1).max(1000),
    reason: z.string(),
  }),
  /** Re-evaluate dynamic group membership for these users (their attributes changed). */
  z.object({ kind: z.literal("userChanged"), tenantId: z.string(), userIds: z.array(z.string()).min(1).max(100) }),
  /** Continue a paged job (group license processing, dynamic rule evaluation) from its durable cursor. */
  z.object({ kind: z.literal("job"), tenantId: z.string(), jobId: z.string() }),
  /** Seats of a SKU came free or were added: reprocess members waiting in CountViolation, oldest first. */
  z.object({ kind: z.literal("healSeats"), tenantId: z.string(), skuIds: z.array(z.string()).min(1).max(100) }),
]);
export type LicenseJob = z.infer<typeof LicenseJobSchema>;
