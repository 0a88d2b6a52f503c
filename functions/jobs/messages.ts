import { z } from "zod";

/** Messages on the `license-jobs` queue. Every consumer step is idempotent: redelivery changes nothing twice. */
export const LicenseJobSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("reconcileUsers"),
    tenantId: z.string(),
    userIds: z.array(z.string()).max(1000),
    reason: z.string(),
  }),
]);
export type LicenseJob = z.infer<typeof LicenseJobSchema>;
