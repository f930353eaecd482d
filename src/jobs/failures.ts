import {
  AuthenticationError,
  BadGatewayError,
  BadRequestError,
  InsufficientBalanceError,
  LumaAPIError,
  LumaConnectionError,
  PayloadTooLargeError,
  PermissionDeniedError,
  RateLimitError,
  ServiceUnavailableError,
  UnprocessableEntityError,
} from '../luma/errors.js';
import type { FailureCode } from '../luma/types.js';
import type { JobFailure } from './types.js';

/**
 * What the engine does with a failure. `refund` gives the member's quota unit back: every failure is refunded
 * except content moderation, which is the one the member caused (documented in the README).
 */
export type FailureAction =
  /** `outage`: Luma is down or unreachable; the job waits in the queue for the outage window, then fails. */
  | { kind: 'requeue'; delayMs: number; reason: string; outage?: boolean }
  | { kind: 'inline'; reason: string }
  | { kind: 'fail'; failure: JobFailure; refund: boolean; log: 'info' | 'warn' | 'error'; operatorAlert?: string };

const TRY_AGAIN = 'This did not count against your quota.';

function fail(code: string, userMessage: string, o: Partial<Omit<Extract<FailureAction, { kind: 'fail' }>, 'kind' | 'failure'>> & { retryable?: boolean; ref?: string } = {}): FailureAction {
  return {
    kind: 'fail',
    failure: { code, userMessage, retryable: o.retryable ?? false, ...(o.ref ? { ref: o.ref } : {}) },
    refund: o.refund ?? true,
    log: o.log ?? 'info',
    ...(o.operatorAlert ? { operatorAlert: o.operatorAlert } : {}),
  };
}

/** A generation that ended `failed` at Luma. */
export function classifyLumaFailure(code: FailureCode | string | null | undefined, reason: string | null | undefined, ref: string, rateLimitedRetries: number): FailureAction {
  const why = reason ? ` (Luma said: ${reason.slice(0, 200)})` : '';
  switch (code) {
    case 'content_moderated':
      return fail('content_moderated', "Luma's safety filter blocked this request — the prompt, an input image or the result. Try rewording the prompt or using a different image. Moderated requests count against your quota.", { refund: false });
    case 'generation_failed':
      return fail('generation_failed', `The model failed while making this image. ${TRY_AGAIN} Press Retry to try again.`, { retryable: true });
    case 'output_not_found':
      return fail('output_not_found', `Luma made the image but could not store it. ${TRY_AGAIN} Press Retry to try again.`, { retryable: true });
    case 'budget_exhausted':
      return fail('budget_exhausted', `The bot's Luma account has run out of credit, so no images can be made right now. The bot's operator has been told. ${TRY_AGAIN}`, {
        log: 'error',
        operatorAlert: 'Luma account budget exhausted: add funds at the Luma dashboard',
      });
    case 'image_too_large':
      return fail('image_too_large', `An input image is too large for Luma${why}. Use a smaller image (under 50 MB; a few MB is best). ${TRY_AGAIN}`);
    case 'unsupported_format':
      return fail('unsupported_format', `An input image is in a format Luma does not take${why}. Use PNG, JPEG, WebP or a still GIF. ${TRY_AGAIN}`);
    case 'corrupt_input':
      return fail('corrupt_input', `An input image could not be read — it may be damaged${why}. Try another copy of it. ${TRY_AGAIN}`);
    case 'rate_limited':
      if (rateLimitedRetries < 3) return { kind: 'requeue', delayMs: 10_000 * (rateLimitedRetries + 1), reason: 'luma rate_limited' };
      return fail('rate_limited', `Luma is too busy right now. ${TRY_AGAIN} Please try again in a few minutes.`, { retryable: true });
    case 'invalid_request':
      return fail('invalid_request', `The bot sent Luma a request it did not accept — that is a bug on our side, not something you did. ${TRY_AGAIN}`, { ref, log: 'error', retryable: true });
    default:
      return fail(code ?? 'unknown', `The image could not be made${why}. ${TRY_AGAIN}`, { ref, log: 'error', retryable: true });
  }
}

/** An error from POST /generations. `hasUrlInputs`: the request still sends images by URL (and could send bytes). */
export function classifySubmitError(err: unknown, ctx: { hasUrlInputs: boolean; submitAttempts: number; ref: string }): FailureAction {
  if (err instanceof RateLimitError) {
    // Luma rejects rather than queues; the job waits in our queue, keeping its place. For "too many concurrent jobs"
    // the engine lowers its concurrency cap, which holds every POST until one of ours finishes, so Luma's generic
    // Retry-After of 60 s would only make the job wait longer than the slot does. For the per-minute limit the
    // engine pauses all POSTs for the Retry-After.
    if (err.kind === 'concurrency') return { kind: 'requeue', delayMs: 1000, reason: 'luma 429 concurrency' };
    return { kind: 'requeue', delayMs: Math.max(1000, err.retryAfterMs ?? 5000), reason: 'luma 429 requests' };
  }
  if (err instanceof ServiceUnavailableError) {
    if (ctx.hasUrlInputs) return { kind: 'inline', reason: 'luma 503: URL ingestion down' };
    return { kind: 'requeue', delayMs: outageRetryDelayMs(ctx.submitAttempts), reason: 'luma 503', outage: true };
  }
  if (err instanceof BadGatewayError) {
    // Luma's upstream is down: the docs say retry after 5–10 s; the job was refused before processing.
    return { kind: 'requeue', delayMs: outageRetryDelayMs(ctx.submitAttempts), reason: 'luma 502: upstream down', outage: true };
  }
  if (err instanceof UnprocessableEntityError) {
    if (ctx.hasUrlInputs) return { kind: 'inline', reason: 'luma 422 for a URL input' };
    return fail('http_422', `Luma could not read one of the images${err.detail ? ` (${err.detail.slice(0, 200)})` : ''}. Make sure it is a PNG, JPEG, WebP or still GIF. ${TRY_AGAIN}`);
  }
  if (err instanceof PayloadTooLargeError) {
    return fail('http_413', `An input image is too large for Luma (50 MB at most; a few MB is best). ${TRY_AGAIN}`);
  }
  if (err instanceof BadRequestError) {
    return fail('http_400', `Luma did not accept the request${err.detail ? ` (${err.detail.slice(0, 200)})` : ''}. This is most likely a bug on our side. ${TRY_AGAIN}`, { ref: ctx.ref, log: 'error', retryable: true });
  }
  if (err instanceof AuthenticationError) {
    return fail('http_401', `The bot's Luma API key was rejected, so no images can be made until the operator replaces it. ${TRY_AGAIN}`, {
      log: 'error',
      operatorAlert: 'Luma rejected the API key (401): set a valid LUMA_AGENTS_API_KEY',
    });
  }
  if (err instanceof InsufficientBalanceError) {
    return fail('http_402', `The bot's Luma account has run out of credit, so no images can be made right now. The operator has been told. ${TRY_AGAIN}`, {
      log: 'error',
      operatorAlert: 'Luma answered 402 insufficient balance: add funds',
    });
  }
  if (err instanceof PermissionDeniedError) {
    return fail('http_403', `The bot's Luma account is suspended, so no images can be made. The operator has been told. ${TRY_AGAIN}`, {
      log: 'error',
      operatorAlert: 'Luma answered 403: the account is suspended',
    });
  }
  if (err instanceof LumaConnectionError && !err.reachedServer) {
    return { kind: 'requeue', delayMs: outageRetryDelayMs(ctx.submitAttempts), reason: 'luma unreachable', outage: true };
  }
  if (err instanceof LumaConnectionError || err instanceof LumaAPIError) {
    // The POST may have reached Luma (timeout after sending, reset, 500): retrying could bill a second image,
    // so the job ends here and the member decides.
    return fail('uncertain', `Luma did not answer properly (${err instanceof LumaAPIError ? `HTTP ${err.status}` : 'connection lost'}). ${TRY_AGAIN} Press Retry to try again.`, {
      ref: ctx.ref,
      retryable: true,
      log: 'warn',
    });
  }
  return fail('internal', `Something went wrong on our side. ${TRY_AGAIN}`, { ref: ctx.ref, retryable: true, log: 'error' });
}

/** First wait after Luma went down, and the longest, ms: Luma says retry a 502 after 5–10 s. */
const OUTAGE_RETRY_FIRST_MS = 5000;
const OUTAGE_RETRY_MAX_MS = 30_000;

/**
 * How long a job waits before its next try while Luma is down: from 5 s, ×1.5 per try, at most 30 s, with ±20 %
 * jitter so the jobs of an outage do not all come back in the same instant.
 */
export function outageRetryDelayMs(tries: number, random: () => number = Math.random): number {
  const base = Math.min(OUTAGE_RETRY_FIRST_MS * 1.5 ** Math.max(0, tries - 1), OUTAGE_RETRY_MAX_MS);
  return Math.round(base * (0.8 + 0.4 * random()));
}

const minutes = (ms: number): string => {
  const m = Math.round(ms / 60_000);
  return m >= 1 ? `${m} minute${m === 1 ? '' : 's'}` : `${Math.max(1, Math.round(ms / 1000))} seconds`;
};

/** Luma stayed down (502, unreachable) for the whole outage window: the job is given up. */
export function lumaUnavailable(windowMs: number): FailureAction {
  return fail('luma_unavailable', `Luma has been unavailable for more than ${minutes(windowMs)}, so the bot gave this request up. ${TRY_AGAIN} Press Retry once Luma is back.`, { retryable: true, log: 'warn' });
}

/** Luma accepted the job, then stopped answering its polls for the whole outage window. */
export function lostContact(windowMs: number, ref: string): FailureAction {
  return fail('poll_timeout', `The bot lost contact with Luma for more than ${minutes(windowMs)} while your image was being made, so it stopped waiting. ${TRY_AGAIN} Press Retry to try again.`, { ref, retryable: true, log: 'error' });
}

/** Luma accepted the job but it did not finish within the configured maximum age. */
export function jobTooOld(maxAgeMs: number, ref: string): FailureAction {
  return fail('job_too_old', `Luma did not finish this image within ${minutes(maxAgeMs)}, so the bot stopped waiting for it. ${TRY_AGAIN} Press Retry to try again.`, { ref, retryable: true, log: 'warn' });
}

/** Luma reported a state outside its API reference (e.g. `cancelled`): the bot cannot finish such a job. */
export function unknownState(state: string, ref: string): FailureAction {
  const shown = state.replace(/[^\w -]/g, '').slice(0, 40) || 'unknown';
  return fail('unknown_state', `Luma reported this job as "${shown}", a state the bot does not know how to finish, so it stopped waiting for it. ${TRY_AGAIN} Press Retry to try again.`, { ref, retryable: true, log: 'error' });
}

/** Luma could not fetch the member's images by URL, and together they are over the inline cap. */
export function inlineTooLarge(bytes: number | undefined, capBytes: number): FailureAction {
  const mb = (n: number): string => `${(n / (1024 * 1024)).toFixed(1)} MB`;
  return fail('inline_too_large', `Luma could not fetch your images from Discord, and together they are too large for the bot to send them itself (${bytes !== undefined ? `${mb(bytes)}; ` : ''}at most ${mb(capBytes)}). Use smaller images or fewer references. ${TRY_AGAIN}`, { log: 'warn' });
}

/** Luma could not fetch the member's images by URL, and neither could the bot. */
export function inputUnreachable(): FailureAction {
  return fail('input_unreachable', `Luma could not fetch one of your images, and the bot could not fetch it either. Please upload it again. ${TRY_AGAIN}`, { log: 'warn' });
}
