// Atomic read-modify-write of stored records (Storage.atomic). On Redis it is a compare-and-set (redis-atomic.ts):
// the records are read, the change is worked out, and one Lua script writes it only if none of them changed since,
// or the whole step runs again. So a process that stalls while holding a storage lock (whose time to live then
// lapses, and another process takes it) cannot write over what the other wrote. On SQLite and in memory (one
// process, whose in-process lock the caller holds) it is a read, then the writes.
import { retryStorage } from './retry.js';
import { Unreadable } from './format.js';
import { CorruptValueError, type AtomicDecide } from './types.js';

export type { AtomicDecide, AtomicStep, AtomicWrite } from './types.js';

export { Unreadable };

/** Waits before putting back a record a step had written when a later write of the same step failed, ms. */
const UNDO_DELAYS_MS = [100, 500, 2000];

/**
 * The atomic step over get / set / delete, for storage with one process (SQLite, memory): reads, decides, writes
 * one after another; when a write fails, the records already written are put back (retried a few times), so the
 * step lands all or nothing as far as anyone can tell — the caller holds the lock that serializes the writers.
 */
export async function sequentialAtomic<T>(
  ops: { get(key: string): Promise<unknown>; set(key: string, value: unknown, ttlMs?: number): Promise<void>; delete(key: string): Promise<void> },
  keys: readonly string[],
  decide: AtomicDecide<T>,
  onUndoFailed: (key: string, err: unknown) => void = () => undefined,
): Promise<T> {
  const values = await Promise.all(keys.map((key) => readValue(ops, key)));
  const { writes, result } = await decide(values);
  const before = new Map<string, { value: unknown; ttlMs: number | undefined }>();
  try {
    for (const w of writes) {
      const ttlMs = 'delete' in w ? undefined : w.ttlMs;
      const was = before.get(w.key) ?? { value: keys.includes(w.key) ? values[keys.indexOf(w.key)] : await readValue(ops, w.key), ttlMs };
      if ('delete' in w) await ops.delete(w.key);
      else await ops.set(w.key, w.value, w.ttlMs);
      before.set(w.key, was); // written: put back if a later write fails
    }
  } catch (err) {
    for (const [key, { value, ttlMs }] of before) {
      if (value instanceof Unreadable) continue; // nothing readable to put back
      await retryStorage(() => (value === undefined ? ops.delete(key) : ops.set(key, value, ttlMs)), UNDO_DELAYS_MS, () => undefined).catch((undoErr: unknown) => onUndoFailed(key, undoErr));
    }
    throw err;
  }
  return result;
}

/** A record's value, or an Unreadable with its stored text. */
export async function readValue(ops: { get(key: string): Promise<unknown> }, key: string): Promise<unknown> {
  try {
    return await ops.get(key);
  } catch (err) {
    if (err instanceof CorruptValueError) return new Unreadable(err.raw);
    throw err;
  }
}
