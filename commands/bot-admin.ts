import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  ChannelType,
  InteractionContextType,
  MessageFlags,
  PermissionFlagsBits,
  type APIApplicationCommandChannelOption,
  type Locale,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import type { SlashCommand } from '../src/discord/command.js';
import { adminCall, resetNotice, type AdminCall } from '../src/discord/admin.js';
import { readSubcommand, runSubcommand, type SubcommandHandlers } from '../src/discord/command-options.js';
import { replyPrivately } from '../src/discord/reply.js';
import { settingsView } from '../src/discord/settings-view.js';
import { MAX_IMAGES_PER_REQUEST } from '../src/jobs/create.js';
import type { Preferences } from '../src/preferences/store.js';
import { isSnowflake } from '../src/discord/snowflake.js';
import { UserFacingError } from '../src/errors.js';
import { english } from '../src/i18n/commands.js';
import { MAX_CHANNELS, type GuildPolicy } from '../src/guild-settings/model.js';
import { channelList, renderPolicy } from '../src/guild-settings/render.js';
import type { GuildPolicyStore } from '../src/guild-settings/store.js';
import { foldText, MAX_TERM_LENGTH, MAX_TERMS, parseTerms } from '../src/guild-settings/terms.js';
import { t } from '../src/i18n/index.js';

/*
 * /bot-admin: where members may use the bot on a server and which words it refuses in prompts. A sibling of
 * /quota-admin with the same gate (Manage Server, hidden by default and checked again by the bot).
 */

const CHANNEL_TYPES: APIApplicationCommandChannelOption['channel_types'] = [ChannelType.GuildText, ChannelType.GuildAnnouncement, ChannelType.GuildForum, ChannelType.GuildVoice, ChannelType.GuildStageVoice, ChannelType.GuildMedia];

const channelOption = (description: string) =>
  ({
    type: ApplicationCommandOptionType.Channel,
    name: 'channel',
    description,
    required: true,
    channel_types: CHANNEL_TYPES,
  }) as const satisfies APIApplicationCommandChannelOption;

const data = {
  type: ApplicationCommandType.ChatInput,
  name: 'bot-admin',
  description: english('cmd.bot-admin.description'),
  default_member_permissions: PermissionFlagsBits.ManageGuild.toString(),
  contexts: [InteractionContextType.Guild],
  integration_types: [ApplicationIntegrationType.GuildInstall],
  options: [
    { type: ApplicationCommandOptionType.Subcommand, name: 'show', description: english('cmd.bot-admin.show.description') },
    {
      type: ApplicationCommandOptionType.SubcommandGroup,
      name: 'channels',
      description: english('cmd.bot-admin.channels.description'),
      options: [
        { type: ApplicationCommandOptionType.Subcommand, name: 'add', description: english('cmd.bot-admin.channels.add.description'), options: [channelOption(english('cmd.bot-admin.channels.add.channel.description'))] },
        { type: ApplicationCommandOptionType.Subcommand, name: 'remove', description: english('cmd.bot-admin.channels.remove.description'), options: [channelOption(english('cmd.bot-admin.channels.remove.channel.description'))] },
        { type: ApplicationCommandOptionType.Subcommand, name: 'clear', description: english('cmd.bot-admin.channels.clear.description') },
        {
          type: ApplicationCommandOptionType.Subcommand,
          name: 'threads',
          description: english('cmd.bot-admin.channels.threads.description'),
          options: [{ type: ApplicationCommandOptionType.Boolean, name: 'inherit', description: english('cmd.bot-admin.channels.threads.inherit.description'), required: true }],
        },
        {
          type: ApplicationCommandOptionType.Subcommand,
          name: 'age-restricted',
          description: english('cmd.bot-admin.channels.age-restricted.description'),
          options: [{ type: ApplicationCommandOptionType.Boolean, name: 'required', description: english('cmd.bot-admin.channels.age-restricted.required.description'), required: true }],
        },
      ],
    },
    {
      type: ApplicationCommandOptionType.SubcommandGroup,
      name: 'terms',
      description: english('cmd.bot-admin.terms.description'),
      options: [
        {
          type: ApplicationCommandOptionType.Subcommand,
          name: 'add',
          description: english('cmd.bot-admin.terms.add.description'),
          options: [{ type: ApplicationCommandOptionType.String, name: 'terms', description: english('cmd.bot-admin.terms.add.terms.description'), required: true, max_length: 1000 }],
        },
        {
          type: ApplicationCommandOptionType.Subcommand,
          name: 'remove',
          description: english('cmd.bot-admin.terms.remove.description'),
          options: [{ type: ApplicationCommandOptionType.String, name: 'terms', description: english('cmd.bot-admin.terms.remove.terms.description'), required: true, max_length: 1000 }],
        },
        { type: ApplicationCommandOptionType.Subcommand, name: 'clear', description: english('cmd.bot-admin.terms.clear.description') },
      ],
    },
    { type: ApplicationCommandOptionType.Subcommand, name: 'defaults', description: english('cmd.bot-admin.defaults.description') },
    {
      type: ApplicationCommandOptionType.Subcommand,
      name: 'limits',
      description: english('cmd.bot-admin.limits.description'),
      options: [
        { type: ApplicationCommandOptionType.Boolean, name: 'allow_max', description: english('cmd.bot-admin.limits.allow_max.description') },
        { type: ApplicationCommandOptionType.Integer, name: 'max_images', description: english('cmd.bot-admin.limits.max_images.description'), min_value: 1, max_value: MAX_IMAGES_PER_REQUEST },
      ],
    },
  ],
} as const satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

/** What every subcommand's handler works with: the checked server, its policies, and the private answer. */
interface PolicyCall extends AdminCall {
  readonly store: GuildPolicyStore;
  /** The server's image defaults and limits (src/preferences). */
  readonly preferences: Preferences;
  /** Logs a change of the server's policy (never the blocked terms themselves). */
  changed(detail: Record<string, unknown>): void;
}

/** The private answer, with a line in front when a record of the server could not be read and was reset. */
const answer = (call: PolicyCall, content: string): Promise<void> => replyPrivately(call.interaction, call.withNotes(content));

/** Changes the server's policy under its lock. */
async function update<T>(call: PolicyCall, change: (p: GuildPolicy) => T): Promise<{ policy: GuildPolicy; result: T }> {
  await call.beforeLockedWrite();
  const changed = await call.store.update(call.guildId, change);
  if (changed.reset) call.noteReset('policy');
  return changed;
}
const quoted = (terms: readonly string[]): string => terms.map((x) => `\`${x.replace(/`/g, "'")}\``).join(', ');

const handlers: SubcommandHandlers<typeof data, [PolicyCall]> = {
  async show(_options, call) {
    const { policy, reset } = await call.store.forAdmin(call.guildId);
    if (reset) call.noteReset('policy');
    await answer(call, renderPolicy(call.locale, policy));
  },

  async 'channels add'(options, call) {
    const channelId = channelIdOf(options.channel, call.locale);
    const { policy, result } = await update(call, (p) => {
      if (p.channels.includes(channelId)) return 'already' as const;
      if (p.channels.length >= MAX_CHANNELS) throw new UserFacingError(t(call.locale, 'policy.channels.tooMany', { max: MAX_CHANNELS }), { code: 'too_many' });
      p.channels.push(channelId);
      return 'added' as const;
    });
    if (result === 'added') call.changed({ added: channelId });
    const channel = `<#${channelId}>`;
    await answer(
      call,
      result === 'already' ? t(call.locale, 'policy.channels.already', { channel }) : t(call.locale, 'policy.channels.added', { channel, channels: channelList(call.locale, policy.channels) }),
    );
  },

  async 'channels remove'(options, call) {
    const channelId = channelIdOf(options.channel, call.locale);
    const { policy, result: had } = await update(call, (p) => {
      const had = p.channels.includes(channelId);
      p.channels = p.channels.filter((c) => c !== channelId);
      return had;
    });
    if (had) call.changed({ removed: channelId });
    const channel = `<#${channelId}>`;
    const key = !had ? 'policy.channels.notListed' : policy.channels.length === 0 ? 'policy.channels.removedLast' : 'policy.channels.removed';
    await answer(call, t(call.locale, key, { channel }));
  },

  async 'channels clear'(_options, call) {
    await update(call, (p) => {
      p.channels = [];
    });
    call.changed({ cleared: 'channels' });
    await answer(call, t(call.locale, 'policy.channels.cleared'));
  },

  async 'channels threads'({ inherit }, call) {
    await update(call, (p) => {
      p.threadsInherit = inherit;
    });
    call.changed({ threadsInherit: inherit });
    await answer(call, t(call.locale, inherit ? 'policy.threads.on' : 'policy.threads.off'));
  },

  async 'channels age-restricted'({ required }, call) {
    await update(call, (p) => {
      p.requireAgeRestricted = required;
    });
    call.changed({ requireAgeRestricted: required });
    await answer(call, t(call.locale, required ? 'policy.age.on' : 'policy.age.off'));
  },

  async 'terms add'(options, call) {
    const terms = termsOf(options.terms, call.locale);
    const { policy, result: added } = await update(call, (p) => {
      const fresh = terms.filter((term) => !p.blockedTerms.some((x) => foldText(x) === foldText(term)));
      if (p.blockedTerms.length + fresh.length > MAX_TERMS) {
        throw new UserFacingError(t(call.locale, 'policy.terms.tooMany', { max: MAX_TERMS, count: p.blockedTerms.length }), { code: 'too_many' });
      }
      p.blockedTerms.push(...fresh);
      return fresh.length;
    });
    call.changed({ termsAdded: added, terms: policy.blockedTerms.length });
    await answer(call, t(call.locale, 'policy.terms.added', { count: policy.blockedTerms.length, terms: quoted(terms) }));
  },

  async 'terms remove'(options, call) {
    const terms = termsOf(options.terms, call.locale).map(foldText);
    const { result: removed } = await update(call, (p) => {
      const removed = p.blockedTerms.filter((x) => terms.includes(foldText(x)));
      p.blockedTerms = p.blockedTerms.filter((x) => !terms.includes(foldText(x)));
      return removed;
    });
    call.changed({ termsRemoved: removed.length });
    await answer(call, removed.length === 0 ? t(call.locale, 'policy.terms.notListed') : t(call.locale, 'policy.terms.removed', { terms: quoted(removed) }));
  },

  async defaults(_options, call) {
    await call.beforeLockedWrite();
    const { settings: server, reset } = await call.preferences.serverForAdmin(call.guildId);
    const view = settingsView('server', server.defaults, call.locale, server);
    await call.interaction.editReply({ flags: MessageFlags.IsComponentsV2, components: view.components, allowedMentions: { parse: [] } });
    if (reset) await call.interaction.followUp({ content: resetNotice(call.locale, 'serverImages'), flags: MessageFlags.Ephemeral });
  },

  async limits(options, call) {
    await call.beforeLockedWrite();
    const allowMax = options.allow_max;
    const maxCount = options.max_images;
    const { settings: s, reset } = await call.preferences.updateServer(call.guildId, (x) => {
      if (allowMax !== null) x.allowMax = allowMax;
      if (maxCount !== null) x.maxCount = Math.min(MAX_IMAGES_PER_REQUEST, Math.max(1, Math.floor(maxCount)));
    });
    if (reset) call.noteReset('serverImages');
    if (allowMax !== null || maxCount !== null) call.changed({ allowMax: s.allowMax, maxImages: s.maxCount });
    await answer(call, t(call.locale, 'limits.show', { max: t(call.locale, s.allowMax ? 'settings.max.allowed' : 'settings.max.forbidden'), count: s.maxCount }));
  },

  async 'terms clear'(_options, call) {
    await update(call, (p) => {
      p.blockedTerms = [];
    });
    call.changed({ cleared: 'terms' });
    await answer(call, t(call.locale, 'policy.terms.cleared'));
  },
};

export const botAdmin: SlashCommand = {
  kind: 'slash',
  data,

  async execute(interaction, ctx) {
    const call = adminCall(interaction, ctx.acks);
    const subcommand = readSubcommand(interaction, data);
    const log = ctx.logger.child({ component: 'guild-policy', guildId: call.guildId, adminId: interaction.user.id, subcommand: subcommand.name });
    await runSubcommand(handlers, subcommand, {
      ...call,
      store: ctx.policies,
      preferences: ctx.preferences,
      changed: (detail) => log.info(detail, 'server policy changed'),
    });
  },
};

function channelIdOf(value: string, locale: Locale): string {
  if (!isSnowflake(value)) throw new UserFacingError(t(locale, 'policy.channels.invalid'), { code: 'bad_option' });
  return value;
}

function termsOf(input: string, locale: Locale): string[] {
  const parsed = parseTerms(input);
  if ('problem' in parsed) {
    const p = parsed.problem;
    throw new UserFacingError(p.kind === 'tooLong' ? t(locale, 'policy.terms.tooLong', { max: MAX_TERM_LENGTH, term: p.term }) : t(locale, 'policy.terms.empty'), { code: 'bad_option' });
  }
  if (parsed.terms.length === 0) throw new UserFacingError(t(locale, 'policy.terms.none'), { code: 'bad_option' });
  return parsed.terms;
}
