import type { Storage } from '../storage/index.js';
import { FINISHED_TTL_MS } from './records.js';

/** Jobs remembered per member and server for /history. */
export const HISTORY_MAX = 50;
const historyKey = (guildId: string | null, userId: string): string => `jobs:history:${guildId ?? 'dm'}:${userId}`;

/**
 * Each member's recent jobs on a server (or in DMs), newest first: at most HISTORY_MAX ids, kept as long as the job
 * records they point to.
 */
export class MemberHistory {
  constructor(private readonly storage: Storage) {}

  async add(job: { id: string; requester: { guildId: string | null; userId: string } }): Promise<void> {
    const key = historyKey(job.requester.guildId, job.requester.userId);
    await this.storage.withLock(key, async () => {
      const ids = (await this.storage.get<string[]>(key)) ?? [];
      await this.storage.set(key, [job.id, ...ids.filter((x) => x !== job.id)].slice(0, HISTORY_MAX), FINISHED_TTL_MS);
    });
  }

  /** A member's job ids on a server (`null`: DMs and user-installed use), newest first. */
  async ids(guildId: string | null, userId: string): Promise<string[]> {
    return (await this.storage.get<string[]>(historyKey(guildId, userId))) ?? [];
  }
}
