import { setTimeout as sleep } from 'node:timers/promises';
import { newReference } from '../../errors.js';
import { DownloadError, downloadImage } from '../../http/download.js';
import { framableSize, framableView } from '../../discord/transport/multipart.js';
import { fitToLimit } from '../../images/fit.js';
import type { Delivered, ResultImage } from '../deliverer.js';
import { downloadFailed } from '../failures.js';
import type { JobRuntime } from '../runtime.js';
import type { TransferReservation } from '../transfer-budget.js';
import type { JobRecord } from '../types.js';
import { fail } from './fail.js';

/** The largest result we are willing to hold in memory. Luma's 2K PNGs are a few MB. */
const MAX_RESULT_BYTES = 64 * 1024 * 1024;
const DOWNLOAD_ATTEMPTS = 4;

/**
 * Fetches a finished job's image, fits it to the upload limit and has it delivered; keeps it for a hand-over when
 * no route reaches the member. `reservation` holds the bytes' place in the transfer budget.
 */
export async function transfer(rt: JobRuntime, job: JobRecord, reservation?: TransferReservation): Promise<void> {
  const log = rt.log.child({ jobId: job.id, generationId: job.generationId, userId: job.discord.userId });
  if (job.step === 'delivering') {
    // A previous process died mid-delivery. If it was uploading to the reply, that upload may have landed: when
    // the reply shows the image, the job is done — uploading again is harmless, but if the token has died
    // meanwhile a channel post would show it twice.
    const already = await rt.deps.deliverer.findDelivered(job);
    if (already) {
      return markDelivered(rt, job, already);
    }
    job.step = 'downloading'; // bytes are not kept across restarts: fetch them again
  }
  await rt.editProgress(job);
  let image: { bytes: Buffer; contentType: string };
  try {
    image = await downloadResult(rt, job, reservation);
  } catch (err) {
    log.error({ err }, 'could not download the result');
    return fail(rt, job, downloadFailed(newReference()));
  }
  reservation?.resize(image.bytes.length);
  job.step = 'delivering';
  if (rt.tokenUsable(job)) job.originalUploadTried = true;
  await rt.save(job);
  let sent: ResultImage;
  try {
    sent = await fitToLimit(image.bytes, image.contentType, job.discord.attachmentSizeLimit);
  } catch (err) {
    log.error({ err }, 'could not shrink the result to the upload limit');
    sent = { data: image.bytes, contentType: image.contentType, compressed: false };
  }
  const delivered = await rt.deps.deliverer.result(job, sent, async (maxBytes) => (sent = await fitToLimit(image.bytes, image.contentType, maxBytes)));
  if (delivered.outcome === 'delivered') {
    log.info({ via: delivered.via, bytes: sent.data.length, compressed: sent.compressed }, 'result delivered');
    return markDelivered(rt, job, { ...routeOf(delivered), ...(sent.compressed ? { compressed: true } : {}) });
  }
  // No route reached the member. Keep the bytes; they get them the next time they use the bot. The hand-over
  // list is written before the step, so a crash in between leaves the job `delivering` (tried again at the next
  // start, and taken off the list if that works) rather than `undelivered` and on no list.
  await rt.deps.store.putResult(job.id, image.bytes);
  await rt.deps.store.addUndelivered(job.discord.userId, job.id);
  job.step = 'undelivered';
  await rt.save(job);
  rt.forget(job);
  log.warn('result kept: no Discord route reached the member; it will be handed over on their next interaction');
}

async function markDelivered(rt: JobRuntime, job: JobRecord, delivered: Omit<NonNullable<JobRecord['delivery']>, 'at'>): Promise<void> {
  job.step = 'done';
  job.delivery = { ...delivered, at: rt.now() };
  await rt.save(job);
  rt.deps.events?.delivered(job);
  // A job the previous process had put on the member's hand-over list just before dying reached them after all.
  if (rt.resumed.has(job.id)) await rt.deps.store.removeUndelivered(job.discord.userId, job.id);
  rt.forget(job);
}

async function downloadResult(rt: JobRuntime, job: JobRecord, reservation?: TransferReservation): Promise<{ bytes: Buffer; contentType: string }> {
  // The result goes into a buffer the transfer budget lends until the transfer ends (see transfer-budget.ts), with
  // room around it for the upload's multipart framing: the upload then sends the very same bytes (src/http/multipart.ts).
  const allocate = reservation ? { allocate: (bytes: number) => framableView(reservation.buffer(framableSize(bytes)), bytes) } : {};
  let lastErr: unknown;
  for (let attempt = 0; attempt < DOWNLOAD_ATTEMPTS; attempt++) {
    let url = rt.freshUrls.get(job.id);
    if (url === undefined || attempt > 0) {
      // Output URLs expire after an hour and every GET mints a fresh one: after a restart or a 403, ask again.
      const { generation } = await rt.deps.luma.getGeneration(job.generationId ?? '', { signal: rt.signal });
      url = generation.output?.[0]?.url;
      if (!url) throw new Error('completed generation has no output URL');
    }
    try {
      const r = await downloadImage(url, { maxBytes: MAX_RESULT_BYTES, timeoutMs: 60_000, dispatcher: rt.deps.http, signal: rt.signal, ...allocate });
      rt.freshUrls.delete(job.id);
      return r;
    } catch (err) {
      lastErr = err;
      rt.freshUrls.delete(job.id);
      const retry = err instanceof DownloadError && (err.kind === 'http' || err.kind === 'timeout' || err.kind === 'network');
      if (!retry) throw err;
      rt.log.warn({ err, jobId: job.id, attempt }, 'result download failed; fetching a fresh URL');
      await sleep(250 * 2 ** attempt, undefined, { signal: rt.signal });
    }
  }
  throw lastErr;
}

/** The route alone, without the outcome's tag. */
function routeOf(d: Delivered): Delivered {
  return { via: d.via, ...(d.messageId !== undefined ? { messageId: d.messageId } : {}), ...(d.channelId !== undefined ? { channelId: d.channelId } : {}) };
}
