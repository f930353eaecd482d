// Storage faults fail closed: a quota reservation or a job save that storage did not record fails (never
// "succeeds" into thin air), on a SQLite file locked by another process and on a Redis that refuses writes or is gone.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserFacingError } from '../../src/errors.js';
import { JobRecords } from '../../src/jobs/records.js';
import { QuotaService } from '../../src/quota/service.js';
import type { Requester } from '../../src/quota/types.js';
import { createStorage, StorageError, type Storage } from '../../src/storage/index.js';
import { lockSqliteFile, startPrivateRedis, type PrivateRedis, type SqliteLock } from '../helpers/storage-faults.js';
import { capturingLogger } from '../helpers/logs.js';
import { snowflake } from '../quota/backends.js';
import { makeJob, quotaConfig } from '../quota/fixtures.js';
import { rejectionOf } from '../helpers/rejection.js';
import { waitUntil } from '../helpers/wait.js';

const operatorLines = (lines: Array<Record<string, unknown>>) => lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('OPERATOR:'));

describe('storage faults on SQLite locked by another process', () => {
  let dir: string;
  let file: string;
  let storage: Storage;
  let lock: SqliteLock | undefined;
  const { logger, lines } = capturingLogger();

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'storage-faults-'));
    file = join(dir, 'bot.sqlite');
    storage = await createStorage(`sqlite://${file}`, logger, { busyTimeoutMs: 100 });
    await storage.set('warm', 1); // the table exists and the connection is open before the lock is taken
    lines.length = 0;
  });
  afterEach(async () => {
    await lock?.release();
    lock = undefined;
    await storage.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses all three reservations at a limit of 1 while the file is locked, charges nothing, and counts again once it is free', async () => {
    const quota = new QuotaService({ storage, logger, config: quotaConfig({ quotaDefaultLimit: 1 }) });
    const member: Requester = { userId: snowflake(), guildId: snowflake(), roleIds: [], userInstalled: false };
    lock = await lockSqliteFile(file);
    for (let i = 0; i < 3; i++) {
      const job = makeJob({ userId: member.userId, guildId: member.guildId });
      const err = await rejectionOf(quota.reserve(job, member));
      expect(err).toBeInstanceOf(StorageError);
      expect(job.quota).toBeUndefined();
    }
    await lock.release();
    expect((await quota.status({ ...member, userInstalled: false })).used).toBe(0);
    await quota.reserve(makeJob({ userId: member.userId, guildId: member.guildId }), member);
    expect(await rejectionOf(quota.reserve(makeJob({ userId: member.userId, guildId: member.guildId }), member))).toBeInstanceOf(UserFacingError);
    expect((await quota.status({ ...member, userInstalled: false })).used).toBe(1);
  });

  it('a job save that cannot land fails after its retries, with one OPERATOR line for the outage', async () => {
    const store = new JobRecords(storage, { logger, retryDelaysMs: [10, 20, 40] });
    const job = makeJob({ userId: snowflake(), guildId: snowflake() });
    lock = await lockSqliteFile(file);
    expect(await rejectionOf(store.save(job))).toBeInstanceOf(StorageError);
    expect(await rejectionOf(store.save({ ...job, step: 'polling' }))).toBeInstanceOf(StorageError);
    expect(operatorLines(lines)).toHaveLength(1);
    expect(lines.filter((l) => l.msg === 'job save failed; retrying').length).toBeGreaterThanOrEqual(3);
    await lock.release();
    await store.save(job);
    expect((await store.get(job.id))?.step).toBe('queued');
    expect(lines.some((l) => l.msg === 'storage accepts writes again')).toBe(true);
  });

  it('a running job whose save meets a lock retries with back-off and lands once the lock is gone', async () => {
    const store = new JobRecords(storage, { logger, retryDelaysMs: [50, 100, 200, 400, 800, 1600, 3200, 6400] });
    const job = makeJob({ userId: snowflake(), guildId: snowflake() });
    await store.save(job);
    lock = await lockSqliteFile(file);
    job.step = 'polling';
    job.generationId = 'gen_saved_after_the_lock';
    const saving = store.save(job);
    // Released only once a save attempt has really failed: the retry, not the first attempt, must land it.
    await waitUntil(() => lines.some((l) => l.msg === 'job save failed; retrying'), 'a retried save');
    await lock.release();
    await saving;
    expect((await store.get(job.id))?.generationId).toBe('gen_saved_after_the_lock');
    expect(operatorLines(lines)).toHaveLength(0);
  });
});

describe('storage faults on a private Redis', () => {
  let redis: PrivateRedis;
  let storage: Storage;
  const { logger, lines } = capturingLogger();

  beforeEach(async () => {
    redis = await startPrivateRedis();
    storage = await createStorage(redis.url, logger);
    lines.length = 0;
  });
  afterEach(async () => {
    await storage.close().catch(() => undefined);
    await redis.stop();
  });

  it('refuses all three reservations at a limit of 1 while Redis refuses writes, charges nothing, and counts again after', async () => {
    const quota = new QuotaService({ storage, logger, config: quotaConfig({ quotaDefaultLimit: 1 }) });
    const member: Requester = { userId: snowflake(), guildId: snowflake(), roleIds: [], userInstalled: false };
    await redis.refuseWrites(true);
    for (let i = 0; i < 3; i++) {
      const job = makeJob({ userId: member.userId, guildId: member.guildId });
      expect(await rejectionOf(quota.reserve(job, member))).toBeInstanceOf(StorageError);
      expect(job.quota).toBeUndefined();
    }
    await redis.refuseWrites(false);
    expect((await quota.status({ ...member, userInstalled: false })).used).toBe(0);
    await quota.reserve(makeJob({ userId: member.userId, guildId: member.guildId }), member);
    expect(await rejectionOf(quota.reserve(makeJob({ userId: member.userId, guildId: member.guildId }), member))).toBeInstanceOf(UserFacingError);
  });

  it('a job save fails (it does not hang or vanish) when Redis refuses writes, with one OPERATOR line', async () => {
    const store = new JobRecords(storage, { shardKey: `t${randomBytes(4).toString('hex')}`, logger, retryDelaysMs: [10, 20] });
    const job = makeJob({ userId: snowflake(), guildId: snowflake() });
    await redis.refuseWrites(true);
    expect(await rejectionOf(store.save(job))).toBeInstanceOf(StorageError);
    expect(operatorLines(lines)).toHaveLength(1);
    await redis.refuseWrites(false);
    await store.save(job);
    expect((await store.get(job.id))?.id).toBe(job.id);
  });

  it('refuses a reservation and fails a save, rather than waiting for ever, when Redis is gone', async () => {
    const quota = new QuotaService({ storage, logger, config: quotaConfig({ quotaDefaultLimit: 1 }) });
    const store = new JobRecords(storage, { logger, retryDelaysMs: [10, 20] });
    const member: Requester = { userId: snowflake(), guildId: snowflake(), roleIds: [], userInstalled: false };
    await redis.stop();
    const job = makeJob({ userId: member.userId, guildId: member.guildId });
    expect(await rejectionOf(quota.reserve(job, member))).toBeInstanceOf(StorageError);
    expect(job.quota).toBeUndefined();
    expect(await rejectionOf(store.save(job))).toBeInstanceOf(StorageError);
    expect(operatorLines(lines)).toHaveLength(1);
  });
});
