import { StorageError } from './types.js';

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
