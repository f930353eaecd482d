import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { AtomicWrite, Storage } from '../storage/index.js';

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
  const { key } = bad;
  const aside = quarantineWrite(env, bad);
  let moved = true;
  try {
    await env.storage.set(aside.key, aside.value, aside.ttlMs);
    await remove();
  } catch (err) {
    moved = false;
    env.log?.error({ err, key }, 'could not quarantine a bad record');
  }
  tellQuarantined(env, bad, moved);
}

/** The write that keeps a bad record under `jobs:quarantine:<id>` (with why), for an atomic step that also replaces it. */
export function quarantineWrite(env: { clock: Clock }, bad: { id: string; key: string; value: unknown; problem: string }): AtomicWrite & { value: unknown; ttlMs: number } {
  const { id, key, value, problem } = bad;
  return { key: `jobs:quarantine:${id}`, value: { key, problem, at: env.clock.now(), value }, ttlMs: QUARANTINE_TTL_MS };
}

/** The one `OPERATOR:` line of a bad record: moved aside, or met and skipped for now. */
export function tellQuarantined(env: { log: Logger | undefined }, bad: { id: string; key: string; problem: string }, moved: boolean): void {
  const { key, problem } = bad;
  const quarantineKey = `jobs:quarantine:${bad.id}`;
  env.log?.error(
    { alert: true, key, quarantineKey, problem, moved },
    moved
      ? `OPERATOR: a stored job record was bad and was moved aside (${key} → ${quarantineKey}: ${problem}); the bot goes on without it`
      : `OPERATOR: a stored job record is bad (${key}: ${problem}) and could not be moved aside now; the bot skips it`,
  );
}
