import { periodEnd, periodKey, utcDay } from './periods.js';
import { usdToE4 } from './pricing.js';
import { quotaKeys, quotaLocks as locks, type QuotaScope } from './scope.js';
import type { Allowance } from './model.js';
import type { QuotaCharge } from './types.js';

/** Counters outlive their period by this much, so a late refund still finds its counter; then storage drops them. */
const COUNTER_GRACE_MS = 7 * 86_400_000;

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
  /** The operator's daily spend cap, when there is one. */
  capE4: number | undefined;
  /** Today (UTC): the spend counter's period. */
  day: string;
  /** When today ends, ms. */
  dayEnd: number;
  /** In lock order: the member's, the server total's (if any), the operator's spend (if capped). */
  charges: QuotaCharge[];
}

/**
 * What a reservation takes and from which counters, worked out before any lock is held: the member's allowance,
 * the server total when the server set one, and the operator's spend when there is a cap.
 */
export function planCharges(o: {
  now: number;
  scope: QuotaScope;
  allowance: Allowance;
  serverTotal: number | undefined;
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
  const serverTotal = scope.kind === 'guild' ? o.serverTotal : undefined;
  if (scope.kind === 'guild' && serverTotal !== undefined) {
    charges.push({ kind: 'server', key: quotaKeys.serverTotal(scope.guildId, pKey), lock: locks.total(scope.guildId), amount: units, expiresAt: resetAt + COUNTER_GRACE_MS });
  }
  const capE4 = o.spendCapUsd === undefined ? undefined : usdToE4(o.spendCapUsd);
  const day = utcDay(now);
  const dayEnd = periodEnd('day', now);
  if (capE4 !== undefined) {
    charges.push({ kind: 'spend', key: quotaKeys.spend(day), lock: locks.spend, amount: costE4, expiresAt: dayEnd + COUNTER_GRACE_MS });
  }
  return { now, scope, allowance, pKey, resetAt, units, costE4, serverTotal, capE4, day, dayEnd, charges };
}
