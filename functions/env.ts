import type { LicenseJob } from "./jobs/messages.ts";

declare global {
  namespace Cloudflare {
    interface Env {
      DB: D1Database;
      LICENSE_JOBS: Queue<LicenseJob>;
      MAX_BODY_BYTES: string;
    }
    interface GlobalProps {
      mainModule: typeof import("./index.ts");
    }
  }
  interface Env extends Cloudflare.Env {}
}
