// The Luma breaker of the account, shared by every process on Redis: one outage, one probe at a time for all of
// them, not one per process. The state is one hash under the storage prefix (`luma:breaker`: since when Luma is
// down, no probe before when, and who holds the probe until when); times are Redis's clock (TIME), so processes on
// machines with different clocks agree. Absent: Luma answers.
//
// The scheduler's pass is synchronous, so each process answers from its own view: what it last heard from Redis
// (read every second while the scheduler asks, and in every reply to what it reports), turned into its own clock,
// and what its own calls told it meanwhile. The probe is claimed at Redis atomically; while the claim is out the
// scheduler waits, and hears of the grant through onChange.
import { randomUUID } from 'node:crypto';
import type { Clock, Timer } from '../clock.js';
import type { Logger } from '../logger.js';
import type { RedisScripts } from '../storage/index.js';
import { probeDelayMs, statusOf, UNREACHABLE_STREAK, type BreakerStatus, type BreakerView, type LumaBreaker, type LumaSignal } from './luma-breaker.js';
import { NOW_LUA } from './shared-budget.js';

/** How often a process reads the shared state while its scheduler asks for it, ms. */
const SYNC_MS = 1000;
/** A probe is the holder's this long at most (a dead process's lapses): a call's timeout, and then some. */
const PROBE_LEASE_MS = 120_000;
/** A probe granted to a process whose scheduler no longer has anything to probe with is handed back after this. */
const UNUSED_GRANT_MS = 2000;

/** The reply of every script: {open, since, probeAt, probing, now[, granted]}. */
const VIEW_LUA = `${NOW_LUA}
local function view(granted)
  local s = redis.call('HMGET', KEYS[1], 'since', 'probeAt', 'probe', 'probeUntil')
  if not s[1] then return {0, 0, 0, 0, now, 0} end
  local probing = 0
  if s[3] and s[3] ~= '' and tonumber(s[4]) > now then probing = 1 end
  return {1, tonumber(s[1]), tonumber(s[2]), probing, now, granted}
end`;

const READ = `${VIEW_LUA}
return view(0)`;

/** ARGV: signal ('up' or 'down'), the next probe's delay if this opens it, its delay if it is open already. */
const REPORT = `${VIEW_LUA}
if ARGV[1] == 'up' then
  redis.call('DEL', KEYS[1])
  return view(0)
end
local since = redis.call('HGET', KEYS[1], 'since')
if not since then
  redis.call('HSET', KEYS[1], 'since', now, 'probeAt', now + tonumber(ARGV[2]), 'probe', '', 'probeUntil', 0)
  redis.call('HINCRBY', KEYS[1] .. ':counts', 'opened', 1)
else
  local probeAt = math.max(tonumber(redis.call('HGET', KEYS[1], 'probeAt')), now + tonumber(ARGV[3]))
  redis.call('HSET', KEYS[1], 'probeAt', probeAt)
end
return view(0)`;

/** ARGV: who asks, lease ms. Grants the probe when Luma is down, the probe is due and nobody holds it. */
const PROBE = `${VIEW_LUA}
local s = redis.call('HMGET', KEYS[1], 'since', 'probeAt', 'probe', 'probeUntil')
if not s[1] or now < tonumber(s[2]) then return view(0) end
if s[3] and s[3] ~= '' and tonumber(s[4]) > now then return view(0) end
redis.call('HSET', KEYS[1], 'probe', ARGV[1], 'probeUntil', now + tonumber(ARGV[2]))
redis.call('HINCRBY', KEYS[1] .. ':counts', 'probes', 1)
return view(1)`;

/** ARGV: who held it. The probe is given back (what Luma answered was reported before). */
const PROBE_END = `${VIEW_LUA}
if redis.call('HGET', KEYS[1], 'probe') == ARGV[1] then redis.call('HSET', KEYS[1], 'probe', '') end
return view(0)`;

export interface SharedBreakerOptions {
  redis: RedisScripts;
  /** The storage's key prefix (STORAGE_NAMESPACE + ':'). */
  prefix: string;
  clock: Clock;
  logger?: Logger | undefined;
  random?: () => number;
  /** First and longest gap between probes, ms (defaults PROBE_FIRST_MS, PROBE_MAX_MS). */
  probeFirstMs?: number;
  probeMaxMs?: number;
  /** How often the shared state is read while the scheduler asks for it, ms (default 1000). */
  syncMs?: number;
}

const CLOSED: BreakerView = { open: false, since: 0, probeAt: 0, probing: false };

export class RedisLumaBreaker implements LumaBreaker {
  private state: BreakerView = CLOSED;
  private readonly key: string;
  /** Names this process's probe claims at Redis. */
  private readonly owner = randomUUID();
  /** A probe Redis granted us that the scheduler has not taken yet; the probe we sent, until it ends. */
  private granted = false;
  private mine = false;
  private claiming = false;
  private unusedGrant: Timer | undefined;
  /** Bumped by every change made here: a read sent before one is stale when it comes back. */
  private version = 0;
  private asked = false;
  private streak = 0;
  private probes = 0;
  private opened = 0;
  private readonly listeners: (() => void)[] = [];
  private readonly syncTimer: Timer;
  private closed = false;

  constructor(private readonly opts: SharedBreakerOptions) {
    this.key = `${opts.prefix}luma:breaker`;
    this.syncTimer = opts.clock.setInterval(() => void this.sync(), opts.syncMs ?? SYNC_MS).unref();
  }

  view(now?: number): BreakerView {
    this.asked = true;
    // Redis granted us the probe: it is due, and ours to take (Redis's own view says "probing").
    if (this.granted) return { ...this.state, probing: false, probeAt: Math.min(this.state.probeAt, now ?? this.opts.clock.now()) };
    return this.state;
  }

  takeProbe(now: number): boolean {
    const s = this.state;
    if (!s.open) return false;
    if (this.granted) {
      this.granted = false;
      this.opts.clock.clearTimeout(this.unusedGrant);
      this.mine = true;
      this.probes++;
      return true;
    }
    if (!s.probing && now >= s.probeAt && !this.claiming) void this.claim();
    return false;
  }

  probeEnded(_now?: number): void {
    if (!this.mine) return;
    this.mine = false;
    this.giveBack();
  }

  record(now: number, signal: LumaSignal): void {
    if (signal === 'up') {
      this.streak = 0;
      if (!this.state.open) return; // the common case: no call to Redis
      this.change(CLOSED, now);
      void this.send(REPORT, ['up', '0', '0']);
      return;
    }
    if (signal === 'unreachable' && !this.state.open && ++this.streak < UNREACHABLE_STREAK) return;
    const s = this.state;
    const ifNew = this.delay(0);
    const ifOpen = this.delay(s.open ? now - s.since : 0);
    // At once here (this process stops sending), then as Redis has it.
    this.change(s.open ? { ...s, probeAt: Math.max(s.probeAt, now + ifOpen) } : { open: true, since: now, probeAt: now + ifNew, probing: false }, now);
    void this.send(REPORT, ['down', String(ifNew), String(ifOpen)]);
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  status(_now?: number): BreakerStatus {
    return statusOf(this.state, { probes: this.probes, opened: this.opened, shared: true });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.opts.clock.clearInterval(this.syncTimer);
    this.opts.clock.clearTimeout(this.unusedGrant);
    if (this.mine || this.granted) await this.run(PROBE_END, [this.owner]).catch(() => undefined);
  }

  private async claim(): Promise<void> {
    this.claiming = true;
    try {
      const granted = await this.send(PROBE, [this.owner, String(PROBE_LEASE_MS)]);
      if (!granted) return;
      if (this.closed || !this.state.open) return this.giveBack();
      this.granted = true;
      // Nothing took it (the queue emptied meanwhile): it goes back for another process.
      this.unusedGrant = this.opts.clock.setTimeout(() => {
        if (!this.granted) return;
        this.granted = false;
        this.giveBack();
      }, UNUSED_GRANT_MS);
      this.notify();
    } finally {
      this.claiming = false;
    }
  }

  private giveBack(): void {
    if (this.state.probing) this.state = { ...this.state, probing: false };
    void this.send(PROBE_END, [this.owner]);
  }

  private async sync(): Promise<void> {
    if (!this.asked || this.closed) return;
    this.asked = false;
    const version = this.version;
    const reply = await this.run(READ, []).catch((err: unknown) => this.opts.logger?.debug({ err }, 'could not read the shared Luma breaker; trying again'));
    if (reply && version === this.version) this.apply(reply);
  }

  /** Runs a script and applies the state it returns; resolves whether it granted the probe. */
  private async send(script: string, args: string[]): Promise<boolean> {
    try {
      const reply = await this.run(script, args);
      this.version++;
      this.apply(reply);
      return Number(reply[5]) === 1;
    } catch (err) {
      this.opts.logger?.warn({ err }, 'could not update the shared Luma breaker in Redis; this process goes on by its own view');
      return false;
    }
  }

  private async run(script: string, args: string[]): Promise<number[]> {
    return (await this.opts.redis.eval(script, { keys: [this.key], arguments: args })) as number[];
  }

  /** Redis's state, in this process's clock. */
  private apply(reply: number[]): void {
    const now = this.opts.clock.now();
    const offset = now - Number(reply[4]);
    const open = Number(reply[0]) === 1;
    this.change(open ? { open, since: Number(reply[1]) + offset, probeAt: Number(reply[2]) + offset, probing: Number(reply[3]) === 1 } : CLOSED, now);
  }

  private change(next: BreakerView, now: number): void {
    const before = this.state;
    this.version++;
    this.state = next;
    if (next.open !== before.open) {
      if (next.open) {
        this.opened++;
        this.opts.logger?.warn({ nextProbeInMs: next.probeAt - now, shared: true }, 'Luma is down: holding work, one probe at a time until it answers');
      } else this.opts.logger?.info({ outageMs: now - before.since, probes: this.probes, shared: true }, 'Luma answers again: the queue goes on');
    }
    // (Each reply turns Redis's times into ours afresh: a few ms of difference is no news.)
    if (next.open !== before.open || next.probing !== before.probing || Math.abs(next.probeAt - before.probeAt) > 100) this.notify();
  }

  private notify(): void {
    for (const l of this.listeners) l();
  }

  private delay(outageMs: number): number {
    return probeDelayMs(outageMs, this.opts.random, { firstMs: this.opts.probeFirstMs, maxMs: this.opts.probeMaxMs });
  }
}
