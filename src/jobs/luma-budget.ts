// When a POST /generations may go: Luma's account limits (requests per sliding minute, concurrent jobs), kept
// apart from the engine, which decides *who* goes next (the fair pick) and asks the budget *when*.
//
// The budget learns the plan from Luma itself. Every 201 carries X-RateLimit-Limit / -Remaining / -Reset: the
// limit is the account's, up or down from the configured value (which is only where the bot starts, unless the
// operator set a hard ceiling), and a window fuller than our own count of POSTs means someone else uses the
// account. A concurrency 429 lowers the concurrency estimate to what we have at Luma; it climbs back one job at a
// time afterwards. Concurrency has no header: the bot never goes above the configured value, and says so when
// Luma never refused it there through a long busy spell (concurrency-watch.ts).
import type { Logger } from '../logger.js';
import type { RateWindow } from '../luma/errors.js';
import { ConcurrencyWatch } from './concurrency-watch.js';

/** Luma's per-minute window is a sliding 60 s. */
export const RPM_WINDOW_MS = 60_000;
/** After a concurrency 429, the lowered estimate holds this long before it starts climbing back. */
export const CONCURRENCY_HOLD_MS = 60_000;
/** Then it grows by one job per this long (a 429 on the way starts over), up to the configured limit. */
export const CONCURRENCY_CLIMB_MS = 15_000;
/**
 * A concurrency 429 while none of our jobs is at Luma means someone else holds the account's slots, and we cannot
 * see one free up: probe again after this long (Luma's own Retry-After, 60 s, is longer than members should wait).
 */
export const CONCURRENCY_PROBE_MS = 10_000;

/** Where the per-minute limit held to comes from. */
export type RequestsPerMinuteSource =
  /** LUMA_MAX_REQUESTS_PER_MINUTE: Luma has not reported the account's limit yet. */
  | 'configured'
  /** Luma's X-RateLimit-Limit. */
  | 'luma'
  /** LUMA_RPM_CEILING, lower than what Luma reported (or than the configured start). */
  | 'ceiling';

/** The limits a budget holds to right now, for logs and metrics. */
export interface BudgetLimits {
  /** POSTs per sliding minute: Luma's X-RateLimit-Limit once reported (the configured value before), within the ceiling. */
  requestsPerMinute: number;
  requestsPerMinuteSource: RequestsPerMinuteSource;
  /** Jobs at Luma at once: the configured value, or the estimate after a concurrency 429. */
  concurrentJobs: number;
  /** 'lowered' while the estimate is below the configured value after a concurrency 429. */
  concurrencySource: 'configured' | 'lowered';
  /**
   * How long jobs have waited for a slot at the configured concurrency since Luma last refused one for concurrency
   * (or since start), ms: a long time says the plan may allow more than LUMA_MAX_CONCURRENT_JOBS.
   */
  busyAtConcurrencyMs: number;
  /** What Luma last reported as the plan's per-minute limit; undefined before the first report. */
  learnedRequestsPerMinute: number | undefined;
  /** POSTs the window holds now: ours, plus others' that Luma's Remaining revealed. */
  windowUsed: number;
  /** No POST before this time (epoch ms), after a 429; 0 when not paused. */
  pausedUntil: number;
}

/** A 429 Luma answered a POST with. */
export type RateLimitEvent =
  | { kind: 'requests'; retryAfterMs: number | undefined; window: RateWindow | undefined }
  /** `ourOthersActive`: our jobs at Luma when it was refused, the refused one not counted. */
  | { kind: 'concurrency'; retryAfterMs: number | undefined; ourOthersActive: number };

/** What a 429 changed, for the caller's log line. */
export interface RateLimitReaction {
  /** ms no POST may go from the 429 on (0: none beyond the window and the concurrency estimate). */
  pauseMs: number;
  concurrentJobs: number;
}

/** Names one POST between recordPost and its outcome. */
export type PostTicket = string;

/**
 * Luma's account limits, as the scheduler sees them. The engine calls it from its pump, which is synchronous:
 * every method answers from the implementation's current view of the account and never waits on I/O.
 *
 * Nothing here assumes the state is this process's alone: the engine passes in its own count of jobs at Luma
 * (`ourActive`) and re-asks on every pass, and reports every POST and every answer. A shared implementation
 * (several processes on one Luma account) keeps its view in step with a store in the background —
 * writing through what it is told, reading the others' POSTs and active jobs — and answers waitMs from the last
 * synchronised view; being a little stale only makes it hold a POST back a little longer or, at worst, draw one
 * 429, which it is told about and learns from.
 */
export interface SubmitBudget {
  /** 0 when a POST may go now given `ourActive` of our jobs at Luma (queued or processing there), else ms until one may. */
  waitMs(now: number, ourActive: number): number;
  /** A POST is about to go: it counts in the window from now. The ticket names it in the calls that follow. */
  recordPost(now: number): PostTicket;
  /** Luma accepted it (201), answering at `at` with the window its X-RateLimit-* headers report (if any). */
  learn(ticket: PostTicket, at: number, window: RateWindow | undefined): void;
  /** Luma refused it with a 429. */
  rateLimited(ticket: PostTicket, at: number, event: RateLimitEvent): RateLimitReaction;
  /** Any other outcome. It stays counted (it may have reached Luma), from the time its outcome was known. */
  postFailed(ticket: PostTicket, at: number): void;
  limits(now: number): BudgetLimits;
  /**
   * A shared implementation's atomic step: the job's submit awaits it after recordPost and before its
   * POST; it resolves when the account-wide window and a concurrency slot are this job's. Absent: nothing to await.
   */
  acquire?(ticket: PostTicket, jobId: string): Promise<void>;
  /** The job is no longer at Luma (finished there, or its POST did not create it): its slot frees. */
  release?(jobId: string): void;
  /** These jobs are at Luma already (resumed, taken over): they hold slots. */
  hold?(jobIds: readonly string[]): void;
  /** Releases what a shared implementation holds (connections, timers). */
  close?(): Promise<void>;
}

export interface LocalBudgetOptions {
  /** LUMA_MAX_REQUESTS_PER_MINUTE: the window's size until Luma reports the account's limit. */
  requestsPerMinute: number;
  /** LUMA_RPM_CEILING: never more POSTs per minute than this, whatever Luma reports (undefined: no ceiling). */
  requestsPerMinuteCeiling?: number | undefined;
  /** LUMA_MAX_CONCURRENT_JOBS: the concurrency estimate's start and ceiling. */
  concurrentJobs: number;
  /** Gets one info line whenever the limits held to change. */
  logger?: Logger;
}

/** The budget of one process that has the Luma account to itself (or its configured share of it). */
export class LocalSubmitBudget implements SubmitBudget {
  /**
   * Our POSTs in the window: ticket → when it counts from. Each entry is (re)inserted with the current time, so
   * the Map's order is the time order and expired entries are all at its front.
   */
  private readonly posts = new Map<PostTicket, number>();
  /** When each POST of others in the window (revealed by Luma's Remaining) leaves it, ascending. */
  private foreign: number[] = [];
  private seq = 0;
  private learnedRpm: number | undefined;
  private concurrencyFloor: number;
  private loweredAt = -Infinity;
  private pausedUntil = 0;
  private logged: { rpm: number; concurrent: number };
  private readonly watch: ConcurrencyWatch;

  constructor(private readonly opts: LocalBudgetOptions) {
    this.concurrencyFloor = opts.concurrentJobs;
    this.logged = { rpm: this.rpm(), concurrent: opts.concurrentJobs };
    this.watch = new ConcurrencyWatch(opts.concurrentJobs, opts.logger);
  }

  waitMs(now: number, ourActive: number): number {
    if (now < this.pausedUntil) return this.pausedUntil - now;
    const concurrent = this.concurrency(now);
    this.noteChange(now);
    if (ourActive >= concurrent) {
      this.busyAtConcurrency(now);
      // A slot frees when a poll sees one of ours finish (the engine pumps then); the timer covers the estimate's climb.
      const nextClimb = this.nextClimbAt(now);
      return nextClimb === undefined ? 1000 : Math.max(1, Math.min(nextClimb - now, 5000));
    }
    this.prune(now);
    if (this.posts.size + this.foreign.length < this.rpm()) return 0;
    const ourOldest = this.posts.values().next().value;
    const freesAt = Math.min(ourOldest === undefined ? Infinity : ourOldest + RPM_WINDOW_MS, this.foreign[0] ?? Infinity);
    return Math.max(1, freesAt - now);
  }

  recordPost(now: number): PostTicket {
    const ticket = `p${++this.seq}`;
    this.posts.set(ticket, now);
    return ticket;
  }

  learn(ticket: PostTicket, at: number, window: RateWindow | undefined): void {
    this.settle(ticket, at);
    if (!window) return;
    this.learnLimit(window.limit);
    if (window.remaining === undefined) return;
    // Luma's count of the window (this POST included) against ours (every POST of ours it may have counted).
    const limit = window.limit ?? this.rpm();
    this.prune(at);
    const others = Math.max(0, limit - window.remaining - this.posts.size);
    // We do not know when others' POSTs were made; the oldest in the window leaves at Reset, which tells us one of
    // theirs leaves then when ours are all younger. The rest are assumed as young as possible (they leave a
    // minute from now): holding back a little too long, never sending into a full window.
    const reset = window.resetAt?.getTime();
    const ourOldest = this.posts.values().next().value ?? Infinity;
    const foreign: number[] = [];
    for (let n = 0; n < others; n++) {
      const oldestIsTheirs = n === 0 && reset !== undefined && reset < ourOldest + RPM_WINDOW_MS && reset > at;
      foreign.push(oldestIsTheirs ? reset : at + RPM_WINDOW_MS);
    }
    this.foreign = foreign;
    this.noteChange(at);
  }

  rateLimited(ticket: PostTicket, at: number, event: RateLimitEvent): RateLimitReaction {
    // Refused POSTs may still count at Luma (its docs do not say): keep it in the window, at its answer time.
    this.settle(ticket, at);
    let pauseMs = 0;
    if (event.kind === 'requests') {
      this.learnLimit(event.window?.limit);
      // The window is the account's: every POST would be refused until it moves on.
      pauseMs = Math.max(1000, event.retryAfterMs ?? 5000);
    } else {
      // Luma's count says the account is at its limit (a lower plan than configured, or another process using it).
      // Our other jobs at Luma are the most we can have there; a slot frees when a poll sees one of them finish.
      this.watch.refused();
      this.concurrencyFloor = Math.max(1, Math.min(this.concurrency(at), event.ourOthersActive));
      this.loweredAt = at;
      // None of ours is there: someone else holds the slots, and no poll of ours will see one free up.
      if (event.ourOthersActive === 0) pauseMs = Math.min(CONCURRENCY_PROBE_MS, event.retryAfterMs ?? CONCURRENCY_PROBE_MS);
    }
    this.pausedUntil = Math.max(this.pausedUntil, at + pauseMs);
    this.noteChange(at);
    return { pauseMs: Math.max(0, this.pausedUntil - at), concurrentJobs: this.concurrency(at) };
  }

  postFailed(ticket: PostTicket, at: number): void {
    this.settle(ticket, at);
  }

  /** A job waited for a concurrency slot (ours, or the account's when the budget is shared) at `now`. */
  busyAtConcurrency(now: number): void {
    if (this.concurrency(now) >= this.opts.concurrentJobs) this.watch.busy(now);
  }

  limits(now: number): BudgetLimits {
    this.prune(now);
    const concurrentJobs = this.concurrency(now);
    return {
      requestsPerMinute: this.rpm(),
      requestsPerMinuteSource: this.rpmSource(),
      concurrentJobs,
      concurrencySource: concurrentJobs < this.opts.concurrentJobs ? 'lowered' : 'configured',
      busyAtConcurrencyMs: this.watch.busyMs,
      learnedRequestsPerMinute: this.learnedRpm,
      windowUsed: this.posts.size + this.foreign.length,
      pausedUntil: now < this.pausedUntil ? this.pausedUntil : 0,
    };
  }

  /** Luma's word once it gave it (up or down from the configured start), within the operator's ceiling. */
  private rpm(): number {
    return Math.min(this.learnedRpm ?? this.opts.requestsPerMinute, this.opts.requestsPerMinuteCeiling ?? Infinity);
  }

  private rpmSource(): RequestsPerMinuteSource {
    const wanted = this.learnedRpm ?? this.opts.requestsPerMinute;
    if (wanted > (this.opts.requestsPerMinuteCeiling ?? Infinity)) return 'ceiling';
    return this.learnedRpm === undefined ? 'configured' : 'luma';
  }

  private learnLimit(limit: number | undefined): void {
    if (limit !== undefined && Number.isInteger(limit) && limit > 0) this.learnedRpm = limit;
  }

  /** The concurrency estimate at `now`: lowered by a 429, held, then climbing one job per step to the configured limit. */
  private concurrency(now: number): number {
    const ceiling = this.opts.concurrentJobs;
    const since = now - this.loweredAt - CONCURRENCY_HOLD_MS;
    if (since < 0) return this.concurrencyFloor;
    return Math.min(ceiling, this.concurrencyFloor + 1 + Math.floor(since / CONCURRENCY_CLIMB_MS));
  }

  private nextClimbAt(now: number): number | undefined {
    if (this.concurrency(now) >= this.opts.concurrentJobs) return undefined;
    const since = now - this.loweredAt - CONCURRENCY_HOLD_MS;
    if (since < 0) return this.loweredAt + CONCURRENCY_HOLD_MS;
    return this.loweredAt + CONCURRENCY_HOLD_MS + (Math.floor(since / CONCURRENCY_CLIMB_MS) + 1) * CONCURRENCY_CLIMB_MS;
  }

  /**
   * A POST counts at Luma from when it arrived there, which is no later than when we heard its answer: counting
   * it from then (not from when it was picked) keeps our window from emptying before Luma's does.
   */
  private settle(ticket: PostTicket, at: number): void {
    if (!this.posts.delete(ticket)) return; // already out of the window
    this.posts.set(ticket, at);
  }

  private prune(now: number): void {
    for (const [ticket, at] of this.posts) {
      if (at > now - RPM_WINDOW_MS) break;
      this.posts.delete(ticket);
    }
    let n = 0;
    while (n < this.foreign.length && (this.foreign[n] ?? 0) <= now) n++;
    if (n > 0) this.foreign = this.foreign.slice(n);
  }

  /** One info line per change of the limits held to (learned from Luma, lowered by a 429, climbed back). */
  private noteChange(now: number): void {
    const current = { rpm: this.rpm(), concurrent: this.concurrency(now) };
    if (current.rpm === this.logged.rpm && current.concurrent === this.logged.concurrent) return;
    this.opts.logger?.info(
      { requestsPerMinute: current.rpm, requestsPerMinuteSource: this.rpmSource(), concurrentJobs: current.concurrent, learnedRequestsPerMinute: this.learnedRpm, previous: this.logged },
      'Luma limits changed',
    );
    this.logged = current;
  }
}
