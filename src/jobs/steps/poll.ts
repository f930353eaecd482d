import { newReference } from '../../errors.js';
import { NotFoundError, RateLimitError } from '../../luma/errors.js';
import type { Generation } from '../../luma/types.js';
import { GENERATION_STATES } from '../../luma/types.js';
import { classifyLumaFailure, generationNotFound, jobTooOld, lostContact, unknownState } from '../failures.js';
import type { JobRecord } from '../types.js';
import type { PollContext } from './context.js';
import { fail } from './fail.js';

/** Asks Luma how a submitted job is doing and moves it on: to the download, back to the queue, or to a failure. */
export async function poll(ctx: PollContext, job: JobRecord): Promise<void> {
  const id = job.generationId;
  if (id === undefined) throw new Error('polling a job without a generation id');
  let generation: Generation;
  try {
    ({ generation } = await ctx.luma.getGeneration(id, { signal: ctx.signal }));
  } catch (err) {
    return pollFailed(ctx, job, err);
  }
  if (job.lumaUnavailableSince !== undefined) {
    delete job.lumaUnavailableSince;
    job.progress.editedAt = 0; // show at once that Luma answers again
    await ctx.save(job);
  }
  if (!(GENERATION_STATES as readonly string[]).includes(generation.state)) {
    // `cancelled`, or anything newer than the API reference: the job cannot finish, and must not hold a slot.
    return fail(ctx, job, unknownState(String(generation.state), newReference()));
  }
  job.lastLumaState = generation.state;
  if (!ctx.isAtLuma(job)) ctx.budget.release?.(job.id);
  if (generation.state === 'processing' && job.processingAt === undefined) job.processingAt = ctx.clock.now();
  if (generation.state === 'completed') return completed(ctx, job, generation);
  if (generation.state === 'failed') return failedAtLuma(ctx, job, generation);
  if (tooOld(ctx, job)) return fail(ctx, job, jobTooOld(ctx.config.jobMaxAgeMs, newReference()));
  job.notBefore = ctx.clock.now() + pollGapMs(ctx, job);
  // A new Luma state alone is not saved: a restart polls the job again and learns it (only the "generating for"
  // time then counts from the restart). Saved with the job's next step.
  await ctx.showProgress(job);
}

/**
 * Every job ends: one Luma accepted but has not finished (or answered for) within the maximum age is given up, and
 * its polling stops with it. Checked after the GET, so a result that is ready (say after a long restart) is kept.
 */
function tooOld(ctx: PollContext, job: JobRecord): boolean {
  return ctx.clock.now() - (job.submittedAt ?? job.createdAt) > ctx.config.jobMaxAgeMs;
}

async function pollFailed(ctx: PollContext, job: JobRecord, err: unknown): Promise<void> {
  if (ctx.cut) return; // cut by the shutdown: polled again after the next start
  if (err instanceof NotFoundError) return fail(ctx, job, generationNotFound(newReference()));
  if (tooOld(ctx, job)) return fail(ctx, job, jobTooOld(ctx.config.jobMaxAgeMs, newReference()));
  // Luma down (502), unreachable or erring: the job is kept, polled with back-off, for the outage window.
  const now = ctx.clock.now();
  const first = job.lumaUnavailableSince === undefined;
  const since = (job.lumaUnavailableSince ??= now);
  if (now - since >= ctx.config.lumaOutageWindowMs) return fail(ctx, job, lostContact(ctx.config.lumaOutageWindowMs, newReference()));
  // The client already waited out short Retry-Afters; a longer one is honoured here, without holding a poll slot.
  const retryAfter = err instanceof RateLimitError ? (err.retryAfterMs ?? 0) : 0;
  const backoff = Math.min(Math.max(ctx.config.pollIntervalMs * 2, (now - since) / 2), 30_000) * (0.8 + 0.4 * Math.random());
  const waitMs = Math.max(Math.round(backoff), retryAfter);
  ctx.log(job).warn({ err, waitMs }, 'poll failed; will poll again');
  job.notBefore = now + waitMs;
  if (first) {
    await ctx.save(job);
    await ctx.showProgress(job);
  }
}

function completed(ctx: PollContext, job: JobRecord, generation: Generation): void {
  const url = generation.output?.[0]?.url;
  job.completedAt = ctx.clock.now();
  if (job.processingAt !== undefined) ctx.recordDuration(job.completedAt - job.processingAt);
  ctx.events?.completed(job);
  if (url) ctx.noteOutputUrl(job, url);
  job.step = 'downloading';
  delete job.notBefore;
  // Not saved: a restart finds the job `polling`, and one GET tells it the same (the URL is not stored
  // anyway). The next save is `delivering`, once the bytes are here.
}

async function failedAtLuma(ctx: PollContext, job: JobRecord, generation: Generation): Promise<void> {
  const retries = job.submitAttempts - 1;
  const action = classifyLumaFailure(generation.failure_code, generation.failure_reason, newReference(), retries);
  if (action.kind !== 'requeue') return fail(ctx, job, action);
  delete job.generationId;
  delete job.processingAt;
  delete job.lastLumaState;
  job.step = 'queued';
  job.notBefore = ctx.clock.now() + action.delayMs;
  await ctx.save(job);
}

/**
 * Time to the next poll of a job still at Luma: POLL_INTERVAL_MS near its expected end, up to twice that while
 * it is far from it (by the median of recent jobs) — within Luma's 2–5 s at the default. Thousands of jobs at
 * Luma then cost about half the GETs (each one CPU the bot's deliveries need) without a result waiting longer.
 */
function pollGapMs(ctx: PollContext, job: JobRecord): number {
  const interval = ctx.config.pollIntervalMs;
  const estimate = ctx.estimateMs();
  if (estimate === undefined || job.processingAt === undefined) return interval;
  const remaining = estimate - (ctx.clock.now() - job.processingAt);
  return Math.round(Math.min(2 * interval, Math.max(interval, remaining / 2)));
}
