import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BaseInteraction } from 'discord.js';
import type { Dispatcher } from 'undici';
import type { Config } from '../config.js';
import { jobFromInteraction, withoutInlineData } from './create.js';
import { newReference, UserFacingError } from '../errors.js';
import { DownloadError, downloadImage } from '../http/download.js';
import { t } from '../i18n/index.js';
import { fitToLimit } from '../images/fit.js';
import type { LumaClient } from '../luma/client.js';
import { NotFoundError, RateLimitError } from '../luma/errors.js';
import type { Generation, GenerationRequest, ImageInput, InputMediaType } from '../luma/types.js';
import { GENERATION_STATES, INPUT_MEDIA_TYPES, MAX_INPUT_BYTES } from '../luma/types.js';
import type { Logger } from '../logger.js';
import { DiscordCodes, discordErrorCode, discordStatus, type DiscordResponder, type OutgoingMessage } from '../discord/responder.js';
import { failureMessage, plainMessage, progressText, resultFilename, resultMessage } from '../discord/render.js';
import {
  classifyLumaFailure,
  classifySubmitError,
  inlineTooLarge,
  inputUnreachable,
  jobFailure,
  jobTooOld,
  lostContact,
  lumaUnavailable,
  unknownState,
  type FailureAction,
} from './failures.js';
import { LocalSubmitBudget, type PostTicket, type SubmitBudget } from './luma-budget.js';
import { LocalJobLeases, type JobLeases } from './leases.js';
import { TransferBudget, type TransferReservation } from './transfer-budget.js';
import { fairOrder } from './fair-order.js';
import type { JobStore } from './store.js';
import type { JobRecord, JobStep } from './types.js';
import type { JobEvents, LumaLimits } from './events.js';

/** What the quota module does at the engine's turning points (issue: quotas). */
export interface QuotaHooks {
  /** Luma accepted the job: the reserved unit is spent. */
  commit(job: JobRecord): Promise<void>;
  /**
   * The job failed: the unit goes back when the member did not cause it (`units`, default true), and the operator's
   * spend goes back when Luma will not bill the job (the quota module decides from `reason`).
   */
  refund(job: JobRecord, reason: string, opts?: { units?: boolean }): Promise<void>;
}

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
  discord: DiscordResponder;
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

/** Interaction tokens live 15 minutes; stop using one a little before that so an upload does not race the end. */
const TOKEN_MARGIN_MS = 45_000;
/** The largest result we are willing to hold in memory. Luma's 2K PNGs are a few MB. */
const MAX_RESULT_BYTES = 64 * 1024 * 1024;
/** How long stop() lets running steps finish before cutting the ones still waiting on the network. */
const STOP_GRACE_MS = 6000;
/** Tries of a save on the failure path before the job is let go anyway (storage down, full, or refusing the record). */
const FAILURE_SAVE_ATTEMPTS = 3;
const MAX_POLLS_AT_ONCE = 16;
/** Longest spacing of the scheduler's passes (reached at 2,000 jobs in the process; 1 ms per 200 jobs). */
const PUMP_MAX_GAP_MS = 10;
/**
 * A queued job's place changes every time anyone's job starts: re-showing it at the normal progress pace would
 * edit every waiting reply every few seconds in a long queue. Its place is refreshed this many times less often.
 */
const QUEUE_PROGRESS_FACTOR = 3;
/**
 * Further back in a long queue, the place is refreshed less often still: once more slowly per this many places
 * ahead. A member at place 200 learns nothing from an edit every few seconds, and a burst of thousands would
 * otherwise spend most of the bot's Discord traffic and CPU re-rendering places.
 */
const QUEUE_PROGRESS_PLACES = 25;
/** A long queue's places are worked out at most this often (each time costs O(n log n) in the queue's length). */
const PLACES_MIN_AGE_MS = 100;
const DOWNLOAD_ATTEMPTS = 4;

type Task = 'submit' | 'poll' | 'transfer' | 'progress' | 'finish';

/** The reason in-flight calls are aborted with when the process stops. */
class ShutdownError extends Error {
  override name = 'ShutdownError';
}

/**
 * The one scheduler for every job in this process. Jobs are records that move through steps; each step is a
 * short task that reads the record, does one thing, and writes the record back. The pump decides what runs:
 * submissions within Luma's concurrency and per-minute limits, fairly across servers and members; polls on
 * each job's own clock; downloads/uploads with bounded concurrency so memory stays flat.
 */
export class JobEngine {
  private readonly jobs = new Map<string, JobRecord>();
  private readonly busy = new Map<string, Task>();
  private readonly freshUrls = new Map<string, string>();
  private readonly lastServedGuild = new Map<string, number>();
  private readonly lastServedUser = new Map<string, number>();
  private readonly durations: number[] = [];
  private serveCounter = 0;
  /** The queue's places, worked out at most once per progress interval (a simulation of the fair pick over the queue). */
  private places: { at: number; positions: Map<string, number> } | undefined;
  /** Luma's account limits: the pump picks who goes next, the budget says when. */
  readonly budget: SubmitBudget;
  /** Result bytes held by running downloads/uploads, bounded by TRANSFER_BUDGET_MB. */
  readonly transfers: TransferBudget;
  /** Jobs loaded by start(): they may have been half-delivered by the previous process. */
  private readonly resumed = new Set<string>();
  /** Jobs whose failure is being finished: the refund and the notice happen once per job in this process. */
  private readonly finishing = new Set<string>();
  /** Jobs a Retry click is handing back to the engine right now (two quick clicks start one redelivery). */
  private readonly redelivering = new Set<string>();
  /** Aborted when stop() gives up waiting: cuts Luma calls and downloads that hang. */
  private readonly shutdown = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  /** Which jobs are ours (a lease each); the takeover scan's timer. */
  readonly leases: JobLeases;
  private takeoverTimer: NodeJS.Timeout | undefined;
  private takingOver: Promise<void> | undefined;
  private pumping = false;
  private lastPumpAt = 0;
  private repump = false;
  private stopped = false;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly now: () => number;
  private readonly log: Logger;

  constructor(private readonly deps: EngineDeps) {
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

  /**
   * Loads every unfinished job no live process holds (its own from before a restart, a dead process's) and starts
   * working on them; then looks for such jobs every takeoverIntervalMs (another process may die).
   */
  async start(): Promise<void> {
    const count = await this.takeOver();
    if (count > 0) this.log.info({ count, processId: this.leases.processId }, 'resumed unfinished jobs');
    this.wake();
    const every = this.deps.takeoverIntervalMs;
    if (every !== undefined && every > 0) {
      this.takeoverTimer = setInterval(() => {
        if (this.takingOver || this.stopped) return;
        this.takingOver = this.takeOver()
          .then((n) => {
            if (n > 0) this.log.warn({ count: n, processId: this.leases.processId }, 'took over jobs whose process stopped renewing its lease');
            if (n > 0) this.wake();
          })
          .catch((err: unknown) => this.log.warn({ err }, 'could not look for jobs to take over; trying again'))
          .finally(() => (this.takingOver = undefined));
      }, every).unref();
    }
  }

  /** Claims the unfinished jobs nobody live holds and resumes each at its saved step; returns how many. */
  private async takeOver(): Promise<number> {
    const ids = (await this.deps.store.activeJobIds()).filter((id) => !this.jobs.has(id));
    if (ids.length === 0) return 0;
    const claimed = await this.leases.claim(ids);
    if (claimed.size === 0) return 0;
    const jobs = await this.deps.store.listActive(claimed);
    let count = 0;
    const atLuma: string[] = [];
    for (const job of jobs) {
      // Interactions are handled from the moment the gateway is ready, which is before this runs: a job enqueued
      // meanwhile is already here, maybe mid-step, and its stored copy must not replace it (that would submit it twice).
      if (this.jobs.has(job.id) || this.stopped) continue;
      if (job.step === 'submitting' && job.generationId === undefined) {
        // The process died between sending the POST and saving its answer (the one window left: a POST round trip
        // plus one storage write). Luma has no idempotency key and no way to list jobs, so the job is sent again:
        // the member gets one image and is charged once (one reservation), but Luma may bill the operator twice.
        this.log.warn({ jobId: job.id, userId: job.discord.userId }, 'resubmitting a job whose POST outcome was not saved before a restart');
        job.step = 'queued';
      }
      if (job.step === 'submitting') job.step = 'polling';
      // A record from before inputs stopped holding bytes: keep the URLs only (bytes are fetched again per POST).
      if (withoutInlineData(job)) job.inlinedInputs = true;
      this.jobs.set(job.id, job);
      this.resumed.add(job.id);
      if (this.isAtLuma(job)) atLuma.push(job.id);
      count++;
    }
    // Jobs Luma is working on count against the account's concurrency from now on, held by us.
    this.budget.hold?.(atLuma);
    // Claimed but not ours to work on (ended meanwhile, or a bad record): nobody needs to own them.
    for (const id of claimed) if (!this.jobs.has(id)) void this.leases.release(id);
    return count;
  }

  /**
   * Stops taking work and lets running steps finish (each ends with a save). A step still waiting on the network
   * after the grace period is cut; its record stays at its last saved step and the next start resumes it. Resolves
   * when nothing of the engine runs any more, so storage can be closed.
   */
  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    clearInterval(this.takeoverTimer);
    // A job still waiting for a shared Luma slot gives up now (it stays queued and resumes later), not after the grace.
    await this.budget.close?.();
    await this.takingOver;
    if (!(await this.settled(graceMs))) {
      this.log.warn({ running: this.inFlight.size }, 'cutting running job steps short to shut down; they resume at the next start');
      this.shutdown.abort(new ShutdownError('the bot is shutting down'));
      await this.settled(1500);
    }
    // Every step is saved: another process may take our unfinished jobs over at once.
    await this.leases.close();
  }

  private async settled(ms: number): Promise<boolean> {
    if (this.inFlight.size === 0) return true;
    const timeout = sleep(ms, false, { ref: false });
    return Promise.race([Promise.allSettled([...this.inFlight]).then(() => true), timeout]);
  }

  /** True once stop() cut running steps: errors from then on are the shutdown's, not the job's. */
  private get cut(): boolean {
    return this.shutdown.signal.aborted;
  }

  /** Persists a new job and queues it. Resolves once it is stored: from then on a restart cannot lose it. */
  async enqueue(job: JobRecord): Promise<void> {
    job.step = 'queued';
    // Ours before it is in the index, so no other process's takeover scan can take it.
    await this.leases.claim([job.id]);
    await this.save(job, { newJob: true });
    this.jobs.set(job.id, job);
    this.log.info({ jobId: job.id, userId: job.discord.userId, guildId: job.discord.guildId, kind: job.kind }, 'job queued');
    this.deps.events?.queued(job);
    this.wake();
  }

  /**
   * Takes a job whose image exists at Luma but never reached the member through delivery again, answering
   * through a new interaction (the Retry click). Not charged again: its unit was refunded when delivery failed.
   * Two quick clicks start one redelivery: the second is refused (the record is read again under the claim, so a
   * click that loaded the job before the first redelivery finished is refused too).
   */
  async redeliver(job: JobRecord, interaction: BaseInteraction): Promise<void> {
    if (this.isWorkingOn(job.id)) throw alreadyRetrying(interaction.locale);
    this.redelivering.add(job.id);
    try {
      const current = (await this.deps.store.get(job.id)) ?? job;
      if (this.jobs.has(job.id) || (current.step !== 'failed' && current.step !== 'undelivered')) throw alreadyRetrying(interaction.locale);
      job = current;
      const fresh = jobFromInteraction(interaction, { kind: job.kind, request: job.request, inputs: job.inputs, display: job.display });
      job.discord = fresh.discord;
      job.step = 'downloading';
      job.progress = {};
      delete job.failure;
      delete job.notBefore;
      delete job.originalUploadTried; // a new interaction, a new reply
      if (!(await this.leases.claim([job.id])).has(job.id)) throw alreadyRetrying(interaction.locale);
      await this.save(job);
      this.jobs.set(job.id, job);
    } finally {
      this.redelivering.delete(job.id);
    }
    this.wake();
  }

  /**
   * Whether this process is working on the job, or on a retry of it (a job made from it that is still running), or
   * a Retry click is handing it back right now.
   */
  isWorkingOn(jobId: string): boolean {
    if (this.jobs.has(jobId) || this.redelivering.has(jobId)) return true;
    for (const j of this.jobs.values()) if (j.parentJobId === jobId) return true;
    return false;
  }

  /** Unfinished jobs this process is working on. */
  get size(): number {
    return this.jobs.size;
  }

  /** Median processing time of recent jobs, ms. */
  estimateMs(): number | undefined {
    if (this.durations.length < 3) return undefined;
    const sorted = [...this.durations].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
  }

  /** For operators: jobs this process works on, by step, and when the oldest one still queued was made. */
  jobStats(): { steps: Partial<Record<JobStep, number>>; oldestQueuedAt: number | undefined } {
    const steps: Partial<Record<JobStep, number>> = {};
    let oldestQueuedAt: number | undefined;
    for (const j of this.jobs.values()) {
      steps[j.step] = (steps[j.step] ?? 0) + 1;
      if (j.step === 'queued') oldestQueuedAt = Math.min(oldestQueuedAt ?? Infinity, j.createdAt);
    }
    return { steps, oldestQueuedAt };
  }

  /** For operators: the Luma limits the scheduler applies now (what it learnt from Luma's headers and 429s included). */
  lumaLimits(): LumaLimits {
    const now = this.now();
    const b = this.budget.limits(now);
    return {
      concurrency: b.concurrentJobs,
      configuredConcurrency: this.deps.config.lumaMaxConcurrentJobs,
      requestsPerMinute: b.requestsPerMinute,
      postsLastMinute: b.windowUsed,
      pausedUntil: b.pausedUntil > now ? b.pausedUntil : undefined,
    };
  }

  private wake(delayMs = 0): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    // A pass looks at every job: with thousands of them, passes are spaced a few ms apart (none for a small
    // queue), so a stream of finishing tasks is handled in batches instead of one full pass each.
    const gap = Math.min(PUMP_MAX_GAP_MS, this.jobs.size / 200);
    this.timer = setTimeout(() => void this.pump(), Math.max(delayMs, this.lastPumpAt + gap - performance.now()));
  }

  private run(job: JobRecord, task: Task, fn: () => Promise<void>): void {
    this.busy.set(job.id, task);
    const p = fn()
      .catch((err: unknown) => {
        if (this.cut) return; // the shutdown's doing, not the job's: it resumes at the next start
        this.log.error({ err, jobId: job.id, task }, 'job task crashed');
        // The failure path itself crashed: it does not start over (that looped, notifying the member each time).
        if (job.step === 'failing' || job.step === 'failed') return this.forget(job);
        return this.fail(job, { kind: 'fail', failure: jobFailure('internal', 'failure.internal', {}, { ref: newReference(), retryable: true }), refund: true, log: 'error' });
      })
      .catch((err: unknown) => {
        this.log.error({ err, jobId: job.id }, 'could not record a job failure');
        this.forget(job);
      })
      .finally(() => {
        this.busy.delete(job.id);
        this.inFlight.delete(p);
        this.wake();
      });
    this.inFlight.add(p);
  }

  private pump(): void {
    this.lastPumpAt = performance.now();
    if (this.pumping) {
      this.repump = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.repump = false;
        this.pumpOnce();
      } while (this.repump && !this.stopped);
    } finally {
      this.pumping = false;
    }
  }

  private pumpOnce(): void {
    if (this.stopped) return;
    const now = this.now();
    let nextDue = Infinity;
    const due = (j: JobRecord): boolean => {
      const at = j.notBefore ?? 0;
      if (at > now) {
        nextDue = Math.min(nextDue, at);
        return false;
      }
      return true;
    };

    // Submissions: within the account's limits, fairly. Who is at Luma is counted once per pass (not per
    // candidate), so a pass stays linear in the number of jobs.
    const atLuma = this.atLumaCounts();
    let candidates: Set<JobRecord> | undefined;
    for (;;) {
      const wait = this.submitSlotWait(now, atLuma.total);
      if (wait > 0) {
        if (this.hasQueued()) nextDue = Math.min(nextDue, now + wait);
        break;
      }
      // Gathered once per pass: a pass that sends a burst of hundreds must not rescan every job for each of them.
      candidates ??= this.queuedCandidates(due);
      const job = this.pickFair(candidates, atLuma.byUser);
      if (!job) break;
      candidates.delete(job);
      this.markServed(job);
      // Counted now, not when the POST goes out (after an await): a pass that picks several jobs must see each.
      const ticket = this.budget.recordPost(now);
      atLuma.total++;
      atLuma.byUser.set(job.discord.userId, (atLuma.byUser.get(job.discord.userId) ?? 0) + 1);
      this.run(job, 'submit', () => this.submit(job, ticket));
    }

    let polls = 0;
    for (const t of this.busy.values()) if (t === 'poll') polls++;
    const queuedDueForProgress: JobRecord[] = [];
    for (const job of this.jobs.values()) {
      if (this.busy.has(job.id)) continue;
      if (job.step === 'polling') {
        if (polls < MAX_POLLS_AT_ONCE && due(job)) {
          polls++;
          this.run(job, 'poll', () => this.poll(job));
        } else if (polls >= MAX_POLLS_AT_ONCE) nextDue = Math.min(nextDue, now + 50);
      } else if (job.step === 'downloading' || job.step === 'delivering') {
        // As many at once as their bytes fit in the budget: many small results together, a few huge ones bounded.
        const reservation = due(job) ? this.transfers.tryAdmit() : undefined;
        if (reservation) this.run(job, 'transfer', () => this.transfer(job, reservation).finally(reservation.release));
      } else if (job.step === 'failing') {
        this.run(job, 'finish', () => this.finishFailure(job));
      } else if (job.step === 'queued') {
        const wait = this.progressWait(job, now, QUEUE_PROGRESS_FACTOR);
        if (wait > 0) nextDue = Math.min(nextDue, now + wait);
        else queuedDueForProgress.push(job);
      }
    }

    // Members waiting in our queue see their place in it (worked out only when one of them is due an edit).
    if (queuedDueForProgress.length > 0) {
      const positions = this.queuePositions(now, queuedDueForProgress);
      if (!positions) nextDue = Math.min(nextDue, now + PLACES_MIN_AGE_MS);
      for (const job of positions ? queuedDueForProgress : []) {
        const position = positions?.get(job.id);
        if (position === undefined) continue;
        const factor = QUEUE_PROGRESS_FACTOR * Math.max(1, Math.ceil(position / QUEUE_PROGRESS_PLACES));
        if (this.progressWait(job, now, factor) > 0) continue;
        if (progressText(job, { now, queuePosition: position }) !== job.progress.text) {
          this.run(job, 'progress', () => this.editProgress(job, position));
        }
      }
    }

    this.pruneServed();
    if (nextDue !== Infinity) this.wakeAt(Math.max(0, nextDue - now));
  }

  private wakeAt(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.pump(), Math.min(delayMs, 60_000));
  }

  private hasQueued(): boolean {
    for (const j of this.jobs.values()) if (j.step === 'queued' && !this.busy.has(j.id)) return true;
    return false;
  }

  /** Whether Luma's concurrency limit counts this job now: sent (or being sent) and not finished there. */
  private isAtLuma(j: JobRecord): boolean {
    return j.step === 'submitting' || (j.step === 'polling' && j.lastLumaState !== 'completed' && j.lastLumaState !== 'failed');
  }

  private atLumaCounts(): { total: number; byUser: Map<string, number> } {
    const byUser = new Map<string, number>();
    let total = 0;
    for (const j of this.jobs.values()) {
      if (!this.isAtLuma(j)) continue;
      total++;
      byUser.set(j.discord.userId, (byUser.get(j.discord.userId) ?? 0) + 1);
    }
    return { total, byUser };
  }

  /**
   * 0 when a POST may go now, else ms until one may: whenever the sliding minute has room and a concurrency slot
   * is free (the budget's call), never spaced out — a queue that built up goes out as one burst.
   */
  private submitSlotWait(now: number, atLuma: number): number {
    return this.budget.waitMs(now, atLuma);
  }

  /**
   * Round-robin: the server served longest ago goes first, then within it the member served longest ago, then
   * that member's oldest job. A member at their in-flight cap is skipped, so one member's burst cannot hold
   * everybody else back.
   */
  private pickFair(candidates: Iterable<JobRecord>, atLumaByUser: ReadonlyMap<string, number>): JobRecord | undefined {
    const cap = this.deps.config.maxJobsPerUser;
    return fairest(candidates, this.lastServedGuild, this.lastServedUser, (job) => (atLumaByUser.get(job.discord.userId) ?? 0) >= cap);
  }

  /** Queued jobs free to be sent now (not busy, not waiting out a delay). */
  private queuedCandidates(due: (j: JobRecord) => boolean): Set<JobRecord> {
    const out = new Set<JobRecord>();
    for (const job of this.jobs.values()) if (job.step === 'queued' && !this.busy.has(job.id) && due(job)) out.add(job);
    return out;
  }

  private markServed(job: JobRecord): void {
    this.serveCounter++;
    this.lastServedGuild.set(guildKey(job), this.serveCounter);
    this.lastServedUser.set(job.discord.userId, this.serveCounter);
  }

  /**
   * The round-robin memory only matters for servers and members with work here; dropping the rest keeps it from
   * growing with every member the bot ever served. One who comes back counts as not served lately, which is fair.
   */
  private pruneServed(): void {
    if (this.lastServedUser.size <= 2 * this.jobs.size + 256) return;
    const users = new Set<string>();
    const guilds = new Set<string>();
    for (const j of this.jobs.values()) {
      users.add(j.discord.userId);
      guilds.add(guildKey(j));
    }
    for (const id of this.lastServedUser.keys()) if (!users.has(id)) this.lastServedUser.delete(id);
    for (const id of this.lastServedGuild.keys()) if (!guilds.has(id)) this.lastServedGuild.delete(id);
  }

  /** 1-based positions of queued jobs, by simulating the fair picker over the current queue. */
  /**
   * Places in the queue, for the jobs due an edit. Worked out again when the last answer is older than a progress
   * interval, or when one of `due` joined the queue since (a new job shows its place at once) — but in a long queue
   * not more than once per PLACES_MIN_AGE_MS: undefined means "ask again after that".
   */
  private queuePositions(now: number, due: readonly JobRecord[]): Map<string, number> | undefined {
    const places = this.places;
    if (places) {
      const age = now - places.at;
      const stale = age >= Math.max(500, this.deps.config.progressIntervalMs) || due.some((j) => !places.positions.has(j.id));
      if (!stale) return places.positions;
      // Each working-out costs about a pass over the queue: a long queue is worked out less often (a short one at once).
      if (age < Math.min(PLACES_MIN_AGE_MS, places.positions.size / 20)) return undefined;
    }
    const positions = this.computeQueuePositions();
    this.places = { at: now, positions };
    return positions;
  }

  private computeQueuePositions(): Map<string, number> {
    const queued = [];
    for (const j of this.jobs.values()) {
      if (j.step === 'queued' && !this.busy.has(j.id)) queued.push({ id: j.id, createdAt: j.createdAt, guild: guildKey(j), userId: j.discord.userId });
    }
    const positions = new Map<string, number>();
    for (const j of fairOrder(queued, this.lastServedGuild, this.lastServedUser, this.serveCounter)) positions.set(j.id, positions.size + 1);
    return positions;
  }

  // ——— steps ———

  private async submit(job: JobRecord, ticket: PostTicket): Promise<void> {
    const log = this.log.child({ jobId: job.id, userId: job.discord.userId, guildId: job.discord.guildId });
    let body: GenerationRequest;
    try {
      // A budget shared by several processes (Redis) takes the account-wide slot here, before anything is sent.
      await this.budget.acquire?.(ticket, job.id, job.createdAt);
    } catch (err) {
      this.budget.postFailed(ticket, this.now());
      if (!this.stopped) log.warn({ err }, 'could not take a Luma slot; the job waits for the next start');
      return;
    }
    try {
      body = job.inlinedInputs ? await this.inlineBody(job) : job.request;
    } catch (err) {
      // No POST went out: the budget counts it as one that failed (it stays in the window, which errs on the safe side).
      this.budget.postFailed(ticket, this.now());
      if (this.cut) return;
      log.warn({ err }, 'could not fetch the input images for the base64 fallback');
      const tooLarge = err instanceof InlineTooLargeError || (err instanceof DownloadError && err.kind === 'too_large');
      return this.fail(job, tooLarge ? inlineTooLarge(err instanceof InlineTooLargeError ? err.bytes : undefined, this.deps.config.lumaInlineMaxBytes) : inputUnreachable());
    }
    job.step = 'submitting';
    job.submitAttempts += 1;
    delete job.notBefore;
    await this.save(job);
    try {
      // No retries inside the client: every POST retry (429, 502, 503, unreachable) goes back through the queue,
      // where it counts against the rate limits and a 503 for URL inputs turns into the base64 fallback at once.
      const { generation, requestId, rateWindow } = await this.deps.luma.createGeneration(body, { maxRetries: 0, signal: this.shutdown.signal });
      this.budget.learn(ticket, this.now(), rateWindow);
      // From the POST leaving until the save below completes is the one window in which a crash can still cost a
      // second image at Luma (see start()): nothing but the in-memory quota mark and the save run in between.
      job.generationId = generation.id;
      job.submittedAt = this.now();
      job.lastLumaState = generation.state === 'processing' ? 'processing' : 'queued';
      job.step = 'polling';
      delete job.lumaUnavailableSince;
      // Luma's median is ~30 s: the first poll comes soon to show "generating" early, then the regular cadence.
      job.notBefore = this.now() + Math.min(1000, this.deps.config.pollIntervalMs);
      // Luma accepted the job: the reserved unit is spent. Marked before the save so the stored record says so.
      await this.deps.quota?.commit(job);
      await this.save(job);
      log.info({ generationId: generation.id, requestId, model: job.request.model }, 'submitted to Luma');
      this.deps.events?.submitted(job);
      await this.editProgress(job);
    } catch (err) {
      if (this.cut && job.generationId === undefined) {
        // Cut by the shutdown mid-POST: left `submitting`, so the next start sends it again (the POST may or may not
        // have arrived; same window as a crash).
        log.warn('POST cut short by the shutdown; the job is sent again at the next start');
        return;
      }
      const hasUrlInputs = !job.inlinedInputs && job.inputs.some((i) => 'url' in i.input && i.discordUrl !== undefined);
      const ref = newReference();
      const action = classifySubmitError(err, { hasUrlInputs, submitAttempts: job.submitAttempts, ref });
      if (err instanceof RateLimitError) this.onSubmitRateLimited(err, job, log, ticket);
      else this.budget.postFailed(ticket, this.now());
      if (job.generationId === undefined) this.budget.release?.(job.id);
      log.warn({ err, action: action.kind, ref }, 'submit failed');
      await this.afterSubmitError(job, action);
    }
  }

  /** A POST refused with 429: hold further POSTs rather than send ones Luma will refuse too. */
  private onSubmitRateLimited(err: RateLimitError, job: JobRecord, log: Logger, ticket: PostTicket): void {
    const now = this.now();
    if (err.kind === 'requests') {
      const { limit, remaining, resetAt } = err;
      const { pauseMs } = this.budget.rateLimited(ticket, now, { kind: 'requests', retryAfterMs: err.retryAfterMs, window: { limit, remaining, resetAt } });
      log.warn({ pauseMs }, 'Luma says too many requests per minute: pausing submissions');
      return;
    }
    // Our other jobs at Luma — this one excluded — are the most the account has room for now.
    let others = 0;
    for (const j of this.jobs.values()) if (j !== job && this.isAtLuma(j)) others++;
    const { concurrentJobs, pauseMs } = this.budget.rateLimited(ticket, now, { kind: 'concurrency', retryAfterMs: err.retryAfterMs, ourOthersActive: others });
    log.warn({ cap: concurrentJobs, ours: others, pauseMs }, 'Luma says too many concurrent jobs: lowering concurrency, climbing back after a minute');
  }

  private async afterSubmitError(job: JobRecord, action: FailureAction): Promise<void> {
    if (action.kind === 'requeue') {
      if (action.outage) {
        // Luma is down or unreachable: the job keeps its place for the outage window, then fails with a refund.
        job.lumaUnavailableSince ??= this.now();
        if (this.now() - job.lumaUnavailableSince >= this.deps.config.lumaOutageWindowMs) return this.fail(job, lumaUnavailable(this.deps.config.lumaOutageWindowMs));
      } else delete job.lumaUnavailableSince; // Luma answered (a 429): the outage is over
      job.step = 'queued';
      job.notBefore = this.now() + action.delayMs;
      await this.save(job);
      if (action.outage) await this.editProgress(job);
      return;
    }
    if (action.kind === 'inline') {
      // The bytes are fetched from Discord for each POST from now on (submit), and never stored.
      job.inlinedInputs = true;
      job.step = 'queued';
      delete job.notBefore;
      await this.save(job);
      this.log.info({ jobId: job.id, inputs: job.inputs.length }, 'sending input images as base64 after Luma could not fetch their URLs');
      return;
    }
    return this.fail(job, action);
  }

  /**
   * The request with every Discord URL input replaced by its bytes (Luma could not fetch the URL, or URL ingestion
   * is down), built for one POST and never stored. The inputs together may not exceed LUMA_INLINE_MAX_MB.
   */
  private async inlineBody(job: JobRecord): Promise<GenerationRequest> {
    const cap = this.deps.config.lumaInlineMaxBytes;
    const toFetch = job.inputs.filter((i) => 'url' in i.input && i.discordUrl !== undefined);
    const announced = toFetch.reduce((n, i) => n + (i.size ?? 0), 0);
    if (announced > cap) throw new InlineTooLargeError(announced);
    let total = 0;
    const body: GenerationRequest = { ...job.request };
    const refs: ImageInput[] = [];
    for (const input of job.inputs) {
      let sent = input.input;
      if ('url' in sent && input.discordUrl !== undefined) {
        const { bytes, contentType } = await downloadImage(input.discordUrl, {
          maxBytes: Math.min(MAX_INPUT_BYTES, cap - total),
          allowedOrigins: this.deps.config.discordCdnOrigins,
          acceptContentTypes: INPUT_MEDIA_TYPES,
          dispatcher: this.deps.http,
          signal: this.shutdown.signal,
        });
        total += bytes.length;
        sent = { data: bytes.toString('base64'), media_type: contentType as InputMediaType };
      }
      if (input.role === 'source') body.source = sent;
      else refs.push(sent);
    }
    if (body.image_ref !== undefined) body.image_ref = refs;
    return body;
  }

  private async poll(job: JobRecord): Promise<void> {
    const id = job.generationId;
    if (id === undefined) throw new Error('polling a job without a generation id');
    // Every job ends: one Luma accepted but has not finished (or answered for) within the maximum age is given up,
    // and its polling stops with it. Checked after the GET, so a result that is ready (say after a long restart) is kept.
    const maxAge = this.deps.config.jobMaxAgeMs;
    const tooOld = (): boolean => this.now() - (job.submittedAt ?? job.createdAt) > maxAge;
    let generation: Generation;
    try {
      ({ generation } = await this.deps.luma.getGeneration(id, { signal: this.shutdown.signal }));
    } catch (err) {
      if (this.cut) return; // cut by the shutdown: polled again after the next start
      if (err instanceof NotFoundError) {
        return this.fail(job, { kind: 'fail', failure: jobFailure('not_found', 'failure.not_found', {}, { retryable: true, ref: newReference() }), refund: true, log: 'error' });
      }
      if (tooOld()) return this.fail(job, jobTooOld(maxAge, newReference()));
      // Luma down (502), unreachable or erring: the job is kept, polled with back-off, for the outage window.
      const now = this.now();
      const first = job.lumaUnavailableSince === undefined;
      const since = (job.lumaUnavailableSince ??= now);
      if (now - since >= this.deps.config.lumaOutageWindowMs) {
        return this.fail(job, lostContact(this.deps.config.lumaOutageWindowMs, newReference()));
      }
      // The client already waited out short Retry-Afters; a longer one is honoured here, without holding a poll slot.
      const retryAfter = err instanceof RateLimitError ? (err.retryAfterMs ?? 0) : 0;
      const backoff = Math.min(Math.max(this.deps.config.pollIntervalMs * 2, (now - since) / 2), 30_000) * (0.8 + 0.4 * Math.random());
      const waitMs = Math.max(Math.round(backoff), retryAfter);
      this.log.warn({ err, jobId: job.id, generationId: id, waitMs }, 'poll failed; will poll again');
      job.notBefore = now + waitMs;
      if (first) {
        await this.save(job);
        await this.editProgress(job);
      }
      return;
    }
    if (job.lumaUnavailableSince !== undefined) {
      delete job.lumaUnavailableSince;
      job.progress.editedAt = 0; // show at once that Luma answers again
      await this.save(job);
    }
    if (!(GENERATION_STATES as readonly string[]).includes(generation.state)) {
      // `cancelled`, or anything newer than the API reference: the job cannot finish, and must not hold a slot.
      return this.fail(job, unknownState(String(generation.state), newReference()));
    }
    job.lastLumaState = generation.state;
    if (!this.isAtLuma(job)) this.budget.release?.(job.id);
    if (generation.state === 'processing' && job.processingAt === undefined) job.processingAt = this.now();
    if (generation.state === 'completed') {
      const url = generation.output?.[0]?.url;
      job.completedAt = this.now();
      if (job.processingAt !== undefined) this.recordDuration(job.completedAt - job.processingAt);
      this.deps.events?.completed(job);
      if (url) this.freshUrls.set(job.id, url);
      job.step = 'downloading';
      delete job.notBefore;
      // Not saved: a restart finds the job `polling`, and one GET tells it the same (the URL is not stored
      // anyway). The next save is `delivering`, once the bytes are here.
      return;
    }
    if (generation.state === 'failed') {
      const retries = job.submitAttempts - 1;
      const action = classifyLumaFailure(generation.failure_code, generation.failure_reason, newReference(), retries);
      if (action.kind === 'requeue') {
        delete job.generationId;
        delete job.processingAt;
        delete job.lastLumaState;
        job.step = 'queued';
        job.notBefore = this.now() + action.delayMs;
        await this.save(job);
        return;
      }
      return this.fail(job, action);
    }
    if (tooOld()) return this.fail(job, jobTooOld(maxAge, newReference()));
    job.notBefore = this.now() + this.pollGapMs(job);
    // A new Luma state alone is not saved: a restart polls the job again and learns it (only the "generating for"
    // time then counts from the restart). Saved with the job's next step.
    await this.editProgress(job);
  }

  /**
   * Time to the next poll of a job still at Luma: POLL_INTERVAL_MS near its expected end, up to twice that while
   * it is far from it (by the median of recent jobs) — within Luma's 2–5 s at the default. Thousands of jobs at
   * Luma then cost about half the GETs (each one CPU the bot's deliveries need) without a result waiting longer.
   */
  private pollGapMs(job: JobRecord): number {
    const interval = this.deps.config.pollIntervalMs;
    const estimate = this.estimateMs();
    if (estimate === undefined || job.processingAt === undefined) return interval;
    const remaining = estimate - (this.now() - job.processingAt);
    return Math.round(Math.min(2 * interval, Math.max(interval, remaining / 2)));
  }

  private recordDuration(ms: number): void {
    this.durations.push(ms);
    if (this.durations.length > 25) this.durations.shift();
  }

  private async transfer(job: JobRecord, reservation?: TransferReservation): Promise<void> {
    const log = this.log.child({ jobId: job.id, generationId: job.generationId, userId: job.discord.userId });
    if (job.step === 'delivering') {
      // A previous process died mid-delivery. If it was uploading to the reply, that upload may have landed: when
      // the reply (read with the bot token, which outlives the interaction's) shows the image, the job is done —
      // uploading again is harmless, but if the token has died meanwhile a channel post would show it twice.
      const already = await this.findDeliveredReply(job);
      if (already) {
        if (already.messageId) await this.deps.store.linkMessage(already.messageId, job.id);
        return this.markDelivered(job, already);
      }
      job.step = 'downloading'; // bytes are not kept across restarts: fetch them again
    }
    await this.editProgress(job);
    let image: { bytes: Buffer; contentType: string };
    try {
      image = await this.downloadResult(job, reservation);
    } catch (err) {
      log.error({ err }, 'could not download the result');
      return this.fail(job, { kind: 'fail', failure: jobFailure('download_failed', 'failure.download_failed', {}, { retryable: true, ref: newReference() }), refund: true, log: 'error' });
    }
    reservation?.resize(image.bytes.length);
    job.step = 'delivering';
    if (this.tokenUsable(job)) job.originalUploadTried = true;
    await this.save(job);
    const name = resultFilename(job, image.contentType);
    let fitted: { data: Buffer; contentType: string; compressed: boolean };
    try {
      fitted = await fitToLimit(image.bytes, image.contentType, job.discord.attachmentSizeLimit);
    } catch (err) {
      log.error({ err }, 'could not shrink the result to the upload limit');
      fitted = { data: image.bytes, contentType: image.contentType, compressed: false };
    }
    const file = { name: fitted.compressed ? resultFilename(job, fitted.contentType) : name, data: fitted.data, contentType: fitted.contentType };
    const delivered = await this.sendToMember(job, (mention) => resultMessage(job, file, { mention, compressed: fitted.compressed }), {
      onTooLarge: async () => {
        const smaller = await fitToLimit(image.bytes, image.contentType, Math.floor(Math.min(job.discord.attachmentSizeLimit, file.data.length) * 0.8));
        file.data = smaller.data;
        file.contentType = smaller.contentType;
        file.name = resultFilename(job, smaller.contentType);
        fitted = smaller;
      },
    });
    if (delivered) {
      if (delivered.messageId) await this.deps.store.linkMessage(delivered.messageId, job.id);
      log.info({ via: delivered.via, bytes: file.data.length, compressed: fitted.compressed }, 'result delivered');
      return this.markDelivered(job, { ...delivered, ...(fitted.compressed ? { compressed: true } : {}) });
    }
    // No route reached the member. Keep the bytes; they get them the next time they use the bot. The hand-over
    // list is written before the step, so a crash in between leaves the job `delivering` (tried again at the next
    // start, and taken off the list if that works) rather than `undelivered` and on no list.
    await this.deps.store.putResult(job.id, image.bytes);
    await this.deps.store.addUndelivered(job.discord.userId, job.id);
    job.step = 'undelivered';
    await this.save(job);
    this.forget(job);
    log.warn('result kept: no Discord route reached the member; it will be handed over on their next interaction');
  }

  private async markDelivered(job: JobRecord, delivered: Omit<NonNullable<JobRecord['delivery']>, 'at'>): Promise<void> {
    job.step = 'done';
    job.delivery = { ...delivered, at: this.now() };
    await this.save(job);
    this.deps.events?.delivered(job);
    // A job the previous process had put on the member's hand-over list just before dying reached them after all.
    if (this.resumed.has(job.id)) await this.deps.store.removeUndelivered(job.discord.userId, job.id);
    this.forget(job);
  }

  /** Whether the interaction token is still good for a reply edit (with a margin, so an upload does not race its end). */
  private tokenUsable(job: JobRecord): boolean {
    return this.now() < job.discord.tokenExpiresAt - TOKEN_MARGIN_MS;
  }

  /**
   * After a restart: did the previous process's upload to the interaction reply land? Undefined when it did not, or
   * when the bot cannot read the channel (then delivery goes on: the reply again while the token lives, else a
   * channel post that may, rarely, be a second copy).
   */
  private async findDeliveredReply(job: JobRecord): Promise<Omit<NonNullable<JobRecord['delivery']>, 'at'> | undefined> {
    const d = job.discord;
    if (!job.originalUploadTried || !d.originalMessageId || !d.channelId) return undefined;
    try {
      const message = await this.deps.discord.fetchMessage(d.channelId, d.originalMessageId);
      if (!message.attachments.some((a) => a.filename.startsWith(`luma-${job.id}.`))) return undefined;
      this.log.info({ jobId: job.id, messageId: message.id }, 'the reply already shows the result: the upload before the restart landed');
      return { via: 'original', messageId: message.id, channelId: message.channel_id };
    } catch (err) {
      this.log.debug({ err, jobId: job.id }, 'could not read the interaction reply to check for the result');
      return undefined;
    }
  }

  private async downloadResult(job: JobRecord, reservation?: TransferReservation): Promise<{ bytes: Buffer; contentType: string }> {
    // The result goes into a buffer the transfer budget lends until the transfer ends (see transfer-budget.ts).
    const allocate = reservation ? { allocate: (bytes: number) => reservation.buffer(bytes) } : {};
    let lastErr: unknown;
    for (let attempt = 0; attempt < DOWNLOAD_ATTEMPTS; attempt++) {
      let url = this.freshUrls.get(job.id);
      if (url === undefined || attempt > 0) {
        // Output URLs expire after an hour and every GET mints a fresh one: after a restart or a 403, ask again.
        const { generation } = await this.deps.luma.getGeneration(job.generationId ?? '', { signal: this.shutdown.signal });
        url = generation.output?.[0]?.url;
        if (!url) throw new Error('completed generation has no output URL');
      }
      try {
        const r = await downloadImage(url, { maxBytes: MAX_RESULT_BYTES, timeoutMs: 60_000, dispatcher: this.deps.http, signal: this.shutdown.signal, ...allocate });
        this.freshUrls.delete(job.id);
        return r;
      } catch (err) {
        lastErr = err;
        this.freshUrls.delete(job.id);
        const retry = err instanceof DownloadError && (err.kind === 'http' || err.kind === 'timeout' || err.kind === 'network');
        if (!retry) throw err;
        this.log.warn({ err, jobId: job.id, attempt }, 'result download failed; fetching a fresh URL');
        await sleep(250 * 2 ** attempt, undefined, { signal: this.shutdown.signal });
      }
    }
    throw lastErr;
  }

  /**
   * Reaches the member by the best route still open: the deferred reply while its token lives, else a channel
   * message that mentions them, else a DM. Returns how it was delivered, or undefined when nothing worked.
   */
  private async sendToMember(
    job: JobRecord,
    build: (mention: boolean) => OutgoingMessage,
    opts: { onTooLarge?: () => Promise<void>; nonce?: string } = {},
  ): Promise<{ via: 'original' | 'channel' | 'dm'; messageId?: string; channelId?: string } | undefined> {
    // Discord drops a second post with the same nonce (for a few minutes) and returns the first: a post repeated
    // after a crash lands once. Each kind of message has its own nonce, so a failure notice never stands in for a result.
    const nonce = opts.nonce ?? job.nonce;
    const d = job.discord;
    const log = this.log.child({ jobId: job.id, userId: d.userId });
    // After a 400 (Discord refused the message's form), every route gets the plain form: no embed, no buttons.
    let plain = false;
    const message = (mention: boolean) => (plain ? plainMessage(build(mention)) : build(mention));
    const attempt = async <T>(what: string, fn: () => Promise<T>): Promise<T | undefined> => {
      for (let i = 0; i < 3; i++) {
        try {
          return await fn();
        } catch (err) {
          const code = discordErrorCode(err);
          const status = discordStatus(err);
          if ((code === DiscordCodes.RequestEntityTooLarge || status === 413) && opts.onTooLarge) {
            log.warn({ route: what }, 'Discord refused the upload as too large; compressing further');
            await opts.onTooLarge();
            continue;
          }
          log.warn({ err, route: what, code, status }, 'Discord delivery route failed');
          if (status === 400 && !plain) {
            plain = true;
            log.warn({ route: what }, 'Discord refused the message (400); sending it once more without embed or buttons');
            continue;
          }
          if (status !== undefined && status >= 500) continue; // @discordjs/rest already retried; one more round
          return undefined;
        }
      }
      return undefined;
    };
    if (this.tokenUsable(job)) {
      const m = await attempt('original', () => this.deps.discord.editOriginal(d.applicationId, d.interactionToken, message(false)));
      if (m) return { via: 'original', messageId: m.id, channelId: m.channel_id };
    }
    if (d.channelId && !d.userInstalled && d.guildId) {
      const channelId = d.channelId;
      const m = await attempt('channel', () => this.deps.discord.postChannelMessage(channelId, { ...message(true), nonce }));
      if (m) return { via: 'channel', messageId: m.id, channelId: m.channel_id };
    }
    const m = await attempt('dm', () => this.deps.discord.directMessage(d.userId, { ...message(true), nonce }));
    if (m) return { via: 'dm', messageId: m.id, channelId: m.channel_id };
    return undefined;
  }

  /**
   * Records the failure (step `failing`, with whether the unit goes back), then refunds and tells the member. The
   * record comes first: a crash after it resumes at finishFailure, which is safe to repeat. Terminal: a save that
   * storage refuses is tried a few times, the member is told once either way, and the job leaves memory.
   */
  private async fail(job: JobRecord, action: FailureAction): Promise<void> {
    if (action.kind !== 'fail') throw new Error('fail() needs a fail action');
    if (this.cut) return; // an error the shutdown caused: the job resumes from its last saved step
    const log = this.log.child({ jobId: job.id, generationId: job.generationId, userId: job.discord.userId, guildId: job.discord.guildId });
    job.step = 'failing';
    // One nonce per failure: a notice sent again (after a crash) lands once.
    job.failure = { ...action.failure, refund: action.refund, nonce: job.failure?.nonce ?? randomBytes(8).toString('hex') };
    delete job.notBefore;
    await this.saveOnFailurePath(job, log);
    log[action.log]({ code: action.failure.code, ref: action.failure.ref, refund: action.refund }, 'job failed');
    this.deps.events?.failed(job, action.failure.code);
    if (action.operatorAlert) log.error({ alert: true }, `OPERATOR: ${action.operatorAlert}`);
    await this.finishFailure(job);
  }

  /**
   * The refund (idempotent in the quota module) and the notice (nonce-deduplicated) of a `failing` job, then
   * `failed`. Runs once per job in this process, and the job leaves memory whatever storage does.
   */
  private async finishFailure(job: JobRecord): Promise<void> {
    if (this.finishing.has(job.id)) return;
    this.finishing.add(job.id);
    const log = this.log.child({ jobId: job.id, generationId: job.generationId, userId: job.discord.userId, guildId: job.discord.guildId });
    try {
      const failure = job.failure;
      // The member's unit goes back when they did not cause the failure; the quota module also decides whether
      // the operator's spend goes back (only when Luma will not bill the job).
      await this.deps.quota?.refund(job, failure?.code ?? 'unknown', { units: failure?.refund === true }).catch((err: unknown) => log.error({ err }, 'quota refund failed'));
      const sent = await this.sendToMember(
        job,
        (mention) => ({ ...failureMessage(job, { public: mention }), ...(mention ? { content: `<@${job.discord.userId}>`, allowedUserMentions: [job.discord.userId] } : {}) }),
        failure?.nonce ? { nonce: failure.nonce } : {},
      );
      if (!sent) log.warn('could not tell the member about the failure on any route');
      job.step = 'failed';
      await this.saveOnFailurePath(job, log);
    } finally {
      this.forget(job);
    }
  }

  /**
   * Saves on the failure path, where nothing may loop: storage that refuses (down, full, a record it cannot take)
   * is tried FAILURE_SAVE_ATTEMPTS times, then the failure goes on without the record. Returns whether it was saved.
   */
  private async saveOnFailurePath(job: JobRecord, log: Logger): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.save(job);
        return true;
      } catch (err) {
        if (attempt >= FAILURE_SAVE_ATTEMPTS || this.cut) {
          log.error({ err, step: job.step, attempts: attempt }, 'could not save the failed job; going on without the record');
          return false;
        }
        log.warn({ err, step: job.step, attempt }, 'could not save the failed job; trying again');
        await sleep(200 * 4 ** (attempt - 1));
      }
    }
  }

  /**
   * Every write of a job record. An interaction token stays in the record only while the job can still use it:
   * it is dropped once it expired or the job ended (a new click brings a new one).
   */
  private async save(job: JobRecord, opts: { newJob?: boolean } = {}): Promise<void> {
    const ended = job.step === 'done' || job.step === 'failed' || job.step === 'undelivered';
    if (job.discord.interactionToken !== '' && (ended || this.now() >= job.discord.tokenExpiresAt)) job.discord.interactionToken = '';
    await this.deps.store.save(job, opts);
  }

  private forget(job: JobRecord): void {
    this.budget.release?.(job.id);
    void this.leases.release(job.id);
    this.jobs.delete(job.id);
    this.freshUrls.delete(job.id);
    this.resumed.delete(job.id);
    this.finishing.delete(job.id);
  }

  private progressWait(job: JobRecord, now: number, factor = 1): number {
    if (!this.tokenUsable(job)) return Infinity;
    const last = job.progress.editedAt ?? 0;
    return Math.max(0, last + this.deps.config.progressIntervalMs * factor - now);
  }

  /** Edits the progress reply when its text changed and the last edit is old enough (one message, throttled). */
  private async editProgress(job: JobRecord, queuePosition?: number): Promise<void> {
    const now = this.now();
    if (this.progressWait(job, now) > 0) return;
    const estimate = this.estimateMs();
    const text = progressText(job, { now, ...(queuePosition !== undefined ? { queuePosition } : {}), ...(estimate !== undefined ? { estimateMs: estimate } : {}) });
    if (text === job.progress.text) return;
    job.progress = { text, editedAt: now };
    try {
      const m = await this.deps.discord.editOriginal(job.discord.applicationId, job.discord.interactionToken, { content: text });
      job.discord.originalMessageId ??= m.id; // saved with the next step
    } catch (err) {
      if (discordErrorCode(err) === DiscordCodes.InvalidWebhookToken || discordStatus(err) === 401) {
        job.discord.tokenExpiresAt = now; // dead token: stop editing; the result goes by channel message
      }
      this.log.debug({ err, jobId: job.id }, 'progress edit failed');
    }
  }
}

function alreadyRetrying(locale: string): UserFacingError {
  return new UserFacingError(t(locale, 'job.alreadyRetrying'), { code: 'already_retrying' });
}

class InlineTooLargeError extends Error {
  override name = 'InlineTooLargeError';
  constructor(readonly bytes: number) {
    super(`input images of ${bytes} bytes are over the inline cap`);
  }
}

/** Round-robin key of a job's server; each member's DMs count as a server of their own. */
function guildKey(job: JobRecord): string {
  return job.discord.guildId ?? `dm:${job.discord.userId}`;
}

/**
 * The job to serve next: from the server served longest ago, then its member served longest ago, then that
 * member's oldest job. `guilds` / `users` hold when each was last served (a counter; absent = never).
 */
function fairest(
  jobs: Iterable<JobRecord>,
  guilds: ReadonlyMap<string, number>,
  users: ReadonlyMap<string, number>,
  skip?: (job: JobRecord) => boolean,
): JobRecord | undefined {
  let best: JobRecord | undefined;
  let bestGuild = 0;
  let bestUser = 0;
  for (const job of jobs) {
    // Compared key by key, without building a key per job: this runs over the whole queue for every pick.
    const g = guilds.get(guildKey(job)) ?? -1;
    if (best && g > bestGuild) continue;
    const u = users.get(job.discord.userId) ?? -1;
    if (best && g === bestGuild && (u > bestUser || (u === bestUser && job.createdAt >= best.createdAt))) continue;
    if (skip?.(job)) continue;
    best = job;
    bestGuild = g;
    bestUser = u;
  }
  return best;
}
