import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import { StorageError, type Storage } from '../storage/index.js';
import type { GroupView } from './delivery.js';
import type { JobRecord } from './types.js';

/** Steps from which an image is reaching (or has reached) the answer, or is failing. */
const LANDING: ReadonlySet<JobRecord['step']> = new Set(['delivering', 'failing', 'done', 'failed', 'undelivered']);

/** How long the time of a group's last delivery is remembered (its pace only matters between close deliveries). */
const FORGET_AFTER_MS = 60_000;

export interface JobGroupsDeps {
  storage: Pick<Storage, 'withLock'>;
  /** A job as last stored (the engine's records). */
  stored(id: string): Promise<JobRecord | undefined>;
  /** A job this process works on, as it is now. */
  local(id: string): JobRecord | undefined;
  clock: Clock;
  /** The progress interval: the images of one request reach their answer at most this often. */
  intervalMs: number;
  signal: () => AbortSignal;
  log: Logger;
}

/**
 * The images of requests for several (jobs with a group, types.ts JobGroup) share one answer. Each image is its own
 * job, maybe worked on by another process after a takeover; so the answer is written under the group's storage lock
 * (in-process and, on Redis, across processes), with every image's state read fresh inside it, and at most once per
 * progress interval in this process.
 */
export class JobGroups {
  private readonly deliveredAt = new Map<string, number>();

  constructor(private readonly deps: JobGroupsDeps) {}

  async withGroup<T>(job: JobRecord, fn: (group: GroupView | undefined) => Promise<T>): Promise<T> {
    const group = job.group;
    if (!group) return fn(undefined);
    const run = async (): Promise<T> => {
      await this.pace(group.id);
      const jobs = await Promise.all(group.jobIds.map((id) => (id === job.id ? job : this.read(id))));
      try {
        return await fn({ jobs });
      } finally {
        this.noteDelivery(group.id);
      }
    };
    try {
      return await this.deps.storage.withLock(`jobs:group:${group.id}`, run);
    } catch (err) {
      // Storage that cannot lock must not keep an image from its member: delivered without the lock (two images of
      // one request may then race for their shared answer; the later one names both once it is read again).
      if (!(err instanceof StorageError) || err.op !== 'lock') throw err;
      this.deps.log.warn({ err, jobId: job.id, groupId: group.id }, 'could not lock the images of a request; delivering without the lock');
      return run();
    }
  }

  /**
   * Whether `job` shows the progress of its request: the first image of it while every image is still being
   * made here and none is being delivered. Once one reaches the answer (or fails), the answer shows the images and
   * only a result or a failure changes it; a progress line would hide them.
   */
  showsProgress(job: JobRecord): boolean {
    const group = job.group;
    if (!group) return true;
    const here = group.jobIds.map((id) => this.deps.local(id));
    return here.every((j) => j !== undefined && !LANDING.has(j.step)) && here[0] === job;
  }

  /**
   * Runs a progress edit of the request's answer (`show`) under the group's lock, when `job` still shows its progress
   * there: an image's delivery cannot land between the check and the edit (the edit would hide it).
   */
  async showProgress(job: JobRecord, show: () => Promise<void>): Promise<void> {
    const group = job.group;
    if (!group) return show();
    if (!this.showsProgress(job)) return;
    await this.deps.storage
      .withLock(`jobs:group:${group.id}`, async () => {
        if (this.showsProgress(job)) await show();
      })
      .catch((err: unknown) => {
        // Progress is a courtesy: without the lock, none is shown this time.
        if (!(err instanceof StorageError)) throw err;
        this.deps.log.debug({ err, jobId: job.id }, 'could not lock the images of a request for a progress edit');
      });
  }

  private async read(id: string): Promise<JobRecord | undefined> {
    const local = this.deps.local(id);
    if (local) return local;
    return this.deps.stored(id).catch((err: unknown) => {
      this.deps.log.warn({ err, jobId: id }, 'could not read an image of the same request; showing it as pending');
      return undefined;
    });
  }

  private async pace(groupId: string): Promise<void> {
    const last = this.deliveredAt.get(groupId);
    if (last === undefined) return;
    const wait = last + this.deps.intervalMs - this.deps.clock.now();
    if (wait > 0) await this.deps.clock.sleep(wait, this.deps.signal());
  }

  private noteDelivery(groupId: string): void {
    const now = this.deps.clock.now();
    for (const [id, at] of this.deliveredAt) if (at < now - FORGET_AFTER_MS) this.deliveredAt.delete(id);
    this.deliveredAt.set(groupId, now);
  }
}
