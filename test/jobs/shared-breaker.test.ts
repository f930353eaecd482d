// The Luma breaker shared on Redis: two "processes" (each its own connection on a namespace of this test, on the
// local Redis) see one outage and send one probe between them, not one each. Then two engines, sharing Redis as two
// bot processes would (jobs, budget, breaker), against one fake Luma that goes down: one request at a time for the
// account, and every job delivered once after recovery. Redis's clock orders the shared state, so these tests wait
// briefly in real time, with probes set 300 ms apart instead of 5 s.
import { Agent } from 'undici';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeLuma } from '../../dev/fakes/luma/server.js';
import { systemClock } from '../../src/clock.js';
import { newJob } from '../../src/jobs/create.js';
import { JobEngine, type EngineDeps } from '../../src/jobs/engine.js';
import { KeptResults } from '../../src/jobs/kept-results.js';
import { RedisJobLeases } from '../../src/jobs/leases.js';
import { JobRecords } from '../../src/jobs/records.js';
import { RedisLumaBreaker } from '../../src/jobs/shared-breaker.js';
import { RedisSubmitBudget } from '../../src/jobs/shared-budget.js';
import type { JobRecord } from '../../src/jobs/types.js';
import { LumaClient } from '../../src/luma/client.js';
import { createStorage, type Storage } from '../../src/storage/index.js';
import { ENGINE_DEFAULTS, RecordingDeliverer, recordingLuma } from '../helpers/engine-world.js';
import { deleteNamespace, REDIS_URL, testNamespace } from '../helpers/redis-keys.js';
import { waitUntil } from '../helpers/wait.js';

const logger = pino({ level: 'silent' });
const PROBE_MS = 300;

describe('the Luma breaker shared on Redis', () => {
  const open: Storage[] = [];
  const closers: (() => Promise<unknown>)[] = [];
  let ns = '';
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    for (const s of open.splice(0)) await s.close();
    if (ns) await deleteNamespace(ns);
    ns = '';
  });

  /** A new connection, as another process would have. */
  const connect = async () => {
    ns ||= testNamespace();
    const s = await createStorage(REDIS_URL, logger, { namespace: ns });
    open.push(s);
    if (!s.redis) throw new Error('no raw Redis client');
    return { storage: s, redis: s.redis };
  };
  const breaker = async () => {
    const { redis } = await connect();
    const b = new RedisLumaBreaker({ redis: redis.client, prefix: redis.prefix, clock: systemClock, probeFirstMs: PROBE_MS, probeMaxMs: 4 * PROBE_MS, syncMs: 50, logger });
    closers.push(() => b.close());
    return b;
  };

  it('has one outage and one probe at a time for the two processes, and closes for both on one answer', async () => {
    const a = await breaker();
    const b = await breaker();
    a.record(Date.now(), 'down');
    expect(a.view(Date.now()).open).toBe(true);
    await waitUntil(() => b.view(Date.now()).open, 'the other process to hear of the outage');
    expect(b.status(Date.now())).toMatchObject({ state: 'open', shared: true });

    // Both ask for the probe until one has it; the other never gets it while it is out.
    let holder: RedisLumaBreaker | undefined;
    await waitUntil(() => (holder = [a, b].find((x) => x.takeProbe(Date.now()))), 'one of them to get the probe');
    const other = holder === a ? b : a;
    // The other hears the probe is out, and cannot have it though its time has come.
    await waitUntil(() => other.view(Date.now()).probing, 'the other process to hear the probe is out');
    expect(other.view(Date.now()).probeAt).toBeLessThanOrEqual(Date.now());
    expect(other.takeProbe(Date.now())).toBe(false);
    // Luma still down: the probe ends, and the next one is the account's next, PROBE_MS later at the earliest.
    const failedAt = Date.now();
    holder?.record(failedAt, 'down');
    holder?.probeEnded(failedAt);
    let next: RedisLumaBreaker | undefined;
    await waitUntil(() => (next = [a, b].find((x) => x.takeProbe(Date.now()))), 'the next probe');
    expect(Date.now() - failedAt).toBeGreaterThanOrEqual(PROBE_MS - 50);
    expect(a.status(Date.now()).probes + b.status(Date.now()).probes).toBe(2);

    next?.record(Date.now(), 'up');
    next?.probeEnded(Date.now());
    await waitUntil(() => !a.view(Date.now()).open && !b.view(Date.now()).open, 'both to hear that Luma answers');
  });

  it('sends one request at a time for two engines while Luma is down, and delivers every job once after', async () => {
    const luma = await startFakeLuma({ queuedMs: 50, processingMs: 200 });
    closers.push(() => luma.close());
    const http = new Agent();
    closers.push(() => http.close());
    const client = new LumaClient({ apiKey: luma.apiKey, baseURL: luma.url, dispatcher: http, retryBaseDelayMs: 1 });
    const { port, calls } = recordingLuma(client, systemClock);
    const engines = [await engine(port), await engine(port)];
    luma.setOutage(502);
    const jobs: { e: (typeof engines)[number]; job: JobRecord }[] = [];
    for (let n = 0; n < 20; n++) {
      const e = engines[n % 2]!;
      jobs.push({ e, job: await e.submit(`7300000000000${String(n % 8).padStart(5, '0')}`, `shared outage: ${n}`) });
    }
    await waitUntil(() => engines.every((e) => e.breaker.view(Date.now()).open), 'both engines to hold their work');
    const mark = Math.max(0, ...calls.map((c) => c.endSeq ?? c.seq));
    await waitUntil(() => calls.filter((c) => c.seq > mark && c.endSeq !== undefined).length >= 3, 'three probes');
    const probes = calls.filter((c) => c.seq > mark);
    let previous = calls.filter((c) => c.seq <= mark).at(-1);
    for (const probe of probes) {
      expect(probe.inFlight).toBe(1);
      expect(probe.seq).toBeGreaterThan(previous?.endSeq ?? 0);
      expect(probe.at - (previous?.at ?? 0)).toBeGreaterThanOrEqual(PROBE_MS - 50);
      previous = probe;
    }
    // Both engines' jobs wait; neither sends more than the account's one probe at a time.
    for (const { e, job } of jobs) expect(e.deliver.of(job.id).progress.at(-1)?.state.stage).toBe('lumaDown');

    luma.setOutage(undefined);
    await waitUntil(() => jobs.every(({ e, job }) => e.deliver.of(job.id).result), 'every job delivered', 30_000);
    const prompts = luma.generations().map((g) => g.request.prompt);
    expect(prompts).toHaveLength(20);
    expect(new Set(prompts).size).toBe(20);
    for (const { e, job } of jobs) expect(e.deliver.of(job.id).failure).toBeUndefined();
  }, 60_000);

  /** An engine as one bot process has it on Redis: its own connection, leases, the shared budget and breaker. */
  async function engine(luma: EngineDeps['luma']) {
    const { storage, redis } = await connect();
    const records = new JobRecords(storage, { logger, clock: systemClock });
    const leases = await RedisJobLeases.start(redis, 30_000, logger);
    const budget = new RedisSubmitBudget({ redis: redis.client, prefix: redis.prefix, leaseMs: 30_000, requestsPerMinute: 1000, concurrentJobs: 10 });
    const breaker = new RedisLumaBreaker({ redis: redis.client, prefix: redis.prefix, clock: systemClock, probeFirstMs: PROBE_MS, probeMaxMs: 4 * PROBE_MS, syncMs: 50, logger });
    const deliver = new RecordingDeliverer(systemClock);
    const http = new Agent();
    const config = { ...ENGINE_DEFAULTS, pollIntervalMs: 100, progressIntervalMs: 100 };
    const e = new JobEngine({ config, luma, http, records, kept: new KeptResults(records.env), deliverer: deliver, logger, clock: systemClock, budget, breaker, leases });
    await e.start();
    closers.push(async () => {
      await e.stop(500);
      await http.close();
    });
    let n = 0;
    return {
      deliver,
      breaker,
      async submit(userId: string, prompt: string): Promise<JobRecord> {
        const display = { prompt, model: 'uni-1' as const, aspectRatio: null, style: 'auto' as const, outputFormat: null, webSearch: false, references: 0 };
        const job = newJob({ kind: 'imagine', request: { prompt, model: 'uni-1', type: 'image' }, inputs: [], display }, { userId, guildId: '1000000000000000001', channelId: '1200000000000000002', userInstalled: false }, { n: n++ }, Date.now());
        await e.enqueue([job]);
        return job;
      },
    };
  }
});
