// The active-job index is one record of every active id. Changes that arrive while a write is in flight go together
// in the next write (a group commit), so a burst of 2,000 commands does not rewrite it 2,000 times in a row.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JobRecords } from '../../src/jobs/records.js';
import { createStorage, sequentialAtomic, StorageError, type Storage } from '../../src/storage/index.js';
import { ManualClock } from '../helpers/clock.js';
import { capturingLogger } from '../helpers/logs.js';
import { snowflake } from '../quota/backends.js';
import { makeJob } from '../quota/fixtures.js';
import { waitUntil } from '../helpers/wait.js';

describe('the active-job index', () => {
  let dir: string;
  let storage: Storage;
  /** Writes of the index record, and a switch to make them fail as a full disk would. */
  let indexWrites: number;
  let refuseIndex: boolean;
  const { logger } = capturingLogger();

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'active-index-'));
    const real = await createStorage(`sqlite://${join(dir, 'bot.sqlite')}`, logger);
    indexWrites = 0;
    refuseIndex = false;
    storage = {
      ...real,
      kind: real.kind,
      alarm: real.alarm,
      set: async (key, value, ttl) => {
        if (key === 'jobs:active') {
          indexWrites++;
          if (refuseIndex) throw new StorageError('set', key, new Error('database or disk is full'));
        }
        return real.set(key, value, ttl);
      },
      // The index's read-modify-write through this wrapper's own writes.
      atomic: (keys, decide) => sequentialAtomic(storage, keys, decide),
    };
  });
  afterEach(async () => {
    await storage.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('stores 300 jobs saved at once in a few index writes, and a fresh process lists every one of them', async () => {
    const store = new JobRecords(storage, { logger });
    const jobs = Array.from({ length: 300 }, () => makeJob({ userId: snowflake(), guildId: snowflake() }));
    await Promise.all(jobs.map((j) => store.save(j, { newJob: true })));
    expect(indexWrites).toBeGreaterThan(0);
    expect(indexWrites).toBeLessThan(30);

    const listed = await new JobRecords(storage, { logger }).listActive();
    expect(listed.map((j) => j.id).sort()).toEqual(jobs.map((j) => j.id).sort());

    // Finished together: taken off together (without a write each), and none is left behind.
    const before = indexWrites;
    await Promise.all(jobs.map((j) => store.save({ ...j, step: 'done' })));
    await store.flushIndex();
    expect(indexWrites - before).toBeGreaterThan(0);
    expect(indexWrites - before).toBeLessThan(5);
    expect(await storage.get('jobs:active')).toEqual([]);
    expect(await new JobRecords(storage, { logger }).listActive()).toEqual([]);
  });

  it('puts unfinished jobs the index lost back when a process starts, from the job records (not finished ones)', async () => {
    const store = new JobRecords(storage, { logger });
    const [lost, kept, finished] = Array.from({ length: 3 }, () => makeJob({ userId: snowflake(), guildId: snowflake() }));
    if (!lost || !kept || !finished) throw new Error('no jobs');
    for (const j of [lost, kept, finished]) await store.save(j, { newJob: true });
    await store.save({ ...finished, step: 'done' });
    await store.flushIndex();
    await storage.set('jobs:active', [kept.id]); // the index lost one (written over by a stale copy, say)

    const listed = await new JobRecords(storage, { logger }).listActive();
    expect(listed.map((j) => j.id).sort()).toEqual([lost.id, kept.id].sort());
    expect((await storage.get<string[]>('jobs:active'))?.sort()).toEqual([lost.id, kept.id].sort());
  });

  it('takes ended jobs out with the next index write, and keeps one that is active again', async () => {
    const store = new JobRecords(storage, { logger });
    const [ended, retried, fresh] = Array.from({ length: 3 }, () => makeJob({ userId: snowflake(), guildId: snowflake() }));
    if (!ended || !retried || !fresh) throw new Error('three jobs');
    await store.save(ended, { newJob: true });
    await store.save(retried, { newJob: true });
    const before = indexWrites;
    await store.save({ ...ended, step: 'done' });
    await store.save({ ...retried, step: 'failed' });
    expect(indexWrites).toBe(before); // nobody waits for the index to drop an ended job
    await store.save({ ...retried, step: 'downloading' }); // a Retry
    await store.save(fresh, { newJob: true });
    expect(indexWrites).toBe(before + 1);
    expect(((await storage.get<string[]>('jobs:active')) ?? []).sort()).toEqual([retried.id, fresh.id].sort());
  });

  it('takes ended jobs out on its own a second later when no other write comes', async () => {
    const clock = new ManualClock();
    const store = new JobRecords(storage, { logger, clock });
    const job = makeJob({ userId: snowflake(), guildId: snowflake() });
    await store.save(job, { newJob: true });
    await store.save({ ...job, step: 'done' });
    await clock.advance(999);
    expect(await storage.get('jobs:active')).toEqual([job.id]);
    await clock.advance(1);
    await waitUntil(async () => ((await storage.get<string[]>('jobs:active')) ?? ['not read']).length === 0, 'the ended job out of the index');
  });

  it('keeps an ended job to take out when the index write fails, and takes it out with the next', async () => {
    const store = new JobRecords(storage, { logger, retryDelaysMs: [] });
    const job = makeJob({ userId: snowflake(), guildId: snowflake() });
    await store.save(job, { newJob: true });
    await store.save({ ...job, step: 'done' });
    refuseIndex = true;
    await expect(store.flushIndex()).rejects.toBeInstanceOf(StorageError);
    expect(await storage.get('jobs:active')).toEqual([job.id]);
    refuseIndex = false;
    await store.flushIndex();
    expect(await storage.get('jobs:active')).toEqual([]);
  });

  it('fails every save of a batch whose index write failed, and stores them once storage takes writes again', async () => {
    const store = new JobRecords(storage, { logger, retryDelaysMs: [] });
    const jobs = Array.from({ length: 20 }, () => makeJob({ userId: snowflake(), guildId: snowflake() }));
    refuseIndex = true;
    const results = await Promise.allSettled(jobs.map((j) => store.save(j)));
    expect(results.every((r) => r.status === 'rejected' && r.reason instanceof StorageError)).toBe(true);
    expect(await new JobRecords(storage, { logger }).listActive()).toEqual([]);

    refuseIndex = false;
    await Promise.all(jobs.map((j) => store.save(j)));
    const listed = await new JobRecords(storage, { logger }).listActive();
    expect(listed.map((j) => j.id).sort()).toEqual(jobs.map((j) => j.id).sort());
  });
});
