// The pieces under the multi-process tests, each "process" a separate Redis connection on a namespace of its own
// on the local Redis: the shared budget's slots lapse with a dead holder and go to the job queued first; a job
// lease is taken by one live process only and taken over once its holder is gone. And SQLite shards keep their own.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
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
  const budget = async (opts: { rpm?: number; concurrent?: number; leaseMs?: number } = {}) => {
    const { redis } = await connect();
    const b = new RedisSubmitBudget({ redis: redis.client, prefix: redis.prefix, leaseMs: opts.leaseMs ?? 60_000, requestsPerMinute: opts.rpm ?? 100, concurrentJobs: opts.concurrent ?? 1 });
    budgets.push(b);
    return b;
  };
  /** Until `jobId` is in the queue for a slot that every process reads at Redis. */
  const queuedAtRedis = async (jobId: string): Promise<void> => {
    const { redis } = await connect();
    const score = () => redis.client.eval("return redis.call('ZSCORE', KEYS[1], ARGV[1])", { keys: [`${redis.prefix}luma:waiters`], arguments: [jobId] });
    await waitUntil(async () => (await score()) !== null, `${jobId} waiting at Redis`);
  };
  const settledWithin = async (p: Promise<unknown>, ms: number): Promise<boolean> =>
    Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

  it('frees a dead process’s concurrency slot when its lease lapses, not before', async () => {
    const dead = await budget({ concurrent: 1, leaseMs: 600 });
    const alive = await budget({ concurrent: 1, leaseMs: 600 });
    await dead.acquire(dead.recordPost(Date.now()), 'job-a', 1);
    // The process dies holding the slot: no release, no renewal.
    await dead.close();
    const start = Date.now();
    await alive.acquire(alive.recordPost(Date.now()), 'job-b', 2);
    expect(Date.now() - start).toBeGreaterThanOrEqual(400);
  });

  it('keeps a live process’s slot past the lease by renewing it, and frees it at release', async () => {
    const holder = await budget({ concurrent: 1, leaseMs: 300 });
    const other = await budget({ concurrent: 1, leaseMs: 300 });
    await holder.acquire(holder.recordPost(Date.now()), 'job-a', 1);
    const waiting = other.acquire(other.recordPost(Date.now()), 'job-b', 2);
    expect(await settledWithin(waiting, 1200)).toBe(false);
    holder.release('job-a');
    await waiting;
  });

  it('ends an acquire waiting for a slot when the process stops, without taking the slot', async () => {
    const holder = await budget({ concurrent: 1 });
    const stopping = await budget({ concurrent: 1 });
    const third = await budget({ concurrent: 1 });
    await holder.acquire(holder.recordPost(Date.now()), 'job-held', 1);
    const waiting = stopping.acquire(stopping.recordPost(Date.now()), 'job-waiting', 2);
    await queuedAtRedis('job-waiting');
    await stopping.close();
    await expect(waiting).rejects.toThrow(/closed/);
    holder.release('job-held');
    // The stopped process's job never got the slot: the next one does.
    await third.acquire(third.recordPost(Date.now()), 'job-next', 3);
  });

  it('lets a dead process’s waiting job lose its place in the queue, so it holds nobody back', async () => {
    const holder = await budget({ concurrent: 1 });
    const victimStorage = await connect();
    const victim = new RedisSubmitBudget({ redis: victimStorage.redis.client, prefix: victimStorage.redis.prefix, leaseMs: 60_000, requestsPerMinute: 100, concurrentJobs: 1 });
    budgets.push(victim);
    const later = await budget({ concurrent: 1 });
    await holder.acquire(holder.recordPost(Date.now()), 'job-held', 1);
    const dying = victim.acquire(victim.recordPost(Date.now()), 'job-of-the-dead', 2).catch(() => undefined);
    await queuedAtRedis('job-of-the-dead');
    await victimStorage.close(); // its connection is gone: it can neither ask again nor leave the queue
    holder.release('job-held');
    // Queued after the dead one, and still served once the dead one's place lapsed (well before JOB_LEASE_MS).
    await later.acquire(later.recordPost(Date.now()), 'job-later', 3);
    await victim.close();
    await dying;
  });

  it('counts every process’s POSTs in one window', async () => {
    const a = await budget({ rpm: 2, concurrent: 10 });
    const b = await budget({ rpm: 2, concurrent: 10 });
    await a.acquire(a.recordPost(Date.now()), 'job-1', 1);
    await b.acquire(b.recordPost(Date.now()), 'job-2', 2);
    // The window of 2 is full for everybody, though each process sent one.
    expect(await settledWithin(b.acquire(b.recordPost(Date.now()), 'job-3', 3), 800)).toBe(false);
  });

  it('counts the time a job waits for the account’s last concurrency slot as busy at the limit, not a full window', async () => {
    const holder = await budget({ rpm: 100, concurrent: 1 });
    const waiter = await budget({ rpm: 100, concurrent: 1 });
    await holder.acquire(holder.recordPost(Date.now()), 'job-held', 1);
    const waiting = waiter.acquire(waiter.recordPost(Date.now()), 'job-waiting', 2);
    await waitUntil(() => waiter.limits(Date.now()).busyAtConcurrencyMs > 0, 'the wait counted as busy at the limit');
    holder.release('job-held');
    await waiting;
    // A full per-minute window is not the concurrency limit.
    const windowBound = await budget({ rpm: 3, concurrent: 10 }); // two POSTs of this test are in the window already
    await windowBound.acquire(windowBound.recordPost(Date.now()), 'job-w1', 3);
    expect(await settledWithin(windowBound.acquire(windowBound.recordPost(Date.now()), 'job-w2', 4), 600)).toBe(false);
    expect(windowBound.limits(Date.now()).busyAtConcurrencyMs).toBe(0);
  });

  it('gives a freed slot to the job queued first, whichever process asked first', async () => {
    const holder = await budget({ concurrent: 1 });
    const young = await budget({ concurrent: 1 });
    const old = await budget({ concurrent: 1 });
    await holder.acquire(holder.recordPost(Date.now()), 'job-held', 1);
    const order: string[] = [];
    const youngDone = young.acquire(young.recordPost(Date.now()), 'job-young', 2000).then(() => order.push('young'));
    await queuedAtRedis('job-young');
    const oldDone = old.acquire(old.recordPost(Date.now()), 'job-old', 1000).then(() => order.push('old'));
    await queuedAtRedis('job-old');
    holder.release('job-held');
    await oldDone;
    old.release('job-old');
    await youngDone;
    expect(order).toEqual(['old', 'young']);
  });

  it('lets one live process claim a job, and another take it over once the holder is gone', async () => {
    const s1 = await connect();
    const s2 = await connect();
    const a = await RedisJobLeases.start(s1.redis.client, s1.redis.prefix, 400);
    const b = await RedisJobLeases.start(s2.redis.client, s2.redis.prefix, 400);
    const [fromA, fromB] = await Promise.all([a.claim(['j1', 'j2']), b.claim(['j1', 'j2'])]);
    // Each job went to exactly one of them.
    for (const id of ['j1', 'j2']) expect(Number(fromA.has(id)) + Number(fromB.has(id))).toBe(1);
    const loser = fromA.has('j1') ? b : a;
    const winner = loser === a ? b : a;
    await new Promise((r) => setTimeout(r, 900)); // the holder renews: still its own
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
