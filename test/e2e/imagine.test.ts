// /imagine end to end: the real bot (in process) against the fakes, from the command to the delivered image — its
// options, reference images and result buttons (also after a restart), where results are downloaded from, and the
// order of checks before anything is charged. How often a long job's progress is shown is test/jobs/progress.test.ts's.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { APIMessage } from 'discord.js';
import { solidPng, tinyGif, tinyJpeg } from '../../dev/fakes/png.js';
import { opt, privateAnswer, startHarness, type Harness } from '../helpers/harness.js';
import { closeScriptedServers, startScriptedServer } from '../helpers/http-server.js';
import { customIdsOf, messageText } from '../helpers/message-text.js';
import { delivered, newMember } from '../helpers/process.js';

const done = (h: Harness, token: string) =>
  h.discord.waitFor(() => {
    const m = h.discord.original(token);
    return m && m.attachments.length > 0 ? m : undefined;
  }, 20_000, 'the result');

const DAY_MS = 24 * 3_600_000;

describe('/imagine end to end', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('defers, sends the prompt with the member id, shows progress, and uploads the bytes Luma made', async () => {
    const user = { id: '500000000000000001', username: 'alice' };
    const { id, token } = await h.discord.slashCommand({ name: 'imagine', user, options: [opt.string('prompt', 'a lighthouse at dusk')] });

    const final = await h.discord.waitFor(() => {
      const m = h.discord.original(token);
      return m && m.attachments.length > 0 ? m : undefined;
    }, 15_000, 'the result upload');

    // Deferred (type 5) as the first answer.
    expect(h.discord.callbacks(id)[0]?.type).toBe(5);
    // The POST carried the prompt and the invoking member's id.
    const posts = h.luma.posts();
    expect(posts).toHaveLength(1);
    expect(posts[0]?.body).toMatchObject({ prompt: 'a lighthouse at dusk', user_id: user.id, type: 'image', model: 'uni-1' });
    // At least one progress edit before the result, and the final upload is Luma's bytes.
    const edits = h.discord.edits(token);
    expect(edits.some((e) => e.files.length === 0 && messageText(e.json as never).includes('lighthouse'))).toBe(true);
    const upload = edits.at(-1)?.files[0];
    const generation = h.luma.generations()[0];
    expect(generation).toBeDefined();
    expect(upload?.data.equals(h.luma.outputBytes(generation!.id))).toBe(true);
    expect(messageText(final)).toContain('a lighthouse at dusk');
  });

  it('refuses a blank prompt privately and sends nothing to Luma', async () => {
    const { id } = await h.discord.slashCommand({ name: 'imagine', options: [opt.string('prompt', '   ')] });
    await h.discord.waitFor(() => h.discord.callbacks(id)[0], 5000, 'the refusal');
    const cb = h.discord.callbacks(id)[0] as { type: number; data: { content: string; flags: number } };
    expect(cb.type).toBe(4);
    expect(cb.data.flags & 64).toBe(64);
    expect(cb.data.content).toMatch(/prompt is empty/i);
    expect(h.luma.posts()).toHaveLength(0);
  });

  it('shows a plain-language reason when the generation fails', async () => {
    h.luma.planNext({ failWith: 'content_moderated' });
    const { token } = await h.discord.slashCommand({ name: 'imagine', options: [opt.string('prompt', 'something flagged')] });
    const msg = await h.discord.waitFor(() => {
      const m = h.discord.original(token);
      return m && messageText(m).includes('safety filter') ? m : undefined;
    }, 15_000, 'the failure message');
    expect(msg.attachments).toHaveLength(0);
  });

  it('never writes the Discord token, the Luma key or an interaction token to the logs', async () => {
    const { token } = await h.discord.slashCommand({ name: 'imagine', options: [opt.string('prompt', 'a cat')] });
    await h.discord.waitFor(() => (h.discord.original(token)?.attachments.length ?? 0) > 0, 15_000, 'the result');
    expect(h.logs.lines.length).toBeGreaterThan(3);
    expect(h.logs.raw).not.toContain(h.discord.token);
    expect(h.logs.raw).not.toContain(h.luma.apiKey);
    expect(h.logs.raw).not.toContain(token);
  });

  describe('a request made again after its reference links expired (Discord signs them for about a day)', () => {
    const png = solidPng(8, 8, [0, 128, 255]);
    const result = (token: string) =>
      h.discord.waitFor(() => {
        const m = h.discord.original(token);
        return m && m.attachments.length > 0 ? m : undefined;
      }, 15_000, 'the result');

    /** An /imagine with a reference uploaded two days ago (its link valid then), done; the link has expired since. */
    const madeTwoDaysAgo = async () => {
      h.discord.shiftCdnClock(-2 * DAY_MS);
      const ref = h.discord.addAttachment({ filename: 'boat.png', contentType: 'image/png', data: png });
      const { token } = await h.discord.slashCommand({ name: 'imagine', options: [opt.string('prompt', 'a boat like this'), opt.attachment('reference1', ref.id)], attachments: [ref] });
      const made = await result(token);
      h.discord.shiftCdnClock(0);
      expect((await fetch(ref.url)).status).toBe(404);
      const rerollId = customIdsOf(made).find((id) => id.startsWith('job:reroll:'));
      expect(rerollId).toBeDefined();
      return { ref, made: made as APIMessage, rerollId: rerollId ?? '' };
    };

    it('renews the links with POST /attachments/refresh-urls before Reroll sends the request: one POST, and Luma gets the image', async () => {
      const { ref, made, rerollId } = await madeTwoDaysAgo();
      const reroll = await h.discord.button({ customId: rerollId, message: made });
      await result(reroll.token);
      const posts = h.luma.posts();
      expect(posts).toHaveLength(2);
      const sent = (posts[1]?.body as { image_ref: Array<{ url: string }> }).image_ref[0]?.url ?? '';
      expect(sent).not.toBe(ref.url);
      expect(new URL(sent).pathname).toBe(new URL(ref.url).pathname);
      expect(h.luma.generations()[1]?.inputs.map((i) => [i.kind, i.bytes?.equals(png)])).toEqual([['url', true]]);
      expect(h.discord.requestsTo('POST', '/attachments/refresh-urls')).toHaveLength(1);
    });

    it('refuses Reroll before any POST, saying what to do, when the referenced image is gone from Discord', async () => {
      const { ref, made, rerollId } = await madeTwoDaysAgo();
      h.discord.removeAttachment(ref.id);
      const reroll = await h.discord.button({ customId: rerollId, message: made });
      const said = await h.discord.waitFor(() => {
        const texts = [h.discord.original(reroll.token), ...h.discord.followups(reroll.token)].flatMap((m) => (m ? [messageText(m)] : []));
        return texts.find((t) => t.includes('no longer on Discord'));
      }, 15_000, 'the refusal');
      expect(said).toMatch(/Nothing was sent and nothing was charged: upload the image again/);
      expect(h.luma.posts()).toHaveLength(1);
    });
  });
});

describe('/imagine options, references and buttons', () => {
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  it('forwards every option as the API expects', async () => {
    h = await startHarness();
    const { token } = await h.discord.slashCommand({
      name: 'imagine',
      options: [
        opt.string('prompt', 'a manga hero'),
        opt.string('aspect_ratio', '9:16'),
        opt.string('model', 'uni-1-max'),
        opt.string('style', 'manga'),
        opt.string('format', 'jpeg'),
        opt.bool('web_search', true),
      ],
    });
    const msg = await done(h, token);
    expect(h.luma.posts()[0]?.body).toEqual({
      prompt: 'a manga hero',
      model: 'uni-1-max',
      type: 'image',
      aspect_ratio: '9:16',
      style: 'manga',
      output_format: 'jpeg',
      web_search: true,
      user_id: h.discord.defaultUser.id,
    });
    const line = messageText(msg);
    expect(line).toContain('Model: uni-1-max');
    expect(line).toContain('Aspect ratio: 9:16');
    expect(line).toContain('Style: manga');
    expect(msg.attachments[0]?.filename).toMatch(/\.jpg$/);
  });

  it('refuses manga with a landscape ratio before anything is sent', async () => {
    h = await startHarness();
    const { id } = await h.discord.slashCommand({
      name: 'imagine',
      options: [opt.string('prompt', 'x'), opt.string('style', 'manga'), opt.string('aspect_ratio', '16:9')],
    });
    const cb = await h.discord.waitFor(() => h.discord.callbacks(id)[0], 5000, 'the refusal');
    expect(JSON.stringify(cb)).toMatch(/portrait/);
    expect(h.luma.posts()).toHaveLength(0);
  });

  it('forwards two references as Discord CDN URLs that Luma can fetch', async () => {
    h = await startHarness();
    const a = h.discord.addAttachment({ filename: 'a.png', contentType: 'image/png', data: solidPng(8, 8, [255, 0, 0]) });
    const b = h.discord.addAttachment({ filename: 'b.jpg', contentType: 'image/jpeg', data: tinyJpeg() });
    const { token } = await h.discord.slashCommand({
      name: 'imagine',
      options: [opt.string('prompt', 'mix these'), opt.attachment('reference1', a.id), opt.attachment('reference2', b.id)],
      attachments: [a, b],
    });
    await done(h, token);
    const body = h.luma.posts()[0]?.body as { image_ref: Array<{ url: string }> };
    expect(body.image_ref).toEqual([{ url: a.url }, { url: b.url }]);
    const gen = h.luma.generations()[0]!;
    expect(gen.inputs.map((i) => [i.field, i.kind, i.bytes?.length])).toEqual([
      ['image_ref[0]', 'url', a.size],
      ['image_ref[1]', 'url', b.size],
    ]);
  });

  it('falls back to base64 data when Luma cannot ingest URLs (503)', async () => {
    h = await startHarness();
    h.luma.setUrlIngestionDown(true);
    const data = solidPng(8, 8, [0, 255, 0]);
    const a = h.discord.addAttachment({ filename: 'a.png', contentType: 'image/png', data });
    const { token } = await h.discord.slashCommand({
      name: 'imagine',
      options: [opt.string('prompt', 'use this'), opt.attachment('reference1', a.id)],
      attachments: [a],
    });
    await done(h, token);
    const posts = h.luma.posts();
    expect(posts).toHaveLength(2);
    expect((posts[0]?.body as { image_ref: unknown[] }).image_ref).toEqual([{ url: a.url }]);
    expect((posts[1]?.body as { image_ref: unknown[] }).image_ref).toEqual([{ data: data.toString('base64'), media_type: 'image/png' }]);
  });

  it('falls back to base64 data once when Luma cannot fetch a reference URL (422)', async () => {
    h = await startHarness();
    const data = solidPng(8, 8, [0, 0, 255]);
    const a = h.discord.addAttachment({ filename: 'blue.png', contentType: 'image/png', data });
    h.luma.fault({ method: 'POST', path: '/v1/generations' }, { status: 422, body: { detail: 'Failed to fetch image from URL' } });
    const { token } = await h.discord.slashCommand({
      name: 'imagine',
      options: [opt.string('prompt', 'use blue'), opt.attachment('reference1', a.id)],
      attachments: [a],
    });
    await done(h, token);
    const posts = h.luma.posts();
    expect(posts).toHaveLength(2);
    expect((posts[1]?.body as { image_ref: unknown[] }).image_ref).toEqual([{ data: data.toString('base64'), media_type: 'image/png' }]);
  });

  it('refuses a non-image attachment by name and sends nothing to Luma', async () => {
    h = await startHarness();
    const bad = h.discord.addAttachment({ filename: 'notes.txt', contentType: 'text/plain', data: Buffer.from('hello') });
    const { id } = await h.discord.slashCommand({
      name: 'imagine',
      options: [opt.string('prompt', 'x'), opt.attachment('reference1', bad.id)],
      attachments: [bad],
    });
    const cb = (await h.discord.waitFor(() => h.discord.callbacks(id)[0], 5000, 'the refusal')) as { data: { content: string; flags: number } };
    expect(cb.data.content).toContain('notes.txt');
    expect(cb.data.flags & 64).toBe(64);
    expect(h.luma.posts()).toHaveLength(0);
  });

  it('refuses an animated GIF reference after checking its frames, and sends nothing to Luma', async () => {
    h = await startHarness();
    const gif = h.discord.addAttachment({ filename: 'dance.gif', contentType: 'image/gif', data: tinyGif(3) });
    const { token } = await h.discord.slashCommand({
      name: 'imagine',
      options: [opt.string('prompt', 'x'), opt.attachment('reference1', gif.id)],
      attachments: [gif],
    });
    const refusal = await h.discord.waitFor(() => h.discord.followups(token).find((m) => m.content.includes('animated')), 10_000, 'the refusal');
    expect(refusal.flags! & 64).toBe(64);
    expect(refusal.content).toContain('dance.gif');
    expect(h.luma.posts()).toHaveLength(0);
  });

  it('rerolls and edits a result after the bot restarts', async () => {
    h = await startHarness();
    const { token } = await h.discord.slashCommand({ name: 'imagine', options: [opt.string('prompt', 'a red fox'), opt.string('model', 'uni-1-max')] });
    const result = await done(h, token);
    const ids = customIdsOf(result);
    const rerollId = ids.find((id) => id.startsWith('job:reroll:'));
    const editId = ids.find((id) => id.startsWith('job:edit:'));
    expect(rerollId).toMatch(/^job:reroll:/);

    await h.restart();

    const clicker = { id: '500000000000000077', username: 'bob' };
    const reroll = await h.discord.button({ customId: rerollId!, message: result as APIMessage, user: clicker });
    await done(h, reroll.token);
    expect(h.luma.posts()[1]?.body).toMatchObject({ prompt: 'a red fox', model: 'uni-1-max', user_id: clicker.id });

    const edit = await h.discord.button({ customId: editId!, message: result as APIMessage });
    const modal = await h.discord.waitFor(() => h.discord.callbacks(edit.id)[0], 5000, 'the modal');
    expect(modal.type).toBe(9);
    const customId = (modal.data as { custom_id: string }).custom_id;
    const submit = await h.discord.modalSubmit({ customId, fields: { prompt: 'make it winter' } });
    await done(h, submit.token);
    const first = h.luma.generations()[0]!;
    expect(h.luma.posts()[2]?.body).toMatchObject({ type: 'image_edit', prompt: 'make it winter', source: { generation_id: first.id } });
  });

  it('keeps the buttons of a result posted before Components V2 working: Reroll and Edit on an embed message', async () => {
    h = await startHarness();
    const { token } = await h.discord.slashCommand({ name: 'imagine', options: [opt.string('prompt', 'old style: a mill')] });
    const made = await done(h, token);
    const jobId = customIdsOf(made).find((id) => id.startsWith('job:reroll:'))?.split(':')[2] ?? '';
    await vi.waitFor(async () => expect((await h.bot.parts.records.get(jobId))?.step).toBe('done'), { timeout: 15_000 });
    // The message as earlier versions posted it: an embed showing the image, and a row of Reroll and Edit.
    const old = h.discord.addMessage({
      authorId: h.discord.botUser.id,
      embeds: [{ title: 'Imagined image', description: 'old style: a mill', footer: { text: `job ${jobId}` } }],
      components: [{ type: 1, components: [{ type: 2, style: 2, label: 'Reroll', custom_id: `job:reroll:${jobId}` }, { type: 2, style: 1, label: 'Edit', custom_id: `job:edit:${jobId}` }] }],
    });
    const reroll = await h.discord.button({ customId: `job:reroll:${jobId}`, message: { id: old.id } });
    await done(h, reroll.token);
    expect(h.luma.posts()[1]?.body).toMatchObject({ prompt: 'old style: a mill', type: 'image' });

    const edit = await h.discord.button({ customId: `job:edit:${jobId}`, message: { id: old.id } });
    const modal = await h.discord.waitFor(() => h.discord.callbacks(edit.id)[0], 5000, 'the form');
    expect(modal.type).toBe(9);
    const submit = await h.discord.modalSubmit({ customId: (modal.data as { custom_id: string }).custom_id, fields: { prompt: 'in winter' } });
    await done(h, submit.token);
    expect(h.luma.posts()[2]?.body).toMatchObject({ type: 'image_edit', prompt: 'in winter', source: { generation_id: h.luma.generations()[0]?.id } });
  });
});

// Result downloads: the bot fetches Luma's output URLs over HTTPS to public addresses only (or from LUMA_BASE_URL's
// own host, the local fake), whatever Luma's answer names.
describe('result downloads', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
    await closeScriptedServers();
  });

  it('never fetches an output URL on another loopback host, and tells the member without charging them', async () => {
    // Something on the bot's own machine, answering to anyone who asks (a metadata service, an admin panel).
    const evil = await startScriptedServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    });
    const evilUrl = `${evil.origin}/latest/meta-data/result.png`;

    h = await startHarness({ env: { QUOTA_DEFAULT_LIMIT: '1' } });
    const { discord, luma } = h;
    luma.planNext({ hold: true });
    const i = await discord.slashCommand({ name: 'imagine', options: [opt.string('prompt', 'ssrf: a harbour')] });
    await discord.waitFor(() => luma.generations().at(-1)?.state === 'processing', 15_000, 'the job at Luma');
    const id = luma.generations().at(-1)?.id ?? '';
    const completed = { id, created_at: new Date().toISOString(), model: 'uni-1', type: 'image', state: 'completed', failure_code: null, failure_reason: null, output: [{ type: 'image', url: evilUrl }] };
    luma.fault({ method: 'GET', path: `/v1/generations/${id}` }, ...Array.from({ length: 10 }, () => ({ status: 200, body: completed })));

    const failure = await discord.waitFor(() => {
      const m = discord.original(i.token);
      return messageText(m).includes('could not be made') ? m : undefined;
    }, 20_000, 'the failure message');
    expect(messageText(failure)).toMatch(/could not fetch it from Luma/);
    expect(evil.connections()).toBe(0);
    expect(h.logs.raw).not.toContain('meta-data/result.png?');

    // The unit came back: the day's only image can still be made.
    const again = await discord.slashCommand({ name: 'imagine', options: [opt.string('prompt', 'after the refusal')] });
    await discord.waitFor(() => (discord.original(again.token)?.attachments.length ?? 0) > 0, 20_000, 'the next result');
  });
});

// The order of checks: the quota is consulted before any GIF is downloaded to be checked, and a GIF refused after
// the quota said yes gives the unit back.
describe('checks before cost', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  const imagineWithGif = (harness: Harness, user: { id: string; username: string }, prompt: string, frames: number) => {
    const gif = harness.discord.addAttachment({ filename: 'loop.gif', contentType: 'image/gif', data: tinyGif(frames) });
    return harness.discord.slashCommand({ name: 'imagine', user, options: [opt.string('prompt', prompt), opt.attachment('reference1', gif.id)], attachments: [gif] });
  };

  it('refuses a member over quota without downloading their GIF', async () => {
    h = await startHarness({ env: { QUOTA_DEFAULT_LIMIT: '0' } });
    const i = await imagineWithGif(h, newMember(), 'over quota with a gif', 1);
    expect(await privateAnswer(h, i)).toMatch(/quota|limit/i);
    expect(h.discord.requests.filter((r) => r.kind === 'cdn')).toHaveLength(0);
    expect(h.luma.posts()).toHaveLength(0);
  });

  it('gives the unit back when the GIF turns out to be animated', async () => {
    h = await startHarness({ env: { QUOTA_DEFAULT_LIMIT: '1' } });
    const member = newMember();
    const refused = await imagineWithGif(h, member, 'animated after the quota', 3);
    expect(await privateAnswer(h, refused)).toContain('animated GIF');
    expect(h.luma.posts()).toHaveLength(0);
    // The one unit of the day is still there.
    const i = await h.discord.slashCommand({ name: 'imagine', user: member, options: [opt.string('prompt', 'the unit came back')] });
    expect(await delivered(h.discord, i, 'the unit came back', member)).toHaveLength(1);
  });
});
