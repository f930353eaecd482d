import { newReference } from '../errors.js';
import { internalFailure } from './failures.js';
import { LeaseLostError } from './fence.js';
import { FairQueue } from './fair-order.js';
import { AtLumaCount, ServedOrder } from './served.js';
import { TimedFiles } from './heap.js';
import { OutageHold } from './outage-hold.js';
import { Pump } from './pump.js';
import { QueuePlaces } from './queue-places.js';
import type { JobWork, Task } from './work.js';
import { fail, finishFailure } from './steps/fail.js';
import { outageOutlasted } from './steps/outage.js';
import { poll as pollStep } from './steps/poll.js';
import { submit } from './steps/submit.js';
import { transfer } from './steps/transfer.js';
import type { JobRecord } from './types.js';

const MAX_POLLS_AT_ONCE = 16;

/**
 * Decides what runs: submissions within Luma's concurrency and per-minute limits, fairly across servers and
 * members; polls on each job's own clock; downloads/uploads with bounded concurrency so memory stays flat; and
 * the queue places members see (src/jobs/queue-places.ts). Each task is one step of one job (src/jobs/steps).
 * While Luma is down (its breaker is open: src/jobs/luma-breaker.ts, outage-hold.ts), one probe at a time instead.
 */
export class Scheduler {
  /** Who was served when: the round-robin's memory. */
  private readonly served = new ServedOrder();
  private readonly pump: Pump;
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
  /** What the jobs do while Luma is down, and its probe. */
  private readonly outage: OutageHold;
  /** A member at their cap of jobs at Luma is skipped by the fair pick. */
  private readonly atCap = (user: string): boolean => this.atLuma.ofUser(user) >= this.rt.config.maxJobsPerUser;

  constructor(private readonly rt: JobWork) {
    this.pump = new Pump(rt.clock, rt, () => this.pumpOnce());
    this.ready = new FairQueue(this.served.guilds, this.served.users);
    this.places = new QueuePlaces(rt, {
      queued: this.queued,
      positions: () => this.served.positions(this.queued), // by simulating the fair pick over the queue
      showPlace: (job, position) => this.run(job, 'progress', () => rt.showProgress(job, position)),
    });
    this.outage = new OutageHold(rt, {
      restatePlaces: (now) => this.places.restate(now),
      showProgress: (job) => this.run(job, 'progress', () => rt.showProgress(job)),
      refile: (job, now) => (job.step === 'polling' ? this.timed.file(this.polls, job, now) : this.file(job)),
      giveUp: (job) => this.run(job, 'finish', () => outageOutlasted(rt, job)),
      nextPost: (now) => (this.ready.size > 0 && rt.budget.waitMs(now, this.atLuma.size) === 0 ? this.ready.next(this.atCap) : undefined),
      nextPoll: () => this.timed.top(this.polls)?.job,
      nextFetch: () => [...this.transfers].find((j) => !rt.hasOutputUrl(j)),
      send: (job, now) => {
        if (job.step === 'polling') return this.run(job, 'poll', () => pollStep(rt, job));
        if (job.step === 'queued') return this.send(job, now);
        const reservation = rt.transfers.tryAdmit(); // a probe goes even when the budget is full (one transfer more)
        this.run(job, 'transfer', () => transfer(rt, job, reservation).finally(() => reservation?.release()));
      },
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
    this.pump.wake(delayMs);
  }

  /** No more passes (running steps go on). */
  stop(): void {
    this.pump.stop();
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
        if (err instanceof LeaseLostError) return rt.drop(job, err); // another process holds it now
        if (rt.cut) return; // the shutdown's doing, not the job's: it resumes at the next start
        rt.baseLog.error({ err, jobId: job.id, task }, 'job task crashed');
        // The failure path itself crashed: it does not start over (that looped, notifying the member each time).
        if (job.step === 'failing' || job.step === 'failed') return rt.forget(job);
        return fail(rt, job, internalFailure(newReference()));
      })
      .catch((err: unknown) => {
        if (err instanceof LeaseLostError) return rt.drop(job, err);
        rt.baseLog.error({ err, jobId: job.id }, 'could not record a job failure');
        rt.forget(job);
      })
      .finally(() => {
        rt.busy.delete(job.id);
        if (task === 'poll') this.runningPolls--;
        this.outage.taskEnded(job);
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
    this.outage.filed(job, now);
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

  private pumpOnce(): void {
    if (this.rt.stopped) return;
    const now = this.rt.clock.now();
    const delayedAt = this.releaseDelayed(now);
    // Luma down: one probe at a time instead of the submissions and polls (both wait in their order meanwhile).
    const down = this.outage.pass(now).open;
    const lumaAt = down ? this.outage.startProbe(now) : Math.min(this.startSubmissions(now), this.startPolls(now));
    const transferAt = this.startTransfers(now, down);
    for (const job of [...this.failing]) this.run(job, 'finish', () => finishFailure(this.rt, job));
    // Members waiting in our queue see their place in it (worked out only when one of them is due an edit).
    const placesAt = this.places.show(now);
    this.served.prune(this.rt.all(), this.rt.size);
    const nextDue = Math.min(delayedAt, lumaAt, transferAt, placesAt);
    if (nextDue !== Infinity) this.pump.wakeIn(Math.max(0, nextDue - now));
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
    for (;;) {
      if (this.ready.size === 0) return Infinity; // nothing waits (a delayed job wakes the pass by itself)
      // 0 when a POST may go now, else ms until one may: whenever the sliding minute has room and a concurrency
      // slot is free (the budget's call), never spaced out — a queue that built up goes out as one burst.
      const wait = rt.budget.waitMs(now, this.atLuma.size);
      if (wait > 0) return this.queued.size > 0 ? now + wait : Infinity;
      const job = this.ready.next(this.atCap);
      if (!job) return Infinity;
      this.send(job, now);
    }
  }

  private send(job: JobRecord, now: number): void {
    this.served.mark(job);
    // Counted from now, not from when the POST goes out (after an await): the next pick must see it.
    this.countAtLuma(job, true);
    const ticket = this.rt.budget.recordPost(now);
    this.run(job, 'submit', () => submit(this.rt, job, ticket));
  }

  /** Starts the polls that are due, at most MAX_POLLS_AT_ONCE at a time; returns when to look again. */
  private startPolls(now: number): number {
    for (let top = this.timed.top(this.polls); top; top = this.timed.top(this.polls)) {
      if (top.at > now) return top.at;
      if (this.runningPolls >= MAX_POLLS_AT_ONCE) return now + 50;
      this.timed.take(this.polls);
      const job = top.job;
      this.run(job, 'poll', () => pollStep(this.rt, job));
    }
    return Infinity;
  }

  /** Starts transfers, oldest first, as many at once as their bytes fit in the budget; returns when to look again. */
  private startTransfers(now: number, down: boolean): number {
    const rt = this.rt;
    let next = Infinity;
    for (const job of [...this.transfers]) {
      const at = job.notBefore ?? 0;
      if (at > now) {
        next = Math.min(next, at);
        continue;
      }
      if (down && !rt.hasOutputUrl(job)) continue; // Luma is down: no fresh output URL until it is back
      // As many at once as their bytes fit in the budget: many small results together, a few huge ones bounded.
      // (Refused only while one runs: its end is the next look.)
      const reservation = rt.transfers.tryAdmit();
      if (!reservation) return next;
      this.run(job, 'transfer', () => transfer(rt, job, reservation).finally(reservation.release));
    }
    return next;
  }
}
