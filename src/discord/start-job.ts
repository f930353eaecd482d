import { GuildMember, type BaseInteraction } from 'discord.js';
import type { BotContext } from '../context.js';
import { UserFacingError } from '../errors.js';
import { t } from '../i18n/index.js';
import type { JobSpec } from '../jobs/create.js';
import { jobFromInteraction } from './job-from-interaction.js';
import type { JobRecord } from '../jobs/types.js';
import type { Requester } from '../quota/types.js';
import { enforceGuildPolicy } from './policy.js';
import { retryStorage, StorageError } from '../storage/index.js';

export function requesterOf(interaction: BaseInteraction): Requester {
  const member = interaction.member;
  let roleIds: string[] = [];
  if (member instanceof GuildMember) roleIds = [...member.roles.cache.keys()];
  else if (member && Array.isArray(member.roles)) roleIds = member.roles;
  return { userId: interaction.user.id, guildId: interaction.guildId, roleIds, locale: interaction.locale };
}

/**
 * Waits between attempts to give back the unit of a job that was reserved but could not be stored (about 10 minutes
 * in all). The member is not kept waiting for it: they are answered after the first attempt.
 */
const REFUND_RETRY_DELAYS_MS = [1000, 5000, 15_000, 30_000, 60_000, 120_000, 120_000, 120_000, 120_000];

/**
 * The shared tail of every command that makes an image: build the job, reserve quota (which may refuse with a
 * UserFacingError), store and queue it. The caller has already deferred; the engine takes over the reply.
 * `check` runs after the quota said yes — checks that cost downloads (animated GIFs) are not done for a member
 * who may not make the image anyway — and a refusal from it gives the unit back. When storage fails, the command
 * is refused ("try again shortly") with nothing charged: a reservation that did not land charged nothing, and one
 * whose job could not be stored is given back. It starts once no other interaction waits for its acknowledgement
 * (at most 2 s later).
 */
export async function startJob(interaction: BaseInteraction, ctx: BotContext, spec: JobSpec, check?: () => Promise<void>): Promise<JobRecord> {
  // This interaction is acknowledged; the others of a burst are acknowledged before any of their jobs is started.
  ctx.acks.settled(interaction.id);
  await ctx.acks.idle();
  try {
    await enforceGuildPolicy(interaction, ctx, spec);
  } catch (err) {
    throw refusalFor(err, ctx, { userId: interaction.user.id }, interaction.locale);
  }
  const job = jobFromInteraction(interaction, spec);
  try {
    await ctx.quota.reserve(job, requesterOf(interaction));
  } catch (err) {
    throw refusalFor(err, ctx, job, interaction.locale);
  }
  if (check) {
    try {
      await check();
    } catch (err) {
      await giveBack(job, ctx, 'input_refused');
      throw err;
    }
  }
  try {
    await ctx.engine.enqueue(job);
  } catch (err) {
    await giveBack(job, ctx);
    throw refusalFor(err, ctx, job, interaction.locale);
  }
  await ctx.jobs.addToHistory(job).catch((err: unknown) => ctx.logger.warn({ err, jobId: job.id }, 'could not add the job to the member’s history'));
  return job;
}

function refusalFor(err: unknown, ctx: BotContext, who: JobRecord | { userId: string }, locale: string): unknown {
  if (!(err instanceof StorageError)) return err;
  const ids = 'discord' in who ? { jobId: who.id, userId: who.discord.userId } : who;
  ctx.storage.alarm.raise(err, ids);
  ctx.logger.warn({ err, ...ids }, 'storage failed: command refused, nothing charged');
  return new UserFacingError(t(locale, 'refuse.storage'), { code: 'storage_unavailable' });
}

/** Refunds the job's reservation; if storage still refuses, keeps trying in the background after answering. */
async function giveBack(job: JobRecord, ctx: BotContext, reason = 'enqueue_failed'): Promise<void> {
  const refund = () => ctx.quota.refund(job, reason);
  try {
    await refund();
    return;
  } catch (err) {
    ctx.logger.warn({ err, jobId: job.id }, 'refund of a job that could not be stored failed; retrying in the background');
  }
  void retryStorage(refund, REFUND_RETRY_DELAYS_MS, () => undefined).catch((err: unknown) => {
    ctx.logger.error({ err, jobId: job.id, userId: job.discord.userId, units: job.quota?.units }, 'gave up refunding a job that could not be stored: the member keeps this charge until the period ends');
  });
}
