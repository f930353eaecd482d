// In-memory storage for unit tests (the same Storage contract as SQLite and Redis: src/storage), and a way to make
// it refuse chosen operations the way a full disk or an unreachable Redis does (a StorageError).
import { createMemoryStorage, sequentialAtomic, StorageError, type Storage } from '../../src/storage/index.js';
import type { Logger } from '../../src/logger.js';

export type StorageOp = 'get' | 'set' | 'delete' | 'lock';

/**
 * Memory storage whose operations on keys matching a rule throw a StorageError: `refuse(op, key, times, after)` lets
 * `after` matching operations through, then refuses `times` of them.
 */
export function refusableStorage(logger: Logger): { storage: Storage; refuse(op: StorageOp, key: RegExp, times?: number, after?: number): void; allow(): void } {
  const inner = createMemoryStorage(logger);
  let rules: { op: StorageOp; key: RegExp; left: number; pass: number }[] = [];
  const check = (op: StorageOp, key: string) => {
    const rule = rules.find((r) => r.op === op && r.key.test(key) && r.left > 0);
    if (!rule) return;
    if (rule.pass > 0) {
      rule.pass--;
      return;
    }
    rule.left--;
    throw new StorageError(op, key, new Error('refused by the test'));
  };
  const storage: Storage = {
    kind: inner.kind,
    alarm: inner.alarm,
    redis: undefined,
    get: async (key) => (check('get', key), inner.get(key)),
    set: async (key, value, ttl) => (check('set', key), inner.set(key, value, ttl)),
    delete: async (key) => (check('delete', key), inner.delete(key)),
    withLock: async (name, fn) => (check('lock', name), inner.withLock(name, fn)),
    // Over this storage's own get/set/delete, so the refusals apply to each read and write of a step.
    atomic: (keys, decide) => sequentialAtomic(storage, keys, decide),
    sweepExpired: () => inner.sweepExpired(),
    findKeys: (prefix, field, values) => inner.findKeys(prefix, field, values),
    close: () => inner.close(),
  };
  return {
    storage,
    refuse: (op, key, times = Infinity, after = 0) => rules.push({ op, key, left: times, pass: after }),
    allow: () => (rules = []),
  };
}
