import type { Clock, Timer } from '../clock.js';

/** Longest spacing of the scheduler's passes (reached at 2,000 jobs in the process; 1 ms per 200 jobs). */
const PUMP_MAX_GAP_MS = 10;

/**
 * The scheduler's passes on one timer: never two at once (one asked for while a pass runs comes right after it),
 * and, with thousands of jobs, spaced a few ms apart (none for a small queue), so a stream of finishing tasks is
 * handled in batches instead of one pass each.
 */
export class Pump {
  private timer: Timer | undefined;
  private pumping = false;
  private lastPumpAt = 0;
  private repump = false;

  constructor(
    private readonly clock: Clock,
    private readonly work: { readonly stopped: boolean; readonly size: number },
    private readonly pass: () => void,
  ) {}

  /** A pass soon (after `delayMs` at the earliest). */
  wake(delayMs = 0): void {
    if (this.work.stopped) return;
    this.clock.clearTimeout(this.timer);
    const gap = Math.min(PUMP_MAX_GAP_MS, this.work.size / 200);
    this.timer = this.clock.setTimeout(() => this.run(), Math.max(delayMs, this.lastPumpAt + gap - this.clock.now()));
  }

  /** The next pass in `delayMs` (at most a minute: a pass then looks again anyway). */
  wakeIn(delayMs: number): void {
    if (this.work.stopped) return;
    this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => this.run(), Math.min(delayMs, 60_000));
  }

  /** No more passes. */
  stop(): void {
    this.clock.clearTimeout(this.timer);
  }

  private run(): void {
    this.lastPumpAt = this.clock.now();
    if (this.pumping) {
      this.repump = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.repump = false;
        this.pass();
      } while (this.repump && !this.work.stopped);
    } finally {
      this.pumping = false;
    }
  }
}
