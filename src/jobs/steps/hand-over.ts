import { sniffImageType } from '../../images/sniff.js';
import { fitToLimit } from '../../images/fit.js';
import type { HandOverTarget } from '../deliverer.js';
import type { JobRuntime } from '../runtime.js';

/**
 * Results that could not be delivered earlier are handed over the next time the member uses the bot. Each leaves
 * the list only once it has reached the member, so a crash or a failure mid-way loses none.
 */
export async function handOverUndelivered(rt: JobRuntime, to: HandOverTarget): Promise<void> {
  const { userId } = to;
  const store = rt.deps.store;
  if ((await store.listUndelivered(userId)).length === 0) return;
  // Two interactions of one member at once must not hand the same image over twice.
  await store.withHandOverLock(userId, async () => {
    for (const id of await store.listUndelivered(userId)) {
      try {
        await handOver(rt, id, to);
      } catch (err) {
        rt.log.warn({ err, jobId: id, userId }, 'kept result could not be handed over; will try again next time');
      }
    }
  });
}

async function handOver(rt: JobRuntime, id: string, to: HandOverTarget): Promise<void> {
  const store = rt.deps.store;
  const job = await store.get(id);
  const bytes = await store.getResult(id);
  if (!job || !bytes || job.step !== 'undelivered') {
    await store.removeUndelivered(to.userId, id);
    return;
  }
  const image = await fitToLimit(bytes, sniffImageType(bytes) ?? 'image/png', to.attachmentSizeLimit);
  const delivered = await rt.deps.deliverer.handOver(job, image, to);
  job.step = 'done';
  job.delivery = { ...delivered, at: rt.now() };
  await rt.save(job);
  await store.removeUndelivered(to.userId, id);
}
