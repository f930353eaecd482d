import { randomBytes } from 'node:crypto';
import type { Logger } from '../../logger.js';
import { LeaseLostError } from '../fence.js';
import type { FailureAction } from '../failures.js';
import type { JobRecord } from '../types.js';
import type { FailContext } from './context.js';

/** Tries of a save on the failure path before the job is let go anyway (storage down, full, or refusing the record). */
const FAILURE_SAVE_ATTEMPTS = 3;

/**
 * The one way a job fails. Records the failure (step `failing`, with whether the unit goes back), then refunds and
 * tells the member. The record comes first: a crash after it resumes at finishFailure, which is safe to repeat.
 * Terminal: a save that storage refuses is tried a few times, the member is told once either way, and the job
 * leaves memory.
 */
export async function fail(ctx: FailContext, job: JobRecord, action: FailureAction): Promise<void> {
  if (action.kind !== 'fail') throw new Error('fail() needs a fail action');
  if (ctx.cut) return; // an error the shutdown caused: the job resumes from its last saved step
  const log = ctx.log(job);
  decideFailure(job, action);
  await saveOnFailurePath(ctx, job, log);
  log[action.log]({ code: action.failure.code, ref: action.failure.ref, refund: action.refund }, 'job failed');
  ctx.events?.failed(job, action.failure.code);
  if (action.operatorAlert) log.error({ alert: true }, `OPERATOR: ${action.operatorAlert}`);
  await finishFailure(ctx, job);
}

/** Records the failure on the job (step `failing`, with whether the unit goes back), in memory. */
export function decideFailure(job: JobRecord, action: FailureAction): void {
  if (action.kind !== 'fail') throw new Error('fail() needs a fail action');
  job.step = 'failing';
  // One nonce per failure: a notice sent again (after a crash) lands once.
  job.failure = { ...action.failure, refund: action.refund, nonce: job.failure?.nonce ?? randomBytes(8).toString('hex') };
  delete job.notBefore;
}

/**
 * The refund (idempotent in the quota module) and the notice (nonce-deduplicated) of a `failing` job, then
 * `failed`. Runs once per job in this process, and the job leaves memory whatever storage does.
 */
export async function finishFailure(ctx: FailContext, job: JobRecord): Promise<void> {
  if (!ctx.firstFinish(job)) return;
  const log = ctx.log(job);
  try {
    const failure = job.failure;
    await ctx.checkLease(job); // the refund and the notice only while the job is ours
    // The member's unit goes back when they did not cause the failure; the quota module also decides whether
    // the operator's spend goes back (only when Luma will not bill the job).
    await ctx.charges.refund(job, failure?.code ?? 'unknown', { units: failure?.refund === true });
    const sent = await ctx.withGroup(job, (group) => ctx.deliver.failure(job, group));
    if (sent.outcome !== 'delivered') log.warn('could not tell the member about the failure on any route');
    job.step = 'failed';
    await saveOnFailurePath(ctx, job, log);
  } finally {
    ctx.forget(job);
  }
}

/**
 * Saves on the failure path, where nothing may loop: storage that refuses (down, full, a record it cannot take)
 * is tried FAILURE_SAVE_ATTEMPTS times, then the failure goes on without the record. Returns whether it was saved.
 */
async function saveOnFailurePath(ctx: FailContext, job: JobRecord, log: Logger): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      await ctx.save(job);
      return true;
    } catch (err) {
      if (err instanceof LeaseLostError) throw err; // another process holds the job: nothing more here
      if (attempt >= FAILURE_SAVE_ATTEMPTS || ctx.cut) {
        log.error({ err, step: job.step, attempts: attempt }, 'could not save the failed job; going on without the record');
        return false;
      }
      log.warn({ err, step: job.step, attempt }, 'could not save the failed job; trying again');
      await ctx.clock.sleep(200 * 4 ** (attempt - 1));
    }
  }
}
