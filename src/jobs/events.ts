import type { JobRecord } from './types.js';

/**
 * What the engine tells an observer (metrics) at a job's turning points. Optional and one-way: the engine does not
 * wait for it, and an observer must not throw. Durations follow from the record's own timestamps.
 */
export interface JobEvents {
  /** Stored and waiting in the queue. */
  queued(job: JobRecord): void;
  /** Luma accepted it (`submittedAt` set; `submittedAt - createdAt` is the time it waited). */
  submitted(job: JobRecord): void;
  /** Luma finished the image (`completedAt` set). */
  completed(job: JobRecord): void;
  /** The member has it (`delivery` set). */
  delivered(job: JobRecord): void;
  /** Ended in a failure with this code (the member is being told). */
  failed(job: JobRecord, code: string): void;
}

/** The Luma limits the scheduler works with right now, for operators. */
export interface LumaLimits {
  /** Jobs allowed at Luma at once now: the configured limit, or lower after Luma said "too many concurrent jobs". */
  concurrency: number;
  configuredConcurrency: number;
  /** POSTs per sliding minute held to: the configured limit, or Luma's X-RateLimit-Limit when that is lower. */
  requestsPerMinute: number;
  /** POSTs the last minute's window holds: ours, plus others' on the account that Luma's Remaining revealed. */
  postsLastMinute: number;
  /** No POST before this time (Luma's per-minute 429), ms since the epoch. */
  pausedUntil: number | undefined;
}
