import type { Config } from '../config.js';
import { UserFacingError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Model } from '../luma/types.js';
import { readValue, type Storage } from '../storage/index.js';
import { ServerCeilings } from './ceilings.js';
import { chargeCounters, counterValue, rebuildCounter, refundCounters, reportLost, withLocks, type Rebuild } from './counters.js';
import { PackConsumption, type PackConsumer } from './credits.js';
import { settleCharges, shareCharges } from './limits.js';
import { planCharges, type ReservationPlan } from './plan.js';
import { resolveAllowance, type Allowance, type GuildQuotaSettings } from './model.js';
import { periodKey, utcDay } from './periods.js';
import { NO_HOLDINGS, PremiumCatalog, type Holdings } from './premium.js';
import { PremiumStore } from './premium-store.js';
import { e4ToUsd, formatUsd, lumaBills, priceE4, unitsFor, usdToE4 } from './pricing.js';
import { placeOf, quotaKeys, quotaLocks as locks, scopeId, scopeOf, type QuotaScope } from './scope.js';
import { QuotaSettingsStore } from './settings.js';
import type { Chargeable, GuildOverview, QuotaHooks, QuotaStatus, Requester } from './types.js';

export type { GuildOverview, QuotaStatus } from './types.js';
import { UsageLedger, type UsageRow } from './usage.js';
import { memberStatus, serverOverview } from './views.js';

export type QuotaConfig = Pick<
  Config,
  'quotaDefaultLimit' | 'quotaDefaultPeriod' | 'quotaDmLimit' | 'quotaDmPeriod' | 'quotaMaxWeight' | 'spendCapUsdPerDay' | 'serverCapUsdPerDay' | 'spendCapServerShare' | 'premium'
>;

export interface QuotaServiceDeps {
  storage: Storage;
  logger: Logger;
  config: QuotaConfig;
  /** The clock, ms since the epoch. Default Date.now. */
  now?: () => number;
  /** Told of every refusal by its code (`quota_exceeded`, `quota_spend_cap`, …), for metrics. Must not throw. */
  onRefusal?: (code: string) => void;
  /** Tells the store a spent credit pack is used up (the Discord side); without it packs are never consumed. */
  packs?: PackConsumer;
}

/** How long a refund is remembered, so a second refund of the same job (a copy of its record) does nothing. */
const REFUND_MARKER_TTL_MS = 30 * 86_400_000;

/**
 * The quota gate: reserves units (and the operator's spend) before a job goes to Luma, keeps them when Luma
 * accepts it, and gives them back when the job fails for a reason the member did not cause. Counters are keyed by
 * scope + member + period, so a new period simply starts a new counter.
 */
export class QuotaService implements QuotaHooks {
  readonly settings: QuotaSettingsStore;
  /** A server's use per day, by member and model (for /quota-admin usage). */
  readonly usage: UsageLedger;
  /** The operator's ceilings per server (and the servers' share of the cap). */
  readonly ceilings: ServerCeilings;
  /** What members and servers hold from the store, kept in step with it. */
  readonly premium: PremiumStore;
  private readonly consumption: PackConsumption;
  readonly now: () => number;
  private readonly log: Logger;
  private spendWarnedDay: string | undefined;
  /** What a counter that could not be read starts again from. */
  private readonly rebuild: Rebuild;

  constructor(readonly deps: QuotaServiceDeps) {
    this.settings = new QuotaSettingsStore(deps.storage);
    this.usage = new UsageLedger(deps.storage);
    this.now = deps.now ?? Date.now;
    this.log = deps.logger;
    this.ceilings = new ServerCeilings(deps.storage, deps.config);
    this.premium = new PremiumStore(deps.storage, new PremiumCatalog(deps.config.premium), deps.logger);
    this.consumption = new PackConsumption(this.premium, deps.packs, deps.logger, this.now);
    this.rebuild = rebuildCounter(this.usage, (key) => this.counter(key));
  }

  get catalog(): PremiumCatalog {
    return this.premium.catalog;
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

  /**
   * Runs before anything goes to Luma: records a reservation on `job.quota`, or throws a UserFacingError saying why
   * not and when the quota resets.
   */
  async reserve(job: Chargeable, requester: Requester): Promise<void> {
    await this.reserveAll([job], requester);
  }

  /**
   * Reserves the units of every image of one request at once (a request for several images: `count`), or none: one
   * check of every limit against their sum, one write of each counter. Each job still holds its own reservation of
   * its own units (and its share of the credits and the spend), so a refund gives back exactly one image's. A
   * refusal says how many units are left.
   */
  async reserveAll(jobs: readonly Chargeable[], requester: Requester): Promise<void> {
    const open = jobs.filter((job) => !job.quota || job.quota.state === 'refunded'); // a job may already hold its units
    const first = open[0];
    if (!first) return;
    const plan = await this.planReservation(open, requester);
    const model = first.request.model ?? 'uni-1';
    const charges = await withLocks(this.deps.storage, plan.charges.map((c) => c.lock), async () => {
      const onCapReached = (spent: number, cap: number) => this.warnSpendCap(plan.day, spent, cap);
      const settle = (current: readonly number[]) => settleCharges(plan, current, { locale: requester.locale, model, count: open.length, catalog: this.catalog, onCapReached });
      // Every check passed: count the request everywhere at once, still under every lock.
      const { taken, lost } = await chargeCounters(this.deps.storage, plan.charges, plan.now, settle, this.rebuild);
      if (lost.length > 0) throw reportLost(this.deps.storage.alarm, lost, 'the request that found it was refused without charge');
      await this.recordDailyUsage(first, requester.userId, plan, open.length);
      return taken;
    }).catch((err: unknown) => {
      if (err instanceof UserFacingError && err.options.code) this.deps.onRefusal?.(err.options.code);
      throw err;
    });
    // The request used credits: a pack it used up is consumed at the store (in the background; nobody waits).
    if (charges.some((c) => c.kind === 'credits')) void this.consumeSpentPacks(requester.userId);

    const { scope, pKey, now } = plan;
    const shares = shareCharges(charges, open.map((job) => ({ units: unitsFor(job.request.model, this.deps.config.quotaMaxWeight), costE4: priceE4(job.request) })));
    open.forEach((job, i) => {
      const share = shares[i] ?? [];
      const units = share.filter((c) => c.kind === 'member' || c.kind === 'credits').reduce((n, c) => n + c.amount, 0);
      const costE4 = priceE4(job.request);
      job.quota = {
        scope: scopeId(scope),
        userId: requester.userId,
        guildId: scope.kind === 'guild' ? scope.guildId : null,
        units,
        usd: e4ToUsd(costE4),
        periodKey: pKey,
        charges: share,
        reservedAt: now,
        state: 'reserved',
      };
    });
    this.log.debug({ jobIds: open.map((j) => j.id), userId: requester.userId, units: plan.units, usd: e4ToUsd(plan.costE4), periodKey: pKey }, 'quota reserved');
  }

  /** Tells the store about the member's spent credit packs it was not told of yet (once, across processes). Never throws. */
  consumeSpentPacks(userId: string): Promise<void> {
    return this.consumption.consumeSpent(userId);
  }

  async commit(job: Chargeable): Promise<void> {
    if (job.quota?.state === 'reserved') job.quota.state = 'committed';
  }

  /**
   * Gives a job's units back to the counters they were taken from — the period of the reservation, even if a
   * new period has begun since — unless `units: false` (a failure the member caused: only the operator's spend
   * is settled then). The operator's spend goes back only when Luma will not bill the job (see `lumaBills`).
   * Idempotent: the job's state says so, and a marker in storage covers a second copy of the same job (e.g. one
   * reloaded for Retry).
   */
  async refund(job: Chargeable, reason: string, opts: { units?: boolean } = {}): Promise<void> {
    const q = job.quota;
    if (!q || q.state === 'refunded') return;
    const units = opts.units ?? true;
    const billed = lumaBills(job, reason);
    if (!units && billed) return; // nothing goes back
    const now = this.now();
    const marker = { key: quotaKeys.refunded(job.id), ttlMs: REFUND_MARKER_TTL_MS };
    // The spend goes back when Luma does not bill the job, the units when the member keeps them; a counter already
    // gone (its period long over) has nothing to give back to.
    const back = q.charges.filter((c) => (c.kind === 'spend' || c.kind === 'serverSpend' ? !billed : units) && c.expiresAt > now);
    await withLocks(this.deps.storage, q.charges.map((c) => c.lock), async () => {
      const { done, lost } = await refundCounters(this.deps.storage, back, marker, now, this.rebuild);
      if (lost.length > 0) reportLost(this.deps.storage.alarm, lost, 'the refund went on from the rebuilt value');
      if (!done) return;
      // Back out of the day the units were taken on (unless the member keeps them); the dollars stay when Luma
      // bills the image anyway. These are statistics: a failed write is logged, and never blocks the member's refund.
      const usd = billed ? 0 : -usdToE4(q.usd);
      await this.usage
        .add(q.guildId ?? 'dm', utcDay(q.reservedAt), q.userId, job.request.model ?? 'uni-1', { units: units ? -q.units : 0, usdE4: usd, jobs: units ? -1 : 0 }, now)
        .catch((err: unknown) => this.log.warn({ err, jobId: job.id }, 'could not take a refund out of the day\'s usage figures'));
      const what = units ? 'quota refunded' : "operator's spend refunded; the member's units stay used";
      this.log.info({ jobId: job.id, userId: q.userId, guildId: q.guildId, units: units ? q.units : 0, usd: billed ? 0 : q.usd, periodKey: q.periodKey, reason }, what);
    });
    q.state = 'refunded';
    q.refundReason = reason;
    if (!units) q.unitsKept = true;
  }

  /** A member's allowance (premium tiers included), use, credits and reset time, for /quota. */
  status(who: Requester): Promise<QuotaStatus> {
    return memberStatus(this, who);
  }

  /** A server's settings with what applies where it set nothing, its total use this period, and the operator's ceiling. */
  overview(guildId: string): Promise<GuildOverview> {
    return serverOverview(this, guildId);
  }

  /** What a place (a server's id, or `dm`) spent on a UTC day, ten-thousandths of a dollar. */
  async placeSpentE4(place: string, day: string): Promise<number> {
    return this.counter(quotaKeys.placeSpend(place, day));
  }

  /** A counter's value for a view; one that cannot be read counts as 0 here (the next reservation rebuilds it). */
  async counter(key: string): Promise<number> {
    const v = counterValue(await readValue(this.deps.storage, key));
    return typeof v === 'number' ? v : 0;
  }

  /**
   * Sets a member's use on a server this period back to zero; returns what it was. The server total keeps what
   * was spent: it is the server's real cost, and the admin set it as a ceiling.
   */
  async resetUser(guildId: string, userId: string): Promise<number> {
    const scope: QuotaScope = { kind: 'guild', guildId };
    const { settings } = await this.settings.forAdmin(guildId);
    const pKey = periodKey(settings.period ?? this.deps.config.quotaDefaultPeriod, this.now());
    const key = quotaKeys.usage(scope, userId, pKey);
    return this.deps.storage.withLock(locks.user(scope, userId), () =>
      this.deps.storage.atomic([key], ([v]) => {
        const used = counterValue(v);
        return { writes: [{ key, delete: true }], result: typeof used === 'number' ? used : 0 };
      }),
    );
  }

  /** A server's use over the last `days` UTC days, by day, member and model. */
  async usageRows(guildId: string, days: number): Promise<UsageRow[]> {
    return this.usage.rows(guildId, days, this.now());
  }

  /** The operator's spend today, USD, and the cap (for logs and admin views). */
  async spendToday(): Promise<{ usd: number; capUsd: number | undefined }> {
    const spent = await this.counter(quotaKeys.spend(utcDay(this.now())));
    return { usd: e4ToUsd(spent), capUsd: this.deps.config.spendCapUsdPerDay };
  }

  private warnSpendCap(day: string, spentE4: number, capE4: number): void {
    if (this.spendWarnedDay === day) return;
    this.spendWarnedDay = day;
    this.log.warn(
      { alert: true, day, spentUsd: e4ToUsd(spentE4), capUsd: e4ToUsd(capE4) },
      `OPERATOR: the daily spend cap (SPEND_CAP_USD_PER_DAY = ${formatUsd(e4ToUsd(capE4))}) is reached; new image requests are refused until 00:00 UTC`,
    );
  }

  /**
   * What a reservation of `jobs` (the images of one request) would take and from which counters, read before any
   * lock is held: the member's allowance (with the tiers they hold) and credits, the server total when the server
   * set one, the server's ceiling or share, and the operator's spend when there is a cap.
   */
  private async planReservation(jobs: readonly Chargeable[], requester: Requester): Promise<ReservationPlan> {
    const now = this.now();
    const scope = scopeOf(requester.guildId, requester.userInstalled);
    const held = await this.holdingsOf(requester, scope, now);
    const { allowance: base, settings } = await this.allowanceOf(scope, requester.userId, requester.roleIds);
    const allowance = this.catalog.withTiers(base, held, scope.kind === 'guild');
    const placeLimit = await this.ceilings.limitFor(scope, held.guildTier);
    const units = jobs.reduce((sum, job) => sum + unitsFor(job.request.model, this.deps.config.quotaMaxWeight), 0);
    const costE4 = jobs.reduce((sum, job) => sum + priceE4(job.request), 0);
    const serverTotal = scope.kind === 'guild' ? settings?.serverTotal : undefined;
    return planCharges({ now, scope, allowance, serverTotal, placeLimit, held, userId: requester.userId, units, costE4, spendCapUsd: this.deps.config.spendCapUsdPerDay });
  }

  /**
   * What the requester holds from the store where they ask, after taking in what their interaction says they hold.
   * The server's tier counts only where the server's settings apply (not in DMs or user-installed use).
   */
  async holdingsOf(requester: Pick<Requester, 'userId' | 'purchases'>, scope: QuotaScope, now: number): Promise<Holdings> {
    if (!this.catalog.selling) return NO_HOLDINGS;
    const who = { userId: requester.userId, guildId: scope.kind === 'guild' ? scope.guildId : null };
    if (requester.purchases) await this.premium.syncInteraction(requester.purchases, who, now);
    return this.premium.holdings(who.userId, who.guildId, now);
  }

  /**
   * Adds a reservation to the server's per-day figures, written with the counters under the member's lock (see
   * usage.ts). They are statistics for /quota-admin usage: a failed write there must not refuse a member who was
   * charged correctly.
   */
  private async recordDailyUsage(job: Chargeable, userId: string, plan: ReservationPlan, count: number): Promise<void> {
    await this.usage
      .add(placeOf(plan.scope), plan.day, userId, job.request.model ?? 'uni-1', { units: plan.units, usdE4: plan.costE4, jobs: count }, plan.now)
      .catch((err: unknown) => this.log.warn({ err, jobId: job.id }, 'could not record the day\'s usage figures'));
  }
}
