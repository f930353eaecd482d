import { ApplicationCommandType, ApplicationIntegrationType, InteractionContextType, type MessageContextMenuCommandInteraction, type ModalSubmitInteraction } from 'discord.js';
import type { BotContext } from '../src/context.js';
import type { ImageCandidate } from '../src/discord/attachments.js';
import type { ComponentHandler, MessageMenuCommand } from '../src/discord/command.js';
import { CustomIds, Prefixes, readEditImageTarget, type EditImageTarget } from '../src/discord/custom-ids.js';
import { deferForMember } from '../src/discord/defaults.js';
import { EditFields, editForm, readEditForm, type EditAnswers } from '../src/discord/modals.js';
import { fromDiscordMessage, isOwnMessage, jobIdIn, jobIdOfFile, messageLink, type MessageSnapshot } from '../src/discord/message-images.js';
import { refuseForeignJob } from '../src/discord/job-access.js';
import { isUserInstalledHere, startJob } from '../src/discord/start-job.js';
import { truncate } from '../src/discord/render.js';
import { editJobSpec, isGenerated, resultEditSpec, type GeneratedJob } from '../src/jobs/edit-spec.js';
import type { JobInput } from '../src/jobs/types.js';
import { UserFacingError } from '../src/errors.js';
import { english } from '../src/i18n/commands.js';
import { t, tn } from '../src/i18n/index.js';

/*
 * Right-click a message → Apps → "Edit image". The command answers with a form (a modal must be the first answer):
 * the prompt, which image when there are several, up to seven more references (File Upload) and the model. The
 * form's submit is a new interaction that carries only the form's custom_id, so that holds the target:
 *  - where the bot can read the channel (its own install in a server, a DM with it): the message, how many images
 *    it showed and, for one of the bot's results, its job (custom-ids.ts). The submit reads the message again by
 *    REST (attachment URLs are signed and expire; the member may submit long after opening the form), except a bot
 *    result, edited through its generation_id.
 *  - where it cannot (a member's own install in a server without the bot, a group DM): a short id of the form's
 *    state in storage (forms.ts), holding the images as the interaction's resolved.messages gave them.
 * The result is delivered in the reply either way.
 */

export const editImage: MessageMenuCommand = {
  kind: 'message',
  data: {
    type: ApplicationCommandType.Message,
    name: english('cmd.Edit image.name'),
    contexts: [InteractionContextType.Guild, InteractionContextType.BotDM, InteractionContextType.PrivateChannel],
    integration_types: [ApplicationIntegrationType.GuildInstall, ApplicationIntegrationType.UserInstall],
  },

  async execute(interaction, ctx) {
    const locale = interaction.locale;
    const message = fromDiscordMessage(interaction.targetMessage);
    const images = ctx.inputs.inMessage(message);
    // Its progress and failure messages carry no image, and are refused here like any other message.
    if (images.length === 0) throw new UserFacingError(t(locale, 'refuse.editImage.noImage'), { code: 'no_image' });
    const jobIds = resultJobs(message, images, interaction.applicationId);
    const single = images.length === 1 ? (jobIds[0] ?? undefined) : undefined;
    const form = { which: single !== undefined ? 1 : images.length, model: 'uni-1' as const, weights: ctx.quota.weights, title: t(locale, single !== undefined ? 'modal.editThis' : 'modal.editFromMessage') };
    if (!botCanRead(interaction)) {
      const id = await ctx.forms.put({ channelId: message.channelId, messageId: message.id, images, jobIds });
      await interaction.showModal(editForm(CustomIds.editImageStoredModal(id), locale, form));
      return;
    }
    const target: EditImageTarget = { channelId: message.channelId, messageId: message.id, count: form.which, ...(single !== undefined ? { jobId: single } : {}) };
    await interaction.showModal(editForm(CustomIds.editImageModal(target), locale, form));
  },
};

/** Whether the bot reads the channel with its own token: not where only the member installed it, nor a group DM. */
function botCanRead(interaction: MessageContextMenuCommandInteraction): boolean {
  return !isUserInstalledHere(interaction) && interaction.context !== InteractionContextType.PrivateChannel;
}

/** For each image of one of the bot's results, its job (by the file's name, or the result's one job); else null. */
function resultJobs(message: MessageSnapshot, images: ImageCandidate[], applicationId: string): Array<string | null> {
  if (!isOwnMessage(message, applicationId)) return images.map(() => null);
  const byFile = images.map((image) => jobIdOfFile(image.filename) ?? null);
  if (images.length === 1 && byFile[0] === null) return [jobIdIn(message) ?? null];
  return byFile;
}

export const editImageModal: ComponentHandler = {
  prefix: Prefixes.editImageModal,
  async modal(interaction, arg, ctx) {
    const locale = interaction.locale;
    const target = readEditImageTarget(arg);
    if (!target) throw new UserFacingError(t(locale, 'refuse.editImage.badForm'), { code: 'bad_custom_id' });
    // The form is submitted where it was opened, on a message of that channel: a custom_id naming another
    // channel is forged, and would make the bot read (and edit) a message the member may not see.
    if (target.channelId !== interaction.channelId) throw new UserFacingError(t(locale, 'refuse.editImage.otherChannel'), { code: 'bad_custom_id' });
    const answers = readEditForm(interaction);
    const index = readImageNumber(interaction, target.count);
    const references = checkReferences(answers, ctx, locale);
    const sourceLink = messageLink(interaction.guildId, target.channelId, target.messageId);
    // A result of this bot, named in the form when it was opened: edited through its generation_id, with no need
    // to read the message again.
    await deferForMember(interaction, ctx);
    const named = target.jobId !== undefined ? await finishedJob(ctx, target.jobId, interaction) : undefined;
    if (named) return startResultEdit(interaction, ctx, named, answers, references, sourceLink);

    const message = await ctx.messages.fetch(target.channelId, target.messageId, locale);
    const images = ctx.inputs.inMessage(message);
    const jobIds = resultJobs(message, images, interaction.applicationId);
    await editChosen(interaction, ctx, { images, jobIds, index, answers, references, sourceLink });
  },
};

export const editImageStoredModal: ComponentHandler = {
  prefix: Prefixes.editImageStoredModal,
  async modal(interaction, id, ctx) {
    const locale = interaction.locale;
    const form = await ctx.forms.get(id);
    if (!form) throw new UserFacingError(t(locale, 'refuse.editImage.badForm'), { code: 'bad_custom_id' });
    if (form.channelId !== interaction.channelId) throw new UserFacingError(t(locale, 'refuse.editImage.otherChannel'), { code: 'bad_custom_id' });
    const answers = readEditForm(interaction);
    const index = readImageNumber(interaction, form.images.length);
    const references = checkReferences(answers, ctx, locale);
    await deferForMember(interaction, ctx);
    const sourceLink = messageLink(interaction.guildId, form.channelId, form.messageId);
    await editChosen(interaction, ctx, { images: form.images, jobIds: form.jobIds, index, answers, references, sourceLink });
  },
};

/** The uploaded references as job inputs: a file that is not an image is refused before anything is charged. */
function checkReferences(answers: EditAnswers, ctx: BotContext, locale: string): JobInput[] {
  return answers.uploads.map((a) => ctx.inputs.check(a, 'ref', locale));
}

/** Edits the `index`-th image (1-based) of a message: through its job when it is one of the bot's results. */
async function editChosen(
  interaction: ModalSubmitInteraction,
  ctx: BotContext,
  o: { images: ImageCandidate[]; jobIds: Array<string | null>; index: number; answers: EditAnswers; references: JobInput[]; sourceLink: string },
): Promise<void> {
  const locale = interaction.locale;
  if (o.images.length === 0) throw new UserFacingError(t(locale, 'refuse.editImage.imageGone'), { code: 'no_image' });
  const candidate = o.images[o.index - 1];
  if (!candidate) {
    throw new UserFacingError(t(locale, 'refuse.editImage.noSuchImage', { images: tn(locale, 'images', o.images.length), index: o.index }), { code: 'bad_option' });
  }
  const jobId = o.jobIds[o.index - 1];
  const parent = jobId ? await finishedJob(ctx, jobId, interaction) : undefined;
  if (parent) return startResultEdit(interaction, ctx, parent, o.answers, o.references, o.sourceLink);
  const source = ctx.inputs.check(candidate, 'source', locale);
  const spec = editJobSpec({ prompt: o.answers.prompt, model: o.answers.model ?? 'uni-1', outputFormat: null, source, references: o.references, sourceLink: o.sourceLink });
  await startJob(interaction, ctx, spec, { precheck: () => ctx.inputs.refuseAnimated([source, ...o.references], locale) });
}

async function startResultEdit(interaction: ModalSubmitInteraction, ctx: BotContext, parent: GeneratedJob, answers: EditAnswers, references: JobInput[], sourceLink: string): Promise<void> {
  const spec = resultEditSpec(parent, answers.prompt, { references, sourceLink, ...(answers.model ? { model: answers.model } : {}) });
  await startJob(interaction, ctx, spec, { precheck: () => ctx.inputs.refuseAnimated(references, interaction.locale) });
}

function readImageNumber(interaction: ModalSubmitInteraction, count: number): number {
  if (count <= 1) return 1;
  let raw = '';
  try {
    raw = interaction.fields.getTextInputValue(EditFields.which);
  } catch {
    // A field missing from the submit reads as empty: the member is asked for the number below.
  }
  const n = Number(/^\s*#?\s*(\d{1,3})\s*$/.exec(raw)?.[1]);
  if (!Number.isInteger(n) || n < 1 || n > count) {
    const shown = raw.trim() === '' ? t(interaction.locale, 'refuse.editImage.wroteNothing') : `"${truncate(raw.trim(), 20).replace(/[`"]/g, '')}"`;
    throw new UserFacingError(t(interaction.locale, 'refuse.editImage.whichImage', { count, shown }), { code: 'bad_option' });
  }
  return n;
}

async function finishedJob(ctx: BotContext, jobId: string, interaction: ModalSubmitInteraction): Promise<GeneratedJob | undefined> {
  const job = await ctx.jobs.get(jobId);
  // Luma made the image (a result on its way to Discord counts: the member may open the menu on it the moment it
  // shows, before the bot has recorded the delivery).
  if (!job || !isGenerated(job) || (job.step !== 'done' && job.lastLumaState !== 'completed')) return undefined;
  refuseForeignJob(job, interaction);
  return job;
}
