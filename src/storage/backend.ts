import type Keyv from 'keyv';
import type { FindKeys } from './find.js';
import type { RedisLike } from './locks.js';
import type { Storage } from './types.js';

/** An opened store: keyv over it, and what only that kind of store can do. */
export interface Backend {
  readonly kind: Storage['kind'];
  readonly keyv: Keyv;
  /** The Redis client, for locks across processes and scripts; undefined on SQLite and in memory. */
  readonly redis: RedisLike | undefined;
  readonly sweep: () => Promise<number>;
  /** Storage.findKeys, where the data is (undefined: over the Redis client, see find.ts). */
  readonly findKeys?: FindKeys;
}
