// What the scheduler does while Luma is down (its breaker is open, src/jobs/luma-breaker.ts). No POST and no poll
// goes but the breaker's one probe: the POST of the job the fair order sends next, else the poll due soonest. Every
// other job waits in its place, its member told Luma is unavailable; a job fails with a refund once its outage
// window (LUMA_OUTAGE_WINDOW_MS) has passed. When Luma answers again, the queue goes on in its fair order at the
// account's limits, and the jobs at Luma are polled at once.
import type { BreakerView } from './luma-breaker.js';
import { heldByOutage, lumaIsBack, outageEndsAt } from './steps/outage.js';
import type { JobRecord } from './types.js';
import type { JobWork } from './work.js';

/** Outage windows are looked at no more often than this (each look goes through every job). */
const WINDOW_CHECK_MS = 1000;
/** While the shared breaker asks Redis whether the probe is ours, the pass looks again this soon at the latest. */
const PROBE_CLAIM_RECHECK_MS = 1000;

/** What the hold asks of the scheduler. */
export interface HoldActions {
  /** Waiting members see their line again (it changes with Luma's state, not with their place). */
  restatePlaces(now: number): void;
  /** Runs a progress update of the job. */
  showProgress(job: JobRecord): void;
  /** Files the job again: a queued one by its (cleared) delay, a polling one due `now`. */
  refile(job: JobRecord, now: number): void;
  /** Runs the job's failure: its outage window has passed. */
  giveUp(job: JobRecord): void;
  /** The job the fair order sends next, when the budget has room for a POST now. */
  nextPost(now: number): JobRecord | undefined;
  /** The polling job due soonest. */
  nextPoll(): JobRecord | undefined;
  /** A finished job waiting for a fresh output URL (its GET is then the probe). */
  nextFetch(): JobRecord | undefined;
  /** Starts the job's POST (queued), poll (polling) or fetch of a fresh URL and its delivery (downloading). */
  send(job: JobRecord, now: number): void;
}

export class OutageHold {
  private open = false;
  /** When the next outage window may end. */
  private checkAt = Infinity;
  /** The job whose POST or poll is the probe now. */
  private probe: string | undefined;

  constructor(
    private readonly rt: Pick<JobWork, 'breaker' | 'busy' | 'all' | 'config' | 'clock' | 'hasOutputUrl'>,
    private readonly act: HoldActions,
  ) {}

  /** Once per pass: the breaker's state. A change reaches every job no task runs for; windows that ended fail. */
  pass(now: number): BreakerView {
    const view = this.rt.breaker.view(now);
    if (view.open !== this.open) {
      this.open = view.open;
      if (view.open) this.opened(now, view.since);
      else this.closed(now);
    }
    if (this.open && now >= this.checkAt) this.checkWindows(now);
    return view;
  }

  /** A job no task runs for is being filed (new, or its task ended): it learns Luma's state first. */
  filed(job: JobRecord, now: number): void {
    if (!this.waitsOnLuma(job)) return;
    const view = this.rt.breaker.view(now);
    if (view.open) {
      heldByOutage(job, view.since);
      this.checkAt = Math.min(this.checkAt, outageEndsAt(job, this.rt.config.lumaOutageWindowMs));
    } else if (job.step === 'queued') lumaIsBack(job);
  }

  /** Whether the job needs Luma to go on: queued, polling, or finished but without a fresh output URL. */
  private waitsOnLuma(job: JobRecord): boolean {
    return job.step === 'queued' || job.step === 'polling' || (job.step === 'downloading' && !this.rt.hasOutputUrl(job));
  }

  /**
   * Luma is down: sends the one probe the breaker allows when it is due. Returns when to look again (the probe's
   * end, a new job, a freed slot or the shared breaker's news wake the scheduler by themselves).
   */
  startProbe(now: number): number {
    const breaker = this.rt.breaker;
    const view = breaker.view(now);
    const next = Math.min(this.checkAt, view.probing ? Infinity : view.probeAt);
    if (view.probing || view.probeAt > now) return next;
    const job = this.act.nextPost(now) ?? this.act.nextPoll() ?? this.act.nextFetch();
    if (!job) return this.checkAt;
    if (!breaker.takeProbe(now)) return Math.min(this.checkAt, now + PROBE_CLAIM_RECHECK_MS);
    this.probe = job.id;
    this.act.send(job, now);
    return this.checkAt;
  }

  /** A task of the job ended: when it was the probe, the breaker hears so (what Luma answered it heard already). */
  taskEnded(job: JobRecord): void {
    if (this.probe !== job.id) return;
    this.probe = undefined;
    this.rt.breaker.probeEnded(this.rt.clock.now());
  }

  private opened(now: number, since: number): void {
    const windowMs = this.rt.config.lumaOutageWindowMs;
    let next = Infinity;
    for (const job of this.idle()) {
      heldByOutage(job, since);
      next = Math.min(next, outageEndsAt(job, windowMs));
      // A waiting job's line is shown with the places; one at Luma is not polled meanwhile, so it is shown here.
      if (job.step !== 'queued') this.act.showProgress(job);
    }
    this.checkAt = next;
    this.act.restatePlaces(now);
  }

  private closed(now: number): void {
    for (const job of this.idle()) {
      if (job.step !== 'polling') lumaIsBack(job);
      this.act.refile(job, now);
    }
    this.checkAt = Infinity;
    this.act.restatePlaces(now);
  }

  private checkWindows(now: number): void {
    const windowMs = this.rt.config.lumaOutageWindowMs;
    let next = Infinity;
    for (const job of this.idle()) {
      const ends = outageEndsAt(job, windowMs);
      if (ends <= now) this.act.giveUp(job);
      else next = Math.min(next, ends);
    }
    this.checkAt = next === Infinity ? Infinity : Math.max(next, now + WINDOW_CHECK_MS);
  }

  /** Our jobs that wait on Luma and no task runs for (a copy: what is done with them may change the set). */
  private idle(): JobRecord[] {
    const jobs: JobRecord[] = [];
    for (const job of this.rt.all()) if (!this.rt.busy.has(job.id) && this.waitsOnLuma(job)) jobs.push(job);
    return jobs;
  }
}
