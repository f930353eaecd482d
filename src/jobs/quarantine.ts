import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { Storage } from '../storage/index.js';

/** A quarantined record is kept this long for the operator to look at, then storage drops it. */
const QUARANTINE_TTL_MS = 30 * 24 * 3600 * 1000;

/**
 * Moves a bad record out of the way: kept under `jobs:quarantine:<id>` (with why) for the operator, removed from
 * where it was (`remove`), and one `OPERATOR:` line. Never throws: if storage cannot do it now, the record is
 * skipped and met again next time.
 */
export async function quarantine(
  env: { storage: Storage; clock: Clock; log: Logger | undefined },
  bad: { id: string; key: string; value: unknown; problem: string },
  remove: () => Promise<void>,
): Promise<void> {
  const { id, key, value, problem } = bad;
  const quarantineKey = `jobs:quarantine:${id}`;
  let moved = true;
  try {
    await env.storage.set(quarantineKey, { key, problem, at: env.clock.now(), value }, QUARANTINE_TTL_MS);
    await remove();
  } catch (err) {
    moved = false;
    env.log?.error({ err, key }, 'could not quarantine a bad record');
  }
  env.log?.error(
    { alert: true, key, quarantineKey, problem, moved },
    moved
      ? `OPERATOR: a stored job record was bad and was moved aside (${key} → ${quarantineKey}: ${problem}); the bot goes on without it`
      : `OPERATOR: a stored job record is bad (${key}: ${problem}) and could not be moved aside now; the bot skips it`,
  );
}
