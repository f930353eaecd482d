import {
  ApplicationCommandOptionType,
  type APIApplicationCommandBasicOption,
  type Attachment,
  type ChatInputCommandInteraction,
} from 'discord.js';
import { UserFacingError } from '../errors.js';
import { t } from '../i18n/index.js';
import { ASPECT_RATIOS, MAX_PROMPT_LENGTH, type AspectRatio, type Model, type OutputFormat, type Style } from '../luma/types.js';

/** Readable labels for the nine ratios, in the order members think of them. */
export const ASPECT_RATIO_LABELS: Record<AspectRatio, string> = {
  '1:1': '1:1 · square',
  '16:9': '16:9 · landscape',
  '3:2': '3:2 · photo landscape',
  '2:1': '2:1 · wide',
  '3:1': '3:1 · banner',
  '9:16': '9:16 · portrait (phone)',
  '2:3': '2:3 · photo portrait',
  '1:2': '1:2 · tall',
  '1:3': '1:3 · very tall',
};

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
  description: 'Which model makes the image (default uni-1)',
  choices: [
    { name: 'uni-1 · standard', value: 'uni-1' },
    { name: 'uni-1-max · higher quality, costs ~2.5× more', value: 'uni-1-max' },
  ],
} as const satisfies APIApplicationCommandBasicOption;

export const formatOption = {
  type: ApplicationCommandOptionType.String,
  name: 'format',
  description: 'File format of the result (default: the model picks, usually PNG)',
  choices: [
    { name: 'PNG · lossless, bigger file', value: 'png' },
    { name: 'JPEG · smaller file', value: 'jpeg' },
  ],
} as const satisfies APIApplicationCommandBasicOption;

export const aspectRatioOption = {
  type: ApplicationCommandOptionType.String,
  name: 'aspect_ratio',
  description: 'Shape of the image (default: the model picks)',
  choices: (Object.keys(ASPECT_RATIO_LABELS) as AspectRatio[]).map((r) => ({ name: ASPECT_RATIO_LABELS[r], value: r })),
} as const satisfies APIApplicationCommandBasicOption;

export const styleOption = {
  type: ApplicationCommandOptionType.String,
  name: 'style',
  description: 'Visual style (default auto)',
  choices: [
    { name: 'auto', value: 'auto' },
    { name: 'manga · wants a portrait ratio', value: 'manga' },
  ],
} as const satisfies APIApplicationCommandBasicOption;

export const webSearchOption = {
  type: ApplicationCommandOptionType.Boolean,
  name: 'web_search',
  description: 'Let the model look up references on the web first (a few seconds slower)',
} as const satisfies APIApplicationCommandBasicOption;

export function referenceOptions(count: number, first = 1) {
  return Array.from({ length: count }, (_, i) => ({
    type: ApplicationCommandOptionType.Attachment,
    name: `reference${first + i}` as const,
    description: `Reference image ${first + i} for style or content (PNG, JPEG, WebP, still GIF; ≤ 50 MB)`,
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
