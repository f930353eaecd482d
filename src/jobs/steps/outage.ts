// A job while Luma is down (the breaker is open, src/jobs/luma-breaker.ts): it waits in its place, its member is
// told Luma is unavailable, and it fails with a refund once the outage window has passed without Luma answering.
// The scheduler decides when (src/jobs/outage-hold.ts); the record changes here.
import { newReference } from '../../errors.js';
import { lostContact, lumaUnavailable } from '../failures.js';
import type { JobRecord } from '../types.js';
import type { FailContext } from './context.js';
import { fail } from './fail.js';

/**
 * The job waits on an outage that began at `since`: its window counts from then, or from when it came (a job that
 * joined the queue later waits its whole window). Its member is told at once. Kept in memory, saved with its next step.
 */
export function heldByOutage(job: JobRecord, since: number): void {
  if (job.lumaUnavailableSince !== undefined) return;
  job.lumaUnavailableSince = Math.max(since, job.step === 'queued' ? job.createdAt : (job.submittedAt ?? job.createdAt));
  job.progress.editedAt = 0;
}

/** When the job's outage window ends (Infinity: it is not waiting on one). */
export function outageEndsAt(job: JobRecord, windowMs: number): number {
  return job.lumaUnavailableSince === undefined ? Infinity : job.lumaUnavailableSince + windowMs;
}

/** Luma answers again: a queued job kept for the outage goes now, in its fair place (a finished one fetches its URL). */
export function lumaIsBack(job: JobRecord): void {
  if (job.lumaUnavailableSince === undefined) return;
  delete job.lumaUnavailableSince;
  delete job.notBefore;
}

/** The outage outlasted the job's window: it fails, refunded, with a Retry (as when its own tries met the outage). */
export function outageOutlasted(ctx: FailContext, job: JobRecord): Promise<void> {
  const windowMs = ctx.config.lumaOutageWindowMs;
  return fail(ctx, job, job.step === 'queued' ? lumaUnavailable(windowMs) : lostContact(windowMs, newReference()));
}
