import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  InteractionContextType,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import type { SlashCommand } from '../src/discord/command.js';
import { readOptions } from '../src/discord/command-options.js';
import { editJobSpec, MAX_EDIT_REFERENCES } from '../src/jobs/edit-spec.js';
import { startJob } from '../src/discord/start-job.js';
import { formatOption, modelOption, promptOption, readFormat, readModel, readPrompt, readReferences, referenceOptions } from '../src/discord/options.js';
import { UserFacingError } from '../src/errors.js';
import { english } from '../src/i18n/commands.js';
import { t } from '../src/i18n/index.js';

/*
 * /edit: change an image the member attaches. No aspect-ratio or style option — Luma ignores the ratio for
 * image_edit (the output follows the source), and an option that does nothing misleads.
 */
const data = {
  type: ApplicationCommandType.ChatInput,
  name: 'edit',
  description: english('cmd.edit.description'),
  options: [
    {
      type: ApplicationCommandOptionType.Attachment,
      name: 'image',
      description: english('cmd.edit.image.description'),
      required: true,
    },
    promptOption(english('cmd.edit.prompt.description')),
    modelOption,
    formatOption,
    ...referenceOptions(MAX_EDIT_REFERENCES),
  ],
  contexts: [InteractionContextType.Guild, InteractionContextType.BotDM, InteractionContextType.PrivateChannel],
  integration_types: [ApplicationIntegrationType.GuildInstall, ApplicationIntegrationType.UserInstall],
} as const satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

export const edit: SlashCommand = {
  kind: 'slash',
  data,

  async execute(interaction, ctx) {
    // Everything that can be checked without I/O is checked before the deferral, so a refusal is private.
    const locale = interaction.locale;
    const options = readOptions(interaction, data);
    const prompt = readPrompt(options.prompt, locale);
    const source = ctx.inputs.check(options.image, 'source', locale);
    const attached = readReferences(interaction, 'image');
    if (attached.length > MAX_EDIT_REFERENCES) {
      const count = attached.length;
      throw new UserFacingError(
        t(locale, 'refuse.edit.tooManyRefs', { max: MAX_EDIT_REFERENCES, total: MAX_EDIT_REFERENCES + 1, count, remove: count - MAX_EDIT_REFERENCES }),
        { code: 'too_many_references' },
      );
    }
    const references = attached.map((a) => ctx.inputs.check(a, 'ref', locale));
    const model = readModel(options.model);
    const outputFormat = readFormat(options.format);

    await ctx.acks.defer(interaction);
    // Reading a GIF can take a few seconds, so it happens after the deferral (and after the quota said yes); a
    // refusal then replaces the public "thinking…" with a private message (router → replyPrivately).
    const inputs = [source, ...references];
    await startJob(interaction, ctx, editJobSpec({ prompt, model, outputFormat, source, references }), { precheck: () => ctx.inputs.refuseAnimated(inputs, locale) });
  },
};
