// /imagine's options, reference images, progress message and result buttons end to end (also after a restart).
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { APIMessage } from 'discord.js';
import { startHarness, opt, type Harness } from '../helpers/harness.js';
import { solidPng, tinyGif, tinyJpeg } from '../../dev/fakes/png.js';
import { customIdsOf, messageText } from '../helpers/message-text.js';

const done = (h: Harness, token: string) =>
  h.discord.waitFor(() => {
    const m = h.discord.original(token);
    return m && m.attachments.length > 0 ? m : undefined;
  }, 20_000, 'the result');

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

  it('keeps one progress message alive with at most 8 edits for a 20-second job, never repeating itself', async () => {
    h = await startHarness({ env: { PROGRESS_INTERVAL_MS: '3000', POLL_INTERVAL_MS: '500' }, luma: { queuedMs: 2000, processingMs: 18_000 } });
    const { token } = await h.discord.slashCommand({ name: 'imagine', options: [opt.string('prompt', 'slow one')] });
    await h.discord.waitFor(() => (h.discord.original(token)?.attachments.length ?? 0) > 0, 40_000, 'the result');
    const edits = h.discord.edits(token);
    expect(edits.length).toBeLessThanOrEqual(8);
    expect(edits.length).toBeGreaterThanOrEqual(3);
    const texts = edits.map((e) => JSON.stringify(e.json));
    for (let i = 1; i < texts.length; i++) expect(texts[i]).not.toEqual(texts[i - 1]);
    expect(texts.some((t) => t.includes('Generating'))).toBe(true);
  }, 60_000);

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
