import type { BaseInteraction, ButtonInteraction } from 'discord.js';
import type { ComponentHandler } from '../src/discord/command.js';
import { startJob } from '../src/discord/start-job.js';
import { refuseForeignJob } from '../src/discord/job-access.js';
import { interactionRoute } from '../src/discord/route.js';
import { messageLink } from '../src/discord/message-images.js';
import { editPromptModal, readModalPrompt } from '../src/discord/modals.js';
import { CustomIds, Prefixes } from '../src/discord/custom-ids.js';
import { isGenerated, resultEditSpec } from '../src/jobs/edit-spec.js';
import { UserFacingError } from '../src/errors.js';
import { t } from '../src/i18n/index.js';
import type { BotContext } from '../src/context.js';
import { withoutInlineData } from '../src/jobs/create.js';
import type { JobRecord } from '../src/jobs/types.js';

/*
 * Buttons under a result. Anyone in the channel may press Reroll and Edit — that is how a community riffs on
 * an image — and the new job is made for, and counted against, whoever pressed. Retry belongs to the member
 * whose job failed.
 */

/** The job a button or modal names — only if it belongs where the click came from (custom_ids can be forged). */
async function loadJob(ctx: BotContext, id: string, interaction: BaseInteraction): Promise<JobRecord> {
  const job = await ctx.jobs.get(id);
  if (!job) {
    throw new UserFacingError(t(interaction.locale, 'refuse.jobGone'), { code: 'job_gone' });
  }
  refuseForeignJob(job, interaction);
  // Records from older versions may hold the base64 of member images: a new job carries their URLs only.
  withoutInlineData(job);
  return job;
}

/** Where the result was delivered, shown under the edit as "Edited from". */
function resultLink(job: JobRecord): string | undefined {
  const d = job.delivery;
  if (!d?.messageId || !d.channelId) return undefined;
  return messageLink(job.requester.guildId, d.channelId, d.messageId);
}

async function reroll(interaction: ButtonInteraction, id: string, ctx: BotContext): Promise<void> {
  const parent = await loadJob(ctx, id, interaction);
  await ctx.acks.defer(interaction);
  const { user_id: _ignored, ...request } = parent.request;
  await startJob(interaction, ctx, {
    kind: parent.kind,
    request,
    inputs: parent.inputs,
    display: parent.display,
    parentJobId: parent.id,
  });
}

export const rerollButton: ComponentHandler = {
  prefix: Prefixes.reroll,
  button: reroll,
};

export const editButton: ComponentHandler = {
  prefix: Prefixes.edit,
  async button(interaction, id, ctx) {
    const parent = await loadJob(ctx, id, interaction);
    if (!isGenerated(parent) || parent.step !== 'done') {
      throw new UserFacingError(t(interaction.locale, 'refuse.unfinished'), { code: 'job_unfinished' });
    }
    // A modal must be the first answer to the click, so nothing slow happens before it.
    await interaction.showModal(editPromptModal(CustomIds.editModal(id), interaction.locale));
  },
};

export const editModal: ComponentHandler = {
  prefix: Prefixes.editModal,
  async modal(interaction, id, ctx) {
    const prompt = readModalPrompt(interaction);
    const parent = await loadJob(ctx, id, interaction);
    if (!isGenerated(parent)) throw new UserFacingError(t(interaction.locale, 'refuse.unfinished'), { code: 'job_unfinished' });
    await ctx.acks.defer(interaction);
    await startJob(interaction, ctx, resultEditSpec(parent, prompt, resultLink(parent)));
  },
};

export const retryButton: ComponentHandler = {
  prefix: Prefixes.retry,
  async button(interaction, id, ctx) {
    const parent = await loadJob(ctx, id, interaction);
    if (parent.requester.userId !== interaction.user.id) {
      throw new UserFacingError(t(interaction.locale, 'refuse.notOwner'), { code: 'not_owner' });
    }
    if (parent.step !== 'failed' && parent.step !== 'undelivered') {
      throw new UserFacingError(t(interaction.locale, 'refuse.notFailed'), { code: 'not_failed' });
    }
    // A second click while the first is handled, or while the job it started runs: refused privately (the engine
    // re-checks a redelivery under its own claim).
    await ctx.engine.retry(parent.id, interaction.locale, () => retry(interaction, parent, ctx));
  },
};

async function retry(interaction: ButtonInteraction, parent: JobRecord, ctx: BotContext): Promise<void> {
  await ctx.acks.defer(interaction);
  if (parent.generationId && parent.completedAt !== undefined) {
    // The image exists at Luma; only its delivery failed. Fetch and deliver it again, through this click's reply.
    await ctx.engine.redeliver(parent.id, { ...interactionRoute(interaction) }, interaction.locale);
    return;
  }
  const { user_id: _ignored, ...request } = parent.request;
  await startJob(interaction, ctx, { kind: parent.kind, request, inputs: parent.inputs, display: parent.display, parentJobId: parent.id });
}

export const resultActions: readonly ComponentHandler[] = [rerollButton, editButton, editModal, retryButton];
