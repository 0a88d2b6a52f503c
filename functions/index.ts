/** The Worker: HTTP (the API), the license-jobs queue, and the cron triggers. */
import { app } from "./app.ts";
import { handleLicenseJobs } from "./queue.ts";
import { runScheduled } from "./scheduled.ts";

export default {
  fetch: app.fetch,
  queue: (batch, env) => handleLicenseJobs(batch, env),
  scheduled: (controller, env, ctx) => {
    ctx.waitUntil(runScheduled(controller, env));
  },
} satisfies ExportedHandler<Env>;
