/**
 * Background work yields to people, without starving. Every request this isolate serves is counted per second;
 * between pages a job looks at the recent rate. When the API is in use, pages shrink and each is followed by a pause,
 * so an interactive request waits behind at most one short page and the job takes BUSY_SHARE of the isolate and of
 * D1, measured by the page's own work rather than by how long it took. When it is quiet, pages run back to back at
 * full size.
 *
 * The signal is this isolate's own traffic: locally (wrangler dev) the queue consumer and the API share one isolate;
 * on Cloudflare they often do, and when they don't, D1's own queueing is what shields the API.
 */
import { interactive, type RequestRate } from "../core/traffic.ts";

/** Requests per second from which the API counts as in use (a client polling a job's state stays below it). */
export const BUSY_REQUESTS_PER_SECOND = 20;
/**
 * Members per page while the API is in use: short enough that a request waits behind one page only briefly (pages of
 * 500 raised the reads' p99 to twice idle, larger pages at a smaller share more), long enough that the per-page
 * statements stay a small part of the job (200 at a larger share made it slower and the p99 no better).
 */
export const BUSY_PAGE_SIZE = 250;
/**
 * The share of time a job's own work takes while the API is in use: enough that a job under saturating traffic still
 * finishes within about ten times its idle time, little enough that the reads' p99 stays within half again of idle.
 */
export const BUSY_SHARE = 0.2;
/** Between pages when quiet: just enough to let a waiting request in. */
export const QUIET_PAUSE_MS = 1;

/** Decides each page's size and the pause after it. */
export class Pacer {
  readonly fullPageSize: number;
  private readonly traffic: RequestRate;
  // Starts small and doubles while quiet: traffic that begins with the job meets a short page, not a full one.
  private quietSize: number;
  constructor(fullPageSize: number, traffic: RequestRate = interactive) {
    this.fullPageSize = fullPageSize;
    this.traffic = traffic;
    this.quietSize = Math.min(fullPageSize, BUSY_PAGE_SIZE);
  }

  get busy(): boolean {
    return this.traffic.perSecond() >= BUSY_REQUESTS_PER_SECOND;
  }

  pageSize(): number {
    if (this.busy) {
      this.quietSize = Math.min(this.fullPageSize, BUSY_PAGE_SIZE);
      return this.quietSize;
    }
    const size = this.quietSize;
    this.quietSize = Math.min(this.fullPageSize, size * 2);
    return size;
  }

  /**
   * The pause after a page that took `pageMs` from start to end, `workMs` of which the page itself kept D1 and the
   * isolate busy (the rest it waited behind requests). The job takes BUSY_SHARE of the time by its work, not by its
   * elapsed time: under load a page waits behind requests for several times its own work, and pausing in proportion
   * to that starved the job.
   */
  pauseAfter(pageMs: number, workMs = pageMs): number {
    return this.busy ? Math.max(QUIET_PAUSE_MS, workMs / BUSY_SHARE - pageMs) : QUIET_PAUSE_MS;
  }
}
