// Job leases of several processes on one Redis, fenced (see fence.ts).
//
// Keys (under the storage prefix): `lease:proc:<processId>` — the process's heartbeat, expiring after JOB_LEASE_MS,
// renewed every third of it; `lease:job:<jobId>` — `<processId>#<epoch>`, who holds the job and by which claim;
// `lease:epoch:<jobId>` — the job's last epoch (only grows); `lease:hold:<jobId>` — a side effect of the job that cannot be taken back
// (its POST, an upload) is in flight: nobody takes the job over until its outcome is saved (or the hold lapsed). Claiming is one script: a job is taken
// when it has no owner, is ours, or its owner's heartbeat has expired — and no POST of it is in flight — and only
// while our own heartbeat is alive. Saves and checks compare owner + epoch in the same script that acts.
import { randomUUID } from 'node:crypto';
import { systemClock, type Clock, type Timer } from '../clock.js';
import type { Logger } from '../logger.js';
import { StorageError, type RedisHandle } from '../storage/index.js';
import { LeaseLostError, OWNER_TTL_MS, type JobLeases } from './fence.js';

/** ARGV: me, key prefix, owner-record ttl ms, job ids. Returns {'lapsed'} (our heartbeat is gone) or {'ok', id, epoch, …}. */
const CLAIM = `local me, p, ttl = ARGV[1], ARGV[2], ARGV[3]
if redis.call('EXISTS', p .. 'lease:proc:' .. me) == 0 then return {'lapsed'} end
local out = {'ok'}
for i = 4, #ARGV do
  local id = ARGV[i]
  local key = p .. 'lease:job:' .. id
  local cur = redis.call('GET', key)
  local owner = cur and string.match(cur, '^[^#]*')
  local free = (not cur) or owner == me or redis.call('EXISTS', p .. 'lease:proc:' .. owner) == 0
  if free and redis.call('EXISTS', p .. 'lease:hold:' .. id) == 0 then
    local epoch = redis.call('INCR', p .. 'lease:epoch:' .. id)
    redis.call('PEXPIRE', p .. 'lease:epoch:' .. id, ttl)
    redis.call('SET', key, me .. '#' .. epoch, 'PX', ttl)
    out[#out + 1] = id
    out[#out + 1] = tostring(epoch)
  end
end
return out`;

/** KEYS: record, lease, hold. ARGV: text, ttl ms or '', holder, '1' to end the hold. 1 written, 0 refused. */
const WRITE = `if redis.call('GET', KEYS[2]) ~= ARGV[3] then return 0 end
if ARGV[2] == '' then redis.call('SET', KEYS[1], ARGV[1]) else redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
if ARGV[4] == '1' then redis.call('DEL', KEYS[3]) end
return 1`;

/** KEYS: lease, heartbeat, hold. ARGV: holder, hold ms or ''. 1 ours, 0 someone else's, -1 our heartbeat lapsed. */
const CHECK = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('EXISTS', KEYS[2]) == 0 then return -1 end
if ARGV[2] ~= '' then redis.call('SET', KEYS[3], '1', 'PX', ARGV[2]) end
return 1`;

/** ARGV: key prefix, then job id and holder pairs. Returns the ids whose lease is no longer that holder's. */
const LOST = `local p, out = ARGV[1], {}
for i = 2, #ARGV, 2 do
  if redis.call('GET', p .. 'lease:job:' .. ARGV[i]) ~= ARGV[i + 1] then out[#out + 1] = ARGV[i] end
end
return out`;

/** KEYS: lease, hold. ARGV: holder. */
const RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[2]) return redis.call('DEL', KEYS[1]) end return 0";

export class RedisJobLeases implements JobLeases {
  readonly processId = randomUUID();
  private readonly timer: Timer;
  private readonly heartbeatKey: string;
  private readonly prefix: string;
  /** Our jobs: id → `<processId>#<epoch>` of our claim. */
  private readonly held = new Map<string, string>();
  /** Jobs held against takeover (a side effect in flight): their next save ends the hold. */
  private readonly holding = new Set<string>();
  /** No takeover before this (our own heartbeat was found lapsed). */
  private takeoverAfter = 0;
  private listener: ((jobIds: string[]) => void) | undefined;
  private beating: Promise<void> | undefined;
  /** When the last beat that found nothing lost (or dealt with it) was sent, by this process's clock. */
  private lastBeatAt = 0;
  private closed = false;
  private beaten = false;

  private constructor(
    private readonly redis: RedisHandle,
    private readonly leaseMs: number,
    private readonly log: Logger | undefined,
    private readonly clock: Clock,
  ) {
    this.prefix = redis.prefix;
    this.heartbeatKey = `${this.prefix}lease:proc:${this.processId}`;
    this.timer = clock.setInterval(() => void this.renew().catch((err: unknown) => this.log?.warn({ err }, 'could not renew this process’s job lease; other processes take its jobs over if it lapses')), Math.max(100, Math.floor(leaseMs / 3))).unref();
  }

  /** Starts the heartbeat (the first beat is written before this resolves). */
  static async start(redis: RedisHandle, leaseMs: number, log?: Logger, clock: Clock = systemClock): Promise<RedisJobLeases> {
    const leases = new RedisJobLeases(redis, leaseMs, log, clock);
    await leases.renew();
    return leases;
  }

  onLost(listener: (jobIds: string[]) => void): void {
    this.listener = listener;
  }

  mayTakeOver(): boolean {
    return this.clock.now() >= this.takeoverAfter;
  }

  holds(jobId: string): boolean {
    return this.held.has(jobId);
  }

  /** One beat at a time: the timer's and a takeover pass's (after a reconnect the pass waits for this one). */
  renew(): Promise<void> {
    this.beating ??= this.beat().finally(() => (this.beating = undefined));
    return this.beating;
  }

  private async beat(): Promise<void> {
    if (this.closed) return;
    const sentAt = this.clock.now();
    const previous = await this.redis.client.eval("local old = redis.call('GET', KEYS[1]) redis.call('SET', KEYS[1], '1', 'PX', ARGV[1]) return old", {
      keys: [this.heartbeatKey],
      arguments: [String(this.leaseMs)],
    });
    const lapsed = this.beaten && previous === null;
    this.beaten = true;
    if (!lapsed) {
      this.lastBeatAt = sentAt;
      return;
    }
    this.takeoverAfter = this.clock.now() + this.leaseMs;
    // Our heartbeat is back, so no other process takes a job from now on: those taken meanwhile are known now.
    const pairs = [...this.held].flat();
    const lost = pairs.length === 0 ? [] : ((await this.redis.client.eval(LOST, { keys: [], arguments: [this.prefix, ...pairs] })) as string[]);
    this.log?.error(
      { alert: true, processId: this.processId, leaseMs: this.leaseMs, lost: lost.length, kept: this.held.size - lost.length },
      'OPERATOR: this process could not renew its job lease in time (Redis unreachable, or the process stalled); the jobs other processes took over meanwhile are dropped here without another step. Raise JOB_LEASE_MS above Redis failover times and pauses',
    );
    for (const id of lost) this.forgetHeld(id);
    if (lost.length > 0) this.listener?.(lost);
    this.lastBeatAt = sentAt;
  }

  async claim(jobIds: readonly string[]): Promise<Set<string>> {
    if (jobIds.length === 0) return new Set();
    try {
      let reply = await this.runClaim(jobIds);
      if (reply[0] === 'lapsed') {
        // Our heartbeat lapsed (Redis was unreachable, or we stalled): renewed first, so the jobs others took are known.
        await this.renew();
        reply = await this.runClaim(jobIds);
      }
      const mine = new Set<string>();
      for (let i = 1; i + 1 < reply.length; i += 2) {
        const id = String(reply[i]);
        this.held.set(id, `${this.processId}#${String(reply[i + 1])}`);
        mine.add(id);
      }
      return mine;
    } catch (err) {
      // A storage failure like any other: a new command is refused with "try again shortly", a scan tries again.
      throw new StorageError('lock', `lease:job:${jobIds[0] ?? ''}`, err);
    }
  }

  private async runClaim(jobIds: readonly string[]): Promise<unknown[]> {
    return (await this.redis.client.eval(CLAIM, { keys: [], arguments: [this.processId, this.prefix, String(OWNER_TTL_MS), ...jobIds] })) as unknown[];
  }

  async write(jobId: string, key: string, value: unknown, ttlMs: number | undefined): Promise<void> {
    const holder = this.holder(jobId);
    const endHold = this.holding.has(jobId);
    const entry = await this.redis.entry(key, value, ttlMs);
    let written: unknown;
    try {
      written = await this.redis.client.eval(WRITE, {
        keys: [entry.key, this.leaseKey(jobId), this.holdKey(jobId)],
        arguments: [entry.text, ttlMs === undefined ? '' : String(ttlMs), holder, endHold ? '1' : ''],
      });
    } catch (err) {
      throw new StorageError('set', key, err);
    }
    if (Number(written) !== 1) throw this.lost(jobId, 'another process holds the job now (a newer claim)');
    if (endHold) this.holding.delete(jobId);
  }

  async check(jobId: string, opts: { holdMs?: number; recent?: boolean } = {}): Promise<void> {
    if (opts.recent && this.held.has(jobId) && this.clock.now() - this.lastBeatAt < this.leaseMs / 2) return;
    let answer = await this.runCheck(jobId, opts.holdMs);
    if (answer === -1) {
      // Our heartbeat lapsed (Redis was unreachable, or we stalled): renewed first, which drops the jobs others took;
      // a job whose lease is still ours after that was taken by nobody.
      await this.renew();
      answer = await this.runCheck(jobId, opts.holdMs);
    }
    if (answer === 0) throw this.lost(jobId, 'another process holds the job now (a newer claim)');
    if (answer === -1) throw this.lost(jobId, 'this process’s heartbeat lapsed; another process may take the job any moment');
    if (opts.holdMs !== undefined) this.holding.add(jobId);
  }

  private async runCheck(jobId: string, holdMs: number | undefined): Promise<number> {
    const holder = this.holder(jobId);
    try {
      const answer = await this.redis.client.eval(CHECK, {
        keys: [this.leaseKey(jobId), this.heartbeatKey, this.holdKey(jobId)],
        arguments: [holder, holdMs !== undefined ? String(Math.ceil(holdMs)) : ''],
      });
      return Number(answer);
    } catch (err) {
      throw new StorageError('get', `lease:job:${jobId}`, err);
    }
  }

  async release(jobId: string): Promise<void> {
    const holder = this.held.get(jobId);
    this.forgetHeld(jobId);
    if (holder === undefined) return;
    await this.redis.client.eval(RELEASE, { keys: [this.leaseKey(jobId), this.holdKey(jobId)], arguments: [holder] }).catch((err: unknown) => this.log?.debug({ err, jobId }, 'could not drop a job’s owner record'));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.clock.clearInterval(this.timer);
    await this.redis.client.eval("return redis.call('DEL', KEYS[1])", { keys: [this.heartbeatKey], arguments: [] }).catch(() => undefined);
  }

  private holder(jobId: string): string {
    const holder = this.held.get(jobId);
    if (holder === undefined) throw new LeaseLostError(jobId, 'this process holds no claim of the job');
    return holder;
  }

  private lost(jobId: string, why: string): LeaseLostError {
    this.forgetHeld(jobId);
    return new LeaseLostError(jobId, why);
  }

  private forgetHeld(jobId: string): void {
    this.held.delete(jobId);
    this.holding.delete(jobId);
  }

  private leaseKey(jobId: string): string {
    return `${this.prefix}lease:job:${jobId}`;
  }

  private holdKey(jobId: string): string {
    return `${this.prefix}lease:hold:${jobId}`;
  }
}
