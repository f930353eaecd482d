// Routing of buttons and modals: custom_ids come back from the client and can be forged, so they are not trusted
// alone. The real bot (in process) against the fakes, with two servers.
import type { APIMessage } from 'discord.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { solidPng } from '../../dev/fakes/png.js';
import { opt, privateAnswer, startHarness, type Harness } from '../helpers/harness.js';
import { newMember } from '../helpers/process.js';
import { customIdsOf, galleryOf, messageText } from '../helpers/message-text.js';

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
