// /imagine end to end: the real bot (in process) against the fakes, from the command to the delivered image.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, opt, type Harness } from '../helpers/harness.js';
import { messageText } from '../helpers/message-text.js';

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
});
