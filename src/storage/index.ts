// The storage room: one Storage contract (types.ts) over keyv, on SQLite (one process), Redis (several processes
// or machines) or memory (unit tests). Every failure is a StorageError; locks are in-process, and across processes
// on Redis.
import Keyv from 'keyv';
import type { Logger } from '../logger.js';
import { StorageAlarm } from './alarm.js';
import type { Backend } from './backend.js';
import { keepUnparsable, Unreadable, useNativeJson } from './format.js';
import { sequentialAtomic } from './atomic.js';
import { mapFindKeys, redisFindKeys } from './find.js';
import { guard, LocalMutex, redisLock } from './locks.js';
import { openRedis } from './redis.js';
import { redisAtomic } from './redis-atomic.js';
import { DEFAULT_BUSY_TIMEOUT_MS, openSqlite } from './sqlite.js';
import { CorruptValueError, type Storage, type StorageOptions } from './types.js';

export { StorageAlarm } from './alarm.js';
export { readValue, sequentialAtomic, Unreadable, type AtomicDecide, type AtomicStep, type AtomicWrite } from './atomic.js';
export { moveAside, quarantineKey, type MoveAside } from './quarantine.js';
export { isPlainJson, mayNeedReviving, nativeJsonFormat } from './format.js';
export { retryStorage } from './retry.js';
export { DEFAULT_BUSY_TIMEOUT_MS } from './sqlite.js';
export { startSweeper } from './sweeper.js';
export { CorruptValueError, LostRecordError, StorageError, type RedisHandle, type RedisScripts, type Storage, type StorageOptions } from './types.js';

/** Opens the store a STORAGE_URL names: `sqlite://path` or `redis://…` (`rediss://` for TLS). */
export async function createStorage(url: string, logger: Logger, opts: StorageOptions = {}): Promise<Storage> {
  const namespace = opts.namespace ?? 'bot';
  const backend = url.startsWith('sqlite://')
    ? await openSqlite(url, namespace, opts.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS)
    : await openRedis(url, namespace);
  return over(backend, namespace, logger);
}

/**
 * Storage in this process's memory, with keyv's own Map store and the same contract as the others (format,
 * errors, locks). For unit tests of what sits on storage; nothing survives the process.
 */
export function createMemoryStorage(logger: Logger, opts: Pick<StorageOptions, 'namespace'> = {}): Storage {
  const namespace = opts.namespace ?? 'bot';
  const map = new Map<string, unknown>();
  const keyv = new Keyv({ store: map, namespace, throwOnErrors: true });
  return over({ kind: 'memory', keyv, redis: undefined, sweep: async () => 0, findKeys: mapFindKeys(map, namespace) }, namespace, logger);
}

function over(backend: Backend, namespace: string, logger: Logger): Storage {
  backend.keyv.on('error', (err: unknown) => logger.debug({ err }, 'storage error'));
  useNativeJson(backend.keyv);
  keepUnparsable(backend.keyv);
  return storageOver(backend, namespace, logger);
}

/** The Storage contract over a backend: every failure a StorageError, writes clear the alarm, locks in-process then across processes. */
function storageOver({ kind, keyv, redis, sweep, findKeys }: Backend, namespace: string, logger: Logger): Storage {
  const mutex = new LocalMutex();
  const alarm = new StorageAlarm(logger);
  const distributedLock = redis ? redisLock(redis, namespace, logger) : <T>(_name: string, fn: () => Promise<T>) => fn();
  const { serialize, deserialize } = keyv;
  const find = findKeys ?? (redis ? redisFindKeys(redis, namespace) : async () => []);
  const casOnRedis = redis && serialize && deserialize ? redisAtomic(redis, namespace, { serialize, deserialize }) : undefined;
  const storage: Storage = {
    kind,
    alarm,
    redis: redis
      ? {
          client: redis,
          prefix: `${namespace}:`,
          // As keyv over @keyv/redis writes it: `<namespace>::<key>`, `{"value":…,"expires":…}`.
          entry: async (key, value, ttlMs) => ({
            key: `${namespace}::${key}`,
            text: String(await keyv.serialize?.({ value, ...(ttlMs !== undefined ? { expires: Date.now() + ttlMs } : {}) })),
          }),
        }
      : undefined,
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
    atomic: (keys, decide) =>
      casOnRedis
        ? casOnRedis(keys, decide)
        : sequentialAtomic(storage, keys, decide, (key, err) => logger.error({ err, key }, 'a change failed half-way and a record it had written could not be put back')),
    sweepExpired: () => guard('sweep', `${namespace}:*`, sweep),
    findKeys: (prefix, field, values) => guard('get', `${prefix}*`, () => find(prefix, field, values)),
    close: async () => {
      await keyv.disconnect();
    },
  };
  return storage;
}
