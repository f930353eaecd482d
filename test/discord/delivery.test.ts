// Delivery of a result: it reaches the member whatever happens to the token, the channel, the DM, the output URL or
// the upload size, and when it cannot, the member is told. The real bot process against the fakes.
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { noisePng } from '../../dev/fakes/png.js';
import { delivered, deliveriesOf, imagine, killLeftoverBots, newMember, quotaUsed, startBotProcess, type ProcessHarness } from '../helpers/process.js';

describe('delivering results', () => {
  let h: ProcessHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
    await killLeftoverBots();
  });

  /** Runs /imagine with a held generation and resolves once Luma is processing it and the reply shows progress. */
  const heldJob = async (p: ProcessHarness, member: ReturnType<typeof newMember>, prompt: string) => {
    p.luma.planNext({ hold: true });
    const i = await imagine(p.discord, member, prompt);
    await p.discord.waitFor(() => p.luma.generations().at(-1)?.state === 'processing' && p.discord.edits(i.token).length > 0, 10_000, 'the job at Luma');
    const id = p.luma.generations().at(-1)?.id ?? '';
    return { i, release: () => p.luma.release(id), generationId: id };
  };

  it('posts the result in the channel, mentioning the member with the image attached, once the token has expired', async () => {
    h = await startBotProcess();
    const member = newMember();
    const job = await heldJob(h, member, 'expired: a harbour');
    h.discord.expireToken(job.i.token);
    job.release();

    const d = await delivered(h.discord, job.i, 'expired: a harbour', member);
    expect(d.map((x) => x.where)).toEqual(['channel']);
    const message = d[0]!.message;
    expect(message.channel_id).toBe(h.discord.channelId);
    expect(message.content).toContain(`<@${member.id}>`);
    expect(message.attachments).toHaveLength(1);
    const post = h.discord.requestsTo('POST', `/channels/${h.discord.channelId}/messages`).find((r) => r.status === 200);
    expect((post?.json as { allowed_mentions?: { users?: string[] } }).allowed_mentions?.users).toEqual([member.id]);
    expect(post?.files[0]?.data.equals(h.luma.outputBytes(job.generationId))).toBe(true);
    expect(await quotaUsed(h.discord, member)).toBe(1);
  });

  it('DMs the member when the bot may not post in the channel', async () => {
    h = await startBotProcess();
    const member = newMember();
    const job = await heldJob(h, member, 'no channel: a meadow');
    h.discord.expireToken(job.i.token);
    h.discord.markChannelMissingPermissions(h.discord.channelId ?? '');
    job.release();

    const d = await delivered(h.discord, job.i, 'no channel: a meadow', member);
    expect(d.map((x) => x.where)).toEqual(['dm']);
    expect(h.discord.dmMessages(member.id)[0]?.attachments).toHaveLength(1);
  });

  it('keeps the result when neither the channel nor a DM works, and hands it over at the member’s next command', async () => {
    h = await startBotProcess();
    const member = newMember();
    const job = await heldJob(h, member, 'kept: a glacier');
    h.discord.expireToken(job.i.token);
    h.discord.markChannelMissingPermissions(h.discord.channelId ?? '');
    h.discord.markUserCannotDm(member.id);
    job.release();
    await h.bot.waitForLog((l) => String(l.msg).startsWith('result kept'), 20_000, 'the result being kept');
    expect(deliveriesOf(h.discord, job.i, 'kept: a glacier', member)).toHaveLength(0);

    // Any command of theirs will do: the kept image follows their answer.
    const q = await h.discord.slashCommand({ name: 'quota', user: member });
    const handed = await h.discord.waitFor(() => h?.discord.followups(q.token).find((m) => m.attachments.length > 0), 15_000, 'the handed-over image');
    expect(handed.content).toContain(`<@${member.id}>`);
    expect(handed.embeds[0]?.description).toBe('kept: a glacier');
    expect(await quotaUsed(h.discord, member)).toBe(1);
  });

  it('fetches the generation again for a fresh URL when the first download answers 403', async () => {
    h = await startBotProcess();
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

  it('re-encodes and says so when Discord refuses the upload with 413', async () => {
    const big = noisePng(300, 300, 7);
    h = await startBotProcess({ env: { PROGRESS_INTERVAL_MS: '60000' }, luma: { outputImage: () => big } });
    const member = newMember();
    const job = await heldJob(h, member, 'too large: a forest');
    // The next PATCH of the reply is the upload (progress edits are throttled): Discord refuses it once.
    h.discord.fault({ method: 'PATCH', path: /\/messages\/@original$/ }, { status: 413 });
    job.release();

    const d = await delivered(h.discord, job.i, 'too large: a forest', member);
    expect(d.map((x) => x.where)).toEqual(['original']);
    const uploads = h.discord.requestsTo('PATCH', /\/messages\/@original$/).filter((r) => r.files.length > 0);
    expect(uploads.map((r) => r.status)).toEqual([413, 200]);
    const sent = uploads[1]!.files[0]!;
    expect(sent.data.length).toBeLessThan(uploads[0]!.files[0]!.data.length);
    expect((await sharp(sent.data).metadata()).format).toMatch(/webp|jpeg/);
    expect(d[0]?.message.embeds[0]?.footer?.text).toContain('compressed');
  });

  it('compresses a result larger than the upload limit before uploading, and says so', async () => {
    const limit = 120_000;
    const big = noisePng(400, 400, 3); // ~480 kB of noise: no lossless trick makes it fit
    h = await startBotProcess({ discord: { uploadLimitBytes: limit }, luma: { outputImage: () => big } });
    const member = newMember();
    const i = await imagine(h.discord, member, 'over the limit: a desert');

    const d = await delivered(h.discord, i, 'over the limit: a desert', member);
    expect(d.map((x) => x.where)).toEqual(['original']);
    const uploads = h.discord.requestsTo('PATCH', /\/messages\/@original$/).filter((r) => r.files.length > 0);
    // Fitted before the first attempt: Discord never had to refuse anything.
    expect(uploads.map((r) => r.status)).toEqual([200]);
    expect(uploads[0]!.files[0]!.data.length).toBeLessThanOrEqual(limit);
    expect(d[0]?.message.embeds[0]?.footer?.text).toContain('compressed');
    expect(await quotaUsed(h.discord, member)).toBe(1);
  });

  it('rides out Discord 5xx answers on the upload', async () => {
    h = await startBotProcess({ env: { PROGRESS_INTERVAL_MS: '60000' } });
    const member = newMember();
    const job = await heldJob(h, member, '5xx: a canyon');
    h.discord.fault({ method: 'PATCH', path: /\/messages\/@original$/ }, { status: 502 }, { status: 500 }, { status: 503 }, { status: 500 }, { status: 502 });
    job.release();

    const d = await delivered(h.discord, job.i, '5xx: a canyon', member);
    expect(d).toHaveLength(1);
    expect(h.discord.pendingFaults).toBe(0);
  });

  it('tells the member with the job id and a Retry button when the image cannot be fetched, and Retry delivers it', async () => {
    h = await startBotProcess();
    const member = newMember();
    h.luma.fault({ method: 'GET', path: '/files/' }, ...Array.from({ length: 4 }, () => ({ status: 500 })));
    const i = await imagine(h.discord, member, 'retry: a volcano');

    const failed = await h.discord.waitFor(() => {
      const m = h?.discord.original(i.token);
      return m && JSON.stringify(m.embeds).includes('could not fetch it') ? m : undefined;
    }, 30_000, 'the failure message');
    const jobId = /job (\S+)/.exec(failed.embeds[0]?.footer?.text ?? '')?.[1] ?? '';
    expect(jobId).not.toBe('');
    const button = (failed.components?.[0] as { components: { custom_id: string }[] } | undefined)?.components[0];
    expect(button?.custom_id).toBe(`job:retry:${jobId}`);
    expect(await quotaUsed(h.discord, member)).toBe(0);

    const click = await h.discord.button({ customId: `job:retry:${jobId}`, user: member, message: { id: failed.id } });
    const d = await delivered(h.discord, click, 'retry: a volcano', member);
    expect(d.map((x) => x.where)).toEqual(['original']);
    // Made once at Luma: the retry fetched the same generation again.
    expect(h.luma.posts()).toHaveLength(1);
  });
});
