import type { Storage } from '../storage.js';
import { ACTIVE_STEPS, type JobRecord } from './types.js';

/** Finished jobs are kept this long so their buttons (reroll, edit, retry) keep working. */
const FINISHED_TTL_MS = 30 * 24 * 3600 * 1000;

/** Jobs remembered per member and server for /history. */
export const HISTORY_MAX = 50;
const historyKey = (guildId: string | null, userId: string): string => `jobs:history:${guildId ?? 'dm'}:${userId}`;

/**
 * Job records in storage, plus an index of the unfinished ones so a restart can find them. The index is per
 * shard: a job is worked on by the process that accepted it (the one Discord routed its guild to), so two
 * shards never write the same index.
 */
export class JobStore {
  private readonly indexKey: string;
  /**
   * This process's copy of its shard's index (only this process writes it): a save that does not change whether
   * the job is active — most of them, e.g. every poll — then costs no lock and no index read.
   */
  private activeIds: Set<string> | undefined;

  constructor(
    private readonly storage: Storage,
    shardKey = '0',
  ) {
    this.indexKey = `jobs:active:${shardKey}`;
  }

  async get(id: string): Promise<JobRecord | undefined> {
    return this.storage.get<JobRecord>(`job:${id}`);
  }

  /** Writes the record and keeps the active index in step with its step. */
  async save(job: JobRecord): Promise<void> {
    job.updatedAt = Date.now();
    const active = ACTIVE_STEPS.includes(job.step);
    await this.storage.set(`job:${job.id}`, job, active ? undefined : FINISHED_TTL_MS);
    if (this.activeIds?.has(job.id) === active) return;
    await this.storage.withLock(this.indexKey, async () => {
      const ids = new Set((await this.storage.get<string[]>(this.indexKey)) ?? []);
      const changed = active ? !ids.has(job.id) : ids.has(job.id);
      if (active) ids.add(job.id);
      else ids.delete(job.id);
      if (changed) await this.storage.set(this.indexKey, [...ids]);
      this.activeIds = ids;
    });
  }

  async listActive(): Promise<JobRecord[]> {
    const ids = (await this.storage.get<string[]>(this.indexKey)) ?? [];
    this.activeIds = new Set(ids);
    const jobs: JobRecord[] = [];
    for (const id of ids) {
      const job = await this.get(id);
      if (job && ACTIVE_STEPS.includes(job.step)) jobs.push(job);
    }
    return jobs;
  }

  /** Results that exist but could not be delivered, per member, to hand over on their next interaction. */
  async addUndelivered(userId: string, jobId: string): Promise<void> {
    const key = `jobs:undelivered:${userId}`;
    await this.storage.withLock(key, async () => {
      const ids = (await this.storage.get<string[]>(key)) ?? [];
      if (!ids.includes(jobId)) await this.storage.set(key, [...ids, jobId]);
    });
  }

  /** Drops a job from the member's kept results (it reached them after all, e.g. when a restart retried it). */
  async removeUndelivered(userId: string, jobId: string): Promise<void> {
    const key = `jobs:undelivered:${userId}`;
    await this.storage.withLock(key, async () => {
      const ids = (await this.storage.get<string[]>(key)) ?? [];
      if (!ids.includes(jobId)) return;
      const rest = ids.filter((x) => x !== jobId);
      if (rest.length > 0) await this.storage.set(key, rest);
      else await this.storage.delete(key);
    });
  }

  async listUndelivered(userId: string): Promise<string[]> {
    return (await this.storage.get<string[]>(`jobs:undelivered:${userId}`)) ?? [];
  }

  /**
   * Remembers which job a delivered result message shows, so "Edit image" on that message can edit the result
   * by its generation_id (no re-upload). Kept as long as the job record.
   */
  async linkMessage(messageId: string, jobId: string): Promise<void> {
    await this.storage.set(`jobmsg:${messageId}`, jobId, FINISHED_TTL_MS);
  }

  /** The id of the job whose result is that Discord message, if the bot delivered it. */
  async jobForMessage(messageId: string): Promise<string | undefined> {
    return this.storage.get<string>(`jobmsg:${messageId}`);
  }

  /**
   * Adds a job to its member's history on its server (or in DMs), newest first, for /history. Bounded: the list
   * keeps HISTORY_MAX ids and lives as long as the job records it points to.
   */
  async addToHistory(job: JobRecord): Promise<void> {
    const key = historyKey(job.discord.guildId, job.discord.userId);
    await this.storage.withLock(key, async () => {
      const ids = (await this.storage.get<string[]>(key)) ?? [];
      await this.storage.set(key, [job.id, ...ids.filter((x) => x !== job.id)].slice(0, HISTORY_MAX), FINISHED_TTL_MS);
    });
  }

  /** A member's job ids on a server (`null`: DMs and user-installed use), newest first. */
  async history(guildId: string | null, userId: string): Promise<string[]> {
    return (await this.storage.get<string[]>(historyKey(guildId, userId))) ?? [];
  }

  async putResult(jobId: string, bytes: Buffer): Promise<void> {
    await this.storage.set(`result:${jobId}`, bytes.toString('base64'), FINISHED_TTL_MS);
  }

  async getResult(jobId: string): Promise<Buffer | undefined> {
    const b64 = await this.storage.get<string>(`result:${jobId}`);
    return b64 === undefined ? undefined : Buffer.from(b64, 'base64');
  }
}
