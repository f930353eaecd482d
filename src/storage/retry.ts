import { systemClock, type Clock } from '../clock.js';
import { StorageError } from './types.js';

/** Storage failures retried with back-off: `delaysMs` are the waits between attempts (so attempts = length + 1). */
export async function retryStorage<T>(
  fn: () => Promise<T>,
  delaysMs: readonly number[],
  onRetry: (err: StorageError, attempt: number, delayMs: number) => void,
  clock: Clock = systemClock,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const delay = delaysMs[attempt - 1];
      if (!(err instanceof StorageError) || delay === undefined) throw err;
      onRetry(err, attempt, delay);
      // The clock's sleep does not hold the process open: a stopping process does not wait for a retry.
      await clock.sleep(delay);
    }
  }
}
