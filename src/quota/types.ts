import type { JobRecord } from '../jobs/types.js';

/** What the quota module does at the engine's turning points. */
export interface QuotaHooks {
  /** Luma accepted the job: the reserved unit is spent. */
  commit(job: JobRecord): Promise<void>;
  /**
   * The job failed: the unit goes back when the member did not cause it (`units`, default true), and the operator's
   * spend goes back when Luma will not bill the job (the quota module decides from `reason`).
   */
  refund(job: JobRecord, reason: string, opts?: { units?: boolean }): Promise<void>;
}

/** Who is asking, as far as quotas care. */
export interface Requester {
  userId: string;
  guildId: string | null;
  /** Role ids of the member in that guild (empty in DMs). */
  roleIds: readonly string[];
  /** The member's Discord locale, for the language of a refusal (English when absent). */
  locale?: string;
}

/**
 * The quota gate the job flow calls. `reserve` runs before anything goes to Luma: it either records a
 * reservation on `job.quota` or throws a UserFacingError saying why not and when the quota resets.
 * `commit` / `refund` come from the engine as the job goes on.
 */
export interface QuotaGate extends QuotaHooks {
  reserve(job: JobRecord, requester: Requester): Promise<void>;
}
