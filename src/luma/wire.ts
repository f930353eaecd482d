// The wire under the Luma client: reading a capped body, knowing when a request was written (so a POST that never
// left can be retried), and the small parsing helpers.
import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import { setTimeout as sleepTimer } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import { LumaError } from './errors.js';
import type { Generation } from './types.js';

/** The body as text, refused (and the connection dropped) once it passes `max` bytes. */
export async function readCapped(body: Dispatcher.ResponseData['body'], max: number, what: string, requestId: string | undefined): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > max) {
      body.on('error', () => undefined).destroy();
      throw new LumaError(`${what}: the answer is larger than ${max} bytes`, { requestId });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total).toString('utf8');
}

// Passes everything through to undici's own handler, noting when the request is about to be written.
export class SendTracker implements Dispatcher.DispatchHandler {
  readonly #inner: Dispatcher.DispatchHandler;
  readonly #onSent: () => void;

  constructor(inner: Dispatcher.DispatchHandler, onSent: () => void) {
    this.#inner = inner;
    this.#onSent = onSent;
  }

  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    this.#inner.onRequestStart?.(controller, context);
    // An abort that was pending (our timeout during connect) is applied right here, before any byte is written.
    if (!controller.aborted) this.#onSent();
  }
  onRequestUpgrade(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
    socket: Duplex,
  ): void {
    this.#inner.onRequestUpgrade?.(controller, statusCode, headers, socket);
  }
  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
    statusMessage?: string,
  ): void {
    this.#inner.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }
  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#inner.onResponseData?.(controller, chunk);
  }
  onResponseEnd(controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    this.#inner.onResponseEnd?.(controller, trailers);
  }
  onResponseError(controller: Dispatcher.DispatchController, error: Error): void {
    this.#inner.onResponseError?.(controller, error);
  }
}


export async function sleep(delayMs: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    await sleepTimer(delayMs, undefined, signal ? { signal } : {});
  } catch (err) {
    // timers/promises wraps the reason in its own AbortError; hand the caller back their own reason.
    if (signal?.aborted) throw signal.reason;
    throw err;
  }
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason;
}

export function errorCode(err: unknown): string | undefined {
  // undici wraps some connect failures (e.g. in an AggregateError for happy-eyeballs), so look one level down.
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 3; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    const inner = (e as { errors?: unknown[] }).errors?.[0] ?? (e as { cause?: unknown }).cause;
    e = inner;
  }
  return undefined;
}

export function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

export function parseJSON(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function isGeneration(value: unknown): value is Generation {
  if (value === null || typeof value !== 'object') return false;
  const { id, state } = value as { id?: unknown; state?: unknown };
  return typeof id === 'string' && typeof state === 'string';
}

// A server (or a proxy in front of it) echoing the Authorization header must not leak the key into logs.
export function redact(text: string, secret: string): string {
  return text.includes(secret) ? text.split(secret).join('[redacted]') : text;
}

export function ms(started: number): number {
  return Math.round(performance.now() - started);
}
