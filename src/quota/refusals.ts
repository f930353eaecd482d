import { UserFacingError } from '../errors.js';
import { t, tn } from '../i18n/index.js';
import type { Model } from '../luma/types.js';
import type { Allowance } from './model.js';
import { discordTime } from './periods.js';
import { limitText, periodName, periodPhrase } from './render.js';
import type { QuotaScope } from './scope.js';

// What a member is told when their quota, or their server's total, refuses a job.

/**
 * The member's own limit refuses a request of `ask.count` images costing `ask.units` in all: why, how many units are
 * left, and — for several images of which fewer would fit — how many to ask for instead.
 */
export function memberRefusal(locale: string | undefined, scope: QuotaScope, allowance: Allowance, used: number, ask: { units: number; count: number }, model: Model, resetAt: number): UserFacingError {
  const { units, count } = ask;
  const { limit, period } = allowance;
  const where = t(locale, scope.kind === 'guild' ? 'quota.where.guild' : 'quota.where.personal');
  const reset = { relative: discordTime(resetAt), date: discordTime(resetAt, 'f') };
  if (limit === 0) {
    const who = t(locale, scope.kind === 'guild' ? 'quota.refuse.zeroAdmin' : 'quota.refuse.zeroOperator');
    return new UserFacingError(t(locale, 'quota.refuse.zero', { where, period: periodName(locale, period), who }), { code: 'quota_zero' });
  }
  const left = Math.max(0, (limit as number) - used);
  const perImage = units / Math.max(1, count);
  const fit = Math.floor(left / perImage);
  if (count > 1 && fit > 0) {
    return new UserFacingError(
      t(locale, 'quota.refuse.notEnoughForCount', { count, cost: tn(locale, 'units', units), left, limit: limitText(locale, limit, period), where, fit, ...reset }),
      { code: 'quota_exceeded' },
    );
  }
  if (left > 0) {
    return new UserFacingError(
      t(locale, 'quota.refuse.notEnough', { model, cost: tn(locale, 'units', perImage), left, limit: limitText(locale, limit, period), where, standard: tn(locale, 'units', 1), ...reset }),
      { code: 'quota_exceeded' },
    );
  }
  return new UserFacingError(
    t(locale, 'quota.refuse.usedUp', { where, used, total: String(limit), when: periodPhrase(locale, period), limit: limitText(locale, limit, period), ...reset }),
    { code: 'quota_exceeded' },
  );
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
