import type { Clock, Timer } from '../clock.js';
import type { Logger } from '../logger.js';
import { readValue, Unreadable, type AtomicWrite, type Storage } from '../storage/index.js';
import { quarantineWrite, tellQuarantined } from './quarantine.js';
import { ACTIVE_STEPS } from './types.js';

/** Longest an ended job waits to be taken out of the active index when no other index write comes first. */
const ENDED_REMOVAL_DELAY_MS = 1000;
/** Per-shard indexes of earlier versions looked for at start (shards 0 to this − 1). */
const LEGACY_SHARDS = 64;
const INDEX_KEY = 'jobs:active';
const BAD_INDEX = { id: 'index', key: INDEX_KEY, problem: 'the active-job index is not a list of job ids' };

/** The ids of a stored index, and whether it was not one (unreadable, or not a list of ids: its usable ids then). */
function parseIndex(value: unknown): { ids: string[]; bad: boolean } {
  if (value === undefined) return { ids: [], bad: false };
  if (Array.isArray(value) && value.every((x) => typeof x === 'string')) return { ids: value as string[], bad: false };
  return { ids: Array.isArray(value) ? value.filter((x): x is string => typeof x === 'string') : [], bad: true };
}

/**
 * One index of the unfinished jobs (`jobs:active`), shared by every process and shard, so a restart — or another
 * process taking over a dead one's jobs — can find them. Which process works on a job is not the index's business
 * but its lease's (leases.ts), so changing the shard count strands nothing. Before leases the index was per shard
 * (`jobs:active:<shard>`); this process's old one is folded into the shared one at start.
 */
export class ActiveIndex {
  /**
   * This process's copy of the index: a save of a job known to be in it — most of them, e.g. every poll — then
   * costs no lock and no index read. (Other processes add and remove only their own jobs, so a job of ours the copy
   * lists is in the index; a job that ends is always taken out under the lock.)
   */
  private activeIds: Set<string> | undefined;
  /** Index changes waiting for the write in flight to end (see update). */
  private readonly changes: { change: (ids: Set<string>) => boolean; done: () => void; fail: (err: unknown) => void }[] = [];
  private writing = false;
  /**
   * Jobs that ended and are still in the index: taken out with the next index write, or after
   * ENDED_REMOVAL_DELAY_MS. Nothing waits for that: an ended job's record says it ended, and an id left in the
   * index by a crash costs one read at the next start, which takes it out (see dropEnded).
   */
  private readonly endedIds = new Set<string>();
  private endedTimer: Timer | undefined;
  private legacyFolded = false;
  private healedFromRecords = false;
  /**
   * The unfinished jobs this process saved: each index write puts back any of them the index lost, and so does a
   * read that finds one missing (the index heals from this process's job records).
   */
  private readonly mine = new Set<string>();

  constructor(
    private readonly env: { storage: Storage; clock: Clock; log: Logger | undefined },
    private readonly shardKey: string,
  ) {}

  /** A save of an active job: puts it in the index unless this process knows it is there. */
  async keep(jobId: string): Promise<void> {
    this.mine.add(jobId);
    // Ended a moment ago and active again (a Retry): its id is still in the index, and stays.
    if (this.endedIds.delete(jobId)) return;
    if (this.activeIds?.has(jobId) === true) return;
    await this.update((ids) => {
      this.endedIds.delete(jobId);
      if (ids.has(jobId)) return false;
      ids.add(jobId);
      return true;
    });
  }

  /** Takes a job out now (its record is gone). */
  async remove(jobId: string): Promise<void> {
    this.mine.delete(jobId);
    await this.update((ids) => ids.delete(jobId));
  }

  /**
   * Takes ended jobs out of the index with its next write, at the latest after ENDED_REMOVAL_DELAY_MS: at 2,000
   * jobs, one index write (a read and a write of every active id) per ended job was most of the store's work.
   */
  dropEnded(ids: Iterable<string>): void {
    for (const id of ids) {
      this.mine.delete(id);
      this.activeIds?.delete(id);
      this.endedIds.add(id);
    }
    if (this.endedIds.size > 0) this.endedTimer ??= this.env.clock.setTimeout(() => void this.flush().catch(() => undefined), ENDED_REMOVAL_DELAY_MS).unref();
  }

  /** Writes the index now if ended jobs wait to leave it (at shutdown, so a restart does not read them again). */
  async flush(): Promise<void> {
    this.env.clock.clearTimeout(this.endedTimer);
    this.endedTimer = undefined;
    if (this.endedIds.size > 0) await this.update(() => false);
  }

  /** The ids of every unfinished job, of every process (after folding in this shard's index from before leases). */
  async ids(): Promise<string[]> {
    await this.foldLegacy();
    await this.healFromRecords();
    const { ids, bad } = parseIndex(await this.read());
    // Not added to a copy this process keeps up to date already: an id read here may have left the index since.
    this.activeIds ??= new Set(ids.filter((id) => !this.endedIds.has(id)));
    // A bad index is replaced (and moved aside), and jobs of ours it lost are put back, by a write now.
    if (bad || this.lost(new Set(ids)).length > 0) await this.update(() => false);
    return ids;
  }

  /**
   * Read-modify-write of the index under its lock; `change` returns whether it changed anything. Resolves once the
   * index holding the change is stored. Changes that arrive while a write is in flight go together in the next one
   * (a group commit): the index is one record of every active id, so a burst of 2,000 new jobs written one by one
   * rewrote ~80 KB 2,000 times in a row, and each new job's acknowledgement waited behind the queue.
   */
  private update(change: (ids: Set<string>) => boolean): Promise<void> {
    return new Promise((done, fail) => {
      this.changes.push({ change, done, fail });
      if (!this.writing) void this.writeChanges();
    });
  }

  private async writeChanges(): Promise<void> {
    this.writing = true;
    try {
      while (this.changes.length > 0) {
        const batch = this.changes.splice(0);
        // Ended jobs leave with this write (a job active again meanwhile was taken off the list by its save); taken
        // off the list at once, so a save of one of them from now on goes into the next write.
        const ended = new Set<string>();
        let stored: { ids: Set<string>; bad: boolean; healed: string[] };
        try {
          stored = await this.env.storage.withLock(INDEX_KEY, () => this.env.storage.atomic([INDEX_KEY], (values) => this.apply(values[0], batch, ended)));
        } catch (err) {
          // Nothing of this batch is stored: each caller's save retries (or fails) on its own, ended jobs wait for
          // the next write.
          for (const { fail } of batch) fail(err);
          this.dropEnded(ended);
          continue;
        }
        this.activeIds = stored.ids;
        if (stored.bad) tellQuarantined(this.env, BAD_INDEX, true);
        if (stored.healed.length > 0) this.env.log?.warn({ jobIds: stored.healed }, 'put jobs of this process back into the active-job index, which had lost them');
        for (const { done } of batch) done();
      }
    } finally {
      this.writing = false;
    }
  }

  /**
   * One index write, decided from the stored index (`value`): the batch's changes, the ended jobs out, this
   * process's unfinished jobs in. A bad index is moved aside in the same write, replaced by its usable ids. May run
   * more than once (the index changed meanwhile, on Redis).
   */
  private apply(value: unknown, batch: readonly { change: (ids: Set<string>) => boolean }[], ended: Set<string>) {
    const parsed = parseIndex(value);
    const ids = new Set(parsed.ids);
    let changed = parsed.bad;
    for (const { change } of batch) if (change(ids)) changed = true;
    this.env.clock.clearTimeout(this.endedTimer);
    this.endedTimer = undefined;
    for (const id of this.endedIds) ended.add(id);
    this.endedIds.clear();
    for (const id of ended) if (ids.delete(id)) changed = true;
    const healed = this.lost(ids).filter((id) => !ended.has(id));
    for (const id of healed) ids.add(id);
    if (healed.length > 0) changed = true;
    const writes: AtomicWrite[] = changed ? [{ key: INDEX_KEY, value: [...ids] }] : [];
    if (parsed.bad) writes.push(quarantineWrite(this.env, { ...BAD_INDEX, value: value instanceof Unreadable ? value.raw : value }));
    return { writes, result: { ids, bad: parsed.bad, healed } };
  }

  /**
   * Unfinished jobs of this process that were in the index and are not in `stored` any more: another writer lost
   * them (a write over a stale copy, or a bad index replaced by the ids it still had).
   */
  private lost(stored: ReadonlySet<string>): string[] {
    return [...this.mine].filter((id) => this.activeIds?.has(id) === true && !stored.has(id));
  }

  /** The stored index as it is (an Unreadable when it does not parse). */
  private async read(): Promise<unknown> {
    return readValue(this.env.storage, INDEX_KEY);
  }

  /**
   * Once per process, at its first look: unfinished job records the index does not list (lost by a bad index or a
   * write over a stale copy) are put back, so the jobs of a process that died meanwhile are not stranded.
   */
  private async healFromRecords(): Promise<void> {
    if (this.healedFromRecords) return;
    let added: string[] = [];
    try {
      const found = (await this.env.storage.findKeys('job:', 'step', ACTIVE_STEPS)).map((key) => key.slice('job:'.length));
      if (found.length > 0) {
        await this.update((ids) => {
          added = found.filter((id) => !ids.has(id) && !this.endedIds.has(id));
          for (const id of added) ids.add(id);
          return added.length > 0;
        });
      }
    } catch (err) {
      // Tried again at the next look; meanwhile the index is read as it is.
      this.env.log?.warn({ err }, 'could not look for unfinished jobs the active-job index lost; trying again at the next look');
      return;
    }
    if (added.length > 0) this.env.log?.warn({ jobIds: added }, 'put unfinished jobs back into the active-job index, which had lost them');
    this.healedFromRecords = true;
  }

  /**
   * The per-shard indexes of earlier versions (`jobs:active:<shard>`; on Redis for this shard and shards 0–63,
   * whatever the shard count was; on SQLite this shard's): their jobs join the shared index, once per process.
   */
  private async foldLegacy(): Promise<void> {
    if (this.legacyFolded) return;
    // On SQLite (no atomic claim across processes) a shard folds only its own: its jobs stay its own.
    const others = this.env.storage.kind === 'redis' ? Array.from({ length: LEGACY_SHARDS }, (_, n) => String(n)) : [];
    for (const shard of new Set([this.shardKey, ...others])) await this.foldLegacyShard(`jobs:active:${shard}`);
    this.legacyFolded = true;
  }

  private async foldLegacyShard(legacyKey: string): Promise<void> {
    const legacy = await this.env.storage.get<unknown>(legacyKey).catch(() => undefined);
    if (!Array.isArray(legacy)) return;
    const ids = legacy.filter((x): x is string => typeof x === 'string');
    await this.update((all) => {
      const before = all.size;
      for (const id of ids) all.add(id);
      return all.size !== before;
    });
    await this.env.storage.delete(legacyKey);
    this.env.log?.info({ jobs: ids.length, legacyKey }, 'folded the per-shard job index into the shared one');
  }
}
