import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  InteractionContextType,
  type ChatInputCommandInteraction,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import type { BotContext } from '../src/context.js';
import type { SlashCommand } from '../src/discord/command.js';
import { readSubcommand, runSubcommand, type SubcommandHandlers } from '../src/discord/command-options.js';
import { requireOperator } from '../src/discord/operator.js';
import { isSnowflake } from '../src/discord/snowflake.js';
import { UserFacingError } from '../src/errors.js';
import { english } from '../src/i18n/commands.js';
import { plural } from '../src/ops/money.js';
import type { Ceiling } from '../src/quota/ceilings.js';
import { utcDay } from '../src/quota/periods.js';
import { e4ToUsd, formatUsd } from '../src/quota/pricing.js';
import { daysOfMonth } from '../src/quota/spend-report.js';

/*
 * The operator's ceilings per server (the operators /bot-status knows). A server's ceiling bounds its spend per UTC
 * day whatever its admins set; SERVER_CAP_USD_PER_DAY is every server's unless the operator sets one here. The
 * server is given by id: the operator need not be a member of it. Answers are private and in English, like
 * /bot-status.
 */

const serverOption = {
  type: ApplicationCommandOptionType.String,
  name: 'server',
  description: english('opt.server.description'),
  required: true,
  min_length: 17,
  max_length: 20,
} as const;

const data = {
  type: ApplicationCommandType.ChatInput,
  name: 'bot-operator',
  description: english('cmd.bot-operator.description'),
  contexts: [InteractionContextType.Guild, InteractionContextType.BotDM],
  integration_types: [ApplicationIntegrationType.GuildInstall],
  default_member_permissions: '0',
  options: [
    {
      type: ApplicationCommandOptionType.Subcommand,
      name: 'set-server-cap',
      description: english('cmd.bot-operator.set-server-cap.description'),
      options: [serverOption, { type: ApplicationCommandOptionType.Number, name: 'usd', description: english('opt.usd.description'), required: true, min_value: 0, max_value: 1_000_000 }],
    },
    { type: ApplicationCommandOptionType.Subcommand, name: 'clear-server-cap', description: english('cmd.bot-operator.clear-server-cap.description'), options: [serverOption] },
    { type: ApplicationCommandOptionType.Subcommand, name: 'server', description: english('cmd.bot-operator.server.description'), options: [serverOption] },
  ],
} as const satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

interface OperatorCall {
  readonly interaction: ChatInputCommandInteraction;
  readonly ctx: BotContext;
}

const answer = (call: OperatorCall, content: string) => call.interaction.editReply({ content, allowedMentions: { parse: [] } });

function serverId(raw: string): string {
  const id = raw.trim();
  if (!isSnowflake(id)) throw new UserFacingError(`"${raw.slice(0, 30)}" is not a server id (17–20 digits). Nothing was changed.`, { code: 'bad_option' });
  return id;
}

const describeCeiling = (c: Ceiling | undefined): string =>
  c === undefined ? 'none' : `${formatUsd(c.usd)} a day (${c.source === 'operator' ? 'set by the operator' : c.source === 'premium' ? "raised by the server's premium" : 'the default, SERVER_CAP_USD_PER_DAY'})`;

const handlers: SubcommandHandlers<typeof data, [OperatorCall]> = {
  async 'set-server-cap'({ server, usd }, call) {
    const id = serverId(server);
    if (!Number.isFinite(usd) || usd < 0 || usd > 1_000_000) throw new UserFacingError('The ceiling must be from 0 to 1,000,000 US dollars a day. Nothing was changed.', { code: 'bad_option' });
    const rounded = Math.round(usd * 10_000) / 10_000;
    await call.ctx.quota.ceilings.setOverride(id, rounded);
    call.ctx.logger.info({ guildId: id, usd: rounded, operatorId: call.interaction.user.id }, "operator: a server's ceiling was set");
    await answer(call, `Server ${id} may now spend at most **${formatUsd(rounded)}** a day (UTC), whatever its admins set. ${await today(call, id)}`);
  },

  async 'clear-server-cap'({ server }, call) {
    const id = serverId(server);
    await call.ctx.quota.ceilings.setOverride(id, undefined);
    call.ctx.logger.info({ guildId: id, operatorId: call.interaction.user.id }, "operator: a server's ceiling was cleared");
    const now = await call.ctx.quota.ceilings.ceiling(id, false);
    await answer(call, `Server ${id} has no ceiling of its own any more: ${now ? `the default applies, ${formatUsd(now.usd)} a day.` : 'no ceiling applies (SERVER_CAP_USD_PER_DAY is empty).'} ${await today(call, id)}`);
  },

  async server({ server }, call) {
    const id = serverId(server);
    const q = call.ctx.quota;
    const nowMs = q.now();
    const tier = await q.premium.guildTier(id, nowMs);
    const ceiling = await q.ceilings.ceiling(id, tier);
    const share = q.ceilings.shareE4();
    const month = utcDay(nowMs).slice(0, 7);
    const days = daysOfMonth(month, nowMs);
    const [spent, rows] = await Promise.all([Promise.all(days.map((d) => q.placeSpentE4(id, d))), q.usage.rowsOf(id, days)]);
    const units = rows.reduce((sum, r) => sum + r.units, 0);
    const requests = rows.reduce((sum, r) => sum + r.jobs, 0);
    const name = call.interaction.client.guilds.cache.get(id)?.name;
    await answer(
      call,
      [
        `**Server ${id}${name ? ` (${name})` : ''}**`,
        `Ceiling: ${describeCeiling(ceiling)}`,
        `Share of the daily cap: ${share === undefined ? 'none' : `${formatUsd(e4ToUsd(share))} a day`}`,
        await today(call, id),
        `This month (${month}): ${formatUsd(e4ToUsd(spent.reduce((a, b) => a + b, 0)))} · ${plural(units, 'unit')} · ${plural(requests, 'request')}`,
        ...(q.catalog.config.guild ? [`Premium server tier: ${tier ? 'running' : 'none'}`] : []),
      ].join('\n'),
    );
  },
};

/** Today's spend of a server against its ceiling. */
async function today(call: OperatorCall, id: string): Promise<string> {
  const q = call.ctx.quota;
  const nowMs = q.now();
  const day = utcDay(nowMs);
  const [spentE4, rows, tier] = await Promise.all([q.placeSpentE4(id, day), q.usage.rowsOf(id, [day]), q.premium.guildTier(id, nowMs)]);
  const ceiling = await q.ceilings.ceiling(id, tier);
  const units = rows.reduce((sum, r) => sum + r.units, 0);
  const left = ceiling === undefined ? '' : ` · ${formatUsd(Math.max(0, ceiling.usd - e4ToUsd(spentE4)))} of its ceiling left`;
  return `Today (UTC): ${formatUsd(e4ToUsd(spentE4))} spent · ${plural(units, 'unit')}${left}`;
}

/**
 * `/bot-operator`: the operator's ceiling per server — set one server's, clear it back to the default, or see one
 * server's figures. Only for the operators /bot-status knows (src/discord/operator.ts); everyone else is refused.
 */
export const botOperator: SlashCommand = {
  kind: 'slash',
  data,

  async execute(interaction, ctx) {
    await requireOperator(interaction, ctx);
    await runSubcommand(handlers, readSubcommand(interaction, data), { interaction, ctx });
  },
};
