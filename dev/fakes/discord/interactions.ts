// INTERACTION_CREATE payloads shaped exactly as Discord sends them over the gateway.
import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ComponentType,
  InteractionContextType,
  InteractionType,
  PermissionFlagsBits,
  type APIAttachment,
  type APIMessage,
  type APIUser,
} from 'discord-api-types/v10';
import { interactionToken } from './ids.js';
import { modalSubmitComponents, type ModalAnswers } from './modals.js';
import { orPermissions, type FakeUserInput } from './payloads.js';
import type { DiscordState, InteractionKind, InteractionRecord } from './state.js';

export interface InteractionContextInput {
  /** The invoking user; default: the fake's default user (`tester`). */
  user?: FakeUserInput;
  /** Guild to invoke in; default: the first configured guild. `null` invokes from a DM with the bot. */
  guildId?: string | null;
  /** Guild channel to invoke in (unknown ids become text channels); default: the guild's first channel. In DMs
   * the interaction always comes from the user's DM channel. */
  channelId?: string;
  /** Role ids the member holds (guild only); default: the roles from their previous interaction, or none. */
  roles?: string[];
  /** Member permissions bitfield as a decimal string; default: @everyone + the member's roles. */
  permissions?: string;
  /** User locale; default 'en-US'. */
  locale?: string;
  /** Who installed the app for this interaction; default 'guild' in guilds and 'user' in DMs. */
  installation?: 'guild' | 'user';
}

export interface CommandOptionInput {
  name: string;
  type: ApplicationCommandOptionType | number;
  value?: string | number | boolean;
  focused?: boolean;
  options?: CommandOptionInput[];
}

export interface SlashCommandInput extends InteractionContextInput {
  name: string;
  options?: CommandOptionInput[];
  /** Attachments resolved by ATTACHMENT (type 11) options, which reference them by id. */
  attachments?: APIAttachment[];
  subcommand?: string;
  subcommandGroup?: string;
}

export interface MessageContextMenuInput extends InteractionContextInput {
  name: string;
  message: APIMessage;
}

export interface ButtonInput extends InteractionContextInput {
  customId: string;
  /** The message the button is on: a full message, or `{ id }` of a stored one; default: a fresh bot message. */
  message?: APIMessage | { id: string };
}

export interface StringSelectInput extends InteractionContextInput {
  customId: string;
  /** The values the member picked. */
  values: string[];
  /** The message the select is on: a full message, or `{ id }` of a stored one. */
  message: APIMessage | { id: string };
}

export interface ModalSubmitInput extends InteractionContextInput, ModalAnswers {
  customId: string;
  /** Set when the modal was opened from a component on this message (enables deferUpdate/update). */
  message?: APIMessage | { id: string };
}

export interface BuiltInteraction {
  record: InteractionRecord;
  payload: Record<string, unknown>;
  /** Channels that did not exist yet and must be announced (CHANNEL_CREATE) before the interaction. */
  newChannels: string[];
}

const ALL_PERMISSIONS = Object.values(PermissionFlagsBits)
  .reduce((a, b) => a | b, 0n)
  .toString();

interface ResolvedContext {
  user: APIUser;
  guildId: string | null;
  channelId: string;
  base: Record<string, unknown>;
  newChannels: string[];
}

function resolveContext(state: DiscordState, input: InteractionContextInput): ResolvedContext {
  const user = state.rememberUser(input.user);
  const guildId = input.guildId === undefined ? state.defaultGuildId : input.guildId;
  const newChannels: string[] = [];
  const locale = input.locale ?? 'en-US';
  const appPermissions = state.options.appPermissions;
  const common = {
    application_id: state.options.applicationId,
    app_permissions: appPermissions,
    attachment_size_limit: state.options.uploadLimitBytes,
    // The invoker's active entitlements, and in a server the server's (monetization.ts).
    entitlements: state.store?.forInteraction(user.id, guildId) ?? [],
    locale,
    version: 1,
  };

  if (guildId === null) {
    const channel = state.dmChannelFor(user.id);
    const installation = input.installation ?? 'user';
    return {
      user,
      guildId: null,
      channelId: channel.id,
      newChannels,
      base: {
        ...common,
        user,
        channel: state.renderChannel(channel),
        channel_id: channel.id,
        context: InteractionContextType.BotDM,
        authorizing_integration_owners: installation === 'user' ? { '1': user.id } : { '0': '0' },
      },
    };
  }

  const guild = state.guilds.get(guildId);
  if (!guild) {
    throw new Error(
      `fake Discord: unknown guild ${guildId}; configure it with startFakeDiscord({ guilds: [{ id: '${guildId}' }] })`,
    );
  }
  const foreign = state.foreignGuildIds.has(guildId);
  if (foreign && input.installation !== 'user') {
    throw new Error(`fake Discord: the bot is not in guild ${guildId}; only a user-installed app can be used there (installation: 'user')`);
  }
  const channelId = input.channelId ?? guild.channelIds[0];
  if (!channelId) throw new Error(`fake Discord: guild ${guildId} has no text channel`);
  if (!state.channels.has(channelId)) {
    state.addTextChannel(channelId, guildId);
    // The gateway tells the bot about channels of its own servers only.
    if (!foreign) newChannels.push(channelId);
  }
  const channel = state.channels.get(channelId);
  if (!channel) throw new Error(`fake Discord: channel ${channelId} vanished`);

  const previous = state.memberOf(guildId, user.id);
  const roles = input.roles ?? previous?.roles ?? [];
  const joinedAt = previous?.joinedAt ?? new Date(Date.now() - 86_400_000).toISOString();
  state.members.set(`${guildId}:${user.id}`, { roles, joinedAt });
  const rolePermissions = guild.roles.filter((r) => r.id === guildId || roles.includes(r.id)).map((r) => r.permissions);
  let permissions = input.permissions ?? orPermissions(rolePermissions);
  if ((BigInt(permissions) & PermissionFlagsBits.Administrator) !== 0n) permissions = ALL_PERMISSIONS;
  if (guild.ownerId === user.id) permissions = ALL_PERMISSIONS;

  return {
    user,
    guildId,
    channelId,
    newChannels,
    base: {
      ...common,
      guild_id: guildId,
      guild: { id: guildId, locale: guild.locale, features: [] },
      guild_locale: guild.locale,
      channel: { ...state.renderChannel(channel), permissions },
      channel_id: channelId,
      member: {
        user,
        roles,
        premium_since: null,
        permissions,
        pending: false,
        nick: null,
        mute: false,
        joined_at: joinedAt,
        flags: 0,
        deaf: false,
        communication_disabled_until: null,
        unusual_dm_activity_until: null,
        banner: null,
        avatar: null,
      },
      context: InteractionContextType.Guild,
      authorizing_integration_owners:
        (input.installation ?? 'guild') === 'guild' ? { '0': guildId } : { '1': user.id },
    },
  };
}

function finish(
  state: DiscordState,
  context: ResolvedContext,
  type: InteractionType,
  kind: InteractionKind,
  data: Record<string, unknown>,
  extra: Record<string, unknown> = {},
  sourceMessageId?: string,
): BuiltInteraction {
  const id = state.ids.next();
  const token = interactionToken(id);
  const payload = { ...context.base, ...extra, id, token, type, data };
  const record: InteractionRecord = {
    id,
    token,
    type,
    kind,
    createdAt: Date.now(),
    guildId: context.guildId,
    channelId: context.channelId,
    user: context.user,
    sourceMessageId,
    callbacks: [],
    ackType: undefined,
    originalId: undefined,
    edits: [],
    followupIds: [],
    tokenExpired: false,
    payload,
  };
  return { record, payload, newChannels: context.newChannels };
}

export function buildSlashCommand(state: DiscordState, input: SlashCommandInput): BuiltInteraction {
  const context = resolveContext(state, input);
  let options: CommandOptionInput[] | undefined = input.options;
  if (input.subcommand) {
    options = [{ name: input.subcommand, type: ApplicationCommandOptionType.Subcommand, options: options ?? [] }];
  }
  if (input.subcommandGroup) {
    options = [{ name: input.subcommandGroup, type: ApplicationCommandOptionType.SubcommandGroup, options: options ?? [] }];
  }
  const resolved: Record<string, Record<string, unknown>> = {};
  for (const attachment of input.attachments ?? []) {
    const known = state.cdn.getAttachment(attachment.id);
    resolved.attachments ??= {};
    resolved.attachments[attachment.id] = known ? state.cdn.renderAttachment(known) : attachment;
  }
  for (const option of flatten(options ?? [])) {
    // A channel option resolves to a partial channel with the bot's permissions in it, as Discord sends it.
    if (option.type === ApplicationCommandOptionType.Channel && typeof option.value === 'string') {
      const channel = state.channels.get(option.value);
      if (!channel) continue;
      resolved.channels ??= {};
      resolved.channels[channel.id] = { id: channel.id, name: channel.name, type: channel.type, permissions: state.options.appPermissions };
      continue;
    }
    if (option.type !== ApplicationCommandOptionType.User || typeof option.value !== 'string') continue;
    const user = state.users.get(option.value);
    if (!user) continue;
    resolved.users ??= {};
    resolved.users[user.id] = user;
    const member = context.guildId ? state.renderMember(context.guildId, user.id) : undefined;
    if (member) {
      const { user: _user, ...rest } = member;
      resolved.members ??= {};
      resolved.members[user.id] = { ...rest, permissions: '0' };
    }
  }
  const data: Record<string, unknown> = {
    id: state.commandId(input.name, ApplicationCommandType.ChatInput, context.guildId),
    name: input.name,
    type: ApplicationCommandType.ChatInput,
  };
  if (options) data.options = options.map(toWireOption);
  if (Object.keys(resolved).length > 0) data.resolved = resolved;
  const guildCommand = context.guildId
    ? state.commands.get(context.guildId)?.some((c) => c.id === data.id)
    : false;
  if (guildCommand) data.guild_id = context.guildId;
  return finish(state, context, InteractionType.ApplicationCommand, 'command', data);
}

export function buildMessageContextMenu(state: DiscordState, input: MessageContextMenuInput): BuiltInteraction {
  const context = resolveContext(state, input);
  const message = freshMessage(state, input.message);
  const data: Record<string, unknown> = {
    id: state.commandId(input.name, ApplicationCommandType.Message, context.guildId),
    name: input.name,
    type: ApplicationCommandType.Message,
    target_id: message.id,
    resolved: { messages: { [message.id]: message } },
  };
  return finish(state, context, InteractionType.ApplicationCommand, 'command', data);
}

export function buildButton(state: DiscordState, input: ButtonInput): BuiltInteraction {
  const context = resolveContext(state, input);
  const message = componentMessage(state, context, input.message, input.customId);
  const data = { custom_id: input.customId, component_type: ComponentType.Button, id: 2 };
  return finish(state, context, InteractionType.MessageComponent, 'component', data, { message }, message.id);
}

export function buildStringSelect(state: DiscordState, input: StringSelectInput): BuiltInteraction {
  const context = resolveContext(state, input);
  const message = componentMessage(state, context, input.message, input.customId);
  const data = { custom_id: input.customId, component_type: ComponentType.StringSelect, values: input.values, id: 2 };
  return finish(state, context, InteractionType.MessageComponent, 'component', data, { message }, message.id);
}

export function buildModalSubmit(state: DiscordState, input: ModalSubmitInput): BuiltInteraction {
  const context = resolveContext(state, input);
  const render = (a: APIAttachment) => {
    const known = state.cdn.getAttachment(a.id);
    return known ? state.cdn.renderAttachment(known) : a;
  };
  const { components, resolved } = modalSubmitComponents(input, render);
  const data = { custom_id: input.customId, components, ...(resolved ? { resolved } : {}) };
  const message = input.message ? componentMessage(state, context, input.message, input.customId) : undefined;
  return finish(
    state,
    context,
    InteractionType.ModalSubmit,
    'modal',
    data,
    message ? { message } : {},
    message?.id,
  );
}

/** The current stored version of a message (fresh attachment URLs), or the given object as-is. */
function freshMessage(state: DiscordState, message: APIMessage): APIMessage {
  const stored = state.messages.get(message.id);
  return stored ? state.render(stored) : message;
}

/**
 * The message a component sits on. Stored messages are rendered fresh; a full message the fake has not seen
 * is adopted (so UPDATE_MESSAGE can edit it); without one, the bot gets a message with the button on it.
 */
function componentMessage(
  state: DiscordState,
  context: ResolvedContext,
  message: APIMessage | { id: string } | undefined,
  customId: string,
): APIMessage {
  if (message) {
    const stored = state.messages.get(message.id);
    if (stored) return state.render(stored);
    if ('author' in message) {
      const record = state.newMessage({ channelId: message.channel_id, author: message.author, source: 'test' });
      state.messages.delete(record.id);
      Object.assign(record, {
        id: message.id,
        content: message.content,
        embeds: message.embeds,
        components: message.components ?? [],
        attachments: message.attachments,
        flags: message.flags ?? 0,
        timestamp: message.timestamp,
        webhookId: message.webhook_id,
        applicationId: message.application_id,
      });
      state.messages.set(record.id, record);
      return state.render(record);
    }
    throw new Error(`fake Discord: no stored message ${message.id}; pass the full message or create it with addMessage`);
  }
  const record = state.newMessage({ channelId: context.channelId, author: state.options.botUser, source: 'bot' });
  record.content = 'Component message';
  record.components = [
    {
      type: ComponentType.ActionRow,
      id: 1,
      components: [{ type: ComponentType.Button, id: 2, style: 1, label: 'Button', custom_id: customId }],
    },
  ];
  return state.render(record);
}

function flatten(options: CommandOptionInput[]): CommandOptionInput[] {
  return options.flatMap((o) => [o, ...flatten(o.options ?? [])]);
}

function toWireOption(option: CommandOptionInput): Record<string, unknown> {
  const wire: Record<string, unknown> = { name: option.name, type: option.type };
  if (option.value !== undefined) wire.value = option.value;
  if (option.focused) wire.focused = true;
  if (option.options) wire.options = option.options.map(toWireOption);
  return wire;
}
