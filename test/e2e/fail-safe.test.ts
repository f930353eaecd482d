// Failing safe where nobody scripted the failure: member images never stored, the inline cap, storage refusing a
// failed job, states outside the API reference, jobs Luma never finishes, double Retry clicks, Reroll's cost, no
// token kept, Luma outages. The real bot (in process) against the fakes, driven through the fake Discord.
import { afterEach, describe, expect, it } from 'vitest';
import type { APIMessage } from 'discord.js';
import { solidPng } from '../../dev/fakes/png.js';
import type { JobRecord } from '../../src/jobs/types.js';
import { startHarness, opt, type Harness } from '../helpers/harness.js';
import { deliveriesOf, imagine, newMember, quotaUsed, type Member } from '../helpers/process.js';
import { customIdsOf, messageText } from '../helpers/message-text.js';

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
