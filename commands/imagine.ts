import { ApplicationCommandType, InteractionContextType, ApplicationIntegrationType, type RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import type { SlashCommand } from '../src/discord/command.js';
import { readOptions } from '../src/discord/command-options.js';
import { startJob } from '../src/discord/start-job.js';
import {
  aspectRatioOption,
  formatOption,
  modelOption,
  promptOption,
  readAspectRatio,
  readFormat,
  readModel,
  readPrompt,
  readReferences,
  readStyle,
  referenceOptions,
  styleOption,
  webSearchOption,
} from '../src/discord/options.js';
import { UserFacingError } from '../src/errors.js';
import { english } from '../src/i18n/commands.js';
import { t } from '../src/i18n/index.js';
import { MAX_IMAGE_REFS, PORTRAIT_RATIOS, type GenerationRequest } from '../src/luma/types.js';

const data = {
  type: ApplicationCommandType.ChatInput,
  name: 'imagine',
  description: english('cmd.imagine.description'),
  options: [
    promptOption(english('cmd.imagine.prompt.description')),
    aspectRatioOption,
    modelOption,
    styleOption,
    formatOption,
    webSearchOption,
    ...referenceOptions(MAX_IMAGE_REFS.image),
  ],
  contexts: [InteractionContextType.Guild, InteractionContextType.BotDM, InteractionContextType.PrivateChannel],
  integration_types: [ApplicationIntegrationType.GuildInstall, ApplicationIntegrationType.UserInstall],
} as const satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

export const imagine: SlashCommand = {
  kind: 'slash',
  data,

  async execute(interaction, ctx) {
    // Everything that can be checked without I/O is checked before the deferral, so a refusal is private.
    const locale = interaction.locale;
    const options = readOptions(interaction, data);
    const prompt = readPrompt(options.prompt, locale);
    const style = readStyle(options.style);
    let aspectRatio = readAspectRatio(options.aspect_ratio);
    if (style === 'manga') {
      if (aspectRatio !== null && !PORTRAIT_RATIOS.includes(aspectRatio)) {
        throw new UserFacingError(t(locale, 'refuse.manga', { ratio: aspectRatio }), { code: 'bad_option' });
      }
      aspectRatio ??= '2:3';
    }
    // Luma takes at most nine references with a prompt; more than the definition offers are not read.
    const inputs = readReferences(interaction)
      .slice(0, MAX_IMAGE_REFS.image)
      .map((a) => ctx.inputs.check(a, 'ref', locale));
    const model = readModel(options.model);
    const outputFormat = readFormat(options.format);
    const webSearch = options.web_search ?? false;

    await ctx.acks.defer(interaction);
    const request: GenerationRequest = {
      prompt,
      model,
      type: 'image',
      ...(aspectRatio !== null ? { aspect_ratio: aspectRatio } : {}),
      style,
      ...(outputFormat !== null ? { output_format: outputFormat } : {}),
      ...(webSearch ? { web_search: true } : {}),
      ...(inputs.length > 0 ? { image_ref: inputs.map((i) => i.input) } : {}),
    };
    // Luma takes still GIFs only and would fail (after queueing) on an animated one: once the quota said yes,
    // the GIFs' bytes are checked before the job is queued.
    await startJob(interaction, ctx, {
      kind: 'imagine',
      request,
      inputs,
      display: { prompt, model, aspectRatio, style, outputFormat, webSearch, references: inputs.length },
    }, { precheck: () => ctx.inputs.refuseAnimated(inputs, locale) });
  },
};
