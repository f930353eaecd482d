// Wire types of the Luma Agents API (POST/GET /v1/generations), as its API reference describes them.

export const MODELS = ['uni-1', 'uni-1-max'] as const;
export type Model = (typeof MODELS)[number];

export const GENERATION_TYPES = ['image', 'image_edit'] as const;
export type GenerationType = (typeof GENERATION_TYPES)[number];

export const ASPECT_RATIOS = ['3:1', '2:1', '16:9', '3:2', '1:1', '2:3', '9:16', '1:2', '1:3'] as const;
export type AspectRatio = (typeof ASPECT_RATIOS)[number];
/** Ratios the API advises for the manga style. */
export const PORTRAIT_RATIOS: readonly AspectRatio[] = ['2:3', '9:16', '1:2', '1:3'];

export const STYLES = ['auto', 'manga'] as const;
export type Style = (typeof STYLES)[number];

export const OUTPUT_FORMATS = ['png', 'jpeg'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Luma's API, unless LUMA_BASE_URL says otherwise. */
export { DEFAULT_LUMA_BASE_URL as DEFAULT_BASE_URL } from '../config-values.js';
export const MAX_PROMPT_LENGTH = 6000;
export const MAX_USER_ID_LENGTH = 256;
/** Reference images allowed per request type, as Luma's docs give them (whether an edit's source is among them is not stated). */
export const MAX_IMAGE_REFS: Record<GenerationType, number> = { image: 9, image_edit: 8 };
/** Largest input image Luma accepts (413 above it). */
export const MAX_INPUT_BYTES = 50 * 1024 * 1024;
export const INPUT_MEDIA_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'image/gif'] as const;
export type InputMediaType = (typeof INPUT_MEDIA_TYPES)[number];

/** One image input: exactly one of a public URL, inline base64 data, or an earlier generation of this account. */
export type ImageInput =
  | { url: string }
  | { data: string; media_type: InputMediaType }
  | { generation_id: string };

export interface GenerationRequest {
  prompt: string;
  model?: Model;
  type?: GenerationType;
  aspect_ratio?: AspectRatio | null;
  style?: Style;
  output_format?: OutputFormat | null;
  web_search?: boolean;
  image_ref?: ImageInput[];
  source?: ImageInput;
  user_id?: string;
}

export const GENERATION_STATES = ['queued', 'processing', 'completed', 'failed'] as const;
export type GenerationState = (typeof GENERATION_STATES)[number];

export const FAILURE_CODES = [
  'content_moderated',
  'generation_failed',
  'budget_exhausted',
  'output_not_found',
  'image_too_large',
  'unsupported_format',
  'corrupt_input',
  'invalid_request',
  'rate_limited',
] as const;
export type FailureCode = (typeof FAILURE_CODES)[number];

export interface GenerationOutput {
  type: 'image';
  url: string;
}

export interface Generation {
  id: string;
  created_at: string;
  model: Model;
  type: GenerationType;
  state: GenerationState;
  failure_code?: FailureCode | null;
  failure_reason?: string | null;
  output?: GenerationOutput[] | null;
}
