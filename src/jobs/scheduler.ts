import type { Timer } from '../clock.js';
import { newReference } from '../errors.js';
import { internalFailure } from './failures.js';
import { FairQueue } from './fair-order.js';
import { AtLumaCount, ServedOrder } from './served.js';
import { TimedFiles } from './heap.js';
import { QueuePlaces } from './queue-places.js';
import type { JobWork, Task } from './work.js';
import { fail, finishFailure } from './steps/fail.js';
import { poll } from './steps/poll.js';
import { submit } from './steps/submit.js';
import { transfer } from './steps/transfer.js';
import type { JobRecord } from './types.js';

const MAX_POLLS_AT_ONCE = 16;
/** Longest spacing of the scheduler's passes (reached at 2,000 jobs in the process; 1 ms per 200 jobs). */
const PUMP_MAX_GAP_MS = 10;

/**
 * Decides what runs: submissions within Luma's concurrency and per-minute limits, fairly across servers and
 * members; polls on each job's own clock; downloads/uploads with bounded concurrency so memory stays flat; and
 * the queue places members see (src/jobs/queue-places.ts). Each task is one step of one job (src/jobs/steps).
 */
export class Scheduler {
  /** Who was served when: the round-robin's memory. */
  private readonly served = new ServedOrder();
  private timer: Timer | undefined;
  private pumping = false;
  private lastPumpAt = 0;
  private repump = false;
  private readonly inFlight = new Set<Promise<void>>();

  /** The heaps of jobs filed by time (delays, polls): each job's current entry. */
  private readonly timed = new TimedFiles<JobRecord>();
  // Every job of ours that no task is running for is filed in one of these by its step, and taken out while a task
  // runs (its step is looked at again when the task ends), so a pass looks only at jobs it may start.
  /** Arrival order of each job (the order in which a pass used to look at them): the fair pick's last tie-break. */
  private readonly seqs = new Map<string, number>();
  private seq = 0;
  /** Queued jobs that may be sent now, in the fair pick's order. */
  private readonly ready: FairQueue;
  /** Queued jobs waiting out a delay (notBefore), soonest first. */
  private readonly delayed = this.timed.newHeap();
  /** Every queued job that is not busy (ready or delayed), for the queue's places. */
  private readonly queued = new Set<JobRecord>();
  /** Polling jobs, by when their next poll is due. */
  private readonly polls = this.timed.newHeap();
  /** Finished generations waiting for room in the transfer budget, in the order they got there. */
  private readonly transfers = new Set<JobRecord>();
  /** Jobs whose failure is to be finished (refund and notice). */
  private readonly failing = new Set<JobRecord>();
  /** The places shown to members whose jobs wait in the queue. */
  private readonly places: QueuePlaces;
  /** Jobs Luma's concurrency limit counts now (sent, or picked to be sent, and not finished there), by member. */
  private readonly atLuma = new AtLumaCount();
  private runningPolls = 0;

  constructor(private readonly rt: JobWork) {
    this.ready = new FairQueue(this.served.guilds, this.served.users);
    this.places = new QueuePlaces(rt, {
      queued: this.queued,
      positions: () => this.queuePositions(),
      showPlace: (job, position) => this.run(job, 'progress', () => rt.showProgress(job, position)),
    });
    rt.watch({
      added: (job) => {
        this.seqs.set(job.id, this.seq++);
        this.file(job);
      },
      saved: (job) => this.countAtLuma(job, rt.isAtLuma(job)),
      left: (job) => {
        this.unfile(job);
        this.countAtLuma(job, false);
        this.seqs.delete(job.id);
      },
    });
  }

  /** Steps running now. */
  get running(): number {
    return this.inFlight.size;
  }

  /** Looks at the jobs again soon (after `delayMs` at the earliest). */
  wake(delayMs = 0): void {
    if (this.rt.stopped) return;
    const clock = this.rt.clock;
    clock.clearTimeout(this.timer);
    // With thousands of jobs, passes are spaced a few ms apart (none for a small queue), so a stream of finishing
    // tasks is handled in batches instead of one pass each.
    const gap = Math.min(PUMP_MAX_GAP_MS, this.rt.size / 200);
    this.timer = clock.setTimeout(() => void this.pump(), Math.max(delayMs, this.lastPumpAt + gap - clock.now()));
  }

  /** No more passes (running steps go on). */
  stop(): void {
    this.rt.clock.clearTimeout(this.timer);
  }

  /** Whether every running step ended within `ms`. */
  async settled(ms: number): Promise<boolean> {
    if (this.inFlight.size === 0) return true;
    const timeout = this.rt.clock.sleep(ms).then(() => false);
    return Promise.race([Promise.allSettled([...this.inFlight]).then(() => true), timeout]);
  }

  private run(job: JobRecord, task: Task, fn: () => Promise<void>): void {
    const rt = this.rt;
    this.unfile(job);
    rt.busy.set(job.id, task);
    if (task === 'poll') this.runningPolls++;
    const p = fn()
      .catch((err: unknown) => {
        if (rt.cut) return; // the shutdown's doing, not the job's: it resumes at the next start
        rt.baseLog.error({ err, jobId: job.id, task }, 'job task crashed');
        // The failure path itself crashed: it does not start over (that looped, notifying the member each time).
        if (job.step === 'failing' || job.step === 'failed') return rt.forget(job);
        return fail(rt, job, internalFailure(newReference()));
      })
      .catch((err: unknown) => {
        rt.baseLog.error({ err, jobId: job.id }, 'could not record a job failure');
        rt.forget(job);
      })
      .finally(() => {
        rt.busy.delete(job.id);
        if (task === 'poll') this.runningPolls--;
        this.inFlight.delete(p);
        if (rt.owns(job)) {
          this.countAtLuma(job, rt.isAtLuma(job));
          this.file(job);
        }
        this.wake();
      });
    this.inFlight.add(p);
  }

  /** Files a job no task runs for by its step, for the passes to find. */
  private file(job: JobRecord): void {
    if (this.rt.busy.has(job.id)) return;
    this.unfile(job);
    this.countAtLuma(job, this.rt.isAtLuma(job));
    const now = this.rt.clock.now();
    switch (job.step) {
      case 'queued': {
        this.queued.add(job);
        const at = job.notBefore ?? 0;
        if (at > now) this.timed.file(this.delayed, job, at);
        else this.ready.add(job, this.seqs.get(job.id) ?? 0);
        this.places.queued(job, now);
        return;
      }
      case 'polling':
        return this.timed.file(this.polls, job, job.notBefore ?? 0);
      case 'downloading':
      case 'delivering':
        this.transfers.add(job);
        return;
      case 'failing':
        this.failing.add(job);
        return;
      default:
    }
  }

  /** Takes a job out of every file (its task starts, or it left). */
  private unfile(job: JobRecord): void {
    this.timed.unfile(job);
    this.places.forget(job);
    if (this.queued.delete(job)) this.ready.delete(job);
    this.transfers.delete(job);
    this.failing.delete(job);
  }

  /** Counts the job at Luma or not (its member's count with it; a member with room again is back in line). */
  private countAtLuma(job: JobRecord, at: boolean): void {
    const left = this.atLuma.count(job, at);
    if (left !== undefined && left < this.rt.config.maxJobsPerUser) this.ready.unpark(job.requester.userId);
  }

  private pump(): void {
    this.lastPumpAt = this.rt.clock.now();
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
    const now = this.rt.clock.now();
    const delayedAt = this.releaseDelayed(now);
    const submitAt = this.startSubmissions(now);
    const pollAt = this.startPolls(now);
    const transferAt = this.startTransfers(now);
    for (const job of [...this.failing]) this.run(job, 'finish', () => finishFailure(this.rt, job));
    // Members waiting in our queue see their place in it (worked out only when one of them is due an edit).
    const placesAt = this.places.show(now);
    this.served.prune(this.rt.all(), this.rt.size);
    const nextDue = Math.min(delayedAt, submitAt, pollAt, transferAt, placesAt);
    if (nextDue !== Infinity) this.wakeAt(Math.max(0, nextDue - now));
  }

  /** Queued jobs whose delay is over join the ready ones; returns when the next delay ends. */
  private releaseDelayed(now: number): number {
    for (let top = this.timed.top(this.delayed); top; top = this.timed.top(this.delayed)) {
      if (top.at > now) return top.at;
      this.timed.take(this.delayed);
      this.ready.add(top.job, this.seqs.get(top.job.id) ?? 0);
    }
    return Infinity;
  }

  /**
   * Sends queued jobs within the account's limits, fairly; returns when to look again (Infinity: no need).
   * Round-robin: the server served longest ago goes first, then within it the member served longest ago, then
   * that member's oldest job. A member at their in-flight cap is skipped, so one member's burst cannot hold
   * everybody else back.
   */
  private startSubmissions(now: number): number {
    const rt = this.rt;
    const cap = rt.config.maxJobsPerUser;
    const atCap = (user: string): boolean => this.atLuma.ofUser(user) >= cap;
    for (;;) {
      // 0 when a POST may go now, else ms until one may: whenever the sliding minute has room and a concurrency
      // slot is free (the budget's call), never spaced out — a queue that built up goes out as one burst.
      const wait = rt.budget.waitMs(now, this.atLuma.size);
      if (wait > 0) return this.queued.size > 0 ? now + wait : Infinity;
      const job = this.ready.next(atCap);
      if (!job) return Infinity;
      this.served.mark(job);
      // Counted from now, not from when the POST goes out (after an await): the next pick must see it.
      this.countAtLuma(job, true);
      const ticket = rt.budget.recordPost(now);
      this.run(job, 'submit', () => submit(rt, job, ticket));
    }
  }

  /** Starts the polls that are due, at most MAX_POLLS_AT_ONCE at a time; returns when to look again. */
  private startPolls(now: number): number {
    for (let top = this.timed.top(this.polls); top; top = this.timed.top(this.polls)) {
      if (top.at > now) return top.at;
      if (this.runningPolls >= MAX_POLLS_AT_ONCE) return now + 50;
      this.timed.take(this.polls);
      const job = top.job;
      this.run(job, 'poll', () => poll(this.rt, job));
    }
    return Infinity;
  }

  /** Starts transfers, oldest first, as many at once as their bytes fit in the budget; returns when to look again. */
  private startTransfers(now: number): number {
    const rt = this.rt;
    let next = Infinity;
    for (const job of [...this.transfers]) {
      const at = job.notBefore ?? 0;
      if (at > now) {
        next = Math.min(next, at);
        continue;
      }
      // As many at once as their bytes fit in the budget: many small results together, a few huge ones bounded.
      // (Refused only while one runs: its end is the next look.)
      const reservation = rt.transfers.tryAdmit();
      if (!reservation) return next;
      this.run(job, 'transfer', () => transfer(rt, job, reservation).finally(reservation.release));
    }
    return next;
  }

  private wakeAt(delayMs: number): void {
    if (this.rt.stopped) return;
    this.rt.clock.clearTimeout(this.timer);
    this.timer = this.rt.clock.setTimeout(() => void this.pump(), Math.min(delayMs, 60_000));
  }

  /** 1-based positions of queued jobs, by simulating the fair picker over the current queue. */
  private queuePositions(): Map<string, number> {
    return this.served.positions(this.queued);
  }
}
