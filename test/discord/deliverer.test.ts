// The Discord deliverer alone, against the fake Discord's REST (no bot process, no gateway): how a job's progress,
// result and failure reach the member by the best route still open — the interaction's reply, the channel, a DM —
// and what happens when Discord refuses an upload or a message.
import { MessageFlags } from 'discord.js';
import { request } from 'undici';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { noisePng } from '../../dev/fakes/png.js';
import { startFakeDiscord, type FakeDiscord } from '../../dev/fakes/discord/server.js';
import { DiscordDeliverer } from '../../src/discord/deliverer.js';
import { INTERACTION_TOKEN_TTL_MS, routeOf, type InteractionRoute } from '../../src/discord/route.js';
import { DiscordHttp } from '../../src/discord/transport/http.js';
import { DiscordResponder } from '../../src/discord/transport/responder.js';
import { jobFailure } from '../../src/jobs/failures.js';
import type { JobRecord } from '../../src/jobs/types.js';
import { makeJob } from '../helpers/fixtures.js';
import { createLogger } from '../../src/logger.js';
import { LogCapture } from '../helpers/logs.js';
import { customIdsOf, galleryOf, messageText } from '../helpers/message-text.js';

describe('the Discord deliverer', () => {
  let discord: FakeDiscord;
  let http: DiscordHttp;
  let deliver: DiscordDeliverer;
  let lines: LogCapture['lines'];
  let raw: () => string;
  let n = 0;

  beforeEach(async () => {
    discord = await startFakeDiscord();
    http = new DiscordHttp({ apiUrl: discord.apiUrl, connections: 4 });
    // The bot's own logger (its redaction included), into memory.
    const logs = new LogCapture();
    lines = logs.lines;
    raw = () => logs.raw;
    const logger = createLogger({ logLevel: 'debug', logFormat: 'json' }, logs.stream);
    deliver = new DiscordDeliverer(new DiscordResponder(discord.apiUrl, discord.token, http.rest('messages')), logger);
  });
  afterEach(async () => {
    await http.close();
    await discord.close();
  });

  /** A job of a fresh member, answering through a fresh interaction of theirs that the bot has deferred. */
  async function jobWithReply(o: { limit?: number; prompt?: string } = {}): Promise<{ job: JobRecord; token: string; userId: string }> {
    const userId = `40000000000000${String(1000 + n++)}`;
    const i = discord.createInteraction({ name: 'imagine', user: { id: userId, username: `m${n}` } });
    const ack = await request(`${discord.apiUrl}/v10/interactions/${i.id}/${i.token}/callback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 5, data: { flags: 0 } }) });
    await ack.body.dump();
    expect(ack.statusCode).toBe(204);
    const job = makeJob({
      userId,
      guildId: discord.guildId,
      requester: { channelId: discord.channelId, locale: 'en-US' },
      route: { applicationId: discord.applicationId, interactionId: i.id, interactionToken: i.token, tokenExpiresAt: Date.now() + INTERACTION_TOKEN_TTL_MS, attachmentSizeLimit: o.limit ?? 10 * 1024 * 1024 },
    });
    job.display.prompt = o.prompt ?? `a harbour ${n}`;
    job.step = 'delivering';
    job.completedAt = job.createdAt + 30_000;
    job.generationId = `gen_${job.id}`;
    return { job, token: i.token, userId };
  }

  /** The jobs of a request for `count` images, all answering through one deferred reply (copies of its route). */
  async function groupWithReply(count: number): Promise<{ jobs: JobRecord[]; token: string; userId: string }> {
    const { job, token, userId } = await jobWithReply({ prompt: `a group of ${count}` });
    const ids = Array.from({ length: count }, (_, i) => `${job.id.slice(0, 6)}g${i}`);
    const jobs = ids.map((id, index): JobRecord => ({ ...structuredClone(job), id, generationId: `gen_${id}`, group: { id: 'grp', index, jobIds: ids } }));
    for (const j of jobs) j.step = 'polling';
    return { jobs, token, userId };
  }
  const view = (jobs: JobRecord[]) => ({ jobs });
  const delivered = (job: JobRecord, messageId: string) => Object.assign(job, { step: 'done', delivery: { via: 'original', messageId, channelId: discord.channelId, at: Date.now() } });

  const png = () => ({ bytes: noisePng(64, 64, n), contentType: 'image/png' });

  it('puts the result in the interaction’s reply while its token lives, with its buttons', async () => {
    const { job, token } = await jobWithReply();
    const image = png();
    const outcome = await deliver.result(job, image);
    expect(outcome).toMatchObject({ outcome: 'delivered', via: 'original' });
    const reply = discord.original(token);
    expect(reply?.attachments).toHaveLength(1);
    // Components V2: the prompt, its line and the job as text, the image in a gallery, the buttons inside.
    expect(reply?.flags ?? 0).toBe(MessageFlags.IsComponentsV2);
    expect(messageText(reply)).toContain(`job ${job.id}`);
    expect(messageText(reply)).toContain(job.display.prompt);
    expect(galleryOf(reply)).toEqual([reply?.attachments[0]?.url]);
    expect(customIdsOf(reply)).toEqual([`job:vary:${job.id}`, `job:edit:${job.id}`, `job:enhance:${job.id}`, `job:reroll:${job.id}`]);
    expect(discord.edits(token).at(-1)?.files[0]?.data.equals(image.bytes)).toBe(true);
  });

  it('posts in the channel, mentioning the member, once the token no longer works — with the job’s nonce', async () => {
    const { job, token, userId } = await jobWithReply();
    discord.expireToken(token);
    const outcome = await deliver.result(job, png());
    expect(outcome).toMatchObject({ outcome: 'delivered', via: 'channel', channelId: discord.channelId });
    const post = discord.requestsTo('POST', `/channels/${discord.channelId}/messages`).find((r) => r.status === 200);
    const body = post?.json as { components?: unknown; nonce?: string; enforce_nonce?: boolean; allowed_mentions?: { users?: string[] } };
    expect(messageText({ content: '', embeds: [], components: body.components as never })).toContain(`<@${userId}>`);
    expect(body.allowed_mentions?.users).toEqual([userId]);
    expect(body).toMatchObject({ nonce: job.nonce, enforce_nonce: true });
  });

  it('sends a DM when the bot may not post in the channel, and says it reached no one when the DM fails too', async () => {
    const first = await jobWithReply();
    discord.expireToken(first.token);
    discord.markChannelMissingPermissions(discord.channelId ?? '');
    expect(await deliver.result(first.job, png())).toMatchObject({ outcome: 'delivered', via: 'dm' });
    expect(discord.dmMessages(first.userId)[0]?.attachments).toHaveLength(1);

    const second = await jobWithReply();
    discord.expireToken(second.token);
    discord.markUserCannotDm(second.userId);
    expect(await deliver.result(second.job, png())).toEqual({ outcome: 'unreachable' });
  });

  it('re-encodes and says so when Discord refuses the upload with 413', async () => {
    const { job, token } = await jobWithReply();
    const big = { bytes: noisePng(300, 300, 7), contentType: 'image/png' };
    discord.fault({ method: 'PATCH', path: /\/messages\/@original$/ }, { status: 413 });
    const outcome = await deliver.result(job, big);
    expect(outcome).toMatchObject({ outcome: 'delivered', via: 'original', compressed: true });
    const uploads = discord.requestsTo('PATCH', /\/messages\/@original$/).filter((r) => r.files.length > 0);
    expect(uploads.map((r) => r.status)).toEqual([413, 200]);
    const sent = uploads[1]!.files[0]!;
    expect(sent.data.length).toBeLessThan(big.bytes.length);
    expect((await sharp(sent.data).metadata()).format).toMatch(/webp|jpeg/);
    expect(messageText(discord.original(token))).toContain('compressed');
  });

  it('fits a result over the interaction’s upload limit before the first attempt', async () => {
    const limit = 120_000;
    const { job } = await jobWithReply({ limit });
    const outcome = await deliver.result(job, { bytes: noisePng(400, 400, 3), contentType: 'image/png' });
    expect(outcome).toMatchObject({ outcome: 'delivered', compressed: true });
    const uploads = discord.requestsTo('PATCH', /\/messages\/@original$/).filter((r) => r.files.length > 0);
    expect(uploads.map((r) => r.status)).toEqual([200]);
    expect(uploads[0]!.files[0]!.data.length).toBeLessThanOrEqual(limit);
  });

  it('rides out Discord’s 5xx answers on the upload', async () => {
    const { job, token } = await jobWithReply();
    discord.fault({ method: 'PATCH', path: /\/messages\/@original$/ }, { status: 502 }, { status: 500 }, { status: 503 }, { status: 500 }, { status: 502 });
    expect(await deliver.result(job, png())).toMatchObject({ outcome: 'delivered', via: 'original' });
    expect(discord.pendingFaults).toBe(0);
    expect(discord.original(token)?.attachments).toHaveLength(1);
  });

  it('sends a message Discord refuses (400) once more without container or buttons, in the same reply', async () => {
    const { job, token } = await jobWithReply({ prompt: 'plain: a lighthouse' });
    discord.fault({ method: 'PATCH', path: /\/messages\/@original$/ }, { status: 400, body: { code: 50035, message: 'Invalid Form Body' } });
    expect(await deliver.result(job, png())).toMatchObject({ outcome: 'delivered', via: 'original' });
    const reply = discord.original(token);
    expect(customIdsOf(reply)).toEqual([]);
    expect(reply?.components?.map((c) => c.type)).toEqual([10, 12]);
    expect(messageText(reply)).toContain('plain: a lighthouse');
    expect(reply?.attachments).toHaveLength(1);
    expect(galleryOf(reply)).toHaveLength(1);
  });

  it('posts a message Discord refuses (400) once more as plain text with the image, in the channel', async () => {
    const { job, token } = await jobWithReply({ prompt: 'plain post: a lighthouse' });
    discord.expireToken(token);
    discord.fault({ method: 'POST', path: `/channels/${discord.channelId}/messages` }, { status: 400, body: { code: 50035, message: 'Invalid Form Body' } });
    expect(await deliver.result(job, png())).toMatchObject({ outcome: 'delivered', via: 'channel' });
    const post = discord.channelMessages(discord.channelId ?? '').at(-1);
    expect(post?.flags ?? 0).toBe(0);
    expect(post?.content).toContain('plain post: a lighthouse');
    expect(post?.attachments).toHaveLength(1);
  });

  it('logs the route, the status and Discord’s code of every failed route — never the token or the bytes', async () => {
    const { job, token, userId } = await jobWithReply();
    discord.expireToken(token);
    discord.markChannelMissingPermissions(discord.channelId ?? '');
    discord.markUserCannotDm(userId);
    await deliver.result(job, png());
    const failures = lines.filter((l) => l.msg === 'Discord delivery route failed');
    // The reply is tried first: the bot learns the token died from Discord's 401.
    expect(failures.map((l) => l.route)).toEqual(['original', 'channel', 'dm']);
    expect(failures.every((l) => typeof l.status === 'number' && typeof l.code === 'number')).toBe(true);
    expect(raw()).not.toContain(token);
    expect(raw()).not.toContain(discord.token);
    // No bytes of the image either: an error's request body is not logged, its URL only as a route.
    expect(raw()).not.toContain('requestBody');
    expect(failures.every((l) => typeof (l.err as { route?: unknown }).route === 'string')).toBe(true);
  });

  it('shows progress, skips a line that would not change, and stops once the token is dead', async () => {
    const { job, token } = await jobWithReply();
    const now = Date.now();
    expect(deliver.canShowProgress(job, now)).toBe(true);
    expect(await deliver.progress(job, { stage: 'waiting', position: 3 }, now)).toBe('shown');
    expect(await deliver.progress(job, { stage: 'waiting', position: 3 }, now)).toBe('unchanged');
    expect(discord.edits(token)).toHaveLength(1);
    expect(routeOf(job).originalMessageId).toBe(discord.original(token)?.id);
    discord.expireToken(token);
    expect(await deliver.progress(job, { stage: 'sending' }, now)).toBe('closed');
    expect(deliver.canShowProgress(job, now)).toBe(false);
  });

  it('finds a result an earlier attempt uploaded to the reply (after a restart), and only when it is there', async () => {
    const { job } = await jobWithReply();
    await deliver.progress(job, { stage: 'finishing' }, Date.now());
    deliver.beforeResult(job, Date.now());
    expect(routeOf(job).uploadTried).toBe(true);
    expect(await deliver.findDelivered(job)).toBeUndefined();
    await deliver.result(job, png());
    expect(await deliver.findDelivered(job)).toMatchObject({ via: 'original', channelId: discord.channelId });
  });

  it('tells the member of a failure with the job id and a Retry button when it may be retried', async () => {
    const { job, token } = await jobWithReply();
    job.failure = { ...jobFailure('download_failed', 'failure.download_failed', {}, { retryable: true, ref: 'ref-1' }), nonce: 'n1' };
    expect(await deliver.failure(job)).toMatchObject({ outcome: 'delivered', via: 'original' });
    const reply = discord.original(token);
    expect(messageText(reply)).toContain(`job ${job.id}`);
    expect(customIdsOf(reply)).toEqual([`job:retry:${job.id}`]);
  });

  it('fills one reply with the images of a request for several as they come, keeping the ones it shows, and names a failed one', async () => {
    const { jobs, token } = await groupWithReply(3);
    const [a, b, c] = jobs as [JobRecord, JobRecord, JobRecord];
    a.step = 'delivering';
    expect(await deliver.result(a, png(), view(jobs))).toMatchObject({ outcome: 'delivered', via: 'original' });
    let reply = discord.original(token);
    expect(reply?.attachments.map((x) => x.filename)).toEqual([`luma-${a.id}.png`]);
    expect(messageText(reply)).toContain('1 of 3 ready');
    expect(messageText(reply)).toContain('2 more images on their way');
    expect(customIdsOf(reply)).toEqual([`job:vary:${a.id}`, `job:edit:${a.id}`, `job:enhance:${a.id}`, `job:reroll:${a.id}`]);
    delivered(a, reply?.id ?? '');

    b.step = 'delivering';
    expect(await deliver.result(b, png(), view(jobs))).toMatchObject({ outcome: 'delivered', via: 'original' });
    reply = discord.original(token);
    // The first image is kept by its attachment id, not uploaded again.
    const edit = discord.edits(token).at(-1)?.json as { attachments: Array<{ id: string | number }> };
    expect(edit.attachments[0]).toEqual({ id: reply?.attachments[0]?.id });
    expect(discord.edits(token).at(-1)?.files).toHaveLength(1);
    expect(reply?.attachments.map((x) => x.filename)).toEqual([`luma-${a.id}.png`, `luma-${b.id}.png`]);
    expect(galleryOf(reply)).toHaveLength(2);
    expect(messageText(reply)).toContain('2 of 3 ready');
    delivered(b, reply?.id ?? '');

    c.step = 'failing';
    c.failure = { ...jobFailure('generation_failed', 'failure.generation_failed', {}, { retryable: true }), nonce: 'n3' };
    expect(await deliver.failure(c, view(jobs))).toMatchObject({ outcome: 'delivered', via: 'original' });
    reply = discord.original(token);
    expect(reply?.attachments).toHaveLength(2);
    expect(messageText(reply)).toContain('Image 3:');
    expect(messageText(reply)).toContain('The model failed while making this image');
    expect(customIdsOf(reply)).toEqual([`job:vary:${a.id}`, `job:edit:${a.id}`, `job:enhance:${a.id}`, `job:vary:${b.id}`, `job:edit:${b.id}`, `job:enhance:${b.id}`, `job:reroll:${a.id}`, `job:retry:${c.id}`]);
    expect(customIdsOf(reply).map((id) => id.split(':')[1])).not.toContain('enhanceok');
  });

  it('posts an image of several on its own, saying which one, once the reply can no longer be edited', async () => {
    const { jobs, token, userId } = await groupWithReply(2);
    const [a, b] = jobs as [JobRecord, JobRecord];
    a.step = 'delivering';
    await deliver.result(a, png(), view(jobs));
    delivered(a, discord.original(token)?.id ?? '');
    discord.expireToken(token);
    b.step = 'delivering';
    expect(await deliver.result(b, png(), view(jobs))).toMatchObject({ outcome: 'delivered', via: 'channel' });
    const post = discord.channelMessages(discord.channelId ?? '').at(-1);
    expect(messageText(post)).toContain(`<@${userId}>, image 2 of 2 is ready.`);
    expect(post?.attachments.map((x) => x.filename)).toEqual([`luma-${b.id}.png`]);
    expect(customIdsOf(post)).toEqual([`job:vary:${b.id}`, `job:edit:${b.id}`, `job:enhance:${b.id}`]);
    // The reply keeps what it showed.
    expect(discord.original(token)?.attachments.map((x) => x.filename)).toEqual([`luma-${a.id}.png`]);
  });

  it('keeps a private answer out of the channel: after its token, it goes by DM', async () => {
    const { job, token, userId } = await jobWithReply();
    (job.replyTo as unknown as InteractionRoute).private = true;
    discord.expireToken(token);
    expect(await deliver.result(job, png())).toMatchObject({ outcome: 'delivered', via: 'dm' });
    expect(discord.channelMessages(discord.channelId ?? '')).toEqual([]);
    expect(discord.dmMessages(userId)).toHaveLength(1);
  });

  it('drops the token from the route once it expired or the job ended, before the record is stored', () => {
    const live = makeJob({ userId: '1', guildId: null, route: { interactionToken: 'secret', tokenExpiresAt: 10_000 } });
    deliver.scrub(live, 5_000, false);
    expect((live.replyTo as unknown as InteractionRoute).interactionToken).toBe('secret');
    deliver.scrub(live, 5_000, true);
    expect((live.replyTo as unknown as InteractionRoute).interactionToken).toBe('');
    const expired = makeJob({ userId: '1', guildId: null, route: { interactionToken: 'secret', tokenExpiresAt: 10_000 } });
    deliver.scrub(expired, 10_000, false);
    expect((expired.replyTo as unknown as InteractionRoute).interactionToken).toBe('');
  });
});
