import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import Keyv, { type DeserializedData, type Deserialize, type Serialize } from 'keyv';
import KeyvSqlite from '@keyv/sqlite';
import KeyvRedis, { createClient, defaultReconnectStrategy } from '@keyv/redis';
import type { Logger } from './logger.js';

/**
 * Storage is one keyv instance; callers namespace their keys by prefix (`job:…`, `quota:…`). One instance
 * (rather than one per namespace) keeps a single SQLite connection / Redis client per process.
 *
 * Every operation either did what it says or throws a StorageError: keyv's default of swallowing store errors
 * (a failed write "succeeds", a failed read is "not found") would let a quota reservation or a job save vanish.
 */
export interface Storage {
  readonly kind: 'sqlite' | 'redis';
  /** Throws StorageError when storage cannot be read, CorruptValueError when the stored text is not readable. */
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown, ttlMs?: number): Promise<void>;
  delete(key: string): Promise<void>;
  /**
   * Runs `fn` while holding an exclusive lock on `name`: in-process always, and across processes on Redis
   * (several shards share one Redis). Read-modify-write of a shared record must go through here.
   */
  withLock<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /**
   * Deletes records whose time to live has passed; returns how many. keyv deletes an expired record only when it
   * is read, so on SQLite nothing else ever does; Redis expires keys by itself (0).
   */
  sweepExpired(): Promise<number>;
  /**
   * The raw Redis client, for what needs atomic scripts across processes (the shared Luma budget, job leases);
   * undefined on SQLite. Its keys must start with `prefix`.
   */
  readonly redis?: { readonly client: RedisScripts; readonly prefix: string } | undefined;
  /** Tells the operator, once per outage, that storage is failing; cleared by the next successful write. */
  readonly alarm: StorageAlarm;
  close(): Promise<void>;
}

/** The part of the Redis client scripts need: EVAL with keys and arguments (numbers and strings come back as Redis returns them). */
export interface RedisScripts {
  eval(script: string, opts: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

export interface StorageOptions {
  /** Prefix of every key (STORAGE_NAMESPACE), default "bot". */
  namespace?: string;
  /** How long an operation on a SQLite file another process holds locked waits before it fails, ms. */
  busyTimeoutMs?: number;
}

/** Storage did not do what was asked (locked, full, unreachable, refusing writes): nothing may be assumed saved. */
export class StorageError extends Error {
  override name = 'StorageError';
  constructor(
    readonly op: 'get' | 'set' | 'delete' | 'lock' | 'sweep',
    readonly key: string,
    cause: unknown,
  ) {
    super(`storage ${op} of "${key}" failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** A stored value that is not readable (truncated, not JSON). Not transient: reading it again gives the same. */
export class CorruptValueError extends Error {
  override name = 'CorruptValueError';
  constructor(
    readonly key: string,
    /** The stored text as it is, to quarantine it. */
    readonly raw: string,
  ) {
    super(`the stored value of "${key}" is not readable (${raw.length} characters)`);
  }
}

/** Stands in for a stored text keyv could not parse, so get() can tell it from a storage failure. */
class Unreadable {
  constructor(readonly raw: string) {}
}

/** Storage failures retried with back-off: `delaysMs` are the waits between attempts (so attempts = length + 1). */
export async function retryStorage<T>(fn: () => Promise<T>, delaysMs: readonly number[], onRetry: (err: StorageError, attempt: number, delayMs: number) => void): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const delay = delaysMs[attempt - 1];
      if (!(err instanceof StorageError) || delay === undefined) throw err;
      onRetry(err, attempt, delay);
      // Unref'd: a retry waiting must not keep a stopping process alive (the job resumes at the next start).
      await new Promise((r) => setTimeout(r, delay).unref());
    }
  }
}

/** One `OPERATOR:` line per storage outage, however many jobs and commands it hits; a successful write ends it. */
export class StorageAlarm {
  private raised = false;
  constructor(private readonly log: Logger) {}

  raise(err: unknown, context: Record<string, unknown> = {}): void {
    if (this.raised) return;
    this.raised = true;
    this.log.error(
      { alert: true, err, ...context },
      'OPERATOR: storage is failing (SQLite file locked or disk full, or Redis unreachable or refusing writes): new commands are refused with "try again shortly" and running jobs wait; check STORAGE_URL\'s database',
    );
  }

  clear(): void {
    if (!this.raised) return;
    this.raised = false;
    this.log.info('storage accepts writes again');
  }
}

class LocalMutex {
  private readonly tails = new Map<string, Promise<void>>();
  async run<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(name) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = prev.then(() => mine);
    this.tails.set(name, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(name) === tail) this.tails.delete(name);
    }
  }
}

interface RedisLike {
  set(key: string, value: string, opts: { NX: true; PX: number }): Promise<string | null>;
  eval(script: string, opts: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

const UNLOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
/** A lock held longer than this is presumed to belong to a dead process. */
const LOCK_TTL_MS = 15_000;
export const DEFAULT_BUSY_TIMEOUT_MS = 10_000;
/** Expired rows deleted per statement, so a sweep never holds SQLite's write lock for long. */
const SWEEP_BATCH = 500;

/**
 * Runs the store's statements one after another. node-sqlite3 runs a statement on libuv's pool, but creates and
 * finalizes statements on the main thread, under the connection's mutex — which the pool thread holds for a whole
 * statement. With hundreds of statements in flight (a burst of commands, each reserving quota and saving its job)
 * the event loop waited on that mutex: 4,000 saves at once stalled it by up to 0.4 s at a time (p99 344 ms), and
 * commands behind it missed Discord's 3 s. Queued here they wait in JavaScript instead (p99 11 ms), for about the
 * same total time: the file takes one writer at a time anyway. All of @keyv/sqlite's calls go through `query`.
 */
function oneStatementAtATime(store: KeyvSqlite): void {
  const query = store.query.bind(store);
  let last: Promise<unknown> = Promise.resolve();
  store.query = (...args: Parameters<typeof query>) => {
    const run = last.then(() => query(...args));
    last = run.catch(() => undefined);
    return run;
  };
}

export async function createStorage(url: string, logger: Logger, opts: StorageOptions = {}): Promise<Storage> {
  const namespace = opts.namespace ?? 'bot';
  const backend = url.startsWith('sqlite://')
    ? await openSqlite(url, namespace, opts.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS)
    : await openRedis(url, namespace);
  backend.keyv.on('error', (err: unknown) => logger.debug({ err }, 'storage error'));
  useNativeJson(backend.keyv);
  keepUnparsable(backend.keyv);
  return storageOver(backend, namespace, logger);
}

/** An opened store: keyv over it, and what only that kind of store can do. */
interface Backend {
  readonly kind: Storage['kind'];
  readonly keyv: Keyv;
  /** The Redis client, for locks across processes and scripts; undefined on SQLite. */
  readonly redis: RedisLike | undefined;
  readonly sweep: () => Promise<number>;
}

async function openSqlite(url: string, namespace: string, busyTimeoutMs: number): Promise<Backend> {
  const file = resolve(url.slice('sqlite://'.length));
  await mkdir(dirname(file), { recursive: true });
  // busyTimeout: two processes on one file (e.g. deploy-commands while the bot runs) wait instead of failing.
  const store = new KeyvSqlite({ uri: `sqlite://${file}`, busyTimeout: busyTimeoutMs });
  // WAL with synchronous=NORMAL: a save is an append to the log, synced only at checkpoints, instead of a
  // rollback-journal transaction with several fsyncs (about ten saves a job: a burst's CPU went from ~22 s to
  // ~14 s for 600 jobs). Durability: a committed save survives the process dying (kill -9, a crash, OOM);
  // only an OS crash or power loss can lose the last transactions before a checkpoint. The file stays
  // consistent either way. WAL also lets a reader (deploy-commands, a backup) read while the bot writes.
  await store.query('PRAGMA journal_mode=WAL');
  await store.query('PRAGMA synchronous=NORMAL');
  oneStatementAtATime(store);
  const keyv = new Keyv({ store, namespace, throwOnErrors: true });
  return { kind: 'sqlite', keyv, redis: undefined, sweep: sqliteSweep(store, namespace) };
}

/** Deletes the namespace's expired rows in batches of SWEEP_BATCH; returns how many went. */
function sqliteSweep(store: KeyvSqlite, namespace: string): () => Promise<number> {
  // keyv stores `{"value":…,"expires":<ms>}` as text; a row that is not valid JSON is left for its reader to find.
  const expired = `DELETE FROM keyv WHERE rowid IN (SELECT rowid FROM keyv WHERE key LIKE '${namespace}:%' AND
    (CASE WHEN json_valid(value) THEN json_extract(value, '$.expires') END) < ? LIMIT ${SWEEP_BATCH}) RETURNING 1 AS gone`;
  return async () => {
    let total = 0;
    for (;;) {
      const rows = (await store.query(expired, Date.now())) as unknown[];
      total += rows.length;
      if (rows.length < SWEEP_BATCH) return total;
    }
  };
}

async function openRedis(url: string, namespace: string): Promise<Backend> {
  // No offline queue: while Redis is unreachable a command fails at once instead of waiting for a reconnect
  // that may never come (a reservation would hang the member's command for ever).
  const client = createClient({ url, disableOfflineQueue: true, socket: { connectTimeout: 5000, reconnectStrategy: defaultReconnectStrategy } });
  const store = new KeyvRedis(client, { throwOnErrors: true, throwOnConnectError: true });
  const keyv = new Keyv({ store, namespace, useKeyPrefix: false, throwOnErrors: true });
  const redis = (await store.getClient()) as unknown as RedisLike;
  // Redis expires keys by itself.
  return { kind: 'redis', keyv, redis, sweep: async () => 0 };
}

/**
 * keyv's own format (@keyv/serialize) is JSON in which a Buffer is the string `:base64:<base64>` and any other
 * string starting with `:` gets one more `:` in front; it builds and revives that text in JavaScript, value by
 * value, which cost about 1 s of CPU per 2,000 jobs. The same text comes from V8's JSON.stringify / JSON.parse
 * whenever there is nothing to escape or revive, which is almost always: those values go the native way, every
 * other one through keyv's own functions, so what is stored, and what was stored before, reads and writes the same.
 */
function useNativeJson(keyv: Keyv): void {
  if (!keyv.serialize || !keyv.deserialize) return;
  const format = nativeJsonFormat(keyv.serialize, keyv.deserialize);
  keyv.serialize = format.serialize;
  keyv.deserialize = format.deserialize;
}

/** keyv's format (`serialize`, `deserialize`: keyv's own) through V8's JSON wherever that gives the same text or value. */
export function nativeJsonFormat(serialize: Serialize, deserialize: Deserialize): { serialize: Serialize; deserialize: Deserialize } {
  return {
    serialize: (data) => (isPlainJson(data) ? JSON.stringify(data) : serialize(data)),
    deserialize: <V>(text: string) => (mayNeedReviving(text) ? deserialize<V>(text) : (JSON.parse(text) as DeserializedData<V>)),
  };
}

/**
 * Whether JSON.stringify writes `data` exactly as @keyv/serialize does: null, booleans, numbers, strings not starting
 * with `:`, and arrays (without holes or undefined) and plain objects of those (an undefined property is left out
 * by both). Anything else — a Buffer, a Date, a class instance, a function — goes through keyv's serializer.
 */
export function isPlainJson(data: unknown): boolean {
  switch (typeof data) {
    case 'string':
      return data.charCodeAt(0) !== COLON;
    case 'number':
    case 'boolean':
      return true;
    case 'object': {
      if (data === null) return true;
      const proto: unknown = Object.getPrototypeOf(data);
      if (proto === Array.prototype) {
        const items = data as unknown[];
        for (let i = 0; i < items.length; i++) if (items[i] === undefined || !isPlainJson(items[i])) return false;
        return true;
      }
      if (proto !== Object.prototype && proto !== null) return false;
      const record = data as Record<string, unknown>;
      for (const key in record) {
        const value = record[key];
        if (value !== undefined && !isPlainJson(value)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

const COLON = 58;
/**
 * A string value (at the top, in an array or after a key) whose first character is `:`, written as is or escaped:
 * the only values keyv's reviver changes. Matches more than that (a key ending in `:`), never less.
 */
const REVIVED_STRING = /(?:^|[[,:])\s*"(?::|\\u)/;

/** Whether keyv's reviver could change anything in `text`; when not, JSON.parse alone gives the same value. */
export function mayNeedReviving(text: string): boolean {
  return REVIVED_STRING.test(text);
}

/** A stored text keyv cannot parse comes back as Unreadable instead of an error, so get() can tell it from a storage failure. */
function keepUnparsable(keyv: Keyv): void {
  const parse = keyv.deserialize;
  keyv.deserialize = <V>(data: string) => {
    try {
      return parse?.<V>(data);
    } catch {
      return { value: new Unreadable(data) as V };
    }
  };
}

/** The Storage contract over a backend: every failure a StorageError, writes clear the alarm, locks in-process then across processes. */
function storageOver({ kind, keyv, redis, sweep }: Backend, namespace: string, logger: Logger): Storage {
  const mutex = new LocalMutex();
  const alarm = new StorageAlarm(logger);
  const distributedLock = redis ? redisLock(redis, namespace, logger) : <T>(_name: string, fn: () => Promise<T>) => fn();
  return {
    kind,
    alarm,
    redis: redis ? { client: redis, prefix: `${namespace}:` } : undefined,
    get: <T>(key: string) =>
      guard('get', key, async () => {
        const value: unknown = await keyv.get(key);
        if (value instanceof Unreadable) throw new CorruptValueError(key, value.raw);
        return value as T | undefined;
      }),
    set: (key, value, ttlMs) =>
      guard('set', key, async () => {
        if ((await keyv.set(key, value, ttlMs)) === false) throw new Error('the store did not accept the write');
        alarm.clear();
      }),
    delete: (key) =>
      guard('delete', key, async () => {
        await keyv.delete(key);
      }),
    withLock: (name, fn) => mutex.run(name, () => distributedLock(name, fn)),
    sweepExpired: () => guard('sweep', `${namespace}:*`, sweep),
    close: async () => {
      await keyv.disconnect();
    },
  };
}

async function guard<T>(op: StorageError['op'], key: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof StorageError || err instanceof CorruptValueError) throw err;
    throw new StorageError(op, key, err);
  }
}

/** A lock across processes: only its holder's token releases it, and its time to live frees it if the holder dies. */
function redisLock(client: RedisLike, namespace: string, logger: Logger) {
  return async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const key = `${namespace}:lock:${name}`;
    const token = randomUUID();
    await acquireRedisLock(client, key, token);
    try {
      return await fn();
    } finally {
      await client.eval(UNLOCK, { keys: [key], arguments: [token] }).catch((err: unknown) => {
        logger.warn({ err, lock: name }, 'could not release storage lock; it expires by itself');
      });
    }
  };
}

async function acquireRedisLock(client: RedisLike, key: string, token: string): Promise<void> {
  const deadline = Date.now() + LOCK_TTL_MS * 2;
  for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
    if ((await guard('lock', key, () => client.set(key, token, { NX: true, PX: LOCK_TTL_MS }))) === 'OK') return;
    if (Date.now() > deadline) throw new StorageError('lock', key, new Error('timed out waiting for the lock'));
    await new Promise((r) => setTimeout(r, wait));
  }
}

/**
 * Deletes expired records now and then every `intervalMs` (keyv only drops an expired record when it is read, so
 * on SQLite job records, kept results and markers would otherwise pile up for ever). Failures are logged and the
 * next sweep tries again.
 */
export function startSweeper(storage: Storage, intervalMs: number, logger: Logger): { stop(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  const sweep = () => {
    running = storage.sweepExpired().then(
      (deleted) => logger[deleted > 0 ? 'info' : 'debug']({ deleted, storage: storage.kind }, 'storage swept of expired records'),
      (err: unknown) => logger.warn({ err }, 'storage sweep failed; the next one tries again'),
    );
  };
  sweep();
  const timer = setInterval(sweep, intervalMs).unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
