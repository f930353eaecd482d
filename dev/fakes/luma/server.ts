// A loopback fake of the Luma Agents API (POST/GET /v1/generations) that speaks the real wire format,
// plus presigned-style output URLs under /files. Tests run the real bot against it; `npm run fake:luma`
// runs it standalone. See shared/docs/luma-api.md for the behaviour it imitates.
//
// Choices where the docs are silent (the fake picks the stricter plausible one):
// - generation_id inputs naming an unknown or not-yet-completed generation answer 422.
// - data whose magic bytes disagree with media_type answers 422; animated GIFs are accepted but the
//   generation then fails with `unsupported_format`.
// - Every authenticated POST counts towards the RPM window, including ones later rejected for
//   validation or concurrency. X-RateLimit-Reset is a Unix time in seconds. Successful POSTs also carry
//   the X-RateLimit-* headers when an RPM limit is set.
// - url inputs may be http (the real API wants https) so tests can serve images from 127.0.0.1.
// - Outputs are 64x64 solid-colour images (colour from the id's hash): PNG, or a real JPEG when the
//   request asked for output_format "jpeg". The /files content-type follows the bytes' magic.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

import {
  MAX_INPUT_BYTES,
  type FailureCode,
  type Generation,
  type GenerationRequest,
  type GenerationState,
  type ImageInput,
  type InputMediaType,
} from '../../../src/luma/types.js';
import { solidJpeg, solidPng } from '../png.js';
import type {
  FakeGeneration,
  FakeInput,
  FakeLuma,
  FakeLumaOptions,
  FaultMatch,
  FaultResponse,
  GenerationPlan,
  RateLimits,
  RecordedRequest,
} from './api.js';
import { HttpError, decodeBase64, gifFrameCount, sniffImage, validateGenerationRequest } from './inputs.js';

export type * from './api.js';

interface GenRecord {
  id: string;
  request: GenerationRequest;
  createdAt: number;
  queuedMs: number;
  processingMs: number;
  hold: boolean;
  releasedAt: number | undefined;
  failWith: FailureCode | undefined;
  failureReason: string | undefined;
  endState: string | undefined;
  output: Buffer | undefined;
  inputs: FakeInput[];
}

const DEFAULT_FAILURE_REASONS: Record<FailureCode, string> = {
  content_moderated: 'The request was flagged by content moderation',
  generation_failed: 'The model failed to generate an image',
  budget_exhausted: 'The account budget is exhausted',
  output_not_found: 'The generated output could not be found',
  image_too_large: 'An input image is too large',
  unsupported_format: 'An input image has an unsupported format',
  corrupt_input: 'An input image could not be decoded',
  invalid_request: 'The request parameters are invalid',
  rate_limited: 'The request was rate limited upstream',
};

const EXTENSIONS: Record<InputMediaType, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/webp': 'webp',
  'image/gif': 'gif',
};

const MAX_BODY_BYTES = 100 * 1024 * 1024;
const RPM_WINDOW_MS = 60_000;

function hex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

function defaultOutput(gen: FakeGeneration): Buffer {
  const digest = createHash('sha256').update(gen.id).digest();
  const rgb = [digest[0] ?? 0, digest[1] ?? 0, digest[2] ?? 0] as const;
  return gen.request.output_format === 'jpeg' ? solidJpeg(64, 64, rgb) : solidPng(64, 64, rgb);
}

function s3Error(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
}

export async function startFakeLuma(options: FakeLumaOptions = {}): Promise<FakeLuma> {
  const apiKey = options.apiKey ?? 'luma-api-fake-key';
  const defaultQueuedMs = options.queuedMs ?? 200;
  const defaultProcessingMs = options.processingMs ?? 600;
  const outputTtlMs = options.outputTtlMs ?? 3_600_000;
  const outputImage = options.outputImage ?? defaultOutput;
  const fetchUrls = options.fetchUrls ?? true;
  const urlFetchTimeoutMs = options.urlFetchTimeoutMs ?? 18_000;
  const now = options.now ?? Date.now;
  const log = options.log;

  const requests: RecordedRequest[] = [];
  const records = new Map<string, GenRecord>();
  const plans: GenerationPlan[] = [];
  const faults: { match: FaultMatch; queue: FaultResponse[] }[] = [];
  const postTimes: number[] = [];
  let rateLimit: RateLimits | undefined = options.rateLimit ?? options.plan;
  let urlIngestionDown = false;
  let outageStatus: number | undefined;
  // Output URLs are signed with the current epoch; bumping it invalidates every URL minted before.
  const signingKey = randomBytes(32);
  let urlEpoch = 0;
  const lifetime = new AbortController();
  const sockets = new Set<Socket>();
  let origin = '';
  /** For the log line of a POST that created a generation. */
  const createdIds = new WeakMap<ServerResponse, string>();

  // ---- generation state, derived from the clock on demand (no timers) ----

  const finishAt = (rec: GenRecord): number =>
    rec.releasedAt ?? (rec.hold ? Number.POSITIVE_INFINITY : rec.createdAt + rec.queuedMs + rec.processingMs);

  const queuedUntil = (rec: GenRecord): number => Math.min(rec.createdAt + rec.queuedMs, finishAt(rec));

  const stateOf = (rec: GenRecord, at = now()): GenerationState => {
    if (at < queuedUntil(rec)) return 'queued';
    if (at < finishAt(rec)) return 'processing';
    if (rec.endState !== undefined) return rec.endState as GenerationState;
    return rec.failWith ? 'failed' : 'completed';
  };

  const snapshot = (rec: GenRecord, withOutput: boolean): FakeGeneration => {
    const state = stateOf(rec);
    const gen: FakeGeneration = {
      id: rec.id,
      request: rec.request,
      createdAt: rec.createdAt,
      state,
      inputs: rec.inputs,
      timing: {
        queuedMs: rec.queuedMs,
        processingMs: rec.processingMs,
        hold: rec.hold,
        queuedUntil: queuedUntil(rec),
        finishAt: finishAt(rec),
      },
    };
    if (state === 'failed' && rec.failWith) {
      gen.failureCode = rec.failWith;
      gen.failureReason = rec.failureReason ?? DEFAULT_FAILURE_REASONS[rec.failWith];
    }
    if (withOutput && state === 'completed') gen.outputBytes = outputOf(rec);
    return gen;
  };

  const outputOf = (rec: GenRecord): Buffer => {
    rec.output ??= outputImage(snapshot(rec, false));
    return rec.output;
  };

  const activeCount = (): number => {
    const at = now();
    let active = 0;
    for (const rec of records.values()) {
      const state = stateOf(rec, at);
      if (state === 'queued' || state === 'processing') active++;
    }
    return active;
  };

  // ---- presigned-style output URLs ----

  const fileName = (rec: GenRecord): string => `${rec.id}.${EXTENSIONS[sniffImage(outputOf(rec)) ?? 'image/png']}`;

  const sign = (name: string, expires: number, epoch: number): string =>
    createHmac('sha256', signingKey).update(`${name}\n${expires}\n${epoch}`).digest('hex');

  const mintUrl = (rec: GenRecord): string => {
    const name = fileName(rec);
    const expires = now() + outputTtlMs;
    return `${origin}/files/${name}?expires=${expires}&sig=${sign(name, expires, urlEpoch)}`;
  };

  const toWire = (rec: GenRecord): Generation => {
    const gen = snapshot(rec, false);
    return {
      id: rec.id,
      created_at: new Date(rec.createdAt).toISOString(),
      model: rec.request.model ?? 'uni-1',
      type: rec.request.type ?? 'image',
      state: gen.state,
      failure_code: gen.failureCode ?? null,
      failure_reason: gen.failureReason ?? null,
      output: gen.state === 'completed' ? [{ type: 'image', url: mintUrl(rec) }] : null,
    };
  };

  // ---- responses ----

  const sendJson = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { ...headers, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  };

  const sendFault = (res: ServerResponse, fault: { status: number; body?: unknown; headers?: Record<string, string> }): void => {
    const { status, body } = fault;
    let payload: Buffer;
    let type: string;
    if (body === undefined) {
      payload = Buffer.from(JSON.stringify({ detail: STATUS_CODES[status] ?? 'Injected fault' }));
      type = 'application/json';
    } else if (typeof body === 'string') {
      payload = Buffer.from(body);
      type = 'text/plain; charset=utf-8';
    } else if (Buffer.isBuffer(body)) {
      payload = body;
      type = 'application/octet-stream';
    } else {
      payload = Buffer.from(JSON.stringify(body));
      type = 'application/json';
    }
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': payload.length, ...fault.headers });
    res.end(payload);
  };

  // ---- POST /v1/generations ----

  const checkAuth = (req: IncomingMessage): void => {
    if (req.headers.authorization !== `Bearer ${apiKey}`) throw new HttpError(401, 'Invalid API key');
  };

  /** Counts this POST in the RPM window; returns the X-RateLimit-* headers for the answer. */
  const takeRpmSlot = (): Record<string, string> => {
    const rpm = rateLimit?.rpm;
    if (rpm === undefined) return {};
    const at = now();
    while (postTimes.length > 0 && (postTimes[0] as number) <= at - RPM_WINDOW_MS) postTimes.shift();
    const freesAt = (postTimes[0] ?? at) + RPM_WINDOW_MS;
    if (postTimes.length >= rpm) {
      throw new HttpError(429, 'Rate limit exceeded', {
        'Retry-After': String(Math.max(1, Math.ceil((freesAt - at) / 1000))),
        'X-RateLimit-Limit': String(rpm),
        'X-RateLimit-Remaining': '0',
        'X-RateLimit-Reset': String(Math.ceil(freesAt / 1000)),
      });
    }
    postTimes.push(at);
    return {
      'X-RateLimit-Limit': String(rpm),
      'X-RateLimit-Remaining': String(Math.max(0, rpm - postTimes.length)),
      'X-RateLimit-Reset': String(Math.ceil(((postTimes[0] ?? at) + RPM_WINDOW_MS) / 1000)),
    };
  };

  const fetchInput = async (url: string): Promise<Buffer> => {
    const fail = (why: string): HttpError => new HttpError(422, `Failed to fetch image from URL ${url}: ${why}`);
    let response: Response;
    try {
      const signal = AbortSignal.any([lifetime.signal, AbortSignal.timeout(urlFetchTimeoutMs)]);
      response = await fetch(url, { signal, redirect: 'follow' });
      if (!response.ok) {
        await response.body?.cancel();
        throw fail(`HTTP ${response.status}`);
      }
      const type = response.headers.get('content-type') ?? '';
      if (!type.toLowerCase().startsWith('image/')) {
        await response.body?.cancel();
        throw fail(`content-type ${type === '' ? '(none)' : type} is not an image`);
      }
      const length = Number(response.headers.get('content-length') ?? '0');
      if (length > MAX_INPUT_BYTES) {
        await response.body?.cancel();
        throw new HttpError(413, `Image at URL ${url} is larger than 50 MB`);
      }
      return Buffer.from(await response.arrayBuffer());
    } catch (error) {
      if (error instanceof HttpError) throw error;
      const name = (error as Error).name;
      if (name === 'TimeoutError') throw fail(`timed out after ${urlFetchTimeoutMs / 1000} s`);
      throw fail((error as Error).message);
    }
  };

  const resolveInput = async (input: ImageInput, field: string): Promise<FakeInput> => {
    let bytes: Buffer;
    let declared: InputMediaType | undefined;
    const result: FakeInput = { field, kind: 'data' };
    if ('generation_id' in input) {
      const rec = records.get(input.generation_id);
      if (!rec) throw new HttpError(422, `${field}: generation ${input.generation_id} not found`);
      const state = stateOf(rec);
      if (state !== 'completed') {
        throw new HttpError(422, `${field}: generation ${input.generation_id} is not completed (state: ${state})`);
      }
      result.kind = 'generation_id';
      result.generationId = input.generation_id;
      bytes = outputOf(rec);
    } else if ('url' in input) {
      result.kind = 'url';
      result.url = input.url;
      if (!fetchUrls) return result;
      bytes = await fetchInput(input.url);
    } else {
      const decoded = decodeBase64(input.data);
      if (!decoded) throw new HttpError(422, `${field}: Invalid base64 image data`);
      bytes = decoded;
      declared = input.media_type;
    }
    if (bytes.length > MAX_INPUT_BYTES) throw new HttpError(413, `${field}: image is larger than 50 MB`);
    const sniffed = sniffImage(bytes);
    if (!sniffed) throw new HttpError(422, `${field}: data is not an image (expected PNG, JPEG, WebP or GIF)`);
    if (declared && declared !== sniffed) {
      throw new HttpError(422, `${field}: media_type ${declared} does not match the image data (${sniffed})`);
    }
    result.mediaType = sniffed;
    result.bytes = bytes;
    return result;
  };

  const createGeneration = async (req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> => {
    checkAuth(req);
    const rateHeaders = takeRpmSlot();
    for (const [name, value] of Object.entries(rateHeaders)) res.setHeader(name, value);
    if (body === undefined) throw new HttpError(400, 'Request body must be valid JSON');
    const request = validateGenerationRequest(body);

    const wanted: [ImageInput, string][] = [];
    if (request.source) wanted.push([request.source, 'source']);
    request.image_ref?.forEach((input, i) => wanted.push([input, `image_ref[${i}]`]));
    if (urlIngestionDown && wanted.some(([input]) => 'url' in input)) {
      throw new HttpError(503, 'URL ingestion temporarily unavailable');
    }
    // Resolve in parallel, but report the first failing input in request order.
    const settled = await Promise.allSettled(wanted.map(([input, field]) => resolveInput(input, field)));
    const inputs = settled.map((outcome) => {
      if (outcome.status === 'rejected') throw outcome.reason;
      return outcome.value;
    });

    // Checked last and synchronously with the insert, so parallel POSTs cannot overshoot the limit.
    const concurrent = rateLimit?.concurrent;
    if (concurrent !== undefined && activeCount() >= concurrent) {
      for (const name of Object.keys(rateHeaders)) res.removeHeader(name);
      throw new HttpError(429, 'Too many concurrent jobs', { 'Retry-After': '60' });
    }

    const plan = plans.shift() ?? {};
    const animated = inputs.find((input) => input.mediaType === 'image/gif' && input.bytes && gifFrameCount(input.bytes) > 1);
    const rec: GenRecord = {
      id: `gen_${hex(12)}`,
      request,
      createdAt: now(),
      queuedMs: plan.queuedMs ?? defaultQueuedMs,
      processingMs: plan.processingMs ?? defaultProcessingMs,
      hold: plan.hold ?? false,
      releasedAt: undefined,
      failWith: plan.failWith ?? (animated ? 'unsupported_format' : undefined),
      failureReason: plan.failureReason ?? (animated && !plan.failWith ? `${animated.field}: animated GIFs are not supported` : undefined),
      endState: plan.endState,
      output: plan.output,
      inputs,
    };
    records.set(rec.id, rec);
    createdIds.set(res, rec.id);
    sendJson(res, 201, toWire(rec));
  };

  // ---- GET /v1/generations/:id and GET /files/:name ----

  const getGeneration = (req: IncomingMessage, res: ServerResponse, id: string): void => {
    checkAuth(req);
    const rec = records.get(id);
    if (!rec) throw new HttpError(404, 'Generation not found');
    sendJson(res, 200, toWire(rec));
  };

  const serveFile = (res: ServerResponse, name: string, query: URLSearchParams): void => {
    const denied = (code: string, message: string): void => {
      const xml = s3Error(code, message);
      res.writeHead(403, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(xml) });
      res.end(xml);
    };
    const expires = Number(query.get('expires'));
    const sig = query.get('sig') ?? '';
    let epoch = urlEpoch;
    while (epoch >= 0 && sig !== sign(name, expires, epoch)) epoch--;
    if (!Number.isSafeInteger(expires) || epoch < 0) {
      denied('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
      return;
    }
    // A URL signed before the last expireOutputs() counts as expired.
    if (epoch < urlEpoch || now() > expires) {
      denied('AccessDenied', 'Request has expired');
      return;
    }
    const rec = records.get(name.replace(/\.[a-z]+$/, ''));
    if (!rec || stateOf(rec) !== 'completed') {
      denied('AccessDenied', 'Access Denied');
      return;
    }
    const bytes = outputOf(rec);
    res.writeHead(200, { 'Content-Type': sniffImage(bytes) ?? 'application/octet-stream', 'Content-Length': bytes.length });
    res.end(bytes);
  };

  // ---- routing ----

  const readBody = async (req: IncomingMessage): Promise<{ raw: Buffer; tooLarge: boolean }> => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    }
    return { raw: Buffer.concat(chunks), tooLarge };
  };

  const takeFault = (method: string, path: string): FaultResponse | undefined => {
    for (const entry of faults) {
      if (entry.queue.length === 0 || entry.match.method !== method) continue;
      const p = entry.match.path;
      const hit =
        p === undefined ? true : p instanceof RegExp ? p.test(path) : entry.match.exact ? path === p : path.startsWith(p);
      if (hit) return entry.queue.shift();
    }
    return undefined;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const incomingId = req.headers['x-request-id'];
    const requestId = typeof incomingId === 'string' && incomingId !== '' ? incomingId : `req_${hex(12)}`;
    res.setHeader('X-Request-Id', requestId);
    const method = req.method ?? 'GET';
    const target = new URL(req.url ?? '/', 'http://fake.invalid');
    const { raw, tooLarge } = await readBody(req);
    let body: unknown;
    if (raw.length > 0 && !tooLarge) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        body = undefined;
      }
    }
    const record: RecordedRequest = {
      method,
      path: target.pathname + target.search,
      headers: req.headers,
      body,
      at: now(),
      requestId,
    };
    requests.push(record);
    res.on('finish', () => {
      record.status = res.statusCode;
    });

    const outage = outageStatus !== undefined && target.pathname.startsWith('/v1/') ? { status: outageStatus } : undefined;
    const fault = outage ?? takeFault(method, target.pathname);
    if (fault) {
      record.fault = fault;
      if ('reset' in fault) {
        req.socket.destroy();
        return;
      }
      if ('hang' in fault) return;
      if ('delayMs' in fault) {
        await delay(fault.delayMs, undefined, { signal: lifetime.signal }).catch(() => undefined);
        if (lifetime.signal.aborted) return;
      } else {
        sendFault(res, fault);
        return;
      }
    }

    try {
      if (tooLarge) throw new HttpError(413, 'Request body too large');
      const path = target.pathname;
      const genMatch = /^\/v1\/generations\/([^/]+)$/.exec(path);
      const fileMatch = /^\/files\/([^/]+)$/.exec(path);
      if (path === '/v1/generations' || path === '/v1/generations/') {
        if (method !== 'POST') throw new HttpError(405, 'Method Not Allowed');
        await createGeneration(req, res, body);
      } else if (genMatch) {
        if (method !== 'GET') throw new HttpError(405, 'Method Not Allowed');
        getGeneration(req, res, decodeURIComponent(genMatch[1] ?? ''));
      } else if (fileMatch && (method === 'GET' || method === 'HEAD')) {
        serveFile(res, decodeURIComponent(fileMatch[1] ?? ''), target.searchParams);
      } else {
        throw new HttpError(404, 'Not Found');
      }
    } catch (error) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof HttpError) {
        if (error.status === 429) record.limitedBy = /concurrent/i.test(error.detail) ? 'concurrency' : 'requests';
        sendJson(res, error.status, { detail: error.detail }, error.headers);
      } else {
        log?.(`internal error: ${(error as Error).stack ?? String(error)}`);
        sendJson(res, 500, { detail: `Internal fake error: ${(error as Error).message}` });
      }
    }
  };

  const server = createServer((req, res) => {
    if (log) {
      res.on('finish', () => {
        const created = createdIds.get(res);
        log(`${req.method ?? '?'} ${req.url ?? ''} -> ${res.statusCode}${created ? ` ${created}` : ''}`);
      });
    }
    handle(req, res).catch((error: unknown) => {
      log?.(`request failed: ${String(error)}`);
      res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // As long an accept queue as the kernel allows (Node's default is 511), as the fake Discord's: a burst of new
  // connections to a busy fake would otherwise be dropped and retried a second later by the client's TCP.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: options.port ?? 0, host: '127.0.0.1', backlog: 4096 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const mustGet = (id: string): GenRecord => {
    const rec = records.get(id);
    if (!rec) throw new Error(`fake Luma: no generation ${id}`);
    return rec;
  };

  return {
    url: `${origin}/v1`,
    origin,
    apiKey,
    requests,
    generations: () => [...records.values()].map((rec) => snapshot(rec, true)),
    generation: (id) => {
      const rec = records.get(id);
      return rec ? snapshot(rec, true) : undefined;
    },
    outputBytes: (id) => {
      const rec = mustGet(id);
      if (rec.failWith) throw new Error(`fake Luma: generation ${id} is planned to fail and has no output`);
      return outputOf(rec);
    },
    posts: () => requests.filter((r) => r.method === 'POST' && r.path.split('?')[0] === '/v1/generations'),
    planNext: (plan) => {
      plans.push(plan);
    },
    release: (id) => {
      const rec = mustGet(id);
      const at = now();
      if (at < finishAt(rec)) rec.releasedAt = at;
    },
    fault: (match, ...responses) => {
      faults.push({ match, queue: responses });
    },
    expireOutputs: () => {
      urlEpoch++;
    },
    setRateLimit: (limits) => {
      rateLimit = limits;
    },
    setUrlIngestionDown: (down) => {
      urlIngestionDown = down;
    },
    setOutage: (status) => {
      outageStatus = status;
    },
    activeCount,
    close: async () => {
      lifetime.abort();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      await closed;
    },
  };
}
