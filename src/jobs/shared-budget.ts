// One Luma budget for every process on the account: with Redis storage, the sliding minute of POSTs
// and the jobs at Luma are counted in Redis, and a POST slot is taken there atomically (one Lua script) before
// the POST goes out. N processes together then never send more POSTs per minute, nor have more jobs at Luma at
// once, than the account's limits, and the operator configures the plan once (LUMA_MAX_*).
//
// Keys (under the storage prefix): `luma:posts` (sorted set: one member per POST, scored by when it counts from),
// `luma:slots` (sorted set: job id → when its hold lapses; renewed while its process lives, so a dead process's
// slots free themselves within JOB_LEASE_MS), `luma:waiters` / `luma:waiters:until` (the jobs waiting for a slot,
// scored by when they were queued / when their wait lapses). Times are Redis's own clock (TIME), so processes on
// machines with different clocks agree.
//
// Fair order across processes: each process picks its next job by its own fair order (servers, then members);
// among the processes, a free slot goes to the job that began waiting first — by Redis's clock: the first time a job
// asks, Redis stamps it (`luma:first-wait:<jobId>`, set once, kept through a requeue), so a process whose own clock
// runs behind wins nothing. A job cannot be overtaken by a younger one from another process while both wait at Redis.
import { randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { RateWindow } from '../luma/errors.js';
import type { RedisScripts } from '../storage/index.js';
import { LocalSubmitBudget, RPM_WINDOW_MS, type BudgetLimits, type LocalBudgetOptions, type PostTicket, type RateLimitEvent, type RateLimitReaction, type SubmitBudget } from './luma-budget.js';

/** While a slot is refused because the account's jobs are all at Luma, we ask again this often, ms. */
const CONCURRENCY_RETRY_MS = 250;
/** While older jobs of other processes are ahead of ours, we ask again this often, ms. */
const BEHIND_RETRY_MS = 50;
/** Back-off after Redis failed to answer an acquire, ms (the job keeps its pick and waits). */
const REDIS_RETRY_MS = 1000;

/** A waiting job keeps its place this long past the time it was told to ask again, ms. */
const WAITER_GRACE_MS = 1000;

export const NOW_LUA = "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)";

/** How long a job's first-wait stamp is kept: longer than any job lives (JOB_MAX_AGE_MS is at most a day). */
const FIRST_WAIT_TTL_MS = 2 * 24 * 3600_000;

/**
 * KEYS: posts, slots, waiters, waiters-until, the job's first-wait stamp. ARGV: rpm, concurrent, job id, stamp ttl
 * ms, lease ms, post id. Returns {1, room left} when the slot is taken, {0, ms to wait, 1 when every concurrency
 * slot is taken} when not.
 */
const ACQUIRE = `${NOW_LUA}
local rpm, conc, job, lease = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[5])
local since = tonumber(redis.call('GET', KEYS[5]))
if not since then
  since = now
  redis.call('SET', KEYS[5], now, 'PX', ARGV[4])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ${RPM_WINDOW_MS})
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now)
for _, w in ipairs(lapsed) do redis.call('ZREM', KEYS[3], w) redis.call('ZREM', KEYS[4], w) end
local used = redis.call('ZCARD', KEYS[1])
local active = redis.call('ZCARD', KEYS[2])
if redis.call('ZSCORE', KEYS[2], job) then active = active - 1 end
local room = math.min(rpm - used, conc - active)
local ahead = redis.call('ZCOUNT', KEYS[3], '-inf', '(' .. since)
if room > ahead then
  redis.call('ZADD', KEYS[1], now, ARGV[6])
  redis.call('ZADD', KEYS[2], now + lease, job)
  redis.call('ZREM', KEYS[3], job)
  redis.call('ZREM', KEYS[4], job)
  return {1, room - 1}
end
local wait = ${BEHIND_RETRY_MS}
if rpm - used <= 0 then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  wait = math.max(1, tonumber(oldest[2]) + ${RPM_WINDOW_MS} - now)
elseif conc - active <= 0 then
  wait = ${CONCURRENCY_RETRY_MS}
end
-- Waiting, in the queue of every process: until just after it asks again (a dead process's place lapses then).
redis.call('ZADD', KEYS[3], since, job)
redis.call('ZADD', KEYS[4], now + wait + ${WAITER_GRACE_MS}, job)
return {0, wait, (conc - active <= 0) and 1 or 0}`;

/** KEYS: waiters, waiters-until. ARGV: job ids that stopped waiting. */
const UNWAIT = `for i = 1, #ARGV do redis.call('ZREM', KEYS[1], ARGV[i]) redis.call('ZREM', KEYS[2], ARGV[i]) end
return #ARGV`;

/** KEYS: slots. ARGV: lease ms, job ids. Holds (or keeps holding) a slot for each job: they are at Luma. */
const HOLD = `${NOW_LUA}
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[i]) end
return #ARGV - 1`;

/** KEYS: posts, slots. ARGV: post id (or ''), job id (or ''). */
const SETTLE = `${NOW_LUA}
if ARGV[1] ~= '' then redis.call('ZADD', KEYS[1], 'XX', now, ARGV[1]) end
if ARGV[2] ~= '' then redis.call('ZREM', KEYS[2], ARGV[2]) end
return 1`;

export interface SharedBudgetOptions extends LocalBudgetOptions {
  redis: RedisScripts;
  /** The storage's key prefix (STORAGE_NAMESPACE + ':'). */
  prefix: string;
  /** How long a slot is held without renewal (JOB_LEASE_MS); renewed every third of it. */
  leaseMs: number;
  logger?: Logger;
  /** This process's clock, for its own waits (the order across processes is Redis's clock). Default: the system's. */
  clock?: Clock;
}

/**
 * The account's budget shared through Redis. The engine's pump stays synchronous: waitMs answers from this
 * process's own view (its POSTs, Luma's headers, 429s — the LocalSubmitBudget it wraps) and from the last answer
 * Redis gave; the atomic decision is `acquire`, which the job's submit step awaits before its POST.
 */
export class RedisSubmitBudget implements SubmitBudget {
  private readonly local: LocalSubmitBudget;
  private readonly keys: { posts: string; slots: string; waiters: string; waitersUntil: string };
  /** Acquires waiting on Redis now. */
  private pending = 0;
  /** Slots Redis said were free after our last grant (how many more picks may go to Redis at once). */
  private room = 1;
  /** No new pick before this (Redis refused one until then). */
  private retryAt = 0;
  /** Jobs of ours holding a concurrency slot, renewed while we live. */
  private readonly held = new Set<string>();
  /** Jobs of ours waiting at Redis for a slot. */
  private readonly waiting = new Set<string>();
  /** Ticket → the member naming its POST in Redis. */
  private readonly postIds = new Map<PostTicket, string>();
  private readonly renewTimer: NodeJS.Timeout;
  /** Aborted by close(): waiting acquires give up at once (the process is stopping; the job resumes later). */
  private readonly closing = new AbortController();

  private readonly clock: Clock;

  constructor(private readonly opts: SharedBudgetOptions) {
    this.clock = opts.clock ?? systemClock;
    this.local = new LocalSubmitBudget(opts);
    const p = `${opts.prefix}luma:`;
    this.keys = { posts: `${p}posts`, slots: `${p}slots`, waiters: `${p}waiters`, waitersUntil: `${p}waiters:until` };
    this.renewTimer = setInterval(() => void this.renew(), Math.max(200, Math.floor(opts.leaseMs / 3))).unref();
  }

  waitMs(now: number, ourActive: number): number {
    const local = this.local.waitMs(now, ourActive);
    if (local > 0) return local;
    if (now < this.retryAt) return this.retryAt - now;
    // One pick at a time goes to Redis until it says how much room there is; then as many as it said.
    if (this.pending >= Math.max(1, this.room)) return BEHIND_RETRY_MS;
    return 0;
  }

  recordPost(now: number): PostTicket {
    const ticket = this.local.recordPost(now);
    this.postIds.set(ticket, randomUUID());
    this.pending++;
    return ticket;
  }

  /**
   * Takes the POST's place in the account's window and a concurrency slot for `jobId`, atomically in Redis;
   * resolves when both are ours (waiting behind jobs of other processes that began waiting earlier, by Redis's clock).
   */
  async acquire(ticket: PostTicket, jobId: string): Promise<void> {
    const postId = this.postIds.get(ticket) ?? randomUUID();
    try {
      for (;;) {
        this.closing.signal.throwIfAborted();
        let wait: number;
        try {
          const reply = (await this.opts.redis.eval(ACQUIRE, {
            keys: [this.keys.posts, this.keys.slots, this.keys.waiters, this.keys.waitersUntil, `${this.opts.prefix}luma:first-wait:${jobId}`],
            arguments: [String(this.local.limits(this.clock.now()).requestsPerMinute), String(this.concurrency()), jobId, String(FIRST_WAIT_TTL_MS), String(this.opts.leaseMs), postId],
          })) as [number, number, number?];
          if (Number(reply[0]) === 1) {
            // Closed while Redis answered: the POST must not go (another process may take the job over now).
            if (this.closed) {
              this.settle('', jobId);
              this.closing.signal.throwIfAborted();
            }
            this.waiting.delete(jobId);
            this.held.add(jobId);
            this.room = Number(reply[1]);
            return;
          }
          wait = Number(reply[1]);
          // The account's slots are all taken: busy at its concurrency (see concurrency-watch.ts).
          if (Number(reply[2]) === 1) this.local.busyAtConcurrency(this.clock.now());
          this.waiting.add(jobId);
          this.room = 0;
        } catch (err) {
          if (this.closed) throw err;
          this.opts.logger?.warn({ err, jobId }, 'could not reach Redis for a Luma slot; trying again');
          wait = REDIS_RETRY_MS;
        }
        this.retryAt = Math.max(this.retryAt, this.clock.now() + wait);
        await this.clock.sleep(wait, this.closing.signal).catch(() => this.closing.signal.throwIfAborted());
      }
    } catch (err) {
      // Given up (the process is stopping): our place in the queue must not hold anybody back.
      if (this.waiting.delete(jobId)) void this.unwait([jobId]);
      throw err;
    } finally {
      this.pending--;
    }
  }

  private async unwait(jobIds: string[]): Promise<void> {
    await this.opts.redis.eval(UNWAIT, { keys: [this.keys.waiters, this.keys.waitersUntil], arguments: jobIds }).catch((err: unknown) => this.opts.logger?.debug({ err }, 'could not leave the queue for Luma slots; our place lapses by itself'));
  }

  /** The job left Luma (finished there, refused, or never reached it): its concurrency slot frees for everyone. */
  release(jobId: string): void {
    if (!this.held.delete(jobId)) return;
    this.settle('', jobId);
  }

  /** Jobs of ours already at Luma (resumed or taken over): they hold slots from now on. */
  hold(jobIds: readonly string[]): void {
    if (jobIds.length === 0) return;
    for (const id of jobIds) this.held.add(id);
    void this.opts.redis.eval(HOLD, { keys: [this.keys.slots], arguments: [String(this.opts.leaseMs), ...jobIds] }).catch((err: unknown) => this.opts.logger?.warn({ err }, 'could not record jobs at Luma in Redis'));
  }

  learn(ticket: PostTicket, at: number, window: RateWindow | undefined): void {
    this.local.learn(ticket, at, window);
    this.settleTicket(ticket);
  }

  rateLimited(ticket: PostTicket, at: number, event: RateLimitEvent): RateLimitReaction {
    const reaction = this.local.rateLimited(ticket, at, event);
    this.settleTicket(ticket);
    if (reaction.pauseMs > 0) this.retryAt = Math.max(this.retryAt, this.clock.now() + reaction.pauseMs);
    return reaction;
  }

  postFailed(ticket: PostTicket, at: number): void {
    this.local.postFailed(ticket, at);
    this.settleTicket(ticket);
  }

  limits(now: number): BudgetLimits {
    return this.local.limits(now);
  }

  async close(): Promise<void> {
    this.closing.abort(new Error('the shared Luma budget is closed: the process is stopping'));
    clearInterval(this.renewTimer);
  }

  private get closed(): boolean {
    return this.closing.signal.aborted;
  }

  /** The concurrency to ask Redis for: the configured one, or lower after a 429 (as the local estimate says). */
  private concurrency(): number {
    return this.local.limits(this.clock.now()).concurrentJobs;
  }

  /** A POST's answer is known: it counts in the account's window from now (as Luma counts it, no earlier). */
  private settleTicket(ticket: PostTicket): void {
    const postId = this.postIds.get(ticket);
    this.postIds.delete(ticket);
    if (postId !== undefined) this.settle(postId, '');
  }

  private settle(postId: string, jobId: string): void {
    void this.opts.redis.eval(SETTLE, { keys: [this.keys.posts, this.keys.slots], arguments: [postId, jobId] }).catch((err: unknown) => this.opts.logger?.warn({ err }, 'could not update the shared Luma budget in Redis'));
  }

  private async renew(): Promise<void> {
    if (this.closed || this.held.size === 0) return;
    try {
      await this.opts.redis.eval(HOLD, { keys: [this.keys.slots], arguments: [String(this.opts.leaseMs), ...this.held] });
    } catch (err) {
      this.opts.logger?.warn({ err }, 'could not renew our Luma slots in Redis; they lapse after JOB_LEASE_MS');
    }
  }
}
