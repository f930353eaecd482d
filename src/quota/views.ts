import type { Config } from '../config.js';
import type { Storage } from '../storage/index.js';
import type { ServerCeilings } from './ceilings.js';
import type { Allowance, GuildQuotaSettings } from './model.js';
import { periodEnd, periodKey, utcDay } from './periods.js';
import type { Holdings, PremiumCatalog } from './premium.js';
import type { PremiumStore } from './premium-store.js';
import { e4ToUsd, priceE4, usdToE4 } from './pricing.js';
import { placeOf, quotaKeys, scopeOf, type QuotaScope } from './scope.js';
import type { QuotaSettingsStore } from './settings.js';
import type { GuildOverview, QuotaStatus, Requester } from './types.js';

/** What /quota and /quota-admin show is read from (the quota service). */
export interface ViewSources {
  readonly deps: { readonly storage: Storage; readonly config: Pick<Config, 'quotaDefaultLimit' | 'quotaDefaultPeriod' | 'spendCapUsdPerDay' | 'premium'> };
  readonly now: () => number;
  readonly catalog: PremiumCatalog;
  readonly ceilings: ServerCeilings;
  readonly premium: Pick<PremiumStore, 'guildTier'>;
  readonly weights: QuotaStatus['weights'];
  holdingsOf(requester: Pick<Requester, 'userId' | 'purchases'>, scope: QuotaScope, now: number): Promise<Holdings>;
  allowanceOf(scope: QuotaScope, userId: string, roleIds: readonly string[]): Promise<{ allowance: Allowance; settings?: GuildQuotaSettings }>;
  placeSpentE4(place: string, day: string): Promise<number>;
  /** A counter's value for a view (0 when it cannot be read). */
  counter(key: string): Promise<number>;
  readonly settings: Pick<QuotaSettingsStore, 'forAdmin'>;
}

/** A member's allowance (premium tiers included), use, credits and reset time, for /quota. */
export async function memberStatus(q: ViewSources, who: Requester): Promise<QuotaStatus> {
  const { config } = q.deps;
  const now = q.now();
  const scope = scopeOf(who.guildId, who.userInstalled);
  const held = await q.holdingsOf(who, scope, now);
  const { allowance: base, settings } = await q.allowanceOf(scope, who.userId, who.roleIds);
  const allowance = q.catalog.withTiers(base, held, scope.kind === 'guild');
  const pKey = periodKey(allowance.period, now);
  const used = await q.counter(quotaKeys.usage(scope, who.userId, pKey));
  const status: QuotaStatus = {
    scope,
    allowance,
    used,
    remaining: allowance.limit === 'unlimited' ? 'unlimited' : Math.max(0, allowance.limit - used),
    resetAt: periodEnd(allowance.period, now),
    weights: q.weights,
  };
  if (q.catalog.selling) status.premium = { held, sold: config.premium };
  if (scope.kind === 'guild' && settings?.serverTotal !== undefined) {
    status.serverTotal = { limit: settings.serverTotal, used: await q.counter(quotaKeys.serverTotal(scope.guildId, pKey)) };
  }
  // "Reached" once not even the cheapest request fits any more.
  const cheapest = priceE4({ model: 'uni-1' });
  const limit = await q.ceilings.limitFor(scope, held.guildTier);
  if (limit !== undefined && (await q.placeSpentE4(placeOf(scope), utcDay(now))) + cheapest > limit.e4) status.serverLimitResetAt = periodEnd('day', now);
  const cap = config.spendCapUsdPerDay;
  if (cap !== undefined) {
    const spent = await q.counter(quotaKeys.spend(utcDay(now)));
    if (spent + cheapest > usdToE4(cap)) status.spendCapResetAt = periodEnd('day', now);
  }
  return status;
}

/** A server's settings with what applies where it set nothing, its total use this period, and what bounds its spend. */
export async function serverOverview(q: ViewSources, guildId: string): Promise<GuildOverview> {
  const { config: c } = q.deps;
  const now = q.now();
  const { settings, reset } = await q.settings.forAdmin(guildId);
  const period = settings.period ?? c.quotaDefaultPeriod;
  const serverTotalUsed = await q.counter(quotaKeys.serverTotal(guildId, periodKey(period, now)));
  const premiumTier = await q.premium.guildTier(guildId, now);
  const ceiling = await q.ceilings.ceiling(guildId, premiumTier);
  const share = q.ceilings.shareE4();
  return {
    settings,
    reset,
    fallback: { limit: c.quotaDefaultLimit, period: c.quotaDefaultPeriod },
    period,
    resetAt: periodEnd(period, now),
    serverTotalUsed,
    spend: {
      todayUsd: e4ToUsd(await q.placeSpentE4(guildId, utcDay(now))),
      ceiling,
      shareUsd: share === undefined ? undefined : e4ToUsd(share),
      resetAt: periodEnd('day', now),
      premiumTier,
    },
  };
}
