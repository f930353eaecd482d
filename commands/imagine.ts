import { ApplicationCommandType, InteractionContextType, ApplicationIntegrationType, type RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import type { SlashCommand } from '../src/discord/command.js';
import { readOptions } from '../src/discord/command-options.js';
import { startJob } from '../src/discord/start-job.js';
import { deferForMember } from '../src/discord/defaults.js';
import {
  aspectRatioOption,
  countOption,
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
import { MAX_IMAGES_PER_REQUEST } from '../src/jobs/create.js';
import { MAX_IMAGE_REFS, PORTRAIT_RATIOS, type GenerationRequest } from '../src/luma/types.js';
import { resolveChoices } from '../src/preferences/model.js';

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
    countOption,
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
    const typed = {
      ...(options.style !== null ? { style: readStyle(options.style) } : {}),
      ...(options.aspect_ratio !== null ? { aspectRatio: readAspectRatio(options.aspect_ratio) } : {}),
      ...(options.model !== null ? { model: readModel(options.model) } : {}),
      ...(options.format !== null ? { outputFormat: readFormat(options.format) } : {}),
      ...(options.web_search !== null ? { webSearch: options.web_search } : {}),
      ...(options.count !== null ? { count: Math.min(MAX_IMAGES_PER_REQUEST, Math.max(1, Math.floor(options.count))) } : {}),
    };
    if (typed.style === 'manga' && typed.aspectRatio != null && !PORTRAIT_RATIOS.includes(typed.aspectRatio)) {
      throw new UserFacingError(t(locale, 'refuse.manga', { ratio: typed.aspectRatio }), { code: 'bad_option' });
    }
    // Luma takes at most nine references with a prompt; more than the definition offers are not read.
    const inputs = readReferences(interaction)
      .slice(0, MAX_IMAGE_REFS.image)
      .map((a) => ctx.inputs.check(a, 'ref', locale));

    // What the member left out comes from their /settings, then the server's defaults (src/preferences).
    const defaults = await deferForMember(interaction, ctx);
    const { choices, fromSettings } = resolveChoices(typed, defaults.member, defaults.server);
    const { model, aspectRatio, style, outputFormat, webSearch } = choices;
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
    const shown = { member: fromSettings.member.filter((c) => c !== 'visibility'), server: fromSettings.server.filter((c) => c !== 'visibility') };
    // Luma takes still GIFs only and would fail (after queueing) on an animated one: once the quota said yes,
    // the GIFs' bytes are checked before the job is queued.
    await startJob(
      interaction,
      ctx,
      {
        kind: 'imagine',
        request,
        inputs,
        display: { prompt, model, aspectRatio, style, outputFormat, webSearch, references: inputs.length, ...(shown.member.length + shown.server.length > 0 ? { fromSettings: shown } : {}) },
      },
      { count: choices.count, precheck: () => ctx.inputs.refuseAnimated(inputs, locale) },
    );
  },
};
