// One account, one view: on Redis, /bot-status and /metrics of any process show the Luma account's window, jobs at
// Luma, outages and failures of every process (read from Redis), not that process's own. Two "processes" here are
// two Redis connections on one namespace of the shared local Redis, each with its shared budget, breaker and metrics.
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { systemClock } from '../../src/clock.js';
import { SharedAccountFigures } from '../../src/jobs/account-figures.js';
import { lumaLimits } from '../../src/jobs/events.js';
import { RedisLumaBreaker } from '../../src/jobs/shared-breaker.js';
import { RedisSubmitBudget } from '../../src/jobs/shared-budget.js';
import type { JobRecord } from '../../src/jobs/types.js';
import { BotMetrics, type OpsSources } from '../../src/ops/metrics.js';
import { readOperatorStatus, renderOperatorStatus } from '../../src/ops/status.js';
import { createStorage, type Storage } from '../../src/storage/index.js';
import { deleteNamespace, REDIS_URL, testNamespace } from '../helpers/redis-keys.js';

const logger = pino({ level: 'silent' });
const CONFIG = { lumaMaxConcurrentJobs: 10, lumaMaxRequestsPerMinute: 30, lumaRpmCeiling: undefined };

describe('the Luma account as every process on one Redis sees it', () => {
  const open: Storage[] = [];
  const closing: Array<{ close(): Promise<void> }> = [];
  let ns = '';
  afterEach(async () => {
    for (const c of closing.splice(0)) await c.close();
    for (const s of open.splice(0)) await s.close();
    if (ns) await deleteNamespace(ns);
    ns = '';
  });

  /** One process: its budget, breaker, account figures and metrics over its own connection. */
  async function process() {
    ns ||= testNamespace();
    const storage = await createStorage(REDIS_URL, logger, { namespace: ns });
    open.push(storage);
    const redis = storage.redis;
    if (!redis) throw new Error('no Redis');
    const budget = new RedisSubmitBudget({ redis: redis.client, prefix: redis.prefix, leaseMs: 60_000, requestsPerMinute: 30, concurrentJobs: 10 });
    const breaker = new RedisLumaBreaker({ redis: redis.client, prefix: redis.prefix, clock: systemClock, logger });
    closing.push(budget, breaker);
    const account = new SharedAccountFigures(redis.client, redis.prefix);
    const metrics = new BotMetrics();
    const sources: OpsSources = {
      jobs: { jobStats: () => ({ steps: {}, oldestQueuedAt: undefined }), lumaLimits: () => lumaLimits({ budget, breaker }, CONFIG, Date.now()) },
      spend: { spendToday: async () => ({ usd: 0, capUsd: undefined }) },
      gateway: () => ({ connected: true }),
      account,
    };
    metrics.observe(sources);
    return { budget, breaker, metrics, sources };
  }

  it('shows every process’s POSTs, jobs at Luma, outages and failures in /bot-status and /metrics of each', async () => {
    const a = await process();
    const b = await process();
    // Each process sends one job; B's job fails, and B finds Luma down.
    await a.budget.acquire(a.budget.recordPost(Date.now()), 'job-a');
    await b.budget.acquire(b.budget.recordPost(Date.now()), 'job-b');
    b.metrics.failed({ id: 'job-b' } as JobRecord, 'luma_unavailable');
    b.breaker.record(Date.now(), 'down');
    await b.breaker.close();

    const status = await readOperatorStatus(a.sources, a.metrics, { storage: 'redis', shard: '0' });
    expect(status.account?.postsLastMinute).toBe(2);
    expect(status.account?.jobsAtLuma).toBe(2);
    expect(status.account?.outages).toBe(1);
    expect(status.account?.failures).toEqual({ total: 1, byCode: [['luma_unavailable', 1]] });
    // A's own view knows nothing of B's POST or failure.
    expect(status.limits.postsLastMinute).toBe(1);
    expect(status.failures.total).toBe(0);
    const text = renderOperatorStatus(status);
    expect(text).toContain('2 of 30 requests in the last minute');
    expect(text).toContain('**Luma account (every process on this Redis):** 2 jobs at Luma · Luma found down 1 times');
    expect(text).toContain('**Failures in the last hour (every process):** 1 — `luma_unavailable` ×1');

    const { body } = await a.metrics.render();
    expect(body).toMatch(/^lumabot_account_luma_posts_last_minute 2$/m);
    expect(body).toMatch(/^lumabot_account_luma_jobs_at_luma 2$/m);
    expect(body).toMatch(/^lumabot_account_luma_outages 1$/m);
    expect(body).toMatch(/^lumabot_account_job_failures_last_hour\{code="luma_unavailable"\} 1$/m);
  });
});
