/**
 * Interactions that have arrived and are not acknowledged yet. Discord drops an interaction the bot has not
 * acknowledged within 3 s, while starting a job (quota, storage, the queue, the first POST to Luma and progress
 * edits behind it) can wait: so in a burst of commands, the work of starting the jobs of those already acknowledged
 * waits until the others are acknowledged too, and the bot's CPU goes to the acknowledgements first.
 *
 * Nothing waits long: an interaction counts only for Discord's 3 s (one that is never acknowledged — a handler
 * that failed, a network error — stops counting then), and a wait ends after `maxWaitMs` however busy the bot is.
 */
export class PendingAcknowledgements {
  /** Interaction id → when it arrived (ms). */
  readonly #pending = new Map<string, number>();
  #waiters: Array<() => void> = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly opts: { windowMs?: number; maxWaitMs?: number; now?: () => number } = {},
  ) {}

  private get windowMs(): number {
    return this.opts.windowMs ?? 3000;
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** An interaction arrived. */
  arrived(id: string): void {
    this.#pending.set(id, this.now());
  }

  /** It was acknowledged, or its handler ended (answered or not): it no longer holds other work back. */
  settled(id: string): void {
    if (!this.#pending.delete(id)) return;
    this.#release();
  }

  /** Interactions still waiting for an acknowledgement (within Discord's 3 s). */
  get count(): number {
    this.#expire();
    return this.#pending.size;
  }

  /** Resolves once no interaction waits for its acknowledgement, or after `maxWaitMs` (default 2 s). */
  idle(): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(cap);
        resolve();
      };
      const cap = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== finish);
        finish();
      }, this.opts.maxWaitMs ?? 2000);
      this.#waiters.push(finish);
      this.#schedule();
    });
  }

  #expire(): void {
    const oldest = this.now() - this.windowMs;
    for (const [id, at] of this.#pending) {
      // Insertion order is arrival order: the first one still in its window ends the sweep.
      if (at > oldest) break;
      this.#pending.delete(id);
    }
  }

  #release(): void {
    if (this.#waiters.length === 0 || this.count > 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const w of waiters) w();
  }

  /** While someone waits, re-check when the oldest pending interaction leaves its window. */
  #schedule(): void {
    if (this.#timer !== undefined) return;
    const first = this.#pending.values().next();
    if (first.done) return;
    const at = first.value + this.windowMs;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#release();
      if (this.#waiters.length > 0) this.#schedule();
    }, Math.max(1, at - this.now()));
    this.#timer.unref();
  }
}
