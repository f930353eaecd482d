import { setTimeout as sleep } from 'node:timers/promises';
import { newReference } from '../errors.js';
import { internalFailure } from './failures.js';
import { fairest, fairOrder, guildKey } from './fair-order.js';
import type { JobRuntime, Task } from './runtime.js';
import { fail, finishFailure } from './steps/fail.js';
import { poll } from './steps/poll.js';
import { submit } from './steps/submit.js';
import { transfer } from './steps/transfer.js';
import type { JobRecord } from './types.js';

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

/**
 * Decides what runs: submissions within Luma's concurrency and per-minute limits, fairly across servers and
 * members; polls on each job's own clock; downloads/uploads with bounded concurrency so memory stays flat; and
 * the queue places members see. Each task is one step of one job (src/jobs/steps).
 */
export class Scheduler {
  private readonly lastServedGuild = new Map<string, number>();
  private readonly lastServedUser = new Map<string, number>();
  private serveCounter = 0;
  /** The queue's places, worked out at most once per progress interval (a simulation of the fair pick over the queue). */
  private places: { at: number; positions: Map<string, number> } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pumping = false;
  private lastPumpAt = 0;
  private repump = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly rt: JobRuntime) {}

  /** Steps running now. */
  get running(): number {
    return this.inFlight.size;
  }

  /** Looks at the jobs again soon (after `delayMs` at the earliest). */
  wake(delayMs = 0): void {
    if (this.rt.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    // A pass looks at every job: with thousands of them, passes are spaced a few ms apart (none for a small
    // queue), so a stream of finishing tasks is handled in batches instead of one full pass each.
    const gap = Math.min(PUMP_MAX_GAP_MS, this.rt.jobs.size / 200);
    this.timer = setTimeout(() => void this.pump(), Math.max(delayMs, this.lastPumpAt + gap - performance.now()));
  }

  /** No more passes (running steps go on). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }

  /** Whether every running step ended within `ms`. */
  async settled(ms: number): Promise<boolean> {
    if (this.inFlight.size === 0) return true;
    const timeout = sleep(ms, false, { ref: false });
    return Promise.race([Promise.allSettled([...this.inFlight]).then(() => true), timeout]);
  }

  private run(job: JobRecord, task: Task, fn: () => Promise<void>): void {
    const rt = this.rt;
    rt.busy.set(job.id, task);
    const p = fn()
      .catch((err: unknown) => {
        if (rt.cut) return; // the shutdown's doing, not the job's: it resumes at the next start
        rt.log.error({ err, jobId: job.id, task }, 'job task crashed');
        // The failure path itself crashed: it does not start over (that looped, notifying the member each time).
        if (job.step === 'failing' || job.step === 'failed') return rt.forget(job);
        return fail(rt, job, internalFailure(newReference()));
      })
      .catch((err: unknown) => {
        rt.log.error({ err, jobId: job.id }, 'could not record a job failure');
        rt.forget(job);
      })
      .finally(() => {
        rt.busy.delete(job.id);
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
      } while (this.repump && !this.rt.stopped);
    } finally {
      this.pumping = false;
    }
  }

  private pumpOnce(): void {
    if (this.rt.stopped) return;
    const now = this.rt.now();
    let nextDue = Infinity;
    const due = (j: JobRecord): boolean => {
      const at = j.notBefore ?? 0;
      if (at > now) {
        nextDue = Math.min(nextDue, at);
        return false;
      }
      return true;
    };
    // `due` lowers nextDue as it goes: each result is taken after the call, not read before it.
    const submitAt = this.startSubmissions(now, due);
    const { queuedDueForProgress, wakeAt } = this.startDueSteps(now, due);
    nextDue = Math.min(nextDue, submitAt, wakeAt);
    // Members waiting in our queue see their place in it (worked out only when one of them is due an edit).
    if (queuedDueForProgress.length > 0) {
      const placesAt = this.showQueuePlaces(now, queuedDueForProgress);
      nextDue = Math.min(nextDue, placesAt);
    }
    this.pruneServed();
    if (nextDue !== Infinity) this.wakeAt(Math.max(0, nextDue - now));
  }

  /**
   * Sends queued jobs within the account's limits, fairly; returns when to look again (Infinity: no need).
   * Who is at Luma is counted once per pass (not per candidate), so a pass stays linear in the number of jobs.
   */
  private startSubmissions(now: number, due: (j: JobRecord) => boolean): number {
    const rt = this.rt;
    const atLuma = this.atLumaCounts();
    let candidates: Set<JobRecord> | undefined;
    for (;;) {
      // 0 when a POST may go now, else ms until one may: whenever the sliding minute has room and a concurrency
      // slot is free (the budget's call), never spaced out — a queue that built up goes out as one burst.
      const wait = rt.budget.waitMs(now, atLuma.total);
      if (wait > 0) return this.hasQueued() ? now + wait : Infinity;
      // Gathered once per pass: a pass that sends a burst of hundreds must not rescan every job for each of them.
      candidates ??= this.queuedCandidates(due);
      const job = this.pickFair(candidates, atLuma.byUser);
      if (!job) return Infinity;
      candidates.delete(job);
      this.markServed(job);
      // Counted now, not when the POST goes out (after an await): a pass that picks several jobs must see each.
      const ticket = rt.budget.recordPost(now);
      atLuma.total++;
      atLuma.byUser.set(job.discord.userId, (atLuma.byUser.get(job.discord.userId) ?? 0) + 1);
      this.run(job, 'submit', () => submit(rt, job, ticket));
    }
  }

  /** Starts the polls, transfers and failure endings that are due; returns the queued jobs due a progress edit. */
  private startDueSteps(now: number, due: (j: JobRecord) => boolean): { queuedDueForProgress: JobRecord[]; wakeAt: number } {
    const rt = this.rt;
    let wakeAt = Infinity;
    let polls = 0;
    for (const t of rt.busy.values()) if (t === 'poll') polls++;
    const queuedDueForProgress: JobRecord[] = [];
    for (const job of rt.jobs.values()) {
      if (rt.busy.has(job.id)) continue;
      if (job.step === 'polling') {
        if (polls < MAX_POLLS_AT_ONCE && due(job)) {
          polls++;
          this.run(job, 'poll', () => poll(rt, job));
        } else if (polls >= MAX_POLLS_AT_ONCE) wakeAt = Math.min(wakeAt, now + 50);
      } else if (job.step === 'downloading' || job.step === 'delivering') {
        // As many at once as their bytes fit in the budget: many small results together, a few huge ones bounded.
        const reservation = due(job) ? rt.transfers.tryAdmit() : undefined;
        if (reservation) this.run(job, 'transfer', () => transfer(rt, job, reservation).finally(reservation.release));
      } else if (job.step === 'failing') {
        this.run(job, 'finish', () => finishFailure(rt, job));
      } else if (job.step === 'queued') {
        const wait = rt.progressWait(job, now, QUEUE_PROGRESS_FACTOR);
        if (wait > 0) wakeAt = Math.min(wakeAt, now + wait);
        else queuedDueForProgress.push(job);
      }
    }
    return { queuedDueForProgress, wakeAt };
  }

  /** Edits the place shown to each of `jobs` whose edit is due and whose text changed; returns when to look again. */
  private showQueuePlaces(now: number, jobs: readonly JobRecord[]): number {
    const rt = this.rt;
    const positions = this.queuePositions(now, jobs);
    if (!positions) return now + PLACES_MIN_AGE_MS;
    for (const job of jobs) {
      const position = positions.get(job.id);
      if (position === undefined) continue;
      const factor = QUEUE_PROGRESS_FACTOR * Math.max(1, Math.ceil(position / QUEUE_PROGRESS_PLACES));
      if (rt.progressWait(job, now, factor) > 0) continue;
      if (rt.deps.deliverer.progressText(job, { now, queuePosition: position }) !== job.progress.text) {
        this.run(job, 'progress', () => rt.editProgress(job, position));
      }
    }
    return Infinity;
  }

  private wakeAt(delayMs: number): void {
    if (this.rt.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.pump(), Math.min(delayMs, 60_000));
  }

  private hasQueued(): boolean {
    for (const j of this.rt.jobs.values()) if (j.step === 'queued' && !this.rt.busy.has(j.id)) return true;
    return false;
  }

  private atLumaCounts(): { total: number; byUser: Map<string, number> } {
    const byUser = new Map<string, number>();
    let total = 0;
    for (const j of this.rt.jobs.values()) {
      if (!this.rt.isAtLuma(j)) continue;
      total++;
      byUser.set(j.discord.userId, (byUser.get(j.discord.userId) ?? 0) + 1);
    }
    return { total, byUser };
  }

  /**
   * Round-robin: the server served longest ago goes first, then within it the member served longest ago, then
   * that member's oldest job. A member at their in-flight cap is skipped, so one member's burst cannot hold
   * everybody else back.
   */
  private pickFair(candidates: Iterable<JobRecord>, atLumaByUser: ReadonlyMap<string, number>): JobRecord | undefined {
    const cap = this.rt.config.maxJobsPerUser;
    return fairest(candidates, this.lastServedGuild, this.lastServedUser, (job) => (atLumaByUser.get(job.discord.userId) ?? 0) >= cap);
  }

  /** Queued jobs free to be sent now (not busy, not waiting out a delay). */
  private queuedCandidates(due: (j: JobRecord) => boolean): Set<JobRecord> {
    const out = new Set<JobRecord>();
    for (const job of this.rt.jobs.values()) if (job.step === 'queued' && !this.rt.busy.has(job.id) && due(job)) out.add(job);
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
    if (this.lastServedUser.size <= 2 * this.rt.jobs.size + 256) return;
    const users = new Set<string>();
    const guilds = new Set<string>();
    for (const j of this.rt.jobs.values()) {
      users.add(j.discord.userId);
      guilds.add(guildKey(j));
    }
    for (const id of this.lastServedUser.keys()) if (!users.has(id)) this.lastServedUser.delete(id);
    for (const id of this.lastServedGuild.keys()) if (!guilds.has(id)) this.lastServedGuild.delete(id);
  }

  /**
   * Places in the queue, for the jobs due an edit. Worked out again when the last answer is older than a progress
   * interval, or when one of `due` joined the queue since (a new job shows its place at once) — but in a long queue
   * not more than once per PLACES_MIN_AGE_MS: undefined means "ask again after that".
   */
  private queuePositions(now: number, due: readonly JobRecord[]): Map<string, number> | undefined {
    const places = this.places;
    if (places) {
      const age = now - places.at;
      const stale = age >= Math.max(500, this.rt.config.progressIntervalMs) || due.some((j) => !places.positions.has(j.id));
      if (!stale) return places.positions;
      // Each working-out costs about a pass over the queue: a long queue is worked out less often (a short one at once).
      if (age < Math.min(PLACES_MIN_AGE_MS, places.positions.size / 20)) return undefined;
    }
    const positions = this.computeQueuePositions();
    this.places = { at: now, positions };
    return positions;
  }

  /** 1-based positions of queued jobs, by simulating the fair picker over the current queue. */
  private computeQueuePositions(): Map<string, number> {
    const queued = [];
    for (const j of this.rt.jobs.values()) {
      if (j.step === 'queued' && !this.rt.busy.has(j.id)) queued.push({ id: j.id, createdAt: j.createdAt, guild: guildKey(j), userId: j.discord.userId });
    }
    const positions = new Map<string, number>();
    for (const j of fairOrder(queued, this.lastServedGuild, this.lastServedUser, this.serveCounter)) positions.set(j.id, positions.size + 1);
    return positions;
  }
}
