// The circuit breaker for Luma. When Luma answers 502/503/504 or cannot be reached, the bot stops sending it work:
// one probe at a time (the next waiting job's POST, or a poll), 5–10 s apart at first and further apart the longer
// the outage lasts (at most ~60 s), each with jitter; everything else waits in the queue in its fair order. The
// first answer from Luma closes it, and the queue drains at the account's limits.
//
// The breaker only keeps the state and the timing. The scheduler consults it before it starts a POST or a poll
// (src/jobs/scheduler.ts, outage-hold.ts); every call to Luma reports what it got, through the Luma port the work
// object hands the steps (`watchedLuma` below). With Redis storage the state is the account's, shared by every
// process (shared-breaker.ts): one probe for the account, not one per process.
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { LumaClient, RequestOptions } from '../luma/client.js';
import { LumaAPIError, LumaConnectionError, LumaError } from '../luma/errors.js';
import type { GenerationRequest } from '../luma/types.js';

/** The first probe goes this long (times 1–2, jitter) after Luma was found down. */
export const PROBE_FIRST_MS = 5000;
/** No probe is further than this from the one before. */
export const PROBE_MAX_MS = 60_000;
/** Connection failures in a row (no answer in between) that open the breaker: one alone may be a stale socket. */
export const UNREACHABLE_STREAK = 2;

/** What a call to Luma says about Luma. */
export type LumaSignal =
  /** Luma answered (anything but 502/503/504): it is up. */
  | 'up'
  /** 502, 503 or 504: Luma says it is down. */
  | 'down'
  /** No answer: refused, reset, timed out. */
  | 'unreachable';

/** The breaker as the scheduler sees it. Times are this process's clock. */
export interface BreakerView {
  open: boolean;
  /** Open: since when (the outage window of a waiting job counts from here at the earliest). */
  since: number;
  /** Open: no probe before this. */
  probeAt: number;
  /** Open: a probe is out (this process's, or another's on the shared breaker). */
  probing: boolean;
}

/** For operators. */
export interface BreakerStatus {
  state: 'closed' | 'open';
  /** Open: since when. */
  since: number | undefined;
  /** Open: the next probe is not sent before this (a probe may be out now). */
  nextProbeAt: number | undefined;
  /** Probes this process sent since start. */
  probes: number;
  /** Times this process saw the breaker open since start. */
  opened: number;
  /** Whether the state is the account's, shared by every process on Redis. */
  shared: boolean;
}

export interface LumaBreaker {
  /** Synchronous (the scheduler's pass is): the last known state. */
  view(now: number): BreakerView;
  /**
   * The scheduler has a probe to send (the breaker is open and the probe is due): true when it is this process's to
   * send now. False when not now: another probe is out, or the shared breaker is asking Redis for it (it calls the
   * onChange listeners when it knows).
   */
  takeProbe(now: number): boolean;
  /** The probe this process took ended (what Luma answered, if it did, was recorded before). */
  probeEnded(now: number): void;
  /** What a call to Luma ended with. */
  record(now: number, signal: LumaSignal): void;
  /** Called when the state changed other than through this process's own calls (another process, a grant). */
  onChange(listener: () => void): void;
  status(now: number): BreakerStatus;
  /** Releases what a shared breaker holds (timers, a probe). */
  close?(): Promise<void>;
}

/**
 * How long after a failure the next probe waits: from 5–10 s at the start of an outage, growing with its length
 * (half of it, at least 5 s) to at most 60 s, times 1–2 for jitter, so the probes of an outage never come in
 * step with anyone else's.
 */
export function probeDelayMs(outageMs: number, random: () => number = Math.random, o: { firstMs?: number | undefined; maxMs?: number | undefined } = {}): number {
  const first = o.firstMs ?? PROBE_FIRST_MS;
  const max = o.maxMs ?? PROBE_MAX_MS;
  const base = Math.min(max, Math.max(first, outageMs / 2));
  return Math.round(Math.min(max, base * (1 + random())));
}

/** What a failed call says about Luma; undefined when it says nothing (our own abort, a bug). */
export function signalOf(err: unknown, o: { urlInputs?: boolean } = {}): LumaSignal | undefined {
  if (err instanceof LumaConnectionError) return 'unreachable';
  if (err instanceof LumaAPIError) {
    if (err.status === 502 || err.status === 504) return 'down';
    // A 503 to a POST with images by URL is Luma's URL ingestion being down: the job sends them as bytes instead.
    if (err.status === 503) return o.urlInputs ? 'up' : 'down';
    return 'up';
  }
  return err instanceof LumaError ? 'up' : undefined;
}

export interface BreakerOptions {
  clock: Clock;
  logger?: Logger | undefined;
  /** Jitter source, [0, 1). */
  random?: () => number;
  /** First and longest gap between probes, ms (defaults PROBE_FIRST_MS, PROBE_MAX_MS). */
  probeFirstMs?: number;
  probeMaxMs?: number;
}

/** The breaker of one process (SQLite storage: the process has the account to itself). */
export class LocalLumaBreaker implements LumaBreaker {
  private state: BreakerView = { open: false, since: 0, probeAt: 0, probing: false };
  private streak = 0;
  private probes = 0;
  private opened = 0;
  private readonly listeners: (() => void)[] = [];

  constructor(private readonly opts: BreakerOptions) {}

  view(_now?: number): BreakerView {
    return this.state;
  }

  takeProbe(now: number): boolean {
    const s = this.state;
    if (!s.open || s.probing || now < s.probeAt) return false;
    this.state = { ...s, probing: true };
    this.probes++;
    return true;
  }

  probeEnded(_now?: number): void {
    if (this.state.probing) this.state = { ...this.state, probing: false };
  }

  record(now: number, signal: LumaSignal): void {
    if (signal === 'up') {
      this.streak = 0;
      if (this.state.open) this.closeAt(now);
      return;
    }
    if (signal === 'unreachable' && !this.state.open && ++this.streak < UNREACHABLE_STREAK) return;
    const s = this.state;
    if (!s.open) {
      this.opened++;
      this.state = { open: true, since: now, probeAt: now + this.delay(0), probing: false };
      this.opts.logger?.warn({ signal, nextProbeInMs: this.state.probeAt - now }, 'Luma is down: holding work, one probe at a time until it answers');
      return;
    }
    this.state = { ...s, probeAt: Math.max(s.probeAt, now + this.delay(now - s.since)) };
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  status(_now?: number): BreakerStatus {
    return statusOf(this.state, { probes: this.probes, opened: this.opened, shared: false });
  }

  private closeAt(now: number): void {
    const { since } = this.state;
    this.state = { open: false, since: 0, probeAt: 0, probing: false };
    this.opts.logger?.info({ outageMs: now - since, probes: this.probes }, 'Luma answers again: the queue goes on');
    for (const l of this.listeners) l();
  }

  private delay(outageMs: number): number {
    return probeDelayMs(outageMs, this.opts.random, { firstMs: this.opts.probeFirstMs, maxMs: this.opts.probeMaxMs });
  }
}

export function statusOf(v: BreakerView, counts: { probes: number; opened: number; shared: boolean }): BreakerStatus {
  return { state: v.open ? 'open' : 'closed', since: v.open ? v.since : undefined, nextProbeAt: v.open ? v.probeAt : undefined, ...counts };
}

export type LumaPort = Pick<LumaClient, 'createGeneration' | 'getGeneration'>;

/**
 * The Luma port the steps use: every call tells the breaker what Luma answered (each failed attempt, and the
 * success), a call made while the breaker is open (a probe) is one attempt only, and a call's own retries stop
 * as soon as the breaker opens.
 */
export function watchedLuma(luma: LumaPort, breaker: LumaBreaker, clock: Clock): LumaPort {
  const watched = async <T>(opts: RequestOptions, urlInputs: boolean, call: (o: RequestOptions) => Promise<T>): Promise<T> => {
    const probe = breaker.view(clock.now()).open;
    const result = await call({
      ...opts,
      ...(probe ? { maxRetries: 0 } : {}),
      mayRetry: (err) => {
        const signal = signalOf(err, { urlInputs });
        if (signal) breaker.record(clock.now(), signal);
        return (opts.mayRetry?.(err) ?? true) && !breaker.view(clock.now()).open;
      },
    });
    breaker.record(clock.now(), 'up');
    return result;
  };
  return {
    createGeneration: (body, opts = {}) => watched(opts, hasUrlInputs(body), (o) => luma.createGeneration(body, o)),
    getGeneration: (id, opts = {}) => watched(opts, false, (o) => luma.getGeneration(id, o)),
  };
}

function hasUrlInputs(body: GenerationRequest): boolean {
  return [body.source, ...(body.image_ref ?? [])].some((input) => input !== undefined && 'url' in input);
}
