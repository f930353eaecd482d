import { ApplicationCommandOptionType, ApplicationCommandType, ApplicationIntegrationType, InteractionContextType } from 'discord.js';
import type { SlashCommand } from '../src/discord/command.js';
import { editJobSpec, MAX_EDIT_REFERENCES } from '../src/discord/edit-spec.js';
import { startJob } from '../src/discord/start-job.js';
import { formatOption, modelOption, promptOption, readFormat, readModel, readPrompt, readReferences, referenceOptions } from '../src/discord/options.js';
import { UserFacingError } from '../src/errors.js';
import { t } from '../src/i18n/index.js';

/*
 * /edit: change an image the member attaches. No aspect-ratio or style option — Luma ignores the ratio for
 * image_edit (the output follows the source), and an option that does nothing misleads.
 */
export const edit: SlashCommand = {
  kind: 'slash',
  data: {
    type: ApplicationCommandType.ChatInput,
    name: 'edit',
    description: 'Change an image with Luma: attach it and say what should change',
    options: [
      {
        type: ApplicationCommandOptionType.Attachment,
        name: 'image',
        description: 'The image to edit (PNG, JPEG, WebP, still GIF; ≤ 50 MB)',
        required: true,
      },
      promptOption('What should change (up to 6000 characters)'),
      modelOption,
      formatOption,
      ...referenceOptions(MAX_EDIT_REFERENCES),
    ],
    contexts: [InteractionContextType.Guild, InteractionContextType.BotDM, InteractionContextType.PrivateChannel],
    integration_types: [ApplicationIntegrationType.GuildInstall, ApplicationIntegrationType.UserInstall],
  },

  async execute(interaction, ctx) {
    // Everything that can be checked without I/O is checked before the deferral, so a refusal is private.
    const locale = interaction.locale;
    const prompt = readPrompt(interaction.options.getString('prompt'), locale);
    const attachment = interaction.options.getAttachment('image');
    if (!attachment) throw new UserFacingError(t(locale, 'refuse.edit.noImage'), { code: 'bad_attachment' });
    const source = ctx.inputs.check(attachment, 'source', locale);
    const attached = readReferences(interaction, 'image');
    if (attached.length > MAX_EDIT_REFERENCES) {
      const count = attached.length;
      throw new UserFacingError(
        t(locale, 'refuse.edit.tooManyRefs', { max: MAX_EDIT_REFERENCES, total: MAX_EDIT_REFERENCES + 1, count, remove: count - MAX_EDIT_REFERENCES }),
        { code: 'too_many_references' },
      );
    }
    const references = attached.map((a) => ctx.inputs.check(a, 'ref', locale));
    const model = readModel(interaction);
    const outputFormat = readFormat(interaction);

    await interaction.deferReply();
    // Reading a GIF can take a few seconds, so it happens after the deferral (and after the quota said yes); a
    // refusal then replaces the public "thinking…" with a private message (router → replyPrivately).
    const inputs = [source, ...references];
    await startJob(interaction, ctx, editJobSpec({ prompt, model, outputFormat, source, references }), () => ctx.inputs.refuseAnimated(inputs, locale));
  },
};
