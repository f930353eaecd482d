// Two writers of one shared record on real Redis (two connections: two processes, as far as locks go). Writer A
// stalls between reading the record and writing it while holding the storage lock; the lock's time to live lapses
// (its key is deleted here, as Redis would when PX runs out), writer B takes the lock and writes; then A goes on.
// A's write must not undo B's: no lost update of a quota counter, a member's history, the active-job index or a
// server's policy. And an index that lost one of a process's jobs gets it back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '@keyv/redis';
import { ActiveIndex } from '../../src/jobs/active-index.js';
import { MemberHistory } from '../../src/jobs/history.js';
import { GuildPolicyStore } from '../../src/guild-settings/store.js';
import { QuotaService } from '../../src/quota/service.js';
import type { Requester } from '../../src/quota/types.js';
import type { Storage } from '../../src/storage/index.js';
import { ManualClock } from '../helpers/clock.js';
import { capturingLogger } from '../helpers/logs.js';
import { waitUntil } from '../helpers/wait.js';
import { openBackend, REDIS_URL, snowflake, type OpenBackend } from '../quota/backends.js';
import { makeJob, quotaConfig, refusal } from '../quota/fixtures.js';

/** A pause a writer makes at one point, once: `reached` when it is there, `go()` lets it on. */
interface Stall {
  reached: Promise<void>;
  go(): void;
}

/**
 * Storage that stalls once between the read and the write of a record whose key matches: inside an atomic step
 * after it was decided, or (for code that reads and then sets) before the set.
 */
function stalling(inner: Storage, key: RegExp): { storage: Storage; stall: Stall } {
  let reached!: () => void;
  let go!: () => void;
  const stall: Stall = { reached: new Promise<void>((r) => (reached = r)), go: () => go() };
  const released = new Promise<void>((r) => (go = r));
  let armed = true;
  const pause = async (k: string) => {
    if (!armed || !key.test(k)) return;
    armed = false;
    reached();
    await released;
  };
  const storage: Storage = {
    ...inner,
    kind: inner.kind,
    alarm: inner.alarm,
    get: (k) => inner.get(k),
    delete: (k) => inner.delete(k),
    withLock: (name, fn) => inner.withLock(name, fn),
    set: async (k, value, ttl) => {
      await pause(k);
      await inner.set(k, value, ttl);
    },
    atomic: (keys, decide) =>
      inner.atomic(keys, async (values) => {
        const step = await decide(values);
        for (const w of step.writes) await pause(w.key);
        return step;
      }),
  };
  return { storage, stall };
}

describe('a writer that stalls past its storage lock on Redis', () => {
  const { logger, lines } = capturingLogger();
  let backend: OpenBackend;
  let redis: ReturnType<typeof createClient>;

  beforeAll(async () => {
    backend = await openBackend('redis', logger);
    redis = createClient({ url: REDIS_URL });
    await redis.connect();
  });
  afterAll(async () => {
    await backend?.close();
    redis?.destroy();
  });

  /** The storage locks of this test's records lapse (as when their PX runs out while the holder stalls). */
  async function lapseLocks(): Promise<number> {
    const keys: string[] = [];
    for await (const batch of redis.scanIterator({ MATCH: `bot:lock:${backend.storage.ns}*`, COUNT: 500 })) keys.push(...(Array.isArray(batch) ? batch : [batch]));
    if (keys.length > 0) await redis.del(keys);
    return keys.length;
  }

  /** A writes while stalled; the lock lapses; B writes in full; then A goes on. */
  async function race<A, B>(stall: Stall, a: () => Promise<A>, b: () => Promise<B>): Promise<[PromiseSettledResult<A>, B]> {
    const first = a().then(
      (value) => ({ status: 'fulfilled', value }) as const,
      (reason: unknown) => ({ status: 'rejected', reason }) as const,
    );
    await stall.reached;
    expect(await lapseLocks()).toBeGreaterThan(0);
    const second = await b();
    stall.go();
    return [await first, second];
  }

  it('quota counters: the stalled reservation is settled against the other one, so the limit holds', async () => {
    const clock = new ManualClock(Date.parse('2026-05-06T12:00:00Z'));
    const { storage, stall } = stalling(backend.storage, /^quota:use:/);
    const config = quotaConfig({ quotaDefaultLimit: 1 });
    const a = new QuotaService({ storage, logger, config, now: () => clock.now() });
    const b = new QuotaService({ storage: await backend.second(), logger, config, now: () => clock.now() });
    const member: Requester = { userId: snowflake(), guildId: snowflake(), roleIds: [], userInstalled: false };
    const job = () => makeJob({ userId: member.userId, guildId: member.guildId });

    const [stalled] = await race(stall, () => a.reserve(job(), member), () => b.reserve(job(), member));
    // One unit, two requests: the stalled one is refused (before: both went through, and the counter said 1).
    expect(stalled.status).toBe('rejected');
    expect((await refusal(Promise.reject((stalled as PromiseRejectedResult).reason))).options.code).toBe('quota_exceeded');
    expect((await a.status(member)).used).toBe(1);
  });

  it('member history: both requests are kept', async () => {
    const { storage, stall } = stalling(backend.storage, /^jobs:history:/);
    const a = new MemberHistory(storage);
    const b = new MemberHistory(await backend.second());
    const userId = snowflake();
    const guildId = snowflake();
    const job = (id: string) => ({ id, requester: { userId, guildId } });
    await race(stall, () => a.add(job('first')), () => b.add(job('second')));
    expect((await a.ids(guildId, userId)).sort()).toEqual(['first', 'second']);
  });

  it('the active-job index: both jobs are listed', async () => {
    const clock = new ManualClock(0);
    const { storage, stall } = stalling(backend.storage, /^jobs:active$/);
    const a = new ActiveIndex({ storage, clock, log: logger }, '0');
    const b = new ActiveIndex({ storage: await backend.second(), clock, log: logger }, '0');
    await race(stall, () => a.keep('job-of-a'), () => b.keep('job-of-b'));
    expect((await backend.storage.get<string[]>('jobs:active'))?.sort()).toEqual(['job-of-a', 'job-of-b']);
  });

  it("a server's policy: both admins' terms are kept", async () => {
    const { storage, stall } = stalling(backend.storage, /^guild:policy:/);
    const a = new GuildPolicyStore(storage);
    const b = new GuildPolicyStore(await backend.second());
    const guildId = snowflake();
    await race(
      stall,
      () => a.update(guildId, (p) => p.blockedTerms.push('dragon')),
      () => b.update(guildId, (p) => p.blockedTerms.push('城')),
    );
    expect((await a.get(guildId)).blockedTerms.sort()).toEqual(['dragon', '城']);
  });

  it('an index that lost a job of this process gets it back at the next read', async () => {
    const clock = new ManualClock(0);
    const a = new ActiveIndex({ storage: backend.storage, clock, log: logger }, '0');
    await a.keep('kept-by-a');
    await a.keep('also-kept-by-a');
    // Another writer lost one of them (a write over a stale copy, by an older version or by hand).
    await backend.storage.set('jobs:active', ['also-kept-by-a']);
    expect((await a.ids()).sort()).toEqual(['also-kept-by-a']);
    await waitUntil(async () => (await backend.storage.get<string[]>('jobs:active'))?.includes('kept-by-a'), 'the lost job back in the index');
    expect(lines.some((l) => l.msg.startsWith('put jobs of this process back into the active-job index'))).toBe(true);
  });

  it('a job record the index lost is put back when a process starts (found where the data is, by a script over SCAN)', async () => {
    const clock = new ManualClock(0);
    const job = { ...makeJob({ userId: snowflake(), guildId: snowflake() }), step: 'polling' as const };
    const done = { ...makeJob({ userId: snowflake(), guildId: snowflake() }), step: 'done' as const };
    await backend.storage.set(`job:${job.id}`, job);
    await backend.storage.set(`job:${done.id}`, done);
    await backend.storage.set('jobs:active', ['another-job']);
    const fresh = new ActiveIndex({ storage: await backend.second(), clock, log: logger }, '0');
    expect((await fresh.ids()).sort()).toEqual(['another-job', job.id].sort());
  });
});
