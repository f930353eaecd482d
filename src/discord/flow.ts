import { GuildMember, type BaseInteraction } from 'discord.js';
import type { BotContext } from '../context.js';
import { jobFromInteraction, type JobSpec } from '../jobs/create.js';
import type { JobRecord } from '../jobs/types.js';
import type { Requester } from '../quota/types.js';
import { enforceGuildPolicy } from './policy.js';

export function requesterOf(interaction: BaseInteraction): Requester {
  const member = interaction.member;
  let roleIds: string[] = [];
  if (member instanceof GuildMember) roleIds = [...member.roles.cache.keys()];
  else if (member && Array.isArray(member.roles)) roleIds = member.roles;
  return { userId: interaction.user.id, guildId: interaction.guildId, roleIds, locale: interaction.locale };
}

/**
 * The shared tail of every command that makes an image: build the job, reserve quota (which may refuse with a
 * UserFacingError), store and queue it. The caller has already deferred; the engine takes over the reply.
 */
export async function startJob(interaction: BaseInteraction, ctx: BotContext, spec: JobSpec): Promise<JobRecord> {
  await enforceGuildPolicy(interaction, ctx, spec);
  const job = jobFromInteraction(interaction, spec);
  await ctx.quota.reserve(job, requesterOf(interaction));
  try {
    await ctx.engine.enqueue(job);
  } catch (err) {
    await ctx.quota.refund(job, 'enqueue_failed');
    throw err;
  }
  await ctx.jobs.addToHistory(job).catch((err: unknown) => ctx.logger.warn({ err, jobId: job.id }, 'could not add the job to the member’s history'));
  return job;
}
