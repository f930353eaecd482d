// `/quota-admin usage`: a server's usage as a chart and a CSV, for the server's admins (commands/quota-admin.ts checks
// who asks and hands over the checked call).
import type { ChatInputCommandInteraction } from 'discord.js';
import type { BotContext } from '../src/context.js';
import type { AdminCall } from '../src/discord/admin.js';
import { isSnowflake } from '../src/discord/snowflake.js';
import { UserFacingError } from '../src/errors.js';
import { languageOf, t } from '../src/i18n/index.js';
import { renderUsageChart } from '../src/quota/chart.js';
import { formatUsd, e4ToUsd } from '../src/quota/pricing.js';
import { summarize, usageCsv } from '../src/quota/usage-report.js';
import { OTHERS, USAGE_KEEP_DAYS } from '../src/quota/usage.js';

/** What the report needs of the admin's checked call. */
export interface UsageCall extends AdminCall {
  readonly ctx: Pick<BotContext, 'acks' | 'quota' | 'clock'>;
}

/** `/quota-admin usage period:` choices, in days (at most the days kept, USAGE_KEEP_DAYS). */
const USAGE_PERIODS = { '7d': 7, '30d': 30, '90d': 90 } as const satisfies Record<string, number>;
type UsagePeriod = keyof typeof USAGE_PERIODS;
const isUsagePeriod = (v: string): v is UsagePeriod => Object.hasOwn(USAGE_PERIODS, v) && USAGE_PERIODS[v as UsagePeriod] <= USAGE_KEEP_DAYS;

/**
 * `/quota-admin usage`: the server's units per day stacked by model, and its top members, as a PNG chart; the
 * same figures as CSV (day, member, model, units, USD, requests). Private, like every admin answer.
 */
export async function showUsage(period: string | null, call: UsageCall): Promise<void> {
  const { interaction, ctx, guildId, locale } = call;
  const raw = period ?? '30d';
  if (!isUsagePeriod(raw)) throw new UserFacingError(t(locale, 'usage.badPeriod', { list: Object.keys(USAGE_PERIODS).join(', ') }), { code: 'bad_option' });
  const days = USAGE_PERIODS[raw];
  // Reading up to 90 day records and drawing can take longer than Discord's 3 s to answer.
  await ctx.acks.defer(interaction, { ephemeral: true });
  const now = ctx.clock.now();
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
      .filter(isSnowflake)
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
