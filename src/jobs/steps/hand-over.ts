import { sniffImageType } from '../../images/sniff.js';
import type { HandOverTo } from '../delivery.js';
import type { HandOverContext } from './context.js';

/**
 * Results that could not be delivered earlier are handed over the next time the member uses the bot, through the
 * route of that request (`to`). Each leaves the list only once it has reached the member, so a crash or a failure
 * mid-way loses none.
 */
export async function handOverUndelivered(ctx: HandOverContext, to: HandOverTo): Promise<void> {
  const userId = to.requester.userId;
  if ((await ctx.kept.list(userId)).length === 0) return;
  // Two interactions of one member at once must not hand the same image over twice.
  await ctx.kept.exclusive(userId, async () => {
    for (const id of await ctx.kept.list(userId)) {
      try {
        await handOver(ctx, id, userId, to);
      } catch (err) {
        ctx.log.warn({ err, jobId: id, userId }, 'kept result could not be handed over; will try again next time');
      }
    }
  });
}

async function handOver(ctx: HandOverContext, id: string, userId: string, to: HandOverTo): Promise<void> {
  const job = await ctx.records.get(id);
  const bytes = await ctx.kept.getResult(id);
  if (!job || !bytes || job.step !== 'undelivered') {
    await ctx.kept.remove(userId, id);
    return;
  }
  const delivered = await ctx.deliver.handOver(job, { bytes, contentType: sniffImageType(bytes) ?? 'image/png' }, to);
  job.step = 'done';
  const { via, messageId, channelId } = delivered;
  job.delivery = { via, ...(messageId !== undefined ? { messageId } : {}), ...(channelId !== undefined ? { channelId } : {}), at: ctx.clock.now() };
  await ctx.records.save(job);
  await ctx.kept.remove(userId, id);
}
