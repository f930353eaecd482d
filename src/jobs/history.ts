import { LostRecordError, moveAside, readValue, Unreadable, type AtomicWrite, type Storage } from '../storage/index.js';
import { FINISHED_TTL_MS } from './records.js';

/** Jobs remembered per member and server for /history. */
export const HISTORY_MAX = 50;
const historyKey = (guildId: string | null, userId: string): string => `jobs:history:${guildId ?? 'dm'}:${userId}`;
const PROBLEM = 'the member history is not a list of job ids';

/** The ids of a stored history, or undefined when it is not one (unreadable text, another shape). */
function idsOf(v: unknown): string[] | undefined {
  if (v === undefined) return [];
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : undefined;
}

const rawOf = (v: unknown): string => (v instanceof Unreadable ? v.raw : (JSON.stringify(v) ?? String(v)));

/**
 * Each member's recent jobs on a server (or in DMs), newest first: at most HISTORY_MAX ids, kept as long as the job
 * records they point to. Every change is atomic (a compare-and-set on Redis). A history that cannot be read is
 * moved aside (one OPERATOR line) and starts again.
 */
export class MemberHistory {
  constructor(
    private readonly storage: Storage,
    private readonly now: () => number = Date.now,
  ) {}

  async add(job: { id: string; requester: { guildId: string | null; userId: string } }): Promise<void> {
    const key = historyKey(job.requester.guildId, job.requester.userId);
    const quarantined = await this.storage.withLock(key, () =>
      this.storage.atomic([key], ([v]) => {
        const ids = idsOf(v);
        const writes: AtomicWrite[] = [{ key, value: [job.id, ...(ids ?? []).filter((x) => x !== job.id)].slice(0, HISTORY_MAX), ttlMs: FINISHED_TTL_MS }];
        const aside = ids ? undefined : moveAside({ key, raw: rawOf(v), problem: PROBLEM }, this.now());
        if (aside) writes.push(aside);
        return { writes, result: aside?.key };
      }),
    );
    if (quarantined) this.told(key, quarantined, 'it starts again with this request');
  }

  /**
   * A member's job ids on a server (`null`: DMs and user-installed use), newest first. Throws a LostRecordError
   * when the history could not be read (it is moved aside then, and is empty from now on).
   */
  async ids(guildId: string | null, userId: string): Promise<string[]> {
    const key = historyKey(guildId, userId);
    const ids = idsOf(await readValue(this.storage, key));
    if (ids) return ids;
    const quarantined = await this.storage.atomic([key], ([v]) => {
      if (idsOf(v)) return { writes: [], result: undefined };
      const aside = moveAside({ key, raw: rawOf(v), problem: PROBLEM }, this.now());
      return { writes: [aside, { key, delete: true }], result: aside.key };
    });
    if (quarantined) this.told(key, quarantined, 'the member was told, and it starts again with their next request');
    throw new LostRecordError('memberHistory', key);
  }

  private told(key: string, quarantineKey: string, instead: string): void {
    this.storage.alarm.movedAside({ key, quarantineKey, problem: PROBLEM, instead });
  }
}
