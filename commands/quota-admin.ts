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
import type { BotContext } from '../src/context.js';
import { requireManageGuild } from '../src/discord/admin.js';
import type { SlashCommand } from '../src/discord/command.js';
import { truncate } from '../src/discord/render.js';
import { UserFacingError } from '../src/errors.js';
import { languageOf, t } from '../src/i18n/index.js';
import { renderUsageChart } from '../src/quota/chart.js';
import { limitProblem, MAX_LIMIT, MAX_ROLE_LIMITS, MAX_USER_OVERRIDES, MIN_LIMIT, type GuildQuotaSettings, type Limit } from '../src/quota/model.js';
import { isPeriod, PERIODS, type Period } from '../src/quota/periods.js';
import { formatUsd, e4ToUsd } from '../src/quota/pricing.js';
import { limitText, periodName, renderOverview } from '../src/quota/render.js';
import { summarize, usageCsv } from '../src/quota/usage-report.js';
import { OTHERS, USAGE_KEEP_DAYS } from '../src/quota/usage.js';

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

/** `/quota-admin usage period:` choices, in days (at most the days kept, USAGE_KEEP_DAYS). */
const USAGE_PERIODS = { '7d': 7, '30d': 30, '90d': 90 } as const satisfies Record<string, number>;
type UsagePeriod = keyof typeof USAGE_PERIODS;
const isUsagePeriod = (v: string): v is UsagePeriod => Object.hasOwn(USAGE_PERIODS, v) && USAGE_PERIODS[v as UsagePeriod] <= USAGE_KEEP_DAYS;

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
      {
        type: ApplicationCommandOptionType.Subcommand,
        name: 'usage',
        description: "Chart and CSV of this server's use per day, by model and member",
        options: [
          {
            type: ApplicationCommandOptionType.String,
            name: 'period',
            description: 'Which days to show (default: the last 30)',
            choices: [
              { name: 'last 7 days', value: '7d' },
              { name: 'last 30 days', value: '30d' },
              { name: 'last 90 days', value: '90d' },
            ],
          },
        ],
      },
    ],
  },

  async execute(interaction, ctx) {
    const guildId = requireManageGuild(interaction);
    const locale = interaction.locale;
    const service = ctx.quota;
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
        await reply(renderOverview(locale, await service.overview(guildId), service.weights));
        return;
      }
      case 'usage':
        await usage(interaction, ctx, guildId);
        return;
      case 'set-default': {
        const limit = readLimit(interaction, { allowUnlimited: false }) as number;
        const period = readPeriod(interaction);
        const s = await update((s) => {
          s.defaultLimit = limit;
          if (period !== undefined) s.period = period;
        }, { limit, period });
        const current = s.period ?? ctx.config.quotaDefaultPeriod;
        await reply(t(locale, 'qa.setDefault.done', { limit: limitText(locale, limit, current) }) + (period !== undefined ? t(locale, 'qa.setDefault.freshCount') : ''));
        return;
      }
      case 'set-role': {
        const role = { id: readId(interaction, 'role') };
        const limit = readLimit(interaction, { allowUnlimited: true });
        await update((s) => {
          if (s.roles[role.id] === undefined && Object.keys(s.roles).length >= MAX_ROLE_LIMITS) {
            throw new UserFacingError(t(locale, 'qa.setRole.tooMany', { max: MAX_ROLE_LIMITS }), { code: 'too_many' });
          }
          s.roles[role.id] = limit;
        }, { roleId: role.id, limit });
        await reply(t(locale, 'qa.setRole.done', { role: `<@&${role.id}>`, limit: limitText(locale, limit, await currentPeriod()) }));
        return;
      }
      case 'set-user': {
        const user = { id: readId(interaction, 'user') };
        const limit = readLimit(interaction, { allowUnlimited: true });
        await update((s) => {
          if (s.users[user.id] === undefined && Object.keys(s.users).length >= MAX_USER_OVERRIDES) {
            throw new UserFacingError(t(locale, 'qa.setUser.tooMany', { max: MAX_USER_OVERRIDES }), { code: 'too_many' });
          }
          s.users[user.id] = limit;
        }, { userId: user.id, limit });
        await reply(t(locale, 'qa.setUser.done', { user: `<@${user.id}>`, limit: limitText(locale, limit, await currentPeriod()) }));
        return;
      }
      case 'set-server-total': {
        const limit = readLimit(interaction, { allowUnlimited: false }) as number;
        await update((s) => {
          s.serverTotal = limit;
        }, { serverTotal: limit });
        await reply(t(locale, 'qa.setTotal.done', { limit, period: periodName(locale, await currentPeriod()) }));
        return;
      }
      case 'reset-user': {
        const user = { id: readId(interaction, 'user') };
        const was = await service.resetUser(guildId, user.id);
        log.info({ userId: user.id, was }, 'quota usage reset');
        await reply(t(locale, 'qa.reset.done', { user: `<@${user.id}>`, was }));
        return;
      }
      case 'clear': {
        const what = interaction.options.getString('what', true);
        if (!(CLEARABLE as readonly string[]).includes(what)) {
          throw new UserFacingError(t(locale, 'qa.clear.badWhat', { list: CLEARABLE.join(', ') }), { code: 'bad_option' });
        }
        await reply(await clear(what as Clearable));
        return;
      }
      default:
        throw new UserFacingError(t(locale, 'common.unknownSubcommand', { name: sub }), { code: 'bad_option' });
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
          return t(locale, 'qa.clear.default', { limit: limitText(locale, ctx.config.quotaDefaultLimit, ctx.config.quotaDefaultPeriod) });
        case 'role': {
          const role = optionalId(interaction, 'role');
          if (!role) throw new UserFacingError(t(locale, 'qa.clear.whichRole'), { code: 'bad_option' });
          let had = false;
          await update((s) => {
            had = s.roles[role.id] !== undefined;
            delete s.roles[role.id];
          }, { cleared: what, roleId: role.id });
          return t(locale, had ? 'qa.clear.role' : 'qa.clear.roleNone', { role: `<@&${role.id}>` });
        }
        case 'user': {
          const user = optionalId(interaction, 'user');
          if (!user) throw new UserFacingError(t(locale, 'qa.clear.whichUser'), { code: 'bad_option' });
          let had = false;
          await update((s) => {
            had = s.users[user.id] !== undefined;
            delete s.users[user.id];
          }, { cleared: what, userId: user.id });
          return t(locale, had ? 'qa.clear.user' : 'qa.clear.userNone', { user: `<@${user.id}>` });
        }
        case 'server-total':
          await update((s) => {
            delete s.serverTotal;
          }, { cleared: what });
          return t(locale, 'qa.clear.total');
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
  if (!found) throw new UserFacingError(t(interaction.locale, name === 'role' ? 'qa.input.whichRole' : 'qa.input.whichMember'), { code: 'bad_option' });
  return found.id;
}

function optionalId(interaction: ChatInputCommandInteraction, name: 'role' | 'user'): { id: string } | undefined {
  const value = interaction.options.get(name)?.value;
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !/^\d{17,20}$/.test(value)) {
    throw new UserFacingError(t(interaction.locale, name === 'role' ? 'qa.input.notRole' : 'qa.input.notMember'), { code: 'bad_option' });
  }
  return { id: value };
}

/** The `limit` / `unlimited` pair: exactly one of them, the number a whole number within bounds. */
function readLimit(interaction: ChatInputCommandInteraction, opts: { allowUnlimited: boolean }): Limit {
  const value = interaction.options.getInteger('limit');
  const unlimited = opts.allowUnlimited ? interaction.options.getBoolean('unlimited') : null;
  if (unlimited === true && value !== null) {
    throw new UserFacingError(t(interaction.locale, 'qa.input.both'), { code: 'bad_option' });
  }
  if (unlimited === true) return 'unlimited';
  if (value === null) {
    throw new UserFacingError(t(interaction.locale, opts.allowUnlimited ? 'qa.input.limitOrUnlimited' : 'qa.input.limit'), { code: 'bad_option' });
  }
  if (limitProblem(value) !== undefined) {
    const nf = new Intl.NumberFormat(languageOf(interaction.locale));
    throw new UserFacingError(t(interaction.locale, 'qa.input.range', { min: nf.format(MIN_LIMIT), max: nf.format(MAX_LIMIT), got: value }), { code: 'bad_option' });
  }
  return value;
}

function readPeriod(interaction: ChatInputCommandInteraction): Period | undefined {
  const raw = interaction.options.getString('period');
  if (raw === null) return undefined;
  if (!isPeriod(raw)) throw new UserFacingError(t(interaction.locale, 'qa.input.period', { list: PERIODS.join(', '), got: truncate(raw, 20) }), { code: 'bad_option' });
  return raw;
}

/**
 * `/quota-admin usage`: the server's units per day stacked by model, and its top members, as a PNG chart; the
 * same figures as CSV (day, member, model, units, USD, requests). Private, like every admin answer.
 */
async function usage(interaction: ChatInputCommandInteraction, ctx: BotContext, guildId: string): Promise<void> {
  const locale = interaction.locale;
  const raw = interaction.options.getString('period') ?? '30d';
  if (!isUsagePeriod(raw)) throw new UserFacingError(t(locale, 'usage.badPeriod', { list: Object.keys(USAGE_PERIODS).join(', ') }), { code: 'bad_option' });
  const days = USAGE_PERIODS[raw];
  // Reading up to 90 day records and drawing can take longer than Discord's 3 s to answer.
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  const now = Date.now();
  const rows = await ctx.quota.usageRows(guildId, days);
  const summary = summarize(rows, days, now);
  if (summary.jobs === 0 && summary.units === 0) {
    await interaction.editReply({ content: t(locale, 'usage.empty', { days }), allowedMentions: { parse: [] } });
    return;
  }
  const names = await memberNames(interaction, summary.members.slice(0, 10).map((m) => m.userId));
  const language = languageOf(locale);
  const png = await renderUsageChart({
    title: t(locale, 'usage.chart.title', { days }),
    topTitle: t(locale, 'usage.chart.top'),
    days: summary.days,
    perDay: summary.perDay,
    top: summary.members.slice(0, 10).map((m) => ({ name: m.userId === OTHERS ? t(locale, 'usage.chart.others') : (names.get(m.userId) ?? m.userId), units: m.units })),
    language,
  });
  const nf = new Intl.NumberFormat(language);
  const stamp = summary.days.at(-1) ?? 'today';
  await interaction.editReply({
    content: t(locale, 'usage.summary', { days, units: nf.format(summary.units), images: nf.format(summary.jobs), usd: formatUsd(e4ToUsd(summary.usdE4)) }),
    files: [
      { attachment: png, name: `usage-${guildId}-${stamp}.png` },
      { attachment: Buffer.from(usageCsv(rows, names), 'utf8'), name: `usage-${guildId}-${stamp}.csv` },
    ],
    allowedMentions: { parse: [] },
  });
}

/** Display names of a few members, for the chart and the CSV; a member who cannot be looked up keeps their id. */
async function memberNames(interaction: ChatInputCommandInteraction, ids: readonly string[]): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  await Promise.all(
    ids
      .filter((id) => /^\d{17,20}$/.test(id))
      .map(async (id) => {
        try {
          const member = await interaction.guild?.members.fetch(id);
          if (member) return void names.set(id, member.displayName);
        } catch {
          // Not a member any more: fall back to the user.
        }
        try {
          const user = await interaction.client.users.fetch(id);
          names.set(id, user.globalName ?? user.username);
        } catch {
          // Unknown user: the id stands.
        }
      }),
  );
  return names;
}
