import {
  ApplicationCommandType,
  ApplicationIntegrationType,
  ComponentType,
  InteractionContextType,
  TextInputStyle,
  type APIModalInteractionResponseCallbackData,
  type ModalSubmitInteraction,
} from 'discord.js';
import type { BotContext } from '../src/context.js';
import type { ComponentHandler, MessageMenuCommand } from '../src/discord/command.js';
import { CustomIds, Prefixes, readEditImageTarget, type EditImageTarget } from '../src/discord/custom-ids.js';
import { editJobSpec, isGenerated, resultEditSpec, type GeneratedJob } from '../src/jobs/edit-spec.js';
import { startJob } from '../src/discord/start-job.js';
import { fromDiscordMessage, isOwnMessage, jobIdIn, messageLink } from '../src/discord/message-images.js';
import { refuseForeignJob } from '../src/discord/job-access.js';
import { editPromptModal, readModalPrompt } from '../src/discord/modals.js';
import { truncate } from '../src/discord/render.js';
import { UserFacingError } from '../src/errors.js';
import { english } from '../src/i18n/commands.js';
import { t, tn } from '../src/i18n/index.js';

/*
 * Right-click a message → Apps → "Edit image". The command answers with a modal (a modal must be the first
 * answer, so nothing slow happens before it); the modal's submit is a new interaction that carries only the
 * modal's custom_id, so that holds the target (custom-ids.ts): the message, how many images it showed, and the
 * job id when the message is one of the bot's results.
 * The submit fetches the message again by REST (except a bot result, edited through its generation_id), because
 * attachment URLs are signed and expire, and the member may submit long after opening the form.
 */

/** The form's text input for the image number (shown only when there is a choice). */
const IMAGE_FIELD = 'image';

export const editImage: MessageMenuCommand = {
  kind: 'message',
  data: {
    type: ApplicationCommandType.Message,
    name: english('cmd.Edit image.name'),
    // The submit re-reads the message with the bot's token, which works only where the bot can read: servers it
    // was added to, and DMs with the bot. A user install elsewhere would always end in "cannot read".
    contexts: [InteractionContextType.Guild, InteractionContextType.BotDM],
    integration_types: [ApplicationIntegrationType.GuildInstall],
  },

  async execute(interaction, ctx) {
    const message = fromDiscordMessage(interaction.targetMessage);
    const count = ctx.inputs.inMessage(message).length;
    // Its progress and failure messages carry no image, and are refused here like any other message.
    if (count === 0) throw new UserFacingError(t(interaction.locale, 'refuse.editImage.noImage'), { code: 'no_image' });
    // A result of this bot is edited as a whole, by its generation_id: no choice to make.
    const jobId = isOwnMessage(message, interaction.applicationId) ? jobIdIn(message) : undefined;
    const target = { channelId: message.channelId, messageId: message.id, count: jobId !== undefined ? 1 : count };
    await interaction.showModal(editImageForm(jobId !== undefined ? { ...target, jobId } : target, interaction.locale));
  },
};

export const editImageModal: ComponentHandler = {
  prefix: Prefixes.editImageModal,
  async modal(interaction, arg, ctx) {
    const locale = interaction.locale;
    const target = parseTarget(arg, locale);
    // The form is submitted where it was opened, on a message of that channel: a custom_id naming another
    // channel is forged, and would make the bot read (and edit) a message the member may not see.
    if (target.channelId !== interaction.channelId) {
      throw new UserFacingError(t(locale, 'refuse.editImage.otherChannel'), { code: 'bad_custom_id' });
    }
    const prompt = readModalPrompt(interaction);
    const index = readImageNumber(interaction, target.count);
    await ctx.acks.defer(interaction);

    const sourceLink = messageLink(interaction.guildId, target.channelId, target.messageId);
    // A result of this bot, named in the form when it was opened: edited through its generation_id, with no need
    // to read the message again.
    const parent = target.jobId !== undefined ? await finishedJob(ctx, target.jobId, interaction) : undefined;
    if (parent) {
      await startJob(interaction, ctx, resultEditSpec(parent, prompt, sourceLink));
      return;
    }

    const message = await ctx.messages.fetch(target.channelId, target.messageId, locale);

    const images = ctx.inputs.inMessage(message);
    if (images.length === 0) {
      throw new UserFacingError(t(locale, 'refuse.editImage.imageGone'), { code: 'no_image' });
    }
    const candidate = images[index - 1];
    if (!candidate) {
      throw new UserFacingError(t(locale, 'refuse.editImage.noSuchImage', { images: tn(locale, 'images', images.length), index }), { code: 'bad_option' });
    }
    const source = ctx.inputs.check(candidate, 'source', locale);
    await startJob(interaction, ctx, editJobSpec({ prompt, model: 'uni-1', outputFormat: null, source, sourceLink }), { precheck: () => ctx.inputs.refuseAnimated([source], locale) });
  },
};

/** The form: the prompt, and — when the message holds several images — which one (1 = the first shown). */
export function editImageForm(target: EditImageTarget, locale?: string): APIModalInteractionResponseCallbackData {
  const customId = CustomIds.editImageModal(target);
  if (target.count <= 1) return editPromptModal(customId, locale);
  const form = editPromptModal(customId, locale, t(locale, 'modal.editFromMessage'));
  return {
    ...form,
    components: [
      {
        type: ComponentType.ActionRow,
        components: [
          {
            type: ComponentType.TextInput,
            custom_id: IMAGE_FIELD,
            label: truncate(t(locale, 'modal.which.label', { count: target.count }), 45),
            style: TextInputStyle.Short,
            min_length: 1,
            max_length: 3,
            required: true,
            placeholder: truncate(t(locale, 'modal.which.placeholder'), 100),
          },
        ],
      },
      ...form.components,
    ],
  };
}

function parseTarget(arg: string, locale: string): EditImageTarget {
  const target = readEditImageTarget(arg);
  if (!target) throw new UserFacingError(t(locale, 'refuse.editImage.badForm'), { code: 'bad_custom_id' });
  return target;
}

function readImageNumber(interaction: ModalSubmitInteraction, count: number): number {
  if (count <= 1) return 1;
  let raw = '';
  try {
    raw = interaction.fields.getTextInputValue(IMAGE_FIELD);
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
