// Luma's concurrency limit has no header: the bot knows the account's value only as LUMA_MAX_CONCURRENT_JOBS, and
// learns a lower one from a "Too many concurrent jobs" 429. It never tries more than the configured value on its
// own (a job refused for concurrency waits longer than one that was never sent). What it can tell the operator is
// that the configured value was never refused through a long busy spell: the plan may allow more.
import type { Logger } from '../logger.js';

/** Busy time at the configured concurrency, without a refusal, after which the operator is told the plan may allow more. */
export const CONCURRENCY_HEADROOM_MS = 10 * 60_000;
/** Two looks at a full set of slots further apart than this are two busy spells, not one. */
const BUSY_GAP_MS = 5000;

/** How long jobs waited for a concurrency slot at the configured value since Luma last refused one for concurrency. */
export class ConcurrencyWatch {
  private busyTotal = 0;
  private lastBusyAt: number | undefined;
  private told = false;

  constructor(
    private readonly configured: number,
    private readonly logger: Logger | undefined,
  ) {}

  /** Busy time at the configured value since the last concurrency refusal (or since start), ms. */
  get busyMs(): number {
    return this.busyTotal;
  }

  /** A job waited for a slot at `now`, every slot (at the configured value) being in use. */
  busy(now: number): void {
    const last = this.lastBusyAt;
    this.lastBusyAt = now;
    if (last === undefined || now <= last || now - last > BUSY_GAP_MS) return;
    this.busyTotal += now - last;
    if (this.told || this.busyTotal < CONCURRENCY_HEADROOM_MS) return;
    this.told = true;
    this.logger?.info(
      { concurrentJobs: this.configured, busyMinutes: Math.round(this.busyTotal / 60_000) },
      'Luma never refused a job for concurrency at LUMA_MAX_CONCURRENT_JOBS through a long busy spell: the plan may allow more (raise it to try)',
    );
  }

  /** Luma refused a job for concurrency: the count starts over. */
  refused(): void {
    this.busyTotal = 0;
    this.lastBusyAt = undefined;
    this.told = false;
  }
}
