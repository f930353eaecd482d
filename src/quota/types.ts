import type { GenerationRequest, Model } from '../luma/types.js';
import type { Allowance, GuildQuotaSettings, Limit } from './model.js';
import type { Period } from './periods.js';
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
}

/** One counter a reservation added to, so a refund takes back exactly that, from that period. */
export interface QuotaCharge {
  /** The member's counter, the server's total, or the operator's daily spend. */
  kind: 'member' | 'server' | 'spend';
  /** Storage key of the counter (it names its period, e.g. `quota:use:guild:1:2:day:2026-05-04`). */
  key: string;
  /** The lock guarding that counter. */
  lock: string;
  /** Units, or ten-thousandths of a dollar for the spend counter. */
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
  /** Counters incremented, in lock order: the member's, the server total's, the operator's daily spend. */
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
