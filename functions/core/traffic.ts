/**
 * This isolate's interactive traffic, counted per second: the API's middleware notes each request, and background jobs
 * look at the rate to decide how much of the isolate (and of D1) they may take.
 */

/** Requests over the last second, counted in ten buckets of a tenth of a second each. */
export class RequestRate {
  private static readonly BUCKET_MS = 100;
  private readonly buckets = new Array<number>(10).fill(0);
  private lastBucket = 0;

  private advance(now: number): number {
    const bucket = Math.floor(now / RequestRate.BUCKET_MS);
    if (bucket - this.lastBucket >= this.buckets.length) this.buckets.fill(0);
    else for (let b = this.lastBucket + 1; b <= bucket; b++) this.buckets[b % this.buckets.length] = 0;
    this.lastBucket = Math.max(this.lastBucket, bucket);
    return bucket;
  }

  note(now = Date.now()): void {
    const bucket = this.advance(now);
    this.buckets[bucket % this.buckets.length]!++;
  }

  perSecond(now = Date.now()): number {
    this.advance(now);
    return this.buckets.reduce((sum, n) => sum + n, 0);
  }
}

/** This isolate's API traffic. */
export const interactive = new RequestRate();

/** Counts one interactive request (called by the API's middleware). */
export const noteInteractiveRequest = (): void => interactive.note();
