import type { Model } from '../luma/types.js';
import type { ReservationPlan } from './plan.js';
import type { PremiumCatalog } from './premium.js';
import { capRefusal, memberRefusal, placeRefusal, serverTotalRefusal } from './refusals.js';
import type { QuotaCharge } from './types.js';

/** A charge with the value its counter held when the locks were taken. */
export interface SettledCharge {
  charge: QuotaCharge;
  current: number;
}

/**
 * Under the reservation's locks, with the counters' values (`current`, in the order of `plan.charges`): throws the
 * refusal of the first limit the request would pass — the member's allowance (with their credits), the server total,
 * the server's ceiling or share of the operator's cap, the operator's cap — or returns what each counter takes. The
 * free allowance goes first; credits pay the rest. Counters that take nothing are left out.
 */
export function settleCharges(
  plan: ReservationPlan,
  current: readonly number[],
  o: { locale: string | undefined; model: Model; count?: number; catalog: PremiumCatalog; onCapReached: (spentE4: number, capE4: number) => void },
): SettledCharge[] {
  const { allowance, units, costE4 } = plan;
  const value = (kind: QuotaCharge['kind']) => current[plan.charges.findIndex((c) => c.kind === kind)] ?? 0;
  const offers = (list: readonly ('user' | 'guild' | 'pack')[]) => list.flatMap((offer) => o.catalog.skuOf(offer) ?? []);
  const inGuild = plan.scope.kind === 'guild';
  const amounts = new Map<QuotaCharge['kind'], number>();

  if (allowance.limit !== 'unlimited') {
    const used = value('member');
    const fromAllowance = Math.min(units, Math.max(0, allowance.limit - used));
    const creditsLeft = plan.charges.some((c) => c.kind === 'credits') ? Math.max(0, plan.held.credits.bought - value('credits')) : 0;
    if (units - fromAllowance > creditsLeft) {
      const offered = offers(o.catalog.offersAtMemberLimit(allowance, plan.held, inGuild));
      throw memberRefusal(o.locale, plan.scope, allowance, used, { units, count: o.count ?? 1 }, o.model, plan.resetAt, { creditsLeft, offers: offered });
    }
    amounts.set('member', fromAllowance).set('credits', units - fromAllowance);
  }
  if (plan.serverTotal !== undefined) {
    const totalUsed = value('server');
    if (totalUsed + units > plan.serverTotal) throw serverTotalRefusal(o.locale, plan, totalUsed, plan.serverTotal);
  }
  const limit = plan.placeLimit;
  if (limit !== undefined) {
    const spent = value('serverSpend');
    if (spent + costE4 > limit.e4) {
      const offered = limit.by === 'ceiling' && inGuild ? offers(o.catalog.offersAtServerCeiling(plan.held, limit.ceilingUsd ?? 0)) : [];
      throw placeRefusal(o.locale, plan, limit, offered);
    }
  }
  if (plan.capE4 !== undefined) {
    const spent = value('spend');
    if (spent + costE4 > plan.capE4) {
      o.onCapReached(spent, plan.capE4);
      throw capRefusal(o.locale, plan.dayEnd);
    }
  }
  return plan.charges
    .map((charge, i) => ({ charge: { ...charge, amount: amounts.get(charge.kind) ?? charge.amount }, current: current[i] ?? 0 }))
    .filter((s) => s.charge.amount > 0);
}

/**
 * Each image's share of what a request of several took (`taken`, in the charges' order), so each job holds — and a
 * refund gives back — exactly its own: its units from the free allowance first (in the images' order), the rest from
 * credits; its own units of the server total; its own price in the spend counters.
 */
export function shareCharges(taken: readonly QuotaCharge[], images: readonly { units: number; costE4: number }[]): QuotaCharge[][] {
  let fromAllowance = taken.find((c) => c.kind === 'member')?.amount ?? 0;
  return images.map((image) => {
    const member = Math.min(image.units, fromAllowance);
    fromAllowance -= member;
    const share: QuotaCharge[] = [];
    for (const c of taken) {
      const amount = c.kind === 'member' ? member : c.kind === 'credits' ? image.units - member : c.kind === 'server' ? image.units : image.costE4;
      if (amount > 0) share.push({ ...c, amount });
    }
    return share;
  });
}
