import {
  ApplicationCommandOptionType,
  type APIApplicationCommandBasicOption,
  type Attachment,
  type ChatInputCommandInteraction,
} from 'discord.js';
import { UserFacingError } from '../errors.js';
import { choice, english } from '../i18n/commands.js';
import { t } from '../i18n/index.js';
import { MAX_IMAGES_PER_REQUEST } from '../jobs/create.js';
import { ASPECT_RATIOS, MAX_PROMPT_LENGTH, type AspectRatio, type Model, type OutputFormat, type Style } from '../luma/types.js';

/** The nine ratios in the order members think of them (named by the catalogue's `opt.aspect_ratio.choice.*`). */
const ASPECT_RATIO_CHOICES = ['1:1', '16:9', '3:2', '2:1', '3:1', '9:16', '2:3', '1:2', '1:3'] as const satisfies readonly AspectRatio[];

export const promptOption = (description: string) =>
  ({
    type: ApplicationCommandOptionType.String,
    name: 'prompt',
    description,
    required: true,
    min_length: 1,
    max_length: MAX_PROMPT_LENGTH,
  }) as const satisfies APIApplicationCommandBasicOption;

export const modelOption = {
  type: ApplicationCommandOptionType.String,
  name: 'model',
  description: english('opt.model.description'),
  choices: [choice('opt.model.choice.uni-1'), choice('opt.model.choice.uni-1-max')],
} as const satisfies APIApplicationCommandBasicOption;

export const formatOption = {
  type: ApplicationCommandOptionType.String,
  name: 'format',
  description: english('opt.format.description'),
  choices: [choice('opt.format.choice.png'), choice('opt.format.choice.jpeg')],
} as const satisfies APIApplicationCommandBasicOption;

export const aspectRatioOption = {
  type: ApplicationCommandOptionType.String,
  name: 'aspect_ratio',
  description: english('opt.aspect_ratio.description'),
  choices: ASPECT_RATIO_CHOICES.map((r) => choice(`opt.aspect_ratio.choice.${r}`)),
} as const satisfies APIApplicationCommandBasicOption;

export const styleOption = {
  type: ApplicationCommandOptionType.String,
  name: 'style',
  description: english('opt.style.description'),
  choices: [choice('opt.style.choice.auto'), choice('opt.style.choice.manga')],
} as const satisfies APIApplicationCommandBasicOption;

export const countOption = {
  type: ApplicationCommandOptionType.Integer,
  name: 'count',
  description: english('opt.count.description'),
  min_value: 1,
  max_value: MAX_IMAGES_PER_REQUEST,
} as const satisfies APIApplicationCommandBasicOption;

export const webSearchOption = {
  type: ApplicationCommandOptionType.Boolean,
  name: 'web_search',
  description: english('opt.web_search.description'),
} as const satisfies APIApplicationCommandBasicOption;

export function referenceOptions(count: number, first = 1) {
  return Array.from({ length: count }, (_, i) => ({
    type: ApplicationCommandOptionType.Attachment,
    name: `reference${first + i}` as const,
    description: english('opt.reference.description', { n: first + i }),
  }) as const satisfies APIApplicationCommandBasicOption);
}

/**
 * The reference images a member attached, in reference-number order: every attachment option but `source` (the
 * image /edit changes). Read from what arrived rather than from the options this version defines, so a command
 * registered by an older deploy, which may offer more, is seen as it is.
 */
export function readReferences(interaction: ChatInputCommandInteraction, source?: string): Attachment[] {
  return interaction.options.data
    .filter((o) => o.type === ApplicationCommandOptionType.Attachment && o.name !== source)
    .sort((a, b) => referenceNumber(a.name) - referenceNumber(b.name))
    .flatMap((o) => (o.attachment ? [o.attachment] : []));
}

function referenceNumber(name: string): number {
  const n = Number(/(\d+)$/.exec(name)?.[1]);
  return Number.isFinite(n) ? n : Number.MAX_SAFE_INTEGER;
}

/** The prompt, trimmed; an empty or over-long one is refused before any request. */
export function readPrompt(raw: string | null | undefined, locale?: string): string {
  const prompt = (raw ?? '').trim();
  if (prompt.length === 0) throw new UserFacingError(t(locale, 'refuse.prompt.empty'), { code: 'bad_prompt' });
  if (prompt.length > MAX_PROMPT_LENGTH) {
    throw new UserFacingError(t(locale, 'refuse.prompt.tooLong', { length: prompt.length, max: MAX_PROMPT_LENGTH }), { code: 'bad_prompt' });
  }
  return prompt;
}

export function readModel(raw: string | null): Model {
  return (raw as Model | null) ?? 'uni-1';
}

export function readFormat(raw: string | null): OutputFormat | null {
  return (raw as OutputFormat | null) ?? null;
}

export function readStyle(raw: string | null): Style {
  return (raw as Style | null) ?? 'auto';
}

export function readAspectRatio(raw: string | null): AspectRatio | null {
  return raw !== null && (ASPECT_RATIOS as readonly string[]).includes(raw) ? (raw as AspectRatio) : null;
}
