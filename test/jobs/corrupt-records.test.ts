// One corrupt record never stops the bot: the job store checks records when read; a truncated or wrong-shaped one
// is moved to jobs:quarantine:<id> with one OPERATOR line, and the rest are served.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jobRecordProblem } from '../../src/jobs/schema.js';
import { JobRecords } from '../../src/jobs/records.js';
import { routeProblem } from '../../src/discord/route.js';
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
      requester: { ...base.requester, locale: 'ja', placeLocale: null },
      failure: { code: 'job_too_old', userMessage: 'Luma did not finish…', key: 'failure.job_too_old', vars: { durationMs: 600_000 }, retryable: true },
    };
    expect(jobRecordProblem(localized, localized.id)).toBeUndefined();
    expect(jobRecordProblem({ ...base, requester: { ...base.requester, locale: 7 } }, base.id)).toContain('requester.locale: expected a string');
    expect(jobRecordProblem({ ...localized, failure: { ...localized.failure, vars: { a: {} } } }, base.id)).toContain('failure.vars');
  });

  it.each([
    ['not an object', () => 'text', 'expected an object'],
    ['another job’s id', () => ({ ...job(), id: 'other' }), 'id: expected'],
    ['an unknown step', () => ({ ...job(), step: 'exploded' }), 'step: expected'],
    ['no requester', () => ({ ...job(), requester: undefined }), 'requester: expected an object'],
    ['a requester without a user', () => ({ ...job(), requester: { ...job().requester, userId: 5 } }), 'requester.userId: expected a string'],
    ['no reply route', () => ({ ...job(), replyTo: undefined }), 'replyTo: expected an object'],
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
    const store = new JobRecords(storage, { logger, routeProblem });
    const good = makeJob({ userId: snowflake(), guildId: snowflake() });
    const truncated = makeJob({ userId: snowflake(), guildId: snowflake() });
    const wrong = makeJob({ userId: snowflake(), guildId: snowflake() });
    for (const j of [good, truncated, wrong]) await store.save(j);
    // As a full disk or a crash mid-write leaves it: the stored text cut in the middle.
    const text = JSON.stringify({ value: truncated });
    await sqliteExec(file, `UPDATE keyv SET value = '${sql(text.slice(0, text.length >> 1))}' WHERE key = 'bot:job:${truncated.id}'`);
    // Valid JSON, wrong shape (a hand edit, an incompatible version): a reply route the Discord side cannot use.
    await storage.set(`job:${wrong.id}`, { ...wrong, replyTo: { interactionToken: 7 } });

    const fresh = new JobRecords(storage, { logger, routeProblem });
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
    expect((await storage.get<{ problem: string }>(`jobs:quarantine:${wrong.id}`))?.problem).toContain('replyTo.');
    expect(await storage.get(`jobs:active`)).toEqual([good.id]);

    // Met once: a second start finds nothing bad any more.
    await new JobRecords(storage, { logger, routeProblem }).listActive();
    expect(lines.filter((l) => String(l.msg).startsWith('OPERATOR:'))).toHaveLength(2);
  });

  it('quarantines an active-job index that is not a list of ids and keeps the ids it can use', async () => {
    const store = new JobRecords(storage, { logger, routeProblem });
    const good = makeJob({ userId: snowflake(), guildId: snowflake() });
    await store.save(good);
    await storage.set('jobs:active', [good.id, 42, { no: 'id' }]);
    expect((await new JobRecords(storage, { logger, routeProblem }).listActive()).map((j) => j.id)).toEqual([good.id]);
    expect(await storage.get('jobs:active')).toEqual([good.id]);
    expect(lines.filter((l) => String(l.msg).startsWith('OPERATOR:'))).toHaveLength(1);
  });

  it('reads a record of the version before the delivery port as today’s: who asked, and the Discord route with its reply facts', async () => {
    const store = new JobRecords(storage, { logger, routeProblem });
    const job = { ...makeJob({ userId: snowflake(), guildId: snowflake() }), step: 'delivering' as const };
    const { requester, replyTo, ...rest } = job;
    const old = {
      ...rest,
      progress: { text: 'Imagining…\nFinishing…', editedAt: 5 },
      originalUploadTried: true,
      discord: { ...replyTo, originalMessageId: '1400000000000000001', userId: requester.userId, guildId: requester.guildId, channelId: requester.channelId, userInstalled: false, locale: 'de', guildLocale: 'fr' },
    };
    await storage.set(`job:${job.id}`, old);
    const read = await store.get(job.id);
    expect(read?.requester).toEqual({ ...requester, locale: 'de', placeLocale: 'fr' });
    expect(read?.replyTo).toEqual({ ...replyTo, originalMessageId: '1400000000000000001', uploadTried: true, shown: 'Imagining…\nFinishing…' });
    expect(read?.progress).toEqual({ editedAt: 5 });
    expect(read).not.toHaveProperty('discord');
    expect(read).not.toHaveProperty('originalUploadTried');
    expect(lines.filter((l) => String(l.msg).startsWith('OPERATOR:'))).toHaveLength(0);
  });

  it('answers "no such job" for a bad record read by a button, and quarantines it', async () => {
    const store = new JobRecords(storage, { logger, routeProblem });
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
    const store = new JobRecords(storage, { logger, routeProblem });
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
    expect((await new JobRecords(storage, { logger, routeProblem }).listActive()).map((j) => j.id)).toEqual([good.id]);
    expect(lines.filter((l) => String(l.msg).startsWith('OPERATOR: a stored job record was bad'))).toHaveLength(1);
    expect((await storage.get<{ problem: string }>(`jobs:quarantine:${cut.id}`))?.problem).toContain('not readable');
  });
});

