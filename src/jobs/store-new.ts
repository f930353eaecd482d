import type { Logger } from '../logger.js';
import { StorageError } from '../storage/index.js';
import type { JobLeases } from './leases.js';
import type { JobRecord } from './types.js';

/** What storing a new request needs of the engine's work: its leases and its saves. */
export interface NewJobStore {
  readonly leases: Pick<JobLeases, 'claim' | 'release'>;
  save(job: JobRecord, opts: { newJob?: boolean }): Promise<void>;
}

/**
 * Stores the jobs of a new request (one per image), all or none: when storage refuses one, those already stored are
 * ended unseen — so no process makes an image of a refused request — and the error is thrown (intake then refuses
 * the request and gives its units back). The jobs are this process's before they are in the index, so no other
 * process's takeover scan can take them.
 */
export async function storeNewJobs(work: NewJobStore, jobs: readonly JobRecord[], log: Logger): Promise<void> {
  for (const job of jobs) job.step = 'queued';
  const claimed = await work.leases.claim(jobs.map((j) => j.id));
  const stored: JobRecord[] = [];
  try {
    // New ids nobody holds: refused only when this process's lease is not alive (Redis unreachable meanwhile).
    if (jobs.some((j) => !claimed.has(j.id))) throw new StorageError('lock', `lease:job:${jobs[0]?.id ?? ''}`, new Error('this process holds no live lease'));
    for (const job of jobs) {
      await work.save(job, { newJob: true });
      stored.push(job);
    }
  } catch (err) {
    for (const job of stored) {
      job.step = 'failed';
      job.failure = { code: 'enqueue_failed', userMessage: 'The request could not be stored; nothing was charged.', retryable: false };
      await work.save(job, { newJob: true }).catch((withdrawErr: unknown) => {
        log.error({ err: withdrawErr, jobId: job.id, userId: job.requester.userId }, 'an image of a request storage refused could not be withdrawn; it may still be made, at no charge');
      });
    }
    for (const job of jobs) void work.leases.release(job.id);
    throw err;
  }
}
