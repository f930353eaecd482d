import { newReference } from '../../errors.js';
import { DownloadError, downloadImage } from '../../http/download.js';
import type { Delivered, ResultImage } from '../delivery.js';
import { downloadFailed } from '../failures.js';
import type { TransferReservation } from '../transfer-budget.js';
import type { JobRecord } from '../types.js';
import type { TransferContext } from './context.js';
import { fail } from './fail.js';

/** The largest result we are willing to hold in memory. Luma's 2K PNGs are a few MB. */
const MAX_RESULT_BYTES = 64 * 1024 * 1024;
const DOWNLOAD_ATTEMPTS = 4;

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
    log.error({ err }, 'could not download the result');
    return fail(ctx, job, downloadFailed(newReference()));
  }
  reservation?.resize(image.bytes.length);
  job.step = 'delivering';
  ctx.deliver.beforeResult(job, ctx.clock.now());
  await ctx.save(job);
  const delivered = await ctx.withGroup(job, (group) => ctx.deliver.result(job, image, group));
  if (delivered.outcome === 'delivered') {
    const { outcome: _outcome, ...route } = delivered;
    log.info({ via: delivered.via, bytes: image.bytes.length, compressed: delivered.compressed === true }, 'result delivered');
    return markDelivered(ctx, job, route);
  }
  // No route reached the member. Keep the bytes; they get them the next time they use the bot. The hand-over
  // list is written before the step, so a crash in between leaves the job `delivering` (tried again at the next
  // start, and taken off the list if that works) rather than `undelivered` and on no list.
  await ctx.kept.putResult(job.id, image.bytes);
  await ctx.kept.add(job.requester.userId, job.id);
  job.step = 'undelivered';
  await ctx.save(job);
  ctx.forget(job);
  log.warn('result kept: no route reached the member; it will be handed over on their next interaction');
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
      const { generation } = await ctx.luma.getGeneration(job.generationId ?? '', { signal: ctx.signal });
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
