// The submit budget on its own, on a clock the test sets. The scheduler's tests run it inside the real bot against
// the fake Luma's plan; here each rule of the window is pinned down exactly.
import { describe, expect, it } from 'vitest';
import { CONCURRENCY_CLIMB_MS, CONCURRENCY_HOLD_MS, LocalSubmitBudget, RPM_WINDOW_MS } from '../../src/jobs/luma-budget.js';
import { capturingLogger } from '../helpers/logs.js';

const T0 = 1_800_000_000_000;

function budget(requestsPerMinute: number, concurrentJobs: number) {
  const { logger, lines } = capturingLogger();
  return { b: new LocalSubmitBudget({ requestsPerMinute, concurrentJobs, logger }), lines };
}

/** Sends as many POSTs as the budget allows at `now`; returns their tickets. */
function burst(b: LocalSubmitBudget, now: number, active = 0): string[] {
  const tickets: string[] = [];
  while (b.waitMs(now, active + tickets.length) === 0 && tickets.length < 1000) tickets.push(b.recordPost(now));
  return tickets;
}

describe('the submit budget', () => {
  it("lets the whole minute's allowance go at once instead of spacing POSTs out", () => {
    const { b } = budget(30, 100);
    expect(burst(b, T0)).toHaveLength(30);
    // The 31st waits for the oldest POST to leave the sliding window, not for a metronome tick.
    expect(b.waitMs(T0, 30)).toBe(RPM_WINDOW_MS);
    expect(b.waitMs(T0 + RPM_WINDOW_MS, 0)).toBe(0);
  });

  it('counts a POST from when its answer came, so our window never empties before Luma’s', () => {
    const { b } = budget(1, 10);
    const [ticket] = burst(b, T0);
    b.learn(ticket!, T0 + 800, undefined);
    expect(b.waitMs(T0 + RPM_WINDOW_MS, 0)).toBe(800);
    expect(b.waitMs(T0 + RPM_WINDOW_MS + 800, 0)).toBe(0);
  });

  it('waits for a free concurrency slot, whatever room the window has', () => {
    const { b } = budget(100, 3);
    expect(burst(b, T0)).toHaveLength(3);
    expect(b.waitMs(T0, 3)).toBeGreaterThan(0);
    expect(b.waitMs(T0, 2)).toBe(0);
  });

  it("learns a lower per-minute limit from a 201's X-RateLimit headers, once at info", () => {
    const fresh = budget(30, 100);
    expect(fresh.b.limits(T0)).toMatchObject({ requestsPerMinute: 30, requestsPerMinuteSource: 'configured', learnedRequestsPerMinute: undefined });
    const t = fresh.b.recordPost(T0);
    fresh.b.learn(t, T0 + 100, { limit: 5, remaining: 4, resetAt: new Date(T0 + 100 + RPM_WINDOW_MS) });
    expect(fresh.b.limits(T0 + 100)).toMatchObject({ requestsPerMinute: 5, requestsPerMinuteSource: 'luma', learnedRequestsPerMinute: 5, windowUsed: 1 });
    expect(burst(fresh.b, T0 + 100)).toHaveLength(4);
    const t2 = fresh.b.recordPost(T0 + 200);
    fresh.b.learn(t2, T0 + 300, { limit: 5, remaining: 0, resetAt: new Date(T0 + 100 + RPM_WINDOW_MS) });
    expect(fresh.lines.filter((l) => l.msg === 'Luma limits changed')).toHaveLength(1);
    expect(fresh.lines[0]).toMatchObject({ requestsPerMinute: 5, requestsPerMinuteSource: 'luma', learnedRequestsPerMinute: 5 });
  });

  it('follows a higher per-minute limit Luma reports: the configured value is only where it starts', () => {
    const { b, lines } = budget(30, 1000);
    const [first] = burst(b, T0);
    expect(b.waitMs(T0, 0)).toBeGreaterThan(0); // 30 sent: the configured start holds until Luma says more
    b.learn(first!, T0 + 100, { limit: 120, remaining: 119, resetAt: new Date(T0 + RPM_WINDOW_MS) });
    expect(b.limits(T0 + 100)).toMatchObject({ requestsPerMinute: 120, requestsPerMinuteSource: 'luma', learnedRequestsPerMinute: 120 });
    expect(burst(b, T0 + 100)).toHaveLength(90);
    expect(lines.filter((l) => l.msg === 'Luma limits changed').map((l) => l.requestsPerMinute)).toEqual([120]);
  });

  it('keeps under LUMA_RPM_CEILING whatever Luma reports, and says where the limit comes from', () => {
    const { logger } = capturingLogger();
    const b = new LocalSubmitBudget({ requestsPerMinute: 30, requestsPerMinuteCeiling: 50, concurrentJobs: 1000, logger });
    expect(b.limits(T0)).toMatchObject({ requestsPerMinute: 30, requestsPerMinuteSource: 'configured' });
    const [t] = burst(b, T0);
    b.learn(t!, T0 + 100, { limit: 120, remaining: 119, resetAt: new Date(T0 + RPM_WINDOW_MS) });
    expect(b.limits(T0 + 100)).toMatchObject({ requestsPerMinute: 50, requestsPerMinuteSource: 'ceiling', learnedRequestsPerMinute: 120 });
    expect(burst(b, T0 + 100)).toHaveLength(20);
    // Below the ceiling, Luma's word again.
    const t2 = b.recordPost(T0 + 200);
    b.learn(t2, T0 + 300, { limit: 40, remaining: 0, resetAt: new Date(T0 + RPM_WINDOW_MS) });
    expect(b.limits(T0 + 300)).toMatchObject({ requestsPerMinute: 40, requestsPerMinuteSource: 'luma' });
    // A ceiling below the configured start applies from the start.
    const low = new LocalSubmitBudget({ requestsPerMinute: 30, requestsPerMinuteCeiling: 10, concurrentJobs: 1000 });
    expect(low.limits(T0)).toMatchObject({ requestsPerMinute: 10, requestsPerMinuteSource: 'ceiling' });
    expect(burst(low, T0)).toHaveLength(10);
  });

  it('counts the time jobs wait for a slot at the configured concurrency, until Luma refuses one for concurrency', () => {
    const { b, lines } = budget(1000, 3);
    expect(b.limits(T0)).toMatchObject({ concurrentJobs: 3, concurrencySource: 'configured', busyAtConcurrencyMs: 0 });
    // Asked every second while all three slots are taken: busy at the limit for 11 minutes.
    for (let s = 0; s <= 11 * 60; s++) b.waitMs(T0 + s * 1000, 3);
    expect(b.limits(T0 + 11 * 60_000).busyAtConcurrencyMs).toBe(11 * 60_000);
    expect(lines.filter((l) => String(l.msg).startsWith('Luma never refused a job for concurrency'))).toHaveLength(1);
    // A gap (nothing waited) is not busy time; room left is not either.
    b.waitMs(T0 + 20 * 60_000, 3);
    b.waitMs(T0 + 20 * 60_000 + 500, 2);
    expect(b.limits(T0 + 20 * 60_000 + 500).busyAtConcurrencyMs).toBe(11 * 60_000);
    // A concurrency 429 starts the count over, and time at a lowered estimate does not count.
    const t = b.recordPost(T0 + 21 * 60_000);
    b.rateLimited(t, T0 + 21 * 60_000, { kind: 'concurrency', retryAfterMs: 60_000, ourOthersActive: 2 });
    expect(b.limits(T0 + 21 * 60_000)).toMatchObject({ concurrentJobs: 2, concurrencySource: 'lowered', busyAtConcurrencyMs: 0 });
    for (let s = 0; s < 30; s++) b.waitMs(T0 + 21 * 60_000 + s * 1000, 2);
    expect(b.limits(T0 + 21 * 60_000 + 30_000).busyAtConcurrencyMs).toBe(0);
  });

  it("holds back for POSTs of others that Luma's Remaining reveals", () => {
    const { b } = budget(10, 100);
    const t = b.recordPost(T0);
    // Luma counts 7 in the window; we sent 1: six are someone else's, the oldest of them leaving at Reset.
    b.learn(t, T0 + 50, { limit: 10, remaining: 3, resetAt: new Date(T0 + 20_000) });
    expect(b.limits(T0 + 50).windowUsed).toBe(7);
    expect(burst(b, T0 + 50)).toHaveLength(3);
    expect(b.waitMs(T0 + 50, 0)).toBe(20_000 - 50);
    expect(b.waitMs(T0 + 20_000, 0)).toBe(0);
  });

  it('pauses every POST for the Retry-After of a per-minute 429 and learns the limit it reports', () => {
    const { b } = budget(30, 100);
    const t = b.recordPost(T0);
    const reaction = b.rateLimited(t, T0 + 10, { kind: 'requests', retryAfterMs: 12_000, window: { limit: 20, remaining: 0, resetAt: new Date(T0 + 12_010) } });
    expect(reaction.pauseMs).toBe(12_000);
    expect(b.waitMs(T0 + 10, 0)).toBe(12_000);
    expect(b.waitMs(T0 + 12_010, 0)).toBe(0);
    expect(b.limits(T0 + 12_010).requestsPerMinute).toBe(20);
  });

  it('lowers the concurrency estimate to our other jobs at Luma on a concurrency 429, then climbs back one job at a time', () => {
    const { b, lines } = budget(1000, 10);
    const t = b.recordPost(T0);
    const reaction = b.rateLimited(t, T0, { kind: 'concurrency', retryAfterMs: 60_000, ourOthersActive: 6 });
    expect(reaction).toEqual({ pauseMs: 0, concurrentJobs: 6 });
    expect(b.waitMs(T0 + 1000, 6)).toBeGreaterThan(0);
    expect(b.waitMs(T0 + 1000, 5)).toBe(0);
    expect(b.limits(T0 + CONCURRENCY_HOLD_MS - 1).concurrentJobs).toBe(6);
    expect(b.limits(T0 + CONCURRENCY_HOLD_MS).concurrentJobs).toBe(7);
    expect(b.limits(T0 + CONCURRENCY_HOLD_MS + CONCURRENCY_CLIMB_MS).concurrentJobs).toBe(8);
    expect(b.limits(T0 + CONCURRENCY_HOLD_MS + 10 * CONCURRENCY_CLIMB_MS).concurrentJobs).toBe(10);
    // A slot-bound pump is woken in time for the next step of the climb.
    const wait = b.waitMs(T0 + CONCURRENCY_HOLD_MS + 1000, 7);
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(CONCURRENCY_CLIMB_MS - 1000);
    expect(lines.some((l) => l.msg === 'Luma limits changed' && l.concurrentJobs === 6)).toBe(true);
  });

  it('probes again after a short pause when a concurrency 429 comes while none of ours is at Luma', () => {
    const { b } = budget(1000, 10);
    const t = b.recordPost(T0);
    const reaction = b.rateLimited(t, T0, { kind: 'concurrency', retryAfterMs: 60_000, ourOthersActive: 0 });
    expect(reaction.concurrentJobs).toBe(1);
    expect(reaction.pauseMs).toBeGreaterThan(0);
    expect(reaction.pauseMs).toBeLessThan(60_000);
    expect(b.waitMs(T0 + reaction.pauseMs, 0)).toBe(0);
  });
});
