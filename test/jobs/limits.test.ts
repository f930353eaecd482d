// Luma's limits (concurrency, requests per minute, per-member cap): jobs beyond them wait in a fair local queue
// instead of failing; a "Too many concurrent jobs" 429 puts the job back and lowers the effective concurrency. The
// real bot process against the fakes.
import { afterEach, describe, expect, it } from 'vitest';
import type { DispatchedInteraction } from '../../dev/fakes/discord/server.js';
import { delivered, deliveriesOf, imagine, killLeftoverBots, newMember, queuedProbe, startBotProcess, type ProcessHarness } from '../helpers/process.js';
import { messageText } from '../helpers/message-text.js';

describe('Luma limits and the local queue', () => {
  let h: ProcessHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
    await killLeftoverBots();
  });

  it('delivers 12 jobs at a configured limit of 10 while Luma allows only 8, backing off on its 429s with no failure', async () => {
    h = await startBotProcess({ env: { LUMA_MAX_CONCURRENT_JOBS: '10' }, luma: { queuedMs: 100, processingMs: 1500 } });
    h.luma.setRateLimit({ concurrent: 8 });
    const members = Array.from({ length: 12 }, () => newMember());
    const jobs = await Promise.all(members.map(async (m, n) => ({ m, prompt: `limits: picture ${n}`, i: await imagine(h!.discord, m, `limits: picture ${n}`) })));

    for (const j of jobs) expect(await delivered(h.discord, j.i, j.prompt, j.m, 45_000)).toHaveLength(1);
    const posts = h.luma.posts();
    const refused = h.luma.requests.filter((r) => r.method === 'POST' && r.fault === undefined).length - h.luma.generations().length;
    expect(refused).toBeGreaterThan(0);
    expect(h.luma.generations()).toHaveLength(12);
    expect(posts.length).toBe(12 + refused);
    expect(h.lines.some((l) => String(l.msg).includes('lowering concurrency'))).toBe(true);
    expect(h.lines.filter((l) => l.msg === 'job failed')).toHaveLength(0);
    // After the first 429 the bot stops probing Luma with POSTs it knows will be refused.
    expect(refused).toBeLessThanOrEqual(4);
    for (const j of jobs) expect(deliveriesOf(h.discord, j.i, j.prompt, j.m)).toHaveLength(1);
  });

  it('serves a member with one job before the ten another member queued first', async () => {
    h = await startBotProcess({ env: { LUMA_MAX_CONCURRENT_JOBS: '1' }, luma: { queuedMs: 50, processingMs: 250 } });
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
    h = await startBotProcess();
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
    h = await startBotProcess({ env: { LUMA_MAX_REQUESTS_PER_MINUTE: '2' } });
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
    expect(h.lines.filter((l) => l.msg === 'job failed')).toHaveLength(0);
  });

  it('pauses every submission for the Retry-After when Luma refuses one for the per-minute limit', async () => {
    h = await startBotProcess();
    h.luma.setRateLimit({ rpm: 2 });
    // Someone else on the account has used this minute's window: the bot cannot know before Luma says so.
    for (const prompt of ['other client: 1', 'other client: 2']) {
      const res = await fetch(`${h.luma.url}/generations`, { method: 'POST', headers: { authorization: `Bearer ${h.luma.apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ prompt }) });
      expect(res.status).toBe(201);
    }
    const members = [newMember(), newMember()];
    const jobs: { prompt: string; i: DispatchedInteraction }[] = [];
    jobs.push({ prompt: 'luma rpm: 0', i: await imagine(h.discord, members[0]!, 'luma rpm: 0') });
    await h.bot.waitForLog((l) => String(l.msg).includes('pausing submissions'), 10_000, 'the pause');
    jobs.push({ prompt: 'luma rpm: 1', i: await imagine(h.discord, members[1]!, 'luma rpm: 1') });
    // The refused job and the one behind it wait, each shown its place; neither is sent into a limit Luma has just
    // reported, nor failed.
    for (const j of jobs) await h.discord.waitFor(() => /position \d+/.test(messageText(h?.discord.original(j.i.token)) ?? '') || undefined, 10_000, `"${j.prompt}" shown its place`);
    await queuedProbe(h.discord);
    expect(h.luma.posts()).toHaveLength(3);
    expect(h.luma.posts()[2]?.limitedBy).toBe('requests');
    expect(h.lines.filter((l) => l.msg === 'job failed')).toHaveLength(0);
  });

  it("learns the plan's per-minute limit from the headers of Luma's 201 and holds the rest without drawing a 429", async () => {
    // Configured for 30 a minute; the account's plan allows 3. The first 201 says so.
    h = await startBotProcess({ env: { LUMA_MAX_REQUESTS_PER_MINUTE: '30' }, luma: { plan: { rpm: 3 } } });
    const first = newMember();
    const firstJob = await imagine(h.discord, first, 'learn: first');
    expect(await delivered(h.discord, firstJob, 'learn: first', first)).toHaveLength(1);
    const learned = await h.bot.waitForLog((l) => l.msg === 'Luma limits changed', 10_000, 'the learned limit');
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
    expect(h.lines.filter((l) => l.msg === 'Luma limits changed')).toHaveLength(1);
  });

  it('keeps to the concurrency it knows of and never draws a "Too many concurrent jobs" from Luma', async () => {
    h = await startBotProcess({ env: { LUMA_MAX_CONCURRENT_JOBS: '3', MAX_JOBS_PER_USER: '3' }, luma: { plan: { rpm: 100, concurrent: 3 }, queuedMs: 50, processingMs: 400 } });
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
