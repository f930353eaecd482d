// The operator status (what /bot-status and the status log show): spend cap, queue, limits, pause and failures, and
// an answer even when storage does not give one.
import { describe, expect, it } from 'vitest';
import { readOperatorStatus, renderOperatorStatus, statusLogFields } from '../../src/ops/status.js';
import type { OpsSources } from '../../src/ops/metrics.js';

const NOW = Date.UTC(2026, 4, 4, 12, 0, 0);
const unix = (ms: number) => Math.floor(ms / 1000);

/** The figures of a busy afternoon: the engine's and the quota service's answers, as plain values. */
function sources(over: { spend?: () => Promise<{ usd: number; capUsd: number | undefined }>; connected?: boolean } = {}): OpsSources {
  return {
    jobs: {
      jobStats: () => ({ steps: { queued: 3, submitting: 1, polling: 4, downloading: 1, delivering: 1, failing: 1 }, oldestQueuedAt: NOW - 95_000 }),
      lumaLimits: () => ({ concurrency: 3, configuredConcurrency: 10, requestsPerMinute: 30, postsLastMinute: 30, pausedUntil: NOW + 5_000 }),
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
    expect(text).toContain(`30 of 30 requests in the last minute · submissions paused until <t:${unix(NOW + 5_000)}:t>`);
    expect(text).toContain('**Failures in the last hour:** 5 — `generation_failed` ×3, `http_500` ×2');
    expect(statusLogFields(s)).toMatchObject({ spendUsd: 25.5, spendCapUsd: 25, queued: 3, atLuma: 5, delivering: 2, oldestQueuedMs: 95_000, lumaConcurrency: 3, failuresByCode: { generation_failed: 3, http_500: 2 } });
  });

  it('still answers when storage does not, and says the gateway is down', async () => {
    const s = await readOperatorStatus(sources({ spend: () => Promise.reject(new Error('ECONNREFUSED')), connected: false }), failures, { storage: 'redis', shard: '0' }, NOW);
    const text = renderOperatorStatus(s);
    expect(text).toContain('**Spend today (UTC):** unknown — storage did not answer.');
    expect(text).toContain('**Discord gateway:** down (shard 0 is reconnecting)');
  });

  it('answers without the spend when storage hangs', async () => {
    const s = await readOperatorStatus(sources({ spend: () => new Promise(() => undefined) }), failures, { storage: 'redis', shard: '0' }, NOW);
    expect(s.spend).toBeUndefined();
    expect(renderOperatorStatus(s)).toContain('**Queue:** 3 waiting');
  });
});
