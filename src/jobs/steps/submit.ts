import { newReference } from '../../errors.js';
import { DownloadError, downloadImage } from '../../http/download.js';
import type { Logger } from '../../logger.js';
import { LUMA_REQUEST_TIMEOUT_MS } from '../../luma/client.js';
import { RateLimitError } from '../../luma/errors.js';
import type { GenerationRequest, ImageInput, InputMediaType } from '../../luma/types.js';
import { INPUT_MEDIA_TYPES, MAX_INPUT_BYTES } from '../../luma/types.js';
import { LeaseLostError } from '../fence.js';
import { classifySubmitError, inlineTooLarge, inputUnreachable, lumaUnavailable, type FailureAction } from '../failures.js';
import type { PostTicket } from '../luma-budget.js';
import type { JobRecord } from '../types.js';
import type { SubmitContext } from './context.js';
import { fail } from './fail.js';

/**
 * How long a job whose POST is in flight is held against takeover: the POST's own timeout (LUMA_REQUEST_TIMEOUT_MS)
 * and room to save its answer. A process stalled for longer finds the job taken: the other process ends it
 * without a second POST (the engine's takeover), and this one's late save is refused.
 */
const POST_HOLD_MS = LUMA_REQUEST_TIMEOUT_MS + 15_000;

/** Sends a queued job to Luma (the scheduler took a POST ticket for it), then polls it. */
export async function submit(ctx: SubmitContext, job: JobRecord, ticket: PostTicket): Promise<void> {
  const log = ctx.log(job);
  const body = await prepare(ctx, job, ticket, log);
  if (body === undefined) return;
  job.step = 'submitting';
  job.submitAttempts += 1;
  delete job.notBefore;
  try {
    await ctx.save(job);
    // A fresh check of the lease: from here until the POST's answer is saved, no other process may take the job.
    await ctx.checkLease(job, { holdMs: POST_HOLD_MS });
  } catch (err) {
    ctx.budget.postFailed(ticket, ctx.clock.now());
    ctx.budget.release?.(job.id);
    throw err;
  }
  try {
    // No retries inside the client: every POST retry (429, 502, 503, unreachable) goes back through the queue,
    // where it counts against the rate limits and a 503 for URL inputs turns into the base64 fallback at once.
    const { generation, requestId, rateWindow } = await ctx.luma.createGeneration(body, { maxRetries: 0, signal: ctx.signal });
    ctx.budget.learn(ticket, ctx.clock.now(), rateWindow);
    // From the POST leaving until the save below completes is the one window in which a crash can still cost a
    // second image at Luma (see the engine's takeover): nothing but the in-memory quota mark and the save run in between.
    job.generationId = generation.id;
    job.submittedAt = ctx.clock.now();
    job.lastLumaState = generation.state === 'processing' ? 'processing' : 'queued';
    job.step = 'polling';
    delete job.lumaUnavailableSince;
    // Luma's median is ~30 s: the first poll comes soon to show "generating" early, then the regular cadence.
    job.notBefore = ctx.clock.now() + Math.min(1000, ctx.config.pollIntervalMs);
    // Luma accepted the job: the reserved unit is spent (a mark on the record). The POST's outcome is saved (fenced,
    // ending the POST's hold) before anything else goes out.
    await ctx.charges.commit(job);
    await ctx.save(job);
    log.info({ generationId: generation.id, requestId, model: job.request.model }, 'submitted to Luma');
    ctx.events?.submitted(job);
    await ctx.showProgress(job);
  } catch (err) {
    await submitFailed(ctx, job, ticket, err, log);
  }
}

/**
 * Takes the account-wide slot (a budget shared by several processes takes it here, before anything is sent) and
 * builds the body. Undefined when the job does not go now: it waits for the next start, or has failed.
 */
async function prepare(ctx: SubmitContext, job: JobRecord, ticket: PostTicket, log: Logger): Promise<GenerationRequest | undefined> {
  try {
    await ctx.budget.acquire?.(ticket, job.id);
  } catch (err) {
    ctx.budget.postFailed(ticket, ctx.clock.now());
    if (!ctx.stopped) log.warn({ err }, 'could not take a Luma slot; the job waits for the next start');
    return undefined;
  }
  try {
    return job.inlinedInputs ? await inlineBody(ctx, job) : job.request;
  } catch (err) {
    // No POST went out: the budget counts it as one that failed (it stays in the window, which errs on the safe side).
    ctx.budget.postFailed(ticket, ctx.clock.now());
    if (ctx.cut) return undefined;
    log.warn({ err }, 'could not fetch the input images for the base64 fallback');
    const tooLarge = err instanceof InlineTooLargeError || (err instanceof DownloadError && err.kind === 'too_large');
    await fail(ctx, job, tooLarge ? inlineTooLarge(err instanceof InlineTooLargeError ? err.bytes : undefined, ctx.config.lumaInlineMaxBytes) : inputUnreachable());
    return undefined;
  }
}

async function submitFailed(ctx: SubmitContext, job: JobRecord, ticket: PostTicket, err: unknown, log: Logger): Promise<void> {
  if (err instanceof LeaseLostError) throw err; // another process holds the job: nothing more here
  if (ctx.cut && job.generationId === undefined) {
    // Cut by the shutdown mid-POST: left `submitting`, so the next start sends it again (the POST may or may not
    // have arrived; same window as a crash).
    log.warn('POST cut short by the shutdown; the job is sent again at the next start');
    return;
  }
  const hasUrlInputs = !job.inlinedInputs && job.inputs.some((i) => 'url' in i.input && i.discordUrl !== undefined);
  const ref = newReference();
  const action = classifySubmitError(err, { hasUrlInputs, ref });
  if (err instanceof RateLimitError) onRateLimited(ctx, err, job, log, ticket);
  else ctx.budget.postFailed(ticket, ctx.clock.now());
  if (job.generationId === undefined) ctx.budget.release?.(job.id);
  log.warn({ err, action: action.kind, ref }, 'submit failed');
  await afterSubmitError(ctx, job, action);
}

/** A POST refused with 429: hold further POSTs rather than send ones Luma will refuse too. */
function onRateLimited(ctx: SubmitContext, err: RateLimitError, job: JobRecord, log: Logger, ticket: PostTicket): void {
  const now = ctx.clock.now();
  if (err.kind === 'requests') {
    const { limit, remaining, resetAt } = err;
    const { pauseMs } = ctx.budget.rateLimited(ticket, now, { kind: 'requests', retryAfterMs: err.retryAfterMs, window: { limit, remaining, resetAt } });
    log.warn({ pauseMs }, 'Luma says too many requests per minute: pausing submissions');
    return;
  }
  // Our other jobs at Luma — this one excluded — are the most the account has room for now.
  const others = ctx.othersAtLuma(job);
  const { concurrentJobs, pauseMs } = ctx.budget.rateLimited(ticket, now, { kind: 'concurrency', retryAfterMs: err.retryAfterMs, ourOthersActive: others });
  log.warn({ cap: concurrentJobs, ours: others, pauseMs }, 'Luma says too many concurrent jobs: lowering concurrency, climbing back after a minute');
}

async function afterSubmitError(ctx: SubmitContext, job: JobRecord, action: FailureAction): Promise<void> {
  if (action.kind === 'requeue') {
    if (action.outage) {
      // Luma is down or unreachable: the job keeps its place for the outage window, then fails with a refund.
      job.lumaUnavailableSince ??= ctx.clock.now();
      if (ctx.clock.now() - job.lumaUnavailableSince >= ctx.config.lumaOutageWindowMs) return fail(ctx, job, lumaUnavailable(ctx.config.lumaOutageWindowMs));
    } else delete job.lumaUnavailableSince; // Luma answered (a 429): the outage is over
    job.step = 'queued';
    job.notBefore = ctx.clock.now() + action.delayMs;
    await ctx.save(job);
    await ctx.showProgress(job); // why it waits: Luma is down, or busy (a 429)
    return;
  }
  if (action.kind === 'inline') {
    // The bytes are fetched from Discord for each POST from now on (submit), and never stored.
    job.inlinedInputs = true;
    job.step = 'queued';
    delete job.notBefore;
    await ctx.save(job);
    ctx.log(job).info({ inputs: job.inputs.length }, 'sending input images as base64 after Luma could not fetch their URLs');
    return;
  }
  return fail(ctx, job, action);
}

/**
 * The request with every Discord URL input replaced by its bytes (Luma could not fetch the URL, or URL ingestion
 * is down), built for one POST and never stored. The inputs together may not exceed LUMA_INLINE_MAX_MB.
 */
async function inlineBody(ctx: SubmitContext, job: JobRecord): Promise<GenerationRequest> {
  const cap = ctx.config.lumaInlineMaxBytes;
  const toFetch = job.inputs.filter((i) => 'url' in i.input && i.discordUrl !== undefined);
  const announced = toFetch.reduce((n, i) => n + (i.size ?? 0), 0);
  if (announced > cap) throw new InlineTooLargeError(announced);
  let total = 0;
  const body: GenerationRequest = { ...job.request };
  const refs: ImageInput[] = [];
  for (const input of job.inputs) {
    let sent = input.input;
    if ('url' in sent && input.discordUrl !== undefined) {
      const { bytes, contentType } = await downloadImage(input.discordUrl, {
        maxBytes: Math.min(MAX_INPUT_BYTES, cap - total),
        allowedOrigins: ctx.config.discordCdnOrigins,
        acceptContentTypes: INPUT_MEDIA_TYPES,
        dispatcher: ctx.downloads,
        signal: ctx.signal,
      });
      total += bytes.length;
      sent = { data: bytes.toString('base64'), media_type: contentType as InputMediaType };
    }
    if (input.role === 'source') body.source = sent;
    else refs.push(sent);
  }
  if (body.image_ref !== undefined) body.image_ref = refs;
  return body;
}

class InlineTooLargeError extends Error {
  override name = 'InlineTooLargeError';
  constructor(readonly bytes: number) {
    super(`input images of ${bytes} bytes are over the inline cap`);
  }
}
