/**
 * Background work yields to people. Every request this isolate serves is counted per second; between pages a job
 * looks at the recent rate. When the API is in use, pages shrink and each is followed by a pause several times its
 * own duration, so an interactive request waits behind at most one short page and the job takes a small share of the
 * isolate and of D1. When it is quiet, pages run back to back at full size.
 *
 * The signal is this isolate's own traffic: locally (wrangler dev) the queue consumer and the API share one isolate;
 * on Cloudflare they often do, and when they don't, D1's own queueing is what shields the API.
 */
import { interactive, type RequestRate } from "../core/traffic.ts";

/** Requests per second from which the API counts as in use (a client polling a job's state stays below it). */
export const BUSY_REQUESTS_PER_SECOND = 20;
/** Members per page while the API is in use: a page then holds D1 for a few milliseconds. */
export const BUSY_PAGE_SIZE = 200;
/**
 * The share of time a job takes while the API is in use: at 10% the API's p99 still rose by about half; at 5% a
 * 100,000-member job under steady traffic takes a minute or two (Entra documents hours).
 */
export const BUSY_SHARE = 0.05;
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

  /** The pause after a page that took `pageMs` (its reads, decisions and writes). */
  pauseAfter(pageMs: number): number {
    return this.busy ? Math.max(QUIET_PAUSE_MS, (pageMs * (1 - BUSY_SHARE)) / BUSY_SHARE) : QUIET_PAUSE_MS;
  }
}
