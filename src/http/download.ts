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

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The image type the leading bytes announce, whatever the server claimed. */
export function sniffImageType(bytes: Buffer): 'image/png' | 'image/jpeg' | 'image/webp' | 'image/gif' | undefined {
  if (PNG.every((b, i) => bytes[i] === b)) return 'image/png';
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  const head = bytes.subarray(0, 12).toString('latin1');
  if (head.startsWith('GIF87a') || head.startsWith('GIF89a')) return 'image/gif';
  if (head.startsWith('RIFF') && head.slice(8, 12) === 'WEBP') return 'image/webp';
  return undefined;
}

/**
 * Whether a GIF has more than one frame. Luma takes only still GIFs. Walks the block structure rather than
 * searching for marker bytes, which also occur inside compressed image data and colour tables.
 */
export function isAnimatedGif(bytes: Buffer): boolean {
  const scan = new GifFrameScanner();
  scan.push(bytes);
  return scan.animated;
}

/**
 * Counts a GIF's frames from a stream, chunk by chunk, keeping nothing but a few header bytes: `done` turns true
 * at the second image descriptor (animated), at the trailer (still) or at anything that is not a GIF block (not
 * animated, as for a truncated or non-GIF file). Feed it until `done` and stop reading there.
 */
export class GifFrameScanner {
  frames = 0;
  done = false;
  /** Bytes still to skip (colour tables, sub-block data). */
  private skip = 0;
  /** Bytes of the current fixed-size field collected so far, and how many it needs. */
  private field: number[] = [];
  private need = 13; // header (6) + logical screen descriptor (7)
  private state: 'header' | 'block' | 'image' | 'label' | 'lzw' | 'subblock' = 'header';

  get animated(): boolean {
    return this.frames > 1;
  }

  /** Returns `done`. */
  push(chunk: Buffer): boolean {
    let pos = 0;
    while (!this.done && pos < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - pos);
        this.skip -= n;
        pos += n;
        continue;
      }
      this.field.push(chunk[pos] ?? 0);
      pos++;
      if (this.field.length < this.need) continue;
      const field = this.field;
      this.field = [];
      this.step(field);
    }
    return this.done;
  }

  private expect(state: GifFrameScanner['state'], need: number): void {
    this.state = state;
    this.need = need;
  }

  private step(f: number[]): void {
    switch (this.state) {
      case 'header': {
        const magic = Buffer.from(f.slice(0, 6)).toString('latin1');
        if (magic !== 'GIF87a' && magic !== 'GIF89a') {
          this.done = true;
          return;
        }
        const flags = f[10] ?? 0;
        if (flags & 0x80) this.skip = 3 * 2 ** ((flags & 0x07) + 1);
        return this.expect('block', 1);
      }
      case 'block':
        if (f[0] === 0x2c) return this.expect('image', 9); // image descriptor: left, top, width, height, flags
        if (f[0] === 0x21) return this.expect('label', 1); // extension: label, then sub-blocks
        this.done = true; // trailer (0x3b) or garbage
        return;
      case 'image': {
        this.frames++;
        if (this.frames > 1) {
          this.done = true;
          return;
        }
        const flags = f[8] ?? 0;
        if (flags & 0x80) this.skip = 3 * 2 ** ((flags & 0x07) + 1);
        return this.expect('lzw', 1); // LZW minimum code size
      }
      case 'label':
      case 'lzw':
        return this.expect('subblock', 1);
      case 'subblock': {
        const size = f[0] ?? 0;
        if (size === 0) return this.expect('block', 1);
        this.skip = size;
        return this.expect('subblock', 1);
      }
    }
  }
}

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

