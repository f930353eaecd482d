// Errors thrown by LumaClient. Shaped after openai-node: one base class, an API error per HTTP status, and
// connection errors that say whether the request may have reached Luma (there is no idempotency key, so a
// caller deciding whether to resubmit a generation needs to know).
import { STATUS_CODES } from 'node:http';

/** Base of every error LumaClient throws (except the caller's own abort reason). */
export class LumaError extends Error {
  override name = 'LumaError';
  /** Luma's `X-Request-Id` for the failed request, when the server answered. */
  readonly requestId: string | undefined;

  constructor(message: string, options?: { cause?: unknown; requestId?: string | undefined }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.requestId = options?.requestId;
  }
}

/** The server answered with a non-2xx status (or an unusable 2xx body). */
export class LumaAPIError extends LumaError {
  override name = 'LumaAPIError';
  readonly status: number;
  /** The `detail` of the `{ "detail": ... }` error body, or a snippet of a non-JSON body. */
  readonly detail: string | undefined;
  /** Response headers, lower-cased names, repeated values joined with `, `. */
  readonly headers: Record<string, string>;

  constructor(status: number, detail: string | undefined, headers: Record<string, string>) {
    const requestId = headers['x-request-id'];
    super(formatMessage(status, detail, requestId), { requestId });
    this.status = status;
    this.detail = detail;
    this.headers = headers;
  }
}

export class BadRequestError extends LumaAPIError {
  override name = 'BadRequestError';
}
/** The key is missing, malformed, revoked or expired. */
export class AuthenticationError extends LumaAPIError {
  override name = 'AuthenticationError';
}
/** The account balance cannot pay for the job; nothing was queued. */
export class InsufficientBalanceError extends LumaAPIError {
  override name = 'InsufficientBalanceError';
}
/** The account is suspended. */
export class PermissionDeniedError extends LumaAPIError {
  override name = 'PermissionDeniedError';
}
export class NotFoundError extends LumaAPIError {
  override name = 'NotFoundError';
}
/** An input image is over Luma's size limit. */
export class PayloadTooLargeError extends LumaAPIError {
  override name = 'PayloadTooLargeError';
}
/** Bad base64, an input URL Luma could not fetch, or an input that is not an image. */
export class UnprocessableEntityError extends LumaAPIError {
  override name = 'UnprocessableEntityError';
}

export type RateLimitKind = 'requests' | 'concurrency';

/**
 * 429. Luma has two limits on POST: requests per minute (answered with X-RateLimit-* headers) and concurrent
 * active jobs (`Too many concurrent jobs`, Retry-After: 60, no rate-limit headers). The bot's queue treats
 * them differently, hence `kind`.
 */
export class RateLimitError extends LumaAPIError {
  override name = 'RateLimitError';
  /** From `retry-after-ms` or `Retry-After`; undefined when the server sent neither. */
  readonly retryAfterMs: number | undefined;
  readonly kind: RateLimitKind;
  /** X-RateLimit-Limit, when sent. */
  readonly limit: number | undefined;
  /** X-RateLimit-Remaining, when sent. */
  readonly remaining: number | undefined;
  /** X-RateLimit-Reset as an absolute time, when sent. */
  readonly resetAt: Date | undefined;

  constructor(status: number, detail: string | undefined, headers: Record<string, string>) {
    super(status, detail, headers);
    this.retryAfterMs = parseRetryAfter(headers);
    const window = parseRateWindow(headers);
    this.limit = window?.limit;
    this.remaining = window?.remaining;
    this.resetAt = window?.resetAt;
    const hasRateLimitHeaders = Object.keys(headers).some((h) => h.startsWith('x-ratelimit-'));
    this.kind = /concurren/i.test(detail ?? '') || !hasRateLimitHeaders ? 'concurrency' : 'requests';
  }
}

/** Luma's view of the account's per-minute window, from the `X-RateLimit-*` headers of a 201 or an RPM 429. */
export interface RateWindow {
  /** X-RateLimit-Limit: the plan's POSTs per sliding minute. */
  limit: number | undefined;
  /** X-RateLimit-Remaining: POSTs left in the window, this one counted. */
  remaining: number | undefined;
  /** X-RateLimit-Reset: when the oldest POST in the window leaves it. */
  resetAt: Date | undefined;
}

/** The rate-limit window a response reports; undefined when it carries none of the headers. */
export function parseRateWindow(headers: Record<string, string>, now: number = Date.now()): RateWindow | undefined {
  const window: RateWindow = {
    limit: parseNumber(headers['x-ratelimit-limit']),
    remaining: parseNumber(headers['x-ratelimit-remaining']),
    resetAt: parseReset(headers['x-ratelimit-reset'], now),
  };
  return window.limit === undefined && window.remaining === undefined && window.resetAt === undefined ? undefined : window;
}

/** A 5xx other than 502 and 503. On a POST the job may have been created. */
export class InternalServerError extends LumaAPIError {
  override name = 'InternalServerError';
}
/** 502: Luma's upstream is down; the docs advise retrying after 5–10 s. */
export class BadGatewayError extends InternalServerError {
  override name = 'BadGatewayError';
}
/** 503: URL ingestion is down; resend the inputs as base64 `data`. */
export class ServiceUnavailableError extends InternalServerError {
  override name = 'ServiceUnavailableError';
}

/** The request failed below HTTP: refused, reset, DNS, or timed out. */
export class LumaConnectionError extends LumaError {
  override name = 'LumaConnectionError';
  /**
   * False only when the request certainly never left this process (refused, DNS failure, connect timeout).
   * When true a POST may have created a billed job.
   */
  readonly reachedServer: boolean;
  /** The underlying error code (ECONNREFUSED, UND_ERR_SOCKET, ...), when there is one. */
  readonly code: string | undefined;

  constructor(message: string, options: { cause?: unknown; reachedServer: boolean; code?: string | undefined }) {
    super(message, { cause: options.cause });
    this.reachedServer = options.reachedServer;
    this.code = options.code;
  }
}

/** One attempt took longer than its timeout. */
export class LumaTimeoutError extends LumaConnectionError {
  override name = 'LumaTimeoutError';
}

/** Builds the LumaAPIError subclass for a status. `body` is the parsed JSON body, or its text when not JSON. */
export function makeAPIError(status: number, body: unknown, headers: Record<string, string>): LumaAPIError {
  const detail = extractDetail(body);
  switch (status) {
    case 400:
      return new BadRequestError(status, detail, headers);
    case 401:
      return new AuthenticationError(status, detail, headers);
    case 402:
      return new InsufficientBalanceError(status, detail, headers);
    case 403:
      return new PermissionDeniedError(status, detail, headers);
    case 404:
      return new NotFoundError(status, detail, headers);
    case 413:
      return new PayloadTooLargeError(status, detail, headers);
    case 422:
      return new UnprocessableEntityError(status, detail, headers);
    case 429:
      return new RateLimitError(status, detail, headers);
    case 502:
      return new BadGatewayError(status, detail, headers);
    case 503:
      return new ServiceUnavailableError(status, detail, headers);
    default:
      return status >= 500
        ? new InternalServerError(status, detail, headers)
        : new LumaAPIError(status, detail, headers);
  }
}

/**
 * Milliseconds the server asked us to wait: `retry-after-ms` (non-standard, used by some gateways), else
 * `Retry-After` as seconds or as an HTTP date. Undefined when absent or unparsable.
 */
export function parseRetryAfter(headers: Record<string, string>, now: number = Date.now()): number | undefined {
  const ms = headers['retry-after-ms'];
  if (ms !== undefined && ms.trim() !== '') {
    const n = Number(ms);
    if (Number.isFinite(n) && n >= 0) return n;
  }
  const ra = headers['retry-after'];
  if (ra === undefined || ra.trim() === '') return undefined;
  const seconds = Number(ra);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const date = Date.parse(ra);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

const MAX_DETAIL_CHARS = 300;

function extractDetail(body: unknown): string | undefined {
  if (typeof body === 'string') {
    const text = body.trim();
    return text === '' ? undefined : truncate(text);
  }
  if (body === null || typeof body !== 'object') return undefined;
  const detail = (body as { detail?: unknown }).detail;
  if (typeof detail === 'string') return truncate(detail);
  // FastAPI-style validation errors: [{ loc, msg, type }, ...].
  if (Array.isArray(detail)) {
    const msgs = detail.map((d: unknown) => {
      if (d !== null && typeof d === 'object') {
        const { loc, msg } = d as { loc?: unknown; msg?: unknown };
        const where = Array.isArray(loc) ? loc.join('.') : undefined;
        if (typeof msg === 'string') return where ? `${where}: ${msg}` : msg;
      }
      return JSON.stringify(d);
    });
    return truncate(msgs.join('; '));
  }
  if (detail !== undefined && detail !== null) return truncate(JSON.stringify(detail));
  return undefined;
}

function formatMessage(status: number, detail: string | undefined, requestId: string | undefined): string {
  const what = detail ?? STATUS_CODES[status] ?? 'Unknown status';
  return `Luma API ${status}: ${what}${requestId ? ` (request ${requestId})` : ''}`;
}

function truncate(text: string): string {
  return text.length > MAX_DETAIL_CHARS ? `${text.slice(0, MAX_DETAIL_CHARS)}…` : text;
}

function parseNumber(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

// The docs do not pin the format of X-RateLimit-Reset. Accept epoch seconds (large numbers), seconds from
// now (small numbers) and HTTP dates.
function parseReset(value: string | undefined, now: number = Date.now()): Date | undefined {
  const n = parseNumber(value);
  if (n !== undefined) return new Date(n > 1e9 ? n * 1000 : now + n * 1000);
  if (value === undefined) return undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : new Date(date);
}
