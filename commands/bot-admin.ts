import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  ChannelType,
  InteractionContextType,
  MessageFlags,
  PermissionFlagsBits,
  type APIApplicationCommandChannelOption,
  type ChatInputCommandInteraction,
} from 'discord.js';
import type { SlashCommand } from '../src/discord/command.js';
import { requireManageGuild } from '../src/discord/admin.js';
import { UserFacingError } from '../src/errors.js';
import { MAX_CHANNELS } from '../src/guild-settings/model.js';
import { channelList, renderPolicy } from '../src/guild-settings/render.js';
import { GuildPolicyStore } from '../src/guild-settings/store.js';
import { foldText, MAX_TERM_LENGTH, MAX_TERMS, parseTerms } from '../src/guild-settings/terms.js';
import { t } from '../src/i18n/index.js';

/*
 * /bot-admin: where members may use the bot on a server and which words it refuses in prompts. A sibling of
 * /quota-admin with the same gate (Manage Server, hidden by default and checked again by the bot).
 */

const CHANNEL_TYPES: APIApplicationCommandChannelOption['channel_types'] = [ChannelType.GuildText, ChannelType.GuildAnnouncement, ChannelType.GuildForum, ChannelType.GuildVoice, ChannelType.GuildStageVoice, ChannelType.GuildMedia];

const channelOption: APIApplicationCommandChannelOption = {
  type: ApplicationCommandOptionType.Channel,
  name: 'channel',
  description: 'The channel',
  required: true,
  channel_types: CHANNEL_TYPES,
};

export const botAdmin: SlashCommand = {
  kind: 'slash',
  data: {
    type: ApplicationCommandType.ChatInput,
    name: 'bot-admin',
    description: 'Where the bot may be used on this server, and words it refuses (Manage Server)',
    default_member_permissions: PermissionFlagsBits.ManageGuild.toString(),
    contexts: [InteractionContextType.Guild],
    integration_types: [ApplicationIntegrationType.GuildInstall],
    options: [
      { type: ApplicationCommandOptionType.Subcommand, name: 'show', description: "Show this server's channel and blocked-term settings" },
      {
        type: ApplicationCommandOptionType.SubcommandGroup,
        name: 'channels',
        description: 'Channels where members may use the bot',
        options: [
          { type: ApplicationCommandOptionType.Subcommand, name: 'add', description: 'Allow the bot in a channel (once any is listed, only listed channels work)', options: [channelOption] },
          { type: ApplicationCommandOptionType.Subcommand, name: 'remove', description: 'Take a channel off the list', options: [channelOption] },
          { type: ApplicationCommandOptionType.Subcommand, name: 'clear', description: 'Empty the list: the bot works in every channel' },
          {
            type: ApplicationCommandOptionType.Subcommand,
            name: 'threads',
            description: 'Whether threads follow their channel (default yes)',
            options: [{ type: ApplicationCommandOptionType.Boolean, name: 'inherit', description: 'Yes: a thread is allowed where its channel is. No: never in threads', required: true }],
          },
          {
            type: ApplicationCommandOptionType.Subcommand,
            name: 'age-restricted',
            description: 'Require age-restricted channels for the bot on this server',
            options: [{ type: ApplicationCommandOptionType.Boolean, name: 'required', description: 'Yes: only age-restricted channels', required: true }],
          },
        ],
      },
      {
        type: ApplicationCommandOptionType.SubcommandGroup,
        name: 'terms',
        description: 'Words and phrases the bot refuses in prompts on this server',
        options: [
          {
            type: ApplicationCommandOptionType.Subcommand,
            name: 'add',
            description: 'Block words or phrases (separate several with commas)',
            options: [{ type: ApplicationCommandOptionType.String, name: 'terms', description: 'For example: gore, real person', required: true, max_length: 1000 }],
          },
          {
            type: ApplicationCommandOptionType.Subcommand,
            name: 'remove',
            description: 'Unblock words or phrases (separate several with commas)',
            options: [{ type: ApplicationCommandOptionType.String, name: 'terms', description: 'The terms to unblock', required: true, max_length: 1000 }],
          },
          { type: ApplicationCommandOptionType.Subcommand, name: 'clear', description: 'Remove every blocked term' },
        ],
      },
    ],
  },

  async execute(interaction, ctx) {
    const guildId = requireManageGuild(interaction);
    const locale = interaction.locale;
    const store = new GuildPolicyStore(ctx.storage);
    const group = interaction.options.getSubcommandGroup(false);
    const sub = interaction.options.getSubcommand(true);
    const log = ctx.logger.child({ component: 'guild-policy', guildId, adminId: interaction.user.id, subcommand: group ? `${group} ${sub}` : sub });
    const reply = async (content: string): Promise<void> => {
      await interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } });
    };
    const changed = (detail: Record<string, unknown>): void => log.info(detail, 'server policy changed');

    if (group === null && sub === 'show') {
      await reply(renderPolicy(locale, await store.get(guildId)));
      return;
    }
    if (group === 'channels') {
      switch (sub) {
        case 'add': {
          const channelId = readChannel(interaction);
          const { policy, result } = await store.update(guildId, (p) => {
            if (p.channels.includes(channelId)) return 'already' as const;
            if (p.channels.length >= MAX_CHANNELS) throw new UserFacingError(t(locale, 'policy.channels.tooMany', { max: MAX_CHANNELS }), { code: 'too_many' });
            p.channels.push(channelId);
            return 'added' as const;
          });
          if (result === 'added') changed({ added: channelId });
          await reply(
            result === 'already'
              ? t(locale, 'policy.channels.already', { channel: `<#${channelId}>` })
              : t(locale, 'policy.channels.added', { channel: `<#${channelId}>`, channels: channelList(locale, policy.channels) }),
          );
          return;
        }
        case 'remove': {
          const channelId = readChannel(interaction);
          const { policy, result } = await store.update(guildId, (p) => {
            const had = p.channels.includes(channelId);
            p.channels = p.channels.filter((c) => c !== channelId);
            return had;
          });
          if (result) changed({ removed: channelId });
          const channel = `<#${channelId}>`;
          await reply(!result ? t(locale, 'policy.channels.notListed', { channel }) : policy.channels.length === 0 ? t(locale, 'policy.channels.removedLast', { channel }) : t(locale, 'policy.channels.removed', { channel }));
          return;
        }
        case 'clear':
          await store.update(guildId, (p) => {
            p.channels = [];
          });
          changed({ cleared: 'channels' });
          await reply(t(locale, 'policy.channels.cleared'));
          return;
        case 'threads': {
          const inherit = interaction.options.getBoolean('inherit', true);
          await store.update(guildId, (p) => {
            p.threadsInherit = inherit;
          });
          changed({ threadsInherit: inherit });
          await reply(t(locale, inherit ? 'policy.threads.on' : 'policy.threads.off'));
          return;
        }
        case 'age-restricted': {
          const required = interaction.options.getBoolean('required', true);
          await store.update(guildId, (p) => {
            p.requireAgeRestricted = required;
          });
          changed({ requireAgeRestricted: required });
          await reply(t(locale, required ? 'policy.age.on' : 'policy.age.off'));
          return;
        }
      }
    }
    if (group === 'terms') {
      switch (sub) {
        case 'add': {
          const terms = readTerms(interaction);
          const { policy, result } = await store.update(guildId, (p) => {
            const fresh = terms.filter((term) => !p.blockedTerms.some((x) => foldText(x) === foldText(term)));
            if (p.blockedTerms.length + fresh.length > MAX_TERMS) {
              throw new UserFacingError(t(locale, 'policy.terms.tooMany', { max: MAX_TERMS, count: p.blockedTerms.length }), { code: 'too_many' });
            }
            p.blockedTerms.push(...fresh);
            return fresh.length;
          });
          // The terms themselves stay out of the logs: only how many.
          changed({ termsAdded: result, terms: policy.blockedTerms.length });
          await reply(t(locale, 'policy.terms.added', { count: policy.blockedTerms.length, terms: terms.map((x) => `\`${x.replace(/`/g, "'")}\``).join(', ') }));
          return;
        }
        case 'remove': {
          const terms = readTerms(interaction).map(foldText);
          const { result } = await store.update(guildId, (p) => {
            const removed = p.blockedTerms.filter((x) => terms.includes(foldText(x)));
            p.blockedTerms = p.blockedTerms.filter((x) => !terms.includes(foldText(x)));
            return removed;
          });
          changed({ termsRemoved: result.length });
          await reply(result.length === 0 ? t(locale, 'policy.terms.notListed') : t(locale, 'policy.terms.removed', { terms: result.map((x) => `\`${x.replace(/`/g, "'")}\``).join(', ') }));
          return;
        }
        case 'clear':
          await store.update(guildId, (p) => {
            p.blockedTerms = [];
          });
          changed({ cleared: 'terms' });
          await reply(t(locale, 'policy.terms.cleared'));
          return;
      }
    }
    throw new UserFacingError(t(locale, 'common.unknownSubcommand', { name: group ? `${group} ${sub}` : sub }), { code: 'bad_option' });
  },
};

function readChannel(interaction: ChatInputCommandInteraction): string {
  const value = interaction.options.get('channel', true).value;
  if (typeof value !== 'string' || !/^\d{17,20}$/.test(value)) throw new UserFacingError(t(interaction.locale, 'policy.channels.invalid'), { code: 'bad_option' });
  return value;
}

function readTerms(interaction: ChatInputCommandInteraction): string[] {
  const parsed = parseTerms(interaction.options.getString('terms', true));
  if ('problem' in parsed) {
    const p = parsed.problem;
    throw new UserFacingError(p.kind === 'tooLong' ? t(interaction.locale, 'policy.terms.tooLong', { max: MAX_TERM_LENGTH, term: p.term }) : t(interaction.locale, 'policy.terms.empty'), { code: 'bad_option' });
  }
  if (parsed.terms.length === 0) throw new UserFacingError(t(interaction.locale, 'policy.terms.none'), { code: 'bad_option' });
  return parsed.terms;
}
