import type { PlaceLimit } from './ceilings.js';
import { periodEnd, periodKey, utcDay } from './periods.js';
import type { Holdings } from './premium.js';
import { premiumKeys, premiumLocks, PREMIUM_KEEP_MS } from './premium-store.js';
import { usdToE4 } from './pricing.js';
import { placeOf, quotaKeys, quotaLocks as locks, type QuotaScope } from './scope.js';
import type { Allowance } from './model.js';
import type { QuotaCharge } from './types.js';
import { USAGE_KEEP_DAYS } from './usage.js';

/** Counters outlive their period by this much, so a late refund still finds its counter; then storage drops them. */
const COUNTER_GRACE_MS = 7 * 86_400_000;
const DAY_MS = 86_400_000;

/** One reservation worked out before its locks are taken: what it costs, and the counters it charges. */
export interface ReservationPlan {
  now: number;
  scope: QuotaScope;
  allowance: Allowance;
  /** The allowance's current period (`day:2026-05-04`, …). */
  pKey: string;
  /** When that period ends, ms. */
  resetAt: number;
  units: number;
  costE4: number;
  /** The server's total per period, when it set one. */
  serverTotal: number | undefined;
  /** The tighter of the server's ceiling and its share of the operator's cap, when one applies. */
  placeLimit: PlaceLimit | undefined;
  /** The operator's daily spend cap, when there is one. */
  capE4: number | undefined;
  /** What the member holds from the store (tiers, credits), read before the locks. */
  held: Holdings;
  /** Today (UTC): the spend counters' period. */
  day: string;
  /** When today ends, ms. */
  dayEnd: number;
  /**
   * In lock order: the member's allowance, the member's credits (when they bought any), the server total (if any),
   * the server's spend of the day, the operator's spend (if capped). The member's and the credits' amounts are the
   * whole request here; the reservation settles how much each takes, under the locks (limits.ts).
   */
  charges: QuotaCharge[];
}

/**
 * What a reservation takes and from which counters, worked out before any lock is held: the member's allowance,
 * their credits, the server total when the server set one, the server's spend (always: the operator's view counts
 * it), and the operator's spend when there is a cap.
 */
export function planCharges(o: {
  now: number;
  scope: QuotaScope;
  allowance: Allowance;
  serverTotal: number | undefined;
  placeLimit: PlaceLimit | undefined;
  held: Holdings;
  userId: string;
  units: number;
  costE4: number;
  spendCapUsd: number | undefined;
}): ReservationPlan {
  const { now, scope, allowance, units, costE4 } = o;
  const pKey = periodKey(allowance.period, now);
  const resetAt = periodEnd(allowance.period, now);
  const charges: QuotaCharge[] = [
    { kind: 'member', key: quotaKeys.usage(scope, o.userId, pKey), lock: locks.user(scope, o.userId), amount: units, expiresAt: resetAt + COUNTER_GRACE_MS },
  ];
  if (o.held.credits.bought > 0 && allowance.limit !== 'unlimited') {
    charges.push({ kind: 'credits', key: premiumKeys.creditsUsed(o.userId), lock: premiumLocks.credits(o.userId), amount: units, expiresAt: now + PREMIUM_KEEP_MS });
  }
  const serverTotal = scope.kind === 'guild' ? o.serverTotal : undefined;
  if (scope.kind === 'guild' && serverTotal !== undefined) {
    charges.push({ kind: 'server', key: quotaKeys.serverTotal(scope.guildId, pKey), lock: locks.total(scope.guildId), amount: units, expiresAt: resetAt + COUNTER_GRACE_MS });
  }
  const day = utcDay(now);
  const dayEnd = periodEnd('day', now);
  // Kept as long as the usage figures, so the operator's month by server adds up from them.
  const place = placeOf(scope);
  charges.push({ kind: 'serverSpend', key: quotaKeys.placeSpend(place, day), lock: locks.placeSpend(place), amount: costE4, expiresAt: dayEnd + USAGE_KEEP_DAYS * DAY_MS });
  const capE4 = o.spendCapUsd === undefined ? undefined : usdToE4(o.spendCapUsd);
  if (capE4 !== undefined) {
    charges.push({ kind: 'spend', key: quotaKeys.spend(day), lock: locks.spend, amount: costE4, expiresAt: dayEnd + COUNTER_GRACE_MS });
  }
  return { now, scope, allowance, pKey, resetAt, units, costE4, serverTotal, placeLimit: o.placeLimit, capE4, held: o.held, day, dayEnd, charges };
}
