import type { PremiumConfig } from '../config-values.js';
import type { GenerationRequest, Model } from '../luma/types.js';
import type { Ceiling } from './ceilings.js';
import type { Allowance, GuildQuotaSettings, Limit } from './model.js';
import type { Period } from './periods.js';
import type { Holdings, Purchase } from './premium.js';
import type { QuotaScope } from './scope.js';

/**
 * What the quota module needs of a request it charges: an id (its job's), what is asked of Luma (the model and the
 * images decide the price), and — once reserved — the reservation. Job records are this shape.
 */
export interface Chargeable {
  readonly id: string;
  readonly request: Pick<GenerationRequest, 'model' | 'type' | 'image_ref' | 'source'>;
  quota?: QuotaReservation;
  /** Set once Luma accepted it, or made its image: Luma then bills it (see lumaBills). */
  readonly generationId?: string;
  readonly completedAt?: number;
}

/** What the quota module does at the engine's turning points. */
export interface QuotaHooks {
  /** Luma accepted the job: the reserved unit is spent. */
  commit(charged: Chargeable): Promise<void>;
  /**
   * The job failed: the unit goes back when the member did not cause it (`units`, default true), and the operator's
   * spend goes back when Luma will not bill the job (the quota module decides from `reason`).
   */
  refund(charged: Chargeable, reason: string, opts?: { units?: boolean }): Promise<void>;
}

/** Who is asking, as far as quotas care. */
export interface Requester {
  userId: string;
  guildId: string | null;
  /** Role ids of the member in that guild (empty in DMs). */
  roleIds: readonly string[];
  /** Their own install of the bot in a server that did not add it: their personal quota applies. */
  userInstalled: boolean;
  /** The member's language, for a refusal (English when absent). */
  locale?: string;
  /**
   * What the store says the member (and the server, in one) hold right now, from their interaction: kept in step
   * before the reservation. Undefined when not known (the stored view applies).
   */
  purchases?: readonly Purchase[];
}

/**
 * One counter a reservation added to, so a refund takes back exactly that, from that period: units (the member's
 * allowance, the member's bought credits, the server total) or dollars (the server's spend of the day, the
 * operator's). Units go back when the member did not cause the failure; dollars when Luma does not bill the job.
 */
export interface QuotaCharge {
  kind: 'member' | 'credits' | 'server' | 'serverSpend' | 'spend';
  /** Storage key of the counter (it names its period, e.g. `quota:use:guild:1:2:day:2026-05-04`). */
  key: string;
  /** The lock guarding that counter. */
  lock: string;
  /** Units, or ten-thousandths of a dollar for the spend counters. */
  amount: number;
  /** When the counter may be dropped from storage (its period's end plus a grace period), ms. */
  expiresAt: number;
}

/** What the quota module reserved for a job (service.ts): opaque to the engine, kept on the job record. */
export interface QuotaReservation {
  /** `guild:<id>`, or `dm` for DMs and user-installed use. */
  scope: string;
  userId: string;
  guildId: string | null;
  units: number;
  /** What the request costs the operator, USD, from Luma's price table. */
  usd: number;
  /** The period the units were taken from (`day:2026-05-04`, `week:…`, `month:2026-05`). */
  periodKey: string;
  /** Counters incremented and by how much, in lock order (plan.ts): a refund takes back exactly these. */
  charges: QuotaCharge[];
  reservedAt: number;
  state: 'reserved' | 'committed' | 'refunded';
  refundReason?: string;
  /** Set when the refund gave back only the operator's spend: the member's units still count (content_moderated). */
  unitsKept?: boolean;
}

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
  /** Set when the server's ceiling (or its share of the operator's cap) is reached today: when it resets. */
  serverLimitResetAt?: number;
  /** Set when the operator's daily spend cap is reached: when it resets. */
  spendCapResetAt?: number;
  /** When premium tiers are sold: what the member holds, and what each tier adds. */
  premium?: { held: Holdings; sold: PremiumConfig };
}

/** What /quota-admin show lists for a server. */
export interface GuildOverview {
  settings: GuildQuotaSettings;
  /** The stored settings could not be read: these are the defaults, stored in their place. */
  reset: boolean;
  /** The operator's defaults, which apply where the server set nothing. */
  fallback: { limit: Limit; period: Period };
  period: Period;
  resetAt: number;
  serverTotalUsed: number;
  /** What bounds the server's spend today: the operator's ceiling and share, and what it spent. */
  spend: { todayUsd: number; ceiling: Ceiling | undefined; shareUsd: number | undefined; resetAt: number; premiumTier: boolean };
}
