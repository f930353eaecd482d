import { pino, type DestinationStream, type Logger } from 'pino';
import type { Config } from './config.js';

export type { Logger } from 'pino';

/**
 * Paths pino blanks out wherever they appear in a log object. Interaction tokens are bearer secrets for
 * 15 minutes (anyone holding one can post as the bot in that channel), so they count as secrets too.
 */
const REDACT = [
  'token',
  'interactionToken',
  'discordToken',
  'lumaApiKey',
  'apiKey',
  'authorization',
  'headers.authorization',
  '*.token',
  '*.interactionToken',
  '*.discordToken',
  '*.lumaApiKey',
  '*.apiKey',
  '*.authorization',
  '*.headers.authorization',
  'job.discord.interactionToken',
];

/** A string mask for error messages that might quote a URL carrying a token (webhook routes). */
export function scrubSecrets(text: string): string {
  return text
    .replace(/(\/(?:webhooks|interactions)\/\d+\/)[A-Za-z0-9._-]{20,}/g, '$1[token]')
    .replace(/luma-api-[A-Za-z0-9_-]+/g, 'luma-api-[redacted]')
    .replace(/(Bot|Bearer)\s+[A-Za-z0-9._-]{10,}/g, '$1 [redacted]');
}

/** The longest string kept in a log field; an error message quoting a whole request body is cut here. */
const MAX_FIELD_CHARS = 4000;
/** Error fields kept as they are: short facts about what failed. Anything else (bodies, headers, raw errors) is dropped. */
const ERROR_FIELDS = ['code', 'status', 'statusCode', 'kind', 'requestId', 'detail', 'reachedServer', 'errno', 'syscall', 'retryAfterMs'];

function isErrorLike(value: unknown): value is Error & Record<string, unknown> {
  return value instanceof Error || (typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string' && typeof (value as { stack?: unknown }).stack === 'string');
}

function cap(text: string): string {
  const clean = scrubSecrets(text);
  return clean.length > MAX_FIELD_CHARS ? `${clean.slice(0, MAX_FIELD_CHARS)}… [${clean.length - MAX_FIELD_CHARS} more chars]` : clean;
}

/**
 * A Discord REST URL as a route: the path only (no host, no query), with interaction and webhook tokens replaced.
 * `https://discord.com/api/v10/webhooks/123/<token>/messages/@original` → `/webhooks/123/:token/messages/@original`.
 */
export function routeOf(url: string): string {
  let path = url;
  try {
    path = new URL(url).pathname.replace(/^\/api(?:\/v\d+)?/, '').replace(/%40/g, '@');
  } catch {
    // not a URL: scrub it as text
  }
  return scrubSecrets(path.replace(/^(\/(?:webhooks|interactions)\/\d+\/)[^/?]+/, '$1:token')).split('?')[0] ?? '';
}

/**
 * The one error serializer. discord.js's errors carry the request that failed — its URL (with the interaction
 * token), its JSON body and its files (a whole image, which pino would write as a JSON array of numbers) — and
 * undici's carry sockets and bodies. None of that belongs in a log: an error becomes its type, message, stack and a
 * few short facts (status, code, method, route, Discord's own message), causes included, every string scrubbed
 * of secrets and capped.
 */
export function serializeError(err: unknown, depth = 0): unknown {
  if (!isErrorLike(err)) {
    if (err === null || err === undefined || typeof err === 'number' || typeof err === 'boolean') return err;
    return { type: typeof err, message: cap(typeof err === 'string' ? err : safeString(err)) };
  }
  const out: Record<string, unknown> = {
    type: err.constructor?.name && err.constructor.name !== 'Object' ? err.constructor.name : err.name,
    message: cap(err.message),
  };
  if (typeof err.stack === 'string') out.stack = cap(err.stack);
  for (const key of ERROR_FIELDS) {
    const v = err[key];
    if (typeof v === 'string') out[key] = cap(v);
    else if (typeof v === 'number' || typeof v === 'boolean') out[key] = v;
  }
  // @discordjs/rest's DiscordAPIError / HTTPError / RateLimitError: the request, named without its token or body.
  if (typeof err.method === 'string') out.method = err.method;
  if (typeof err.url === 'string') out.route = routeOf(err.url);
  const raw = err.rawError as { message?: unknown; code?: unknown } | undefined;
  if (raw && typeof raw.message === 'string') out.discordMessage = cap(raw.message);
  if (depth < 3) {
    if (err.cause !== undefined) out.cause = serializeError(err.cause, depth + 1);
    const errors = (err as { errors?: unknown }).errors;
    if (Array.isArray(errors)) out.errors = errors.slice(0, 5).map((e) => serializeError(e, depth + 1));
  }
  return out;
}

function safeString(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (Buffer.isBuffer(v) || v instanceof Uint8Array ? `[${v.length} bytes]` : v)) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** Top-level fields of a log line: bytes never, long strings capped (the serializer covers `err`). */
function boundFields(obj: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | undefined; // copied only when something changes: the caller's object stays as it was
  for (const [key, value] of Object.entries(obj)) {
    let bounded: unknown = value;
    if (Buffer.isBuffer(value) || value instanceof Uint8Array) bounded = `[${value.length} bytes]`;
    else if (typeof value === 'string' && value.length > MAX_FIELD_CHARS) bounded = cap(value);
    if (bounded !== value) (out ??= { ...obj })[key] = bounded;
  }
  return out ?? obj;
}

export function createLogger(
  config: Pick<Config, 'logLevel' | 'logFormat'>,
  destination?: DestinationStream,
): Logger {
  const options = {
    level: config.logLevel,
    redact: { paths: REDACT, censor: '[redacted]' },
    base: { app: 'luma-discord-bot' },
    serializers: { err: (err: unknown) => serializeError(err) },
    formatters: { log: boundFields },
  };
  if (destination) return pino(options, destination);
  const pretty = config.logFormat === 'pretty' || (config.logFormat === 'auto' && process.stdout.isTTY === true);
  if (pretty) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss' } } });
  }
  // Written asynchronously: a synchronous write to stdout blocks the whole bot whenever the reader of the pipe (a
  // container runtime, a log shipper) falls behind — in a burst of commands that is seconds in which no
  // interaction gets its 3 s acknowledgement. pino flushes what is buffered when the process exits.
  return pino(options, pino.destination({ dest: 1, sync: false }));
}
