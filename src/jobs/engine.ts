import { UserFacingError } from '../errors.js';
import { t } from '../i18n/index.js';
import { withoutInlineData } from './create.js';
import type { HandOverTarget } from './deliverer.js';
import type { LumaLimits } from './events.js';
import { JobRuntime, type EngineDeps } from './runtime.js';
import { Scheduler } from './scheduler.js';
import { handOverUndelivered } from './steps/hand-over.js';
import type { JobDiscord, JobRecord, JobStep } from './types.js';

export type { EngineDeps } from './runtime.js';

/** How long stop() lets running steps finish before cutting the ones still waiting on the network. */
const STOP_GRACE_MS = 6000;

/**
 * Every job in this process. Jobs are records that move through steps (src/jobs/steps); each step is a short task
 * that reads the record, does one thing, and writes the record back. The scheduler decides what runs when; this
 * class takes jobs in (new ones, ones left by a stopped process, a Retry of an undelivered one) and lets them go
 * at shutdown.
 */
export class JobEngine {
  private readonly rt: JobRuntime;
  private readonly scheduler: Scheduler;
  /** Jobs a Retry click is handing back to the engine right now (two quick clicks start one redelivery). */
  private readonly redelivering = new Set<string>();
  private takeoverTimer: NodeJS.Timeout | undefined;
  private takingOver: Promise<void> | undefined;

  constructor(private readonly deps: EngineDeps) {
    this.rt = new JobRuntime(deps);
    this.scheduler = new Scheduler(this.rt);
  }

  /** Luma's account limits: the scheduler picks who goes next, the budget says when. */
  get budget(): JobRuntime['budget'] {
    return this.rt.budget;
  }

  /**
   * Loads every unfinished job no live process holds (its own from before a restart, a dead process's) and starts
   * working on them; then looks for such jobs every takeoverIntervalMs (another process may die).
   */
  async start(): Promise<void> {
    const { log, leases } = this.rt;
    const count = await this.takeOver();
    if (count > 0) log.info({ count, processId: leases.processId }, 'resumed unfinished jobs');
    this.scheduler.wake();
    const every = this.deps.takeoverIntervalMs;
    if (every !== undefined && every > 0) {
      this.takeoverTimer = setInterval(() => {
        if (this.takingOver || this.rt.stopped) return;
        this.takingOver = this.takeOver()
          .then((n) => {
            if (n > 0) log.warn({ count: n, processId: leases.processId }, 'took over jobs whose process stopped renewing its lease');
            if (n > 0) this.scheduler.wake();
          })
          .catch((err: unknown) => log.warn({ err }, 'could not look for jobs to take over; trying again'))
          .finally(() => (this.takingOver = undefined));
      }, every).unref();
    }
  }

  /** Claims the unfinished jobs nobody live holds and resumes each at its saved step; returns how many. */
  private async takeOver(): Promise<number> {
    const rt = this.rt;
    const ids = (await this.deps.store.activeJobIds()).filter((id) => !rt.jobs.has(id));
    if (ids.length === 0) return 0;
    const claimed = await rt.leases.claim(ids);
    if (claimed.size === 0) return 0;
    const jobs = await this.deps.store.listActive(claimed);
    // Ids left in the index by a process that stopped before taking its ended jobs out: out now.
    const listed = new Set(jobs.map((j) => j.id));
    this.deps.store.dropEnded([...claimed].filter((id) => !listed.has(id)));
    let count = 0;
    const atLuma: string[] = [];
    for (const job of jobs) {
      // Interactions are handled from the moment the gateway is ready, which is before this runs: a job enqueued
      // meanwhile is already here, maybe mid-step, and its stored copy must not replace it (that would submit it twice).
      if (rt.jobs.has(job.id) || rt.stopped) continue;
      this.resumeAtSavedStep(job);
      rt.add(job);
      rt.resumed.add(job.id);
      if (rt.isAtLuma(job)) atLuma.push(job.id);
      count++;
    }
    // Jobs Luma is working on count against the account's concurrency from now on, held by us.
    rt.budget.hold?.(atLuma);
    // Claimed but not ours to work on (ended meanwhile, or a bad record): nobody needs to own them.
    for (const id of claimed) if (!rt.jobs.has(id)) void rt.leases.release(id);
    return count;
  }

  private resumeAtSavedStep(job: JobRecord): void {
    if (job.step === 'submitting' && job.generationId === undefined) {
      // The process died between sending the POST and saving its answer (the one window left: a POST round trip
      // plus one storage write). Luma has no idempotency key and no way to list jobs, so the job is sent again:
      // the member gets one image and is charged once (one reservation), but Luma may bill the operator twice.
      this.rt.log.warn({ jobId: job.id, userId: job.discord.userId }, 'resubmitting a job whose POST outcome was not saved before a restart');
      job.step = 'queued';
    }
    if (job.step === 'submitting') job.step = 'polling';
    // A record from before inputs stopped holding bytes: keep the URLs only (bytes are fetched again per POST).
    if (withoutInlineData(job)) job.inlinedInputs = true;
  }

  /**
   * Stops taking work and lets running steps finish (each ends with a save). A step still waiting on the network
   * after the grace period is cut; its record stays at its last saved step and the next start resumes it. Resolves
   * when nothing of the engine runs any more, so storage can be closed.
   */
  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    const rt = this.rt;
    rt.stopped = true;
    this.scheduler.stop();
    clearInterval(this.takeoverTimer);
    // A job still waiting for a shared Luma slot gives up now (it stays queued and resumes later), not after the grace.
    await rt.budget.close?.();
    await this.takingOver;
    if (!(await this.scheduler.settled(graceMs))) {
      rt.log.warn({ running: this.scheduler.running }, 'cutting running job steps short to shut down; they resume at the next start');
      rt.cutRunningSteps();
      await this.scheduler.settled(1500);
    }
    // Ended jobs leave the index now rather than be read again at the next start.
    await this.deps.store.flushIndex().catch((err: unknown) => rt.log.warn({ err }, 'could not take ended jobs out of the active index; the next start does'));
    // Every step is saved: another process may take our unfinished jobs over at once.
    await rt.leases.close();
  }

  /** Persists a new job and queues it. Resolves once it is stored: from then on a restart cannot lose it. */
  async enqueue(job: JobRecord): Promise<void> {
    const rt = this.rt;
    job.step = 'queued';
    // Ours before it is in the index, so no other process's takeover scan can take it.
    await rt.leases.claim([job.id]);
    await rt.save(job, { newJob: true });
    rt.add(job);
    rt.log.info({ jobId: job.id, userId: job.discord.userId, guildId: job.discord.guildId, kind: job.kind }, 'job queued');
    this.deps.events?.queued(job);
    this.scheduler.wake();
  }

  /**
   * Takes a job whose image exists at Luma but never reached the member through delivery again, answering
   * through a new interaction (`origin`: the Retry click's). Not charged again: its unit was refunded when delivery
   * failed. Two quick clicks start one redelivery: the second is refused (the record is read again under the claim,
   * so a click that loaded the job before the first redelivery finished is refused too).
   */
  async redeliver(job: JobRecord, origin: JobDiscord): Promise<void> {
    const rt = this.rt;
    if (this.isWorkingOn(job.id)) throw alreadyRetrying(origin.locale);
    this.redelivering.add(job.id);
    try {
      const current = (await this.deps.store.get(job.id)) ?? job;
      if (rt.jobs.has(job.id) || (current.step !== 'failed' && current.step !== 'undelivered')) throw alreadyRetrying(origin.locale);
      job = current;
      job.discord = origin;
      job.step = 'downloading';
      job.progress = {};
      delete job.failure;
      delete job.notBefore;
      delete job.originalUploadTried; // a new interaction, a new reply
      if (!(await rt.leases.claim([job.id])).has(job.id)) throw alreadyRetrying(origin.locale);
      await rt.save(job);
      rt.add(job);
    } finally {
      this.redelivering.delete(job.id);
    }
    this.scheduler.wake();
  }

  /** Kept results of `to.userId` go to them through their current interaction (see steps/hand-over.ts). */
  handOverUndelivered(to: HandOverTarget): Promise<void> {
    return handOverUndelivered(this.rt, to);
  }

  /**
   * Whether this process is working on the job, or on a retry of it (a job made from it that is still running), or
   * a Retry click is handing it back right now.
   */
  isWorkingOn(jobId: string): boolean {
    if (this.rt.jobs.has(jobId) || this.redelivering.has(jobId)) return true;
    for (const j of this.rt.jobs.values()) if (j.parentJobId === jobId) return true;
    return false;
  }

  /** Median processing time of recent jobs, ms. */
  estimateMs(): number | undefined {
    return this.rt.estimateMs();
  }

  /** For operators: jobs this process works on, in all and by step, and when the oldest one still queued was made. */
  jobStats(): { total: number; steps: Partial<Record<JobStep, number>>; oldestQueuedAt: number | undefined } {
    const steps: Partial<Record<JobStep, number>> = {};
    let oldestQueuedAt: number | undefined;
    for (const j of this.rt.jobs.values()) {
      steps[j.step] = (steps[j.step] ?? 0) + 1;
      if (j.step === 'queued') oldestQueuedAt = Math.min(oldestQueuedAt ?? Infinity, j.createdAt);
    }
    return { total: this.rt.jobs.size, steps, oldestQueuedAt };
  }

  /** For operators: the Luma limits the scheduler applies now (what it learnt from Luma's headers and 429s included). */
  lumaLimits(): LumaLimits {
    const now = this.rt.now();
    const b = this.rt.budget.limits(now);
    return {
      concurrency: b.concurrentJobs,
      configuredConcurrency: this.deps.config.lumaMaxConcurrentJobs,
      requestsPerMinute: b.requestsPerMinute,
      postsLastMinute: b.windowUsed,
      pausedUntil: b.pausedUntil > now ? b.pausedUntil : undefined,
    };
  }
}

function alreadyRetrying(locale: string | undefined): UserFacingError {
  return new UserFacingError(t(locale, 'job.alreadyRetrying'), { code: 'already_retrying' });
}
