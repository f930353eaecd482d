import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import Keyv from 'keyv';
import KeyvSqlite from '@keyv/sqlite';
import KeyvRedis from '@keyv/redis';
import type { Logger } from './logger.js';

/**
 * Storage is one keyv instance; callers namespace their keys by prefix (`job:…`, `quota:…`). One instance
 * (rather than one per namespace) keeps a single SQLite connection / Redis client per process.
 */
export interface Storage {
  readonly kind: 'sqlite' | 'redis';
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown, ttlMs?: number): Promise<void>;
  delete(key: string): Promise<void>;
  /**
   * Runs `fn` while holding an exclusive lock on `name`: in-process always, and across processes on Redis
   * (several shards share one Redis). Read-modify-write of a shared record must go through here.
   */
  withLock<T>(name: string, fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
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

export async function createStorage(url: string, logger: Logger): Promise<Storage> {
  const mutex = new LocalMutex();
  let keyv: Keyv;
  let redis: RedisLike | undefined;
  let kind: Storage['kind'];
  if (url.startsWith('sqlite://')) {
    const file = resolve(url.slice('sqlite://'.length));
    await mkdir(dirname(file), { recursive: true });
    // busyTimeout: two processes on one file (e.g. deploy-commands while the bot runs) wait instead of failing.
    const store = new KeyvSqlite({ uri: `sqlite://${file}`, busyTimeout: 10_000 });
    keyv = new Keyv({ store, namespace: 'bot' });
    kind = 'sqlite';
  } else {
    const store = new KeyvRedis(url);
    keyv = new Keyv({ store, namespace: 'bot', useKeyPrefix: false });
    redis = (await store.getClient()) as unknown as RedisLike;
    kind = 'redis';
  }
  keyv.on('error', (err: unknown) => logger.error({ err }, 'storage error'));

  const distributedLock = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    if (!redis) return fn();
    const key = `bot:lock:${name}`;
    const token = randomUUID();
    const deadline = Date.now() + LOCK_TTL_MS * 2;
    for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
      if ((await redis.set(key, token, { NX: true, PX: LOCK_TTL_MS })) === 'OK') break;
      if (Date.now() > deadline) throw new Error(`Timed out waiting for storage lock ${name}`);
      await new Promise((r) => setTimeout(r, wait));
    }
    try {
      return await fn();
    } finally {
      await redis.eval(UNLOCK, { keys: [key], arguments: [token] }).catch((err: unknown) => {
        logger.warn({ err, lock: name }, 'could not release storage lock; it expires by itself');
      });
    }
  };

  return {
    kind,
    get: async <T>(key: string) => (await keyv.get(key)) as T | undefined,
    set: async (key, value, ttlMs) => {
      await keyv.set(key, value, ttlMs);
    },
    delete: async (key) => {
      await keyv.delete(key);
    },
    withLock: (name, fn) => mutex.run(name, () => distributedLock(name, fn)),
    close: async () => {
      await keyv.disconnect();
    },
  };
}
