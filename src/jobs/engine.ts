import type { Dispatcher } from 'undici';
import { systemClock, type Clock, type Timer } from '../clock.js';
import type { Config } from '../config.js';
import { UserFacingError } from '../errors.js';
import { t } from '../i18n/index.js';
import type { Logger } from '../logger.js';
import type { LumaClient } from '../luma/client.js';
import type { Deliverer, HandOverTo } from './delivery.js';
import { lumaLimits, type JobEvents, type LumaLimits } from './events.js';
import type { KeptResults } from './kept-results.js';
import { LocalJobLeases, type JobLeases } from './leases.js';
import { LocalSubmitBudget, type SubmitBudget } from './luma-budget.js';
import { LocalLumaBreaker, type LumaBreaker } from './luma-breaker.js';
import type { JobRecords } from './records.js';
import { Scheduler } from './scheduler.js';
import { storeNewJobs } from './store-new.js';
import { takeOverJobs } from './takeover.js';
import type { JobCharges } from './steps/context.js';
import { handOverUndelivered } from './steps/hand-over.js';
import { TransferBudget } from './transfer-budget.js';
import type { JobRecord, JobStep, ReplyRoute } from './types.js';
import { JobWork } from './work.js';

/** How long stop() lets running steps finish before cutting the ones still waiting on the network. */
const STOP_GRACE_MS = 6000;

export type EngineConfig = Pick<
  Config,
  | 'pollIntervalMs'
  | 'progressIntervalMs'
  | 'lumaMaxConcurrentJobs'
  | 'lumaMaxRequestsPerMinute'
  | 'lumaRpmCeiling'
  | 'maxJobsPerUser'
  | 'transferBudgetBytes'
  | 'discordCdnOrigins'
  | 'jobMaxAgeMs'
  | 'lumaOutageWindowMs'
  | 'lumaInlineMaxBytes'
>;

export interface EngineDeps {
  config: EngineConfig;
  luma: Pick<LumaClient, 'createGeneration' | 'getGeneration'>;
  /** undici dispatcher for downloads (result images, member images for the base64 fallback). */
  http: Dispatcher;
  records: JobRecords;
  kept: KeptResults;
  /** How results, failures and progress reach the member. */
  deliverer: Deliverer;
  logger: Logger;
  /** Keeps and gives back the jobs' units (charges.ts). Default: nothing is charged. */
  charges?: JobCharges;
  /** When a POST may go (Luma's account limits). Default: a LocalSubmitBudget from the configured limits. */
  budget?: SubmitBudget;
  /** Whether Luma is down: one probe at a time while it is. Default: a LocalLumaBreaker (this process alone). */
  breaker?: LumaBreaker;
  /**
   * Which jobs this process works on (leases.ts), and how often it looks for jobs whose process died, ms
   * (JOB_LEASE_MS). Default: a LocalJobLeases (every job is ours: one process on its own storage), no takeover scan.
   */
  leases?: JobLeases;
  takeoverIntervalMs?: number;
  clock?: Clock;
  /** Told at a job's turning points (metrics); optional. */
  events?: JobEvents;
}

const NO_CHARGES: JobCharges = { commit: async () => undefined, refund: async () => undefined };

/**
 * Every job in this process. Jobs are records that move through steps (src/jobs/steps); each step is a short task
 * that reads the record, does one thing, and writes the record back. The scheduler decides what runs when; this
 * class takes jobs in (new ones, ones left by a stopped process, a Retry of an undelivered one) and lets them go
 * at shutdown.
 */
export class JobEngine {
  private readonly work: JobWork;
  private readonly scheduler: Scheduler;
  /** Jobs a Retry click is being handled for right now (two quick clicks start one retry). */
  private readonly retrying = new Set<string>();
  private takeoverTimer: Timer | undefined;
  private takingOver: Promise<void> | undefined;
  private readonly clock: Clock;
  private readonly log: Logger;

  constructor(private readonly deps: EngineDeps) {
    this.clock = deps.clock ?? systemClock;
    this.log = deps.logger.child({ component: 'jobs' });
    const c = deps.config;
    this.work = new JobWork({
      config: c,
      clock: this.clock,
      log: this.log,
      luma: deps.luma,
      downloads: deps.http,
      records: deps.records,
      kept: deps.kept,
      deliver: deps.deliverer,
      charges: deps.charges ?? NO_CHARGES,
      budget: deps.budget ?? new LocalSubmitBudget({ requestsPerMinute: c.lumaMaxRequestsPerMinute, requestsPerMinuteCeiling: c.lumaRpmCeiling, concurrentJobs: c.lumaMaxConcurrentJobs, logger: this.log }),
      breaker: deps.breaker ?? new LocalLumaBreaker({ clock: this.clock, logger: this.log }),
      transfers: new TransferBudget(c.transferBudgetBytes, deps.deliverer.resultLayout, this.clock),
      leases: deps.leases ?? new LocalJobLeases(deps.records.env.storage),
      events: deps.events,
    });
    this.scheduler = new Scheduler(this.work);
    // The shared breaker's news (another process's probe, a grant of ours) starts a pass.
    this.work.breaker.onChange(() => this.scheduler.wake());
  }

  /** Luma's account limits: the scheduler picks who goes next, the budget says when. */
  get budget(): SubmitBudget {
    return this.work.budget;
  }

  /**
   * Loads every unfinished job no live process holds (its own from before a restart, a dead process's) and starts
   * working on them; then looks for such jobs every takeoverIntervalMs (another process may die).
   */
  async start(): Promise<void> {
    const { leases } = this.work;
    const count = await this.takeOver();
    if (count > 0) this.log.info({ count, processId: leases.processId }, 'resumed unfinished jobs');
    this.scheduler.wake();
    const every = this.deps.takeoverIntervalMs;
    if (every !== undefined && every > 0) {
      this.takeoverTimer = this.clock
        .setInterval(() => {
          if (this.takingOver || this.work.stopped) return;
          this.takingOver = this.takeOver()
            .then((n) => {
              if (n > 0) this.log.warn({ count: n, processId: leases.processId }, 'took over jobs whose process stopped renewing its lease');
              if (n > 0) this.scheduler.wake();
            })
            .catch((err: unknown) => this.log.warn({ err }, 'could not look for jobs to take over; trying again'))
            .finally(() => (this.takingOver = undefined));
        }, every)
        .unref();
    }
  }

  /** Claims the unfinished jobs nobody live holds and resumes each at its saved step; returns how many. */
  private takeOver(): Promise<number> {
    return takeOverJobs(this.work, this.deps.records, this.log);
  }

  /**
   * Stops taking work and lets running steps finish (each ends with a save). A step still waiting on the network
   * after the grace period is cut; its record stays at its last saved step and the next start resumes it. Resolves
   * when nothing of the engine runs any more, so storage can be closed.
   */
  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    const work = this.work;
    work.stopped = true;
    this.scheduler.stop();
    this.clock.clearInterval(this.takeoverTimer);
    // A job still waiting for a shared Luma slot gives up now (it stays queued and resumes later), not after the grace.
    await work.budget.close?.();
    await work.breaker.close?.();
    await this.takingOver;
    if (!(await this.scheduler.settled(graceMs))) {
      this.log.warn({ running: this.scheduler.running }, 'cutting running job steps short to shut down; they resume at the next start');
      work.cutRunningSteps();
      await this.scheduler.settled(1500);
    }
    // Ended jobs leave the index now rather than be read again at the next start.
    await this.deps.records.flushIndex().catch((err: unknown) => this.log.warn({ err }, 'could not take ended jobs out of the active index; the next start does'));
    // Every step is saved: another process may take our unfinished jobs over at once.
    await work.leases.close();
  }

  /** Stores a new request's jobs (one per image), all or none (store-new.ts), and queues them: no restart loses them. */
  async enqueue(jobs: readonly JobRecord[]): Promise<void> {
    const work = this.work;
    await storeNewJobs(work, jobs, this.log);
    for (const job of jobs) {
      work.add(job);
      this.log.info({ jobId: job.id, userId: job.requester.userId, guildId: job.requester.guildId, kind: job.kind, ...(job.group ? { groupId: job.group.id, image: job.group.index + 1 } : {}) }, 'job queued');
      this.deps.events?.queued(job);
    }
    this.scheduler.wake();
  }

  /**
   * Takes a job whose image exists at Luma but never reached the member through delivery again, answering through
   * a new request's route (`replyTo`: the Retry click's). Not charged again: its unit was refunded when delivery
   * failed. The record is read again under the claim, so a click that loaded the job before a first redelivery
   * finished is refused.
   */
  async redeliver(jobId: string, replyTo: ReplyRoute, locale: string | undefined): Promise<void> {
    const work = this.work;
    const job = await this.deps.records.get(jobId);
    if (!job || work.has(jobId) || (job.step !== 'failed' && job.step !== 'undelivered')) throw alreadyRetrying(locale);
    job.replyTo = replyTo;
    delete job.group; // delivered again on its own, in the Retry's reply
    job.step = 'downloading';
    job.progress = {};
    delete job.failure;
    delete job.notBefore;
    if (!(await work.leases.claim([job.id])).has(job.id)) throw alreadyRetrying(locale);
    await work.save(job);
    work.add(job);
    this.scheduler.wake();
  }

  /**
   * Runs `fn` (a Retry of the job) unless one is already running for it in this process — a Retry click being
   * handled, the job itself, or a job made from it — in which case the member is told so (two quick clicks start
   * one retry).
   */
  async retry<T>(jobId: string, locale: string | undefined, fn: () => Promise<T>): Promise<T> {
    if (this.isWorkingOn(jobId) || this.retrying.has(jobId)) throw alreadyRetrying(locale, 'refuse.alreadyRetrying');
    this.retrying.add(jobId);
    try {
      return await fn();
    } finally {
      this.retrying.delete(jobId);
    }
  }

  /** Kept results of the member go to them through their current request (see steps/hand-over.ts). */
  handOverUndelivered(to: HandOverTo): Promise<void> {
    const work = this.work;
    return handOverUndelivered(
      { clock: this.clock, log: this.log, records: { get: (id) => this.deps.records.get(id), save: (job) => work.save(job) }, kept: this.deps.kept, deliver: this.deps.deliverer },
      to,
    );
  }

  /** Whether this process is working on the job, or on a job made from it (a retry of it that is still running). */
  isWorkingOn(jobId: string): boolean {
    if (this.work.has(jobId)) return true;
    for (const j of this.work.all()) if (j.parentJobId === jobId) return true;
    return false;
  }

  /** Median processing time of recent jobs, ms. */
  estimateMs(): number | undefined {
    return this.work.estimateMs();
  }

  /** For operators: jobs this process works on, in all and by step, and when the oldest one still queued was made. */
  jobStats(): { total: number; steps: Partial<Record<JobStep, number>>; oldestQueuedAt: number | undefined } {
    const steps: Partial<Record<JobStep, number>> = {};
    let oldestQueuedAt: number | undefined;
    for (const j of this.work.all()) {
      steps[j.step] = (steps[j.step] ?? 0) + 1;
      if (j.step === 'queued') oldestQueuedAt = Math.min(oldestQueuedAt ?? Infinity, j.createdAt);
    }
    return { total: this.work.size, steps, oldestQueuedAt };
  }

  /** For operators: the Luma limits the scheduler applies now (what it learnt from Luma's headers and 429s included). */
  lumaLimits(): LumaLimits {
    return lumaLimits(this.work, this.deps.config, this.clock.now());
  }
}

function alreadyRetrying(locale: string | undefined, key: 'job.alreadyRetrying' | 'refuse.alreadyRetrying' = 'job.alreadyRetrying'): UserFacingError {
  return new UserFacingError(t(locale, key), { code: 'already_retrying' });
}
