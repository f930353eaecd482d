import type { Config } from '../config.js';
import type { BreakerStatus, LumaBreaker } from './luma-breaker.js';
import type { RequestsPerMinuteSource, SubmitBudget } from './luma-budget.js';
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

/** The Luma limits the scheduler works with right now, and where each came from, for operators. */
export interface LumaLimits {
  /** Jobs allowed at Luma at once now: the configured limit, or lower after Luma said "too many concurrent jobs". */
  concurrency: number;
  configuredConcurrency: number;
  /**
   * How long jobs waited for a slot at the configured concurrency without Luma refusing one for concurrency (since
   * the last refusal), ms: a long time means the plan may allow more than configured.
   */
  busyAtConcurrencyMs: number;
  /** POSTs per sliding minute held to: Luma's X-RateLimit-Limit once reported, within the ceiling. */
  requestsPerMinute: number;
  requestsPerMinuteSource: RequestsPerMinuteSource;
  /** LUMA_MAX_REQUESTS_PER_MINUTE: where the bot starts. */
  configuredRequestsPerMinute: number;
  /** LUMA_RPM_CEILING, when set. */
  requestsPerMinuteCeiling: number | undefined;
  /** What Luma last reported (X-RateLimit-Limit), before the ceiling. */
  learnedRequestsPerMinute: number | undefined;
  /** POSTs the last minute's window holds: ours, plus others' on the account that Luma's Remaining revealed. */
  postsLastMinute: number;
  /** No POST before this time (Luma's per-minute 429), ms since the epoch. */
  pausedUntil: number | undefined;
  /** Whether Luma is down (the breaker open: one probe at a time), since when, and the next probe. */
  luma: BreakerStatus;
}

/** The limits in force and Luma's state as the budget and the breaker see them at `now`. */
export function lumaLimits(
  from: { budget: SubmitBudget; breaker: LumaBreaker },
  config: Pick<Config, 'lumaMaxConcurrentJobs' | 'lumaMaxRequestsPerMinute' | 'lumaRpmCeiling'>,
  now: number,
): LumaLimits {
  const b = from.budget.limits(now);
  return {
    concurrency: b.concurrentJobs,
    configuredConcurrency: config.lumaMaxConcurrentJobs,
    busyAtConcurrencyMs: b.busyAtConcurrencyMs,
    requestsPerMinute: b.requestsPerMinute,
    requestsPerMinuteSource: b.requestsPerMinuteSource,
    configuredRequestsPerMinute: config.lumaMaxRequestsPerMinute,
    requestsPerMinuteCeiling: config.lumaRpmCeiling,
    learnedRequestsPerMinute: b.learnedRequestsPerMinute,
    postsLastMinute: b.windowUsed,
    pausedUntil: b.pausedUntil > now ? b.pausedUntil : undefined,
    luma: from.breaker.status(now),
  };
}
