// Size-capped image downloads, for Luma outputs and Discord CDN attachments. Both URLs come from outside
// (a user's attachment, a presigned URL in an API response), so the origin can be pinned, redirects are not
// followed, and the byte cap is enforced while streaming rather than trusting Content-Length.
import { Agent, request, type Dispatcher } from 'undici';
import { responseUntilAborted } from './abort.js';
import { ForbiddenAddressError } from './egress.js';

export interface DownloadOptions {
  /** Largest body accepted, in bytes; checked against Content-Length and while streaming. */
  maxBytes: number;
  /** Whole download (connect to last byte), in ms. Default 30 000. */
  timeoutMs?: number;
  /** When given, the URL's origin (`https://host[:port]`) must be one of these; checked before any request. */
  allowedOrigins?: readonly string[];
  /** Accepted media types (parameters ignored, case-insensitive). Default: any `image/*`. */
  acceptContentTypes?: readonly string[];
  /** Aborting rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * undici dispatcher. Pass one: undici's global dispatcher may belong to discord.js's bundled undici 6, whose
   * handler API undici 7 cannot drive. Without one, a private Agent is made for this call.
   */
  dispatcher?: Dispatcher;
  /**
   * Where a body of announced length goes: a buffer of exactly that many bytes (the transfer budget lends them).
   * Default: a new one.
   */
  allocate?: (bytes: number) => Buffer;
}

export interface Downloaded {
  bytes: Buffer;
  /** The response's media type, lower-cased, without parameters. */
  contentType: string;
}

export type DownloadErrorKind = 'forbidden_origin' | 'too_large' | 'not_image' | 'http' | 'timeout' | 'network';

export class DownloadError extends Error {
  override name = 'DownloadError';
  readonly kind: DownloadErrorKind;
  /** The HTTP status, for kind 'http' (a 403 on a Luma output means the presigned URL expired). */
  readonly status?: number;

  constructor(kind: DownloadErrorKind, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    if (options.status !== undefined) this.status = options.status;
  }
}

export async function downloadImage(url: string, opts: DownloadOptions): Promise<Downloaded> {
  // With a Content-Length (Luma's results and Discord's CDN send one) the bytes go straight into one buffer of that
  // size, each socket chunk dropped as soon as it is copied: a result is held once, not as a list of chunks plus
  // their concatenation — at hundreds of results a minute that second copy was most of the bot's garbage.
  let whole: Buffer | undefined;
  const chunks: Buffer[] = [];
  let total = 0;
  const { contentType } = await streamImage(url, opts, (chunk, declared) => {
    if (total === 0 && declared !== undefined) whole = opts.allocate?.(declared) ?? Buffer.allocUnsafeSlow(declared);
    if (whole && total + chunk.length <= whole.length) chunk.copy(whole, total);
    else {
      // More than announced: keep what came so far as chunks and go on without the buffer.
      if (whole) chunks.push(whole.subarray(0, total));
      whole = undefined;
      chunks.push(chunk);
    }
    total += chunk.length;
    return false;
  });
  if (whole) return { bytes: total === whole.length ? whole : whole.subarray(0, total), contentType };
  return { bytes: chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks, total), contentType };
}

/**
 * Like downloadImage (same checks, same errors), but hands each chunk to `inspect` instead of keeping it, and
 * stops reading — dropping the connection — as soon as `inspect` returns true. For checks that need only the
 * start of a file (is this GIF animated?), so a 50 MB file costs neither 50 MB of memory nor of bandwidth.
 */
export async function inspectImage(url: string, opts: DownloadOptions, inspect: (chunk: Buffer) => boolean): Promise<{ contentType: string; stoppedEarly: boolean }> {
  return streamImage(url, opts, inspect);
}

async function streamImage(url: string, opts: DownloadOptions, onChunk: (chunk: Buffer, declaredBytes: number | undefined) => boolean): Promise<{ contentType: string; stoppedEarly: boolean }> {
  opts.signal?.throwIfAborted();
  const target = checkURL(url, opts.allowedOrigins);
  // Presigned URLs carry their credentials in the query string: name only the host in messages.
  const where = target.host;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const deadline = downloadDeadline(timeoutMs, opts.signal);
  const ownAgent = opts.dispatcher ? undefined : new Agent();
  let body: Dispatcher.ResponseData['body'] | undefined;
  try {
    const res = await requestImage(target, opts.dispatcher ?? (ownAgent as Agent), deadline.signal, timeoutMs);
    body = res.body;
    const { contentType, declaredBytes } = checkResponse(res, where, opts);
    const stoppedEarly = await readCapped(body as AsyncIterable<Buffer>, opts.maxBytes, where, (chunk) => onChunk(chunk, declaredBytes));
    return { contentType, stoppedEarly };
  } catch (err) {
    if (opts.signal?.aborted && !deadline.timedOut) throw opts.signal.reason;
    throw asDownloadError(err, where, timeoutMs, deadline.timedOut);
  } finally {
    deadline.dispose();
    // Drops the connection when we stop early (cap, wrong type, status), so an endless body stops flowing.
    // undici reports that destroy as an 'error' event, which nobody else listens to any more.
    if (body && !body.readableEnded) body.on('error', noop).destroy();
    if (ownAgent) void ownAgent.close().catch(noop);
  }
}

/** One signal for the whole download (connect to last byte): it fires at the timeout or when the caller aborts. */
function downloadDeadline(timeoutMs: number, caller: AbortSignal | undefined): { signal: AbortSignal; readonly timedOut: boolean; dispose(): void } {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error('download timed out'));
  }, timeoutMs);
  const onCallerAbort = () => controller.abort(caller?.reason);
  caller?.addEventListener('abort', onCallerAbort, { once: true });
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    dispose() {
      clearTimeout(timer);
      caller?.removeEventListener('abort', onCallerAbort);
    },
  };
}

function requestImage(target: URL, dispatcher: Dispatcher, signal: AbortSignal, timeoutMs: number): Promise<Dispatcher.ResponseData> {
  return responseUntilAborted(
    request(target, {
      method: 'GET',
      signal,
      dispatcher,
      headersTimeout: timeoutMs + 1_000,
      bodyTimeout: timeoutMs + 1_000,
    }),
    signal,
  );
}

/** What the headers must allow before a byte is read: status 200, an accepted type, an announced length within the cap. */
function checkResponse(
  res: Pick<Dispatcher.ResponseData, 'statusCode' | 'headers'>,
  where: string,
  opts: Pick<DownloadOptions, 'maxBytes' | 'acceptContentTypes'>,
): { contentType: string; declaredBytes: number | undefined } {
  // undici's request() does not follow redirects; a 3xx lands here too, which is what we want: a redirect
  // could lead off the allowed origins.
  if (res.statusCode !== 200) {
    throw new DownloadError('http', `Download from ${where} failed: HTTP ${res.statusCode}`, {
      status: res.statusCode,
    });
  }

  const contentType = mediaType(res.headers['content-type']);
  if (!isAccepted(contentType, opts.acceptContentTypes)) {
    const got = contentType || 'no content-type';
    throw new DownloadError('not_image', `Download from ${where} is not an accepted image (${got})`);
  }

  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > opts.maxBytes) {
    throw tooLarge(where, opts.maxBytes);
  }
  return { contentType, declaredBytes: Number.isSafeInteger(declared) && declared >= 0 ? declared : undefined };
}

/**
 * Hands each chunk to `onChunk` until it returns true (then resolves true: stopped early). Counts the bytes as
 * they come, whatever Content-Length said, and fails as soon as they pass `maxBytes`.
 */
async function readCapped(body: AsyncIterable<Buffer>, maxBytes: number, where: string, onChunk: (chunk: Buffer) => boolean): Promise<boolean> {
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (total > maxBytes) throw tooLarge(where, maxBytes);
    if (onChunk(chunk)) return true;
  }
  return false;
}

/** A failed download as the DownloadError of its kind (one already a DownloadError stays as it is). */
function asDownloadError(err: unknown, where: string, timeoutMs: number, timedOut: boolean): DownloadError {
  if (err instanceof DownloadError) return err;
  if (isForbiddenAddress(err)) {
    return new DownloadError('forbidden_origin', `Download refused: ${where} is not HTTPS to a public address`, { cause: err });
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (timedOut || (typeof code === 'string' && TIMEOUT_CODES.has(code))) {
    return new DownloadError('timeout', `Download from ${where} timed out after ${timeoutMs} ms`, { cause: err });
  }
  const why = err instanceof Error ? err.message : String(err);
  return new DownloadError('network', `Download from ${where} failed: ${why}`, { cause: err });
}

/** The egress guard refused the connection (undici may wrap its error). */
function isForbiddenAddress(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 4; depth++, e = (e as { cause?: unknown }).cause) {
    if (e instanceof ForbiddenAddressError) return true;
  }
  return false;
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

function noop(): void {}

function checkURL(url: string, allowedOrigins: readonly string[] | undefined): URL {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new DownloadError('forbidden_origin', 'Download refused: not a valid URL');
  }
  if (target.protocol !== 'https:' && target.protocol !== 'http:') {
    throw new DownloadError('forbidden_origin', `Download refused: ${target.protocol} URLs are not allowed`);
  }
  if (allowedOrigins && !allowedOrigins.some((o) => sameOrigin(o, target.origin))) {
    throw new DownloadError('forbidden_origin', `Download refused: ${target.origin} is not an allowed origin`);
  }
  return target;
}

function sameOrigin(allowed: string, origin: string): boolean {
  try {
    return new URL(allowed).origin === origin;
  } catch {
    return false;
  }
}

function mediaType(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return (value ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

function isAccepted(contentType: string, accepted: readonly string[] | undefined): boolean {
  if (!accepted) return contentType.startsWith('image/');
  return accepted.some((t) => t.toLowerCase() === contentType);
}

function tooLarge(where: string, maxBytes: number): DownloadError {
  return new DownloadError('too_large', `Download from ${where} is larger than ${maxBytes} bytes`);
}

