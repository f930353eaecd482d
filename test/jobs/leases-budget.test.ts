// The pieces under the multi-process tests, each "process" a separate Redis connection on a namespace of its own
// on the local Redis: the shared budget's slots lapse with a dead holder and go to the job queued first; a job
// lease is taken by one live process only and taken over once its holder is gone. And SQLite shards keep their own.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { systemClock, type Clock } from '../../src/clock.js';
import { RedisJobLeases, ShardJobLeases } from '../../src/jobs/leases.js';
import { RedisSubmitBudget } from '../../src/jobs/shared-budget.js';
import { createStorage, type Storage } from '../../src/storage/index.js';
import { deleteNamespace, REDIS_URL, testNamespace } from '../helpers/redis-keys.js';
import { waitUntil } from '../helpers/wait.js';

const logger = pino({ level: 'silent' });

describe('shared budget and leases on Redis', () => {
  const open: Storage[] = [];
  const budgets: RedisSubmitBudget[] = [];
  let ns = '';
  afterEach(async () => {
    for (const b of budgets.splice(0)) await b.close();
    for (const s of open.splice(0)) await s.close();
    if (ns) await deleteNamespace(ns);
    ns = '';
  });

  /** A new connection, as another process would have. */
  const connect = async (): Promise<Storage & { redis: NonNullable<Storage['redis']> }> => {
    ns ||= testNamespace();
    const s = await createStorage(REDIS_URL, logger, { namespace: ns });
    open.push(s);
    if (!s.redis) throw new Error('no raw Redis client');
    return s as Storage & { redis: NonNullable<Storage['redis']> };
  };
  const budget = async (opts: { rpm?: number; concurrent?: number; leaseMs?: number; clock?: Clock } = {}) => {
    const { redis } = await connect();
    const b = new RedisSubmitBudget({ redis: redis.client, prefix: redis.prefix, leaseMs: opts.leaseMs ?? 60_000, requestsPerMinute: opts.rpm ?? 100, concurrentJobs: opts.concurrent ?? 1, ...(opts.clock ? { clock: opts.clock } : {}) });
    budgets.push(b);
    return b;
  };
  /** Until `jobId` is in the queue for a slot that every process reads at Redis. */
  const queuedAtRedis = async (jobId: string): Promise<void> => {
    const { redis } = await connect();
    const score = () => redis.client.eval("return redis.call('ZSCORE', KEYS[1], ARGV[1])", { keys: [`${redis.prefix}luma:waiters`], arguments: [jobId] });
    await waitUntil(async () => (await score()) !== null, `${jobId} waiting at Redis`);
  };
  /** Redis's own clock, ms (the budget and the leases count by it). */
  const redisNow = async (): Promise<number> => {
    const { redis } = await connect();
    const t = (await redis.client.eval("return redis.call('TIME')", { keys: [], arguments: [] })) as [string, string];
    return Number(t[0]) * 1000 + Math.floor(Number(t[1]) / 1000);
  };
  const slotLapsesAt = async (jobId: string): Promise<number | undefined> => {
    const { redis } = await connect();
    const score = await redis.client.eval("return redis.call('ZSCORE', KEYS[1], ARGV[1])", { keys: [`${redis.prefix}luma:slots`], arguments: [jobId] });
    return score === null ? undefined : Number(score);
  };
  /** Whether the promise has settled (after every callback queued before this ran). */
  const settled = (p: Promise<unknown>): (() => boolean) => {
    let done = false;
    void p.then(
      () => (done = true),
      () => (done = true),
    );
    return () => done;
  };

  it('frees a dead process’s concurrency slot when its lease lapses, not before', async () => {
    const dead = await budget({ concurrent: 1, leaseMs: 600 });
    const alive = await budget({ concurrent: 1, leaseMs: 600 });
    await dead.acquire(dead.recordPost(Date.now()), 'job-a');
    const lapsesAt = await slotLapsesAt('job-a');
    // The process dies holding the slot: no release, no renewal.
    await dead.close();
    await alive.acquire(alive.recordPost(Date.now()), 'job-b');
    // Given by Redis's clock only once the dead holder's slot had lapsed.
    expect(lapsesAt).toBeDefined();
    expect(await redisNow()).toBeGreaterThanOrEqual(lapsesAt ?? Infinity);
  });

  it('keeps a live process’s slot past the lease by renewing it, and frees it at release', async () => {
    const holder = await budget({ concurrent: 1, leaseMs: 300 });
    const other = await budget({ concurrent: 1, leaseMs: 300 });
    await holder.acquire(holder.recordPost(Date.now()), 'job-a');
    const firstLapse = (await slotLapsesAt('job-a')) ?? 0;
    const waiting = other.acquire(other.recordPost(Date.now()), 'job-b');
    const done = settled(waiting);
    // Renewed past two of its leases while the other waits: still held.
    await waitUntil(async () => ((await slotLapsesAt('job-a')) ?? 0) > firstLapse + 600, 'the slot renewed twice');
    expect(await redisNow()).toBeGreaterThan(firstLapse);
    expect(done()).toBe(false);
    holder.release('job-a');
    await waiting;
  });

  it('ends an acquire waiting for a slot when the process stops, without taking the slot', async () => {
    const holder = await budget({ concurrent: 1 });
    const stopping = await budget({ concurrent: 1 });
    const third = await budget({ concurrent: 1 });
    await holder.acquire(holder.recordPost(Date.now()), 'job-held');
    const waiting = stopping.acquire(stopping.recordPost(Date.now()), 'job-waiting');
    await queuedAtRedis('job-waiting');
    await stopping.close();
    await expect(waiting).rejects.toThrow(/closed/);
    holder.release('job-held');
    // The stopped process's job never got the slot: the next one does.
    await third.acquire(third.recordPost(Date.now()), 'job-next');
    expect(await slotLapsesAt('job-waiting')).toBeUndefined();
  });

  it('lets a dead process’s waiting job lose its place in the queue, so it holds nobody back', async () => {
    const holder = await budget({ concurrent: 1 });
    const victimStorage = await connect();
    const victim = new RedisSubmitBudget({ redis: victimStorage.redis.client, prefix: victimStorage.redis.prefix, leaseMs: 60_000, requestsPerMinute: 100, concurrentJobs: 1 });
    budgets.push(victim);
    const later = await budget({ concurrent: 1 });
    await holder.acquire(holder.recordPost(Date.now()), 'job-held');
    const dying = victim.acquire(victim.recordPost(Date.now()), 'job-of-the-dead').catch(() => undefined);
    await queuedAtRedis('job-of-the-dead');
    await victimStorage.close(); // its connection is gone: it can neither ask again nor leave the queue
    holder.release('job-held');
    // Queued after the dead one, and still served once the dead one's place lapsed (well before JOB_LEASE_MS).
    await later.acquire(later.recordPost(Date.now()), 'job-later');
    expect(await slotLapsesAt('job-later')).toBeDefined();
    expect(await slotLapsesAt('job-of-the-dead')).toBeUndefined();
    await victim.close();
    await dying;
  });

  it('counts every process’s POSTs in one window', async () => {
    const a = await budget({ rpm: 2, concurrent: 10 });
    const b = await budget({ rpm: 2, concurrent: 10 });
    await a.acquire(a.recordPost(Date.now()), 'job-1');
    await b.acquire(b.recordPost(Date.now()), 'job-2');
    // The window of 2 is full for everybody, though each process sent one: the third waits.
    const third = b.acquire(b.recordPost(Date.now()), 'job-3');
    const done = settled(third);
    await queuedAtRedis('job-3');
    expect(done()).toBe(false);
    expect(await slotLapsesAt('job-3')).toBeUndefined();
    await b.close();
    await expect(third).rejects.toThrow(/closed/);
  });

  it('counts the time a job waits for the account’s last concurrency slot as busy at the limit, not a full window', async () => {
    const holder = await budget({ rpm: 100, concurrent: 1 });
    const waiter = await budget({ rpm: 100, concurrent: 1 });
    await holder.acquire(holder.recordPost(Date.now()), 'job-held');
    const waiting = waiter.acquire(waiter.recordPost(Date.now()), 'job-waiting');
    await waitUntil(() => waiter.limits(Date.now()).busyAtConcurrencyMs > 0, 'the wait counted as busy at the limit');
    holder.release('job-held');
    await waiting;
    // A full per-minute window is not the concurrency limit.
    const windowBound = await budget({ rpm: 3, concurrent: 10 }); // two POSTs of this test are in the window already
    await windowBound.acquire(windowBound.recordPost(Date.now()), 'job-w1');
    const w2 = windowBound.acquire(windowBound.recordPost(Date.now()), 'job-w2');
    await queuedAtRedis('job-w2');
    expect(windowBound.limits(Date.now()).busyAtConcurrencyMs).toBe(0);
    await windowBound.close();
    await expect(w2).rejects.toThrow(/closed/);
  });

  it('gives a freed slot to the job that began waiting first by Redis’s clock, whatever a process’s own clock says', async () => {
    const holder = await budget({ concurrent: 1 });
    const first = await budget({ concurrent: 1 });
    // A process whose clock runs five minutes behind: it used to win every freed slot.
    const behind = await budget({ concurrent: 1, clock: { ...systemClock, now: () => Date.now() - 5 * 60_000 } });
    await holder.acquire(holder.recordPost(Date.now()), 'job-held');
    const order: string[] = [];
    const firstDone = first.acquire(first.recordPost(Date.now()), 'job-first').then(() => order.push('first'));
    await queuedAtRedis('job-first');
    const behindDone = behind.acquire(behind.recordPost(Date.now()), 'job-behind').then(() => order.push('behind'));
    await queuedAtRedis('job-behind');
    holder.release('job-held');
    await firstDone;
    first.release('job-first');
    await behindDone;
    expect(order).toEqual(['first', 'behind']);
  });

  it('lets one live process claim a job, and another take it over once the holder is gone', async () => {
    const s1 = await connect();
    const s2 = await connect();
    const a = await RedisJobLeases.start(s1.redis, 400);
    const b = await RedisJobLeases.start(s2.redis, 400);
    const [fromA, fromB] = await Promise.all([a.claim(['j1', 'j2']), b.claim(['j1', 'j2'])]);
    // Each job went to exactly one of them.
    for (const id of ['j1', 'j2']) expect(Number(fromA.has(id)) + Number(fromB.has(id))).toBe(1);
    const loser = fromA.has('j1') ? b : a;
    const winner = loser === a ? b : a;
    // Past two of its leases by Redis's clock: the holder renews, so it is still its own.
    const past = (await redisNow()) + 800;
    await waitUntil(async () => (await redisNow()) > past, 'two leases gone by');
    expect((await loser.claim(['j1'])).has('j1')).toBe(false);
    await winner.close(); // gone (a clean stop gives the heartbeat up; kill -9 lets it lapse)
    expect((await loser.claim(['j1', 'j2'])).size).toBe(2);
    await loser.close();
  });
});

describe('job leases of shards on one SQLite file', () => {
  let dir = '';
  let storage: Storage | undefined;
  afterEach(async () => {
    await storage?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keeps a job with the shard that took it, and gives the old layout’s jobs to shard 0 of a new one', async () => {
    dir = await mkdtemp(join(tmpdir(), 'leases-'));
    storage = await createStorage(`sqlite://${join(dir, 'l.sqlite')}`, logger);
    const shard0 = new ShardJobLeases(storage, 0, 2);
    const shard1 = new ShardJobLeases(storage, 1, 2);
    expect([...(await shard1.claim(['j1']))]).toEqual(['j1']);
    expect((await shard0.claim(['j1'])).size).toBe(0);
    expect((await shard1.claim(['j1'])).size).toBe(1); // its own again after a restart
    // Now one shard: shard 0 of 1 takes over; a shard of the new layout other than 0 would not.
    expect((await new ShardJobLeases(storage, 1, 3).claim(['j1'])).size).toBe(0);
    expect((await new ShardJobLeases(storage, 0, 1).claim(['j1'])).size).toBe(1);
  });
});
