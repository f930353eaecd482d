import { setMaxListeners } from 'node:events';
import type { Dispatcher } from 'undici';
import type { Config } from '../config.js';
import type { LumaClient } from '../luma/client.js';
import type { Logger } from '../logger.js';
import { tokenUsable, type Deliverer } from './deliverer.js';
import type { JobEvents } from './events.js';
import { LocalJobLeases, type JobLeases } from './leases.js';
import { LocalSubmitBudget, type SubmitBudget } from './luma-budget.js';
import type { JobStore } from './store.js';
import { TransferBudget } from './transfer-budget.js';
import type { JobRecord } from './types.js';
import type { QuotaHooks } from '../quota/types.js';

export interface EngineDeps {
  config: Pick<
    Config,
    | 'pollIntervalMs'
    | 'progressIntervalMs'
    | 'lumaMaxConcurrentJobs'
    | 'lumaMaxRequestsPerMinute'
    | 'maxJobsPerUser'
    | 'transferBudgetBytes'
    | 'discordCdnOrigins'
    | 'jobMaxAgeMs'
    | 'lumaOutageWindowMs'
    | 'lumaInlineMaxBytes'
  >;
  luma: LumaClient;
  /** undici dispatcher for downloads (result images, member images for the base64 fallback). */
  http: Dispatcher;
  store: JobStore;
  /** How results, failures and progress reach the member. */
  deliverer: Deliverer;
  logger: Logger;
  quota?: QuotaHooks;
  /** When a POST may go (Luma's account limits). Default: a LocalSubmitBudget from the configured limits. */
  budget?: SubmitBudget;
  /**
   * Which jobs this process works on (leases.ts), and how often it looks for jobs whose process died, ms
   * (JOB_LEASE_MS). Default: a LocalJobLeases (every job is ours: one process on its own storage), no takeover scan.
   */
  leases?: JobLeases;
  takeoverIntervalMs?: number;
  now?: () => number;
  /** Told at a job's turning points (metrics); optional. */
  events?: JobEvents;
}

/** What keeps track of the jobs (the scheduler). */
export interface JobWatcher {
  added(job: JobRecord): void;
  /** Written now: its step may have changed. */
  saved(job: JobRecord): void;
  left(job: JobRecord): void;
}

/** What a job is busy with while a task of it runs. */
export type Task = 'submit' | 'poll' | 'transfer' | 'progress' | 'finish';

/** The reason in-flight calls are aborted with when the process stops. */
export class ShutdownError extends Error {
  override name = 'ShutdownError';
}

/**
 * The state the scheduler and the steps share: the jobs this process works on, what each is busy with, and the
 * few operations every step needs (save, forget, show progress). Job records change only in the engine's steps.
 */
export class JobRuntime {
  readonly jobs = new Map<string, JobRecord>();
  readonly busy = new Map<string, Task>();
  /** A completed generation's output URL, from the poll that saw it, for the download that follows. */
  readonly freshUrls = new Map<string, string>();
  /** Jobs loaded by start(): they may have been half-delivered by the previous process. */
  readonly resumed = new Set<string>();
  /** Jobs whose failure is being finished: the refund and the notice happen once per job in this process. */
  readonly finishing = new Set<string>();
  private readonly durations: number[] = [];
  private median: number | undefined;
  /** Aborted when stop() gives up waiting: cuts Luma calls and downloads that hang. */
  private readonly shutdown = new AbortController();
  /** Luma's account limits: the pump picks who goes next, the budget says when. */
  readonly budget: SubmitBudget;
  /** Result bytes held by running downloads/uploads, bounded by TRANSFER_BUDGET_MB. */
  readonly transfers: TransferBudget;
  /** Which jobs are ours (a lease each). */
  readonly leases: JobLeases;
  readonly now: () => number;
  readonly log: Logger;
  stopped = false;
  /** Told when a job joins, may have changed step (a save), or leaves: the scheduler's indexes. */
  private watcher: JobWatcher | undefined;

  constructor(readonly deps: EngineDeps) {
    this.now = deps.now ?? Date.now;
    this.log = deps.logger.child({ component: 'jobs' });
    this.transfers = new TransferBudget(deps.config.transferBudgetBytes);
    this.leases = deps.leases ?? new LocalJobLeases();
    this.budget =
      deps.budget ??
      new LocalSubmitBudget({ requestsPerMinute: deps.config.lumaMaxRequestsPerMinute, concurrentJobs: deps.config.lumaMaxConcurrentJobs, logger: this.log });
    // Every running poll, POST and download listens on this one signal (and stops listening when it ends): dozens
    // at once is normal, not a leak.
    setMaxListeners(0, this.shutdown.signal);
  }

  get config(): EngineDeps['config'] {
    return this.deps.config;
  }

  /** Listened on by every Luma call and download: aborted when stop() cuts running steps. */
  get signal(): AbortSignal {
    return this.shutdown.signal;
  }

  /** True once stop() cut running steps: errors from then on are the shutdown's, not the job's. */
  get cut(): boolean {
    return this.shutdown.signal.aborted;
  }

  cutRunningSteps(): void {
    this.shutdown.abort(new ShutdownError('the bot is shutting down'));
  }

  /** A child logger with the job's ids. */
  jobLog(job: JobRecord): Logger {
    return this.log.child({ jobId: job.id, generationId: job.generationId, userId: job.discord.userId, guildId: job.discord.guildId });
  }

  /**
   * Every write of a job record. An interaction token stays in the record only while the job can still use it:
   * it is dropped once it expired or the job ended (a new click brings a new one).
   */
  async save(job: JobRecord, opts: { newJob?: boolean } = {}): Promise<void> {
    if (this.jobs.get(job.id) === job) this.watcher?.saved(job);
    const ended = job.step === 'done' || job.step === 'failed' || job.step === 'undelivered';
    if (job.discord.interactionToken !== '' && (ended || this.now() >= job.discord.tokenExpiresAt)) job.discord.interactionToken = '';
    await this.deps.store.save(job, opts);
  }

  watch(watcher: JobWatcher): void {
    this.watcher = watcher;
  }

  /** A job joins this process's work. */
  add(job: JobRecord): void {
    this.jobs.set(job.id, job);
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
    this.freshUrls.delete(job.id);
    this.resumed.delete(job.id);
    this.finishing.delete(job.id);
  }

  tokenUsable(job: JobRecord): boolean {
    return tokenUsable(job, this.now());
  }

  /** Whether Luma's concurrency limit counts this job now: sent (or being sent) and not finished there. */
  isAtLuma(j: JobRecord): boolean {
    return j.step === 'submitting' || (j.step === 'polling' && j.lastLumaState !== 'completed' && j.lastLumaState !== 'failed');
  }

  /** Median processing time of recent jobs, ms (asked at every poll and progress edit: kept until the next job ends). */
  estimateMs(): number | undefined {
    if (this.durations.length < 3) return undefined;
    if (this.median === undefined) {
      const sorted = [...this.durations].sort((a, b) => a - b);
      this.median = sorted[Math.floor(sorted.length / 2)];
    }
    return this.median;
  }

  recordDuration(ms: number): void {
    this.durations.push(ms);
    if (this.durations.length > 25) this.durations.shift();
    this.median = undefined;
  }

  /** ms until the job's progress may be edited again (`factor` times the progress interval after the last edit). */
  progressWait(job: JobRecord, now: number, factor = 1): number {
    if (!this.tokenUsable(job)) return Infinity;
    const last = job.progress.editedAt ?? 0;
    return Math.max(0, last + this.deps.config.progressIntervalMs * factor - now);
  }

  /** Edits the progress reply when its text changed and the last edit is old enough (one message, throttled). */
  async editProgress(job: JobRecord, queuePosition?: number): Promise<void> {
    const now = this.now();
    if (this.progressWait(job, now) > 0) return;
    const estimate = this.estimateMs();
    const text = this.deps.deliverer.progressText(job, { now, ...(queuePosition !== undefined ? { queuePosition } : {}), ...(estimate !== undefined ? { estimateMs: estimate } : {}) });
    if (text === job.progress.text) return;
    job.progress = { text, editedAt: now };
    const shown = await this.deps.deliverer.progress(job, text);
    if (shown.outcome === 'shown') job.discord.originalMessageId ??= shown.messageId; // saved with the next step
    // A dead token: stop editing; the result goes by channel message.
    else if (shown.outcome === 'token-expired') job.discord.tokenExpiresAt = now;
  }
}
