import { UserFacingError } from '../errors.js';
import { t, tn } from '../i18n/index.js';
import type { Model } from '../luma/types.js';
import type { PlaceLimit } from './ceilings.js';
import type { Allowance } from './model.js';
import { discordTime } from './periods.js';
import { limitText, periodName, periodPhrase } from './render.js';
import type { QuotaScope } from './scope.js';

// What a member is told when a limit refuses a job: their own allowance (and credits), their server's total, the
// server's ceiling or share of the operator's cap, the operator's cap. Each says which limit it was, and when it
// resets; nothing was charged.

/** What the member holds beyond the allowance, and the SKUs that would lift the refusal (Premium buttons). */
interface Extras {
  creditsLeft: number;
  offers: readonly string[];
}

/**
 * The member's own limit refuses a request of `ask.count` images costing `ask.units` in all: why, how many units are
 * left (and credits, and what Premium would add), and — for several images of which fewer would fit — how many to
 * ask for instead.
 */
export function memberRefusal(
  locale: string | undefined,
  scope: QuotaScope,
  allowance: Allowance,
  used: number,
  ask: { units: number; count: number },
  model: Model,
  resetAt: number,
  extras: Extras = { creditsLeft: 0, offers: [] },
): UserFacingError {
  const { units, count } = ask;
  const { limit, period } = allowance;
  const where = t(locale, scope.kind === 'guild' ? 'quota.where.guild' : 'quota.where.personal');
  const reset = { relative: discordTime(resetAt), date: discordTime(resetAt, 'f') };
  const more = [
    ...(extras.creditsLeft > 0 ? [t(locale, 'quota.refuse.creditsLeft', { credits: tn(locale, 'units', extras.creditsLeft) })] : []),
    ...(extras.offers.length > 0 ? [t(locale, 'quota.refuse.offers')] : []),
  ];
  const refuse = (text: string, code: string) => new UserFacingError([text, ...more].join(' '), { code, ...(extras.offers.length > 0 ? { offers: extras.offers } : {}) });
  if (limit === 0) {
    const who = t(locale, scope.kind === 'guild' ? 'quota.refuse.zeroAdmin' : 'quota.refuse.zeroOperator');
    return refuse(t(locale, 'quota.refuse.zero', { where, period: periodName(locale, period), who }), 'quota_zero');
  }
  const left = Math.max(0, (limit as number) - used);
  const perImage = units / Math.max(1, count);
  const fit = Math.floor(left / perImage);
  if (count > 1 && fit > 0) {
    return refuse(t(locale, 'quota.refuse.notEnoughForCount', { count, cost: tn(locale, 'units', units), left, limit: limitText(locale, limit, period), where, fit, ...reset }), 'quota_exceeded');
  }
  if (left > 0) {
    return refuse(t(locale, 'quota.refuse.notEnough', { model, cost: tn(locale, 'units', perImage), left, limit: limitText(locale, limit, period), where, standard: tn(locale, 'units', 1), ...reset }), 'quota_exceeded');
  }
  return refuse(t(locale, 'quota.refuse.usedUp', { where, used, total: String(limit), when: periodPhrase(locale, period), limit: limitText(locale, limit, period), ...reset }), 'quota_exceeded');
}

/** The server's ceiling (or DMs' and the server's share of the operator's cap) is reached for today. */
export function placeRefusal(locale: string | undefined, plan: { scope: QuotaScope; dayEnd: number }, limit: Pick<PlaceLimit, 'by'>, offers: readonly string[]): UserFacingError {
  const relative = discordTime(plan.dayEnd);
  const key = limit.by === 'ceiling' ? 'quota.refuse.serverCeiling' : plan.scope.kind === 'guild' ? 'quota.refuse.serverShare' : 'quota.refuse.dmShare';
  const text = [t(locale, key, { relative }), ...(offers.length > 0 ? [t(locale, 'quota.refuse.offersServer')] : [])].join(' ');
  return new UserFacingError(text, { code: limit.by === 'ceiling' ? 'quota_server_ceiling' : 'quota_server_share', ...(offers.length > 0 ? { offers } : {}) });
}

/** The operator's daily cap is reached, for everyone. */
export function capRefusal(locale: string | undefined, dayEnd: number): UserFacingError {
  return new UserFacingError(t(locale, 'quota.refuse.spendCap', { relative: discordTime(dayEnd) }), { code: 'quota_spend_cap' });
}

export function serverTotalRefusal(
  locale: string | undefined,
  plan: { units: number; resetAt: number; allowance: Pick<Allowance, 'period'> },
  totalUsed: number,
  serverTotal: number,
): UserFacingError {
  const { units, resetAt } = plan;
  const vars = { used: totalUsed, total: serverTotal, when: periodPhrase(locale, plan.allowance.period), relative: discordTime(resetAt), date: discordTime(resetAt, 'f') };
  return new UserFacingError(
    totalUsed < serverTotal ? t(locale, 'quota.refuse.serverTotalNeeds', { ...vars, units: tn(locale, 'units', units) }) : t(locale, 'quota.refuse.serverTotal', vars),
    { code: 'quota_server_total' },
  );
}
