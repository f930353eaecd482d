// Jobs survive kill -9 at every step: the real entry point in a child process, killed and started again on the same
// SQLite file, against the same fakes. (SIGTERM: shutdown.test.ts.)
import { afterEach, describe, expect, it } from 'vitest';
import { delivered, deliveriesOf, imagine, killLeftoverBots, newMember, quotaUsed, startBotProcess, type ProcessHarness } from '../helpers/process.js';
import { customIdsOf, messageText } from '../helpers/message-text.js';

describe('jobs across kill -9', () => {
  let h: ProcessHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
    await killLeftoverBots();
  });

  const generationIds = (p: ProcessHarness) => p.luma.generations().map((g) => g.id);

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
   * Holds the upload to the reply (the next PATCH after the one progress edit) for 1.5 s — Discord applies it even
   * though the bot is SIGKILLed meanwhile — and resolves once the upload has landed.
   */
  const killDuringReplyUpload = async (p: ProcessHarness, member: ReturnType<typeof newMember>, prompt: string) => {
    p.luma.planNext({ hold: true });
    const i = await imagine(p.discord, member, prompt);
    await p.discord.waitFor(() => p.discord.edits(i.token).length === 1 && p.luma.generations()[0]?.state === 'processing', 10_000, 'the first progress edit');
    p.discord.fault({ method: 'PATCH', path: /\/messages\/@original$/ }, { pass: true, delayMs: 1500 });
    p.luma.release(generationIds(p)[0] ?? '');
    await p.discord.waitFor(() => p.discord.requestsTo('PATCH', /\/messages\/@original$/).some((r) => r.fault && r.files.length > 0), 10_000, 'the held upload');
    await p.kill('SIGKILL');
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
    p.discord.fault({ method: 'PATCH', path: /\/messages\/@original$/ }, { pass: true, delayMs: 1500 });
    p.luma.release(generationIds(p)[1] ?? '');
    await p.discord.waitFor(() => p.discord.requestsTo('PATCH', /\/messages\/@original$/).some((r) => r.fault && r.files.length > 0), 10_000, 'the held upload');
    await p.kill('SIGKILL');
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
    h.discord.fault({ method: 'PATCH', path: /\/messages\/@original$/ }, { pass: true, delayMs: 1500 });
    h.luma.release(generationIds(h)[0] ?? '');
    await h.discord.waitFor(() => h?.discord.requestsTo('PATCH', /\/messages\/@original$/).some((r) => r.fault), 10_000, 'the held failure notice');
    await h.kill('SIGKILL');

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
    h.discord.fault({ method: 'POST', path: channelPosts }, { pass: true, delayMs: 1500 });
    h.luma.release(generationIds(h)[0] ?? '');
    await h.discord.waitFor(() => h?.discord.requestsTo('POST', channelPosts).some((r) => r.fault), 10_000, 'the held channel post');

    await h.kill('SIGKILL');
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
    // Luma holds the POST 1.5 s and then creates the generation, although the bot has died by then.
    h.luma.fault({ method: 'POST', path: '/v1/generations' }, { delayMs: 1500 });
    const i = await imagine(h.discord, member, 'window: a comet');
    await h.discord.waitFor(() => h?.luma.posts().length === 1, 10_000, 'the POST at Luma');

    await h.kill('SIGKILL');
    await h.discord.waitFor(() => h?.luma.generations().length === 1, 5000, 'the orphan generation');
    await h.start();
    await h.bot.waitForLog((l) => l.msg === 'ending a job whose POST outcome was not saved (a job is never sent twice)', 10_000, 'the job ended');

    // The member is told, with a Retry, and charged nothing; Luma got one POST (the bot cannot know it arrived).
    await h.discord.waitFor(() => messageText(h?.discord.original(i.token)).includes('Luma did not answer properly'), 15_000, 'the failure notice');
    expect(h.luma.posts()).toHaveLength(1);
    expect(await quotaUsed(h.discord, member)).toBe(0);
  });
});
