// The fence of job leases (src/jobs/fence.ts): a save by a process whose claim was superseded is refused, a POST in
// flight holds its job against takeover, and a job that is no longer ours gets no further side effect — no POST, no
// upload, no refund, no notice, no save — on the manual clock, with in-memory storage (one process: the fence is
// trivial, a lost lease is simulated) and with Redis (a second claimer takes the job over).
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { LeaseLostError } from '../../src/jobs/fence.js';
import { LocalJobLeases, RedisJobLeases } from '../../src/jobs/leases.js';
import type { JobCharges } from '../../src/jobs/steps/context.js';
import type { JobRecord } from '../../src/jobs/types.js';
import { createMemoryStorage, createStorage, type Storage } from '../../src/storage/index.js';
import { startEngineWorld, type EngineWorld } from '../helpers/engine-world.js';
import { deleteNamespace, REDIS_URL, testNamespace } from '../helpers/redis-keys.js';
import { waitUntil } from '../helpers/wait.js';

const logger = pino({ level: 'silent' });
type RedisStorage = Storage & { redis: NonNullable<Storage['redis']> };

describe('fenced job leases on Redis', () => {
  const open: Storage[] = [];
  const leases: RedisJobLeases[] = [];
  let ns = '';
  afterEach(async () => {
    for (const l of leases.splice(0)) await l.close();
    for (const s of open.splice(0)) await s.close();
    if (ns) await deleteNamespace(ns);
    ns = '';
  });

  const connect = async (): Promise<RedisStorage> => {
    ns ||= testNamespace();
    const s = await createStorage(REDIS_URL, logger, { namespace: ns });
    open.push(s);
    if (!s.redis) throw new Error('no raw Redis client');
    return s as RedisStorage;
  };
  const process = async (leaseMs = 60_000) => {
    const storage = await connect();
    const l = await RedisJobLeases.start(storage.redis, leaseMs);
    leases.push(l);
    return { storage, leases: l };
  };
  /** The process stalls past its lease: its heartbeat is gone (as after a SIGSTOP, or Redis unreachable). */
  const lapse = (p: { storage: RedisStorage; leases: RedisJobLeases }) =>
    p.storage.redis.client.eval("return redis.call('DEL', KEYS[1])", { keys: [`${p.storage.redis.prefix}lease:proc:${p.leases.processId}`], arguments: [] });

  it('refuses the saves and checks of a process whose claim was superseded, and tells it which jobs it lost', async () => {
    const a = await process();
    const b = await process();
    expect([...(await a.leases.claim(['j1', 'j2']))].sort()).toEqual(['j1', 'j2']);
    await a.leases.write('j1', 'job:j1', { by: 'a', n: 1 }, undefined);
    // A live holder keeps its jobs.
    expect((await b.leases.claim(['j1', 'j2'])).size).toBe(0);

    await lapse(a);
    expect([...(await b.leases.claim(['j1', 'j2']))].sort()).toEqual(['j1', 'j2']);
    await b.leases.write('j1', 'job:j1', { by: 'b', n: 2 }, undefined);

    // The stale process's late save and its check before a side effect are refused; the record stays the new owner's.
    await expect(a.leases.write('j1', 'job:j1', { by: 'a', n: 3 }, undefined)).rejects.toBeInstanceOf(LeaseLostError);
    await expect(a.leases.check('j2')).rejects.toBeInstanceOf(LeaseLostError);
    expect(await a.storage.get('job:j1')).toEqual({ by: 'b', n: 2 });
    expect(a.leases.holds('j1')).toBe(false);

    // A third claim (a Retry elsewhere, say) supersedes the second: the epoch only grows.
    const c = await process();
    await lapse(b);
    expect([...(await c.leases.claim(['j1']))]).toEqual(['j1']);
    const lost: string[][] = [];
    b.leases.onLost((ids) => lost.push(ids));
    await b.leases.renew(); // its heartbeat comes back: the jobs taken meanwhile are named, and dropped
    expect(lost).toEqual([['j1']]);
    expect(b.leases.holds('j2')).toBe(true);
    await expect(b.leases.write('j1', 'job:j1', { by: 'b', n: 4 }, undefined)).rejects.toBeInstanceOf(LeaseLostError);
    await b.leases.write('j2', 'job:j2', { by: 'b' }, undefined);
  });

  it('holds a job whose POST is in flight against takeover until the POST’s answer is saved', async () => {
    const a = await process();
    const b = await process();
    await a.leases.claim(['j1']);
    await a.leases.check('j1', { holdMs: 60_000 });
    await lapse(a);
    // A stalled past its lease, but its POST may have reached Luma: nobody takes the job.
    expect((await b.leases.claim(['j1'])).size).toBe(0);
    // Its answer is saved (fenced, ending the hold)...
    await a.leases.write('j1', 'job:j1', { generationId: 'g1' }, undefined);
    // ...and only then may another process take the job over (A's heartbeat is still gone).
    expect([...(await b.leases.claim(['j1']))]).toEqual(['j1']);
    await expect(a.leases.write('j1', 'job:j1', { generationId: 'late' }, undefined)).rejects.toBeInstanceOf(LeaseLostError);
    expect(await a.storage.get('job:j1')).toEqual({ generationId: 'g1' });
  });

  it('claims nothing with a lapsed heartbeat of its own before renewing it', async () => {
    const a = await process();
    const b = await process();
    await b.leases.claim(['j1']);
    await lapse(a);
    await lapse(b);
    // A's claim renews A first; B's job is free (B's heartbeat is gone), so A takes it with a new epoch.
    expect([...(await a.leases.claim(['j1']))]).toEqual(['j1']);
    await expect(b.leases.write('j1', 'job:j1', { by: 'b' }, undefined)).rejects.toBeInstanceOf(LeaseLostError);
  });
});

/** One process's leases where the test decides when a job is lost (as when another process took it over). */
class StealableLeases extends LocalJobLeases {
  readonly stolen = new Set<string>();
  override async write(jobId: string, key: string, value: unknown, ttlMs: number | undefined): Promise<void> {
    if (this.stolen.has(jobId)) throw new LeaseLostError(jobId, 'taken over');
    await super.write(jobId, key, value, ttlMs);
  }
  override async check(jobId?: string): Promise<void> {
    if (jobId !== undefined && this.stolen.has(jobId)) throw new LeaseLostError(jobId, 'taken over');
  }
}

/** Until the engine has let the job go (its lease's answer comes over the network, not on the manual clock). */
const dropped = (w: EngineWorld) => waitUntil(() => w.engine.jobStats().total === 0, 'the job dropped');

/** Moves the world's clock in steps until `cond` holds (Redis answers in real time, between the steps). */
async function runUntil<T>(w: EngineWorld, cond: () => Promise<T | false | undefined>): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const got = await cond();
    if (got !== undefined && got !== false) return got;
    await w.run(100);
  }
  throw new Error('the condition never held');
}

/** Charges that count refunds. */
function countingCharges(): JobCharges & { refunds: string[] } {
  const refunds: string[] = [];
  return { refunds, commit: async () => undefined, refund: async (job: JobRecord) => void refunds.push(job.id) };
}

describe.each(['memory', 'redis'] as const)('a job whose lease is lost does nothing more (%s storage, manual clock)', (kind) => {
  let w: EngineWorld | undefined;
  let ns = '';
  let thief: { storage: Storage; leases: RedisJobLeases } | undefined;
  afterEach(async () => {
    await w?.close();
    w = undefined;
    await thief?.leases.close();
    await thief?.storage.close();
    thief = undefined;
    if (ns) await deleteNamespace(ns);
    ns = '';
  });

  /** The world, and how to take one of its jobs away from it. */
  async function makeWorld(): Promise<{ w: EngineWorld; steal: (id: string) => Promise<void>; charges: ReturnType<typeof countingCharges> }> {
    const charges = countingCharges();
    if (kind === 'memory') {
      const storage = createMemoryStorage(logger);
      const leases = new StealableLeases(storage);
      const world = await startEngineWorld({ storage: () => storage, deps: { leases, charges } });
      return { w: world, charges, steal: async (id) => void leases.stolen.add(id) };
    }
    ns = testNamespace();
    const storage = (await createStorage(REDIS_URL, logger, { namespace: ns })) as RedisStorage;
    const mine = await RedisJobLeases.start(storage.redis, 60_000);
    const world = await startEngineWorld({ storage: () => storage, deps: { leases: mine, charges } });
    const other = (await createStorage(REDIS_URL, logger, { namespace: ns })) as RedisStorage;
    thief = { storage: other, leases: await RedisJobLeases.start(other.redis, 60_000) };
    const t = thief;
    return {
      w: world,
      charges,
      steal: async (id) => {
        // This process stalled past its lease; the other one takes the job (a new epoch) and renews its own.
        await storage.redis.client.eval("return redis.call('DEL', KEYS[1])", { keys: [`${storage.redis.prefix}lease:proc:${mine.processId}`], arguments: [] });
        expect([...(await t.leases.claim([id]))]).toEqual([id]);
      },
    };
  }

  it('sends no POST for a job lost before it went', async () => {
    const { w: world, steal } = await makeWorld();
    w = world;
    const job = await w.submit('u1', 'fence: lost before the POST');
    await steal(job.id);
    await w.run(5000);
    await dropped(w);
    expect(w.luma.posts()).toHaveLength(0);
    expect(((await w.records.get(job.id)) ?? { step: 'none' }).step).toBe('queued');
    expect(w.lines.some((l) => String(l.msg).startsWith('OPERATOR:'))).toBe(true);
  });

  it('neither delivers, refunds nor saves a job lost while Luma made its image', async () => {
    const { w: world, steal, charges } = await makeWorld();
    w = world;
    w.luma.planNext({ hold: true });
    const job = await w.submit('u1', 'fence: lost while polling');
    const before = await runUntil(w, async () => {
      const stored = await w?.records.get(job.id);
      return stored?.step === 'polling' && stored;
    });
    expect(w.luma.posts()).toHaveLength(1);
    await steal(job.id);
    for (const g of w.luma.generations()) w.luma.release(g.id);
    await w.run(10_000);
    await dropped(w);
    expect(w.deliver.of(job.id).result).toBeUndefined();
    expect(w.deliver.of(job.id).failure).toBeUndefined();
    expect(charges.refunds).toEqual([]);
    expect((await w.records.get(job.id))?.updatedAt).toBe(before?.updatedAt);
    expect(w.lines.filter((l) => String(l.msg).startsWith('OPERATOR:'))).toHaveLength(1);
  });

  it('gives no refund and sends no notice for a job lost before its failure was finished', async () => {
    const { w: world, steal, charges } = await makeWorld();
    w = world;
    w.luma.planNext({ hold: true, failWith: 'generation_failed' });
    const job = await w.submit('u1', 'fence: lost before the refund');
    await runUntil(w, async () => (await w?.records.get(job.id))?.step === 'polling');
    await steal(job.id);
    for (const g of w.luma.generations()) w.luma.release(g.id);
    await w.run(10_000);
    await dropped(w);
    expect(charges.refunds).toEqual([]);
    expect(w.deliver.of(job.id).failure).toBeUndefined();
    expect(((await w.records.get(job.id)) ?? { step: 'none' }).step).toBe('polling');
  });
});
