export {};
declare global {
  interface Env {
    DB: D1Database;
    LICENSE_JOBS: Queue;
    MAX_BODY_BYTES: string;
  }
}
