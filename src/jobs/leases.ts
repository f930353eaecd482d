// Which process works on which job: a job belongs to the process holding its lease, not to a shard.
//
// Each process has an id and a heartbeat key (`lease:proc:<id>`, expiring after JOB_LEASE_MS, renewed every third
// of it). A job's owner is written in `lease:job:<jobId>`. Claiming a job is one atomic script: it succeeds when
// the job has no owner, is ours already, or its owner's heartbeat has expired (the process died) — so two live
// processes never both take a job, and a dead process's jobs are taken over within about JOB_LEASE_MS. A job's
// owner record is dropped when the job ends. With SQLite (one process) every claim is ours: the same calls; with
// several shards on one SQLite file, each keeps its own jobs (ShardJobLeases).
import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger.js';
import { CorruptValueError, StorageError, type RedisScripts, type Storage } from '../storage/index.js';

export interface JobLeases {
  /** This process's id (in logs). */
  readonly processId: string;
  /** Makes the jobs ours when nobody live holds them; returns the ids that are ours now. */
  claim(jobIds: readonly string[]): Promise<Set<string>>;
  /** The job ended: nobody needs to own it any more. Never throws (an owner record left behind is harmless). */
  release(jobId: string): Promise<void>;
  /** Stops renewing and gives our jobs up at once, for another process to take over. */
  close(): Promise<void>;
}

/** An owner record outlives any job (JOB_MAX_AGE_MS is at most a day); it only guards against a leak. */
const OWNER_TTL_MS = 2 * 24 * 3600_000;

/** One process on its own storage (SQLite): every job it sees is its own. */
export class LocalJobLeases implements JobLeases {
  readonly processId = randomUUID();
  async claim(jobIds: readonly string[]): Promise<Set<string>> {
    return new Set(jobIds);
  }
  async release(): Promise<void> {}
  async close(): Promise<void> {}
}

/**
 * Several processes on one SQLite file (`start:shards` without Redis): SQLite has no atomic claim across processes
 * and no heartbeat, so a job stays with the shard that took it (`lease:job:<jobId>` = `<shard>/<count>`), as it did
 * before leases; when the shard count changed, shard 0 of the new layout takes over the jobs of the old one. Jobs of
 * a shard that died wait for its restart (use Redis for takeover).
 */
export class ShardJobLeases implements JobLeases {
  readonly processId: string;

  constructor(
    private readonly storage: Storage,
    private readonly shard: number,
    private readonly shardCount: number,
  ) {
    this.processId = `${shard}/${shardCount}`;
  }

  async claim(jobIds: readonly string[]): Promise<Set<string>> {
    const mine = new Set<string>();
    for (const id of jobIds) {
      const owner = await this.owner(id);
      const otherLayout = owner !== undefined && owner.split('/')[1] !== String(this.shardCount);
      if (owner !== undefined && owner !== this.processId && !(this.shard === 0 && otherLayout)) continue;
      if (owner !== this.processId) await this.storage.set(`lease:job:${id}`, this.processId, OWNER_TTL_MS);
      mine.add(id);
    }
    return mine;
  }

  async release(jobId: string): Promise<void> {
    try {
      if ((await this.owner(jobId)) === this.processId) await this.storage.delete(`lease:job:${jobId}`);
    } catch {
      // an owner record left behind expires by itself
    }
  }

  async close(): Promise<void> {}

  private async owner(jobId: string): Promise<string | undefined> {
    const value = await this.storage.get<unknown>(`lease:job:${jobId}`).catch((err: unknown) => {
      if (err instanceof CorruptValueError) return undefined;
      throw err;
    });
    return typeof value === 'string' ? value : undefined;
  }
}

/** KEYS: none. ARGV: me, key prefix, owner-record ttl ms, job ids. Returns the ids claimed. */
const CLAIM = `local me, p, ttl = ARGV[1], ARGV[2], ARGV[3]
local mine = {}
for i = 4, #ARGV do
  local key = p .. 'lease:job:' .. ARGV[i]
  local owner = redis.call('GET', key)
  if (not owner) or owner == me or redis.call('EXISTS', p .. 'lease:proc:' .. owner) == 0 then
    redis.call('SET', key, me, 'PX', ttl)
    mine[#mine + 1] = ARGV[i]
  end
end
return mine`;

const RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";


export class RedisJobLeases implements JobLeases {
  readonly processId = randomUUID();
  private readonly timer: NodeJS.Timeout;
  private readonly heartbeatKey: string;
  private closed = false;
  private beaten = false;

  private constructor(
    private readonly redis: RedisScripts,
    private readonly prefix: string,
    private readonly leaseMs: number,
    private readonly log: Logger | undefined,
  ) {
    this.heartbeatKey = `${prefix}lease:proc:${this.processId}`;
    this.timer = setInterval(() => void this.beat().catch((err: unknown) => this.log?.warn({ err }, 'could not renew this process’s job lease; other processes take its jobs over if it lapses')), Math.max(100, Math.floor(leaseMs / 3))).unref();
  }

  /** Starts the heartbeat (the first beat is written before this resolves). */
  static async start(redis: RedisScripts, prefix: string, leaseMs: number, log?: Logger): Promise<RedisJobLeases> {
    const leases = new RedisJobLeases(redis, prefix, leaseMs, log);
    await leases.beat();
    return leases;
  }

  private async beat(): Promise<void> {
    if (this.closed) return;
    const previous = await this.redis.eval("local old = redis.call('GET', KEYS[1]) redis.call('SET', KEYS[1], '1', 'PX', ARGV[1]) return old", {
      keys: [this.heartbeatKey],
      arguments: [String(this.leaseMs)],
    });
    if (this.beaten && previous === null) {
      this.log?.error({ alert: true, processId: this.processId, leaseMs: this.leaseMs }, 'OPERATOR: this process could not renew its job lease in time (Redis unreachable, or the process stalled): other processes may have taken its jobs over; raise JOB_LEASE_MS above Redis failover times');
    }
    this.beaten = true;
  }

  async claim(jobIds: readonly string[]): Promise<Set<string>> {
    if (jobIds.length === 0) return new Set();
    try {
      const mine = (await this.redis.eval(CLAIM, { keys: [], arguments: [this.processId, this.prefix, String(OWNER_TTL_MS), ...jobIds] })) as string[];
      return new Set(mine);
    } catch (err) {
      // A storage failure like any other: a new command is refused with "try again shortly", a scan tries again.
      throw new StorageError('lock', `lease:job:${jobIds[0] ?? ''}`, err);
    }
  }

  async release(jobId: string): Promise<void> {
    await this.redis.eval(RELEASE, { keys: [`${this.prefix}lease:job:${jobId}`], arguments: [this.processId] }).catch((err: unknown) => this.log?.debug({ err, jobId }, 'could not drop a job’s owner record'));
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.redis.eval("return redis.call('DEL', KEYS[1])", { keys: [this.heartbeatKey], arguments: [] }).catch(() => undefined);
  }
}
