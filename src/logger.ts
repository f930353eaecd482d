import { pino, type DestinationStream, type Logger } from 'pino';
import type { Config } from './config.js';

export type { Logger } from 'pino';

/**
 * Fields blanked out wherever they appear in a log object, down to three levels (`token`, `job.token`,
 * `job.discord.interactionToken`, `request.headers.authorization`): by `boundFields`, in one pass over the line.
 * Interaction tokens are bearer secrets for 15 minutes (anyone holding one can post as the bot in that channel), so
 * they count as secrets too.
 */
const SECRET_FIELDS = new Set(['token', 'interactionToken', 'discordToken', 'lumaApiKey', 'apiKey', 'authorization']);
const SECRET_DEPTH = 3;
const CENSOR = '[redacted]';
/**
 * The same fields for pino's own redaction, which also covers a child logger's bindings (the log formatter does
 * not see them). Named paths only: pino's wildcard paths (`*.token`) cost ~8× the rest of a line, on every line.
 */
const REDACT = [...SECRET_FIELDS, 'headers.authorization', 'job.discord.interactionToken', 'job.token'];

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

/** An object a log line's JSON descends into (not an array, bytes or an error, which have their own rules). */
function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value) && !(value instanceof Error);
}

/** `obj` with its secret fields blanked, `depth` levels down; a copy only where something changes. */
function withoutSecrets(obj: Record<string, unknown>, depth: number): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const key of Object.keys(obj)) {
    const value = obj[key];
    let kept: unknown = value;
    if (SECRET_FIELDS.has(key)) kept = value === undefined ? value : CENSOR;
    else if (depth > 1 && isRecord(value)) kept = withoutSecrets(value, depth - 1);
    if (kept !== value) (out ??= { ...obj })[key] = kept;
  }
  return out ?? obj;
}

/**
 * A log line's fields: secrets blanked, bytes never, long strings capped (the serializer covers `err`). Copies only
 * where something changes — the caller's object stays as it was — and costs next to nothing on the line every
 * command logs (pino's wildcard redaction cost ~8× the rest of that line).
 */
function boundFields(obj: Record<string, unknown>): Record<string, unknown> {
  const safe = withoutSecrets(obj, SECRET_DEPTH);
  let out: Record<string, unknown> | undefined;
  for (const key of Object.keys(safe)) {
    const value = safe[key];
    let bounded: unknown = value;
    if (typeof value === 'string' && value.length > MAX_FIELD_CHARS) bounded = cap(value);
    else if (Buffer.isBuffer(value) || value instanceof Uint8Array) bounded = `[${value.length} bytes]`;
    if (bounded !== value) (out ??= safe === obj ? { ...obj } : safe)[key] = bounded;
  }
  return out ?? safe;
}

export function createLogger(
  config: Pick<Config, 'logLevel' | 'logFormat'>,
  destination?: DestinationStream,
): Logger {
  const options = {
    level: config.logLevel,
    redact: { paths: REDACT, censor: CENSOR },
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
