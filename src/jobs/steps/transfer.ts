import { newReference } from '../../errors.js';
import { DownloadError, downloadImage } from '../../http/download.js';
import type { Delivered, ResultImage } from '../delivery.js';
import { NotFoundError } from '../../luma/errors.js';
import { downloadFailed, generationNotFound, lostContact } from '../failures.js';
import type { TransferReservation } from '../transfer-budget.js';
import type { JobRecord } from '../types.js';
import type { TransferContext } from './context.js';
import { fail } from './fail.js';

/** The largest result we are willing to hold in memory. Luma's 2K PNGs are a few MB. */
const MAX_RESULT_BYTES = 64 * 1024 * 1024;
const DOWNLOAD_ATTEMPTS = 4;
/**
 * How long an upload in flight holds its job against takeover by another process: a stalled upload either lands or
 * fails within it (Discord's requests time out after 15 s), and then the other process reads the reply first.
 */
const UPLOAD_HOLD_MS = 30_000;

/**
 * Fetches a finished job's image and has it delivered; keeps it for a hand-over when no route reaches the member.
 * `reservation` holds the bytes' place in the transfer budget.
 */
export async function transfer(ctx: TransferContext, job: JobRecord, reservation?: TransferReservation): Promise<void> {
  const log = ctx.log(job);
  if (job.step === 'delivering') {
    // A previous attempt died mid-delivery. If it was sending to the member's reply, that may have landed: when the
    // reply shows the image, the job is done — sending again is harmless there, but by another route (the reply
    // no longer usable meanwhile) the member would see it twice.
    const already = await ctx.deliver.findDelivered(job);
    if (already) return markDelivered(ctx, job, already);
    job.step = 'downloading'; // bytes are not kept across restarts: fetch them again
  }
  await ctx.showProgress(job);
  let image: ResultImage;
  try {
    image = await downloadResult(ctx, job, reservation);
  } catch (err) {
    if (err instanceof LumaOutage) return waitForLuma(ctx, job, err.cause);
    if (err instanceof NotFoundError) return fail(ctx, job, generationNotFound(newReference()));
    log.error({ err }, 'could not download the result');
    return fail(ctx, job, downloadFailed(newReference()));
  }
  reservation?.resize(image.bytes.length);
  job.step = 'delivering';
  ctx.deliver.beforeResult(job, ctx.clock.now());
  await ctx.save(job);
  const delivered = await ctx.withGroup(job, async (group) => {
    // A fresh check right before the upload (the group's lock may have been waited for); until the outcome is saved
    // no other process takes the job over, even if this one stalls meanwhile (it would upload a second time).
    await ctx.checkLease(job, { holdMs: UPLOAD_HOLD_MS });
    return ctx.deliver.result(job, image, group);
  });
  if (delivered.outcome === 'delivered') {
    const { outcome: _outcome, ...route } = delivered;
    log.info({ via: delivered.via, bytes: image.bytes.length, compressed: delivered.compressed === true }, 'result delivered');
    return markDelivered(ctx, job, route);
  }
  // No route reached the member. Keep the bytes; they get them the next time they use the bot. The hand-over
  // list is written before the step, so a crash in between leaves the job `delivering` (tried again at the next
  // start, and taken off the list if that works) rather than `undelivered` and on no list.
  await ctx.checkLease(job);
  await ctx.kept.putResult(job.id, image.bytes);
  await ctx.kept.add(job.requester.userId, job.id);
  job.step = 'undelivered';
  await ctx.save(job);
  ctx.forget(job);
  log.warn('result kept: no route reached the member; it will be handed over on their next interaction');
}

/** The GET for a fresh output URL found Luma down: it says why the job waits. */
class LumaOutage extends Error {
  override name = 'LumaOutage';
  constructor(override readonly cause: unknown) {
    super('Luma did not answer the GET for a fresh output URL', { cause });
  }
}

/**
 * Luma is down while a finished job needs a fresh output URL (resumed after a restart or a takeover, or its URL
 * expired): the job keeps its image for the outage window (LUMA_OUTAGE_WINDOW_MS, counted as for its polls), asking
 * again with back-off — or sooner, when the breaker says Luma is back — then fails with a refund.
 */
async function waitForLuma(ctx: TransferContext, job: JobRecord, err: unknown): Promise<void> {
  const now = ctx.clock.now();
  const first = job.lumaUnavailableSince === undefined;
  const since = (job.lumaUnavailableSince ??= now);
  const windowMs = ctx.config.lumaOutageWindowMs;
  if (now - since >= windowMs) return fail(ctx, job, lostContact(windowMs, newReference()));
  const waitMs = Math.round(Math.min(Math.max(ctx.config.pollIntervalMs * 2, (now - since) / 2), 30_000) * (0.8 + 0.4 * Math.random()));
  ctx.log(job).warn({ err, waitMs }, 'Luma did not answer for a fresh output URL; the result waits');
  job.notBefore = now + waitMs;
  if (first) {
    await ctx.save(job);
    await ctx.showProgress(job);
  }
}

async function markDelivered(ctx: TransferContext, job: JobRecord, delivered: Delivered): Promise<void> {
  job.step = 'done';
  const { via, messageId, channelId, compressed } = delivered;
  job.delivery = { via, ...(messageId !== undefined ? { messageId } : {}), ...(channelId !== undefined ? { channelId } : {}), ...(compressed ? { compressed: true } : {}), at: ctx.clock.now() };
  await ctx.save(job);
  ctx.events?.delivered(job);
  // A job the previous process had put on the member's hand-over list just before dying reached them after all.
  if (ctx.wasResumed(job)) await ctx.kept.remove(job.requester.userId, job.id);
  ctx.forget(job);
}

async function downloadResult(ctx: TransferContext, job: JobRecord, reservation?: TransferReservation): Promise<ResultImage> {
  // The result goes into a buffer the transfer budget lends until the transfer ends (see transfer-budget.ts), laid
  // out as the delivery wants it (room for its framing): the upload then sends the very same bytes.
  const allocate = reservation ? { allocate: (bytes: number) => reservation.resultBuffer(bytes) } : {};
  for (let attempt = 0; ; attempt++) {
    let url = ctx.takeOutputUrl(job);
    if (url === undefined || attempt > 0) {
      // Output URLs expire after an hour and every GET mints a fresh one: after a restart or a 403, ask again.
      const { generation } = await ctx.luma.getGeneration(job.generationId ?? '', { signal: ctx.signal }).catch((err: unknown) => {
        // Luma down, unreachable or erring: the job waits in the outage window, as its polls would (not a failed download).
        throw ctx.cut || err instanceof NotFoundError ? err : new LumaOutage(err);
      });
      if (job.lumaUnavailableSince !== undefined) {
        delete job.lumaUnavailableSince;
        delete job.notBefore;
        job.progress.editedAt = 0; // show at once that Luma answers again
      }
      url = generation.output?.[0]?.url;
      if (!url) throw new Error('completed generation has no output URL');
    }
    try {
      const r = await downloadImage(url, { maxBytes: MAX_RESULT_BYTES, timeoutMs: 60_000, dispatcher: ctx.downloads, signal: ctx.signal, ...allocate });
      return { bytes: r.bytes, contentType: r.contentType };
    } catch (err) {
      const retry = err instanceof DownloadError && (err.kind === 'http' || err.kind === 'timeout' || err.kind === 'network');
      // No wait after the last attempt: the member hears of the failure at once.
      if (!retry || attempt === DOWNLOAD_ATTEMPTS - 1) throw err;
      ctx.log(job).warn({ err, attempt }, 'result download failed; fetching a fresh URL');
      await ctx.clock.sleep(250 * 2 ** attempt, ctx.signal);
    }
  }
}
