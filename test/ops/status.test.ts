// The operator status (what /bot-status and the status log show): spend cap, queue, limits, pause and failures, and
// an answer even when storage does not give one.
import { describe, expect, it, vi } from 'vitest';
import type { LumaLimits } from '../../src/jobs/events.js';
import { readOperatorStatus, renderOperatorStatus, statusLogFields } from '../../src/ops/status.js';
import type { OpsSources } from '../../src/ops/metrics.js';

const NOW = Date.UTC(2026, 4, 4, 12, 0, 0);
const unix = (ms: number) => Math.floor(ms / 1000);

/** The figures of a busy afternoon: the engine's and the quota service's answers, as plain values. */
const LIMITS: LumaLimits = {
  concurrency: 3,
  configuredConcurrency: 10,
  busyAtConcurrencyMs: 0,
  requestsPerMinute: 30,
  requestsPerMinuteSource: 'configured',
  configuredRequestsPerMinute: 30,
  requestsPerMinuteCeiling: undefined,
  learnedRequestsPerMinute: undefined,
  postsLastMinute: 30,
  pausedUntil: NOW + 5_000,
  luma: { state: 'closed', since: undefined, nextProbeAt: undefined, probes: 0, opened: 0, shared: false },
};

function sources(over: { spend?: () => Promise<{ usd: number; capUsd: number | undefined }>; connected?: boolean; limits?: Partial<LumaLimits> } = {}): OpsSources {
  return {
    jobs: {
      jobStats: () => ({ steps: { queued: 3, submitting: 1, polling: 4, downloading: 1, delivering: 1, failing: 1 }, oldestQueuedAt: NOW - 95_000 }),
      lumaLimits: () => ({ ...LIMITS, ...over.limits }),
    },
    spend: { spendToday: over.spend ?? (async () => ({ usd: 25.5, capUsd: 25 })) },
    gateway: () => (over.connected === false ? { connected: false, reason: 'shard 0 is reconnecting' } : { connected: true }),
  };
}
const failures = { failuresLastHour: () => ({ total: 5, byCode: [['generation_failed', 3], ['http_500', 2]] as [string, number][] }) };

describe('the operator status', () => {
  it('says the cap is reached, the queue with its oldest wait, lowered limits and a pause, and failures by code', async () => {
    const s = await readOperatorStatus(sources(), failures, { storage: 'redis', shard: '2' }, NOW);
    const text = renderOperatorStatus(s);
    expect(text).toContain('shard 2, storage redis');
    expect(text).toContain(`$25.50 of $25.00 cap (102 %) — **cap reached: new requests are refused**; resets <t:${unix(Date.UTC(2026, 4, 5))}:R>`);
    expect(text).toContain('**Queue:** 3 waiting (oldest waiting 1 min 35 s) · 5 at Luma · 2 being delivered · 1 failing');
    expect(text).toContain(`3 jobs at once (lowered from 10 after Luma said "too many concurrent jobs"; it climbs back one at a time)`);
    expect(text).toContain(`30 of 30 requests in the last minute (LUMA_MAX_REQUESTS_PER_MINUTE: Luma has not reported the account's limit yet) · submissions paused until <t:${unix(NOW + 5_000)}:t>`);
    expect(text).toContain('**Failures in the last hour:** 5 — `generation_failed` ×3, `http_500` ×2');
    expect(statusLogFields(s)).toMatchObject({ spendUsd: 25.5, spendCapUsd: 25, queued: 3, atLuma: 5, delivering: 2, oldestQueuedMs: 95_000, lumaConcurrency: 3, failuresByCode: { generation_failed: 3, http_500: 2 } });
  });

  it("says where each limit comes from: Luma's report, the ceiling, and a configured concurrency never refused", async () => {
    const learned = renderOperatorStatus(await readOperatorStatus(sources({ limits: { concurrency: 10, requestsPerMinute: 120, requestsPerMinuteSource: 'luma', learnedRequestsPerMinute: 120, postsLastMinute: 12, pausedUntil: undefined } }), failures, { storage: 'sqlite', shard: '0' }, NOW));
    expect(learned).toContain('**Luma limits:** 10 jobs at once (LUMA_MAX_CONCURRENT_JOBS) · 12 of 120 requests in the last minute (reported by Luma; configured start 30)');
    const capped = renderOperatorStatus(await readOperatorStatus(sources({ limits: { requestsPerMinute: 50, requestsPerMinuteSource: 'ceiling', requestsPerMinuteCeiling: 50, learnedRequestsPerMinute: 120 } }), failures, { storage: 'sqlite', shard: '0' }, NOW));
    expect(capped).toContain('30 of 50 requests in the last minute (LUMA_RPM_CEILING; Luma allows 120)');
    const roomy = renderOperatorStatus(await readOperatorStatus(sources({ limits: { concurrency: 10, busyAtConcurrencyMs: 25 * 60_000 } }), failures, { storage: 'sqlite', shard: '0' }, NOW));
    expect(roomy).toContain('10 jobs at once (LUMA_MAX_CONCURRENT_JOBS; Luma never refused a job at 10 at once in 25 min 0 s busy at that limit: your plan may allow more, raise it to try)');
  });

  it('says whether Luma answers, or since when it is down and when the next probe goes', async () => {
    const up = await readOperatorStatus(sources(), failures, { storage: 'sqlite', shard: '0' }, NOW);
    expect(renderOperatorStatus(up)).toContain('**Luma:** answering');
    const luma = { state: 'open', since: NOW - 95_000, nextProbeAt: NOW + 20_000, probes: 4, opened: 1, shared: true } as const;
    const down = await readOperatorStatus(sources({ limits: { luma } }), failures, { storage: 'redis', shard: '0' }, NOW);
    expect(renderOperatorStatus(down)).toContain(
      `**Luma:** ⚠️ down since <t:${unix(NOW - 95_000)}:t> (1 min 35 s): jobs wait in the queue, one probe at a time (for every process on this Redis); next probe <t:${unix(NOW + 20_000)}:R>`,
    );
    expect(statusLogFields(down)).toMatchObject({ lumaDown: true, lumaDownMs: 95_000 });
  });

  it('still answers when storage does not, and says the gateway is down', async () => {
    const s = await readOperatorStatus(sources({ spend: () => Promise.reject(new Error('ECONNREFUSED')), connected: false }), failures, { storage: 'redis', shard: '0' }, NOW);
    const text = renderOperatorStatus(s);
    expect(text).toContain('**Spend today (UTC):** unknown — storage did not answer.');
    expect(text).toContain('**Discord gateway:** down (shard 0 is reconnecting)');
  });

  it('answers without the spend when storage hangs, after 3 s', async () => {
    vi.useFakeTimers();
    try {
      let answered = false;
      const reading = readOperatorStatus(sources({ spend: () => new Promise(() => undefined) }), failures, { storage: 'redis', shard: '0' }, NOW).finally(() => (answered = true));
      await vi.advanceTimersByTimeAsync(2999);
      expect(answered).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      const s = await reading;
      expect(s.spend).toBeUndefined();
      expect(renderOperatorStatus(s)).toContain('**Queue:** 3 waiting');
    } finally {
      vi.useRealTimers();
    }
  });
});
