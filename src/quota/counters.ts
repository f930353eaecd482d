import type { Logger } from '../logger.js';
import { retryStorage, type Storage } from '../storage/index.js';
import type { QuotaCharge } from './types.js';

/** Waits between attempts to put back a counter of a reservation that failed half-way, ms. */
const UNDO_RETRY_DELAYS_MS = [100, 500, 2000];

/**
 * Adds every charge to its counter, one write at a time. Each write either lands or throws (a StorageError); when
 * one fails, the counters already written are put back (still under the locks, so nobody saw them), and the
 * reservation fails: the member is charged all of it or nothing.
 */
export async function chargeAll(storage: Storage, log: Logger, jobId: string, charges: readonly QuotaCharge[], current: readonly number[], now: number): Promise<void> {
  const ttl = (c: QuotaCharge) => Math.max(1000, c.expiresAt - now);
  const written: QuotaCharge[] = [];
  try {
    for (const [i, c] of charges.entries()) {
      await storage.set(c.key, (current[i] ?? 0) + c.amount, ttl(c));
      written.push(c);
    }
  } catch (err) {
    for (const c of written) {
      const before = current[charges.indexOf(c)] ?? 0;
      await retryStorage(() => storage.set(c.key, before, ttl(c)), UNDO_RETRY_DELAYS_MS, () => undefined).catch((undoErr: unknown) => {
        log.error({ err: undoErr, jobId, key: c.key, amount: c.amount }, 'a reservation failed half-way and a counter it had raised could not be put back');
      });
    }
    throw err;
  }
}

/** Takes `names` one inside the other, in the order given (the counters' fixed order), then runs `fn`. */
export function withLocks<T>(storage: Storage, names: readonly string[], fn: () => Promise<T>): Promise<T> {
  const [first, ...rest] = names;
  if (first === undefined) return fn();
  return storage.withLock(first, () => withLocks(storage, rest, fn));
}
