// One corrupt record never stops the bot: the job store checks records when read; a truncated or wrong-shaped one
// is moved to jobs:quarantine:<id> with one OPERATOR line, and the rest are served.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jobRecordProblem } from '../../src/jobs/schema.js';
import { JobStore } from '../../src/jobs/store.js';
import { createStorage, type Storage } from '../../src/storage/index.js';
import { sqliteExec } from '../helpers/storage-faults.js';
import { createClient } from '@keyv/redis';
import { capturingLogger } from '../helpers/logs.js';
import { openBackend, REDIS_URL, snowflake, type OpenBackend } from '../quota/backends.js';
import { makeJob } from '../quota/fixtures.js';

const sql = (s: string) => s.replace(/'/g, "''");

describe('the shape check of a job record', () => {
  const job = () => makeJob({ userId: snowflake(), guildId: snowflake() });

  it('passes a record as the bot writes it, with and without its optional parts', () => {
    const j = job();
    expect(jobRecordProblem(j, j.id)).toBeUndefined();
    const full = { ...job(), generationId: 'gen_1', notBefore: 5, failure: { code: 'x', userMessage: 'y', retryable: true } };
    expect(jobRecordProblem(full, full.id)).toBeUndefined();
    expect(jobRecordProblem(JSON.parse(JSON.stringify(full)), full.id)).toBeUndefined();
  });

  it('passes a record with the member’s and the server’s locale and a failure kept as key and values, and one without', () => {
    const base = job();
    const localized = {
      ...base,
      discord: { ...base.discord, locale: 'ja', guildLocale: null },
      failure: { code: 'job_too_old', userMessage: 'Luma did not finish…', key: 'failure.job_too_old', vars: { durationMs: 600_000 }, retryable: true },
    };
    expect(jobRecordProblem(localized, localized.id)).toBeUndefined();
    expect(jobRecordProblem({ ...base, discord: { ...base.discord, locale: 7 } }, base.id)).toContain('discord.locale: expected a string');
    expect(jobRecordProblem({ ...localized, failure: { ...localized.failure, vars: { a: {} } } }, base.id)).toContain('failure.vars');
  });

  it.each([
    ['not an object', () => 'text', 'expected an object'],
    ['another job’s id', () => ({ ...job(), id: 'other' }), 'id: expected'],
    ['an unknown step', () => ({ ...job(), step: 'exploded' }), 'step: expected'],
    ['no discord part', () => ({ ...job(), discord: undefined }), 'discord: expected an object'],
    ['a discord part without a user', () => ({ ...job(), discord: { ...job().discord, userId: 5 } }), 'discord.userId: expected a string'],
    ['no request prompt', () => ({ ...job(), request: { model: 'uni-1' } }), 'request.prompt: expected a string'],
    ['a bad input', () => ({ ...job(), inputs: [{ role: 'source' }] }), 'inputs[0]'],
    ['a quota without charges', () => ({ ...job(), quota: { scope: 'dm', userId: '1', units: 1, usd: 0.04, periodKey: 'day:x', state: 'reserved' } }), 'quota.charges'],
  ])('finds %s', (_what, make, problem) => {
    const value = make() as { id?: string };
    expect(jobRecordProblem(value, typeof value === 'object' && value.id === 'other' ? 'mine' : (value.id ?? 'x'))).toContain(problem);
  });
});

describe('bad job records in SQLite', () => {
  let dir: string;
  let file: string;
  let storage: Storage;
  const { logger, lines } = capturingLogger();

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'corrupt-records-'));
    file = join(dir, 'bot.sqlite');
    storage = await createStorage(`sqlite://${file}`, logger);
    lines.length = 0;
  });
  afterEach(async () => {
    await storage.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('lists the good unfinished jobs and quarantines a truncated and a wrong-shaped one, with one OPERATOR line each', async () => {
    const store = new JobStore(storage, '0', { logger });
    const good = makeJob({ userId: snowflake(), guildId: snowflake() });
    const truncated = makeJob({ userId: snowflake(), guildId: snowflake() });
    const wrong = makeJob({ userId: snowflake(), guildId: snowflake() });
    for (const j of [good, truncated, wrong]) await store.save(j);
    // As a full disk or a crash mid-write leaves it: the stored text cut in the middle.
    const text = JSON.stringify({ value: truncated });
    await sqliteExec(file, `UPDATE keyv SET value = '${sql(text.slice(0, text.length >> 1))}' WHERE key = 'bot:job:${truncated.id}'`);
    // Valid JSON, wrong shape (a hand edit, an incompatible version): no discord part.
    await storage.set(`job:${wrong.id}`, { ...wrong, discord: null });

    const fresh = new JobStore(storage, '0', { logger });
    const active = await fresh.listActive();
    expect(active.map((j) => j.id)).toEqual([good.id]);

    const operator = lines.filter((l) => String(l.msg).startsWith('OPERATOR: a stored job record was bad'));
    expect(operator).toHaveLength(2);
    for (const bad of [truncated, wrong]) {
      expect(await storage.get(`job:${bad.id}`)).toBeUndefined();
      const q = await storage.get<{ key: string; problem: string; value: unknown }>(`jobs:quarantine:${bad.id}`);
      expect(q?.key).toBe(`job:${bad.id}`);
    }
    expect((await storage.get<{ problem: string }>(`jobs:quarantine:${truncated.id}`))?.problem).toContain('not readable');
    expect((await storage.get<{ problem: string }>(`jobs:quarantine:${wrong.id}`))?.problem).toContain('discord');
    expect(await storage.get(`jobs:active`)).toEqual([good.id]);

    // Met once: a second start finds nothing bad any more.
    await new JobStore(storage, '0', { logger }).listActive();
    expect(lines.filter((l) => String(l.msg).startsWith('OPERATOR:'))).toHaveLength(2);
  });

  it('quarantines an active-job index that is not a list of ids and keeps the ids it can use', async () => {
    const store = new JobStore(storage, '0', { logger });
    const good = makeJob({ userId: snowflake(), guildId: snowflake() });
    await store.save(good);
    await storage.set('jobs:active', [good.id, 42, { no: 'id' }]);
    expect((await new JobStore(storage, '0', { logger }).listActive()).map((j) => j.id)).toEqual([good.id]);
    expect(await storage.get('jobs:active')).toEqual([good.id]);
    expect(lines.filter((l) => String(l.msg).startsWith('OPERATOR:'))).toHaveLength(1);
  });

  it('answers "no such job" for a bad record read by a button, and quarantines it', async () => {
    const store = new JobStore(storage, '0', { logger });
    const done = { ...makeJob({ userId: snowflake(), guildId: snowflake() }), step: 'done' as const };
    await store.save(done);
    await storage.set(`job:${done.id}`, { ...done, request: 'cut' });
    expect(await store.get(done.id)).toBeUndefined();
    expect(await storage.get(`jobs:quarantine:${done.id}`)).toBeDefined();
  });
});

describe('bad job records in Redis', () => {
  let backend: OpenBackend;
  const { logger, lines } = capturingLogger();
  beforeEach(async () => {
    backend = await openBackend('redis', logger);
    lines.length = 0;
  });
  afterEach(async () => {
    await backend.close();
  });

  it('quarantines a truncated record and lists the good one', async () => {
    const storage = backend.storage;
    const store = new JobStore(storage, '0', { logger });
    const good = makeJob({ userId: snowflake(), guildId: snowflake() });
    const cut = makeJob({ userId: snowflake(), guildId: snowflake() });
    await store.save(good);
    await store.save(cut);
    // Only this test's own key (under its unique prefix) is overwritten, through a client of its own.
    const ns = storage.ns;
    const client = createClient({ url: REDIS_URL });
    await client.connect();
    try {
      const text = JSON.stringify({ value: cut });
      await client.set(`bot::${ns}job:${cut.id}`, text.slice(0, text.length >> 1)); // keyv's key for it on Redis
    } finally {
      client.destroy();
    }
    expect((await new JobStore(storage, '0', { logger }).listActive()).map((j) => j.id)).toEqual([good.id]);
    expect(lines.filter((l) => String(l.msg).startsWith('OPERATOR: a stored job record was bad'))).toHaveLength(1);
    expect((await storage.get<{ problem: string }>(`jobs:quarantine:${cut.id}`))?.problem).toContain('not readable');
  });
});

