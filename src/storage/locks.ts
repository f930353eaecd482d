import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger.js';
import { CorruptValueError, StorageError } from './types.js';

/** The part of the Redis client the storage room uses: SET NX PX for locks, EVAL for scripts. */
export interface RedisLike {
  set(key: string, value: string, opts: { NX: true; PX: number }): Promise<string | null>;
  eval(script: string, opts: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

const UNLOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
/** A lock held longer than this is presumed to belong to a dead process. */
const LOCK_TTL_MS = 15_000;

/** Exclusive sections by name within this process: each waits for the one before it. */
export class LocalMutex {
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

/** A lock across processes: only its holder's token releases it, and its time to live frees it if the holder dies. */
export function redisLock(client: RedisLike, namespace: string, logger: Logger) {
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

/** Runs a storage operation: any failure becomes a StorageError (a CorruptValueError stays what it is). */
export async function guard<T>(op: StorageError['op'], key: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof StorageError || err instanceof CorruptValueError) throw err;
    throw new StorageError(op, key, err);
  }
}
