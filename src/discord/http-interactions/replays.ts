// An interaction is handled once. A signed request is valid for MAX_TIMESTAMP_SKEW_MS either way: one captured and
// sent again within that time, to this worker or another, must not start a second job (and charge its member twice).
// Discord itself never sends an interaction twice. On Redis the first sighting is recorded for every worker.
import type { RedisScripts } from '../../storage/types.js';
import { MAX_TIMESTAMP_SKEW_MS } from './signature.js';

/** How long an id is remembered: past it, the request's timestamp is refused anyway. */
const REMEMBER_MS = 2 * MAX_TIMESTAMP_SKEW_MS + 10_000;

const SEEN = "return redis.call('set', KEYS[1], '1', 'NX', 'PX', ARGV[1]) and 1 or 0";

export interface ReplayGuard {
  /** True the first time `id` is seen (by any worker sharing the store); false for a replay. */
  firstSeen(id: string): Promise<boolean>;
}

/** Within this process: ids with when they were seen, in that order, dropped once older than REMEMBER_MS. */
export class LocalReplayGuard implements ReplayGuard {
  readonly #seen = new Map<string, number>();
  constructor(private readonly now: () => number) {}

  firstSeen(id: string): Promise<boolean> {
    const now = this.now();
    for (const [old, at] of this.#seen) {
      if (now - at < REMEMBER_MS) break;
      this.#seen.delete(old);
    }
    if (this.#seen.has(id)) return Promise.resolve(false);
    this.#seen.set(id, now);
    return Promise.resolve(true);
  }
}

/** For every worker on one Redis: SET NX with an expiry, in one round trip. */
export class RedisReplayGuard implements ReplayGuard {
  constructor(private readonly redis: { client: RedisScripts; prefix: string }) {}

  async firstSeen(id: string): Promise<boolean> {
    const set = await this.redis.client.eval(SEEN, { keys: [`${this.redis.prefix}interaction:seen:${id}`], arguments: [String(REMEMBER_MS)] });
    return Number(set) === 1;
  }
}
