import type { Config } from '../config.js';
import { UserFacingError } from '../errors.js';
import type { JobRecord, QuotaCharge, QuotaReservation } from '../jobs/types.js';
import type { Logger } from '../logger.js';
import type { Model } from '../luma/types.js';
import type { Storage } from '../storage.js';
import { describeLimit, resolveAllowance, type Allowance, type GuildQuotaSettings, type Limit } from './model.js';
import { discordTime, periodEnd, periodKey, periodPhrase, utcDay, type Period } from './periods.js';
import { e4ToUsd, formatUsd, priceE4, unitsFor, usdToE4 } from './pricing.js';
import { QuotaSettingsStore } from './settings.js';
import type { QuotaGate, Requester } from './types.js';

export type QuotaConfig = Pick<
  Config,
  'quotaDefaultLimit' | 'quotaDefaultPeriod' | 'quotaDmLimit' | 'quotaDmPeriod' | 'quotaMaxWeight' | 'spendCapUsdPerDay'
>;

export interface QuotaServiceDeps {
  storage: Storage;
  logger: Logger;
  config: QuotaConfig;
  /** The clock, ms since the epoch. Default Date.now. */
  now?: () => number;
  /** Told of every refusal by its code (`quota_exceeded`, `quota_spend_cap`, …), for metrics. Must not throw. */
  onRefusal?: (code: string) => void;
}

/** Counters outlive their period by this much, so a late refund still finds its counter; then storage drops them. */
const COUNTER_GRACE_MS = 7 * 86_400_000;
/** How long a refund is remembered, so a second refund of the same job (a copy of its record) does nothing. */
const REFUND_MARKER_TTL_MS = 30 * 86_400_000;

/** Whose settings and counters apply: a server's, or the member's own for DMs and user-installed use. */
export type QuotaScope = { kind: 'guild'; guildId: string } | { kind: 'personal' };

export function scopeOf(guildId: string | null, userInstalled: boolean): QuotaScope {
  // A user-installed bot is the member's, not the server's: the server's admins did not add it, so their
  // settings do not apply and the DM / personal default does.
  return guildId !== null && !userInstalled ? { kind: 'guild', guildId } : { kind: 'personal' };
}

const scopeId = (s: QuotaScope): string => (s.kind === 'guild' ? `guild:${s.guildId}` : 'dm');

export const quotaKeys = {
  usage: (scope: QuotaScope, userId: string, pKey: string) => `quota:use:${scopeId(scope)}:${userId}:${pKey}`,
  serverTotal: (guildId: string, pKey: string) => `quota:total:${guildId}:${pKey}`,
  spend: (day: string) => `quota:spend:${day}`,
  refunded: (jobId: string) => `quota:refunded:${jobId}`,
};

/*
 * Locks are always taken in this order — member, then server total, then the operator's spend — and released in
 * reverse, so two reservations (or a reservation and a refund) can never wait on each other in a cycle.
 */
const locks = {
  user: (scope: QuotaScope, userId: string) => `quota:user:${scopeId(scope)}:${userId}`,
  total: (guildId: string) => `quota:total:${guildId}`,
  spend: 'quota:spend',
};

/** What /quota shows a member. */
export interface QuotaStatus {
  scope: QuotaScope;
  allowance: Allowance;
  used: number;
  /** `unlimited`, or units left this period (never below 0). */
  remaining: Limit;
  resetAt: number;
  weights: Record<Model, number>;
  serverTotal?: { limit: number; used: number };
  /** Set when the operator's daily spend cap is reached: when it resets. */
  spendCapResetAt?: number;
}

/** What /quota-admin show lists for a server. */
export interface GuildOverview {
  settings: GuildQuotaSettings;
  /** The operator's defaults, which apply where the server set nothing. */
  fallback: { limit: Limit; period: Period };
  period: Period;
  resetAt: number;
  serverTotalUsed: number;
}

/**
 * The quota gate: reserves units (and the operator's spend) before a job goes to Luma, keeps them when Luma
 * accepts it, and gives them back when the job fails for a reason the member did not cause. Counters are keyed by
 * scope + member + period, so a new period simply starts a new counter.
 */
export class QuotaService implements QuotaGate {
  readonly settings: QuotaSettingsStore;
  private readonly now: () => number;
  private readonly log: Logger;
  private spendWarnedDay: string | undefined;

  constructor(private readonly deps: QuotaServiceDeps) {
    this.settings = new QuotaSettingsStore(deps.storage);
    this.now = deps.now ?? Date.now;
    this.log = deps.logger;
  }

  get weights(): Record<Model, number> {
    return { 'uni-1': 1, 'uni-1-max': this.deps.config.quotaMaxWeight };
  }

  /** The allowance that applies to a member in a scope. */
  async allowanceOf(scope: QuotaScope, userId: string, roleIds: readonly string[]): Promise<{ allowance: Allowance; settings?: GuildQuotaSettings }> {
    const c = this.deps.config;
    if (scope.kind === 'personal') {
      return { allowance: { limit: c.quotaDmLimit, period: c.quotaDmPeriod, source: { kind: 'personal' } } };
    }
    const settings = await this.settings.get(scope.guildId);
    // The @everyone role's id is the guild's id; the API leaves it out of a member's roles, so add it.
    const roles = roleIds.includes(scope.guildId) ? roleIds : [...roleIds, scope.guildId];
    return { allowance: resolveAllowance(settings, userId, roles, { limit: c.quotaDefaultLimit, period: c.quotaDefaultPeriod }), settings };
  }

  async reserve(job: JobRecord, requester: Requester): Promise<void> {
    if (job.quota && job.quota.state !== 'refunded') return; // this job already holds its units
    const now = this.now();
    const scope = scopeOf(requester.guildId, job.discord.userInstalled);
    const { allowance, settings } = await this.allowanceOf(scope, requester.userId, requester.roleIds);
    const { period, limit } = allowance;
    const pKey = periodKey(period, now);
    const resetAt = periodEnd(period, now);
    const units = unitsFor(job.request.model, this.deps.config.quotaMaxWeight);
    const costE4 = priceE4(job.request);

    const userCharge: QuotaCharge = { kind: 'member', key: quotaKeys.usage(scope, requester.userId, pKey), lock: locks.user(scope, requester.userId), amount: units, expiresAt: resetAt + COUNTER_GRACE_MS };
    const charges: QuotaCharge[] = [userCharge];
    const serverTotal = scope.kind === 'guild' ? settings?.serverTotal : undefined;
    if (scope.kind === 'guild' && serverTotal !== undefined) {
      charges.push({ kind: 'server', key: quotaKeys.serverTotal(scope.guildId, pKey), lock: locks.total(scope.guildId), amount: units, expiresAt: resetAt + COUNTER_GRACE_MS });
    }
    const capE4 = this.deps.config.spendCapUsdPerDay === undefined ? undefined : usdToE4(this.deps.config.spendCapUsdPerDay);
    const day = utcDay(now);
    const dayEnd = periodEnd('day', now);
    if (capE4 !== undefined) {
      charges.push({ kind: 'spend', key: quotaKeys.spend(day), lock: locks.spend, amount: costE4, expiresAt: dayEnd + COUNTER_GRACE_MS });
    }

    await this.withLocks(charges.map((c) => c.lock), async () => {
      const current = await Promise.all(charges.map(async (c) => (await this.deps.storage.get<number>(c.key)) ?? 0));
      const used = current[0] ?? 0;
      if (limit !== 'unlimited' && used + units > limit) {
        throw this.memberRefusal(scope, allowance, used, units, job.request.model ?? 'uni-1', resetAt);
      }
      if (serverTotal !== undefined) {
        const totalUsed = current[1] ?? 0;
        if (totalUsed + units > serverTotal) {
          throw new UserFacingError(
            `This server has used ${totalUsed} of the ${serverTotal} units all its members share ${periodPhrase(period)}` +
              `${totalUsed < serverTotal ? `, and this request needs ${units}` : ''}. ` +
              `The server's quota resets ${discordTime(resetAt)} (${discordTime(resetAt, 'f')}).`,
            { code: 'quota_server_total' },
          );
        }
      }
      if (capE4 !== undefined) {
        const spent = current[current.length - 1] ?? 0;
        if (spent + costE4 > capE4) {
          this.warnSpendCap(day, spent, capE4);
          throw new UserFacingError(
            `The bot has reached the daily spending limit its operator set, so no new images can be made right now. ` +
              `It resets ${discordTime(dayEnd)} (midnight UTC). This did not count against your quota.`,
            { code: 'quota_spend_cap' },
          );
        }
      }
      // Every check passed: count the request everywhere at once, still under every lock.
      await Promise.all(charges.map((c, i) => this.deps.storage.set(c.key, (current[i] ?? 0) + c.amount, Math.max(1000, c.expiresAt - now))));
    }).catch((err: unknown) => {
      if (err instanceof UserFacingError && err.options.code) this.deps.onRefusal?.(err.options.code);
      throw err;
    });

    const reservation: QuotaReservation = {
      scope: scopeId(scope),
      userId: requester.userId,
      guildId: scope.kind === 'guild' ? scope.guildId : null,
      units,
      usd: e4ToUsd(costE4),
      periodKey: pKey,
      charges,
      reservedAt: now,
      state: 'reserved',
    };
    job.quota = reservation;
    this.log.debug({ jobId: job.id, userId: requester.userId, guildId: reservation.guildId, units, usd: reservation.usd, periodKey: pKey }, 'quota reserved');
  }

  async commit(job: JobRecord): Promise<void> {
    if (job.quota?.state === 'reserved') job.quota.state = 'committed';
  }

  /**
   * Gives a job's units back to the counters they were taken from — the period of the reservation, even if a
   * new period has begun since. The operator's spend goes back too, unless Luma made the image (it is billed
   * then, whatever happened to the delivery) or the POST may have reached Luma (`uncertain`). Idempotent: the
   * job's state says so, and a marker in storage covers a second copy of the same job (e.g. one reloaded for Retry).
   */
  async refund(job: JobRecord, reason: string): Promise<void> {
    const q = job.quota;
    if (!q || q.state === 'refunded') return;
    const now = this.now();
    const marker = quotaKeys.refunded(job.id);
    const billed = job.completedAt !== undefined || reason === 'uncertain';
    await this.withLocks(q.charges.map((c) => c.lock), async () => {
      if (await this.deps.storage.get<boolean>(marker)) return;
      for (const c of q.charges) {
        if (c.kind === 'spend' && billed) continue;
        // A counter already gone (its period long over) has nothing to give back to.
        if (c.expiresAt <= now) continue;
        const value = (await this.deps.storage.get<number>(c.key)) ?? 0;
        // A counter an admin reset since may hold less than this charge: never go below zero.
        await this.deps.storage.set(c.key, Math.max(0, value - c.amount), c.expiresAt - now);
      }
      await this.deps.storage.set(marker, true, REFUND_MARKER_TTL_MS);
      this.log.info({ jobId: job.id, userId: q.userId, guildId: q.guildId, units: q.units, usd: billed ? 0 : q.usd, periodKey: q.periodKey, reason }, 'quota refunded');
    });
    q.state = 'refunded';
    q.refundReason = reason;
  }

  /** A member's allowance, use and reset time, for /quota. */
  async status(who: Requester & { userInstalled: boolean }): Promise<QuotaStatus> {
    const now = this.now();
    const scope = scopeOf(who.guildId, who.userInstalled);
    const { allowance, settings } = await this.allowanceOf(scope, who.userId, who.roleIds);
    const pKey = periodKey(allowance.period, now);
    const used = (await this.deps.storage.get<number>(quotaKeys.usage(scope, who.userId, pKey))) ?? 0;
    const status: QuotaStatus = {
      scope,
      allowance,
      used,
      remaining: allowance.limit === 'unlimited' ? 'unlimited' : Math.max(0, allowance.limit - used),
      resetAt: periodEnd(allowance.period, now),
      weights: this.weights,
    };
    if (scope.kind === 'guild' && settings?.serverTotal !== undefined) {
      status.serverTotal = { limit: settings.serverTotal, used: (await this.deps.storage.get<number>(quotaKeys.serverTotal(scope.guildId, pKey))) ?? 0 };
    }
    const cap = this.deps.config.spendCapUsdPerDay;
    if (cap !== undefined) {
      const spent = (await this.deps.storage.get<number>(quotaKeys.spend(utcDay(now)))) ?? 0;
      // "Reached" once not even the cheapest request fits any more.
      if (spent + priceE4({ model: 'uni-1' }) > usdToE4(cap)) status.spendCapResetAt = periodEnd('day', now);
    }
    return status;
  }

  /** A server's settings with what applies where it set nothing, and its total use this period. */
  async overview(guildId: string): Promise<GuildOverview> {
    const now = this.now();
    const c = this.deps.config;
    const settings = await this.settings.get(guildId);
    const period = settings.period ?? c.quotaDefaultPeriod;
    const serverTotalUsed = (await this.deps.storage.get<number>(quotaKeys.serverTotal(guildId, periodKey(period, now)))) ?? 0;
    return { settings, fallback: { limit: c.quotaDefaultLimit, period: c.quotaDefaultPeriod }, period, resetAt: periodEnd(period, now), serverTotalUsed };
  }

  /**
   * Sets a member's use on a server this period back to zero; returns what it was. The server total keeps what
   * was spent: it is the server's real cost, and the admin set it as a ceiling.
   */
  async resetUser(guildId: string, userId: string): Promise<number> {
    const scope: QuotaScope = { kind: 'guild', guildId };
    const settings = await this.settings.get(guildId);
    const pKey = periodKey(settings.period ?? this.deps.config.quotaDefaultPeriod, this.now());
    const key = quotaKeys.usage(scope, userId, pKey);
    return this.deps.storage.withLock(locks.user(scope, userId), async () => {
      const used = (await this.deps.storage.get<number>(key)) ?? 0;
      await this.deps.storage.delete(key);
      return used;
    });
  }

  /** The operator's spend today, USD, and the cap (for logs and admin views). */
  async spendToday(): Promise<{ usd: number; capUsd: number | undefined }> {
    const spent = (await this.deps.storage.get<number>(quotaKeys.spend(utcDay(this.now())))) ?? 0;
    return { usd: e4ToUsd(spent), capUsd: this.deps.config.spendCapUsdPerDay };
  }

  private memberRefusal(scope: QuotaScope, allowance: Allowance, used: number, units: number, model: Model, resetAt: number): UserFacingError {
    const { limit, period } = allowance;
    const where = scope.kind === 'guild' ? 'on this server' : 'in DMs and user-installed use';
    const reset = `Your quota resets ${discordTime(resetAt)} (${discordTime(resetAt, 'f')}).`;
    if (limit === 0) {
      const who = scope.kind === 'guild' ? 'A server admin can change it with /quota-admin.' : "The bot's operator set it.";
      return new UserFacingError(`You cannot make images ${where}: your limit is 0 units per ${period}. ${who}`, { code: 'quota_zero' });
    }
    const left = Math.max(0, (limit as number) - used);
    if (left > 0) {
      return new UserFacingError(
        `An image with ${model} costs ${units} units, and you have ${left} of your ${describeLimit(limit, period)} left ${where}. ` +
          `Use uni-1 (1 unit), or wait: ${reset.charAt(0).toLowerCase()}${reset.slice(1)}`,
        { code: 'quota_exceeded' },
      );
    }
    return new UserFacingError(
      `You have used your whole quota ${where}: ${used} of ${limit} units ${periodPhrase(period)} (your limit is ${describeLimit(limit, period)}). ${reset}`,
      { code: 'quota_exceeded' },
    );
  }

  private warnSpendCap(day: string, spentE4: number, capE4: number): void {
    if (this.spendWarnedDay === day) return;
    this.spendWarnedDay = day;
    this.log.warn(
      { alert: true, day, spentUsd: e4ToUsd(spentE4), capUsd: e4ToUsd(capE4) },
      `OPERATOR: the daily spend cap (SPEND_CAP_USD_PER_DAY = ${formatUsd(e4ToUsd(capE4))}) is reached; new image requests are refused until 00:00 UTC`,
    );
  }

  /** Takes `names` one inside the other, in the order given (the fixed order above), then runs `fn`. */
  private withLocks<T>(names: readonly string[], fn: () => Promise<T>): Promise<T> {
    const [first, ...rest] = names;
    if (first === undefined) return fn();
    return this.deps.storage.withLock(first, () => this.withLocks(rest, fn));
  }
}
