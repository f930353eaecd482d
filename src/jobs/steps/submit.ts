import { newReference } from '../../errors.js';
import { DownloadError, downloadImage } from '../../http/download.js';
import type { Logger } from '../../logger.js';
import { RateLimitError } from '../../luma/errors.js';
import type { GenerationRequest, ImageInput, InputMediaType } from '../../luma/types.js';
import { INPUT_MEDIA_TYPES, MAX_INPUT_BYTES } from '../../luma/types.js';
import { classifySubmitError, inlineTooLarge, inputUnreachable, lumaUnavailable, type FailureAction } from '../failures.js';
import type { PostTicket } from '../luma-budget.js';
import type { JobRuntime } from '../runtime.js';
import type { JobRecord } from '../types.js';
import { fail } from './fail.js';

/** Sends a queued job to Luma (the scheduler took a POST ticket for it), then polls it. */
export async function submit(rt: JobRuntime, job: JobRecord, ticket: PostTicket): Promise<void> {
  const log = rt.log.child({ jobId: job.id, userId: job.discord.userId, guildId: job.discord.guildId });
  const body = await prepare(rt, job, ticket, log);
  if (body === undefined) return;
  job.step = 'submitting';
  job.submitAttempts += 1;
  delete job.notBefore;
  await rt.save(job);
  try {
    // No retries inside the client: every POST retry (429, 502, 503, unreachable) goes back through the queue,
    // where it counts against the rate limits and a 503 for URL inputs turns into the base64 fallback at once.
    const { generation, requestId, rateWindow } = await rt.deps.luma.createGeneration(body, { maxRetries: 0, signal: rt.signal });
    rt.budget.learn(ticket, rt.now(), rateWindow);
    // From the POST leaving until the save below completes is the one window in which a crash can still cost a
    // second image at Luma (see the engine's takeover): nothing but the in-memory quota mark and the save run in between.
    job.generationId = generation.id;
    job.submittedAt = rt.now();
    job.lastLumaState = generation.state === 'processing' ? 'processing' : 'queued';
    job.step = 'polling';
    delete job.lumaUnavailableSince;
    // Luma's median is ~30 s: the first poll comes soon to show "generating" early, then the regular cadence.
    job.notBefore = rt.now() + Math.min(1000, rt.config.pollIntervalMs);
    // Luma accepted the job: the reserved unit is spent. Marked before the save so the stored record says so.
    await rt.deps.quota?.commit(job);
    await rt.save(job);
    log.info({ generationId: generation.id, requestId, model: job.request.model }, 'submitted to Luma');
    rt.deps.events?.submitted(job);
    await rt.editProgress(job);
  } catch (err) {
    await submitFailed(rt, job, ticket, err, log);
  }
}

/**
 * Takes the account-wide slot (a budget shared by several processes takes it here, before anything is sent) and
 * builds the body. Undefined when the job does not go now: it waits for the next start, or has failed.
 */
async function prepare(rt: JobRuntime, job: JobRecord, ticket: PostTicket, log: Logger): Promise<GenerationRequest | undefined> {
  try {
    await rt.budget.acquire?.(ticket, job.id, job.createdAt);
  } catch (err) {
    rt.budget.postFailed(ticket, rt.now());
    if (!rt.stopped) log.warn({ err }, 'could not take a Luma slot; the job waits for the next start');
    return undefined;
  }
  try {
    return job.inlinedInputs ? await inlineBody(rt, job) : job.request;
  } catch (err) {
    // No POST went out: the budget counts it as one that failed (it stays in the window, which errs on the safe side).
    rt.budget.postFailed(ticket, rt.now());
    if (rt.cut) return undefined;
    log.warn({ err }, 'could not fetch the input images for the base64 fallback');
    const tooLarge = err instanceof InlineTooLargeError || (err instanceof DownloadError && err.kind === 'too_large');
    await fail(rt, job, tooLarge ? inlineTooLarge(err instanceof InlineTooLargeError ? err.bytes : undefined, rt.config.lumaInlineMaxBytes) : inputUnreachable());
    return undefined;
  }
}

async function submitFailed(rt: JobRuntime, job: JobRecord, ticket: PostTicket, err: unknown, log: Logger): Promise<void> {
  if (rt.cut && job.generationId === undefined) {
    // Cut by the shutdown mid-POST: left `submitting`, so the next start sends it again (the POST may or may not
    // have arrived; same window as a crash).
    log.warn('POST cut short by the shutdown; the job is sent again at the next start');
    return;
  }
  const hasUrlInputs = !job.inlinedInputs && job.inputs.some((i) => 'url' in i.input && i.discordUrl !== undefined);
  const ref = newReference();
  const action = classifySubmitError(err, { hasUrlInputs, submitAttempts: job.submitAttempts, ref });
  if (err instanceof RateLimitError) onRateLimited(rt, err, job, log, ticket);
  else rt.budget.postFailed(ticket, rt.now());
  if (job.generationId === undefined) rt.budget.release?.(job.id);
  log.warn({ err, action: action.kind, ref }, 'submit failed');
  await afterSubmitError(rt, job, action);
}

/** A POST refused with 429: hold further POSTs rather than send ones Luma will refuse too. */
function onRateLimited(rt: JobRuntime, err: RateLimitError, job: JobRecord, log: Logger, ticket: PostTicket): void {
  const now = rt.now();
  if (err.kind === 'requests') {
    const { limit, remaining, resetAt } = err;
    const { pauseMs } = rt.budget.rateLimited(ticket, now, { kind: 'requests', retryAfterMs: err.retryAfterMs, window: { limit, remaining, resetAt } });
    log.warn({ pauseMs }, 'Luma says too many requests per minute: pausing submissions');
    return;
  }
  // Our other jobs at Luma — this one excluded — are the most the account has room for now.
  let others = 0;
  for (const j of rt.jobs.values()) if (j !== job && rt.isAtLuma(j)) others++;
  const { concurrentJobs, pauseMs } = rt.budget.rateLimited(ticket, now, { kind: 'concurrency', retryAfterMs: err.retryAfterMs, ourOthersActive: others });
  log.warn({ cap: concurrentJobs, ours: others, pauseMs }, 'Luma says too many concurrent jobs: lowering concurrency, climbing back after a minute');
}

async function afterSubmitError(rt: JobRuntime, job: JobRecord, action: FailureAction): Promise<void> {
  if (action.kind === 'requeue') {
    if (action.outage) {
      // Luma is down or unreachable: the job keeps its place for the outage window, then fails with a refund.
      job.lumaUnavailableSince ??= rt.now();
      if (rt.now() - job.lumaUnavailableSince >= rt.config.lumaOutageWindowMs) return fail(rt, job, lumaUnavailable(rt.config.lumaOutageWindowMs));
    } else delete job.lumaUnavailableSince; // Luma answered (a 429): the outage is over
    job.step = 'queued';
    job.notBefore = rt.now() + action.delayMs;
    await rt.save(job);
    await rt.editProgress(job); // why it waits: Luma is down, or busy (a 429)
    return;
  }
  if (action.kind === 'inline') {
    // The bytes are fetched from Discord for each POST from now on (submit), and never stored.
    job.inlinedInputs = true;
    job.step = 'queued';
    delete job.notBefore;
    await rt.save(job);
    rt.log.info({ jobId: job.id, inputs: job.inputs.length }, 'sending input images as base64 after Luma could not fetch their URLs');
    return;
  }
  return fail(rt, job, action);
}

/**
 * The request with every Discord URL input replaced by its bytes (Luma could not fetch the URL, or URL ingestion
 * is down), built for one POST and never stored. The inputs together may not exceed LUMA_INLINE_MAX_MB.
 */
async function inlineBody(rt: JobRuntime, job: JobRecord): Promise<GenerationRequest> {
  const cap = rt.config.lumaInlineMaxBytes;
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
        allowedOrigins: rt.config.discordCdnOrigins,
        acceptContentTypes: INPUT_MEDIA_TYPES,
        dispatcher: rt.deps.http,
        signal: rt.signal,
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
