// Failures end to end: what a member sees for each Luma failure and the operator's log line; failing safe where
// nobody scripted the failure; one bad interaction never killing the process; Luma's limits met with a fair local
// queue; jobs surviving kill -9 at every step; graceful shutdown. The in-process tests run the real bot against the
// fakes (test/helpers/harness.ts); the process tests run the compiled entry point as a child process
// (test/helpers/process.ts), killed and started again on the same SQLite file. The deliverer's own routes are tested
// directly: test/discord/deliverer.test.ts. Each test has its own bot, fakes and log, so an assertion on the log or on
// the fake's requests can only pass on what that test caused.
import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { APIMessage } from 'discord.js';
import type { DispatchedInteraction } from '../../dev/fakes/discord/server.js';
import { solidPng } from '../../dev/fakes/png.js';
import { installCrashHandlers } from '../../src/crash-handlers.js';
import type { JobRecord } from '../../src/jobs/types.js';
import { createLogger } from '../../src/logger.js';
import { startHarness, opt, type Harness, type HarnessOptions } from '../helpers/harness.js';
import { LogCapture } from '../helpers/logs.js';
import { customIdsOf, messageText } from '../helpers/message-text.js';
import {
  delivered,
  deliveriesOf,
  imagine,
  killLeftoverBots,
  newMember,
  queuedProbe,
  quotaUsed,
  startBotProcess,
  type Member,
  type ProcessHarness,
} from '../helpers/process.js';

const text = (m: APIMessage | undefined) => messageText(m);
const jobIdOf = (m: APIMessage | undefined) => /-# job (\S+)/.exec(messageText(m))?.[1] ?? '';

/** Waits for the failure notice in the reply to this interaction. */
const failureIn = (h: Harness, token: string, timeoutMs = 20_000) =>
  h.discord.waitFor(() => {
    const m = h.discord.original(token);
    return m && messageText(m).includes('could not be made') ? m : undefined;
  }, timeoutMs, 'the failure notice');

const resultIn = (h: Harness, token: string) =>
  h.discord.waitFor(() => {
    const m = h.discord.original(token);
    return m && m.attachments.length > 0 ? m : undefined;
  }, 20_000, 'the result');

/** Runs one /imagine and returns the failure message the member ends up with. */
async function failureOf(h: Harness, prompt: string): Promise<APIMessage> {
  const { token } = await h.discord.slashCommand({ name: 'imagine', options: [opt.string('prompt', prompt)] });
  return h.discord.waitFor(() => {
    const m = h.discord.original(token);
    return m && messageText(m).includes('could not be made') ? m : undefined;
  }, 15_000, `the failure message for "${prompt}"`);
}

const hasRetry = (m: APIMessage) => customIdsOf(m).some((id) => id.startsWith('job:retry:'));

describe('every failure ends in a message a member understands', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ env: { QUOTA_DEFAULT_LIMIT: 'unlimited' } });
  });
  afterEach(async () => {
    await h.close();
  });

  it.each([
    ['content_moderated', /safety filter/, false],
    ['generation_failed', /model failed/, true],
    ['output_not_found', /could not store it/, true],
    ['budget_exhausted', /run out of credit/, false],
    ['image_too_large', /too large/, false],
    ['unsupported_format', /format Luma does not take/, false],
    ['corrupt_input', /could not be read/, false],
    ['invalid_request', /bug on our side/, true],
  ] as const)('Luma failure %s', async (code, pattern, retry) => {
    h.luma.planNext({ failWith: code });
    const m = await failureOf(h, `fails with ${code}`);
    expect(text(m)).toMatch(pattern);
    expect(hasRetry(m)).toBe(retry);
    if (code !== 'content_moderated') expect(text(m)).toMatch(/did not count against your quota/);
  });

  it.each([
    [400, /did not accept the request/],
    [401, /API key was rejected/],
    [402, /run out of credit/],
    [403, /suspended/],
    [413, /too large/],
    [422, /could not read one of the images/],
    [500, /did not answer properly/],
  ] as const)('Luma HTTP %i on submit', async (status, pattern) => {
    h.luma.fault({ method: 'POST', path: '/v1/generations' }, { status, body: { detail: `scripted ${status}` } });
    const m = await failureOf(h, `http ${status}`);
    expect(text(m)).toMatch(pattern);
    expect(text(m)).toMatch(/did not count against your quota/);
  });

  it('tells the operator in the logs when Luma is out of credit', async () => {
    h.luma.planNext({ failWith: 'budget_exhausted' });
    await failureOf(h, 'budget again');
    expect(h.logs.find((l) => l.msg.startsWith('OPERATOR:') && l.msg.includes('budget'))).toBeDefined();
  });

  it('shows a reference id for failures on our side that matches a log line', async () => {
    h.luma.planNext({ failWith: 'invalid_request' });
    const m = await failureOf(h, 'needs a reference');
    const ref = /Reference: `([0-9A-F]{8})`/.exec(text(m))?.[1];
    expect(ref).toBeDefined();
    expect(h.logs.find((l) => l.ref === ref)).toBeDefined();
  });

  it('waits and retries by itself when Luma rate-limits a POST, instead of failing', async () => {
    h.luma.fault({ method: 'POST', path: '/v1/generations' }, { status: 429, body: { detail: 'Rate limit exceeded' }, headers: { 'Retry-After': '1' } });
    const { token } = await h.discord.slashCommand({ name: 'imagine', options: [opt.string('prompt', 'after a 429')] });
    const m = await h.discord.waitFor(() => {
      const o = h.discord.original(token);
      return o && o.attachments.length > 0 ? o : undefined;
    }, 15_000, 'the result after the 429');
    expect(m.attachments).toHaveLength(1);
    // The fake served the 429, and the same request came again (no earlier than Retry-After) and was accepted.
    const posts = h.luma.posts();
    expect(posts.map((p) => p.status)).toEqual([429, 201]);
    expect(posts[1]!.at - posts[0]!.at).toBeGreaterThanOrEqual(950);
    // Meanwhile the member was told why it waited.
    expect(h.discord.edits(token).some((e) => JSON.stringify(e.json).includes('Luma is busy right now'))).toBe(true);
  });

  /** Runs /imagine with a held generation and resolves once Luma is processing it and the reply shows progress. */
  const heldJob = async (member: ReturnType<typeof newMember>, prompt: string) => {
    h.luma.planNext({ hold: true });
    const i = await imagine(h.discord, member, prompt);
    await h.discord.waitFor(() => h.luma.generations().at(-1)?.state === 'processing' && h.discord.edits(i.token).length > 0, 10_000, 'the job at Luma');
    const id = h.luma.generations().at(-1)?.id ?? '';
    return { i, release: () => h.luma.release(id), generationId: id };
  };

  it('keeps the result when neither the channel nor a DM works, and hands it over at the member’s next command', async () => {
    const member = newMember();
    const job = await heldJob(member, 'kept: a glacier');
    h.discord.expireToken(job.i.token);
    h.discord.markChannelMissingPermissions(h.discord.channelId ?? '');
    h.discord.markUserCannotDm(member.id);
    job.release();
    await h.discord.waitFor(() => h.logs.find((l) => String(l.msg).startsWith('result kept')), 20_000, 'the result being kept');
    expect(deliveriesOf(h.discord, job.i, 'kept: a glacier', member)).toHaveLength(0);

    // Any command of theirs will do: the kept image follows their answer.
    const q = await h.discord.slashCommand({ name: 'quota', user: member });
    const handed = await h.discord.waitFor(() => h.discord.followups(q.token).find((m) => m.attachments.length > 0), 15_000, 'the handed-over image');
    expect(messageText(handed)).toContain(`<@${member.id}>, here is an image the bot could not deliver earlier.`);
    expect(messageText(handed)).toContain('kept: a glacier');
    expect(await quotaUsed(h.discord, member)).toBe(1);
  });
  it('fetches the generation again for a fresh URL when the first download answers 403', async () => {
    const member = newMember();
    h.luma.fault({ method: 'GET', path: '/files/' }, { status: 403, body: '<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>' });
    const i = await imagine(h.discord, member, 'fresh url: a bridge');

    const d = await delivered(h.discord, i, 'fresh url: a bridge', member);
    expect(d.map((x) => x.where)).toEqual(['original']);
    const files = h.luma.requests.filter((r) => r.path.startsWith('/files/'));
    expect(files).toHaveLength(2);
    expect(files[0]?.fault).toBeDefined();
    expect(files[0]?.path).not.toBe(files[1]?.path);
    // Between the two downloads the bot asked Luma for the generation again (that is where the new URL came from).
    const between = h.luma.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/v1/generations/') && r.at >= (files[0]?.at ?? 0) && r.at <= (files[1]?.at ?? 0));
    expect(between.length).toBeGreaterThan(0);
    const generation = h.luma.generations()[0]!;
    expect(h.discord.edits(i.token).at(-1)?.files[0]?.data.equals(h.luma.outputBytes(generation.id))).toBe(true);
  });
  it('tells the member with the job id and a Retry button when the image cannot be fetched, and Retry delivers it', async () => {
    const member = newMember();
    h.luma.fault({ method: 'GET', path: '/files/' }, ...Array.from({ length: 4 }, () => ({ status: 500 })));
    const i = await imagine(h.discord, member, 'retry: a volcano');

    const failed = await h.discord.waitFor(() => {
      const m = h.discord.original(i.token);
      return m && messageText(m).includes('could not fetch it') ? m : undefined;
    }, 30_000, 'the failure message');
    const jobId = /-# job (\S+)/.exec(messageText(failed))?.[1] ?? '';
    expect(jobId).not.toBe('');
    expect(customIdsOf(failed)).toEqual([`job:retry:${jobId}`]);
    expect(await quotaUsed(h.discord, member)).toBe(0);

    const click = await h.discord.button({ customId: `job:retry:${jobId}`, user: member, message: { id: failed.id } });
    const d = await delivered(h.discord, click, 'retry: a volcano', member);
    expect(d.map((x) => x.where)).toEqual(['original']);
    // Made once at Luma: the retry fetched the same generation again.
    expect(h.luma.posts()).toHaveLength(1);
  });
});

// Failing safe where nobody scripted the failure: member images never stored, the inline cap, storage refusing a
// failed job, states outside the API reference, jobs Luma never finishes, double Retry clicks, Reroll's cost, no
// token kept, Luma outages.
describe('fail safe where nobody scripted the failure', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  // ——— member images, and a failure storage cannot record ———

  it('never stores the bytes of member images: the base64 fallback is built per POST, and Reroll sends the URL again', async () => {
    h = await startHarness();
    const data = solidPng(8, 8, [10, 20, 30]);
    const a = h.discord.addAttachment({ filename: 'ref.png', contentType: 'image/png', data });
    h.luma.fault({ method: 'POST', path: '/v1/generations' }, { status: 422, body: { detail: 'Failed to fetch image from URL' } });
    const { token } = await h.discord.slashCommand({ name: 'imagine', options: [opt.string('prompt', 'no bytes at rest'), opt.attachment('reference1', a.id)], attachments: [a] });
    const result = await resultIn(h, token);
    const posts = h.luma.posts();
    expect((posts[1]?.body as { image_ref: unknown[] }).image_ref).toEqual([{ data: data.toString('base64'), media_type: 'image/png' }]);

    const record = (await h.bot.parts.records.get(jobIdOf(result))) as JobRecord;
    expect(JSON.stringify(record)).not.toContain(data.toString('base64'));
    expect(record.inputs.map((i) => i.input)).toEqual([{ url: a.url }]);
    expect(record.request.image_ref).toEqual([{ url: a.url }]);
    expect(record.inlinedInputs).toBe(true);

    const rerollId = customIdsOf(result).find((id) => id.startsWith('job:reroll:')) ?? '';
    const reroll = await h.discord.button({ customId: rerollId, message: result });
    await resultIn(h, reroll.token);
    // A URL again, not bytes: the same attachment, its link renewed for the request made again.
    const sent = (h.luma.posts()[2]?.body as { image_ref: Array<{ url?: string }> }).image_ref;
    expect(sent).toHaveLength(1);
    expect(new URL(sent[0]?.url ?? 'x:').pathname).toBe(new URL(a.url).pathname);
  });

  it('refuses clearly, with nothing charged, when the images Luma cannot fetch are over the inline cap', async () => {
    h = await startHarness({ env: { LUMA_INLINE_MAX_MB: '1' } });
    const member = newMember();
    // A valid PNG padded past 1 MB (Luma and the bot read image types from the first bytes).
    const data = Buffer.concat([solidPng(8, 8, [1, 2, 3]), Buffer.alloc(1_200_000)]);
    const a = h.discord.addAttachment({ filename: 'big.png', contentType: 'image/png', data });
    h.luma.fault({ method: 'POST', path: '/v1/generations' }, { status: 422, body: { detail: 'Failed to fetch image from URL' } });
    const { token } = await h.discord.slashCommand({ name: 'imagine', user: member, options: [opt.string('prompt', 'too big to inline'), opt.attachment('reference1', a.id)], attachments: [a] });
    const m = await failureIn(h, token);
    expect(text(m)).toMatch(/too large for the bot to send them itself/);
    expect(text(m)).toMatch(/at most 1\.0 MB/);
    expect(text(m)).toMatch(/did not count against your quota/);
    expect(h.luma.posts()).toHaveLength(1);
    expect(await quotaUsed(h.discord, member)).toBe(0);
  });

  it('ends the failure path once when storage refuses to save the failed job: one notice, and the job leaves memory', async () => {
    h = await startHarness();
    const member = newMember();
    const store = h.bot.parts.records;
    const save = store.save.bind(store);
    let refused = 0;
    // A storage that refuses these records (as keyv's serializer did for a 10 MB record): every save of the job
    // once it is failing throws.
    store.save = async (job) => {
      if (job.step === 'failing' || job.step === 'failed') {
        refused++;
        throw new Error('storage refused the record');
      }
      return save(job);
    };
    h.luma.planNext({ failWith: 'generation_failed' });
    const i = await imagine(h.discord, member, 'failure that cannot be saved');
    await failureIn(h, i.token);
    await h.discord.waitFor(() => h?.bot.parts.engine.jobStats().total === 0 || undefined, 20_000, 'the job to leave memory');
    const notices = h.discord.edits(i.token).filter((e) => JSON.stringify(e).includes('could not be made'));
    expect(notices).toHaveLength(1);
    expect(refused).toBeGreaterThan(1); // tried again…
    expect(refused).toBeLessThanOrEqual(6); // …a bounded number of times
    expect(h.logs.filter((l) => l.msg === 'job failed')).toHaveLength(1);
  });

  // ——— states outside the reference and jobs that never finish ———

  it('ends a job Luma reports in a state outside its API reference, with a refund, and frees its slot', async () => {
    h = await startHarness({ env: { LUMA_MAX_CONCURRENT_JOBS: '1' } });
    const member = newMember();
    h.luma.planNext({ endState: 'cancelled' });
    const first = await imagine(h.discord, member, 'cancelled at Luma');
    // The planned state goes to the next POST: the first job must be the one at Luma before the second is asked for
    // (under load two commands' handlers may reach the queue in either order).
    await h.discord.waitFor(() => h?.luma.generations().length === 1 || undefined, 15_000, 'the first job at Luma');
    const second = await imagine(h.discord, member, 'after the cancelled one');
    const m = await failureIn(h, first.token);
    expect(text(m)).toMatch(/"cancelled"/);
    expect(text(m)).toMatch(/did not count against your quota/);
    expect(customIdsOf(m).some((id) => id.startsWith('job:retry:'))).toBe(true);
    await resultIn(h, second.token);
    expect(await quotaUsed(h.discord, member)).toBe(1);
  });

  it('gives up a job Luma never finishes once it is older than JOB_MAX_AGE_MS, and stops polling it', async () => {
    h = await startHarness({ env: { JOB_MAX_AGE_MS: '1500' } });
    const member = newMember();
    h.luma.planNext({ hold: true });
    const i = await imagine(h.discord, member, 'never finishes');
    const m = await failureIn(h, i.token);
    expect(text(m)).toMatch(/did not finish this image within 2 seconds|within 1 seconds|stopped waiting/);
    expect(text(m)).toMatch(/did not count against your quota/);
    await h.discord.waitFor(() => h?.bot.parts.engine.jobStats().total === 0 || undefined, 10_000, 'the job to leave memory');
    const gets = h.luma.requests.filter((r) => r.method === 'GET').length;
    // A new job runs through the engine: had the old one still been polled, its GETs would show up meanwhile.
    const next = await imagine(h.discord, member, 'a later job');
    await resultIn(h, next.token);
    const id = h.luma.generations()[0]?.id ?? '';
    expect(h.luma.requests.filter((r) => r.method === 'GET' && r.path.endsWith(id)).length).toBeLessThanOrEqual(gets);
    expect(await quotaUsed(h.discord, member)).toBe(1);
  });

  // ——— retries and rerolls ———

  it('starts one redelivery for two quick Retry clicks', async () => {
    h = await startHarness();
    const harness = h;
    const member = newMember();
    harness.luma.fault({ method: 'GET', path: '/files/' }, ...Array.from({ length: 4 }, () => ({ status: 500 })));
    const i = await imagine(harness.discord, member, 'retry twice: a harbour');
    const failed = await harness.discord.waitFor(() => {
      const m = harness.discord.original(i.token);
      return m && messageText(m).includes('could not fetch it') ? m : undefined;
    }, 30_000, 'the download failure');
    await harness.discord.waitFor(() => harness.bot.parts.engine.jobStats().total === 0 || undefined, 10_000, 'the failure recorded');
    const customId = `job:retry:${jobIdOf(failed)}`;
    const clicks = await Promise.all([0, 1].map(() => harness.discord.button({ customId, user: member, message: { id: failed.id } })));
    await harness.discord.waitFor(() => clicks.some((c) => deliveriesOf(harness.discord, c, 'retry twice: a harbour', member).length > 0) || undefined, 30_000, 'the redelivery');
    await harness.discord.waitFor(() => harness.bot.parts.engine.jobStats().total === 0 || undefined, 10_000, 'the engine to be idle');
    const all = clicks.flatMap((c) => deliveriesOf(harness.discord, c, 'retry twice: a harbour', member));
    expect(all).toHaveLength(1);
    const answers = JSON.stringify(clicks.map((c) => [harness.discord.callbacks(c.id), harness.discord.original(c.token), harness.discord.followups(c.token)]));
    expect(answers).toMatch(/already being retried|not in a failed state any more/);
    expect(harness.luma.posts()).toHaveLength(1);
  });

  it("tells whoever presses Reroll on a uni-1-max result what it costs them", async () => {
    h = await startHarness();
    const { token } = await h.discord.slashCommand({ name: 'imagine', options: [opt.string('prompt', 'max: a comet'), opt.string('model', 'uni-1-max')] });
    const result = await resultIn(h, token);
    const presser = newMember('presser');
    const rerollId = customIdsOf(result).find((id) => id.startsWith('job:reroll:')) ?? '';
    const reroll = await h.discord.button({ customId: rerollId, message: result, user: presser });
    await resultIn(h, reroll.token);
    expect(JSON.stringify(h.discord.edits(reroll.token))).toContain('uni-1-max: 3 units of your quota');
    expect(await quotaUsed(h.discord, presser)).toBe(3);
  });

  // ——— interaction tokens ———

  it('keeps no interaction token in the record of a finished job', async () => {
    h = await startHarness();
    const member = newMember();
    const ok = await imagine(h.discord, member, 'token: delivered');
    const done = await resultIn(h, ok.token);
    h.luma.planNext({ failWith: 'generation_failed' });
    const bad = await imagine(h.discord, member, 'token: failed');
    const failed = await failureIn(h, bad.token);
    await h.discord.waitFor(() => h?.bot.parts.engine.jobStats().total === 0 || undefined, 10_000, 'both jobs finished');
    for (const m of [done, failed]) {
      const record = (await h.bot.parts.records.get(jobIdOf(m))) as JobRecord;
      expect(['done', 'failed']).toContain(record.step);
      expect((record.replyTo as { interactionToken: string }).interactionToken).toBe('');
    }
    expect(h.logs.raw).not.toContain(ok.token);
  });

  // ——— Luma outages ———

  it('gives a job up with a refund only once Luma has been down for the whole outage window', async () => {
    h = await startHarness({ env: { LUMA_OUTAGE_WINDOW_MS: '1000' } });
    const member = newMember();
    h.luma.setOutage(502);
    const i = await imagine(h.discord, member, 'outage past the window');
    await h.discord.waitFor(() => messageText(h?.discord.original(i.token)).includes('Luma is unavailable') || undefined, 10_000, 'the outage notice');
    const m = await failureIn(h, i.token, 30_000);
    expect(text(m)).toMatch(/Luma has been unavailable for more than/);
    expect(text(m)).toMatch(/did not count against your quota/);
    // One POST: Luma is down, so the job waits for the breaker's next probe, 5–10 s later, and its window ends first.
    expect(h.luma.posts()).toHaveLength(1);
    expect(h.luma.generations()).toHaveLength(0);
    expect(await quotaUsed(h.discord, member)).toBe(0);
  });

  it('loses nothing in a Luma outage longer than the interaction tokens live: 40 jobs from 10 members, each delivered once', { timeout: 240_000 }, async () => {
    h = await startHarness({ env: { LUMA_MAX_REQUESTS_PER_MINUTE: '1000', QUOTA_DEFAULT_LIMIT: 'unlimited' }, luma: { queuedMs: 50, processingMs: 300 } });
    const harness = h;
    const members: Member[] = Array.from({ length: 10 }, (_, n) => newMember(`outage${n}`));
    const jobs: { prompt: string; member: Member; i: Awaited<ReturnType<typeof imagine>> }[] = [];
    const send = async (n: number) => {
      const member = members[n % 10]!;
      const prompt = `outage: picture ${n}`;
      jobs.push({ prompt, member, i: await imagine(harness.discord, member, prompt) });
    };
    // Five jobs are at Luma (held) when it goes down: their polls meet the outage. The other 35 arrive during it.
    for (let n = 0; n < 5; n++) harness.luma.planNext({ hold: true });
    for (let n = 0; n < 5; n++) await send(n);
    await harness.discord.waitFor(() => harness.luma.generations().length === 5 || undefined, 20_000, 'five jobs at Luma');
    harness.luma.setOutage(502);
    for (let n = 5; n < 40; n++) await send(n);
    for (const g of harness.luma.generations()) harness.luma.release(g.id);

    // Every member is told Luma is unavailable and their request is kept.
    await harness.discord.waitFor(() => jobs.every((j) => messageText(harness.discord.original(j.i.token)).includes('⚠️')) || undefined, 120_000, 'every reply to say Luma is unavailable');
    expect(harness.logs.filter((l) => l.msg === 'job failed')).toHaveLength(0);
    // The outage outlives every interaction token: results must go by the channel.
    for (const j of jobs) harness.discord.expireToken(j.i.token);
    // No stampede: what was in flight when Luma went down, then one probe at a time (5–10 s apart at first).
    const duringOutage = harness.luma.requests.filter((r) => r.fault !== undefined).length;
    expect(duringOutage).toBeGreaterThanOrEqual(1);
    expect(duringOutage).toBeLessThanOrEqual(20);
    harness.luma.setOutage(undefined);

    await harness.discord.waitFor(() => jobs.every((j) => deliveriesOf(harness.discord, j.i, j.prompt, j.member).length > 0) || undefined, 180_000, 'all 40 results');
    for (const j of jobs) expect(deliveriesOf(harness.discord, j.i, j.prompt, j.member).map((d) => d.where)).toEqual(['channel']);
    // None generated twice: one generation per job; the POSTs refused with 502 created nothing.
    const prompts = harness.luma.generations().map((g) => g.request.prompt);
    expect(prompts).toHaveLength(40);
    expect(new Set(prompts).size).toBe(40);
    expect(harness.logs.filter((l) => l.msg === 'job failed')).toHaveLength(0);
  });
});

// One bad interaction never kills the process (the bot process), and the process-level last-resort handlers.
describe('one bad interaction never kills the process', () => {
  let h: ProcessHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
    await killLeftoverBots();
  });

  it('keeps serving after a retired command whose reply Discord refuses with 10062', async () => {
    h = await startBotProcess();
    // Discord dropped the interaction before the answer arrived (a slow network, a stale client): every callback
    // of this interaction answers 404 Unknown interaction.
    const unknown = { status: 404, body: { message: 'Unknown interaction', code: 10062 } };
    h.discord.fault({ method: 'POST', path: /^\/interactions\/\d+\/[^/]+\/callback$/ }, unknown);
    const retired = await h.discord.slashCommand({ name: 'retired-command', user: newMember() });
    await h.discord.waitFor(() => h?.discord.pendingFaults === 0, 15_000, 'the reply to the retired command to be refused');
    // The interaction is gone: the bot says so once in its log and sends nothing more through it.
    await h.bot.waitForLog((l) => l.msg === 'interaction expired before the bot could acknowledge it', 15_000, 'the expired interaction being logged');
    expect(h.discord.callbacks(retired.id)).toHaveLength(0);

    const member = newMember();
    const i = await imagine(h.discord, member, 'still alive: a lighthouse');
    expect(await delivered(h.discord, i, 'still alive: a lighthouse', member)).toHaveLength(1);
    expect(h.bot.running).toBe(true);
  });
});

describe('process-level handlers', () => {
  const setup = () => {
    const logs = new LogCapture();
    const proc = new EventEmitter();
    const shutdowns: Array<[string, number]> = [];
    installCrashHandlers(proc, {
      logger: createLogger({ logLevel: 'info', logFormat: 'json' }, logs.stream),
      shutdown: (reason, code) => shutdowns.push([reason, code]),
    });
    return { logs, proc, shutdowns };
  };

  it('logs an unhandled rejection with a reference and keeps running', async () => {
    const { logs, proc, shutdowns } = setup();
    proc.emit('unhandledRejection', new Error('a stray rejection'), Promise.resolve());
    await expect.poll(() => logs.lines.length).toBe(1);
    const line = logs.lines[0]!;
    expect(line.level).toBe(50);
    expect(line.ref).toMatch(/^[0-9A-F]{8}$/);
    expect((line.err as { message: string }).message).toBe('a stray rejection');
    expect(shutdowns).toEqual([]);
  });

  it('logs an uncaught exception with a reference and shuts down through the normal path with exit code 1', async () => {
    const { logs, proc, shutdowns } = setup();
    proc.emit('uncaughtException', new Error('a broken invariant'), 'uncaughtException');
    await expect.poll(() => logs.lines.length).toBe(1);
    expect(logs.lines[0]!.level).toBe(60);
    expect(logs.lines[0]!.ref).toMatch(/^[0-9A-F]{8}$/);
    expect(shutdowns).toEqual([['uncaughtException', 1]]);
  });
});

// Luma's limits (concurrency, requests per minute, per-member cap): jobs beyond them wait in a fair local queue
// instead of failing; a "Too many concurrent jobs" 429 puts the job back and lowers the effective concurrency.
describe('Luma limits and the local queue', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });
  /** The bot in process, with room in every member's allowance. */
  const start = (opts: HarnessOptions = {}) => startHarness({ ...opts, env: { QUOTA_DEFAULT_LIMIT: '50', ...opts.env } });

  it('delivers 12 jobs at a configured limit of 10 while Luma allows only 8, backing off on its 429s with no failure', async () => {
    h = await start({ env: { LUMA_MAX_CONCURRENT_JOBS: '10' }, luma: { queuedMs: 100, processingMs: 600 } });
    h.luma.setRateLimit({ concurrent: 8 });
    const members = Array.from({ length: 12 }, () => newMember());
    const jobs = await Promise.all(members.map(async (m, n) => ({ m, prompt: `limits: picture ${n}`, i: await imagine(h!.discord, m, `limits: picture ${n}`) })));

    for (const j of jobs) expect(await delivered(h.discord, j.i, j.prompt, j.m, 45_000)).toHaveLength(1);
    const posts = h.luma.posts();
    const refused = h.luma.requests.filter((r) => r.method === 'POST' && r.fault === undefined).length - h.luma.generations().length;
    expect(refused).toBeGreaterThan(0);
    expect(h.luma.generations()).toHaveLength(12);
    expect(posts.length).toBe(12 + refused);
    expect(h.logs.lines.some((l) => String(l.msg).includes('lowering concurrency'))).toBe(true);
    expect(h.logs.lines.filter((l) => l.msg === 'job failed')).toHaveLength(0);
    // After the first 429 the bot stops probing Luma with POSTs it knows will be refused.
    expect(refused).toBeLessThanOrEqual(4);
    for (const j of jobs) expect(deliveriesOf(h.discord, j.i, j.prompt, j.m)).toHaveLength(1);
  });

  it('serves a member with one job before the ten another member queued first', async () => {
    h = await start({ env: { LUMA_MAX_CONCURRENT_JOBS: '1' } });
    const a = newMember('a');
    const b = newMember('b');
    // A's first job is held at Luma, so the queue cannot move until B's job has joined it: the order Luma sees
    // then depends on the fair pick alone, not on how fast this machine runs the jobs.
    h.luma.planNext({ hold: true });
    const aJobs: { prompt: string; i: DispatchedInteraction }[] = [];
    for (let n = 0; n < 10; n++) aJobs.push({ prompt: `fair: a${n}`, i: await imagine(h.discord, a, `fair: a${n}`) });
    await h.discord.waitFor(() => h?.luma.generations().length === 1 || undefined, 10_000, "A's first job at Luma");
    await h.discord.waitFor(() => messageText(h?.discord.original(aJobs[9]!.i.token)).includes('position'), 10_000, "A's last job queued");
    const bJob = await imagine(h.discord, b, 'fair: b0');
    await h.discord.waitFor(() => messageText(h?.discord.original(bJob.token)).includes('position'), 10_000, "B's job queued");
    h.luma.release(h.luma.generations()[0]!.id);

    expect(await delivered(h.discord, bJob, 'fair: b0', b, 30_000)).toHaveLength(1);
    for (const j of aJobs) expect(await delivered(h.discord, j.i, j.prompt, a, 30_000)).toHaveLength(1);
    const order = h.luma.posts().map((p) => (p.body as { user_id: string }).user_id);
    expect(order).toHaveLength(11);
    // B's job goes right after the job of A's that was at Luma when it arrived.
    expect(order.indexOf(b.id)).toBe(1);
  });

  it('keeps a member to two jobs at Luma at once and shows the others their place in the queue', async () => {
    h = await start();
    const member = newMember();
    for (let n = 0; n < 4; n++) h.luma.planNext({ hold: true });
    const jobs: { prompt: string; i: DispatchedInteraction }[] = [];
    for (let n = 0; n < 4; n++) jobs.push({ prompt: `cap: ${n}`, i: await imagine(h.discord, member, `cap: ${n}`) });
    await h.discord.waitFor(() => h?.luma.generations().length === 2, 10_000, 'two jobs at Luma');
    // Under load the four commands' handlers may reach the queue in any order, so which two went to Luma is read
    // from Luma; the other two show places 1 and 2. Each reply is edited by its own task: wait for both.
    const sent = new Set(h.luma.generations().map((g) => g.request.prompt));
    const waiting = jobs.filter((j) => !sent.has(j.prompt));
    expect(waiting).toHaveLength(2);
    await h.discord.waitFor(
      () => {
        const places = waiting.map((j) => /position (\d+)/.exec(messageText(h?.discord.original(j.i.token)) ?? '')?.[1]);
        return places.sort().join(',') === '1,2';
      },
      10_000,
      'the queue positions',
    );
    // Still two after the held jobs were polled twice more (each poll ends in a scheduler pass that could have sent
    // another): the cap holds, the other jobs wait rather than fail.
    const polls = () => h!.luma.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/v1/generations/')).length;
    const before = polls();
    await h.discord.waitFor(() => polls() >= before + 4 || undefined, 15_000, 'two more polls of each held job');
    expect(h.luma.posts()).toHaveLength(2);

    for (const g of h.luma.generations()) h.luma.release(g.id);
    await h.discord.waitFor(() => h?.luma.generations().length === 4, 10_000, 'the other two jobs at Luma');
    for (const g of h.luma.generations()) h.luma.release(g.id);
    for (const j of jobs) expect(await delivered(h.discord, j.i, j.prompt, member)).toHaveLength(1);
  });

  it('holds jobs beyond the configured requests per minute in the queue instead of sending them', async () => {
    h = await start({ env: { LUMA_MAX_REQUESTS_PER_MINUTE: '2' } });
    const members = [newMember(), newMember(), newMember()];
    const jobs: { prompt: string; i: DispatchedInteraction }[] = [];
    for (const [n, m] of members.entries()) jobs.push({ prompt: `rpm: ${n}`, i: await imagine(h.discord, m, `rpm: ${n}`) });

    // Which two go first depends on the order the handlers reach the queue under load: read it from Luma.
    await h.discord.waitFor(() => h?.luma.posts().length === 2, 10_000, 'two POSTs');
    const sent = new Set(h.luma.generations().map((g) => g.request.prompt));
    const first = jobs.map((j, n) => ({ ...j, member: members[n]! })).filter((j) => sent.has(j.prompt));
    const held = jobs.find((j) => !sent.has(j.prompt))!;
    expect(first).toHaveLength(2);
    for (const j of first) expect(await delivered(h.discord, j.i, j.prompt, j.member)).toHaveLength(1);
    await h.discord.waitFor(() => messageText(h?.discord.original(held.i.token)).includes('position 1'), 10_000, 'the third job waiting');
    await queuedProbe(h.discord);
    expect(h.luma.posts()).toHaveLength(2);
    expect(h.logs.lines.filter((l) => l.msg === 'job failed')).toHaveLength(0);
  });

  it('pauses every submission for the Retry-After when Luma refuses one for the per-minute limit', async () => {
    h = await start();
    h.luma.setRateLimit({ rpm: 2 });
    // Someone else on the account has used this minute's window: the bot cannot know before Luma says so.
    for (const prompt of ['other client: 1', 'other client: 2']) {
      const res = await fetch(`${h.luma.url}/generations`, { method: 'POST', headers: { authorization: `Bearer ${h.luma.apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ prompt }) });
      expect(res.status).toBe(201);
    }
    const members = [newMember(), newMember()];
    const jobs: { prompt: string; i: DispatchedInteraction }[] = [];
    jobs.push({ prompt: 'luma rpm: 0', i: await imagine(h.discord, members[0]!, 'luma rpm: 0') });
    await h.discord.waitFor(() => h?.logs.find((l) => String(l.msg).includes('pausing submissions')), 10_000, 'the pause');
    jobs.push({ prompt: 'luma rpm: 1', i: await imagine(h.discord, members[1]!, 'luma rpm: 1') });
    // The refused job and the one behind it wait, each shown its place; neither is sent into a limit Luma has just
    // reported, nor failed.
    for (const j of jobs) await h.discord.waitFor(() => /position \d+/.test(messageText(h?.discord.original(j.i.token)) ?? '') || undefined, 10_000, `"${j.prompt}" shown its place`);
    await queuedProbe(h.discord);
    expect(h.luma.posts()).toHaveLength(3);
    expect(h.luma.posts()[2]?.limitedBy).toBe('requests');
    expect(h.logs.lines.filter((l) => l.msg === 'job failed')).toHaveLength(0);
  });

  it("learns the plan's per-minute limit from the headers of Luma's 201 and holds the rest without drawing a 429", async () => {
    // Configured for 30 a minute; the account's plan allows 3. The first 201 says so.
    h = await start({ env: { LUMA_MAX_REQUESTS_PER_MINUTE: '30' }, luma: { plan: { rpm: 3 } } });
    const first = newMember();
    const firstJob = await imagine(h.discord, first, 'learn: first');
    expect(await delivered(h.discord, firstJob, 'learn: first', first)).toHaveLength(1);
    const learned = await h.discord.waitFor(() => h?.logs.find((l) => l.msg === 'Luma limits changed'), 10_000, 'the learned limit');
    expect(learned).toMatchObject({ requestsPerMinute: 3, learnedRequestsPerMinute: 3 });

    const members = [newMember(), newMember(), newMember()];
    const jobs = await Promise.all(members.map(async (m, n) => ({ m, prompt: `learn: ${n}`, i: await imagine(h!.discord, m, `learn: ${n}`) })));
    await h.discord.waitFor(() => h?.luma.posts().length === 3, 10_000, 'two more POSTs');
    const sent = new Set(h.luma.generations().map((g) => g.request.prompt));
    const held = jobs.find((j) => !sent.has(j.prompt))!;
    await h.discord.waitFor(() => messageText(h?.discord.original(held.i.token)).includes('position 1'), 10_000, 'the fourth job waiting');
    await queuedProbe(h.discord);
    expect(h.luma.posts()).toHaveLength(3);
    expect(h.luma.posts().filter((r) => r.status === 429)).toHaveLength(0);
    expect(h.logs.lines.filter((l) => l.msg === 'Luma limits changed')).toHaveLength(1);
  });

  it('keeps to the concurrency it knows of and never draws a "Too many concurrent jobs" from Luma', async () => {
    h = await start({ env: { LUMA_MAX_CONCURRENT_JOBS: '3', MAX_JOBS_PER_USER: '3' }, luma: { plan: { rpm: 100, concurrent: 3 }, queuedMs: 50, processingMs: 400 } });
    const members = [newMember(), newMember()];
    const jobs = [];
    for (let n = 0; n < 8; n++) {
      const m = members[n % 2]!;
      jobs.push({ m, prompt: `slots: ${n}`, i: await imagine(h.discord, m, `slots: ${n}`) });
    }
    for (const j of jobs) expect(await delivered(h.discord, j.i, j.prompt, j.m, 45_000)).toHaveLength(1);
    expect(h.luma.generations()).toHaveLength(8);
    expect(h.luma.posts().filter((r) => r.limitedBy === 'concurrency')).toHaveLength(0);
    expect(h.luma.posts()).toHaveLength(8);
  });
});

// Jobs survive kill -9 at every step: the bot process killed and started again on the same SQLite file, against the
// same fakes.
describe('jobs across kill -9', () => {
  let h: ProcessHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
    await killLeftoverBots();
  });

  const generationIds = (p: ProcessHarness) => p.luma.generations().map((g) => g.id);

  /** A request the fakes hold until released: the test kills the bot meanwhile, then lets the request land. */
  const hold = () => {
    let release = (): void => undefined;
    const until = new Promise<void>((resolve) => (release = resolve));
    return { until, release };
  };

  it('delivers a job killed while waiting in the local queue exactly once after a restart, and charges it once', async () => {
    h = await startBotProcess({ env: { LUMA_MAX_CONCURRENT_JOBS: '1' } });
    const member = newMember();
    h.luma.planNext({ hold: true });
    const first = await imagine(h.discord, member, 'queued: the held one');
    await h.discord.waitFor(() => h?.luma.generations().length === 1, 10_000, 'the first POST');
    const second = await imagine(h.discord, member, 'queued: the waiting one');
    // The second job shows its place in the local queue, so it really is queued when the process dies.
    await h.discord.waitFor(() => messageText(h?.discord.original(second.token)).includes('position 1'), 10_000, 'the queue position');

    expect((await h.kill('SIGKILL')).signal).toBe('SIGKILL');
    expect(h.luma.posts()).toHaveLength(1);
    await h.start();
    h.luma.release(generationIds(h)[0] ?? '');

    expect(await delivered(h.discord, first, 'queued: the held one', member)).toHaveLength(1);
    expect(await delivered(h.discord, second, 'queued: the waiting one', member)).toHaveLength(1);
    // The held job was resumed by polling its saved generation id, not sent again.
    expect(h.luma.posts()).toHaveLength(2);
    expect(await quotaUsed(h.discord, member)).toBe(2);
    expect(deliveriesOf(h.discord, first, 'queued: the held one', member)).toHaveLength(1);
  });

  it('keeps polling a job killed while Luma was processing it, without sending it again', async () => {
    h = await startBotProcess();
    const member = newMember();
    h.luma.planNext({ hold: true });
    const i = await imagine(h.discord, member, 'processing: a fox');
    await h.discord.waitFor(() => messageText(h?.discord.original(i.token)).includes('Generating'), 10_000, 'the generating progress');

    await h.kill('SIGKILL');
    await h.start();
    await h.bot.waitForLog((l) => l.msg === 'resumed unfinished jobs' && l.count === 1, 10_000, 'the resume');
    h.luma.release(generationIds(h)[0] ?? '');

    const d = await delivered(h.discord, i, 'processing: a fox', member);
    expect(d.map((x) => x.where)).toEqual(['original']);
    expect(h.luma.posts()).toHaveLength(1);
    expect(await quotaUsed(h.discord, member)).toBe(1);
  });

  /**
   * Holds the upload to the reply (the next PATCH after the one progress edit) until the bot is SIGKILLed — Discord
   * applies it all the same — and resolves once the upload has landed.
   */
  const killDuringReplyUpload = async (p: ProcessHarness, member: ReturnType<typeof newMember>, prompt: string) => {
    p.luma.planNext({ hold: true });
    const i = await imagine(p.discord, member, prompt);
    await p.discord.waitFor(() => p.discord.edits(i.token).length === 1 && p.luma.generations()[0]?.state === 'processing', 10_000, 'the first progress edit');
    const upload = hold();
    p.discord.fault({ method: 'PATCH', path: /\/messages\/@original$/ }, { pass: true, until: upload.until });
    p.luma.release(generationIds(p)[0] ?? '');
    await p.discord.waitFor(() => p.discord.requestsTo('PATCH', /\/messages\/@original$/).some((r) => r.fault && r.files.length > 0), 10_000, 'the held upload');
    await p.kill('SIGKILL');
    upload.release();
    await p.discord.waitFor(() => deliveriesOf(p.discord, i, prompt, member).length > 0, 5000, 'the upload landing after the kill');
    return i;
  };

  it('shows the result once when killed while the upload to the reply was landing, reading the reply with the interaction’s token where the bot cannot read the channel', async () => {
    // Progress edits are throttled to one, so the next PATCH of the reply is the upload itself.
    h = await startBotProcess({ env: { PROGRESS_INTERVAL_MS: '60000' } });
    const member = newMember();
    const i = await killDuringReplyUpload(h, member, 'uploading: a lighthouse');
    h.discord.markChannelUnreadable(h.discord.channelId ?? '');
    await h.start();
    // The channel is closed to the bot's token, but the reply is read with the interaction's: the image is there.
    await h.bot.waitForLog((l) => String(l.msg).startsWith('the reply already shows the result'), 20_000, 'the landed upload found');

    const d = deliveriesOf(h.discord, i, 'uploading: a lighthouse', member);
    expect(d.map((x) => x.where)).toEqual(['original']);
    expect(d[0]?.message.attachments).toHaveLength(1);
    expect(h.discord.edits(i.token).filter((e) => e.files.length > 0)).toHaveLength(1);
    expect(h.discord.requestsTo('GET', /^\/webhooks\/\d+\/[^/]+\/messages\/@original$/).length).toBeGreaterThan(0);
    expect(h.luma.posts()).toHaveLength(1);
    expect(await quotaUsed(h.discord, member)).toBe(1);
  });

  it('does not post the result in the channel too when the upload to the reply landed and the token died during the restart', async () => {
    h = await startBotProcess({ env: { PROGRESS_INTERVAL_MS: '60000' } });
    const member = newMember();
    const i = await killDuringReplyUpload(h, member, 'uploading: a harbour crane');
    h.discord.expireToken(i.token);
    await h.start();
    const done = await h.bot.waitForLog((l) => l.msg === 'result delivered' || String(l.msg).startsWith('the reply already shows the result'), 20_000, 'the end of the job');

    expect(deliveriesOf(h.discord, i, 'uploading: a harbour crane', member).map((x) => x.where)).toEqual(['original']);
    expect(h.discord.requestsTo('POST', `/channels/${h.discord.channelId}/messages`)).toHaveLength(0);
    expect(done.msg).toMatch(/^the reply already shows the result/);
    expect(h.discord.edits(i.token).filter((e) => e.files.length > 0)).toHaveLength(1);
    expect(await quotaUsed(h.discord, member)).toBe(1);
  });

  it('fills the gallery of a request for four with each image exactly once across a kill -9 mid-delivery', async () => {
    // No pause between the images' deliveries; no progress edit once one is shown (the next PATCH is an upload).
    h = await startBotProcess({ env: { PROGRESS_INTERVAL_MS: '0', MAX_JOBS_PER_USER: '4' } });
    const p = h;
    const member = newMember();
    p.luma.planNext({});
    for (let n = 0; n < 3; n++) p.luma.planNext({ hold: true });
    const i = await p.discord.slashCommand({ name: 'imagine', user: member, options: [{ name: 'prompt', type: 3, value: 'four: lanterns' }, { name: 'count', type: 4, value: 4 }] });
    const shown = () => p.discord.original(i.token)?.attachments.map((a) => a.filename) ?? [];
    await p.discord.waitFor(() => shown().length === 1 && p.luma.generations().filter((g) => g.state === 'processing').length === 3, 20_000, 'one image shown, three at Luma');
    // The second image's upload is held, and lands although the bot dies meanwhile.
    const upload = hold();
    p.discord.fault({ method: 'PATCH', path: /\/messages\/@original$/ }, { pass: true, until: upload.until });
    p.luma.release(generationIds(p)[1] ?? '');
    await p.discord.waitFor(() => p.discord.requestsTo('PATCH', /\/messages\/@original$/).some((r) => r.fault && r.files.length > 0), 10_000, 'the held upload');
    await p.kill('SIGKILL');
    upload.release();
    await p.discord.waitFor(() => shown().length === 2, 5000, 'the upload landing after the kill');

    await p.start();
    for (const id of generationIds(p).slice(2)) p.luma.release(id);
    await p.discord.waitFor(() => shown().length === 4, 30_000, 'the gallery of four');
    await p.bot.waitForLog((l) => l.msg === 'result delivered', 10_000, 'a delivery after the restart');

    const files = shown();
    expect(new Set(files).size).toBe(4);
    expect(messageText(p.discord.original(i.token))).toContain('4 of 4 ready');
    // The image whose upload landed during the kill was not uploaded again; none was made twice at Luma.
    expect(p.discord.edits(i.token).flatMap((e) => e.files.map((f) => f.name))).toHaveLength(4);
    expect(p.luma.posts()).toHaveLength(4);
    expect(p.discord.requestsTo('POST', `/channels/${p.discord.channelId}/messages`)).toHaveLength(0);
    expect(await quotaUsed(p.discord, member)).toBe(4);
  });

  it('tells the member once and gives the unit back when killed while telling them the job failed', async () => {
    h = await startBotProcess({ env: { PROGRESS_INTERVAL_MS: '60000' } });
    const member = newMember();
    h.luma.planNext({ hold: true, failWith: 'generation_failed' });
    const i = await imagine(h.discord, member, 'failing: a storm');
    await h.discord.waitFor(() => h?.discord.edits(i.token).length === 1 && h.luma.generations()[0]?.state === 'processing', 10_000, 'the first progress edit');
    // The failure notice is the next PATCH of the reply: Discord takes it but the bot dies before hearing back.
    const held = hold();
    h.discord.fault({ method: 'PATCH', path: /\/messages\/@original$/ }, { pass: true, until: held.until });
    h.luma.release(generationIds(h)[0] ?? '');
    await h.discord.waitFor(() => h?.discord.requestsTo('PATCH', /\/messages\/@original$/).some((r) => r.fault), 10_000, 'the held failure notice');
    await h.kill('SIGKILL');
    held.release();
    await h.discord.waitFor(() => h?.discord.requestsTo('PATCH', /\/messages\/@original$/).some((r) => r.fault && r.status === 200), 5000, 'the notice landing after the kill');

    await h.start();
    await h.bot.waitForLog((l) => l.msg === 'resumed unfinished jobs' && l.count === 1, 10_000, 'the resumed failing job');
    const notice = await h.discord.waitFor(() => {
      const m = h?.discord.original(i.token);
      return m && messageText(m).includes('The model failed') ? m : undefined;
    }, 15_000, 'the failure notice');
    expect(customIdsOf(notice).filter((id) => id.startsWith('job:retry:'))).toHaveLength(1); // the Retry button
    expect(await quotaUsed(h.discord, member)).toBe(0);
    expect(h.discord.requestsTo('POST', `/channels/${h.discord.channelId}/messages`)).toHaveLength(0);
    expect(h.luma.posts()).toHaveLength(1);
  });

  it('posts one channel message when killed while a channel post (after the token expired) was landing', async () => {
    h = await startBotProcess();
    const member = newMember();
    const channelPosts = `/channels/${h.discord.channelId}/messages`;
    h.luma.planNext({ hold: true });
    const i = await imagine(h.discord, member, 'channel: a whale');
    await h.discord.waitFor(() => h?.luma.generations()[0]?.state === 'processing' && h.discord.edits(i.token).length > 0, 10_000, 'the job at Luma');
    h.discord.expireToken(i.token);
    const post = hold();
    h.discord.fault({ method: 'POST', path: channelPosts }, { pass: true, until: post.until });
    h.luma.release(generationIds(h)[0] ?? '');
    await h.discord.waitFor(() => h?.discord.requestsTo('POST', channelPosts).some((r) => r.fault), 10_000, 'the held channel post');

    await h.kill('SIGKILL');
    post.release();
    await h.discord.waitFor(() => deliveriesOf(h!.discord, i, 'channel: a whale', member).length > 0, 5000, 'the post landing after the kill');
    await h.start();
    // The restarted bot posts again with the job's nonce; Discord answers with the message that already exists.
    await h.discord.waitFor(() => h?.discord.requestsTo('POST', channelPosts).filter((r) => r.status === 200).length === 2, 20_000, 'the repeated post');
    await h.bot.waitForLog((l) => l.msg === 'result delivered', 10_000, 'the delivery log');

    const d = deliveriesOf(h.discord, i, 'channel: a whale', member);
    expect(d.map((x) => x.where)).toEqual(['channel']);
    expect(messageText(d[0]?.message)).toContain(`<@${member.id}>`);
    const nonces = h.discord.requestsTo('POST', channelPosts).map((r) => (r.json as { nonce?: string; enforce_nonce?: boolean }) ?? {});
    expect(new Set(nonces.map((n) => n.nonce)).size).toBe(1);
    expect(nonces.every((n) => n.enforce_nonce === true)).toBe(true);
    expect(await quotaUsed(h.discord, member)).toBe(1);
  });

  it('never sends a job twice when the process died after its POST left and before its answer was saved: it ends refunded, with a Retry', async () => {
    h = await startBotProcess();
    const member = newMember();
    // Luma holds the POST until the bot has died, and then creates the generation.
    const post = hold();
    h.luma.fault({ method: 'POST', path: '/v1/generations' }, { until: post.until });
    const i = await imagine(h.discord, member, 'window: a comet');
    await h.discord.waitFor(() => h?.luma.posts().length === 1, 10_000, 'the POST at Luma');

    await h.kill('SIGKILL');
    post.release();
    await h.discord.waitFor(() => h?.luma.generations().length === 1, 5000, 'the orphan generation');
    await h.start();
    await h.bot.waitForLog((l) => l.msg === 'ending a job whose POST outcome was not saved (a job is never sent twice)', 10_000, 'the job ended');

    // The member is told, with a Retry, and charged nothing; Luma got one POST (the bot cannot know it arrived).
    await h.discord.waitFor(() => messageText(h?.discord.original(i.token)).includes('Luma did not answer properly'), 15_000, 'the failure notice');
    expect(h.luma.posts()).toHaveLength(1);
    expect(await quotaUsed(h.discord, member)).toBe(0);
  });
});

// Graceful shutdown: SIGTERM stops taking work, lets running steps finish (cutting any that hang: on the engine's
// clock, test/jobs/stop.test.ts), closes connections and exits 0; the next start resumes what was left.
describe('graceful shutdown', () => {
  let h: ProcessHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
    await killLeftoverBots();
  });

  const generationIds = (p: ProcessHarness) => p.luma.generations().map((g) => g.id);

  it('exits 0 on SIGTERM with jobs at Luma, and delivers them all after a restart', async () => {
    h = await startBotProcess();
    const members = [newMember(), newMember(), newMember()];
    const prompts = members.map((_, n) => `sigterm: picture ${n}`);
    for (const _ of members) h.luma.planNext({ hold: true });
    const interactions = [];
    for (const [n, m] of members.entries()) interactions.push(await imagine(h.discord, m, prompts[n] ?? ''));
    await h.discord.waitFor(() => h?.luma.generations().length === 3, 10_000, 'three jobs at Luma');

    const exit = await h.kill('SIGTERM');
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(h.bot.lines.some((l) => l.msg === 'bot stopped')).toBe(true);

    await h.start();
    for (const id of generationIds(h)) h.luma.release(id);
    for (const [n, m] of members.entries()) {
      expect(await delivered(h.discord, interactions[n]!, prompts[n] ?? '', m)).toHaveLength(1);
    }
    expect(h.luma.posts()).toHaveLength(3);
    for (const m of members) expect(await quotaUsed(h.discord, m)).toBe(1);
  });

  it('exits 0 on SIGTERM that arrives while the bot is still starting, and starts cleanly afterwards', async () => {
    h = await startBotProcess();
    await h.kill('SIGTERM');
    await h.start({ waitReady: false });
    // The first thing the bot does is check the Luma key: it is starting, not ready.
    await h.bot.waitForLog((l) => String(l.msg).startsWith('luma request'), 20_000, 'the start-up Luma check');
    const exit = await h.kill('SIGTERM');
    expect(exit).toMatchObject({ code: 0, signal: null });

    await h.start();
    const member = newMember();
    const i = await imagine(h.discord, member, 'after an early SIGTERM: a kite');
    expect(await delivered(h.discord, i, 'after an early SIGTERM: a kite', member)).toHaveLength(1);
  });
});
