import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { QuotaHooks } from '../quota/types.js';
import { retryStorage } from '../storage/index.js';
import type { JobCharges } from './steps/context.js';
import type { JobRecord } from './types.js';

/**
 * Waits between attempts to give a unit back when storage refused the first (about 10 minutes in all). Nobody waits
 * for them: the member is answered after the first attempt.
 */
export const REFUND_RETRY_DELAYS_MS: readonly number[] = [1000, 5000, 15_000, 30_000, 60_000, 120_000, 120_000, 120_000, 120_000];

/**
 * The one owner of a job's money after its reservation: the units are kept when Luma accepts the job, and given back
 * when it fails (on the failure path) or never gets queued (at intake). A refund storage refuses is tried again in
 * the background, on one schedule for both. The quota module decides what goes back (it is idempotent).
 */
export class Charges implements JobCharges {
  constructor(
    private readonly quota: QuotaHooks | undefined,
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly retryDelaysMs: readonly number[] = REFUND_RETRY_DELAYS_MS,
  ) {}

  async commit(job: JobRecord): Promise<void> {
    await this.quota?.commit(job);
  }

  /** Gives back what `reason` calls for; resolves after the first attempt, retrying in the background if it failed. */
  async refund(job: JobRecord, reason: string, opts: { units: boolean }): Promise<void> {
    const quota = this.quota;
    if (!quota) return;
    const refund = () => quota.refund(job, reason, opts);
    try {
      await refund();
      return;
    } catch (err) {
      this.log.warn({ err, jobId: job.id, reason }, 'quota refund failed; retrying in the background');
    }
    void retryStorage(refund, this.retryDelaysMs, () => undefined, this.clock).catch((err: unknown) => {
      this.log.error({ err, jobId: job.id, userId: job.requester.userId, units: job.quota?.units, reason }, 'gave up refunding a job: the member keeps this charge until the period ends');
    });
  }
}
