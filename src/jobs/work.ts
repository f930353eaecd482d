import { setMaxListeners } from 'node:events';
import type { Dispatcher } from 'undici';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { LumaClient } from '../luma/client.js';
import type { Deliverer, GroupView } from './delivery.js';
import type { JobEvents } from './events.js';
import { RecentDurations } from './durations.js';
import { JobGroups } from './groups.js';
import type { KeptResults } from './kept-results.js';
import { retryStorage, StorageError } from '../storage/index.js';
import { LeaseLostError, type JobLeases, } from './fence.js';
import type { SubmitBudget } from './luma-budget.js';
import { watchedLuma, type LumaBreaker } from './luma-breaker.js';
import { progressState } from './progress.js';
import type { JobRecords } from './records.js';
import type { JobCharges, StepConfig, SubmitContext, PollContext, TransferContext } from './steps/context.js';
import type { TransferBudget } from './transfer-budget.js';
import type { JobRecord } from './types.js';

/** What a job is busy with while a task of it runs. */
export type Task = 'submit' | 'poll' | 'transfer' | 'progress' | 'finish';

/** The reason in-flight calls are aborted with when the process stops. */
export class ShutdownError extends Error {
  override name = 'ShutdownError';
}

/** What keeps track of the jobs (the scheduler). */
export interface JobWatcher {
  added(job: JobRecord): void;
  /** Written now: its step may have changed. */
  saved(job: JobRecord): void;
  left(job: JobRecord): void;
}

export interface WorkConfig extends StepConfig {
  readonly progressIntervalMs: number;
  readonly maxJobsPerUser: number;
}

export interface WorkDeps {
  config: WorkConfig;
  clock: Clock;
  log: Logger;
  luma: Pick<LumaClient, 'createGeneration' | 'getGeneration'>;
  downloads: Dispatcher;
  records: JobRecords;
  kept: KeptResults;
  deliver: Deliverer;
  charges: JobCharges;
  budget: SubmitBudget;
  /** Whether Luma is down (the steps' Luma calls tell it what Luma answers). */
  breaker: LumaBreaker;
  transfers: TransferBudget;
  leases: JobLeases;
  events: JobEvents | undefined;
}

/**
 * The jobs this process works on, and everything their steps do with them: save, forget, show progress, the
 * output URL between a poll and its download. Steps see it only through their own interfaces (steps/context.ts);
 * the scheduler and the engine use the rest. Job records change only in the steps and the engine.
 */
export class JobWork implements SubmitContext, PollContext, TransferContext {
  private readonly jobs = new Map<string, JobRecord>();
  /** What each job is busy with while a task of it runs. */
  readonly busy = new Map<string, Task>();
  /** A completed generation's output URL, from the poll that saw it, for the download that follows. */
  private readonly outputUrls = new Map<string, string>();
  /** Jobs loaded from storage by this process: a previous one may have half-delivered them. */
  private readonly resumed = new Set<string>();
  /** Jobs whose failure is being finished: the refund and the notice happen once per job in this process. */
  private readonly finishing = new Set<string>();
  /** Jobs dropped because another process holds them now: nothing more is saved or done for them here. */
  private readonly dropped = new WeakSet<JobRecord>();
  private readonly durations = new RecentDurations();
  /** Aborted when stop() gives up waiting: cuts Luma calls and downloads that hang. */
  private readonly shutdown = new AbortController();
  private watcher: JobWatcher | undefined;
  stopped = false;

  readonly config: WorkConfig;
  readonly clock: Clock;
  readonly luma: WorkDeps['luma'];
  readonly downloads: Dispatcher;
  readonly deliver: Deliverer;
  readonly charges: JobCharges;
  readonly budget: SubmitBudget;
  readonly breaker: LumaBreaker;
  readonly transfers: TransferBudget;
  readonly leases: JobLeases;
  readonly kept: KeptResults;
  readonly events: JobEvents | undefined;
  readonly baseLog: Logger;
  private readonly groups: JobGroups;

  constructor(private readonly deps: WorkDeps) {
    ({ config: this.config, clock: this.clock, downloads: this.downloads, deliver: this.deliver, charges: this.charges } = deps);
    ({ budget: this.budget, breaker: this.breaker, transfers: this.transfers, leases: this.leases, kept: this.kept, events: this.events } = deps);
    // Every call a step makes to Luma tells the breaker what Luma answered.
    this.luma = watchedLuma(deps.luma, deps.breaker, deps.clock);
    this.baseLog = deps.log;
    // Every running poll, POST and download listens on this one signal (and stops listening when it ends): dozens
    // at once is normal, not a leak.
    setMaxListeners(0, this.shutdown.signal);
    this.groups = new JobGroups({
      storage: deps.records.env.storage,
      stored: (id) => deps.records.get(id),
      local: (id) => this.jobs.get(id),
      clock: this.clock,
      intervalMs: this.config.progressIntervalMs,
      signal: () => this.signal,
      log: this.baseLog,
    });
    // Our heartbeat had lapsed and other processes took these jobs meanwhile: they leave us at once.
    this.leases.onLost((ids) => {
      for (const id of ids) {
        const job = this.jobs.get(id);
        if (job) this.drop(job, new LeaseLostError(id, 'taken over by another process while this one’s heartbeat had lapsed'), { logged: true });
      }
    });
  }

  withGroup<T>(job: JobRecord, fn: (group: GroupView | undefined) => Promise<T>): Promise<T> {
    return this.groups.withGroup(job, fn);
  }

  get signal(): AbortSignal {
    return this.shutdown.signal;
  }

  get cut(): boolean {
    return this.shutdown.signal.aborted;
  }

  cutRunningSteps(): void {
    this.shutdown.abort(new ShutdownError('the bot is shutting down'));
  }

  log(job: JobRecord): Logger {
    return this.baseLog.child({ jobId: job.id, generationId: job.generationId, userId: job.requester.userId, guildId: job.requester.guildId });
  }

  // --- the jobs of this process ---

  get size(): number {
    return this.jobs.size;
  }

  has(id: string): boolean {
    return this.jobs.has(id);
  }

  owns(job: JobRecord): boolean {
    return this.jobs.get(job.id) === job;
  }

  all(): IterableIterator<JobRecord> {
    return this.jobs.values();
  }

  watch(watcher: JobWatcher): void {
    this.watcher = watcher;
  }

  /** A job joins this process's work (`resumed`: loaded from storage, a previous process may have half-done it). */
  add(job: JobRecord, opts: { resumed?: boolean } = {}): void {
    this.jobs.set(job.id, job);
    if (opts.resumed) this.resumed.add(job.id);
    this.watcher?.added(job);
  }

  /** The job leaves this process: its lease, its Luma slot and everything held for it go. */
  forget(job: JobRecord): void {
    this.budget.release?.(job.id);
    void this.leases.release(job.id);
    if (this.jobs.get(job.id) === job) {
      this.jobs.delete(job.id);
      this.watcher?.left(job);
    }
    this.outputUrls.delete(job.id);
    this.resumed.delete(job.id);
    this.finishing.delete(job.id);
  }

  /** The job is another process's now (fence.ts): it leaves at once, with no further save or side effect. */
  drop(job: JobRecord, err: LeaseLostError, opts: { logged?: boolean } = {}): void {
    if (this.dropped.has(job)) return;
    this.dropped.add(job);
    this.forget(job);
    if (opts.logged) return this.log(job).warn({ why: err.why }, 'job dropped: another process holds it now');
    this.log(job).error({ alert: true, processId: this.leases.processId, step: job.step, why: err.why }, 'OPERATOR: a job this process worked on is another process’s now (its lease lapsed: the process stalled or Redis was unreachable); dropped here without another step. Raise JOB_LEASE_MS above Redis failover times and pauses');
  }

  /** A fresh check of the job's lease before a side effect (the POST, an upload, a refund): see JobLeases.check. */
  async checkLease(job: JobRecord, opts: { holdMs?: number; recent?: boolean } = {}): Promise<void> {
    if (this.dropped.has(job) || (!this.owns(job) && !this.leases.holds(job.id))) throw new LeaseLostError(job.id, 'dropped by this process');
    const { env } = this.deps.records;
    await retryStorage(() => this.leases.check(job.id, opts), env.retryDelaysMs, (err, attempt) => this.log(job).warn({ err, attempt }, 'could not check the job’s lease; trying again'), this.clock);
  }

  firstFinish(job: JobRecord): boolean {
    if (this.finishing.has(job.id)) return false;
    this.finishing.add(job.id);
    return true;
  }

  wasResumed(job: JobRecord): boolean {
    return this.resumed.has(job.id);
  }

  noteOutputUrl(job: JobRecord, url: string): void {
    this.outputUrls.set(job.id, url);
  }

  /** Whether a poll left the job a fresh output URL (its download needs no call to Luma first). */
  hasOutputUrl(job: JobRecord): boolean {
    return this.outputUrls.has(job.id);
  }

  takeOutputUrl(job: JobRecord): string | undefined {
    const url = this.outputUrls.get(job.id);
    this.outputUrls.delete(job.id);
    return url;
  }

  /** Whether Luma's concurrency limit counts this job now: sent (or being sent) and not finished there. */
  isAtLuma(j: JobRecord): boolean {
    return j.step === 'submitting' || (j.step === 'polling' && j.lastLumaState !== 'completed' && j.lastLumaState !== 'failed');
  }

  othersAtLuma(job: JobRecord): number {
    let others = 0;
    for (const j of this.jobs.values()) if (j !== job && this.isAtLuma(j)) others++;
    return others;
  }

  // --- records ---

  /**
   * Every write of a job record of this process. The delivery side first drops what its route must not keep (a
   * secret that expired, or any once the job ended).
   */
  async save(job: JobRecord, opts: { newJob?: boolean } = {}): Promise<void> {
    // Ours: only while its lease is (compare-and-set on owner and epoch); a kept result handed over: as it is.
    const fenced = this.dropped.has(job) || this.jobs.get(job.id) === job || this.leases.holds(job.id);
    if (this.dropped.has(job)) throw new LeaseLostError(job.id, 'dropped by this process');
    if (this.jobs.get(job.id) === job) this.watcher?.saved(job);
    const ended = job.step === 'done' || job.step === 'failed' || job.step === 'undelivered';
    this.deliver.scrub(job, this.clock.now(), ended);
    const write = fenced ? (key: string, value: unknown, ttlMs: number | undefined) => this.leases.write(job.id, key, value, ttlMs) : undefined;
    await this.deps.records.save(job, { ...opts, ...(write ? { write } : {}) });
  }

  // --- progress ---

  estimateMs = (): number | undefined => this.durations.estimateMs();
  recordDuration = (ms: number): void => this.durations.record(ms);

  /** ms until the job's progress may be shown again (`factor` times the progress interval after the last time). */
  progressWait(job: JobRecord, now: number, factor = 1): number {
    if (!this.deliver.canShowProgress(job, now)) return Infinity;
    const last = job.progress.editedAt ?? 0;
    return Math.max(0, last + this.config.progressIntervalMs * factor - now);
  }

  /** Whether the job's progress may be edited now: ours (LeaseLostError when not); false while storage does not answer. */
  private async progressFenced(job: JobRecord): Promise<boolean> {
    if (this.dropped.has(job) || !this.owns(job)) throw new LeaseLostError(job.id, 'dropped by this process');
    return this.leases.check(job.id, { recent: true }).then(
      () => true,
      (err: unknown) => {
        if (err instanceof StorageError) return false;
        throw err;
      },
    );
  }

  /** Shows where the job stands when the last update is old enough and the line would change (one message, throttled). */
  async showProgress(job: JobRecord, position?: number): Promise<void> {
    const now = this.clock.now();
    if (this.progressWait(job, now) > 0) return;
    const estimateMs = this.estimateMs();
    const state = progressState(job, { now, ...(position !== undefined ? { position } : {}), ...(estimateMs !== undefined ? { estimateMs } : {}) });
    if (!state) return;
    // An image of several shows the request's progress only while it leads it (groups.ts).
    await this.groups.showProgress(job, async () => {
      // A process whose lease lapsed must not edit the member's reply either (it could hide a delivered result).
      if (!(await this.progressFenced(job))) return;
      const shown = await this.deliver.progress(job, state, now);
      // Saved with the job's next step. A failed edit counts too: the next try waits its turn.
      if (shown !== 'unchanged') job.progress = { editedAt: now, ...(position !== undefined ? { position } : {}) };
      // The line already says it (a state without a place, such as Luma being down): this place is shown too.
      else if (position !== undefined) job.progress.position = position;
    });
  }
}
