import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  InteractionContextType,
  PermissionFlagsBits,
  type APIApplicationCommandBasicOption,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import type { BotContext } from '../src/context.js';
import { adminCall, type AdminCall } from '../src/discord/admin.js';
import type { SlashCommand } from '../src/discord/command.js';
import { readSubcommand, runSubcommand, type SubcommandHandlers, type SubcommandOptions } from '../src/discord/command-options.js';
import { replyPrivately } from '../src/discord/reply.js';
import { UserFacingError } from '../src/errors.js';
import { choice, english } from '../src/i18n/commands.js';
import { t } from '../src/i18n/index.js';
import type { Logger } from '../src/logger.js';
import { MAX_LIMIT, MAX_ROLE_LIMITS, MAX_USER_OVERRIDES, MIN_LIMIT, type GuildQuotaSettings } from '../src/quota/model.js';
import type { Period } from '../src/quota/periods.js';
import { limitText, periodName, renderOverview } from '../src/quota/render.js';
import { limitOrUnlimited, periodOf, snowflakeOf, wholeLimit } from './quota-admin-input.js';
import { showUsage } from './quota-admin-usage.js';

/*
 * Server admins' quota settings. A command of its own, because `default_member_permissions` applies to a whole
 * command: under /quota it would hide the members' part too. Discord's gate is only a default that a server may
 * loosen, so the handler checks Manage Server again before it reads or changes anything.
 */

// Checked against Discord's option type where it is used: a `satisfies` here would widen `required` to boolean.
const limitOption = <const R extends boolean>(description: string, required: R) =>
  ({
    type: ApplicationCommandOptionType.Integer,
    name: 'limit',
    description,
    required,
    min_value: MIN_LIMIT,
    max_value: MAX_LIMIT,
  }) as const;

const unlimitedOption = {
  type: ApplicationCommandOptionType.Boolean,
  name: 'unlimited',
  description: english('opt.unlimited.description'),
} as const satisfies APIApplicationCommandBasicOption;

const periodOption = {
  type: ApplicationCommandOptionType.String,
  name: 'period',
  description: english('opt.period.description'),
  choices: [choice('opt.period.choice.day'), choice('opt.period.choice.week'), choice('opt.period.choice.month')],
} as const satisfies APIApplicationCommandBasicOption;

const CLEARABLE = ['default', 'role', 'user', 'server-total'] as const;
type Clearable = (typeof CLEARABLE)[number];
const isClearable = (v: string): v is Clearable => (CLEARABLE as readonly string[]).includes(v);

const data = {
  type: ApplicationCommandType.ChatInput,
  name: 'quota-admin',
  description: english('cmd.quota-admin.description'),
  default_member_permissions: PermissionFlagsBits.ManageGuild.toString(),
  contexts: [InteractionContextType.Guild],
  integration_types: [ApplicationIntegrationType.GuildInstall],
  options: [
    { type: ApplicationCommandOptionType.Subcommand, name: 'show', description: english('cmd.quota-admin.show.description') },
    {
      type: ApplicationCommandOptionType.Subcommand,
      name: 'set-default',
      description: english('cmd.quota-admin.set-default.description'),
      options: [limitOption(english('cmd.quota-admin.set-default.limit.description'), true), periodOption],
    },
    {
      type: ApplicationCommandOptionType.Subcommand,
      name: 'set-role',
      description: english('cmd.quota-admin.set-role.description'),
      options: [
        { type: ApplicationCommandOptionType.Role, name: 'role', description: english('cmd.quota-admin.set-role.role.description'), required: true },
        limitOption(english('cmd.quota-admin.set-role.limit.description'), false),
        unlimitedOption,
      ],
    },
    {
      type: ApplicationCommandOptionType.Subcommand,
      name: 'set-user',
      description: english('cmd.quota-admin.set-user.description'),
      options: [
        { type: ApplicationCommandOptionType.User, name: 'user', description: english('cmd.quota-admin.set-user.user.description'), required: true },
        limitOption(english('cmd.quota-admin.set-user.limit.description'), false),
        unlimitedOption,
      ],
    },
    {
      type: ApplicationCommandOptionType.Subcommand,
      name: 'set-server-total',
      description: english('cmd.quota-admin.set-server-total.description'),
      options: [limitOption(english('cmd.quota-admin.set-server-total.limit.description'), true)],
    },
    {
      type: ApplicationCommandOptionType.Subcommand,
      name: 'reset-user',
      description: english('cmd.quota-admin.reset-user.description'),
      options: [{ type: ApplicationCommandOptionType.User, name: 'user', description: english('cmd.quota-admin.reset-user.user.description'), required: true }],
    },
    {
      type: ApplicationCommandOptionType.Subcommand,
      name: 'clear',
      description: english('cmd.quota-admin.clear.description'),
      options: [
        {
          type: ApplicationCommandOptionType.String,
          name: 'what',
          description: english('cmd.quota-admin.clear.what.description'),
          required: true,
          choices: [
            choice('cmd.quota-admin.clear.what.choice.default'),
            choice('cmd.quota-admin.clear.what.choice.role'),
            choice('cmd.quota-admin.clear.what.choice.user'),
            choice('cmd.quota-admin.clear.what.choice.server-total'),
          ],
        },
        { type: ApplicationCommandOptionType.Role, name: 'role', description: english('cmd.quota-admin.clear.role.description') },
        { type: ApplicationCommandOptionType.User, name: 'user', description: english('cmd.quota-admin.clear.user.description') },
      ],
    },
    {
      type: ApplicationCommandOptionType.Subcommand,
      name: 'usage',
      description: english('cmd.quota-admin.usage.description'),
      options: [
        {
          type: ApplicationCommandOptionType.String,
          name: 'period',
          description: english('cmd.quota-admin.usage.period.description'),
          choices: [choice('cmd.quota-admin.usage.period.choice.7d'), choice('cmd.quota-admin.usage.period.choice.30d'), choice('cmd.quota-admin.usage.period.choice.90d')],
        },
      ],
    },
  ],
} as const satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

/** What every subcommand's handler works with: the checked server, the bot's services and the private answer. */
interface QuotaCall extends AdminCall {
  readonly ctx: BotContext;
  readonly log: Logger;
}

/** The private answer, with a line in front when the server's settings could not be read and were reset. */
const answer = (call: QuotaCall, content: string): Promise<void> => replyPrivately(call.interaction, call.withNotes(content));

/** Changes the server's settings under their lock and logs what changed. */
async function update(call: QuotaCall, change: (s: GuildQuotaSettings) => void, detail: Record<string, unknown>): Promise<GuildQuotaSettings> {
  await call.beforeLockedWrite();
  const { settings, reset } = await call.ctx.quota.settings.update(call.guildId, change);
  if (reset) call.noteReset('quotaSettings');
  call.log.info(detail, 'quota settings changed');
  return settings;
}

async function currentPeriod(call: QuotaCall): Promise<Period> {
  const { settings, reset } = await call.ctx.quota.settings.forAdmin(call.guildId);
  if (reset) call.noteReset('quotaSettings');
  return settings.period ?? call.ctx.config.quotaDefaultPeriod;
}

const handlers: SubcommandHandlers<typeof data, [QuotaCall]> = {
  async show(_options, call) {
    const overview = await call.ctx.quota.overview(call.guildId);
    if (overview.reset) call.noteReset('quotaSettings');
    await answer(call, renderOverview(call.locale, overview, call.ctx.quota.weights));
  },

  usage: ({ period }, call) => showUsage(period, call),

  async 'set-default'(options, call) {
    const { locale } = call;
    const limit = wholeLimit(locale, options.limit);
    const period = periodOf(locale, options.period);
    const s = await update(call, (s) => {
      s.defaultLimit = limit;
      if (period !== undefined) s.period = period;
    }, { limit, period });
    const current = s.period ?? call.ctx.config.quotaDefaultPeriod;
    await answer(call, t(locale, 'qa.setDefault.done', { limit: limitText(locale, limit, current) }) + (period !== undefined ? t(locale, 'qa.setDefault.freshCount') : ''));
  },

  async 'set-role'(options, call) {
    const { locale } = call;
    const roleId = snowflakeOf(locale, options.role, 'role');
    const limit = limitOrUnlimited(locale, options.limit, options.unlimited);
    await update(call, (s) => {
      if (s.roles[roleId] === undefined && Object.keys(s.roles).length >= MAX_ROLE_LIMITS) {
        throw new UserFacingError(t(locale, 'qa.setRole.tooMany', { max: MAX_ROLE_LIMITS }), { code: 'too_many' });
      }
      s.roles[roleId] = limit;
    }, { roleId, limit });
    await answer(call, t(locale, 'qa.setRole.done', { role: `<@&${roleId}>`, limit: limitText(locale, limit, await currentPeriod(call)) }));
  },

  async 'set-user'(options, call) {
    const { locale } = call;
    const userId = snowflakeOf(locale, options.user, 'user');
    const limit = limitOrUnlimited(locale, options.limit, options.unlimited);
    await update(call, (s) => {
      if (s.users[userId] === undefined && Object.keys(s.users).length >= MAX_USER_OVERRIDES) {
        throw new UserFacingError(t(locale, 'qa.setUser.tooMany', { max: MAX_USER_OVERRIDES }), { code: 'too_many' });
      }
      s.users[userId] = limit;
    }, { userId, limit });
    await answer(call, t(locale, 'qa.setUser.done', { user: `<@${userId}>`, limit: limitText(locale, limit, await currentPeriod(call)) }));
  },

  async 'set-server-total'(options, call) {
    const limit = wholeLimit(call.locale, options.limit);
    await update(call, (s) => {
      s.serverTotal = limit;
    }, { serverTotal: limit });
    await answer(call, t(call.locale, 'qa.setTotal.done', { limit, period: periodName(call.locale, await currentPeriod(call)) }));
  },

  async 'reset-user'(options, call) {
    const userId = snowflakeOf(call.locale, options.user, 'user');
    await call.beforeLockedWrite();
    await currentPeriod(call); // settings that could not be read start again from the defaults here, and the answer says so
    const was = await call.ctx.quota.resetUser(call.guildId, userId);
    call.log.info({ userId, was }, 'quota usage reset');
    await answer(call, t(call.locale, 'qa.reset.done', { user: `<@${userId}>`, was }));
  },

  async clear(options, call) {
    if (!isClearable(options.what)) {
      throw new UserFacingError(t(call.locale, 'qa.clear.badWhat', { list: CLEARABLE.join(', ') }), { code: 'bad_option' });
    }
    await answer(call, await clearers[options.what](options, call));
  },
};

/** `/quota-admin clear what:…`: removes one setting and says what applies now. */
const clearers: Record<Clearable, (options: SubcommandOptions<typeof data, 'clear'>, call: QuotaCall) => Promise<string>> = {
  async default(_options, call) {
    await update(call, (s) => {
      delete s.defaultLimit;
      delete s.period;
    }, { cleared: 'default' });
    const { quotaDefaultLimit, quotaDefaultPeriod } = call.ctx.config;
    return t(call.locale, 'qa.clear.default', { limit: limitText(call.locale, quotaDefaultLimit, quotaDefaultPeriod) });
  },

  async role(options, call) {
    if (options.role === null) throw new UserFacingError(t(call.locale, 'qa.clear.whichRole'), { code: 'bad_option' });
    const roleId = snowflakeOf(call.locale, options.role, 'role');
    let had = false;
    await update(call, (s) => {
      had = s.roles[roleId] !== undefined;
      delete s.roles[roleId];
    }, { cleared: 'role', roleId });
    return t(call.locale, had ? 'qa.clear.role' : 'qa.clear.roleNone', { role: `<@&${roleId}>` });
  },

  async user(options, call) {
    if (options.user === null) throw new UserFacingError(t(call.locale, 'qa.clear.whichUser'), { code: 'bad_option' });
    const userId = snowflakeOf(call.locale, options.user, 'user');
    let had = false;
    await update(call, (s) => {
      had = s.users[userId] !== undefined;
      delete s.users[userId];
    }, { cleared: 'user', userId });
    return t(call.locale, had ? 'qa.clear.user' : 'qa.clear.userNone', { user: `<@${userId}>` });
  },

  async 'server-total'(_options, call) {
    await update(call, (s) => {
      delete s.serverTotal;
    }, { cleared: 'server-total' });
    return t(call.locale, 'qa.clear.total');
  },
};

export const quotaAdmin: SlashCommand = {
  kind: 'slash',
  data,

  async execute(interaction, ctx) {
    const call = adminCall(interaction, ctx.acks);
    const subcommand = readSubcommand(interaction, data);
    const { guildId } = call;
    await runSubcommand(handlers, subcommand, {
      ...call,
      ctx,
      log: ctx.logger.child({ component: 'quota', guildId, adminId: interaction.user.id, subcommand: subcommand.name }),
    });
  },
};
