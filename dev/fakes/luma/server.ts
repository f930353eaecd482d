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
//
// Its parts: generations.ts (records, plans, states on the clock), input-fetch.ts (reading a request's images),
// limits.ts (RPM and concurrency), output-files.ts (signed, expiring output URLs), wire.ts (HTTP plumbing, faults).
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

import type { Generation, ImageInput } from '../../../src/luma/types.js';
import type { FakeLuma, FakeLumaOptions, RecordedRequest } from './api.js';
import { defaultOutput, GenerationStore, type GenRecord } from './generations.js';
import { InputReader } from './input-fetch.js';
import { HttpError, validateGenerationRequest } from './inputs.js';
import { PostLimits } from './limits.js';
import { OutputFiles } from './output-files.js';
import { FaultQueue, readBody, sendFault, sendJson } from './wire.js';

export type * from './api.js';

function hex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

/** The API's routes over the fake's parts; startFakeLuma() wires it to a server and hands out its controls. */
class LumaApi {
  readonly requests: RecordedRequest[] = [];
  readonly faults = new FaultQueue();
  urlIngestionDown = false;
  outageStatus: number | undefined;
  /** For the log line of a POST that created a generation. */
  readonly createdIds = new WeakMap<ServerResponse, string>();

  constructor(
    readonly generations: GenerationStore,
    readonly files: OutputFiles,
    readonly limits: PostLimits,
    readonly inputs: InputReader,
    private readonly options: { apiKey: string; now: () => number; lifetime: AbortSignal; log: ((line: string) => void) | undefined },
  ) {}

  toWire(rec: GenRecord): Generation {
    const gen = this.generations.snapshot(rec, false);
    return {
      id: rec.id,
      created_at: new Date(rec.createdAt).toISOString(),
      model: rec.request.model ?? 'uni-1',
      type: rec.request.type ?? 'image',
      state: gen.state,
      failure_code: gen.failureCode ?? null,
      failure_reason: gen.failureReason ?? null,
      output: gen.state === 'completed' ? [{ type: 'image', url: this.files.mint(rec) }] : null,
    };
  }

  checkAuth(req: IncomingMessage): void {
    if (req.headers.authorization !== `Bearer ${this.options.apiKey}`) throw new HttpError(401, 'Invalid API key');
  }

  /** POST /v1/generations. */
  async createGeneration(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    this.checkAuth(req);
    const rateHeaders = this.limits.takeRpmSlot();
    for (const [name, value] of Object.entries(rateHeaders)) res.setHeader(name, value);
    if (body === undefined) throw new HttpError(400, 'Request body must be valid JSON');
    const request = validateGenerationRequest(body);

    const wanted: [ImageInput, string][] = [];
    if (request.source) wanted.push([request.source, 'source']);
    request.image_ref?.forEach((input, i) => wanted.push([input, `image_ref[${i}]`]));
    if (this.urlIngestionDown && wanted.some(([input]) => 'url' in input)) throw new HttpError(503, 'URL ingestion temporarily unavailable');
    const inputs = await this.inputs.readAll(wanted);

    // Checked last and synchronously with the insert, so parallel POSTs cannot overshoot the limit.
    try {
      this.limits.checkConcurrency(this.generations.activeCount());
    } catch (error) {
      for (const name of Object.keys(rateHeaders)) res.removeHeader(name);
      throw error;
    }
    const rec = await this.generations.create(request, inputs);
    this.createdIds.set(res, rec.id);
    sendJson(res, 201, this.toWire(rec));
  }

  /** GET /v1/generations/:id. */
  getGeneration(req: IncomingMessage, res: ServerResponse, id: string): void {
    this.checkAuth(req);
    const rec = this.generations.records.get(id);
    if (!rec) throw new HttpError(404, 'Generation not found');
    sendJson(res, 200, this.toWire(rec));
  }

  /** Records the request, then answers it with a scripted fault, an outage, or the API. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
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
    const record: RecordedRequest = { method, path: target.pathname + target.search, headers: req.headers, body, at: this.options.now(), requestId };
    this.requests.push(record);
    res.on('finish', () => {
      record.status = res.statusCode;
    });

    const outage = this.outageStatus !== undefined && target.pathname.startsWith('/v1/') ? { status: this.outageStatus } : undefined;
    const fault = outage ?? this.faults.take(method, target.pathname);
    if (fault) {
      record.fault = fault;
      if ('reset' in fault) {
        req.socket.destroy();
        return;
      }
      if ('hang' in fault) return;
      if ('until' in fault) {
        const lifetime = this.options.lifetime;
        await Promise.race([fault.until.catch(() => undefined), new Promise((resolve) => (lifetime.aborted ? resolve(undefined) : lifetime.addEventListener('abort', resolve, { once: true })))]);
      } else if ('delayMs' in fault) {
        await delay(fault.delayMs, undefined, { signal: this.options.lifetime }).catch(() => undefined);
      } else {
        sendFault(res, fault);
        return;
      }
      if (this.options.lifetime.aborted) return;
    }
    try {
      if (tooLarge) throw new HttpError(413, 'Request body too large');
      await this.route(req, res, method, target, body);
    } catch (error) {
      this.answerError(res, record, error);
    }
  }

  async route(req: IncomingMessage, res: ServerResponse, method: string, target: URL, body: unknown): Promise<void> {
    const path = target.pathname;
    const genMatch = /^\/v1\/generations\/([^/]+)$/.exec(path);
    const fileMatch = /^\/files\/([^/]+)$/.exec(path);
    if (path === '/v1/generations' || path === '/v1/generations/') {
      if (method !== 'POST') throw new HttpError(405, 'Method Not Allowed');
      await this.createGeneration(req, res, body);
    } else if (genMatch) {
      if (method !== 'GET') throw new HttpError(405, 'Method Not Allowed');
      this.getGeneration(req, res, decodeURIComponent(genMatch[1] ?? ''));
    } else if (fileMatch && (method === 'GET' || method === 'HEAD')) {
      this.files.serve(res, decodeURIComponent(fileMatch[1] ?? ''), target.searchParams);
    } else {
      throw new HttpError(404, 'Not Found');
    }
  }

  answerError(res: ServerResponse, record: RecordedRequest, error: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (error instanceof HttpError) {
      if (error.status === 429) record.limitedBy = /concurrent/i.test(error.detail) ? 'concurrency' : 'requests';
      sendJson(res, error.status, { detail: error.detail }, error.headers);
    } else {
      this.options.log?.(`internal error: ${(error as Error).stack ?? String(error)}`);
      sendJson(res, 500, { detail: `Internal fake error: ${(error as Error).message}` });
    }
  }
}

/** Listens on 127.0.0.1 (port 0 by default) with as long an accept queue as the kernel allows, as the fake Discord. */
async function listen(api: LumaApi, port: number, log: ((line: string) => void) | undefined): Promise<{ origin: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    if (log) {
      res.on('finish', () => {
        const created = api.createdIds.get(res);
        log(`${req.method ?? '?'} ${req.url ?? ''} -> ${res.statusCode}${created ? ` ${created}` : ''}`);
      });
    }
    api.handle(req, res).catch((error: unknown) => {
      log?.(`request failed: ${String(error)}`);
      res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // A burst of new connections to a busy fake would otherwise be dropped and retried a second later by the client's TCP.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1', backlog: 4096 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      await closed;
    },
  };
}

export async function startFakeLuma(options: FakeLumaOptions = {}): Promise<FakeLuma> {
  const apiKey = options.apiKey ?? 'luma-api-fake-key';
  const now = options.now ?? Date.now;
  const lifetime = new AbortController();
  let origin = '';
  const generations = new GenerationStore({
    now,
    queuedMs: options.queuedMs ?? 200,
    processingMs: options.processingMs ?? 600,
    outputImage: options.outputImage ?? defaultOutput,
  });
  const files = new OutputFiles(generations, { now, ttlMs: options.outputTtlMs ?? 3_600_000, origin: () => origin });
  const limits = new PostLimits(options.rateLimit ?? options.plan, now);
  const inputs = new InputReader(generations, { fetchUrls: options.fetchUrls ?? true, urlFetchTimeoutMs: options.urlFetchTimeoutMs ?? 18_000, lifetime: lifetime.signal });
  const api = new LumaApi(generations, files, limits, inputs, { apiKey, now, lifetime: lifetime.signal, log: options.log });
  const server = await listen(api, options.port ?? 0, options.log);
  origin = server.origin;
  const { requests } = api;

  return {
    url: `${origin}/v1`,
    origin,
    apiKey,
    requests,
    generations: () => [...generations.records.values()].map((rec) => generations.snapshot(rec, true)),
    generation: (id) => {
      const rec = generations.records.get(id);
      return rec ? generations.snapshot(rec, true) : undefined;
    },
    outputBytes: (id) => {
      const rec = generations.mustGet(id);
      if (rec.failWith) throw new Error(`fake Luma: generation ${id} is planned to fail and has no output`);
      return generations.outputOf(rec);
    },
    posts: () => requests.filter((r) => r.method === 'POST' && r.path.split('?')[0] === '/v1/generations'),
    planNext: (plan) => void generations.plans.push(plan),
    release: (id) => generations.release(id),
    fault: (match, ...responses) => api.faults.add(match, responses),
    expireOutputs: () => files.expireAll(),
    setRateLimit: (rateLimits) => {
      limits.limits = rateLimits;
    },
    setUrlIngestionDown: (down) => {
      api.urlIngestionDown = down;
    },
    setOutage: (status) => {
      api.outageStatus = status;
    },
    activeCount: () => generations.activeCount(),
    close: async () => {
      lifetime.abort();
      await server.close();
    },
  };
}
