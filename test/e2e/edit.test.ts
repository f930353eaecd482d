// /edit and the "Edit image" message command end to end: the real bot (in process) against the fakes. Also the
// routing of buttons and modals: custom_ids come back from the client and can be forged, so they are not trusted
// alone (with two servers).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { APIMessage } from 'discord.js';
import { solidPng, tinyGif, tinyJpeg } from '../../dev/fakes/png.js';
import { opt, privateAnswer, startHarness, type Harness } from '../helpers/harness.js';
import { newMember, quotaUsed } from '../helpers/process.js';
import { customIdsOf, galleryOf, messageText } from '../helpers/message-text.js';

interface ModalData {
  custom_id: string;
  title: string;
  /** Labels (type 18) around each field. */
  components: Array<{ type: number; label: string; component: { type: number; custom_id: string } }>;
}

const red = solidPng(8, 8, [255, 0, 0]);
const green = solidPng(8, 8, [0, 255, 0]);
const blue = solidPng(8, 8, [0, 0, 255]);

/** The finished result of an interaction: its @original once it carries the uploaded image. */
function result(h: Harness, token: string): Promise<APIMessage> {
  return h.discord.waitFor(() => {
    const m = h.discord.original(token);
    return m && m.attachments.length > 0 ? m : undefined;
  }, 20_000, 'the result');
}

function modalOf(h: Harness, interactionId: string): ModalData {
  const cb = h.discord.callbacks(interactionId)[0];
  expect(cb?.type).toBe(9);
  return cb?.data as ModalData;
}

/** Discord's refusal of a message's form (an embed it will not take). */
const INVALID_FORM = { status: 400, body: { message: 'Invalid Form Body', code: 50035, errors: {} } };

function fieldIds(modal: ModalData): string[] {
  return modal.components.map((label) => label.component.custom_id);
}

describe('/edit end to end', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('sends an image_edit with the attachment as source, the references, model and format, and delivers the result', async () => {
    const source = h.discord.addAttachment({ filename: 'cat.png', contentType: 'image/png', data: red });
    const ref1 = h.discord.addAttachment({ filename: 'style.jpg', contentType: 'image/jpeg', data: tinyJpeg() });
    const ref2 = h.discord.addAttachment({ filename: 'still.gif', contentType: 'image/gif', data: tinyGif(1) });
    const { token } = await h.discord.slashCommand({
      name: 'edit',
      options: [
        opt.attachment('image', source.id),
        opt.string('prompt', 'give the cat a hat'),
        opt.string('model', 'uni-1-max'),
        opt.string('format', 'jpeg'),
        opt.attachment('reference2', ref2.id),
        opt.attachment('reference1', ref1.id),
      ],
      attachments: [source, ref1, ref2],
    });
    const msg = await result(h, token);

    expect(h.luma.posts()).toHaveLength(1);
    expect(h.luma.posts()[0]?.body).toEqual({
      prompt: 'give the cat a hat',
      model: 'uni-1-max',
      type: 'image_edit',
      source: { url: source.url },
      image_ref: [{ url: ref1.url }, { url: ref2.url }],
      output_format: 'jpeg',
      user_id: h.discord.defaultUser.id,
    });
    const gen = h.luma.generations()[0]!;
    expect(gen.inputs[0]?.field).toBe('source');
    expect(gen.inputs[0]?.bytes?.equals(red)).toBe(true);
    expect(messageText(msg)).toContain('Edited image');
    expect(messageText(msg)).not.toContain('Aspect ratio');
    expect(customIdsOf(msg).some((id) => id.startsWith('job:edit:'))).toBe(true);
  });

  it('offers no aspect-ratio or style option, and at most seven references', async () => {
    const { edit } = await import('../../commands/edit.js');
    const names = (edit.data.options ?? []).map((o) => o.name);
    expect(names).not.toContain('aspect_ratio');
    expect(names).not.toContain('style');
    expect(names.filter((n) => n.startsWith('reference'))).toHaveLength(7);
  });

  it('refuses a source that is not an image, privately and without calling Luma', async () => {
    const notes = h.discord.addAttachment({ filename: 'notes.txt', contentType: 'text/plain', data: Buffer.from('hello') });
    const i = await h.discord.slashCommand({
      name: 'edit',
      options: [opt.attachment('image', notes.id), opt.string('prompt', 'make it pretty')],
      attachments: [notes],
    });
    expect(await privateAnswer(h, i)).toMatch(/notes\.txt.*not an image/);
    expect(h.discord.callbacks(i.id)[0]?.type).toBe(4);
    expect(h.luma.posts()).toHaveLength(0);
  });

  it('refuses a source larger than 50 MB before downloading it', async () => {
    const huge = h.discord.addAttachment({ filename: 'huge.png', contentType: 'image/png', data: Buffer.alloc(51 * 1024 * 1024) });
    const i = await h.discord.slashCommand({
      name: 'edit',
      options: [opt.attachment('image', huge.id), opt.string('prompt', 'smaller please')],
      attachments: [huge],
    });
    expect(await privateAnswer(h, i)).toMatch(/huge\.png.*51\.0 MB.*up to 50 MB/);
    expect(h.discord.requests.filter((r) => r.kind === 'cdn')).toHaveLength(0);
    expect(h.luma.posts()).toHaveLength(0);
  });

  it('refuses an animated GIF after looking inside it, and sends nothing to Luma', async () => {
    const gif = h.discord.addAttachment({ filename: 'dance.gif', contentType: 'image/gif', data: tinyGif(3) });
    const i = await h.discord.slashCommand({
      name: 'edit',
      options: [opt.attachment('image', gif.id), opt.string('prompt', 'slow it down')],
      attachments: [gif],
    });
    expect(await privateAnswer(h, i)).toMatch(/dance\.gif.*animated GIF/);
    // It was deferred publicly (the download can take a while), then the public "thinking…" was removed.
    expect(h.discord.callbacks(i.id)[0]?.type).toBe(5);
    expect(h.discord.original(i.token)).toBeUndefined();
    expect(h.discord.requests.some((r) => r.kind === 'cdn' && r.path.endsWith('/dance.gif'))).toBe(true);
    expect(h.luma.posts()).toHaveLength(0);
  });

  it('refuses an animated GIF among the references too', async () => {
    const source = h.discord.addAttachment({ filename: 'a.png', contentType: 'image/png', data: red });
    const gif = h.discord.addAttachment({ filename: 'loop.gif', contentType: 'image/gif', data: tinyGif(2) });
    const i = await h.discord.slashCommand({
      name: 'edit',
      options: [opt.attachment('image', source.id), opt.string('prompt', 'x'), opt.attachment('reference1', gif.id)],
      attachments: [source, gif],
    });
    expect(await privateAnswer(h, i)).toMatch(/loop\.gif.*animated/);
    expect(h.luma.posts()).toHaveLength(0);
  });

  it('refuses an empty prompt privately', async () => {
    const source = h.discord.addAttachment({ filename: 'a.png', contentType: 'image/png', data: red });
    const i = await h.discord.slashCommand({
      name: 'edit',
      options: [opt.attachment('image', source.id), opt.string('prompt', '   ')],
      attachments: [source],
    });
    expect(await privateAnswer(h, i)).toMatch(/prompt is empty/i);
    expect(h.luma.posts()).toHaveLength(0);
  });

  it('refuses more references than the API allows with the source, even from an older command definition', async () => {
    const source = h.discord.addAttachment({ filename: 'a.png', contentType: 'image/png', data: red });
    const refs = Array.from({ length: 8 }, (_, n) =>
      h.discord.addAttachment({ filename: `r${n + 1}.png`, contentType: 'image/png', data: solidPng(4, 4, [n * 30, 0, 0]) }),
    );
    const i = await h.discord.slashCommand({
      name: 'edit',
      options: [
        opt.attachment('image', source.id),
        opt.string('prompt', 'blend all of these'),
        ...refs.map((r, n) => opt.attachment(`reference${n + 1}`, r.id)),
      ],
      attachments: [source, ...refs],
    });
    expect(await privateAnswer(h, i)).toMatch(/at most 7 references.*8 images in all.*attached 8/);
    expect(h.discord.callbacks(i.id)[0]?.type).toBe(4);
    expect(h.luma.posts()).toHaveLength(0);
  });
});

describe('"Edit image" on a message end to end', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('explains privately, and opens no modal, on a message without an image', async () => {
    const message = h.discord.addMessage({ content: 'just words' });
    const i = await h.discord.messageContextMenu({ name: 'Edit image', message });
    expect(await privateAnswer(h, i)).toMatch(/no image the bot can edit/);
    expect(h.discord.callbacks(i.id).map((c) => c.type)).toEqual([4]);
  });

  it('opens a modal whose custom_id carries the target, and the submit edits that image and points back to it', async () => {
    const photo = h.discord.addAttachment({ filename: 'photo.png', contentType: 'image/png', data: red });
    const message = h.discord.addMessage({ content: 'look', attachments: [photo] });
    const menu = await h.discord.messageContextMenu({ name: 'Edit image', message });
    const modal = await h.discord.waitFor(() => modalOf(h, menu.id), 5000, 'the modal');

    // The modal is the first and only answer to the command; for a single image: the prompt, more references, the model.
    expect(h.discord.callbacks(menu.id)).toHaveLength(1);
    expect(modal.custom_id.length).toBeLessThanOrEqual(100);
    expect(modal.custom_id).toContain(message.channel_id);
    expect(modal.custom_id).toContain(message.id);
    expect(fieldIds(modal)).toEqual(['prompt', 'refs', 'model']);

    const submit = await h.discord.modalSubmit({ customId: modal.custom_id, fields: { prompt: 'make it blue' } });
    const msg = await result(h, submit.token);
    expect(h.discord.callbacks(submit.id)[0]?.type).toBe(5);
    const body = h.luma.posts()[0]?.body as { type: string; prompt: string; source: { url: string }; user_id: string };
    expect(body).toMatchObject({ type: 'image_edit', prompt: 'make it blue', model: 'uni-1', user_id: h.discord.defaultUser.id });
    expect(body).not.toHaveProperty('image_ref');
    expect(h.luma.generations()[0]?.inputs[0]?.bytes?.equals(red)).toBe(true);
    // Delivered like /imagine's — image, details, buttons — with a link back to the edited message.
    const link = `https://discord.com/channels/${h.discord.guildId}/${message.channel_id}/${message.id}`;
    expect(messageText(msg)).toContain(link);
    expect(customIdsOf(msg).some((id) => id.startsWith('job:reroll:'))).toBe(true);
  });

  it('asks which of three images to edit and sends the chosen one as the source', async () => {
    const files = [red, green, blue].map((data, n) => h.discord.addAttachment({ filename: `p${n + 1}.png`, contentType: 'image/png', data }));
    const message = h.discord.addMessage({ attachments: files });
    const menu = await h.discord.messageContextMenu({ name: 'Edit image', message });
    const modal = await h.discord.waitFor(() => modalOf(h, menu.id), 5000, 'the modal');
    expect(fieldIds(modal)).toEqual(['image', 'prompt', 'refs', 'model']);
    expect(JSON.stringify(modal)).toMatch(/1 to 3/);

    // A number outside 1–3 is refused privately, before the deferral.
    const wrong = await h.discord.modalSubmit({ customId: modal.custom_id, fields: { image: '4', prompt: 'x' } });
    expect(await privateAnswer(h, wrong)).toMatch(/1 to 3/);
    expect(h.discord.callbacks(wrong.id)[0]?.type).toBe(4);
    expect(h.luma.posts()).toHaveLength(0);

    const submit = await h.discord.modalSubmit({ customId: modal.custom_id, fields: { image: '2', prompt: 'add stripes' } });
    await result(h, submit.token);
    expect(h.luma.posts()).toHaveLength(1);
    const input = h.luma.generations()[0]?.inputs[0];
    expect(input?.field).toBe('source');
    expect(input?.bytes?.equals(green)).toBe(true);
  });

  it('edits an image embed through Discord’s media proxy, never the image’s own host', async () => {
    const embedImage = h.discord.addEmbedImage({ data: blue, url: 'https://images.example.com/sky.png' });
    const message = h.discord.addMessage({ content: 'https://images.example.com/sky.png', embeds: [{ image: { url: embedImage.url } }] });
    const menu = await h.discord.messageContextMenu({ name: 'Edit image', message });
    const modal = await h.discord.waitFor(() => modalOf(h, menu.id), 5000, 'the modal');
    const submit = await h.discord.modalSubmit({ customId: modal.custom_id, fields: { prompt: 'add clouds' } });
    await result(h, submit.token);
    const body = h.luma.posts()[0]?.body as { source: { url: string } };
    expect(body.source.url).toBe(embedImage.proxy_url);
    expect(body.source.url.startsWith(`${h.discord.mediaOrigin}/external/`)).toBe(true);
    expect(h.luma.generations()[0]?.inputs[0]?.bytes?.equals(blue)).toBe(true);
  });

  it('does not offer an embed image that is not on Discord’s media proxy', async () => {
    const message = h.discord.addMessage({
      embeds: [{ image: { url: 'https://evil.example/x.png', proxy_url: 'https://evil.example/x.png' } }],
    });
    const i = await h.discord.messageContextMenu({ name: 'Edit image', message });
    expect(await privateAnswer(h, i)).toMatch(/no image the bot can edit/);
    expect(h.discord.callbacks(i.id).map((c) => c.type)).toEqual([4]);
  });

  it('edits a result the bot made through its generation_id, without reading the message again', async () => {
    const first = await h.discord.slashCommand({ name: 'imagine', options: [opt.string('prompt', 'a red barn')] });
    const made = await result(h, first.token);
    const menu = await h.discord.messageContextMenu({ name: 'Edit image', message: made });
    const modal = await h.discord.waitFor(() => modalOf(h, menu.id), 5000, 'the modal');
    expect(fieldIds(modal)).toEqual(['prompt', 'refs', 'model']);
    const submit = await h.discord.modalSubmit({ customId: modal.custom_id, fields: { prompt: 'paint it blue' } });
    const msg = await result(h, submit.token);

    const [, second] = h.luma.posts();
    const firstGeneration = h.luma.generations()[0]!;
    expect(second?.body).toMatchObject({ type: 'image_edit', source: { generation_id: firstGeneration.id }, prompt: 'paint it blue' });
    expect(h.luma.generations()[1]?.inputs[0]?.kind).toBe('generation_id');
    expect(h.discord.requestsTo('GET', `/channels/${made.channel_id}/messages/${made.id}`)).toHaveLength(0);
    expect(messageText(msg)).toContain(made.id);
  });

  it('explains privately on the bot’s own failure message, which has no image', async () => {
    h.luma.planNext({ failWith: 'content_moderated' });
    const first = await h.discord.slashCommand({ name: 'imagine', options: [opt.string('prompt', 'something flagged')] });
    const failed = await h.discord.waitFor(() => {
      const m = h.discord.original(first.token);
      return m && messageText(m).includes('safety filter') ? m : undefined;
    }, 15_000, 'the failure message');
    const i = await h.discord.messageContextMenu({ name: 'Edit image', message: failed });
    expect(await privateAnswer(h, i)).toMatch(/no image the bot can edit/);
    expect(h.discord.callbacks(i.id).map((c) => c.type)).toEqual([4]);
  });

  it('fetches the message again when its attachment URLs have expired, and edits with the fresh URL', async () => {
    const photo = h.discord.addAttachment({ filename: 'old.png', contentType: 'image/png', data: green });
    const message = h.discord.addMessage({ attachments: [photo] });
    const menu = await h.discord.messageContextMenu({ name: 'Edit image', message });
    const modal = await h.discord.waitFor(() => modalOf(h, menu.id), 5000, 'the modal');
    const seenUrl = photo.url;
    h.discord.expireAttachmentUrls();
    expect((await fetch(seenUrl)).status).toBe(404);

    const submit = await h.discord.modalSubmit({ customId: modal.custom_id, fields: { prompt: 'sharper' } });
    await result(h, submit.token);
    expect(h.discord.requestsTo('GET', `/channels/${message.channel_id}/messages/${message.id}`)).toHaveLength(1);
    const body = h.luma.posts()[0]?.body as { source: { url: string } };
    expect(body.source.url).not.toBe(seenUrl);
    expect(h.luma.generations()[0]?.inputs[0]?.bytes?.equals(green)).toBe(true);
  });

  it('says so when the bot can no longer read the message, and sends nothing to Luma', async () => {
    const channelId = '1300000000000000077';
    const photo = h.discord.addAttachment({ filename: 'secret.png', contentType: 'image/png', data: red, channelId });
    const message = h.discord.addMessage({ channelId, attachments: [photo] });
    const menu = await h.discord.messageContextMenu({ name: 'Edit image', message, channelId });
    const modal = await h.discord.waitFor(() => modalOf(h, menu.id), 5000, 'the modal');
    h.discord.markChannelUnreadable(channelId);
    const submit = await h.discord.modalSubmit({ customId: modal.custom_id, fields: { prompt: 'x' }, channelId });
    expect(await privateAnswer(h, submit)).toMatch(/can no longer read that message/);
    expect(h.luma.posts()).toHaveLength(0);
  });

  it('says so when the message was deleted', async () => {
    const customId = `modal:editimg:${h.discord.channelId}:1399999999999999999:1`;
    const submit = await h.discord.modalSubmit({ customId, fields: { prompt: 'x' } });
    expect(await privateAnswer(h, submit)).toMatch(/message is gone/);
    expect(h.luma.posts()).toHaveLength(0);
  });

  it('refuses an empty prompt in the modal before anything else', async () => {
    const photo = h.discord.addAttachment({ filename: 'a.png', contentType: 'image/png', data: red });
    const message = h.discord.addMessage({ attachments: [photo] });
    const menu = await h.discord.messageContextMenu({ name: 'Edit image', message });
    const modal = await h.discord.waitFor(() => modalOf(h, menu.id), 5000, 'the modal');
    const submit = await h.discord.modalSubmit({ customId: modal.custom_id, fields: { prompt: '  \n ' } });
    expect(await privateAnswer(h, submit)).toMatch(/prompt is empty/i);
    expect(h.discord.callbacks(submit.id)[0]?.type).toBe(4);
    expect(h.luma.posts()).toHaveLength(0);
  });

  it('refuses an animated GIF attachment and sends nothing to Luma', async () => {
    const gif = h.discord.addAttachment({ filename: 'spin.gif', contentType: 'image/gif', data: tinyGif(4) });
    const message = h.discord.addMessage({ attachments: [gif] });
    const menu = await h.discord.messageContextMenu({ name: 'Edit image', message });
    const modal = await h.discord.waitFor(() => modalOf(h, menu.id), 5000, 'the modal');
    const submit = await h.discord.modalSubmit({ customId: modal.custom_id, fields: { prompt: 'stop spinning' } });
    expect(await privateAnswer(h, submit)).toMatch(/spin\.gif.*animated GIF/);
    expect(h.luma.posts()).toHaveLength(0);
  });

  it('refuses a too-large attachment on a message', async () => {
    const big = h.discord.addAttachment({ filename: 'poster.png', contentType: 'image/png', data: Buffer.alloc(51 * 1024 * 1024) });
    const message = h.discord.addMessage({ attachments: [big] });
    const menu = await h.discord.messageContextMenu({ name: 'Edit image', message });
    const modal = await h.discord.waitFor(() => modalOf(h, menu.id), 5000, 'the modal');
    const submit = await h.discord.modalSubmit({ customId: modal.custom_id, fields: { prompt: 'x' } });
    expect(await privateAnswer(h, submit)).toMatch(/poster\.png.*up to 50 MB/);
    expect(h.luma.posts()).toHaveLength(0);
  });
});

describe('the Edit button under a result', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('opens a form, and its submit edits the result through its generation_id with its model and format, pointing back to it', async () => {
    const first = await h.discord.slashCommand({
      name: 'imagine',
      options: [opt.string('prompt', 'a red barn'), opt.string('model', 'uni-1-max'), opt.string('format', 'jpeg'), opt.string('aspect_ratio', '16:9')],
    });
    const made = await result(h, first.token);
    const jobId = /job:edit:([\w-]+)/.exec(customIdsOf(made).join(' '))?.[1] ?? '';
    expect(jobId).not.toBe('');
    // The button offers an edit once the delivery is recorded.
    await vi.waitFor(async () => expect((await h.bot.parts.records.get(jobId))?.step).toBe('done'), { timeout: 15_000 });

    const click = await h.discord.button({ customId: `job:edit:${jobId}`, message: { id: made.id } });
    const modal = await h.discord.waitFor(() => modalOf(h, click.id), 5000, 'the modal');
    expect(modal.custom_id).toBe(`modal:edit:${jobId}`);
    expect(fieldIds(modal)).toEqual(['prompt', 'refs', 'model']);
    const submit = await h.discord.modalSubmit({ customId: modal.custom_id, fields: { prompt: 'at dusk' } });
    const msg = await result(h, submit.token);

    const body = h.luma.posts()[1]?.body as Record<string, unknown>;
    expect(body).toMatchObject({ type: 'image_edit', prompt: 'at dusk', model: 'uni-1-max', output_format: 'jpeg', source: { generation_id: h.luma.generations()[0]!.id } });
    // No aspect ratio: the output follows the source.
    expect(Object.keys(body).sort()).toEqual(['model', 'output_format', 'prompt', 'source', 'type', 'user_id']);
    const link = `https://discord.com/channels/${h.discord.guildId}/${made.channel_id}/${made.id}`;
    expect(messageText(msg)).toContain(link);
    expect(h.discord.requestsTo('GET', `/channels/${made.channel_id}/messages/${made.id}`)).toHaveLength(0);
  });
});

describe('"Edit image" where only the member installed the bot', () => {
  const FOREIGN = '1260000000000000001';
  const CHANNEL = '1260000000000000002';
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ discord: { foreignGuilds: [{ id: FOREIGN, name: 'Elsewhere', channels: [{ id: CHANNEL, name: 'art' }] }] } });
  });
  afterEach(async () => {
    await h.close();
  });

  it('edits an image in a server without the bot from the message the interaction carried, with the form’s uploads as references, in the reply', async () => {
    const photo = h.discord.addAttachment({ filename: 'street.png', contentType: 'image/png', data: red, channelId: CHANNEL });
    const message = h.discord.addMessage({ channelId: CHANNEL, attachments: [photo] });
    const member = { id: '500000000000003001', username: 'traveller' };
    const where = { guildId: FOREIGN, channelId: CHANNEL, installation: 'user' as const, user: member };
    const menu = await h.discord.messageContextMenu({ name: 'Edit image', message, ...where });
    const modal = await h.discord.waitFor(() => modalOf(h, menu.id), 5000, 'the form');
    // The bot cannot read that channel again: the form's state (the message's images) is kept under a short id.
    expect(modal.custom_id).toMatch(/^modal:editimgs:[\w-]+$/);
    expect(fieldIds(modal)).toEqual(['prompt', 'refs', 'model']);

    const ref = h.discord.addAttachment({ filename: 'mood.png', contentType: 'image/png', data: blue });
    const submit = await h.discord.modalSubmit({ customId: modal.custom_id, layout: 'label', fields: { prompt: 'at night' }, uploads: { refs: [ref] }, ...where });
    const msg = await result(h, submit.token);
    expect(h.luma.posts()[0]?.body).toMatchObject({ type: 'image_edit', prompt: 'at night', model: 'uni-1', source: { url: photo.url }, user_id: member.id });
    expect(h.luma.generations()[0]?.inputs.map((i) => i.bytes)).toEqual([red, blue]);
    expect(messageText(msg)).toContain('Edited image');
    // Never read through the bot's token (it is not in that server), nor posted in its channel.
    expect(h.discord.requestsTo('GET', new RegExp(`^/channels/${CHANNEL}/`))).toHaveLength(0);
    expect(h.discord.requestsTo('POST', new RegExp(`^/channels/${CHANNEL}/messages$`))).toHaveLength(0);
  });
});

describe('Vary, Edit with files and Enhance under a result', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  /** A finished result of `prompt` (recorded as done) and its job id. */
  async function made(prompt: string, model = 'uni-1'): Promise<{ message: APIMessage; jobId: string }> {
    const first = await h.discord.slashCommand({ name: 'imagine', user: owner, options: [opt.string('prompt', prompt), opt.string('model', model)] });
    const message = await result(h, first.token);
    const jobId = /job:vary:([\w-]+)/.exec(customIdsOf(message).join(' '))?.[1] ?? '';
    await vi.waitFor(async () => expect((await h.bot.parts.records.get(jobId))?.step).toBe('done'), { timeout: 15_000 });
    return { message, jobId };
  }
  const owner = { id: '500000000000002001', username: 'owner' };
  const presser = { id: '500000000000002002', username: 'presser' };

  it('Vary edits the image through its generation_id with the same prompt, for whoever pressed', async () => {
    const { message, jobId } = await made('vary: a lighthouse');
    const click = await h.discord.button({ customId: `job:vary:${jobId}`, message: { id: message.id }, user: presser });
    const msg = await result(h, click.token);
    expect(h.luma.posts()[1]?.body).toEqual({ prompt: 'vary: a lighthouse', model: 'uni-1', type: 'image_edit', source: { generation_id: h.luma.generations()[0]?.id }, user_id: presser.id });
    expect(messageText(msg)).toContain('Variation');
    expect(messageText(msg)).toContain(`Requested by: <@${presser.id}>`);
  });

  it('Edit’s form takes more reference images and the model, and sends them with the result as the source', async () => {
    const { message, jobId } = await made('edit: a harbour');
    const click = await h.discord.button({ customId: `job:edit:${jobId}`, message: { id: message.id } });
    const modal = await h.discord.waitFor(() => modalOf(h, click.id), 5000, 'the form');
    expect(fieldIds(modal)).toEqual(['prompt', 'refs', 'model']);
    const refs = [green, blue].map((data, n) => h.discord.addAttachment({ filename: `ref${n}.png`, contentType: 'image/png', data }));
    const submit = await h.discord.modalSubmit({ customId: modal.custom_id, layout: 'label', fields: { prompt: 'add boats' }, selects: { model: ['uni-1-max'] }, uploads: { refs } });
    await result(h, submit.token);
    expect(h.luma.posts()[1]?.body).toMatchObject({ type: 'image_edit', prompt: 'add boats', model: 'uni-1-max', source: { generation_id: h.luma.generations()[0]?.id } });
    const sent = (h.luma.posts()[1]?.body as { image_ref: Array<{ url: string }> }).image_ref.map((r) => r.url);
    expect(sent.map((u) => new URL(u).pathname)).toEqual(refs.map((r) => new URL(r.url).pathname));
    // Luma fetched the uploads' bytes: the references are the member's files.
    expect(h.luma.generations()[1]?.inputs.slice(1).map((i) => i.bytes)).toEqual([green, blue]);
  });

  it('refuses a file in the form that is not an image, naming it, with nothing sent or charged', async () => {
    const { message, jobId } = await made('edit: a bridge');
    const click = await h.discord.button({ customId: `job:edit:${jobId}`, message: { id: message.id }, user: presser });
    const modal = await h.discord.waitFor(() => modalOf(h, click.id), 5000, 'the form');
    const notes = h.discord.addAttachment({ filename: 'notes.txt', contentType: 'text/plain', data: Buffer.from('not an image') });
    const submit = await h.discord.modalSubmit({ customId: modal.custom_id, layout: 'label', user: presser, fields: { prompt: 'x' }, uploads: { refs: [notes] } });
    expect(await privateAnswer(h, submit)).toMatch(/notes\.txt/);
    expect(h.discord.callbacks(submit.id).map((c) => c.type)).toEqual([4]);
    expect(h.luma.posts()).toHaveLength(1);
    expect(await quotaUsed(h.discord, presser)).toBe(0);
  });

  it('Enhance states its price first, and only its confirmation re-makes the image with uni-1-max', async () => {
    const { message, jobId } = await made('enhance: a castle');
    const click = await h.discord.button({ customId: `job:enhance:${jobId}`, message: { id: message.id }, user: presser });
    const ask = await h.discord.waitFor(() => {
      const m = h.discord.original(click.token);
      return m && m.content.includes('uni-1-max') ? m : undefined;
    }, 10_000, 'the price');
    expect((ask.flags ?? 0) & 64).toBe(64);
    expect(ask.content).toContain('It costs **3 units** of your quota');
    expect(customIdsOf(ask)).toEqual([`job:enhanceok:${jobId}`]);
    expect(h.luma.posts()).toHaveLength(1);
    expect(await quotaUsed(h.discord, presser)).toBe(0);

    const confirm = await h.discord.button({ customId: `job:enhanceok:${jobId}`, message: { id: ask.id }, user: presser });
    const msg = await result(h, confirm.token);
    expect(h.luma.posts()[1]?.body).toEqual({ prompt: 'enhance: a castle', model: 'uni-1-max', type: 'image_edit', source: { generation_id: h.luma.generations()[0]?.id }, user_id: presser.id });
    expect(messageText(msg)).toContain('Enhanced with uni-1-max');
    // No Enhance under an image that is already uni-1-max.
    expect(customIdsOf(msg).some((id) => id.startsWith('job:enhance:'))).toBe(false);
    expect(await quotaUsed(h.discord, presser)).toBe(3);
  });
});

describe('"Edit image" on a result Discord took only in plain form', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('edits it through its generation_id, by the job id in its text, without reading the message again', async () => {
    // One progress edit at the start, then none: the next edit of the reply is the result, refused once in full.
    h = await startHarness({ env: { PROGRESS_INTERVAL_MS: '60000' } });
    const { discord, luma } = h;
    luma.planNext({ hold: true });
    const first = await discord.slashCommand({ name: 'imagine', options: [opt.string('prompt', 'a red barn')] });
    await discord.waitFor(() => luma.generations().at(-1)?.state === 'processing' && discord.edits(first.token).length > 0, 15_000, 'the job at Luma');
    discord.fault({ method: 'PATCH', path: /^\/webhooks\/\d+\/[^/]+\/messages\/@original$/ }, INVALID_FORM);
    luma.release(luma.generations().at(-1)?.id ?? '');
    const made = await result(h, first.token);
    expect(customIdsOf(made)).toEqual([]);

    const menu = await discord.messageContextMenu({ name: 'Edit image', message: made });
    const modal = await discord.waitFor(() => modalOf(h!, menu.id), 5000, 'the modal');
    const submit = await discord.modalSubmit({ customId: modal.custom_id, fields: { prompt: 'at night' } });
    await result(h, submit.token);
    expect(luma.posts()[1]?.body).toMatchObject({ type: 'image_edit', source: { generation_id: luma.generations()[0]!.id } });
    expect(discord.requestsTo('GET', `/channels/${made.channel_id}/messages/${made.id}`)).toHaveLength(0);
  });
});

const GUILD_A = '1200000000000000001';
const GUILD_B = '1200000000000000002';
const CHANNEL_A = '1300000000000000011';
const CHANNEL_A2 = '1300000000000000012';
const CHANNEL_B = '1300000000000000021';

describe('custom_ids are not trusted alone', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({
      env: { QUOTA_DEFAULT_LIMIT: 'unlimited', QUOTA_DM_LIMIT: 'unlimited' },
      discord: {
        guilds: [
          { id: GUILD_A, name: 'A', channels: [{ id: CHANNEL_A, name: 'a' }, { id: CHANNEL_A2, name: 'a2' }] },
          { id: GUILD_B, name: 'B', channels: [{ id: CHANNEL_B, name: 'b' }] },
        ],
      },
    });
  });
  afterEach(async () => {
    await h.close();
  });

  /** An /imagine in server A's first channel, delivered; returns its result message and job id. */
  async function resultInA(prompt: string, user = newMember()): Promise<{ message: APIMessage; jobId: string }> {
    const i = await h.discord.slashCommand({ name: 'imagine', user, guildId: GUILD_A, channelId: CHANNEL_A, options: [opt.string('prompt', prompt)] });
    const message = await h.discord.waitFor(() => {
      const m = h.discord.original(i.token);
      return m && m.attachments.length > 0 ? m : undefined;
    }, 20_000, 'the result');
    const jobId = /job:reroll:([\w-]+)/.exec(JSON.stringify(message.components))?.[1] ?? '';
    expect(jobId).not.toBe('');
    return { message, jobId };
  }

  it('refuses an "Edit image" form whose custom_id names another channel, and reads nothing there', async () => {
    const photo = h.discord.addAttachment({ filename: 'private.png', contentType: 'image/png', data: solidPng(8, 8, [1, 2, 3]), channelId: CHANNEL_B });
    const secret = h.discord.addMessage({ channelId: CHANNEL_B, attachments: [photo] });
    const before = h.discord.requests.length;
    const submit = await h.discord.modalSubmit({
      customId: `modal:editimg:${CHANNEL_B}:${secret.id}:1`,
      fields: { prompt: 'steal it' },
      guildId: GUILD_A,
      channelId: CHANNEL_A,
    });
    expect(await privateAnswer(h, submit)).toMatch(/does not belong to this channel/);
    expect(h.discord.requests.slice(before).some((r) => r.path.includes(secret.id) || r.kind === 'cdn')).toBe(false);
    expect(h.luma.posts()).toHaveLength(0);
  });

  it('refuses Reroll, Edit and Retry naming a job of another server', async () => {
    const { jobId } = await resultInA('server A only: a lantern');
    const posts = h.luma.posts().length;
    for (const customId of [`job:reroll:${jobId}`, `job:edit:${jobId}`, `job:retry:${jobId}`]) {
      const click = await h.discord.button({ customId, guildId: GUILD_B, channelId: CHANNEL_B });
      expect(await privateAnswer(h, click)).toMatch(/another server or conversation/);
    }
    const modal = await h.discord.modalSubmit({ customId: `modal:edit:${jobId}`, fields: { prompt: 'x' }, guildId: GUILD_B, channelId: CHANNEL_B });
    expect(await privateAnswer(h, modal)).toMatch(/another server or conversation/);
    const dm = await h.discord.button({ customId: `job:reroll:${jobId}`, guildId: null });
    expect(await privateAnswer(h, dm)).toMatch(/another server or conversation/);
    expect(h.luma.posts()).toHaveLength(posts);
  });

  it('still rerolls a job from another channel of the same server', async () => {
    const { jobId } = await resultInA('same server: a kite');
    const click = await h.discord.button({ customId: `job:reroll:${jobId}`, guildId: GUILD_A, channelId: CHANNEL_A2 });
    await h.discord.waitFor(() => (h.discord.original(click.token)?.attachments.length ?? 0) > 0, 20_000, 'the reroll');
    expect(h.luma.posts().at(-1)?.body).toMatchObject({ prompt: 'same server: a kite' });
  });

  it('hands a kept result over privately, without buttons, in another server', async () => {
    const member = newMember();
    h.luma.planNext({ hold: true });
    const i = await h.discord.slashCommand({ name: 'imagine', user: member, guildId: GUILD_A, channelId: CHANNEL_A, options: [opt.string('prompt', 'kept: a secret garden')] });
    await h.discord.waitFor(() => h.luma.generations().at(-1)?.state === 'processing', 15_000, 'the job at Luma');
    h.discord.expireToken(i.token);
    h.discord.markChannelMissingPermissions(CHANNEL_A);
    h.discord.markUserCannotDm(member.id);
    h.luma.release(h.luma.generations().at(-1)?.id ?? '');
    await h.discord.waitFor(() => h.logs.find((l) => String(l.msg).startsWith('result kept')), 20_000, 'the result being kept');

    const q = await h.discord.slashCommand({ name: 'quota', user: member, guildId: GUILD_B, channelId: CHANNEL_B });
    const handed = await h.discord.waitFor(() => h.discord.followups(q.token).find((m) => m.attachments.length > 0), 15_000, 'the handed-over image');
    expect((handed.flags ?? 0) & 64).toBe(64);
    expect(customIdsOf(handed)).toEqual([]);
    expect(galleryOf(handed)).toHaveLength(1);
    // Named in its line ("Requested by"), but not pinged: the follow-up lets no one be mentioned.
    expect(messageText(handed).startsWith('Here is an image the bot could not deliver earlier')).toBe(true);
    const sent = h.discord.requestsTo('POST', new RegExp(`^/webhooks/\\d+/${q.token}$`)).at(-1)?.json as { allowed_mentions?: { users?: string[] } };
    expect(sent.allowed_mentions?.users ?? []).toEqual([]);
  });
});
