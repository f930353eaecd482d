import type { Logger } from '../logger.js';
import type { Storage } from './types.js';

/**
 * Deletes expired records now and then every `intervalMs` (keyv only drops an expired record when it is read, so
 * on SQLite job records, kept results and markers would otherwise pile up for ever). Failures are logged and the
 * next sweep tries again.
 */
export function startSweeper(storage: Storage, intervalMs: number, logger: Logger): { stop(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  const sweep = () => {
    running = storage.sweepExpired().then(
      (deleted) => logger[deleted > 0 ? 'info' : 'debug']({ deleted, storage: storage.kind }, 'storage swept of expired records'),
      (err: unknown) => logger.warn({ err }, 'storage sweep failed; the next one tries again'),
    );
  };
  sweep();
  const timer = setInterval(sweep, intervalMs).unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
