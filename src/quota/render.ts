import { t, tn } from '../i18n/index.js';
import type { Limit, LimitSource } from './model.js';
import { discordTime, type Period } from './periods.js';
import { formatUsd } from './pricing.js';
import type { GuildOverview, QuotaStatus } from './types.js';

/*
 * What /quota and /quota-admin show, in the reader's language (`locale` is a Discord locale; English is the
 * fallback). Times are Discord timestamps, which every client renders in its own language and time zone.
 */

/** Discord's message content limit. */
const MAX_CONTENT = 2000;

type Locale = string | null | undefined;

export function periodName(locale: Locale, period: Period): string {
  return t(locale, `period.${period}`);
}

/** "today", "this week", "this month". */
export function periodPhrase(locale: Locale, period: Period): string {
  return t(locale, `period.this.${period}`);
}

/** "5 units per day", "unlimited". */
export function limitText(locale: Locale, limit: Limit, period: Period): string {
  return limit === 'unlimited' ? t(locale, 'limit.unlimited') : tn(locale, 'limit.per', limit, { period: periodName(locale, period) });
}

export function describeCosts(locale: Locale, weights: QuotaStatus['weights']): string {
  return t(locale, 'quota.costsLine', { standard: tn(locale, 'units', weights['uni-1']), max: tn(locale, 'units', weights['uni-1-max']) });
}

function describeSource(locale: Locale, source: LimitSource): string {
  switch (source.kind) {
    case 'user':
      return t(locale, 'quota.source.user');
    case 'role':
      return t(locale, 'quota.source.role', { role: `<@&${source.roleId}>` });
    case 'default':
      return t(locale, source.configured ? 'quota.source.default.configured' : 'quota.source.default.bot');
    case 'personal':
      return t(locale, 'quota.source.personal');
  }
}

/** What /quota answers. */
export function renderStatus(locale: Locale, s: QuotaStatus): string {
  const { limit, period } = s.allowance;
  const when = periodPhrase(locale, period);
  const lines = [
    t(locale, s.scope.kind === 'guild' ? 'quota.title.guild' : 'quota.title.personal'),
    t(locale, 'quota.allowance', { limit: limitText(locale, limit, period), source: describeSource(locale, s.allowance.source) }),
    limit === 'unlimited'
      ? t(locale, 'quota.usedUnlimited', { when, used: s.used })
      : t(locale, 'quota.used', { when, used: s.used, remaining: String(s.remaining) }),
    t(locale, 'quota.resets', { relative: discordTime(s.resetAt), date: discordTime(s.resetAt, 'f') }),
    t(locale, 'quota.costs', { costs: describeCosts(locale, s.weights) }),
  ];
  if (s.serverTotal) lines.push(t(locale, 'quota.serverTotal', { used: s.serverTotal.used, limit: s.serverTotal.limit, when }));
  if (s.premium) lines.push(...premiumLines(locale, s.premium, s.allowance, s.scope.kind === 'guild'));
  if (s.serverLimitResetAt !== undefined) lines.push(t(locale, 'quota.serverLimit', { relative: discordTime(s.serverLimitResetAt) }));
  if (s.spendCapResetAt !== undefined) lines.push(t(locale, 'quota.spendCap', { relative: discordTime(s.spendCapResetAt) }));
  return lines.join('\n');
}

/** The member's tier, the server's, their credits, and what the store sells (each tier once, with what it adds). */
function premiumLines(locale: Locale, p: NonNullable<QuotaStatus['premium']>, allowance: QuotaStatus['allowance'], inGuild: boolean): string[] {
  const period = periodName(locale, allowance.period);
  const units = (n: number) => tn(locale, 'units', n);
  const { held, sold } = p;
  const lines: string[] = [];
  if (allowance.extra?.user) lines.push(t(locale, 'quota.tier.user', { units: units(allowance.extra.user), period }));
  if (allowance.extra?.guild) lines.push(t(locale, 'quota.tier.guild', { units: units(allowance.extra.guild), period }));
  if (held.credits.bought > 0) lines.push(t(locale, 'quota.credits', { left: units(held.credits.bought - held.credits.used), bought: held.credits.bought }));
  const offers = [
    ...(sold.user && !held.userTier ? [t(locale, 'quota.sold.user', { units: units(sold.user.units), period })] : []),
    ...(sold.guild && inGuild && !held.guildTier ? [t(locale, 'quota.sold.guild', { units: units(sold.guild.units), period })] : []),
    ...(sold.pack ? [t(locale, 'quota.sold.pack', { units: units(sold.pack.units) })] : []),
  ];
  return offers.length > 0 ? [...lines, t(locale, 'quota.sold.title'), ...offers] : lines;
}

function bareLimit(locale: Locale, limit: Limit): string {
  return limit === 'unlimited' ? t(locale, 'limit.unlimited') : String(limit);
}

/** Lines as long as fit in one message; the rest summarized. */
function fit(locale: Locale, head: string[], entries: string[], tail: string[]): string {
  const fixed = [...head, ...tail].join('\n').length + 40;
  const shown: string[] = [];
  let length = fixed;
  for (const e of entries) {
    if (length + e.length + 1 > MAX_CONTENT) break;
    shown.push(e);
    length += e.length + 1;
  }
  const more = entries.length - shown.length;
  return [...head, ...shown, ...(more > 0 ? [t(locale, 'common.andMore', { n: more })] : []), ...tail].join('\n');
}

/** What /quota-admin show answers. */
export function renderOverview(locale: Locale, o: GuildOverview, weights: QuotaStatus['weights']): string {
  const s = o.settings;
  const period = periodName(locale, o.period);
  const head = [
    t(locale, 'qa.show.title'),
    t(locale, 'qa.show.period', {
      period,
      note: s.period === undefined ? t(locale, 'qa.show.periodBotDefault') : '',
      relative: discordTime(o.resetAt),
      date: discordTime(o.resetAt, 'f'),
    }),
    s.defaultLimit !== undefined
      ? t(locale, 'qa.show.default', { limit: limitText(locale, s.defaultLimit, o.period) })
      : t(locale, 'qa.show.defaultBot', { limit: limitText(locale, o.fallback.limit, o.period) }),
    s.serverTotal !== undefined
      ? t(locale, 'qa.show.total', { limit: s.serverTotal, period, used: o.serverTotalUsed, when: periodPhrase(locale, o.period) })
      : t(locale, 'qa.show.totalNone'),
    ...spendLines(locale, o.spend),
  ];
  const roles = Object.entries(s.roles);
  const users = Object.entries(s.users);
  const entries: string[] = [];
  entries.push(roles.length === 0 ? t(locale, 'qa.show.rolesNone') : t(locale, 'qa.show.roles', { n: roles.length }));
  for (const [id, limit] of roles) entries.push(`• <@&${id}>: ${bareLimit(locale, limit)}`);
  entries.push(users.length === 0 ? t(locale, 'qa.show.usersNone') : t(locale, 'qa.show.users', { n: users.length }));
  for (const [id, limit] of users) entries.push(`• <@${id}>: ${bareLimit(locale, limit)}`);
  const tail = [t(locale, 'qa.show.costs', { costs: describeCosts(locale, weights) })];
  return fit(locale, head, entries, tail);
}

/** The operator's ceiling for the server (where it comes from), today's spend against it, and the share of the cap. */
function spendLines(locale: Locale, spend: GuildOverview['spend']): string[] {
  const spent = formatUsd(spend.todayUsd);
  const c = spend.ceiling;
  const source = c?.source === 'operator' ? t(locale, 'qa.show.ceiling.operator') : c?.source === 'premium' ? t(locale, 'qa.show.ceiling.premium') : '';
  const lines = [c ? t(locale, 'qa.show.ceiling', { ceiling: formatUsd(c.usd), source, spent }) : t(locale, 'qa.show.ceilingNone', { spent })];
  if (spend.shareUsd !== undefined) lines.push(t(locale, 'qa.show.share', { share: formatUsd(spend.shareUsd) }));
  return lines;
}
