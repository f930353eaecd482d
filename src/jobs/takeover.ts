// Taking jobs in from storage: this process's own after a restart, and those of a process whose lease lapsed.
import { newReference } from '../errors.js';
import type { Logger } from '../logger.js';
import { withoutInlineData } from './create.js';
import { postOutcomeUnknown } from './failures.js';
import type { JobRecords } from './records.js';
import { decideFailure } from './steps/fail.js';
import type { JobRecord } from './types.js';
import type { JobWork } from './work.js';

/** Claims the unfinished jobs nobody live holds and resumes each at its saved step; returns how many. */
export async function takeOverJobs(work: JobWork, records: JobRecords, log: Logger): Promise<number> {
  // Our heartbeat first (after a Redis reconnect it may have lapsed): the jobs others took meanwhile leave us before
  // we take any, and no process takes jobs while its own lease is not alive.
  await work.leases.renew();
  if (!work.leases.mayTakeOver()) return 0;
  const ids = (await records.activeJobIds()).filter((id) => !work.has(id));
  if (ids.length === 0) return 0;
  const claimed = await work.leases.claim(ids);
  if (claimed.size === 0) return 0;
  const jobs = await records.listActive(claimed);
  // Ids left in the index by a process that stopped before taking its ended jobs out: out now.
  const listed = new Set(jobs.map((j) => j.id));
  records.dropEnded([...claimed].filter((id) => !listed.has(id)));
  let count = 0;
  const atLuma: string[] = [];
  for (const job of jobs) {
    // Interactions are handled from the moment the gateway is ready, which is before this runs: a job enqueued
    // meanwhile is already here, maybe mid-step, and its stored copy must not replace it (that would submit it twice).
    if (work.has(job.id) || work.stopped) continue;
    resumeAtSavedStep(job, log);
    work.add(job, { resumed: true });
    if (work.isAtLuma(job)) atLuma.push(job.id);
    count++;
  }
  // Jobs Luma is working on count against the account's concurrency from now on, held by us.
  work.budget.hold?.(atLuma);
  // Claimed but not ours to work on (ended meanwhile, or a bad record): nobody needs to own them.
  for (const id of claimed) if (!work.has(id)) void work.leases.release(id);
  return count;
}

function resumeAtSavedStep(job: JobRecord, log: Logger): void {
  if (job.step === 'submitting' && job.generationId === undefined) {
    // Its POST went out and its answer was never saved (the process died, or stalled past the POST's hold). Luma has
    // no idempotency key and no way to list jobs: sending it again could make and bill a second image. So it fails,
    // refunded, with a Retry (the member decides), as after a POST that timed out.
    log.warn({ jobId: job.id, userId: job.requester.userId }, 'ending a job whose POST outcome was not saved (a job is never sent twice)');
    decideFailure(job, postOutcomeUnknown(newReference()));
    return;
  }
  if (job.step === 'submitting') job.step = 'polling';
  // A record from before inputs stopped holding bytes: keep the URLs only (bytes are fetched again per POST).
  if (withoutInlineData(job)) job.inlinedInputs = true;
}
