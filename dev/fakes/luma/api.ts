// Public types of the fake Luma API (see server.ts). Kept apart so the server module stays readable.
import type { IncomingHttpHeaders } from 'node:http';

import type { FailureCode, GenerationRequest, GenerationState, InputMediaType } from '../../../src/luma/types.js';

export interface RateLimits {
  /** Authenticated POSTs allowed per sliding 60 s window. */
  rpm?: number;
  /** Generations allowed queued or processing at once; further POSTs get 429. */
  concurrent?: number;
}

export interface FakeLumaOptions {
  /** Bearer key the fake accepts. Default 'luma-api-fake-key'. */
  apiKey?: string;
  /** Port on 127.0.0.1. Default 0 (any free port). */
  port?: number;
  /** Time a generation stays queued, in ms. Default 200. */
  queuedMs?: number;
  /** Time a generation then stays processing, in ms. Default 600. */
  processingMs?: number;
  /** Lifetime of each minted output URL, in ms. Default 3_600_000 (1 h, like Luma). */
  outputTtlMs?: number;
  /** Bytes of a generation, made when it is created (a Promise is awaited before the 201). Default: a 64x64 solid-colour PNG (JPEG if asked) per id. */
  outputImage?: (generation: FakeGeneration) => Buffer | Promise<Buffer>;
  /** POST limits. Default: none. */
  rateLimit?: RateLimits;
  /**
   * A Luma plan to enforce, as the real API does: `rpm` POSTs per sliding 60 s (429 `Rate limit exceeded` with a
   * computed Retry-After and X-RateLimit-*; every 201 reports the window in the same headers) and `concurrent`
   * jobs queued or processing (429 `Too many concurrent jobs`, Retry-After 60). Same as `rateLimit`, which wins.
   */
  plan?: RateLimits;
  /** Really GET `url` inputs (2xx + image/* required). Default true; false accepts any URL unread. */
  fetchUrls?: boolean;
  /** Time allowed to fetch a `url` input, in ms. Default 18_000. */
  urlFetchTimeoutMs?: number;
  /** Clock used for generation timing, URL expiry and rate limits. Default Date.now. */
  now?: () => number;
  /** Called with one line per answered request (the CLI prints them). Default: silent. */
  log?: (line: string) => void;
}

export interface RecordedRequest {
  method: string;
  /** Path and query, e.g. '/v1/generations/gen_1'. */
  path: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body, or undefined when there was none or it was not JSON. */
  body: unknown;
  at: number;
  /** The X-Request-Id the fake answered with. */
  requestId: string;
  /** The scripted fault this request met, if any. */
  fault?: FaultResponse;
  /** The status answered, once the answer is sent (absent while pending or when the socket was dropped). */
  status?: number;
  /** For a 429 on POST /generations: which of the plan's limits refused it. */
  limitedBy?: 'requests' | 'concurrency';
}

export interface FakeInput {
  /** 'source' or 'image_ref[i]'. */
  field: string;
  kind: 'url' | 'data' | 'generation_id';
  /** Sniffed type; absent for unread URLs (fetchUrls: false). */
  mediaType?: InputMediaType;
  bytes?: Buffer;
  url?: string;
  generationId?: string;
}

export interface FakeGeneration {
  id: string;
  /** The validated request body. */
  request: GenerationRequest;
  createdAt: number;
  /** State now (a planned `endState` outside the reference shows here as it is). */
  state: GenerationState;
  failureCode?: FailureCode;
  failureReason?: string;
  /** Present once completed: what GET /files serves. */
  outputBytes?: Buffer;
  /** Source first, then references, with the bytes the fake received or fetched. */
  inputs: FakeInput[];
  timing: { queuedMs: number; processingMs: number; hold: boolean; queuedUntil: number; finishAt: number };
}

export interface GenerationPlan {
  /** End in state failed with this code. */
  failWith?: FailureCode;
  failureReason?: string;
  queuedMs?: number;
  processingMs?: number;
  /** Stay processing until release(id). */
  hold?: boolean;
  /** Output bytes for this generation (overrides outputImage). */
  output?: Buffer;
  /** The first N downloads of its output file answer 503 `SlowDown` (S3's XML), as a storage hiccup does. */
  fileFailures?: number;
  /**
   * End in this state instead of completed/failed: a state outside the API reference (e.g. 'cancelled'), as a
   * newer Luma might report. It has no output and no longer counts as active.
   */
  endState?: string;
}

export type FaultResponse =
  | { status: number; body?: unknown; headers?: Record<string, string> }
  /** Destroy the socket after reading the request. */
  | { reset: true }
  /** Never answer (close() ends it). */
  | { hang: true }
  /** Wait, then handle normally. */
  | { delayMs: number }
  /** Hold the request until `until` settles, then handle it normally (a POST that lands after its sender died). */
  | { until: Promise<unknown> };

export interface FaultMatch {
  method: 'GET' | 'POST';
  /** Path prefix (or exact with `exact`) or pattern, matched against the path without query. Default: any. */
  path?: string | RegExp;
  exact?: boolean;
}

export interface FakeLuma {
  /** Base URL including /v1, e.g. http://127.0.0.1:PORT/v1. */
  readonly url: string;
  /** http://127.0.0.1:PORT */
  readonly origin: string;
  readonly apiKey: string;
  /** Every request, in order of arrival. */
  readonly requests: RecordedRequest[];
  generations(): FakeGeneration[];
  generation(id: string): FakeGeneration | undefined;
  /** What GET /files serves for that generation (throws for unknown or failed ones). */
  outputBytes(id: string): Buffer;
  /** The POST /v1/generations requests. */
  posts(): RecordedRequest[];
  /** Queue a plan for the next created generation (plans are consumed in order). */
  planNext(plan: GenerationPlan): void;
  /** Finish a generation (typically a held one) now. */
  release(id: string): void;
  /** Queue scripted responses for requests matching `match`, consumed in order. */
  fault(match: FaultMatch, ...responses: FaultResponse[]): void;
  /** Every output URL minted so far answers 403 from now on. */
  expireOutputs(): void;
  setRateLimit(limits: RateLimits | undefined): void;
  /** While down, POSTs with any url input answer 503. */
  setUrlIngestionDown(down: boolean): void;
  /**
   * An outage of the API: while set, every request under /v1 (POST and GET) answers this status (e.g. 502, "upstream
   * down") with a `{ detail }` body, creating nothing; generations already accepted go on. Output files still serve.
   * undefined ends it.
   */
  setOutage(status: number | undefined): void;
  /** Generations queued or processing now. */
  activeCount(): number;
  /** Closes the server and destroys open sockets (so hung requests end). */
  close(): Promise<void>;
}
