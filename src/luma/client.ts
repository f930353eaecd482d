// A small client for the two endpoints of the Luma Agents API the bot uses, on undici.
//
// The retry policy is the point of this file. Luma has no idempotency key, so a POST /generations retried after
// it reached the server can create a second, billed job. GETs are retried on any transient failure; a POST only
// when it certainly never arrived (connection refused, DNS failure, connect timeout) or the server refused it
// before processing (429, 503).
import { Agent, request, type Dispatcher } from 'undici';
import { responseUntilAborted } from '../http/abort.js';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { DEFAULT_BASE_URL, type Generation, type GenerationRequest } from './types.js';
import { errorCode, flattenHeaders, isGeneration, ms, parseJSON, readCapped, redact, SendTracker, sleep, throwIfAborted } from './wire.js';
import {
  LumaAPIError,
  LumaConnectionError,
  LumaError,
  LumaTimeoutError,
  RateLimitError,
  makeAPIError,
  parseRateWindow,
  parseRetryAfter,
  type RateWindow,
} from './errors.js';

export interface LumaClientOptions {
  /** Sent as `Authorization: Bearer <key>`. Never logged nor put in error messages. */
  apiKey: string;
  /** Default `https://agents.lumalabs.ai/v1`; a trailing slash is fine. */
  baseURL?: string;
  /** Per attempt (connect + headers + body), in ms. Default 30 000. */
  timeoutMs?: number;
  /** Retries after the first attempt. Default 3. */
  maxRetries?: number;
  /** First backoff delay in ms; doubles per retry. Default 500. */
  retryBaseDelayMs?: number;
  /** Longest in-client wait in ms, for backoff and for a honoured Retry-After. Default 8 000. */
  retryMaxDelayMs?: number;
  /**
   * undici dispatcher (e.g. an Agent with tuned pools). Default: an Agent of this client's own — not undici's
   * global dispatcher, which discord.js's bundled undici 6 may have replaced with one speaking an older handler API.
   */
  dispatcher?: Dispatcher;
  /** Gets one debug line per attempt. */
  logger?: Logger;
  /** Told of every failed attempt, retried or not (metrics). Must not throw. */
  onAttemptError?: (method: 'GET' | 'POST', error: LumaError) => void;
  /** Waits out backoffs and Retry-Afters. Default: real time (a wait that keeps the process alive). */
  clock?: Pick<Clock, 'sleep'>;
}

export interface RequestOptions {
  /** Aborting stops at once, without retry, rejecting with the signal's reason. */
  signal?: AbortSignal;
  /** Overrides the client's per-attempt timeout, in ms. */
  timeoutMs?: number;
  /** Overrides the client's retry count; 0 disables retries. */
  maxRetries?: number;
  /** Sent as `X-Request-Id`; Luma echoes it. */
  requestId?: string;
  /**
   * Asked after every failed attempt, the last one included (so it hears of every failure): false ends the call
   * with this error instead of retrying it.
   */
  mayRetry?: (error: LumaError) => boolean;
}

export interface GenerationResult {
  generation: Generation;
  /** Luma's `X-Request-Id` response header. */
  requestId: string | undefined;
  /**
   * The account's per-minute window as this response reports it (`X-RateLimit-*`; every 201 of a POST carries
   * them). The scheduler learns the plan's limits from it. Undefined when the response had none.
   */
  rateWindow: RateWindow | undefined;
}

type Method = 'GET' | 'POST';

/** The largest answer read from Luma. A generation is a few hundred bytes; anything near this is not one. */
const MAX_RESPONSE_BYTES = 1024 * 1024;
/** Each attempt's timeout unless told otherwise, ms (a POST still unanswered then may have reached Luma). */
export const LUMA_REQUEST_TIMEOUT_MS = 30_000;

// Codes that mean the connection was never established, so no request bytes were sent.
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);
const GET_RETRY_STATUSES = new Set([408, 409, 429]);
// 429 and 503 are refusals before processing; any other 5xx on a POST may have left a job behind.
const POST_RETRY_STATUSES = new Set([429, 503]);

export class LumaClient {
  readonly baseURL: string;
  readonly #apiKey: string;
  readonly #timeoutMs: number;
  readonly #maxRetries: number;
  readonly #retryBaseDelayMs: number;
  readonly #retryMaxDelayMs: number;
  readonly #dispatcher: Dispatcher;
  readonly #logger: Logger | undefined;
  readonly #onAttemptError: LumaClientOptions['onAttemptError'];
  readonly #clock: Pick<Clock, 'sleep'>;

  constructor(opts: LumaClientOptions) {
    if (!opts.apiKey) throw new TypeError('LumaClient: apiKey is required');
    this.#apiKey = opts.apiKey;
    this.baseURL = (opts.baseURL ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
    this.#timeoutMs = opts.timeoutMs ?? LUMA_REQUEST_TIMEOUT_MS;
    this.#maxRetries = opts.maxRetries ?? 3;
    this.#retryBaseDelayMs = opts.retryBaseDelayMs ?? 500;
    this.#retryMaxDelayMs = opts.retryMaxDelayMs ?? 8_000;
    this.#dispatcher = opts.dispatcher ?? new Agent();
    this.#logger = opts.logger;
    this.#onAttemptError = opts.onAttemptError;
    this.#clock = opts.clock ?? { sleep };
  }

  /** POST /generations. Resolves with the queued generation. */
  createGeneration(body: GenerationRequest, opts: RequestOptions = {}): Promise<GenerationResult> {
    return this.#request('POST', '/generations', body, opts);
  }

  /** GET /generations/{id}. Every call mints fresh presigned output URLs. */
  getGeneration(id: string, opts: RequestOptions = {}): Promise<GenerationResult> {
    return this.#request('GET', `/generations/${encodeURIComponent(id)}`, undefined, opts);
  }

  async #request(method: Method, path: string, body: unknown, opts: RequestOptions): Promise<GenerationResult> {
    const maxRetries = opts.maxRetries ?? this.#maxRetries;
    const timeoutMs = opts.timeoutMs ?? this.#timeoutMs;
    const payload = body === undefined ? undefined : JSON.stringify(body);

    for (let attempt = 0; ; attempt++) {
      throwIfAborted(opts.signal);
      const started = performance.now();
      let error: LumaError;
      try {
        const result = await this.#attempt(method, path, payload, timeoutMs, opts);
        this.#logger?.debug(
          { method, path, status: result.status, requestId: result.requestId, durationMs: ms(started), attempt },
          'luma request',
        );
        return { generation: result.generation, requestId: result.requestId, rateWindow: result.rateWindow };
      } catch (err) {
        if (!(err instanceof LumaError)) throw err; // the caller's abort reason, or a bug
        error = err;
      }
      this.#onAttemptError?.(method, error);

      const retryable = (opts.mayRetry?.(error) ?? true) && isRetryable(method, error);
      const delay = retryable && attempt < maxRetries ? this.#retryDelay(attempt, error) : undefined;
      this.#logger?.debug(
        {
          method,
          path,
          status: error instanceof LumaAPIError ? error.status : undefined,
          code: error instanceof LumaConnectionError ? error.code : undefined,
          requestId: error.requestId,
          durationMs: ms(started),
          attempt,
          retryInMs: delay,
        },
        `luma request failed: ${error.message}`,
      );
      if (delay === undefined) throw error;
      await this.#clock.sleep(delay, opts.signal);
    }
  }

  /** Undefined when the error must not be waited for in-client. */
  #retryDelay(attempt: number, error: LumaError): number | undefined {
    if (error instanceof LumaAPIError) {
      const retryAfter = parseRetryAfter(error.headers);
      if (retryAfter !== undefined) {
        // A long Retry-After on a 429 (e.g. 60 s for "Too many concurrent jobs") is better handled by the
        // caller's queue than by holding this call open; other statuses get the capped wait.
        if (error instanceof RateLimitError && retryAfter > this.#retryMaxDelayMs) return undefined;
        return Math.min(retryAfter, this.#retryMaxDelayMs);
      }
    }
    // Exponential backoff with ±25 % jitter: spreads simultaneous retries from many jobs
    // without the very short waits full jitter allows, which would hammer a server that is just recovering.
    const base = Math.min(this.#retryBaseDelayMs * 2 ** attempt, this.#retryMaxDelayMs);
    return Math.min(base * (0.75 + Math.random() * 0.5), this.#retryMaxDelayMs);
  }

  async #attempt(
    method: Method,
    path: string,
    payload: string | undefined,
    timeoutMs: number,
    opts: RequestOptions,
  ): Promise<{ generation: Generation; requestId: string | undefined; rateWindow: RateWindow | undefined; status: number }> {
    // One controller per attempt, aborted by our timer or by the caller's signal.
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error('attempt timed out'));
    }, timeoutMs);
    const onCallerAbort = () => controller.abort(opts.signal?.reason);
    opts.signal?.addEventListener('abort', onCallerAbort, { once: true });

    // undici calls onRequestStart on a connected socket right before writing the request; until then nothing
    // has left this process, whatever error follows. That is what makes a POST retry safe.
    let sent = false;
    const dispatcher = this.#dispatcher.compose((dispatch) => (dispatchOpts, handler) => dispatch(dispatchOpts, new SendTracker(handler, () => (sent = true))));

    try {
      const res = await responseUntilAborted(
        request(`${this.baseURL}${path}`, {
          method,
          headers: this.#headers(payload !== undefined, opts.requestId),
          body: payload ?? null,
          dispatcher,
          signal: controller.signal,
          // Our timer bounds the attempt; keep undici's own timers from firing first with a different error.
          headersTimeout: timeoutMs + 1_000,
          bodyTimeout: timeoutMs + 1_000,
        }),
        controller.signal,
      );
      const responseHeaders = flattenHeaders(res.headers);
      const requestId = responseHeaders['x-request-id'];
      const text = redact(await readCapped(res.body, MAX_RESPONSE_BYTES, `Luma API ${method} ${path}`, requestId), this.#apiKey);

      if (res.statusCode < 200 || res.statusCode >= 300) {
        throw makeAPIError(res.statusCode, parseJSON(text) ?? text, responseHeaders);
      }
      const generation = parseJSON(text);
      if (!isGeneration(generation)) {
        throw new LumaError(`Luma API ${res.statusCode}: unexpected response body`, { requestId });
      }
      return { generation, requestId, rateWindow: parseRateWindow(responseHeaders), status: res.statusCode };
    } catch (err) {
      if (err instanceof LumaError) throw err;
      if (opts.signal?.aborted && !timedOut) throw opts.signal.reason;
      throw this.#transportError(err, { method, path, timeoutMs, timedOut, sent });
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onCallerAbort);
    }
  }

  #headers(hasBody: boolean, requestId: string | undefined): Record<string, string> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.#apiKey}`, accept: 'application/json' };
    if (hasBody) headers['content-type'] = 'application/json';
    if (requestId !== undefined) headers['x-request-id'] = requestId;
    return headers;
  }

  /**
   * What an attempt that got no answer is reported as: a timeout (ours or undici's), or a connection error;
   * `reachedServer` says whether the request may have arrived (a POST that may have arrived is not retried).
   */
  #transportError(err: unknown, a: { method: Method; path: string; timeoutMs: number; timedOut: boolean; sent: boolean }): LumaError {
    const { method, path } = a;
    const code = errorCode(err);
    const reachedServer = a.sent && !(code !== undefined && NOT_SENT_CODES.has(code));
    if (a.timedOut || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
      return new LumaTimeoutError(`Luma API ${method} ${path} timed out after ${a.timeoutMs} ms`, { cause: err, reachedServer, code: code ?? 'ETIMEDOUT' });
    }
    if (code === 'UND_ERR_CONNECT_TIMEOUT') {
      return new LumaTimeoutError(`Luma API ${method} ${path}: connect timeout`, { cause: err, reachedServer: false, code });
    }
    const why = err instanceof Error ? redact(err.message, this.#apiKey) : 'unknown error';
    return new LumaConnectionError(`Luma API ${method} ${path} connection error: ${why}`, { cause: err, reachedServer, code });
  }
}

function isRetryable(method: Method, error: LumaError): boolean {
  if (error instanceof LumaConnectionError) return method === 'GET' || !error.reachedServer;
  if (!(error instanceof LumaAPIError)) return false; // a malformed 2xx body: the server did the work
  const status = error.status;
  if (method === 'POST') return POST_RETRY_STATUSES.has(status);
  return GET_RETRY_STATUSES.has(status) || status >= 500;
}
