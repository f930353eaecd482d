// The fake Discord's Components V2 and modal rules, driven by a real discord.js client and its own builders: what
// Discord accepts, and what it refuses with its 400 / 50035 shape; modals with Label, select and File Upload; and a
// user-installed app's interactions from a server the bot is not in.
import {
  ButtonBuilder,
  ButtonStyle,
  ContainerBuilder,
  DiscordAPIError,
  FileUploadBuilder,
  LabelBuilder,
  MediaGalleryBuilder,
  MessageFlags,
  ModalBuilder,
  StringSelectMenuBuilder,
  TextDisplayBuilder,
  TextInputBuilder,
  TextInputStyle,
  type Client,
} from 'discord.js';
import { InteractionResponseType, Routes } from 'discord-api-types/v10';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { solidPng } from '../../../dev/fakes/png.js';
import { startFakeDiscord, type FakeDiscord } from '../../../dev/fakes/discord/server.js';
import { loginTestClient, type TestClient } from '../../helpers/discord-client.js';

const FOREIGN_GUILD = '1250000000000000001';
const FOREIGN_CHANNEL = '1250000000000000002';

let discord: FakeDiscord;
let client: Client;
let nextInteraction: TestClient['nextInteraction'];

/** The Discord error a call was refused with. */
async function refusal(p: Promise<unknown>): Promise<DiscordAPIError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DiscordAPIError);
  return err as DiscordAPIError;
}

/** Every error code anywhere in a 50035 `errors` object. */
function codes(err: DiscordAPIError): string[] {
  const found: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (typeof v === 'object' && v !== null) {
      const code = (v as { code?: unknown }).code;
      if (typeof code === 'string') found.push(code);
      Object.values(v).forEach(walk);
    }
  };
  walk((err.rawError as { errors?: unknown }).errors);
  return found;
}

const png = solidPng(4, 4, [200, 40, 40]);
const channel = () => discord.channelId ?? '';
const post = (body: Record<string, unknown>, files: Array<{ name: string; data: Buffer }> = []) => client.rest.post(Routes.channelMessages(channel()), { body, files });

/** A result-like container: text, a gallery of `names`, a row of buttons. */
function container(names: string[], text = 'a lighthouse at dusk'): ContainerBuilder {
  return new ContainerBuilder()
    .setAccentColor(0x7c3aed)
    .addTextDisplayComponents(new TextDisplayBuilder().setContent(text))
    .addMediaGalleryComponents(new MediaGalleryBuilder().addItems(...names.map((n) => ({ media: { url: `attachment://${n}` }, description: 'alt' }))))
    .addActionRowComponents((row) => row.addComponents(new ButtonBuilder().setCustomId('job:vary:abc').setLabel('Vary').setStyle(ButtonStyle.Secondary)));
}

beforeAll(async () => {
  discord = await startFakeDiscord({ foreignGuilds: [{ id: FOREIGN_GUILD, name: 'Elsewhere', channels: [{ id: FOREIGN_CHANNEL, name: 'art' }] }] });
  ({ client, nextInteraction } = await loginTestClient(discord));
});

afterAll(async () => {
  await client?.destroy();
  await discord?.close();
});

describe('Components V2 in the fake Discord', () => {
  it('takes a V2 message whose gallery shows its uploads, and returns the media resolved to CDN URLs', async () => {
    const sent = (await post({ flags: MessageFlags.IsComponentsV2, components: [container(['a.png', 'b.png']).toJSON()] }, [
      { name: 'a.png', data: png },
      { name: 'b.png', data: png },
    ])) as { id: string; flags: number; components: Array<{ components: Array<{ type: number; items?: Array<{ media: { url: string; attachment_id?: string } }> }> }> };
    expect(sent.flags & MessageFlags.IsComponentsV2).toBe(MessageFlags.IsComponentsV2);
    const gallery = sent.components[0]?.components.find((c) => c.type === 12);
    expect(gallery?.items?.map((i) => i.media.url)).toEqual([expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/attachments\/.*\/a\.png\?/), expect.stringMatching(/b\.png\?/)]);
    expect(gallery?.items?.[0]?.media.attachment_id).toMatch(/^\d+$/);
  });

  it('refuses content or embeds beside the flag, and a message that drops the flag once it has it', async () => {
    const withContent = await refusal(post({ flags: MessageFlags.IsComponentsV2, content: 'hi', components: [container([]).spliceComponents(1, 1).toJSON()] }));
    expect(withContent.status).toBe(400);
    expect(withContent.code).toBe(50035);
    expect(codes(withContent)).toContain('MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2');
    const withEmbed = await refusal(post({ flags: MessageFlags.IsComponentsV2, embeds: [{ title: 'x' }], components: [new TextDisplayBuilder().setContent('x').toJSON()] }));
    expect(codes(withEmbed)).toContain('MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2');

    const message = (await post({ flags: MessageFlags.IsComponentsV2, components: [new TextDisplayBuilder().setContent('v2').toJSON()] })) as { id: string };
    const dropped = await refusal(client.rest.patch(Routes.channelMessage(channel(), message.id), { body: { flags: 0, content: 'back to text' } }));
    expect(codes(dropped)).toContain('MESSAGE_CANNOT_REMOVE_COMPONENTS_V2_FLAG');
    // An edit that says nothing of the flags is still V2: content stays refused.
    expect(codes(await refusal(client.rest.patch(Routes.channelMessage(channel(), message.id), { body: { content: 'text' } })))).toContain('MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2');
    expect(discord.message(message.id)?.flags).toBe(MessageFlags.IsComponentsV2);
  });

  it('upgrades a message to V2 by an edit only when its content is nulled in the same edit', async () => {
    const message = (await post({ content: 'thinking…' })) as { id: string };
    const v2 = { flags: MessageFlags.IsComponentsV2, components: [new TextDisplayBuilder().setContent('done').toJSON()] };
    expect(codes(await refusal(client.rest.patch(Routes.channelMessage(channel(), message.id), { body: v2 })))).toContain('MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2');
    await client.rest.patch(Routes.channelMessage(channel(), message.id), { body: { ...v2, content: null } });
    expect(discord.message(message.id)).toMatchObject({ content: '', flags: MessageFlags.IsComponentsV2 });
  });

  it('counts nested components against 40 and text displays against 4,000 characters', async () => {
    const big = new ContainerBuilder();
    for (let i = 0; i < 8; i++) {
      big.addActionRowComponents((row) => row.addComponents(...Array.from({ length: 4 }, (_, j) => new ButtonBuilder().setCustomId(`b${i}-${j}`).setLabel('x').setStyle(ButtonStyle.Secondary))));
    }
    // 1 container + 8 rows + 32 buttons = 41.
    const tooMany = await refusal(post({ flags: MessageFlags.IsComponentsV2, components: [big.toJSON()] }));
    expect(tooMany.code).toBe(50035);
    expect(JSON.stringify(tooMany.rawError)).toContain('40 or fewer');
    const tooLong = await refusal(
      post({ flags: MessageFlags.IsComponentsV2, components: [new TextDisplayBuilder().setContent('a'.repeat(2500)).toJSON(), new TextDisplayBuilder().setContent('b'.repeat(1501)).toJSON()] }),
    );
    expect(codes(tooLong)).toContain('COMPONENT_TEXT_DISPLAY_TOTAL_LENGTH_EXCEEDED');
    // Exactly 4,000 is fine.
    await post({ flags: MessageFlags.IsComponentsV2, components: [new TextDisplayBuilder().setContent('a'.repeat(2500)).toJSON(), new TextDisplayBuilder().setContent('b'.repeat(1500)).toJSON()] });
  });

  it('takes galleries of 1–10 items with alt text up to 1,024 characters', async () => {
    const gallery = (n: number, alt = 'alt') => ({ type: 12, items: Array.from({ length: n }, () => ({ media: { url: 'https://example.com/x.png' }, description: alt })) });
    expect(codes(await refusal(post({ flags: MessageFlags.IsComponentsV2, components: [gallery(0)] })))).toContain('BASE_TYPE_BAD_LENGTH');
    expect(codes(await refusal(post({ flags: MessageFlags.IsComponentsV2, components: [gallery(11)] })))).toContain('BASE_TYPE_BAD_LENGTH');
    expect(codes(await refusal(post({ flags: MessageFlags.IsComponentsV2, components: [gallery(1, 'x'.repeat(1025))] })))).toContain('BASE_TYPE_MAX_LENGTH');
    await post({ flags: MessageFlags.IsComponentsV2, components: [gallery(10, 'x'.repeat(1024))] });
  });

  it('refuses an upload no component shows, and media naming an attachment the message does not have', async () => {
    const unshown = await refusal(post({ flags: MessageFlags.IsComponentsV2, components: [container(['a.png']).toJSON()] }, [
      { name: 'a.png', data: png },
      { name: 'stray.png', data: png },
    ]));
    expect(codes(unshown)).toContain('ATTACHMENT_NOT_REFERENCED');
    const missing = await refusal(post({ flags: MessageFlags.IsComponentsV2, components: [container(['nothere.png']).toJSON()] }));
    expect(codes(missing)).toContain('UNFURLED_MEDIA_ITEM_ATTACHMENT_NOT_FOUND');
    // V2-only components need the flag.
    expect(codes(await refusal(post({ components: [new TextDisplayBuilder().setContent('x').toJSON()] })))).toContain('UNION_TYPE_CHOICES');
  });

  it('keeps earlier attachments by id in an edit that adds one, the gallery showing both (a result filling in)', async () => {
    const first = (await post({ flags: MessageFlags.IsComponentsV2, components: [container(['one.png']).toJSON()] }, [{ name: 'one.png', data: png }])) as {
      id: string;
      attachments: Array<{ id: string; filename: string }>;
    };
    const kept = first.attachments[0];
    const edited = (await client.rest.patch(Routes.channelMessage(channel(), first.id), {
      body: { components: [container(['one.png', 'two.png']).toJSON()], attachments: [{ id: kept?.id }, { id: 0, filename: 'two.png' }] },
      files: [{ name: 'two.png', data: png }],
    })) as { attachments: Array<{ filename: string }> };
    expect(edited.attachments.map((a) => a.filename)).toEqual(['one.png', 'two.png']);
  });

  it('refuses a deferral that carries any flag but EPHEMERAL; the V2 flag goes on the edit of @original', async () => {
    const done = nextInteraction(async (interaction) => {
      if (!interaction.isChatInputCommand()) throw new Error('expected a command');
      const err = await refusal(client.rest.post(Routes.interactionCallback(interaction.id, interaction.token), { body: { type: 5, data: { flags: MessageFlags.IsComponentsV2 } }, auth: false }));
      await client.rest.post(Routes.interactionCallback(interaction.id, interaction.token), { body: { type: 5, data: { flags: MessageFlags.Ephemeral } }, auth: false });
      await client.rest.patch(Routes.webhookMessage(interaction.applicationId, interaction.token), {
        body: { flags: MessageFlags.IsComponentsV2, content: null, components: [container(['r.png']).toJSON()], attachments: [{ id: 0, filename: 'r.png' }] },
        files: [{ name: 'r.png', data: png }],
        auth: false,
      });
      return err;
    });
    const { token } = await discord.slashCommand({ name: 'imagine' });
    const err = await done;
    expect(err.status).toBe(400);
    expect(codes(err)).toContain('INTERACTION_RESPONSE_FLAGS_INVALID');
    expect(discord.original(token)?.flags).toBe(MessageFlags.IsComponentsV2 | MessageFlags.Ephemeral);
  });
});

describe('modals with Label, string select and File Upload in the fake Discord', () => {
  it('shows a modal of labels and hands the submit’s uploads and choices to discord.js, the files downloadable', async () => {
    const shown = nextInteraction(async (interaction) => {
      if (!interaction.isButton()) throw new Error('expected a button');
      await interaction.showModal(
        new ModalBuilder()
          .setCustomId('modal:edit:abc')
          .setTitle('Edit this image')
          .addLabelComponents(
            new LabelBuilder().setLabel('What to change').setTextInputComponent(new TextInputBuilder().setCustomId('prompt').setStyle(TextInputStyle.Paragraph)),
            new LabelBuilder().setLabel('More references').setDescription('Up to 7 images').setFileUploadComponent(new FileUploadBuilder().setCustomId('refs').setMinValues(0).setMaxValues(7).setRequired(false)),
            new LabelBuilder()
              .setLabel('Model')
              .setStringSelectMenuComponent(new StringSelectMenuBuilder().setCustomId('model').addOptions({ label: 'uni-1', value: 'uni-1', default: true }, { label: 'uni-1-max', value: 'uni-1-max' })),
          ),
      );
    });
    const click = await discord.button({ customId: 'job:edit:abc' });
    await shown;
    expect(discord.callbacks(click.id)[0]?.type).toBe(InteractionResponseType.Modal);

    const upload = discord.addAttachment({ filename: 'ref.png', contentType: 'image/png', data: png });
    const submitted = nextInteraction(async (interaction) => {
      if (!interaction.isModalSubmit()) throw new Error('expected a modal submit');
      const files = interaction.fields.getUploadedFiles('refs');
      return { prompt: interaction.fields.getTextInputValue('prompt'), model: interaction.fields.getStringSelectValues('model'), files: [...(files?.values() ?? [])].map((f) => ({ name: f.name, url: f.url })) };
    });
    await discord.modalSubmit({ customId: 'modal:edit:abc', layout: 'label', fields: { prompt: 'make it snow' }, selects: { model: ['uni-1-max'] }, uploads: { refs: [upload] } });
    const got = await submitted;
    expect(got).toMatchObject({ prompt: 'make it snow', model: ['uni-1-max'], files: [{ name: 'ref.png' }] });
    const body = Buffer.from(await (await fetch(got.files[0]?.url ?? '')).arrayBuffer());
    expect(body.equals(png)).toBe(true);
  });

  it('refuses a modal whose text input in a Label carries its own label, or whose upload is required with no minimum', async () => {
    const done = nextInteraction(async (interaction) => {
      if (!interaction.isButton()) throw new Error('expected a button');
      const bad = await refusal(
        client.rest.post(Routes.interactionCallback(interaction.id, interaction.token), {
          auth: false,
          body: {
            type: 9,
            data: { custom_id: 'm', title: 'T', components: [{ type: 18, label: 'Prompt', component: { type: 4, custom_id: 'p', style: 1, label: 'again' } }, { type: 18, label: 'Files', component: { type: 19, custom_id: 'f', min_values: 0 } }] },
          },
        }),
      );
      return bad;
    });
    await discord.button({ customId: 'job:edit:bad' });
    const err = await done;
    expect(codes(err)).toEqual(expect.arrayContaining(['COMPONENT_LABEL_IN_LABEL', 'NUMBER_TYPE_MIN']));
  });
});

describe('a user-installed app in a server the bot is not in', () => {
  it('gets the target message with its attachments in resolved.messages, while the bot’s token cannot read that channel', async () => {
    const attachment = discord.addAttachment({ filename: 'cat.png', contentType: 'image/png', data: png, channelId: FOREIGN_CHANNEL });
    const target = discord.addMessage({ channelId: FOREIGN_CHANNEL, attachments: [attachment] });
    const seen = nextInteraction(async (interaction) => {
      if (!interaction.isMessageContextMenuCommand()) throw new Error('expected a message command');
      await interaction.deferReply();
      return { guildCached: client.guilds.cache.has(FOREIGN_GUILD), owners: interaction.authorizingIntegrationOwners, url: interaction.targetMessage.attachments.first()?.url ?? '' };
    });
    await discord.messageContextMenu({ name: 'Edit image', message: target, guildId: FOREIGN_GUILD, channelId: FOREIGN_CHANNEL, installation: 'user' });
    const got = await seen;
    expect(got.guildCached).toBe(false);
    expect(got.owners.guildId ?? null).toBeNull();
    expect(Buffer.from(await (await fetch(got.url)).arrayBuffer()).equals(png)).toBe(true);
    const read = await refusal(client.rest.get(Routes.channelMessage(FOREIGN_CHANNEL, target.id)));
    expect(read).toMatchObject({ status: 403, code: 50001 });
  });
});
