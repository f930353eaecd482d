// The storage room: one Storage contract (types.ts) over keyv, on SQLite (one process), Redis (several processes
// or machines) or memory (unit tests). Every failure is a StorageError; locks are in-process, and across processes
// on Redis.
import Keyv from 'keyv';
import type { Logger } from '../logger.js';
import { StorageAlarm } from './alarm.js';
import type { Backend } from './backend.js';
import { keepUnparsable, Unreadable, useNativeJson } from './format.js';
import { guard, LocalMutex, redisLock } from './locks.js';
import { openRedis } from './redis.js';
import { DEFAULT_BUSY_TIMEOUT_MS, openSqlite } from './sqlite.js';
import { CorruptValueError, type Storage, type StorageOptions } from './types.js';

export { StorageAlarm } from './alarm.js';
export { isPlainJson, mayNeedReviving, nativeJsonFormat } from './format.js';
export { retryStorage } from './retry.js';
export { DEFAULT_BUSY_TIMEOUT_MS } from './sqlite.js';
export { startSweeper } from './sweeper.js';
export { CorruptValueError, StorageError, type RedisHandle, type RedisScripts, type Storage, type StorageOptions } from './types.js';

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
  const keyv = new Keyv({ store: new Map(), namespace, throwOnErrors: true });
  return over({ kind: 'memory', keyv, redis: undefined, sweep: async () => 0 }, namespace, logger);
}

function over(backend: Backend, namespace: string, logger: Logger): Storage {
  backend.keyv.on('error', (err: unknown) => logger.debug({ err }, 'storage error'));
  useNativeJson(backend.keyv);
  keepUnparsable(backend.keyv);
  return storageOver(backend, namespace, logger);
}

/** The Storage contract over a backend: every failure a StorageError, writes clear the alarm, locks in-process then across processes. */
function storageOver({ kind, keyv, redis, sweep }: Backend, namespace: string, logger: Logger): Storage {
  const mutex = new LocalMutex();
  const alarm = new StorageAlarm(logger);
  const distributedLock = redis ? redisLock(redis, namespace, logger) : <T>(_name: string, fn: () => Promise<T>) => fn();
  return {
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
    sweepExpired: () => guard('sweep', `${namespace}:*`, sweep),
    close: async () => {
      await keyv.disconnect();
    },
  };
}
