import { sniffImageType } from '../images/sniff.js';
import { fitToLimit } from '../images/fit.js';
import type { Logger } from '../logger.js';
import { CorruptValueError, retryStorage, StorageError, type Storage } from '../storage/index.js';
import { jobRecordProblem } from './schema.js';
import { ACTIVE_STEPS, type JobRecord } from './types.js';

/** Finished jobs are kept this long so their buttons (reroll, edit, retry) keep working. */
const FINISHED_TTL_MS = 30 * 24 * 3600 * 1000;
/** A quarantined record is kept this long for the operator to look at, then storage drops it. */
const QUARANTINE_TTL_MS = 30 * 24 * 3600 * 1000;
/**
 * Waits between attempts of a running job's save that storage refused (about a minute in all, plus each
 * attempt's own wait on a locked SQLite file): long enough to ride out a lock or a Redis failover, short enough
 * that the job then ends with a message instead of hanging.
 */
export const SAVE_RETRY_DELAYS_MS: readonly number[] = [500, 1000, 2000, 4000, 8000, 15_000, 30_000];
/** A new job's first save: one quick retry, then the command is refused ("try again shortly"). */
const NEW_JOB_RETRY_DELAYS_MS: readonly number[] = [250];

/** Longest an ended job waits to be taken out of the active index when no other index write comes first. */
const ENDED_REMOVAL_DELAY_MS = 1000;
/** Per-shard indexes of earlier versions looked for at start (shards 0 to this − 1). */
const LEGACY_SHARDS = 64;

export const DEFAULT_KEPT_RESULT_TTL_MS = 14 * 24 * 3600 * 1000;
export const DEFAULT_KEPT_RESULT_MAX_BYTES = 10 * 1024 * 1024;

export interface JobStoreOptions {
  logger?: Logger;
  /** Waits between save attempts, ms (SAVE_RETRY_DELAYS_MS). */
  retryDelaysMs?: readonly number[];
  /** How long a result that could not be delivered is kept for its member, ms. */
  keptResultTtlMs?: number;
  /** Largest kept result, bytes: a bigger one is re-encoded (WebP, then downscaled) to fit. */
  keptResultMaxBytes?: number;
}

/** Jobs remembered per member and server for /history. */
export const HISTORY_MAX = 50;
const historyKey = (guildId: string | null, userId: string): string => `jobs:history:${guildId ?? 'dm'}:${userId}`;

/**
 * Job records in storage, plus one index of the unfinished ones (`jobs:active`) so a restart — or another
 * process taking over a dead one's jobs — can find them. Which process works on a job is not the index's business
 * but its lease's (leases.ts): the index is shared by every process and shard, so changing the shard count strands
 * nothing. Before leases the index was per shard (`jobs:active:<shard>`); this process's old one is folded into
 * the shared one at start.
 *
 * Records are checked when read (jobRecordProblem): one that is unreadable or of the wrong shape is moved to
 * `jobs:quarantine:<id>` with one `OPERATOR:` line, and the bot goes on without it.
 */
export class JobStore {
  private readonly indexKey: string;
  /**
   * This process's copy of the index: a save of a job known to be in it — most of them, e.g. every poll — then
   * costs no lock and no index read. (Other processes add and remove only their own jobs, so a job of ours the copy
   * lists is in the index; a job that ends is always taken out under the lock.)
   */
  private activeIds: Set<string> | undefined;
  /** Index changes waiting for the write in flight to end (see updateIndex). */
  private readonly indexChanges: { change: (ids: Set<string>) => boolean; done: () => void; fail: (err: unknown) => void }[] = [];
  private indexWriting = false;
  /**
   * Jobs that ended and are still in the index: taken out with the next index write, or after
   * ENDED_REMOVAL_DELAY_MS. Nothing waits for that: an ended job's record says it ended, and an id left in the
   * index by a crash costs one read at the next start, which takes it out (see dropEnded).
   */
  private readonly endedIds = new Set<string>();
  private endedTimer: NodeJS.Timeout | undefined;
  private readonly log: Logger | undefined;
  private legacyFolded = false;
  private readonly retryDelaysMs: readonly number[];
  private readonly keptResultTtlMs: number;
  private readonly keptResultMaxBytes: number;

  constructor(
    private readonly storage: Storage,
    private readonly shardKey = '0',
    opts: JobStoreOptions = {},
  ) {
    this.indexKey = 'jobs:active';
    this.log = opts.logger?.child({ component: 'jobs' });
    this.retryDelaysMs = opts.retryDelaysMs ?? SAVE_RETRY_DELAYS_MS;
    this.keptResultTtlMs = opts.keptResultTtlMs ?? DEFAULT_KEPT_RESULT_TTL_MS;
    this.keptResultMaxBytes = opts.keptResultMaxBytes ?? DEFAULT_KEPT_RESULT_MAX_BYTES;
  }

  /** The job, checked; undefined when there is none or its record was bad (then it is quarantined). */
  async get(id: string): Promise<JobRecord | undefined> {
    const key = `job:${id}`;
    let value: unknown;
    try {
      value = await this.storage.get<unknown>(key);
    } catch (err) {
      if (!(err instanceof CorruptValueError)) throw err;
      await this.quarantine(id, key, err.raw, 'the stored text is not readable (truncated or not JSON)', () => this.dropRecord(id));
      return undefined;
    }
    if (value === undefined) return undefined;
    const problem = jobRecordProblem(value, id);
    if (problem === undefined) return value as JobRecord;
    await this.quarantine(id, key, value, problem, () => this.dropRecord(id));
    return undefined;
  }

  private async dropRecord(id: string): Promise<void> {
    await this.storage.delete(`job:${id}`);
    await this.updateIndex((ids) => ids.delete(id));
  }

  /**
   * Writes the record and keeps the active index in step with its step. A write storage refuses is retried with
   * back-off (a new job's only once: its command is refused instead); when every attempt failed, the operator is
   * told (once per outage) and the StorageError is thrown.
   */
  async save(job: JobRecord, opts: { newJob?: boolean } = {}): Promise<void> {
    const delays = opts.newJob ? NEW_JOB_RETRY_DELAYS_MS : this.retryDelaysMs;
    try {
      await retryStorage(
        () => this.saveOnce(job),
        delays,
        (err, attempt, delayMs) => this.log?.warn({ err, jobId: job.id, step: job.step, attempt, delayMs }, 'job save failed; retrying'),
      );
    } catch (err) {
      if (err instanceof StorageError) this.storage.alarm.raise(err, { jobId: job.id, step: job.step });
      throw err;
    }
  }

  private async saveOnce(job: JobRecord): Promise<void> {
    job.updatedAt = Date.now();
    const active = ACTIVE_STEPS.includes(job.step);
    await this.storage.set(`job:${job.id}`, job, active ? undefined : FINISHED_TTL_MS);
    if (!active) return this.dropEnded([job.id]);
    // Ended a moment ago and active again (a Retry): its id is still in the index, and stays.
    if (this.endedIds.delete(job.id)) return;
    if (this.activeIds?.has(job.id) === true) return;
    await this.updateIndex((ids) => {
      this.endedIds.delete(job.id);
      if (ids.has(job.id)) return false;
      ids.add(job.id);
      return true;
    });
  }

  /**
   * Takes ended jobs out of the index with its next write, at the latest after ENDED_REMOVAL_DELAY_MS: at 2,000
   * jobs, one index write (a read and a write of every active id) per ended job was most of the store's work.
   */
  dropEnded(ids: Iterable<string>): void {
    for (const id of ids) {
      this.activeIds?.delete(id);
      this.endedIds.add(id);
    }
    if (this.endedIds.size > 0) this.endedTimer ??= setTimeout(() => void this.flushIndex().catch(() => undefined), ENDED_REMOVAL_DELAY_MS).unref();
  }

  /** Writes the index now if ended jobs wait to leave it (at shutdown, so a restart does not read them again). */
  async flushIndex(): Promise<void> {
    clearTimeout(this.endedTimer);
    this.endedTimer = undefined;
    if (this.endedIds.size > 0) await this.updateIndex(() => false);
  }

  /**
   * Read-modify-write of the active index under its lock; `change` returns whether it changed anything. Resolves
   * once the index holding the change is stored. Changes that arrive while a write is in flight go together in the
   * next one (a group commit): the index is one record of every active id, so a burst of 2,000 new jobs written one
   * by one rewrote ~80 KB 2,000 times in a row, and each new job's acknowledgement waited behind the queue.
   */
  private updateIndex(change: (ids: Set<string>) => boolean): Promise<void> {
    return new Promise((done, fail) => {
      this.indexChanges.push({ change, done, fail });
      if (!this.indexWriting) void this.writeIndexChanges();
    });
  }

  private async writeIndexChanges(): Promise<void> {
    this.indexWriting = true;
    try {
      while (this.indexChanges.length > 0) {
        const batch = this.indexChanges.splice(0);
        let ended: string[] = [];
        try {
          await this.storage.withLock(this.indexKey, async () => {
            const ids = new Set(await this.readIndex());
            let changed = false;
            for (const { change } of batch) if (change(ids)) changed = true;
            // Ended jobs leave with this write (a job active again meanwhile was taken off the list by its save).
            clearTimeout(this.endedTimer);
            this.endedTimer = undefined;
            ended = [...this.endedIds];
            this.endedIds.clear();
            for (const id of ended) if (ids.delete(id)) changed = true;
            if (changed) await this.storage.set(this.indexKey, [...ids]);
            this.activeIds = ids;
            ended = [];
          });
        } catch (err) {
          // Nothing of this batch is stored: each caller's save retries (or fails) on its own, ended jobs wait for
          // the next write.
          for (const { fail } of batch) fail(err);
          this.dropEnded(ended);
          continue;
        }
        for (const { done } of batch) done();
      }
    } finally {
      this.indexWriting = false;
    }
  }

  /**
   * The index's ids. An unreadable or wrong-shaped index is quarantined and replaced by its usable ids (written
   * without the lock, as this may run under the lock already: at worst another process's concurrent change is
   * lost, and its next save of that job puts it back).
   */
  private async readIndex(): Promise<string[]> {
    let value: unknown;
    try {
      value = await this.storage.get<unknown>(this.indexKey);
    } catch (err) {
      if (!(err instanceof CorruptValueError)) throw err;
      value = err.raw;
    }
    if (value === undefined) return [];
    if (Array.isArray(value) && value.every((x) => typeof x === 'string')) return value as string[];
    const ids = Array.isArray(value) ? value.filter((x): x is string => typeof x === 'string') : [];
    await this.quarantine('index', this.indexKey, value, 'the active-job index is not a list of job ids', () => this.storage.set(this.indexKey, ids));
    return ids;
  }

  /** The ids of every unfinished job, of every process (after folding in this shard's index from before leases). */
  async activeJobIds(): Promise<string[]> {
    await this.foldLegacyIndex();
    const ids = await this.readIndex();
    // Not added to a copy this process keeps up to date already: an id read here may have left the index since.
    this.activeIds ??= new Set(ids.filter((id) => !this.endedIds.has(id)));
    return ids;
  }

  /**
   * The per-shard indexes of earlier versions (`jobs:active:<shard>`; on Redis for this shard and shards 0–63,
   * whatever the shard count was; on SQLite this shard's): their jobs join the shared index, once per process.
   */
  private async foldLegacyIndex(): Promise<void> {
    if (this.legacyFolded) return;
    // On SQLite (no atomic claim across processes) a shard folds only its own: its jobs stay its own.
    const others = this.storage.kind === 'redis' ? Array.from({ length: LEGACY_SHARDS }, (_, n) => String(n)) : [];
    const shards = new Set([this.shardKey, ...others]);
    for (const shard of shards) await this.foldLegacyShard(`jobs:active:${shard}`);
    this.legacyFolded = true;
  }

  private async foldLegacyShard(legacyKey: string): Promise<void> {
    const legacy = await this.storage.get<unknown>(legacyKey).catch(() => undefined);
    if (Array.isArray(legacy)) {
      const ids = legacy.filter((x): x is string => typeof x === 'string');
      await this.updateIndex((all) => {
        const before = all.size;
        for (const id of ids) all.add(id);
        return all.size !== before;
      });
      await this.storage.delete(legacyKey);
      this.log?.info({ jobs: ids.length, legacyKey }, 'folded the per-shard job index into the shared one');
    }
  }

  /**
   * Unfinished jobs by id (all of them by default). A bad record is quarantined and skipped: one broken job must
   * not stop the bot from starting (under `restart: unless-stopped` that would be a restart loop that serves nobody).
   */
  async listActive(only?: Iterable<string>): Promise<JobRecord[]> {
    const ids = only ?? (await this.activeJobIds());
    const jobs: JobRecord[] = [];
    for (const id of ids) {
      const job = await this.get(id);
      if (job && ACTIVE_STEPS.includes(job.step)) jobs.push(job);
    }
    return jobs;
  }

  /**
   * Moves a bad record out of the way: kept under `jobs:quarantine:<id>` (with why) for the operator, removed
   * from where it was (`remove`), and one `OPERATOR:` line. Never throws: if storage cannot do it now, the record
   * is skipped and met again next time.
   */
  private async quarantine(id: string, key: string, value: unknown, problem: string, remove: () => Promise<void>): Promise<void> {
    const quarantineKey = `jobs:quarantine:${id}`;
    let moved = true;
    try {
      await this.storage.set(quarantineKey, { key, problem, at: Date.now(), value }, QUARANTINE_TTL_MS);
      await remove();
    } catch (err) {
      moved = false;
      this.log?.error({ err, key }, 'could not quarantine a bad record');
    }
    this.log?.error(
      { alert: true, key, quarantineKey, problem, moved },
      moved
        ? `OPERATOR: a stored job record was bad and was moved aside (${key} → ${quarantineKey}: ${problem}); the bot goes on without it`
        : `OPERATOR: a stored job record is bad (${key}: ${problem}) and could not be moved aside now; the bot skips it`,
    );
  }

  /** Results that exist but could not be delivered, per member, to hand over on their next interaction. */
  async addUndelivered(userId: string, jobId: string): Promise<void> {
    const key = `jobs:undelivered:${userId}`;
    await this.retrying({ jobId, what: 'kept-result list' }, () =>
      this.storage.withLock(key, async () => {
        const ids = await this.undeliveredIds(key);
        // The list lives as long as the newest result on it.
        await this.storage.set(key, ids.includes(jobId) ? ids : [...ids, jobId], this.keptResultTtlMs);
      }),
    );
  }

  /** Drops a job from the member's kept results (it reached them after all, e.g. when a restart retried it). */
  async removeUndelivered(userId: string, jobId: string): Promise<void> {
    const key = `jobs:undelivered:${userId}`;
    await this.retrying({ jobId, what: 'kept-result list' }, () =>
      this.storage.withLock(key, async () => {
        const ids = await this.undeliveredIds(key);
        if (!ids.includes(jobId)) return;
        const rest = ids.filter((x) => x !== jobId);
        if (rest.length > 0) await this.storage.set(key, rest, this.keptResultTtlMs);
        else await this.storage.delete(key);
      }),
    );
  }

  /** Runs `fn` as the only hand-over of this member's kept results (two interactions at once must not send one twice). */
  async withHandOverLock(userId: string, fn: () => Promise<void>): Promise<void> {
    await this.storage.withLock(`handover:${userId}`, fn);
  }

  async listUndelivered(userId: string): Promise<string[]> {
    return this.undeliveredIds(`jobs:undelivered:${userId}`);
  }

  private async undeliveredIds(key: string): Promise<string[]> {
    const value = await this.readLenient(key);
    return Array.isArray(value) ? value.filter((x): x is string => typeof x === 'string') : [];
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


  /**
   * Keeps a result for its member for the kept-result lifetime, re-encoded to the size cap if it is larger (it is
   * fitted to the member's upload limit again at hand-over anyway).
   */
  async putResult(jobId: string, bytes: Buffer): Promise<void> {
    const fitted = await fitToLimit(bytes, sniffImageType(bytes) ?? 'image/png', this.keptResultMaxBytes);
    if (fitted.compressed) this.log?.info({ jobId, bytes: bytes.length, kept: fitted.data.length }, 'kept result re-encoded to the size cap');
    await this.retrying({ jobId, what: 'kept result' }, () => this.storage.set(`result:${jobId}`, fitted.data.toString('base64'), this.keptResultTtlMs));
  }

  async getResult(jobId: string): Promise<Buffer | undefined> {
    const b64 = await this.readLenient(`result:${jobId}`);
    return typeof b64 === 'string' ? Buffer.from(b64, 'base64') : undefined;
  }

  /** A read of a small derived record where an unreadable value counts as none (the next write replaces it). */
  private async readLenient(key: string): Promise<unknown> {
    try {
      return await this.storage.get<unknown>(key);
    } catch (err) {
      if (err instanceof CorruptValueError) return undefined;
      throw err;
    }
  }

  /** A write of a running job's data, retried like a save. */
  private async retrying(ctx: { jobId: string; what: string }, fn: () => Promise<void>): Promise<void> {
    try {
      await retryStorage(fn, this.retryDelaysMs, (err, attempt, delayMs) => this.log?.warn({ err, ...ctx, attempt, delayMs }, 'job data write failed; retrying'));
    } catch (err) {
      if (err instanceof StorageError) this.storage.alarm.raise(err, ctx);
      throw err;
    }
  }
}
