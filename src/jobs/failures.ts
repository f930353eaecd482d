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
import { catalogues, format, hasKey, languageOf, t, tn, type MessageKey } from '../i18n/index.js';
import type { FailureCode } from '../luma/types.js';
import { truncate } from '../text.js';
import type { JobFailure } from './types.js';

/**
 * What the engine does with a failure. `refund` gives the member's quota unit back: every failure is refunded
 * except content moderation, which is the one the member caused (documented in docs/quotas.md, Accounting).
 */
export type FailureAction =
  /** `outage`: Luma is down or unreachable; the job waits in the queue for the outage window, then fails. */
  | { kind: 'requeue'; delayMs: number; reason: string; outage?: boolean }
  | { kind: 'inline'; reason: string }
  | { kind: 'fail'; failure: JobFailure; refund: boolean; log: 'info' | 'warn' | 'error'; operatorAlert?: string };

type FailureVars = Readonly<Record<string, string | number>>;

/**
 * The member's failure message in a language. A failure keeps its catalogue key and raw vars (`lumaSaid`: Luma's
 * own words; `durationMs`: a window, shown in minutes), so the text is written in the language of wherever it
 * is shown; a record from before the catalogue (no key) shows its stored English `userMessage`.
 */
export function failureText(locale: string | null | undefined, failure: Pick<JobFailure, 'key' | 'vars'> & { userMessage?: string }): string {
  const key = failure.key;
  if (key === undefined || !hasKey(key)) return failure.userMessage ?? '';
  const raw = failure.vars ?? {};
  const vars: Record<string, string | number> = { ...raw };
  if ('lumaSaid' in raw) vars.why = typeof raw.lumaSaid === 'string' && raw.lumaSaid !== '' ? t(locale, 'failure.lumaSaid', { reason: raw.lumaSaid }) : '';
  if (typeof raw.durationMs === 'number') vars.duration = durationText(locale, raw.durationMs);
  return format(catalogues[languageOf(locale)][key], vars);
}

function durationText(locale: string | null | undefined, ms: number): string {
  const m = Math.round(ms / 60_000);
  return m >= 1 ? tn(locale, 'duration.minutes', m) : tn(locale, 'duration.seconds', Math.max(1, Math.round(ms / 1000)));
}

/** A failure as stored: its code, its message key and vars, and the English text (logs, older readers). */
export function jobFailure(code: string, key: MessageKey, vars: FailureVars = {}, o: { retryable?: boolean; ref?: string } = {}): JobFailure {
  const stored = { key, vars: { ...vars } };
  return { code, userMessage: failureText('en', stored), ...stored, retryable: o.retryable ?? false, ...(o.ref ? { ref: o.ref } : {}) };
}

function fail(code: string, key: MessageKey, vars: FailureVars, o: Partial<Omit<Extract<FailureAction, { kind: 'fail' }>, 'kind' | 'failure'>> & { retryable?: boolean; ref?: string } = {}): FailureAction {
  return {
    kind: 'fail',
    failure: jobFailure(code, key, vars, o),
    refund: o.refund ?? true,
    log: o.log ?? 'info',
    ...(o.operatorAlert ? { operatorAlert: o.operatorAlert } : {}),
  };
}

/** A generation that ended `failed` at Luma. */
export function classifyLumaFailure(code: FailureCode | string | null | undefined, reason: string | null | undefined, ref: string, rateLimitedRetries: number): FailureAction {
  const said = { lumaSaid: reason ? truncate(reason, 200) : '' };
  switch (code) {
    case 'content_moderated':
      return fail('content_moderated', 'failure.content_moderated', {}, { refund: false });
    case 'generation_failed':
      return fail('generation_failed', 'failure.generation_failed', {}, { retryable: true });
    case 'output_not_found':
      return fail('output_not_found', 'failure.output_not_found', {}, { retryable: true });
    case 'budget_exhausted':
      return fail('budget_exhausted', 'failure.budget_exhausted', {}, {
        log: 'error',
        operatorAlert: 'Luma account budget exhausted: add funds at the Luma dashboard',
      });
    case 'image_too_large':
      return fail('image_too_large', 'failure.image_too_large', said);
    case 'unsupported_format':
      return fail('unsupported_format', 'failure.unsupported_format', said);
    case 'corrupt_input':
      return fail('corrupt_input', 'failure.corrupt_input', said);
    case 'rate_limited':
      if (rateLimitedRetries < 3) return { kind: 'requeue', delayMs: 10_000 * (rateLimitedRetries + 1), reason: 'luma rate_limited' };
      return fail('rate_limited', 'failure.rate_limited', {}, { retryable: true });
    case 'invalid_request':
      return fail('invalid_request', 'failure.invalid_request', {}, { ref, log: 'error', retryable: true });
    default:
      return fail(code ?? 'unknown', 'failure.unknown', said, { ref, log: 'error', retryable: true });
  }
}

/** An error from POST /generations. `hasUrlInputs`: the request still sends images by URL (and could send bytes). */
export function classifySubmitError(err: unknown, ctx: { hasUrlInputs: boolean; ref: string }): FailureAction {
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
    return { kind: 'requeue', delayMs: 0, reason: 'luma 503', outage: true };
  }
  if (err instanceof BadGatewayError) {
    // Luma's upstream is down: the docs say retry after 5–10 s; the job was refused before processing. The Luma
    // breaker spaces the tries (one probe at a time, luma-breaker.ts): the job waits in its place, not on a timer.
    return { kind: 'requeue', delayMs: 0, reason: 'luma 502: upstream down', outage: true };
  }
  if (err instanceof UnprocessableEntityError) {
    if (ctx.hasUrlInputs) return { kind: 'inline', reason: 'luma 422 for a URL input' };
    return fail('http_422', 'failure.http_422', { detail: detailOf(err.detail) });
  }
  if (err instanceof PayloadTooLargeError) {
    return fail('http_413', 'failure.http_413', {});
  }
  if (err instanceof BadRequestError) {
    return fail('http_400', 'failure.http_400', { detail: detailOf(err.detail) }, { ref: ctx.ref, log: 'error', retryable: true });
  }
  if (err instanceof AuthenticationError) {
    return fail('http_401', 'failure.http_401', {}, {
      log: 'error',
      operatorAlert: 'Luma rejected the API key (401): set a valid LUMA_AGENTS_API_KEY',
    });
  }
  if (err instanceof InsufficientBalanceError) {
    return fail('http_402', 'failure.http_402', {}, {
      log: 'error',
      operatorAlert: 'Luma answered 402 insufficient balance: add funds',
    });
  }
  if (err instanceof PermissionDeniedError) {
    return fail('http_403', 'failure.http_403', {}, {
      log: 'error',
      operatorAlert: 'Luma answered 403: the account is suspended',
    });
  }
  if (err instanceof LumaConnectionError && !err.reachedServer) {
    return { kind: 'requeue', delayMs: 0, reason: 'luma unreachable', outage: true };
  }
  if (err instanceof LumaConnectionError || err instanceof LumaAPIError) {
    // The POST may have reached Luma (timeout after sending, reset, 500): retrying could bill a second image,
    // so the job ends here and the member decides.
    return fail('uncertain', err instanceof LumaAPIError ? 'failure.uncertain.http' : 'failure.uncertain.connection', err instanceof LumaAPIError ? { status: err.status } : {}, {
      ref: ctx.ref,
      retryable: true,
      log: 'warn',
    });
  }
  return fail('internal', 'failure.internal', {}, { ref: ctx.ref, retryable: true, log: 'error' });
}

/** A POST went out and its answer was never saved (the process died or stalled): it may have reached Luma. */
export function postOutcomeUnknown(ref: string): FailureAction {
  return fail('uncertain', 'failure.uncertain.connection', {}, { ref, retryable: true, log: 'warn' });
}

/** Luma's detail of a 400 or 422, as shown after the sentence's subject: ` (…)`, or nothing. */
const detailOf = (detail: string | undefined): string => (detail ? ` (${truncate(detail, 200)})` : '');

/** Luma stayed down (502, unreachable) for the whole outage window: the job is given up. */
export function lumaUnavailable(windowMs: number): FailureAction {
  return fail('luma_unavailable', 'failure.luma_unavailable', { durationMs: windowMs }, { retryable: true, log: 'warn' });
}

/** Luma accepted the job, then stopped answering its polls for the whole outage window. */
export function lostContact(windowMs: number, ref: string): FailureAction {
  return fail('poll_timeout', 'failure.poll_timeout', { durationMs: windowMs }, { ref, retryable: true, log: 'error' });
}

/** Luma accepted the job but it did not finish within the configured maximum age. */
export function jobTooOld(maxAgeMs: number, ref: string): FailureAction {
  return fail('job_too_old', 'failure.job_too_old', { durationMs: maxAgeMs }, { ref, retryable: true, log: 'warn' });
}

/** Luma reported a state outside its API reference (e.g. `cancelled`): the bot cannot finish such a job. */
export function unknownState(state: string, ref: string): FailureAction {
  const shown = state.replace(/[^\w -]/g, '').slice(0, 40) || 'unknown';
  return fail('unknown_state', 'failure.unknown_state', { state: shown }, { ref, retryable: true, log: 'error' });
}

/** Luma could not fetch the member's images by URL, and together they are over the inline cap. */
export function inlineTooLarge(bytes: number | undefined, capBytes: number): FailureAction {
  const mb = (n: number): string => `${(n / (1024 * 1024)).toFixed(1)} MB`;
  return bytes !== undefined
    ? fail('inline_too_large', 'failure.inline_too_large.sized', { size: mb(bytes), cap: mb(capBytes) }, { log: 'warn' })
    : fail('inline_too_large', 'failure.inline_too_large', { cap: mb(capBytes) }, { log: 'warn' });
}

/** Luma could not fetch the member's images by URL, and neither could the bot. */
export function inputUnreachable(): FailureAction {
  return fail('input_unreachable', 'failure.input_unreachable', {}, { log: 'warn' });
}

/** A step crashed on something unexpected: our fault, logged with the reference. */
export function internalFailure(ref: string): FailureAction {
  return fail('internal', 'failure.internal', {}, { ref, retryable: true, log: 'error' });
}

/** Luma no longer knows a generation it accepted. */
export function generationNotFound(ref: string): FailureAction {
  return fail('not_found', 'failure.not_found', {}, { ref, retryable: true, log: 'error' });
}

/** The finished image could not be fetched from Luma. */
export function downloadFailed(ref: string): FailureAction {
  return fail('download_failed', 'failure.download_failed', {}, { ref, retryable: true, log: 'error' });
}
