// The fake Luma's per-account POST limits: requests per sliding minute (with the X-RateLimit-* headers Luma sends)
// and generations queued or processing at once.
import type { RateLimits } from './api.js';
import { HttpError } from './inputs.js';

const RPM_WINDOW_MS = 60_000;

export class PostLimits {
  /** When each POST of the current window arrived. */
  readonly #postTimes: number[] = [];

  constructor(
    public limits: RateLimits | undefined,
    private readonly now: () => number,
  ) {}

  /**
   * Counts this POST in the RPM window (every authenticated POST counts, also one later refused for validation or
   * concurrency) and returns the X-RateLimit-* headers for the answer; a 429 when the window is full.
   */
  takeRpmSlot(): Record<string, string> {
    const rpm = this.limits?.rpm;
    if (rpm === undefined) return {};
    const at = this.now();
    const times = this.#postTimes;
    while (times.length > 0 && (times[0] as number) <= at - RPM_WINDOW_MS) times.shift();
    const freesAt = (times[0] ?? at) + RPM_WINDOW_MS;
    if (times.length >= rpm) {
      throw new HttpError(429, 'Rate limit exceeded', {
        'Retry-After': String(Math.max(1, Math.ceil((freesAt - at) / 1000))),
        'X-RateLimit-Limit': String(rpm),
        'X-RateLimit-Remaining': '0',
        'X-RateLimit-Reset': String(Math.ceil(freesAt / 1000)),
      });
    }
    times.push(at);
    return {
      'X-RateLimit-Limit': String(rpm),
      'X-RateLimit-Remaining': String(Math.max(0, rpm - times.length)),
      'X-RateLimit-Reset': String(Math.ceil(((times[0] ?? at) + RPM_WINDOW_MS) / 1000)),
    };
  }

  /** A 429 (Retry-After 60, no rate-limit headers) when `active` generations already use up the plan. */
  checkConcurrency(active: number): void {
    const concurrent = this.limits?.concurrent;
    if (concurrent !== undefined && active >= concurrent) throw new HttpError(429, 'Too many concurrent jobs', { 'Retry-After': '60' });
  }
}
