// The Luma account's figures as every process on one Redis shares them, for operators (/bot-status, /metrics): the
// POSTs in the account's sliding minute and the jobs holding its concurrency slots (the shared budget's keys), the
// outages found and probes sent (the shared breaker's counts), and the jobs that failed in the last hour, by code.
// One process alone (SQLite) has none of this: its own view is the account's.
import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger.js';
import type { RedisScripts } from '../storage/index.js';
import { RPM_WINDOW_MS } from './luma-budget.js';
import { NOW_LUA } from './shared-budget.js';

const HOUR_MS = 3_600_000;

export interface AccountFigures {
  /** POSTs in the account's last minute, every process's. */
  postsLastMinute: number;
  /** Jobs at Luma now, every process's (their concurrency slots). */
  jobsAtLuma: number;
  /** Times a process found Luma down (an outage opened), and probes sent while it was, since the counts began. */
  outages: number;
  probes: number;
  /** Jobs that failed in the last hour, every process's, most frequent code first. */
  failures: { total: number; byCode: [string, number][] };
}

/** KEYS: failures. ARGV: code|id. */
const RECORD = `${NOW_LUA}
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ${HOUR_MS})
redis.call('PEXPIRE', KEYS[1], ${HOUR_MS})
return 1`;

/** KEYS: posts, slots, breaker counts, failures. Returns {posts, at Luma, outages, probes, failure members…}. */
const READ = `${NOW_LUA}
local out = {redis.call('ZCOUNT', KEYS[1], now - ${RPM_WINDOW_MS}, '+inf'), redis.call('ZCOUNT', KEYS[2], now, '+inf')}
local counts = redis.call('HMGET', KEYS[3], 'opened', 'probes')
out[3] = tonumber(counts[1]) or 0
out[4] = tonumber(counts[2]) or 0
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], now - ${HOUR_MS}, '+inf')) do out[#out + 1] = m end
return out`;

/** The account's figures on Redis: failures are recorded here, the rest is read from the shared budget and breaker. */
export class SharedAccountFigures {
  private readonly keys: string[];

  constructor(
    private readonly redis: RedisScripts,
    prefix: string,
    private readonly log?: Logger,
  ) {
    this.keys = [`${prefix}luma:posts`, `${prefix}luma:slots`, `${prefix}luma:breaker:counts`, `${prefix}ops:failures`];
  }

  /** A job failed with `code` (one-way: a failed write is only logged). */
  recordFailure(code: string): void {
    void this.redis.eval(RECORD, { keys: [this.keys[3] ?? ''], arguments: [`${code}|${randomUUID()}`] }).catch((err: unknown) => this.log?.debug({ err }, 'could not count a failure for the account'));
  }

  async read(): Promise<AccountFigures> {
    const reply = (await this.redis.eval(READ, { keys: this.keys, arguments: [] })) as unknown[];
    const byCode = new Map<string, number>();
    for (const member of reply.slice(4)) {
      const code = String(member).split('|')[0] ?? 'other';
      byCode.set(code, (byCode.get(code) ?? 0) + 1);
    }
    const total = reply.length - 4;
    return {
      postsLastMinute: Number(reply[0]),
      jobsAtLuma: Number(reply[1]),
      outages: Number(reply[2]),
      probes: Number(reply[3]),
      failures: { total, byCode: [...byCode].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])) },
    };
  }
}
