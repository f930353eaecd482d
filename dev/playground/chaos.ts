// The page's Chaos switches: each arms one staged failure for the next request, through the fakes' own refusal
// shapes — Luma's safety filter, a Luma 429, a slow generation, a result download that fails (Luma's storage answers
// 503), and an interaction token that dies right after the bot acknowledged.
import type { FakeLuma } from '../fakes/luma/api.js';
import { HttpProblem } from './problem.js';
import type { ChaosKind, ChaosState } from './protocol.js';

/** How often the bot tries to download a result before it gives up (src/jobs/steps/transfer.ts). */
const BOT_DOWNLOAD_TRIES = 4;

type LumaPlanKind = 'moderation' | 'slow' | 'downloadFailure';

export class Chaos {
  readonly #armed = { moderation: 0, rateLimit: 0, slow: 0, expireToken: 0, downloadFailure: 0 };
  /** Plans handed to the fake Luma, in the order its next generations take them. */
  readonly #plans: LumaPlanKind[] = [];
  #generationsSeen = 0;
  #faultsSeen = 0;

  constructor(private readonly luma: FakeLuma | undefined) {}

  state(): ChaosState {
    return { ...this.#armed, luma: this.luma ? 'fake' : 'real' };
  }

  /** Is anything armed that only Luma consumes (and tells nobody about)? */
  get waitingAtLuma(): boolean {
    return this.#armed.moderation + this.#armed.rateLimit + this.#armed.slow + this.#armed.downloadFailure > 0;
  }

  arm(kind: ChaosKind): void {
    if (kind === 'expire-token') {
      this.#armed.expireToken++;
      return;
    }
    const luma = this.luma;
    if (!luma) throw new HttpProblem(409, 'The playground uses the real Luma API: Luma failures cannot be staged.');
    switch (kind) {
      case 'moderation':
        luma.planNext({ failWith: 'content_moderated' });
        return this.#planned('moderation');
      case 'slow':
        luma.planNext({ queuedMs: 5000, processingMs: 45_000 });
        return this.#planned('slow');
      case 'download-failure':
        luma.planNext({ fileFailures: BOT_DOWNLOAD_TRIES });
        return this.#planned('downloadFailure');
      case 'rate-limit': {
        // Long enough that the reply shows why the request waits (progress edits come at most every few seconds).
        const resetAt = String(Math.ceil(Date.now() / 1000) + 15);
        const headers = { 'Retry-After': '15', 'X-RateLimit-Limit': '30', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': resetAt };
        luma.fault({ method: 'POST', path: '/v1/generations', exact: true }, { status: 429, body: { detail: 'Rate limit exceeded' }, headers });
        this.#armed.rateLimit++;
        return;
      }
      default:
        throw new HttpProblem(400, `unknown chaos ${String(kind)}`);
    }
  }

  /** Takes one armed "expired token" for an interaction just dispatched, if there is one. */
  takeExpireToken(): boolean {
    if (this.#armed.expireToken === 0) return false;
    this.#armed.expireToken--;
    return true;
  }

  /** Counts what Luma has consumed since the last look; true when the armed counts changed. */
  settle(): boolean {
    const luma = this.luma;
    if (!luma) return false;
    let changed = false;
    const count = luma.generations().length;
    for (; this.#generationsSeen < count; this.#generationsSeen++) {
      const kind = this.#plans.shift();
      if (kind) {
        this.#armed[kind]--;
        changed = true;
      }
    }
    const faults = luma.posts().filter((r) => r.fault).length;
    for (; this.#faultsSeen < faults; this.#faultsSeen++) {
      if (this.#armed.rateLimit > 0) {
        this.#armed.rateLimit--;
        changed = true;
      }
    }
    return changed;
  }

  #planned(kind: LumaPlanKind): void {
    this.#plans.push(kind);
    this.#armed[kind]++;
  }
}
