// What each step of a job is given: only what it uses. The engine's work object (src/jobs/work.ts) provides them
// all; a step sees it through its own interface, so its dependencies are written in its signature.
import type { Dispatcher } from 'undici';
import type { Clock } from '../../clock.js';
import type { Logger } from '../../logger.js';
import type { LumaClient } from '../../luma/client.js';
import type { Deliverer, GroupView } from '../delivery.js';
import type { JobEvents } from '../events.js';
import type { KeptResults } from '../kept-results.js';
import type { SubmitBudget } from '../luma-budget.js';
import type { JobRecords } from '../records.js';
import type { JobRecord } from '../types.js';

/** The settings steps read (from Config). */
export interface StepConfig {
  readonly pollIntervalMs: number;
  readonly jobMaxAgeMs: number;
  readonly lumaOutageWindowMs: number;
  readonly lumaInlineMaxBytes: number;
  /** Where member images may be fetched again from (for the base64 fallback). */
  readonly discordCdnOrigins: readonly string[];
}

/** What every step has: the clock, the settings, the shutdown, the job's log, and saving its record. */
export interface StepBasics {
  readonly config: StepConfig;
  readonly clock: Clock;
  /** Aborted when stop() cuts running steps: every Luma call and download listens on it. */
  readonly signal: AbortSignal;
  /** True once stop() cut running steps: errors from then on are the shutdown's, not the job's. */
  readonly cut: boolean;
  /** True once the engine is stopping (no new work starts). */
  readonly stopped: boolean;
  /** A logger with the job's ids. */
  log(job: JobRecord): Logger;
  /**
   * Writes the record while the job's lease is ours (retried while storage refuses; throws when it gave up, and
   * LeaseLostError when another process holds the job now — nothing more may be done for it then).
   */
  save(job: JobRecord): Promise<void>;
  /** A fresh check of the job's lease before a side effect; throws LeaseLostError when it is not ours (see fence.ts). */
  checkLease(job: JobRecord, opts?: { holdMs?: number }): Promise<void>;
  /** Updates the member's progress line if it is due and would change. */
  showProgress(job: JobRecord): Promise<void>;
  /** Told at a job's turning points (metrics). */
  readonly events: JobEvents | undefined;
}

/** The money side of a job: the reserved units are kept when Luma accepts it, and given back after a failure. */
export interface JobCharges {
  commit(job: JobRecord): Promise<void>;
  /** Gives back what the job's failure calls for (retried in the background while storage refuses). */
  refund(job: JobRecord, reason: string, opts: { units: boolean }): Promise<void>;
}

/** What showing one image of a request for several needs: the others, and one delivery at a time. */
export interface GroupDeliveries {
  /**
   * Runs `fn` with the job's group as it stands (undefined for a job of one image), holding the group's lock: the
   * images of one request reach their shared answer one at a time, spaced by the progress interval.
   */
  withGroup<T>(job: JobRecord, fn: (group: GroupView | undefined) => Promise<T>): Promise<T>;
}

/** What the failure path uses. */
export interface FailContext extends StepBasics, GroupDeliveries {
  readonly charges: JobCharges;
  readonly deliver: Pick<Deliverer, 'failure'>;
  /** The job leaves this process: its lease, its Luma slot and what is held for it go. */
  forget(job: JobRecord): void;
  /** True the first time it is asked for a job in this process: its refund and notice happen once. */
  firstFinish(job: JobRecord): boolean;
}

/** What sending a job to Luma uses. */
export interface SubmitContext extends FailContext {
  readonly luma: Pick<LumaClient, 'createGeneration'>;
  readonly budget: SubmitBudget;
  /** For fetching member images again (the base64 fallback). */
  readonly downloads: Dispatcher;
  /** This process's other jobs Luma's concurrency limit counts now. */
  othersAtLuma(job: JobRecord): number;
}

/** What polling a job at Luma uses. */
export interface PollContext extends FailContext {
  readonly luma: Pick<LumaClient, 'getGeneration'>;
  readonly budget: Pick<SubmitBudget, 'release'>;
  /** Whether Luma's concurrency limit counts the job now. */
  isAtLuma(job: JobRecord): boolean;
  /** The output URL a poll saw, for the download that follows (not stored: it expires). */
  noteOutputUrl(job: JobRecord, url: string): void;
  /** Median processing time of recent jobs, ms. */
  estimateMs(): number | undefined;
  recordDuration(ms: number): void;
}

/** What fetching and delivering a finished job uses. */
export interface TransferContext extends FailContext {
  readonly luma: Pick<LumaClient, 'getGeneration'>;
  readonly downloads: Dispatcher;
  readonly deliver: Pick<Deliverer, 'failure' | 'findDelivered' | 'beforeResult' | 'result'>;
  readonly kept: Pick<KeptResults, 'putResult' | 'add' | 'remove'>;
  /** The output URL the last poll saw, taken (once). */
  takeOutputUrl(job: JobRecord): string | undefined;
  /** Whether the job was loaded from storage by this process (a previous one may have half-delivered it). */
  wasResumed(job: JobRecord): boolean;
}

/** What handing kept results over uses. */
export interface HandOverContext {
  readonly clock: Clock;
  readonly log: Logger;
  readonly records: Pick<JobRecords, 'get' | 'save'>;
  readonly kept: Pick<KeptResults, 'list' | 'exclusive' | 'getResult' | 'remove'>;
  readonly deliver: Pick<Deliverer, 'handOver'>;
}
