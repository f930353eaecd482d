import { ActionRowBuilder, ButtonBuilder, ButtonStyle, type BaseInteraction, type ButtonInteraction } from 'discord.js';
import type { ComponentHandler } from '../src/discord/command.js';
import { deferForMember } from '../src/discord/defaults.js';
import { isUserInstalledHere, roleIdsOf, startJob } from '../src/discord/start-job.js';
import { refuseForeignJob } from '../src/discord/job-access.js';
import { interactionRoute } from '../src/discord/route.js';
import { messageLink } from '../src/discord/message-images.js';
import { editForm, readEditForm } from '../src/discord/modals.js';
import { CustomIds, Prefixes } from '../src/discord/custom-ids.js';
import { enhanceSpec, isGenerated, resultEditSpec, variationSpec, type GeneratedJob } from '../src/jobs/edit-spec.js';
import { UserFacingError } from '../src/errors.js';
import { t, tn } from '../src/i18n/index.js';
import type { BotContext } from '../src/context.js';
import { withoutInlineData, type JobSpec } from '../src/jobs/create.js';
import type { JobRecord } from '../src/jobs/types.js';

/*
 * Buttons under a result. Anyone in the channel may press Reroll, Vary, Edit and Enhance — that is how a community
 * riffs on an image — and the new job is made for, and counted against, whoever pressed (their /settings decide
 * whether its answer is public). Retry belongs to the member whose job failed. Each image of a request for several
 * has its own Vary, Edit and Enhance (they name its job); Reroll makes the whole request again.
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

/** A made image the buttons under it act on (Vary, Edit, Enhance): one Luma finished. */
async function loadImage(ctx: BotContext, id: string, interaction: BaseInteraction): Promise<GeneratedJob> {
  const job = await loadJob(ctx, id, interaction);
  if (!isGenerated(job) || (job.step !== 'done' && job.lastLumaState !== 'completed')) {
    throw new UserFacingError(t(interaction.locale, 'refuse.unfinished'), { code: 'job_unfinished' });
  }
  return job;
}

/** Where the result was delivered, shown under the edit as "Edited from". */
function resultLink(job: JobRecord): string | undefined {
  const d = job.delivery;
  if (!d?.messageId || !d.channelId) return undefined;
  return messageLink(job.requester.guildId, d.channelId, d.messageId);
}

/** The request a job was made from, to make it again (not the settings it took: they were the asker's). */
function sameRequest(parent: JobRecord): JobSpec {
  const { user_id: _ignored, ...request } = parent.request;
  const { fromSettings: _theirs, ...display } = parent.display;
  return { kind: parent.kind, request, inputs: parent.inputs, display, parentJobId: parent.id };
}

export const rerollButton: ComponentHandler = {
  prefix: Prefixes.reroll,
  async button(interaction, id, ctx) {
    const parent = await loadJob(ctx, id, interaction);
    await deferForMember(interaction, ctx);
    // The whole request again: as many images as it asked for.
    await startJob(interaction, ctx, sameRequest(parent), { count: parent.group?.jobIds.length ?? 1 });
  },
};

export const varyButton: ComponentHandler = {
  prefix: Prefixes.vary,
  async button(interaction, id, ctx) {
    const parent = await loadImage(ctx, id, interaction);
    await deferForMember(interaction, ctx);
    await startJob(interaction, ctx, variationSpec(parent, resultLink(parent)));
  },
};

export const editButton: ComponentHandler = {
  prefix: Prefixes.edit,
  async button(interaction, id, ctx) {
    const parent = await loadImage(ctx, id, interaction);
    // A modal must be the first answer to the click, so nothing slow happens before it.
    await interaction.showModal(editForm(CustomIds.editModal(id), interaction.locale, { model: parent.request.model ?? 'uni-1', weights: ctx.quota.weights }));
  },
};

export const editModal: ComponentHandler = {
  prefix: Prefixes.editModal,
  async modal(interaction, id, ctx) {
    const answers = readEditForm(interaction);
    // A file that is not an image is refused here, before anything is charged.
    const references = answers.uploads.map((a) => ctx.inputs.check(a, 'ref', interaction.locale));
    const parent = await loadImage(ctx, id, interaction);
    await deferForMember(interaction, ctx);
    const link = resultLink(parent);
    const spec = resultEditSpec(parent, answers.prompt, { references, ...(answers.model ? { model: answers.model } : {}), ...(link !== undefined ? { sourceLink: link } : {}) });
    await startJob(interaction, ctx, spec, { precheck: () => ctx.inputs.refuseAnimated(references, interaction.locale) });
  },
};

/** Which image of its request a job is, as its buttons name it ("image 2"), or "this image" when it is the only one. */
function imageName(job: JobRecord, locale: string): string {
  return job.group ? t(locale, 'result.imageN', { n: job.group.index + 1 }) : t(locale, 'enhance.thisImage');
}

export const enhanceButton: ComponentHandler = {
  prefix: Prefixes.enhance,
  async button(interaction, id, ctx) {
    const locale = interaction.locale;
    const parent = await loadImage(ctx, id, interaction);
    if (parent.request.model === 'uni-1-max') throw new UserFacingError(t(locale, 'enhance.alreadyMax'), { code: 'already_max' });
    const userInstalled = isUserInstalledHere(interaction);
    // Refused now when the server does not allow uni-1-max, rather than after a price was shown.
    await ctx.limits.check(interaction.guildId, { model: 'uni-1-max', count: 1, userInstalled }, locale);
    await ctx.acks.defer(interaction, { ephemeral: true });
    // The price first: what it costs this member, and what they have left. Nothing is charged until they confirm.
    const units = ctx.quota.weights['uni-1-max'];
    const status = await ctx.quota.status({ userId: interaction.user.id, guildId: interaction.guildId, roleIds: roleIdsOf(interaction), userInstalled, locale });
    const left = status.remaining === 'unlimited' ? t(locale, 'enhance.unlimited') : tn(locale, 'units', status.remaining);
    const cost = tn(locale, 'units', units);
    await interaction.editReply({
      content: t(locale, 'enhance.confirm', { image: imageName(parent, locale), cost, left }),
      components: [new ActionRowBuilder<ButtonBuilder>().addComponents(new ButtonBuilder().setCustomId(CustomIds.enhanceConfirm(parent.id)).setLabel(t(locale, 'enhance.button', { cost })).setEmoji({ name: '✨' }).setStyle(ButtonStyle.Primary))],
      allowedMentions: { parse: [] },
    });
  },
};

export const enhanceConfirmButton: ComponentHandler = {
  prefix: Prefixes.enhanceConfirm,
  async button(interaction, id, ctx) {
    const parent = await loadImage(ctx, id, interaction);
    if (parent.request.model === 'uni-1-max') throw new UserFacingError(t(interaction.locale, 'enhance.alreadyMax'), { code: 'already_max' });
    await deferForMember(interaction, ctx);
    await startJob(interaction, ctx, enhanceSpec(parent, resultLink(parent)));
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
  await deferForMember(interaction, ctx);
  if (parent.generationId && parent.completedAt !== undefined) {
    // The image exists at Luma; only its delivery failed. Fetch and deliver it again, through this click's reply.
    await ctx.engine.redeliver(parent.id, { ...interactionRoute(interaction) }, interaction.locale);
    return;
  }
  // One image again (an image of several that failed is retried on its own).
  await startJob(interaction, ctx, sameRequest(parent));
}

export const resultActions: readonly ComponentHandler[] = [rerollButton, varyButton, editButton, editModal, enhanceButton, enhanceConfirmButton, retryButton];
