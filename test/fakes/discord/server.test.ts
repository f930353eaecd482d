// The fake Discord, driven by a real discord.js client: REST, gateway, interactions, and its lifecycle.
import { once } from 'node:events';
import {
  ActionRowBuilder,
  ButtonBuilder,
  ButtonStyle,
  Client,
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  MessageFlags,
  ModalBuilder,
  TextInputBuilder,
  TextInputStyle,
  type Interaction,
  type TextChannel,
} from 'discord.js';
import { ApplicationCommandOptionType, InteractionResponseType, Routes } from 'discord-api-types/v10';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { solidPng } from '../../../dev/fakes/png.js';
import { startFakeDiscord, type FakeDiscord } from '../../../dev/fakes/discord/server.js';
import { waitUntil } from '../../helpers/wait.js';

const UPLOAD_LIMIT = 256 * 1024;
const ROLE_ID = '1300000000000000001';
const LOCKED_CHANNEL_ID = '1210000000000000002';

let discord: FakeDiscord;
let client: Client;
let handler: ((interaction: Interaction) => void) | undefined;

/** Runs `fn` on the next interaction the bot receives and resolves with its result. */
function nextInteraction<T>(fn: (interaction: Interaction) => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    handler = (interaction) => {
      handler = undefined;
      fn(interaction).then(resolve, reject);
    };
  });
}

async function download(url: string): Promise<{ status: number; body: Buffer; type: string | null }> {
  const response = await fetch(url);
  return { status: response.status, body: Buffer.from(await response.arrayBuffer()), type: response.headers.get('content-type') };
}

/** How far the fake's interaction clock runs ahead of the real one (a test moves it instead of waiting). */
let skewMs = 0;

beforeAll(async () => {
  discord = await startFakeDiscord({
    uploadLimitBytes: UPLOAD_LIMIT,
    ackDeadlineMs: 1500,
    now: () => Date.now() + skewMs,
    guilds: [
      {
        id: '1200000000000000001',
        name: 'Test Guild',
        roles: [{ id: ROLE_ID, name: 'Artists', permissions: (1n << 5n).toString() }],
        channels: [
          { id: '1210000000000000001', name: 'general' },
          { id: LOCKED_CHANNEL_ID, name: 'announcements' },
        ],
      },
    ],
  });
  client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: discord.apiUrl, timeout: 5_000 } });
  client.on(Events.InteractionCreate, (interaction) => handler?.(interaction));
  const ready = once(client, Events.ClientReady);
  await client.login(discord.token);
  await ready;
});

afterAll(async () => {
  await client?.destroy();
  await discord?.close();
});

describe('fake Discord with a real discord.js client', () => {
  it('brings the client to ready with the configured guild, channel, roles and bot member cached', () => {
    const guild = client.guilds.cache.get(discord.guildId ?? '');
    expect(guild?.name).toBe('Test Guild');
    expect(guild?.available).toBe(true);
    expect(guild?.channels.cache.get(discord.channelId ?? '')?.isTextBased()).toBe(true);
    expect(guild?.roles.cache.get(ROLE_ID)?.name).toBe('Artists');
    expect(guild?.members.me?.id).toBe(discord.botUser.id);
    expect(client.user?.id).toBe(discord.botUser.id);
    expect(client.application?.id).toBe(discord.applicationId);
    expect(discord.gateway.identifyCount).toBe(1);
  });

  it('records a deferred slash command whose reply is edited with a file, then followed up', async () => {
    const png = solidPng(3, 2, [255, 0, 0]);
    const done = nextInteraction(async (interaction) => {
      if (!interaction.isChatInputCommand()) throw new Error(`unexpected ${interaction.type}`);
      await interaction.deferReply();
      const edited = await interaction.editReply({ content: 'here you go', files: [{ attachment: png, name: 'x.png' }] });
      const followUp = await interaction.followUp({ content: 'one more thing', flags: MessageFlags.Ephemeral });
      return {
        name: interaction.commandName,
        prompt: interaction.options.getString('prompt'),
        limit: interaction.attachmentSizeLimit,
        inGuild: interaction.inCachedGuild(),
        roles: interaction.inCachedGuild() ? [...interaction.member.roles.cache.keys()] : [],
        edited,
        followUp,
      };
    });
    const { id, token } = await discord.slashCommand({
      name: 'imagine',
      options: [{ name: 'prompt', type: ApplicationCommandOptionType.String, value: 'a red fox' }],
      roles: [ROLE_ID],
    });
    const seen = await done;

    expect(seen).toMatchObject({ name: 'imagine', prompt: 'a red fox', limit: UPLOAD_LIMIT, inGuild: true });
    expect(seen.roles).toContain(ROLE_ID);
    expect(discord.callbacks(id)).toEqual([
      expect.objectContaining({ type: InteractionResponseType.DeferredChannelMessageWithSource }),
    ]);
    const [edit] = discord.edits(token);
    expect(edit?.files).toHaveLength(1);
    expect(edit?.files[0]).toMatchObject({ name: 'files[0]', filename: 'x.png', contentType: 'image/png' });
    expect(edit?.files[0]?.data.equals(png)).toBe(true);
    expect(edit?.json).toMatchObject({ content: 'here you go', attachments: [{ id: '0' }] });

    const original = discord.original(token);
    expect(original?.content).toBe('here you go');
    expect(original?.flags).toBe(0);
    expect(original?.attachments[0]).toMatchObject({ filename: 'x.png', size: png.length, width: 3, height: 2 });
    expect(seen.edited.id).toBe(original?.id);
    expect(seen.edited.attachments.first()?.url).toBe(original?.attachments[0]?.url);

    const file = await download(original?.attachments[0]?.url ?? '');
    expect(file.status).toBe(200);
    expect(file.type).toBe('image/png');
    expect(file.body.equals(png)).toBe(true);

    const followups = discord.followups(token);
    expect(followups).toHaveLength(1);
    expect(followups[0]).toMatchObject({ content: 'one more thing', flags: MessageFlags.Ephemeral });
    expect(seen.followUp.id).toBe(followups[0]?.id);
  });

  it('lets the first followup after a defer replace the loading message, as Discord does', async () => {
    const done = nextInteraction(async (interaction) => {
      if (!interaction.isChatInputCommand()) throw new Error('expected a command');
      await interaction.deferReply({ flags: MessageFlags.Ephemeral });
      return interaction.followUp({ content: 'finished' });
    });
    const { token } = await discord.slashCommand({ name: 'imagine' });
    const followUp = await done;
    const original = discord.original(token);
    expect(followUp.id).toBe(original?.id);
    expect(original).toMatchObject({ content: 'finished', flags: MessageFlags.Ephemeral });
  });

  it('resolves attachment options to downloadable CDN URLs', async () => {
    const png = solidPng(4, 4, [0, 0, 255]);
    const attachment = discord.addAttachment({ filename: 'input image.png', contentType: 'image/png', data: png });
    const done = nextInteraction(async (interaction) => {
      if (!interaction.isChatInputCommand()) throw new Error('expected a command');
      const image = interaction.options.getAttachment('image', true);
      await interaction.reply({ content: 'got it' });
      return { url: image.url, name: image.name, size: image.size, contentType: image.contentType, width: image.width };
    });
    await discord.slashCommand({
      name: 'edit',
      options: [{ name: 'image', type: ApplicationCommandOptionType.Attachment, value: attachment.id }],
      attachments: [attachment],
    });
    const seen = await done;
    expect(seen).toMatchObject({ name: 'input image.png', size: png.length, contentType: 'image/png', width: 4 });
    expect(seen.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/attachments\/\d+\/\d+\/input%20image\.png\?ex=[0-9a-f]+&is=[0-9a-f]+&hm=[0-9a-f]+/);
    expect((await download(seen.url)).body.equals(png)).toBe(true);

    discord.expireAttachmentUrls();
    expect((await download(seen.url)).status).toBe(404);
    const fresh = discord.addMessage({ attachments: [attachment] }).attachments[0];
    expect(fresh?.url).not.toBe(seen.url);
    expect((await download(fresh?.url ?? '')).body.equals(png)).toBe(true);
  });

  it('refreshes expired attachment links through POST /attachments/refresh-urls, with Discord’s shape and refusals', async () => {
    const png = solidPng(2, 2, [0, 0, 255]);
    discord.shiftCdnClock(-2 * 24 * 3_600_000);
    const old = discord.addAttachment({ filename: 'old ref.png', contentType: 'image/png', data: png });
    const gone = discord.addAttachment({ filename: 'gone.png', contentType: 'image/png', data: png });
    expect((await download(old.url)).status).toBe(200);
    discord.shiftCdnClock(0);
    // A day-old link: `ex` (hex seconds) is in the past, and the CDN answers 404.
    expect(Number.parseInt(new URL(old.url).searchParams.get('ex') ?? '', 16) * 1000).toBeLessThan(Date.now());
    expect((await download(old.url)).status).toBe(404);
    discord.removeAttachment(gone.id);

    const refresh = (body: unknown, token = discord.token) =>
      fetch(`${discord.apiUrl}/v10/attachments/refresh-urls`, { method: 'POST', headers: { authorization: `Bot ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const res = await refresh({ attachment_urls: [old.url, gone.url, 'https://example.com/x.png'] });
    expect(res.status).toBe(200);
    const { refreshed_urls } = (await res.json()) as { refreshed_urls: Array<{ original: string; refreshed: string }> };
    expect(refreshed_urls).toHaveLength(1);
    expect(refreshed_urls[0]?.original).toBe(old.url);
    const fresh = refreshed_urls[0]?.refreshed ?? '';
    expect(new URL(fresh).pathname).toBe(new URL(old.url).pathname);
    expect(Number.parseInt(new URL(fresh).searchParams.get('ex') ?? '', 16) * 1000).toBeGreaterThan(Date.now());
    expect((await download(fresh)).body.equals(png)).toBe(true);

    expect((await refresh({ attachment_urls: [old.url] }, 'wrong-token')).status).toBe(401);
    const missing = await refresh({});
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ code: 50035, errors: { attachment_urls: { _errors: [{ code: 'BASE_TYPE_REQUIRED' }] } } });
    const tooMany = await refresh({ attachment_urls: Array.from({ length: 51 }, () => old.url) });
    expect(await tooMany.json()).toMatchObject({ code: 50035, errors: { attachment_urls: { _errors: [{ code: 'BASE_TYPE_BAD_LENGTH' }] } } });
    expect((await refresh({ attachment_urls: [] })).status).toBe(400);
  });

  it('resolves a channel option in a subcommand group to the channel, as discord.js reads it', async () => {
    const channelId = discord.channelId ?? '';
    const done = nextInteraction(async (interaction) => {
      if (!interaction.isChatInputCommand()) throw new Error('expected a command');
      const channel = interaction.options.getChannel('channel', true);
      await interaction.reply({ content: 'got it' });
      return { group: interaction.options.getSubcommandGroup(), sub: interaction.options.getSubcommand(), id: channel.id, name: 'name' in channel ? channel.name : undefined };
    });
    const { payload } = await discord.slashCommand({
      name: 'bot-admin',
      subcommandGroup: 'channels',
      subcommand: 'add',
      options: [{ name: 'channel', type: ApplicationCommandOptionType.Channel, value: channelId }],
    });
    expect(await done).toEqual({ group: 'channels', sub: 'add', id: channelId, name: 'general' });
    expect(payload).toMatchObject({ data: { resolved: { channels: { [channelId]: { id: channelId, name: 'general', type: 0, permissions: expect.any(String) } } } } });
  });

  it('answers a second acknowledgement with 40060 and a late first one with 10062', async () => {
    const done = nextInteraction(async (interaction) => {
      if (!interaction.isChatInputCommand()) throw new Error('expected a command');
      await interaction.deferReply();
      const body = { type: InteractionResponseType.DeferredChannelMessageWithSource };
      return client.rest
        .post(Routes.interactionCallback(interaction.id, interaction.token), { body, auth: false })
        .catch((error: unknown) => error);
    });
    await discord.slashCommand({ name: 'imagine' });
    const second = await done;
    expect(second).toBeInstanceOf(DiscordAPIError);
    expect(second).toMatchObject({ status: 400, code: 40060 });

    const late = nextInteraction(async (interaction) => {
      skewMs += 1600; // past the 1.5 s deadline on the fake's clock
      if (!interaction.isChatInputCommand()) throw new Error('expected a command');
      return interaction.deferReply().catch((error: unknown) => error);
    });
    await discord.slashCommand({ name: 'imagine' });
    try {
      expect(await late).toMatchObject({ status: 404, code: 10062 });
    } finally {
      skewMs = 0;
    }
  });

  it('rejects webhook calls with 50027 once the interaction token has expired', async () => {
    let release!: () => void;
    const expired = new Promise<void>((resolve) => (release = resolve));
    const done = nextInteraction(async (interaction) => {
      if (!interaction.isChatInputCommand()) throw new Error('expected a command');
      await interaction.deferReply();
      await expired;
      return interaction.editReply('too late').catch((error: unknown) => error);
    });
    const { token } = await discord.slashCommand({ name: 'imagine' });
    await discord.waitFor(() => discord.original(token), 5_000, 'the deferred reply');
    discord.expireToken(token);
    release();
    expect(await done).toMatchObject({ status: 401, code: 50027 });
    expect(discord.original(token)?.content).toBe('');
  });

  it('posts channel messages with files, reads them back, and enforces access, permissions and DMs', async () => {
    const channel = (await client.channels.fetch(discord.channelId ?? '')) as TextChannel;
    const png = solidPng(2, 2, [0, 255, 0]);
    const sent = await channel.send({ content: '<@400000000000000001> your image', files: [{ attachment: png, name: 'result.png' }] });
    const [posted] = discord.channelMessages(channel.id);
    expect(posted).toMatchObject({ id: sent.id, content: '<@400000000000000001> your image', author: { id: discord.botUser.id } });
    expect((await download(posted?.attachments[0]?.url ?? '')).body.equals(png)).toBe(true);
    expect((await channel.messages.fetch({ message: sent.id, force: true })).attachments.first()?.name).toBe('result.png');

    const stored = discord.addMessage({ content: 'hello' });
    expect((await channel.messages.fetch({ message: stored.id, force: true })).content).toBe('hello');
    await expect(channel.messages.fetch({ message: '1999999999999999999', force: true })).rejects.toMatchObject({ code: 10008 });

    const hidden = '1250000000000000001';
    discord.addMessage({ channelId: hidden, content: 'secret' });
    discord.markChannelUnreadable(hidden);
    await expect(client.channels.fetch(hidden)).rejects.toMatchObject({ status: 403, code: 50001 });

    discord.markChannelMissingPermissions(LOCKED_CHANNEL_ID);
    const locked = (await client.channels.fetch(LOCKED_CHANNEL_ID)) as TextChannel;
    await expect(locked.send('nope')).rejects.toMatchObject({ status: 403, code: 50013 });

    const user = await client.users.fetch(discord.defaultUser.id);
    await user.send('your job finished');
    expect(discord.dmMessages(user.id).map((m) => m.content)).toEqual(['your job finished']);
    discord.markUserCannotDm(user.id);
    await expect(user.send('again')).rejects.toMatchObject({ status: 403, code: 50007 });
  });


  it('answers a repeated enforced nonce with the first message instead of posting again, as Discord does', async () => {
    const channelId = discord.channelId ?? '';
    const before = discord.channelMessages(channelId).length;
    const post = (nonce: string, enforce: boolean) =>
      client.rest.post(Routes.channelMessages(channelId), { body: { content: `result ${nonce}`, nonce, enforce_nonce: enforce } }) as Promise<{ id: string; nonce?: string }>;
    const first = await post('job-abc', true);
    const again = await post('job-abc', true);
    expect(again.id).toBe(first.id);
    expect(first.nonce).toBe('job-abc');
    // Without enforce_nonce the nonce is only echoed, and a different nonce is a different message.
    const loose = await post('job-abc', false);
    const other = await post('job-xyz', true);
    expect(new Set([first.id, loose.id, other.id]).size).toBe(3);
    expect(discord.channelMessages(channelId).length - before).toBe(3);
    await expect(post('x'.repeat(26), true)).rejects.toMatchObject({ status: 400, code: 50035 });
  });

  it('handles a request held by a pass-through fault once released, even when its sender gave up', async () => {
    const channelId = discord.channelId ?? '';
    const before = discord.channelMessages(channelId).length;
    let release = (): void => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    discord.fault({ method: 'POST', path: `/channels/${channelId}/messages` }, { pass: true, until: released });
    const controller = new AbortController();
    const sent = client.rest.post(Routes.channelMessages(channelId), { body: { content: 'slow' }, signal: controller.signal });
    await discord.waitFor(() => discord.requestsTo('POST', `/channels/${channelId}/messages`).find((r) => r.fault), 5000, 'the held post');
    controller.abort();
    await expect(sent).rejects.toThrow();
    expect(discord.channelMessages(channelId)).toHaveLength(before);
    release();
    await discord.waitFor(() => discord.channelMessages(channelId).length === before + 1, 5000, 'the late message');
    expect(discord.channelMessages(channelId).at(-1)?.content).toBe('slow');
  });
  it('dispatches button clicks and modal submits and records showModal, update and deferUpdate', async () => {
    const modalShown = nextInteraction(async (interaction) => {
      if (!interaction.isButton()) throw new Error('expected a button');
      const modal = new ModalBuilder()
        .setCustomId(`retry:${interaction.customId}`)
        .setTitle('Change the prompt')
        .addComponents(
          new ActionRowBuilder<TextInputBuilder>().addComponents(
            new TextInputBuilder().setCustomId('prompt').setLabel('Prompt').setStyle(TextInputStyle.Paragraph),
          ),
        );
      await interaction.showModal(modal);
      return interaction.message.id;
    });
    const click = await discord.button({ customId: 'job:42' });
    const messageId = await modalShown;
    expect(discord.callbacks(click.id)).toEqual([
      expect.objectContaining({
        type: InteractionResponseType.Modal,
        data: expect.objectContaining({ custom_id: 'retry:job:42', title: 'Change the prompt' }),
      }),
    ]);

    const submitted = nextInteraction(async (interaction) => {
      if (!interaction.isModalSubmit() || !interaction.isFromMessage()) throw new Error('expected a modal submit');
      await interaction.deferUpdate();
      await interaction.editReply({ content: `new prompt: ${interaction.fields.getTextInputValue('prompt')}`, components: [] });
      return interaction.customId;
    });
    const submit = await discord.modalSubmit({
      customId: 'retry:job:42',
      fields: { prompt: 'a blue fox' },
      message: { id: messageId },
    });
    expect(await submitted).toBe('retry:job:42');
    expect(discord.callbacks(submit.id).map((c) => c.type)).toEqual([InteractionResponseType.DeferredMessageUpdate]);
    expect(discord.original(submit.token)).toMatchObject({ id: messageId, content: 'new prompt: a blue fox', components: [] });

    const updated = nextInteraction(async (interaction) => {
      if (!interaction.isButton()) throw new Error('expected a button');
      await interaction.update({
        content: 'cancelled',
        components: [
          new ActionRowBuilder<ButtonBuilder>().addComponents(
            new ButtonBuilder().setCustomId('job:42:gone').setLabel('Gone').setStyle(ButtonStyle.Secondary).setDisabled(true),
          ),
        ],
      });
    });
    const second = await discord.button({ customId: 'job:42:cancel', message: { id: messageId } });
    await updated;
    expect(discord.callbacks(second.id)[0]?.type).toBe(InteractionResponseType.UpdateMessage);
    expect(discord.message(messageId)).toMatchObject({ content: 'cancelled' });
    expect(discord.message(messageId)?.edited_timestamp).not.toBeNull();
  });

  it('carries resolved.messages with attachments on a message context-menu command, which may open a modal', async () => {
    const png = solidPng(8, 6, [9, 9, 9]);
    const attachment = discord.addAttachment({ filename: 'photo.png', contentType: 'image/png', data: png });
    const target = discord.addMessage({ content: 'look', attachments: [attachment] });
    const done = nextInteraction(async (interaction) => {
      if (!interaction.isMessageContextMenuCommand()) throw new Error('expected a message context menu');
      const image = interaction.targetMessage.attachments.first();
      await interaction.showModal(
        new ModalBuilder()
          .setCustomId(`edit:${interaction.targetId}:${image?.id ?? ''}`)
          .setTitle('Edit image')
          .addComponents(
            new ActionRowBuilder<TextInputBuilder>().addComponents(
              new TextInputBuilder().setCustomId('prompt').setLabel('What to change').setStyle(TextInputStyle.Short),
            ),
          ),
      );
      return { targetId: interaction.targetId, url: image?.url ?? '', width: image?.width, content: interaction.targetMessage.content };
    });
    const { id, payload } = await discord.messageContextMenu({ name: 'Edit image', message: target });
    const seen = await done;
    expect(seen).toMatchObject({ targetId: target.id, width: 8, content: 'look' });
    expect((await download(seen.url)).body.equals(png)).toBe(true);
    expect(payload).toMatchObject({ data: { type: 3, target_id: target.id, resolved: { messages: { [target.id]: { id: target.id } } } } });
    expect(discord.callbacks(id)[0]).toMatchObject({
      type: InteractionResponseType.Modal,
      data: { custom_id: `edit:${target.id}:${attachment.id}` },
    });
  });

  it('accepts a multipart reply callback and returns the callback resource when asked withResponse', async () => {
    const png = solidPng(2, 3, [7, 7, 7]);
    const done = nextInteraction(async (interaction) => {
      if (!interaction.isChatInputCommand()) throw new Error('expected a command');
      const response = await interaction.reply({
        content: 'hi',
        files: [{ attachment: png, name: 'reply.png' }],
        withResponse: true,
      });
      return {
        id: response.interaction.responseMessageId,
        content: response.resource?.message?.content,
        file: response.resource?.message?.attachments.first()?.name,
      };
    });
    const { id, token } = await discord.slashCommand({ name: 'quota' });
    const seen = await done;
    expect(seen).toEqual({ id: discord.original(token)?.id, content: 'hi', file: 'reply.png' });
    const [callback] = discord.callbacks(id);
    expect(callback).toMatchObject({ type: InteractionResponseType.ChannelMessageWithSource, data: { content: 'hi' } });
    expect(callback?.files[0]?.data.equals(png)).toBe(true);
  });

  it('lets discord.js ride out scripted 429s and 500s, and surfaces 413 and the real upload limit', async () => {
    discord.fault(
      { method: 'PATCH', path: /\/messages\/@original$/ },
      { status: 429, body: { message: 'You are being rate limited.', retry_after: 0.2, global: false } },
      { status: 500 },
    );
    const started = Date.now();
    const done = nextInteraction(async (interaction) => {
      if (!interaction.isChatInputCommand()) throw new Error('expected a command');
      await interaction.deferReply();
      await interaction.editReply('after the storm');
      const tooBig = await interaction
        .editReply({ files: [{ attachment: Buffer.alloc(UPLOAD_LIMIT + 1), name: 'big.png' }] })
        .catch((error: unknown) => error);
      discord.fault({ method: 'PATCH', path: /\/messages\/@original$/ }, { status: 413 });
      const scripted413 = await interaction.editReply('x').catch((error: unknown) => error);
      return { tooBig, scripted413 };
    });
    const { token } = await discord.slashCommand({ name: 'imagine' });
    const { tooBig, scripted413 } = await done;
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(discord.original(token)?.content).toBe('after the storm');
    expect(tooBig).toMatchObject({ status: 413, code: 40005 });
    expect(scripted413).toMatchObject({ status: 413, code: 40005 });
    const statuses = discord.requestsTo('PATCH', /\/messages\/@original$/).slice(-5).map((r) => r.status);
    expect(statuses).toEqual([429, 500, 200, 413, 413]);
    expect(discord.pendingFaults).toBe(0);
  });

  it('waits out a global 429 on channel messages and rejects when the socket is dropped', async () => {
    const channel = (await client.channels.fetch(discord.channelId ?? '')) as TextChannel;
    const path = `/channels/${channel.id}/messages`;
    discord.fault(
      { method: 'POST', path },
      { status: 429, body: { message: 'You are being rate limited.', retry_after: 0.15, global: true } },
    );
    const started = Date.now();
    await channel.send('after a global limit');
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(discord.requestsTo('POST', path).slice(-2).map((r) => r.status)).toEqual([429, 200]);

    discord.fault({ method: 'POST', path }, { drop: true });
    await expect(channel.send('lost')).rejects.toThrow();
    expect(discord.requestsTo('POST', path).at(-1)).toMatchObject({ status: -1, fault: true });
  });

  it('proxies registered embed images through the media origin', async () => {
    const png = solidPng(5, 5, [1, 2, 3]);
    const image = discord.addEmbedImage({ data: png, url: 'https://images.example.com/cat.png' });
    const message = discord.addMessage({ embeds: [{ title: 'cat', image: { url: 'https://images.example.com/cat.png' } }] });
    expect(message.embeds[0]?.image).toMatchObject({ url: image.url, proxy_url: image.proxy_url, width: 5, height: 5 });
    expect(image.proxy_url?.startsWith(`${discord.mediaOrigin}/external/`)).toBe(true);
    expect((await download(image.proxy_url ?? '')).body.equals(png)).toBe(true);
  });

  it('stores command registrations and puts the registered id on dispatched commands', async () => {
    const commands = await client.application?.commands.set([
      { name: 'imagine', description: 'Make an image', options: [{ name: 'prompt', description: 'What', type: 3, required: true }] },
      { name: 'Edit image', type: 3 },
    ]);
    expect(commands?.size).toBe(2);
    expect(discord.registeredCommands().map((c) => c.name)).toEqual(['imagine', 'Edit image']);
    const guildCommands = await client.guilds.cache.get(discord.guildId ?? '')?.commands.set([{ name: 'quota', description: 'Quota' }]);
    expect(discord.registeredCommands(discord.guildId ?? '')).toHaveLength(1);

    await expect(client.application?.commands.set([{ name: 'Bad Name', description: 'x' }])).rejects.toMatchObject({ code: 50035 });

    const done = nextInteraction(async (interaction) => {
      if (!interaction.isChatInputCommand()) throw new Error('expected a command');
      await interaction.reply('ok');
      return interaction.commandId;
    });
    await discord.slashCommand({ name: 'quota' });
    expect(await done).toBe(guildCommands?.first()?.id);
  });

  it('answers unknown routes and bad tokens like Discord and records them', async () => {
    const unknown = await fetch(`${discord.apiUrl}/v10/nope`, { headers: { authorization: `Bot ${discord.token}` } });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ message: '404: Not Found', code: 0 });
    const wrong = await fetch(`${discord.apiUrl}/v10/users/@me`, { headers: { authorization: 'Bot wrong' } });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ message: '401: Unauthorized', code: 0 });
    expect(discord.requestsTo('GET', '/nope')[0]?.status).toBe(404);
  });

  it('resumes after a gateway drop and still delivers interactions', async () => {
    discord.disconnectGateway();
    const done = nextInteraction(async (interaction) => {
      if (!interaction.isChatInputCommand()) throw new Error('expected a command');
      await interaction.reply('still here');
    });
    const { token } = await discord.slashCommand({ name: 'imagine' });
    await done;
    expect(discord.original(token)?.content).toBe('still here');
    expect(discord.gateway.resumeCount).toBe(1);
    expect(discord.gateway.identifyCount).toBe(1);
  });

  it('dispatches DM interactions with a user instead of a member', async () => {
    const done = nextInteraction(async (interaction) => {
      if (!interaction.isChatInputCommand()) throw new Error('expected a command');
      await interaction.reply('dm reply');
      return { guildId: interaction.guildId, member: interaction.member, user: interaction.user.id, context: interaction.context };
    });
    const { payload } = await discord.slashCommand({ name: 'quota', guildId: null, user: { id: '400000000000000077', username: 'dmuser' } });
    expect(await done).toEqual({ guildId: null, member: null, user: '400000000000000077', context: 1 });
    expect(payload.authorizing_integration_owners).toEqual({ '1': '400000000000000077' });
  });
});

describe('fake Discord lifecycle', () => {
  it('closes cleanly: no sockets or servers left behind after client.destroy() and close()', async () => {
    const before = process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP')).length;
    const fake = await startFakeDiscord({ guilds: [] });
    const bot = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: fake.apiUrl } });
    const ready = once(bot, Events.ClientReady);
    await bot.login(fake.token);
    await ready;
    expect(bot.guilds.cache.size).toBe(0);
    await bot.destroy();
    await fake.close();
    // Sockets close asynchronously after close() resolves: wait for the count to come back down.
    await waitUntil(() => process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP')).length <= before, 'the TCP handles to close');
    await expect(fetch(`${fake.apiUrl}/v10/gateway`)).rejects.toThrow();
  });

  it('rejects a wrong token on REST (401) and closes the gateway with 4004', async () => {
    const fake = await startFakeDiscord();
    const bot = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: fake.apiUrl } });
    // discord.js asks GET /gateway/bot first, so the REST 401 is what a bot with a bad token sees.
    await expect(bot.login('wrong-token')).rejects.toMatchObject({ code: 'TokenInvalid' });
    await bot.destroy();

    const socket = new WebSocket(`${fake.gatewayUrl}/?v=10&encoding=json`);
    const [hello] = (await once(socket, 'message')) as [Buffer];
    expect(JSON.parse(hello.toString())).toMatchObject({ op: 10, d: { heartbeat_interval: 45_000 } });
    socket.send(JSON.stringify({ op: 2, d: { token: 'wrong-token', intents: 1, properties: {} } }));
    const [code] = (await once(socket, 'close')) as [number];
    expect(code).toBe(4004);
    await fake.close();
  });

  it('refuses a gateway connection from a browser (one that sends an Origin)', async () => {
    const fake = await startFakeDiscord();
    const socket = new WebSocket(`${fake.gatewayUrl}/?v=10&encoding=json`, { origin: 'http://evil.example' });
    const [refused] = (await once(socket, 'error')) as [Error];
    expect(refused.message).toBe('Unexpected server response: 401');
    const bot = new WebSocket(`${fake.gatewayUrl}/?v=10&encoding=json`);
    const [hello] = (await once(bot, 'message')) as [Buffer];
    expect(JSON.parse(hello.toString())).toMatchObject({ op: 10 });
    bot.close();
    await fake.close();
  });
});
