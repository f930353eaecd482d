// A clock a test moves by hand (the bot's code takes a Clock; see src/clock.ts): timers fire in time order when the
// test advances it, with the promise jobs of each timer run before the next one fires.
import type { Clock, Timer } from '../../src/clock.js';

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
  every?: number;
  cancelled: boolean;
}

export class ManualClock implements Clock {
  private t: number;
  private seq = 0;
  private readonly pending = new Set<Pending>();

  constructor(start: number | string = '2026-05-06T12:00:00Z') {
    this.t = typeof start === 'number' ? start : Date.parse(start);
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    return this.add(fn, ms);
  }

  setInterval(fn: () => void, ms: number): Timer {
    return this.add(fn, ms, Math.max(1, ms));
  }

  clearTimeout(timer: Timer | undefined): void {
    if (timer) (timer as unknown as Pending).cancelled = true;
  }

  clearInterval(timer: Timer | undefined): void {
    this.clearTimeout(timer);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason as Error);
      const timer = this.setTimeout(resolve, ms);
      signal?.addEventListener('abort', () => {
        this.clearTimeout(timer);
        reject(signal.reason as Error);
      });
    });
  }

  /** Timers waiting. */
  get waiting(): number {
    let n = 0;
    for (const p of this.pending) if (!p.cancelled) n++;
    return n;
  }

  /** Moves time forward by `ms`, firing every timer due on the way, in order; settles what each one started. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await settle();
      const next = this.nextDue(end);
      if (!next) break;
      this.t = Math.max(this.t, next.at);
      if (next.every !== undefined) next.at += next.every;
      else this.pending.delete(next);
      next.fn();
    }
    this.t = end;
    await settle();
  }

  private nextDue(end: number): Pending | undefined {
    let best: Pending | undefined;
    for (const p of this.pending) {
      if (p.cancelled) {
        this.pending.delete(p);
        continue;
      }
      if (p.at <= end && (!best || p.at < best.at || (p.at === best.at && p.seq < best.seq))) best = p;
    }
    return best;
  }

  private add(fn: () => void, ms: number, every?: number): Timer {
    // Whole milliseconds, as the real clock's: a timer asked for a fraction of a ms fires at the next one.
    const p: Pending = { at: this.t + Math.max(0, Math.ceil(ms)), seq: this.seq++, fn, cancelled: false, ...(every !== undefined ? { every } : {}) };
    this.pending.add(p);
    return wrap(p);
  }
}

/** The handle of a pending timer: the entry itself, with unref(). */
function wrap(p: Pending): Timer {
  const handle = p as Pending & Timer;
  handle.unref = () => handle;
  return handle;
}

/** Lets promise jobs and I/O callbacks that are already due run (a few turns of the event loop). */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
}
