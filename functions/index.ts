import { app } from "./app.ts";
import { handleLicenseJobs } from "./jobs/consumer.ts";
import { sweep } from "./jobs/sweep.ts";

export default {
  fetch: app.fetch,
  queue: (batch, env) => handleLicenseJobs(batch, env),
  scheduled: (controller, env, ctx) => {
    ctx.waitUntil(sweep(env, controller.scheduledTime));
  },
} satisfies ExportedHandler<Env>;
