/** The cron dispatcher: each trigger in wrangler.toml names the work it runs. */
import { sweep } from "./jobs/sweep.ts";
import { scheduledRetention } from "./retention/purge-actions.ts";
// Mailboxes and OneDrives move with licensing changes: registered wherever licensing runs.
import "./retention/licensing-hook.ts";

type CronWork = (env: Env, scheduledTime: number) => Promise<unknown>;

/** The schedules wrangler.toml declares, and what each runs. */
export const cronWork: Record<string, CronWork> = {
  // Hourly: re-send follow-up work that stopped moving.
  "17 * * * *": sweep,
  // Daily: the retention purge (mailboxes past their window, retained OneDrives, users 30 days in the recycle bin) for
  // every tenant with such work, at the cron's scheduledTime; the sweep too, so a lost hourly run is made up.
  "0 3 * * *": async (env, scheduledTime) => {
    await sweep(env, scheduledTime);
    await scheduledRetention(env, scheduledTime);
  },
};

/** Runs the work of the schedule that fired; one not declared (a local `--test-scheduled` call) runs the sweep. */
export async function runScheduled(controller: Pick<ScheduledController, "cron" | "scheduledTime">, env: Env) {
  const work = cronWork[controller.cron] ?? sweep;
  await work(env, controller.scheduledTime);
}
