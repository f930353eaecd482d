import { systemClock, type Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import { CorruptValueError, retryStorage, StorageError, type Storage } from '../storage/index.js';
import { ActiveIndex } from './active-index.js';
import { quarantine } from './quarantine.js';
import { jobRecordProblem } from './schema.js';
import { ACTIVE_STEPS, type JobRecord } from './types.js';
import { upgradeRecord } from './upgrade.js';

/** Finished jobs are kept this long so their buttons (reroll, edit, retry) keep working. */
export const FINISHED_TTL_MS = 30 * 24 * 3600 * 1000;
/**
 * Waits between attempts of a running job's save that storage refused (about a minute in all, plus each
 * attempt's own wait on a locked SQLite file): long enough to ride out a lock or a Redis failover, short enough
 * that the job then ends with a message instead of hanging.
 */
export const SAVE_RETRY_DELAYS_MS: readonly number[] = [500, 1000, 2000, 4000, 8000, 15_000, 30_000];
/** A new job's first save: one quick retry, then the command is refused ("try again shortly"). */
const NEW_JOB_RETRY_DELAYS_MS: readonly number[] = [250];

export interface JobRecordsOptions {
  logger?: Logger;
  clock?: Clock;
  /** Which shard this process is (the index of earlier versions was per shard). Default "0". */
  shardKey?: string;
  /** Waits between save attempts, ms (SAVE_RETRY_DELAYS_MS). */
  retryDelaysMs?: readonly number[];
  /** Why a stored reply route is not one the delivery side can use (it alone knows their shape). */
  routeProblem?: (route: unknown) => string | undefined;
}

/** How a record is written: Storage.set, or a write fenced by the job's lease (fence.ts), which may refuse it. */
export type RecordWrite = (key: string, value: unknown, ttlMs: number | undefined) => Promise<void>;

/** What records and the stores beside them (kept results, history) share: storage, the clock, the log. */
export interface StoreEnv {
  readonly storage: Storage;
  readonly clock: Clock;
  readonly log: Logger | undefined;
  readonly retryDelaysMs: readonly number[];
}

/**
 * Job records in storage (`job:<id>`), and the index of the unfinished ones (active-index.ts). Records are checked
 * when read (jobRecordProblem): one that is unreadable or of the wrong shape is moved to `jobs:quarantine:<id>` with
 * one `OPERATOR:` line, and the bot goes on without it. A record of an earlier version is upgraded as it is read.
 */
export class JobRecords {
  readonly env: StoreEnv;
  private readonly index: ActiveIndex;
  private readonly routeProblem: ((route: unknown) => string | undefined) | undefined;

  constructor(storage: Storage, opts: JobRecordsOptions = {}) {
    this.env = { storage, clock: opts.clock ?? systemClock, log: opts.logger?.child({ component: 'jobs' }), retryDelaysMs: opts.retryDelaysMs ?? SAVE_RETRY_DELAYS_MS };
    this.index = new ActiveIndex(this.env, opts.shardKey ?? '0');
    this.routeProblem = opts.routeProblem;
  }

  /** The job, checked; undefined when there is none or its record was bad (then it is quarantined). */
  async get(id: string): Promise<JobRecord | undefined> {
    const key = `job:${id}`;
    let value: unknown;
    try {
      value = await this.env.storage.get<unknown>(key);
    } catch (err) {
      if (!(err instanceof CorruptValueError)) throw err;
      await quarantine(this.env, { id, key, value: err.raw, problem: 'the stored text is not readable (truncated or not JSON)' }, () => this.drop(id));
      return undefined;
    }
    if (value === undefined) return undefined;
    upgradeRecord(value);
    const problem = jobRecordProblem(value, id, this.routeProblem);
    if (problem === undefined) return value as JobRecord;
    await quarantine(this.env, { id, key, value, problem }, () => this.drop(id));
    return undefined;
  }

  private async drop(id: string): Promise<void> {
    await this.env.storage.delete(`job:${id}`);
    await this.index.remove(id);
  }

  /**
   * Writes the record and keeps the active index in step with its step. A write storage refuses is retried with
   * back-off (a new job's only once: its command is refused instead); when every attempt failed, the operator is
   * told (once per outage) and the StorageError is thrown.
   */
  async save(job: JobRecord, opts: { newJob?: boolean; write?: RecordWrite } = {}): Promise<void> {
    const delays = opts.newJob ? NEW_JOB_RETRY_DELAYS_MS : this.env.retryDelaysMs;
    const write = opts.write ?? ((key, value, ttlMs) => this.env.storage.set(key, value, ttlMs));
    await retryingWrite(this.env, { jobId: job.id, step: job.step }, () => this.saveOnce(job, write), { delays, message: 'job save failed; retrying' });
  }

  private async saveOnce(job: JobRecord, write: RecordWrite): Promise<void> {
    job.updatedAt = this.env.clock.now();
    const active = ACTIVE_STEPS.includes(job.step);
    // Fenced (the job's lease: a compare-and-set on owner and epoch) when the engine's work writes it.
    await write(`job:${job.id}`, job, active ? undefined : FINISHED_TTL_MS);
    if (!active) return this.index.dropEnded([job.id]);
    await this.index.keep(job.id);
  }

  /** Ended jobs leave the index with its next write (see ActiveIndex.dropEnded). */
  dropEnded(ids: Iterable<string>): void {
    this.index.dropEnded(ids);
  }

  /** Writes the index now if ended jobs wait to leave it (at shutdown). */
  flushIndex(): Promise<void> {
    return this.index.flush();
  }

  /** The ids of every unfinished job, of every process. */
  activeJobIds(): Promise<string[]> {
    return this.index.ids();
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
}

/**
 * A write of a running job's data, retried with back-off when storage refuses it; when every attempt failed, the
 * operator is told (once per outage) and the StorageError is thrown.
 */
export async function retryingWrite(
  env: StoreEnv,
  ctx: Record<string, unknown>,
  fn: () => Promise<void>,
  opts: { delays?: readonly number[]; message?: string } = {},
): Promise<void> {
  try {
    await retryStorage(fn, opts.delays ?? env.retryDelaysMs, (err, attempt, delayMs) => env.log?.warn({ err, ...ctx, attempt, delayMs }, opts.message ?? 'job data write failed; retrying'), env.clock);
  } catch (err) {
    if (err instanceof StorageError) env.storage.alarm.raise(err, ctx);
    throw err;
  }
}
