import { describe, expect, it } from "vitest";
import { newId } from "../../functions/core/ids.ts";
import { RequestRate } from "../../functions/core/traffic.ts";
import { BUSY_PAGE_SIZE, BUSY_REQUESTS_PER_SECOND, BUSY_SHARE, Pacer } from "../../functions/jobs/pacing.ts";

describe("RequestRate", () => {
  it("counts the requests of the last second and forgets older ones", () => {
    const rate = new RequestRate();
    const t0 = 1_000_000;
    for (let i = 0; i < 30; i++) rate.note(t0 + i * 10);
    expect(rate.perSecond(t0 + 300)).toBe(30);
    expect(rate.perSecond(t0 + 950)).toBe(30);
    // A second later the first tenth of a second (10 requests) has aged out; then the rest.
    expect(rate.perSecond(t0 + 1_050)).toBe(20);
    rate.note(t0 + 1_200);
    expect(rate.perSecond(t0 + 1_250)).toBe(1);
    expect(rate.perSecond(t0 + 5_000)).toBe(0);
  });
});

describe("Pacer", () => {
  it("when quiet, starts with a short page and doubles up to the full size, pausing only a moment", () => {
    const full = 6 * BUSY_PAGE_SIZE;
    const pacer = new Pacer(full, new RequestRate());
    const sizes = Array.from({ length: 5 }, () => pacer.pageSize());
    expect(sizes).toEqual([BUSY_PAGE_SIZE, 2 * BUSY_PAGE_SIZE, 4 * BUSY_PAGE_SIZE, full, full]);
    expect(pacer.pauseAfter(100)).toBeLessThanOrEqual(1);
    expect(new Pacer(50, new RequestRate()).pageSize()).toBe(50);
  });

  it("when the API is in use, keeps pages short and takes only its share of the time", () => {
    const traffic = new RequestRate();
    const pacer = new Pacer(1000, traffic);
    expect(pacer.pageSize()).toBe(BUSY_PAGE_SIZE);
    expect(pacer.pageSize()).toBe(2 * BUSY_PAGE_SIZE);
    for (let i = 0; i < BUSY_REQUESTS_PER_SECOND; i++) traffic.note();
    expect(pacer.busy).toBe(true);
    expect(pacer.pageSize()).toBe(BUSY_PAGE_SIZE);
    expect(pacer.pageSize()).toBe(BUSY_PAGE_SIZE);
    const pageMs = 20;
    const pause = pacer.pauseAfter(pageMs);
    expect(pageMs / (pageMs + pause)).toBeCloseTo(BUSY_SHARE, 5);
  });

  it("counts a page's own work, not the time it waited behind requests, so a job under load keeps its share", () => {
    const traffic = new RequestRate();
    const pacer = new Pacer(1000, traffic);
    for (let i = 0; i < BUSY_REQUESTS_PER_SECOND; i++) traffic.note();
    // A page of 10 ms work that took 30 ms: the pause makes up the rest of the cycle its share allows.
    const pause = pacer.pauseAfter(30, 10);
    expect(10 / (30 + pause)).toBeCloseTo(BUSY_SHARE, 5);
    // A page that already waited longer than its share asks for pauses only for a moment.
    expect(pacer.pauseAfter(10 / BUSY_SHARE + 50, 10)).toBeLessThanOrEqual(1);
  });
});

describe("newId", () => {
  it("mints distinct version-7 GUIDs that start with their creation time", () => {
    const before = Date.now();
    const ids = Array.from({ length: 2000 }, () => newId());
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const ms = (id: string) => Number.parseInt(id.replace(/-/g, "").slice(0, 12), 16);
    expect(ms(ids[0]!)).toBeGreaterThanOrEqual(before);
    expect(ms(ids.at(-1)!)).toBeGreaterThanOrEqual(ms(ids[0]!));
    expect(ms(ids.at(-1)!)).toBeLessThanOrEqual(Date.now());
  });
});
