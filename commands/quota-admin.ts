import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  InteractionContextType,
  MessageFlags,
  PermissionFlagsBits,
  type APIApplicationCommandBasicOption,
  type ChatInputCommandInteraction,
} from 'discord.js';
import type { SlashCommand } from '../src/discord/command.js';
import { truncate } from '../src/discord/render.js';
import { UserFacingError } from '../src/errors.js';
import { describeLimit, limitProblem, MAX_LIMIT, MAX_ROLE_LIMITS, MAX_USER_OVERRIDES, MIN_LIMIT, type GuildQuotaSettings, type Limit } from '../src/quota/model.js';
import { isPeriod, PERIODS, type Period } from '../src/quota/periods.js';
import { renderOverview } from '../src/quota/render.js';

/*
 * Server admins' quota settings. A command of its own, because `default_member_permissions` applies to a whole
 * command: under /quota it would hide the members' part too. Discord's gate is only a default that a server may
 * loosen, so the handler checks Manage Server again before it reads or changes anything.
 */

const limitOption = (description: string, required = false): APIApplicationCommandBasicOption => ({
  type: ApplicationCommandOptionType.Integer,
  name: 'limit',
  description,
  required,
  min_value: MIN_LIMIT,
  max_value: MAX_LIMIT,
});

const unlimitedOption: APIApplicationCommandBasicOption = {
  type: ApplicationCommandOptionType.Boolean,
  name: 'unlimited',
  description: 'No limit at all (instead of a number)',
};

const periodOption: APIApplicationCommandBasicOption = {
  type: ApplicationCommandOptionType.String,
  name: 'period',
  description: 'How often the quota resets (UTC); leave empty to keep the current period',
  choices: [
    { name: 'day · resets at 00:00 UTC', value: 'day' },
    { name: 'week · resets Monday 00:00 UTC', value: 'week' },
    { name: 'month · resets on the 1st, 00:00 UTC', value: 'month' },
  ],
};

const CLEARABLE = ['default', 'role', 'user', 'server-total'] as const;
type Clearable = (typeof CLEARABLE)[number];

export const quotaAdmin: SlashCommand = {
  kind: 'slash',
  data: {
    type: ApplicationCommandType.ChatInput,
    name: 'quota-admin',
    description: "Set this server's image quotas (Manage Server)",
    default_member_permissions: PermissionFlagsBits.ManageGuild.toString(),
    contexts: [InteractionContextType.Guild],
    integration_types: [ApplicationIntegrationType.GuildInstall],
    options: [
      { type: ApplicationCommandOptionType.Subcommand, name: 'show', description: "Show this server's quota settings" },
      {
        type: ApplicationCommandOptionType.Subcommand,
        name: 'set-default',
        description: 'Set how many units a member gets per period when no role limit or override applies',
        options: [limitOption('Units per period (0 turns images off for members without a role limit)', true), periodOption],
      },
      {
        type: ApplicationCommandOptionType.Subcommand,
        name: 'set-role',
        description: "Set a role's limit; a member gets the most generous of their roles' limits",
        options: [
          { type: ApplicationCommandOptionType.Role, name: 'role', description: 'The role', required: true },
          limitOption('Units per period for members with this role'),
          unlimitedOption,
        ],
      },
      {
        type: ApplicationCommandOptionType.Subcommand,
        name: 'set-user',
        description: "Override one member's limit (beats their roles and the default)",
        options: [
          { type: ApplicationCommandOptionType.User, name: 'user', description: 'The member', required: true },
          limitOption('Units per period for this member'),
          unlimitedOption,
        ],
      },
      {
        type: ApplicationCommandOptionType.Subcommand,
        name: 'set-server-total',
        description: 'Cap the units the whole server may use per period, shared by everyone',
        options: [limitOption('Units per period for the whole server', true)],
      },
      {
        type: ApplicationCommandOptionType.Subcommand,
        name: 'reset-user',
        description: "Set a member's use this period back to zero",
        options: [{ type: ApplicationCommandOptionType.User, name: 'user', description: 'The member', required: true }],
      },
      {
        type: ApplicationCommandOptionType.Subcommand,
        name: 'clear',
        description: 'Remove a setting so the one below it applies again',
        options: [
          {
            type: ApplicationCommandOptionType.String,
            name: 'what',
            description: 'Which setting to remove',
            required: true,
            choices: [
              { name: "default · back to the bot's default limit and period", value: 'default' },
              { name: 'role · a role limit (give the role)', value: 'role' },
              { name: "user · a member's override (give the user)", value: 'user' },
              { name: 'server-total · no server-wide cap', value: 'server-total' },
            ],
          },
          { type: ApplicationCommandOptionType.Role, name: 'role', description: 'The role, for what: role' },
          { type: ApplicationCommandOptionType.User, name: 'user', description: 'The member, for what: user' },
        ],
      },
    ],
  },

  async execute(interaction, ctx) {
    if (!interaction.inGuild()) throw new UserFacingError('/quota-admin works in a server only.', { code: 'guild_only' });
    if (!interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild)) {
      throw new UserFacingError('Only members with the Manage Server permission can change quotas. Nothing was changed. Use /quota to see your own.', { code: 'not_admin' });
    }
    const service = ctx.quota;
    const guildId = interaction.guildId;
    const sub = interaction.options.getSubcommand(true);
    const log = ctx.logger.child({ component: 'quota', guildId, adminId: interaction.user.id, subcommand: sub });
    const reply = async (content: string): Promise<void> => {
      await interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } });
    };
    const update = async (change: (s: GuildQuotaSettings) => void, detail: Record<string, unknown>): Promise<GuildQuotaSettings> => {
      const s = await service.settings.update(guildId, change);
      log.info(detail, 'quota settings changed');
      return s;
    };

    switch (sub) {
      case 'show': {
        await reply(renderOverview(await service.overview(guildId), service.weights));
        return;
      }
      case 'set-default': {
        const limit = readLimit(interaction, { allowUnlimited: false }) as number;
        const period = readPeriod(interaction);
        const s = await update((s) => {
          s.defaultLimit = limit;
          if (period !== undefined) s.period = period;
        }, { limit, period });
        const current = s.period ?? ctx.config.quotaDefaultPeriod;
        await reply(
          `Members now get **${describeLimit(limit, current)}** unless a role limit or an override says otherwise.` +
            (period !== undefined ? ' Changing the period starts a fresh count for everyone.' : ''),
        );
        return;
      }
      case 'set-role': {
        const role = { id: readId(interaction, 'role') };
        const limit = readLimit(interaction, { allowUnlimited: true });
        await update((s) => {
          if (s.roles[role.id] === undefined && Object.keys(s.roles).length >= MAX_ROLE_LIMITS) {
            throw new UserFacingError(`This server already has ${MAX_ROLE_LIMITS} role limits. Clear one first.`, { code: 'too_many' });
          }
          s.roles[role.id] = limit;
        }, { roleId: role.id, limit });
        await reply(`Members with <@&${role.id}> now get **${describeLimit(limit, await currentPeriod())}** (the most generous of a member's role limits applies, instead of the default).`);
        return;
      }
      case 'set-user': {
        const user = { id: readId(interaction, 'user') };
        const limit = readLimit(interaction, { allowUnlimited: true });
        await update((s) => {
          if (s.users[user.id] === undefined && Object.keys(s.users).length >= MAX_USER_OVERRIDES) {
            throw new UserFacingError(`This server already has ${MAX_USER_OVERRIDES} member overrides. Clear some first.`, { code: 'too_many' });
          }
          s.users[user.id] = limit;
        }, { userId: user.id, limit });
        await reply(`<@${user.id}> now gets **${describeLimit(limit, await currentPeriod())}**, whatever their roles.`);
        return;
      }
      case 'set-server-total': {
        const limit = readLimit(interaction, { allowUnlimited: false }) as number;
        await update((s) => {
          s.serverTotal = limit;
        }, { serverTotal: limit });
        await reply(`The whole server may now use **${limit}** units per ${await currentPeriod()}, shared by every member (unlimited ones included).`);
        return;
      }
      case 'reset-user': {
        const user = { id: readId(interaction, 'user') };
        const was = await service.resetUser(guildId, user.id);
        log.info({ userId: user.id, was }, 'quota usage reset');
        await reply(`<@${user.id}>'s use this period is back to 0 (it was ${was}). The server total still counts what was used.`);
        return;
      }
      case 'clear': {
        const what = interaction.options.getString('what', true);
        if (!(CLEARABLE as readonly string[]).includes(what)) {
          throw new UserFacingError(`"what" must be one of ${CLEARABLE.join(', ')}.`, { code: 'bad_option' });
        }
        await reply(await clear(what as Clearable));
        return;
      }
      default:
        throw new UserFacingError(`Unknown subcommand "${sub}".`, { code: 'bad_option' });
    }

    async function currentPeriod(): Promise<Period> {
      return (await service.settings.get(guildId)).period ?? ctx.config.quotaDefaultPeriod;
    }

    async function clear(what: Clearable): Promise<string> {
      switch (what) {
        case 'default':
          await update((s) => {
            delete s.defaultLimit;
            delete s.period;
          }, { cleared: what });
          return `The server's default is cleared: members without a role limit or override now get the bot's default, **${describeLimit(ctx.config.quotaDefaultLimit, ctx.config.quotaDefaultPeriod)}**.`;
        case 'role': {
          const role = optionalId(interaction, 'role');
          if (!role) throw new UserFacingError('Say which role: /quota-admin clear what:role role:@Role.', { code: 'bad_option' });
          let had = false;
          await update((s) => {
            had = s.roles[role.id] !== undefined;
            delete s.roles[role.id];
          }, { cleared: what, roleId: role.id });
          return had ? `<@&${role.id}> no longer has a limit of its own.` : `<@&${role.id}> had no limit of its own; nothing changed.`;
        }
        case 'user': {
          const user = optionalId(interaction, 'user');
          if (!user) throw new UserFacingError('Say which member: /quota-admin clear what:user user:@member.', { code: 'bad_option' });
          let had = false;
          await update((s) => {
            had = s.users[user.id] !== undefined;
            delete s.users[user.id];
          }, { cleared: what, userId: user.id });
          return had ? `<@${user.id}> no longer has an override; their roles or the default apply.` : `<@${user.id}> had no override; nothing changed.`;
        }
        case 'server-total':
          await update((s) => {
            delete s.serverTotal;
          }, { cleared: what });
          return 'The server-wide total is removed: only each member’s own limit applies.';
      }
    }
  },
};

/**
 * The id a role or user option carries. Only the id is needed, so it is read from the option itself rather than
 * from the resolved role/user objects (which discord.js requires for getRole/getUser).
 */
function readId(interaction: ChatInputCommandInteraction, name: 'role' | 'user'): string {
  const found = optionalId(interaction, name);
  if (!found) throw new UserFacingError(`Say which ${name === 'role' ? 'role' : 'member'}. Nothing was changed.`, { code: 'bad_option' });
  return found.id;
}

function optionalId(interaction: ChatInputCommandInteraction, name: 'role' | 'user'): { id: string } | undefined {
  const value = interaction.options.get(name)?.value;
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !/^\d{17,20}$/.test(value)) {
    throw new UserFacingError(`That is not a ${name === 'role' ? 'role' : 'member'} of this server. Nothing was changed.`, { code: 'bad_option' });
  }
  return { id: value };
}

/** The `limit` / `unlimited` pair: exactly one of them, the number a whole number within bounds. */
function readLimit(interaction: ChatInputCommandInteraction, opts: { allowUnlimited: boolean }): Limit {
  const value = interaction.options.getInteger('limit');
  const unlimited = opts.allowUnlimited ? interaction.options.getBoolean('unlimited') : null;
  if (unlimited === true && value !== null) {
    throw new UserFacingError('Give either a limit or unlimited:True, not both. Nothing was changed.', { code: 'bad_option' });
  }
  if (unlimited === true) return 'unlimited';
  if (value === null) {
    throw new UserFacingError(
      opts.allowUnlimited ? 'Give a limit (a whole number of units) or unlimited:True. Nothing was changed.' : 'Give a limit (a whole number of units). Nothing was changed.',
      { code: 'bad_option' },
    );
  }
  const problem = limitProblem(value);
  if (problem) throw new UserFacingError(`${problem} Nothing was changed.`, { code: 'bad_option' });
  return value;
}

function readPeriod(interaction: ChatInputCommandInteraction): Period | undefined {
  const raw = interaction.options.getString('period');
  if (raw === null) return undefined;
  if (!isPeriod(raw)) throw new UserFacingError(`The period must be one of ${PERIODS.join(', ')} (got "${truncate(raw, 20)}"). Nothing was changed.`, { code: 'bad_option' });
  return raw;
}
