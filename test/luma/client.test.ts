// The Luma client against a scripted server: requests, retries (and when not to retry a POST), aborts, API errors,
// the API key kept out of errors and logs, logging, Retry-After and answer size limits.
import { afterEach, describe, expect, it } from 'vitest';
import { Agent, buildConnector } from 'undici';
import { LumaClient, type LumaClientOptions } from '../../src/luma/client.js';
import {
  AuthenticationError,
  BadGatewayError,
  BadRequestError,
  InsufficientBalanceError,
  InternalServerError,
  LumaAPIError,
  LumaConnectionError,
  LumaError,
  LumaTimeoutError,
  NotFoundError,
  PayloadTooLargeError,
  PermissionDeniedError,
  RateLimitError,
  ServiceUnavailableError,
  UnprocessableEntityError,
  makeAPIError,
  parseRetryAfter,
} from '../../src/luma/errors.js';
import type { Generation, GenerationRequest } from '../../src/luma/types.js';
import { closeScriptedServers, json, startScriptedServer, type Script, type ScriptedServer } from '../helpers/http-server.js';
import { capturingLogger } from '../helpers/logs.js';
import { freePort } from '../helpers/ports.js';
import { rejectionOf } from '../helpers/rejection.js';

const API_KEY = 'luma-api-test-0123456789abcdef';

const GENERATION: Generation = {
  id: 'gen_123',
  created_at: '2025-01-01T00:00:00Z',
  model: 'uni-1',
  type: 'image',
  state: 'queued',
};
const BODY: GenerationRequest = { prompt: 'a red fox in the snow', model: 'uni-1', aspect_ratio: '16:9' };

afterEach(closeScriptedServers);

/** A scripted server standing in for Luma; `url` is its API base. */
async function startServer(script: Script, port = 0): Promise<ScriptedServer & { url: string }> {
  const server = await startScriptedServer(script, port);
  return Object.assign(server, { url: `${server.origin}/v1` });
}

/** A clock that only notes how long the client asked to wait, and goes on at once. */
function waitsNoted(): { clock: NonNullable<LumaClientOptions['clock']>; waits: number[] } {
  const waits: number[] = [];
  return { clock: { sleep: async (ms: number) => void waits.push(ms) }, waits };
}

function client(baseURL: string, opts: Partial<LumaClientOptions> = {}): LumaClient {
  return new LumaClient({ apiKey: API_KEY, baseURL, retryBaseDelayMs: 10, retryMaxDelayMs: 2_000, ...opts });
}

describe('LumaClient.createGeneration', () => {
  it('posts the JSON body with a Bearer Authorization header and returns the generation and X-Request-Id', async () => {
    const server = await startServer((_req, res) => json(res, 201, GENERATION, { 'x-request-id': 'req_srv_1' }));
    const result = await client(server.url).createGeneration(BODY);

    expect(result).toEqual({ generation: GENERATION, requestId: 'req_srv_1' });
    expect(server.seen).toHaveLength(1);
    const [seen] = server.seen;
    expect(seen?.method).toBe('POST');
    expect(seen?.url).toBe('/v1/generations');
    expect(seen?.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(seen?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(seen?.body ?? '')).toEqual(BODY);
    expect(seen?.headers['x-request-id']).toBeUndefined();
  });

  it("hands over the rate-limit window a 201 reports, so the scheduler can learn the plan's limits", async () => {
    const reset = Math.ceil(Date.now() / 1000) + 42;
    const server = await startServer((_req, res) =>
      json(res, 201, GENERATION, { 'x-ratelimit-limit': '30', 'x-ratelimit-remaining': '29', 'x-ratelimit-reset': String(reset) }),
    );
    const result = await client(server.url).createGeneration(BODY);
    expect(result.rateWindow).toEqual({ limit: 30, remaining: 29, resetAt: new Date(reset * 1000) });
  });

  it('sends the caller-supplied request id as X-Request-Id', async () => {
    const server = await startServer((req, res) =>
      json(res, 201, GENERATION, { 'x-request-id': String(req.headers['x-request-id']) }),
    );
    const result = await client(server.url).createGeneration(BODY, { requestId: 'job_42' });

    expect(server.seen[0]?.headers['x-request-id']).toBe('job_42');
    expect(result.requestId).toBe('job_42');
  });

  it('accepts a base URL with a trailing slash', async () => {
    const server = await startServer((_req, res) => json(res, 201, GENERATION));
    await client(`${server.url}/`).createGeneration(BODY);
    expect(server.seen[0]?.url).toBe('/v1/generations');
  });

  it('does not repeat a POST that timed out after the server read it', async () => {
    const server = await startServer(() => {
      // Read the request, never answer.
    });
    const err = await rejectionOf(client(server.url, { timeoutMs: 200, maxRetries: 3 }).createGeneration(BODY));

    expect(err).toBeInstanceOf(LumaTimeoutError);
    expect(err).toBeInstanceOf(LumaConnectionError);
    expect((err as LumaTimeoutError).reachedServer).toBe(true);
    // The client retries before it gives up, never after: a retry would already be among the requests seen.
    expect(server.seen).toHaveLength(1);
  });

  it('does not repeat a POST whose connection was reset after the request arrived', async () => {
    const server = await startServer((req) => req.socket.destroy());
    const err = await rejectionOf(client(server.url, { maxRetries: 3 }).createGeneration(BODY));

    expect(err).toBeInstanceOf(LumaConnectionError);
    expect(err).not.toBeInstanceOf(LumaTimeoutError);
    expect((err as LumaConnectionError).reachedServer).toBe(true);
    expect(server.seen).toHaveLength(1);
  });

  it('does not repeat a POST answered with a 500, since the job may exist', async () => {
    const server = await startServer((_req, res) => json(res, 500, { detail: 'Internal error' }));
    const err = await rejectionOf(client(server.url).createGeneration(BODY));

    expect(err).toBeInstanceOf(InternalServerError);
    expect(server.seen).toHaveLength(1);
  });

  it('does not repeat a POST answered with a 502', async () => {
    const server = await startServer((_req, res) => json(res, 502, { detail: 'Upstream unavailable' }));
    const err = await rejectionOf(client(server.url).createGeneration(BODY));

    expect(err).toBeInstanceOf(BadGatewayError);
    expect(server.seen).toHaveLength(1);
  });

  it('retries a POST answered with 503, which Luma sends before processing', async () => {
    const server = await startServer((_req, res, n) =>
      n === 1 ? json(res, 503, { detail: 'URL ingestion unavailable' }) : json(res, 201, GENERATION),
    );
    const result = await client(server.url).createGeneration(BODY);

    expect(result.generation).toEqual(GENERATION);
    expect(server.seen).toHaveLength(2);
  });

  it('retries a POST answered 429 with Retry-After: 1 after waiting at least that second', async () => {
    const server = await startServer((_req, res, n) =>
      n === 1
        ? json(res, 429, { detail: 'Rate limit exceeded' }, {
            'retry-after': '1',
            'x-ratelimit-limit': '30',
            'x-ratelimit-remaining': '0',
            'x-ratelimit-reset': '1',
          })
        : json(res, 201, GENERATION),
    );
    const { clock, waits } = waitsNoted();
    const result = await client(server.url, { clock }).createGeneration(BODY);

    expect(result.generation.id).toBe('gen_123');
    expect(server.seen).toHaveLength(2);
    expect(waits).toEqual([1000]);
  });

  it('throws a concurrency RateLimitError at once when Retry-After is longer than the client will wait', async () => {
    const server = await startServer((_req, res) =>
      json(res, 429, { detail: 'Too many concurrent jobs' }, { 'retry-after': '60', 'x-request-id': 'req_conc' }),
    );
    const err = await rejectionOf(client(server.url, { retryMaxDelayMs: 8_000 }).createGeneration(BODY));

    expect(err).toBeInstanceOf(RateLimitError);
    const rate = err as RateLimitError;
    expect(rate.kind).toBe('concurrency');
    expect(rate.retryAfterMs).toBe(60_000);
    expect(rate.status).toBe(429);
    expect(rate.requestId).toBe('req_conc');
    expect(rate.message).toBe('Luma API 429: Too many concurrent jobs (request req_conc)');
    // A client that waited would have asked again after at most retryMaxDelayMs: one request means it threw at once.
    expect(server.seen).toHaveLength(1);
  });

  it('classifies a 429 with X-RateLimit headers as a requests-per-minute limit', async () => {
    const server = await startServer((_req, res) =>
      json(res, 429, { detail: 'Rate limit exceeded' }, {
        'retry-after': '30',
        'x-ratelimit-limit': '30',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': '1900000000',
      }),
    );
    const err = await rejectionOf(client(server.url).createGeneration(BODY));

    expect(err).toBeInstanceOf(RateLimitError);
    const rate = err as RateLimitError;
    expect(rate.kind).toBe('requests');
    expect(rate.limit).toBe(30);
    expect(rate.remaining).toBe(0);
    expect(rate.resetAt?.getTime()).toBe(1_900_000_000_000);
    expect(server.seen).toHaveLength(1);
  });

  it('retries a POST whose connection was refused, since it never reached the server', async () => {
    const port = await freePort();
    let listening: Promise<ScriptedServer> | undefined;
    // Start the server only once the first attempt has failed, so the retry is what succeeds.
    const { logger, lines } = capturingLogger(() => {
      listening ??= startServer((_req, res) => json(res, 201, GENERATION), port);
    });

    const result = await client(`http://127.0.0.1:${port}/v1`, { retryBaseDelayMs: 300, logger }).createGeneration(
      BODY,
    );

    expect(result.generation).toEqual(GENERATION);
    expect((await listening)?.seen).toHaveLength(1);
    expect(lines[0]).toMatchObject({ method: 'POST', code: 'ECONNREFUSED', attempt: 0 });
  });

  it('retries a POST whose attempt timed out while still connecting', async () => {
    const server = await startServer((_req, res) => json(res, 201, GENERATION));
    // A connector whose first connect hangs, like a SYN lost in a black hole.
    const connect = buildConnector({});
    let connects = 0;
    const agent = new Agent({
      connect: (opts, callback) => {
        if (++connects > 1) connect(opts, callback);
      },
    });
    try {
      const result = await client(server.url, { timeoutMs: 200, dispatcher: agent }).createGeneration(BODY);

      expect(result.generation).toEqual(GENERATION);
      expect(connects).toBe(2);
      expect(server.seen).toHaveLength(1);
    } finally {
      await agent.destroy();
    }
  });

  it('reports a refused connection as not having reached the server once retries run out', async () => {
    const port = await freePort();
    const { logger, lines } = capturingLogger();
    const err = await rejectionOf(
      client(`http://127.0.0.1:${port}/v1`, { maxRetries: 2, logger }).createGeneration(BODY),
    );

    expect(err).toBeInstanceOf(LumaConnectionError);
    expect((err as LumaConnectionError).reachedServer).toBe(false);
    expect((err as LumaConnectionError).code).toBe('ECONNREFUSED');
    expect(lines).toHaveLength(3);
  });
});

describe('LumaClient.getGeneration', () => {
  it('retries a dropped socket, then a 500, and returns the third answer', async () => {
    const server = await startServer((req, res, n) => {
      if (n === 1) req.socket.destroy();
      else if (n === 2) json(res, 500, { detail: 'boom' });
      else json(res, 200, { ...GENERATION, state: 'processing' }, { 'x-request-id': 'req_3' });
    });
    const result = await client(server.url).getGeneration('gen_123');

    expect(result.generation.state).toBe('processing');
    expect(result.requestId).toBe('req_3');
    expect(server.seen.map((s) => `${s.method} ${s.url}`)).toEqual(Array(3).fill('GET /v1/generations/gen_123'));
  });

  it('retries after a 503 and succeeds', async () => {
    const server = await startServer((_req, res, n) =>
      n === 1 ? json(res, 503, { detail: 'Service unavailable' }) : json(res, 200, GENERATION),
    );
    const result = await client(server.url).getGeneration('gen_123');

    expect(result.generation).toEqual(GENERATION);
    expect(server.seen).toHaveLength(2);
  });

  it('honours Retry-After in seconds', async () => {
    const server = await startServer((_req, res, n) =>
      n === 1 ? json(res, 503, { detail: 'busy' }, { 'retry-after': '1' }) : json(res, 200, GENERATION),
    );
    const { clock, waits } = waitsNoted();
    await client(server.url, { clock }).getGeneration('gen_123');

    expect(waits).toEqual([1000]);
    expect(server.seen).toHaveLength(2);
  });

  it('honours retry-after-ms', async () => {
    const server = await startServer((_req, res, n) =>
      n === 1 ? json(res, 429, { detail: 'slow down' }, { 'retry-after-ms': '400' }) : json(res, 200, GENERATION),
    );
    const { clock, waits } = waitsNoted();
    await client(server.url, { clock }).getGeneration('gen_123');

    expect(waits).toEqual([400]);
    expect(server.seen).toHaveLength(2);
  });

  it('caps a long Retry-After on a 5xx at retryMaxDelayMs instead of giving up', async () => {
    const server = await startServer((_req, res, n) =>
      n === 1 ? json(res, 503, { detail: 'busy' }, { 'retry-after': '120' }) : json(res, 200, GENERATION),
    );
    const { clock, waits } = waitsNoted();
    await client(server.url, { retryMaxDelayMs: 300, clock }).getGeneration('gen_123');

    expect(waits).toEqual([300]);
    expect(server.seen).toHaveLength(2);
  });

  it('retries a GET whose attempt timed out', async () => {
    const server = await startServer((_req, res, n) => {
      if (n > 1) json(res, 200, GENERATION);
    });
    const result = await client(server.url, { timeoutMs: 200 }).getGeneration('gen_123');

    expect(result.generation).toEqual(GENERATION);
    expect(server.seen).toHaveLength(2);
  });

  it('makes a single attempt when maxRetries is 0 for the call', async () => {
    const server = await startServer((_req, res) => json(res, 503, { detail: 'busy' }));
    const err = await rejectionOf(client(server.url).getGeneration('gen_123', { maxRetries: 0 }));

    expect(err).toBeInstanceOf(ServiceUnavailableError);
    expect(server.seen).toHaveLength(1);
  });

  it('asks mayRetry after every failed attempt, the last one too, and stops retrying when it says no', async () => {
    const server = await startServer((req, res, n) => {
      if (n === 1) req.socket.destroy();
      else json(res, 502, { detail: 'upstream down' });
    });
    const asked: string[] = [];
    const err = await rejectionOf(client(server.url, { maxRetries: 5 }).getGeneration('gen_123', { mayRetry: (e) => (asked.push(e.name), !(e instanceof BadGatewayError)) }));

    expect(err).toBeInstanceOf(BadGatewayError);
    expect(asked).toEqual(['LumaConnectionError', 'BadGatewayError']);
    expect(server.seen).toHaveLength(2);
    // Told of the failure that ends a call without retries too.
    const once: string[] = [];
    await rejectionOf(client(server.url).getGeneration('gen_123', { maxRetries: 0, mayRetry: (e) => (once.push(e.name), true) }));
    expect(once).toEqual(['BadGatewayError']);
  });

  it('gives up after maxRetries and throws the last error', async () => {
    const server = await startServer((_req, res) => json(res, 500, { detail: 'still broken' }));
    const err = await rejectionOf(client(server.url, { maxRetries: 2 }).getGeneration('gen_123'));

    expect(err).toBeInstanceOf(InternalServerError);
    expect((err as InternalServerError).detail).toBe('still broken');
    expect(server.seen).toHaveLength(3);
  });

  it('escapes the generation id in the path', async () => {
    const server = await startServer((_req, res) => json(res, 200, GENERATION));
    await client(server.url).getGeneration('a/../b?c');
    expect(server.seen[0]?.url).toBe('/v1/generations/a%2F..%2Fb%3Fc');
  });
});

describe('aborting a request', () => {
  it('rejects with the abort reason while the server is still thinking, without retrying', async () => {
    const controller = new AbortController();
    const reason = new Error('user cancelled');
    const server = await startServer(() => controller.abort(reason));
    const err = await rejectionOf(
      client(server.url, { timeoutMs: 10_000 }).getGeneration('gen_123', { signal: controller.signal }),
    );

    expect(err).toBe(reason);
    expect(server.seen).toHaveLength(1);
  });

  it('stops during the backoff wait', async () => {
    const controller = new AbortController();
    const reason = new Error('shutting down');
    const server = await startServer((_req, res) => {
      json(res, 503, { detail: 'busy' });
      setTimeout(() => controller.abort(reason), 50);
    });
    // A backoff far longer than the test's timeout: the test ends only if the abort cuts the wait short.
    const err = await rejectionOf(
      client(server.url, { retryBaseDelayMs: 600_000, retryMaxDelayMs: 600_000 }).getGeneration('gen_123', {
        signal: controller.signal,
      }),
    );

    expect(err).toBe(reason);
    expect(server.seen).toHaveLength(1);
  });

  it('makes no request when the signal is already aborted', async () => {
    const server = await startServer((_req, res) => json(res, 201, GENERATION));
    const err = await rejectionOf(client(server.url).createGeneration(BODY, { signal: AbortSignal.abort() }));

    expect((err as Error).name).toBe('AbortError');
    expect(server.seen).toHaveLength(0);
  });
});

describe('API errors', () => {
  const cases = [
    [400, BadRequestError, 'prompt: field required'],
    [401, AuthenticationError, 'Invalid API key'],
    [402, InsufficientBalanceError, 'Insufficient balance'],
    [403, PermissionDeniedError, 'Account suspended'],
    [404, NotFoundError, 'Generation not found'],
    [413, PayloadTooLargeError, 'Media too large'],
    [422, UnprocessableEntityError, 'Could not fetch image URL'],
    [500, InternalServerError, 'Internal error'],
    [502, BadGatewayError, 'Upstream unavailable'],
    [503, ServiceUnavailableError, 'URL ingestion unavailable'],
    [418, LumaAPIError, "I'm a teapot"],
  ] as const;

  it.each(cases)('maps %i to %o with its detail and request id', async (status, Class, detail) => {
    const server = await startServer((_req, res) => json(res, status, { detail }, { 'x-request-id': 'req_abc' }));
    const err = await rejectionOf(client(server.url, { maxRetries: 0 }).createGeneration(BODY));

    expect(err).toBeInstanceOf(Class);
    expect(err).toBeInstanceOf(LumaAPIError);
    expect(err).toBeInstanceOf(LumaError);
    const api = err as LumaAPIError;
    expect(api.name).toBe(Class.name);
    expect(api.status).toBe(status);
    expect(api.detail).toBe(detail);
    expect(api.requestId).toBe('req_abc');
    expect(api.headers['x-request-id']).toBe('req_abc');
    expect(api.message).toBe(`Luma API ${status}: ${detail} (request req_abc)`);
  });

  it('tolerates a non-JSON error body', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html><body>Bad Gateway</body></html>');
    });
    const err = await rejectionOf(client(server.url).createGeneration(BODY));

    expect(err).toBeInstanceOf(BadGatewayError);
    expect((err as BadGatewayError).detail).toBe('<html><body>Bad Gateway</body></html>');
  });

  it('falls back to the status text when the body is empty', () => {
    const err = makeAPIError(500, '', {});
    expect(err.detail).toBeUndefined();
    expect(err.message).toBe('Luma API 500: Internal Server Error');
  });

  it('joins FastAPI-style validation details', () => {
    const err = makeAPIError(
      422,
      { detail: [{ loc: ['body', 'prompt'], msg: 'field required', type: 'missing' }] },
      {},
    );
    expect(err).toBeInstanceOf(UnprocessableEntityError);
    expect(err.detail).toBe('body.prompt: field required');
  });

  it('rejects a 2xx answer that is not a generation', async () => {
    const server = await startServer((_req, res) => json(res, 201, { ok: true }));
    const err = await rejectionOf(client(server.url).createGeneration(BODY));

    expect(err).toBeInstanceOf(LumaError);
    expect(server.seen).toHaveLength(1);
  });
});

describe('the API key', () => {
  it('never appears in error messages, details or logs, even when the server echoes it', async () => {
    const { logger, logs } = capturingLogger();
    const echo = await startServer((req, res) =>
      json(res, 401, { detail: `Invalid key: ${req.headers.authorization}` }, { 'x-echo': String(req.headers.authorization) }),
    );
    const hang = await startServer(() => {});
    const reset = await startServer((req) => req.socket.destroy());
    const port = await freePort();

    const errors = await Promise.all([
      rejectionOf(client(echo.url, { logger }).createGeneration(BODY)),
      rejectionOf(client(hang.url, { logger, timeoutMs: 100, maxRetries: 0 }).getGeneration('gen_1')),
      rejectionOf(client(reset.url, { logger }).createGeneration(BODY)),
      rejectionOf(client(`http://127.0.0.1:${port}/v1`, { logger, maxRetries: 0 }).createGeneration(BODY)),
    ]);

    expect(errors[0]).toBeInstanceOf(AuthenticationError);
    expect((errors[0] as AuthenticationError).detail).toBe('Invalid key: Bearer [redacted]');
    for (const err of errors) {
      expect(err).toBeInstanceOf(LumaError);
      expect(String(err)).not.toContain(API_KEY);
      expect((err as Error).message).not.toContain(API_KEY);
      expect((err as Error).stack).not.toContain(API_KEY);
      expect(String((err as { detail?: unknown }).detail)).not.toContain(API_KEY);
    }
    expect(logs.lines.length).toBeGreaterThanOrEqual(4);
    expect(logs.raw).not.toContain(API_KEY);
  });

  it('is required', () => {
    expect(() => new LumaClient({ apiKey: '' })).toThrow(TypeError);
  });
});

describe('logging', () => {
  it('logs each attempt at debug with method, path, status, request id and duration', async () => {
    const { logger, lines } = capturingLogger();
    const server = await startServer((_req, res, n) =>
      n === 1
        ? json(res, 503, { detail: 'busy' }, { 'x-request-id': 'req_1' })
        : json(res, 200, GENERATION, { 'x-request-id': 'req_2' }),
    );
    await client(server.url, { logger }).getGeneration('gen_123');

    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 20, method: 'GET', path: '/generations/gen_123', status: 503, requestId: 'req_1', attempt: 0 });
    expect(lines[1]).toMatchObject({ level: 20, method: 'GET', path: '/generations/gen_123', status: 200, requestId: 'req_2', attempt: 1 });
    expect(typeof lines[1]?.durationMs).toBe('number');
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds, HTTP dates and retry-after-ms, preferring the latter', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter({ 'retry-after': '2' }, now)).toBe(2_000);
    expect(parseRetryAfter({ 'retry-after': 'Wed, 01 Jan 2025 00:00:05 GMT' }, now)).toBe(5_000);
    expect(parseRetryAfter({ 'retry-after': 'Tue, 31 Dec 2024 23:00:00 GMT' }, now)).toBe(0);
    expect(parseRetryAfter({ 'retry-after': '2', 'retry-after-ms': '150' }, now)).toBe(150);
    expect(parseRetryAfter({ 'retry-after': 'soon' }, now)).toBeUndefined();
    expect(parseRetryAfter({}, now)).toBeUndefined();
  });
});

describe('answer size', () => {
  it('refuses an answer larger than 1 MB instead of reading it whole', async () => {
    // A valid generation padded to 5 MB: a server (or something in between) gone wrong.
    const huge = JSON.stringify({ ...GENERATION, padding: 'x'.repeat(5 * 1024 * 1024) });
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(huge);
    });
    const err = await rejectionOf(client(server.url).getGeneration('gen_123'));
    expect(err).toBeInstanceOf(LumaError);
    expect((err as Error).message).toMatch(/larger than 1048576 bytes/);
    expect(server.seen).toHaveLength(1); // not retried
  });

  it('reads an ordinary answer', async () => {
    const server = await startServer((_req, res) => json(res, 200, { ...GENERATION, padding: 'x'.repeat(100_000) }));
    const { generation } = await client(server.url).getGeneration('gen_123');
    expect(generation.id).toBe('gen_123');
  });
});
