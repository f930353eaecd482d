// Which process works on which job: a job belongs to the process holding its lease, not to a shard.
//
// With Redis, several processes share the jobs (redis-leases.ts: heartbeats, epochs, fenced saves). With SQLite (one
// process) every claim is ours and the fence is trivial: the same calls; with several shards on one SQLite file, each
// keeps its own jobs (ShardJobLeases). See fence.ts for what the calls promise.
import { randomUUID } from 'node:crypto';
import { CorruptValueError, type Storage } from '../storage/index.js';
import { OWNER_TTL_MS, type JobLeases } from './fence.js';

export type { JobLeases } from './fence.js';

/** The fence of one process on its own storage: nobody else can take a job, so every check passes. */
abstract class TrivialFence {
  protected readonly held = new Set<string>();
  constructor(protected readonly storage: Storage) {}
  holds(jobId: string): boolean {
    return this.held.has(jobId);
  }
  async write(_jobId: string, key: string, value: unknown, ttlMs: number | undefined): Promise<void> {
    await this.storage.set(key, value, ttlMs);
  }
  async check(): Promise<void> {}
  mayTakeOver(): boolean {
    return true;
  }
  async renew(): Promise<void> {}
  onLost(): void {}
  async close(): Promise<void> {}
}

/** One process on its own storage (SQLite): every job it sees is its own. */
export class LocalJobLeases extends TrivialFence implements JobLeases {
  readonly processId = randomUUID();
  async claim(jobIds: readonly string[]): Promise<Set<string>> {
    for (const id of jobIds) this.held.add(id);
    return new Set(jobIds);
  }
  async release(jobId: string): Promise<void> {
    this.held.delete(jobId);
  }
}

/**
 * Several processes on one SQLite file (`start:shards` without Redis): SQLite has no atomic claim across processes
 * and no heartbeat, so a job stays with the shard that took it (`lease:job:<jobId>` = `<shard>/<count>`), as it did
 * before leases; when the shard count changed, shard 0 of the new layout takes over the jobs of the old one. Jobs of
 * a shard that died wait for its restart (use Redis for takeover).
 */
export class ShardJobLeases extends TrivialFence implements JobLeases {
  readonly processId: string;

  constructor(
    storage: Storage,
    private readonly shard: number,
    private readonly shardCount: number,
  ) {
    super(storage);
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
      this.held.add(id);
    }
    return mine;
  }

  async release(jobId: string): Promise<void> {
    this.held.delete(jobId);
    try {
      if ((await this.owner(jobId)) === this.processId) await this.storage.delete(`lease:job:${jobId}`);
    } catch {
      // an owner record left behind expires by itself
    }
  }

  private async owner(jobId: string): Promise<string | undefined> {
    const value = await this.storage.get<unknown>(`lease:job:${jobId}`).catch((err: unknown) => {
      if (err instanceof CorruptValueError) return undefined;
      throw err;
    });
    return typeof value === 'string' ? value : undefined;
  }
}

export { RedisJobLeases } from './redis-leases.js';
