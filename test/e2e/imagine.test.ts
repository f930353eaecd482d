// /imagine end to end: the real bot (in process) against the fakes, from the command to the delivered image.
import type { APIMessage } from 'discord-api-types/v10';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { solidPng } from '../../dev/fakes/png.js';
import { startHarness, opt, type Harness } from '../helpers/harness.js';
import { customIdsOf, messageText } from '../helpers/message-text.js';

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
