// Request-body validation and image sniffing for the fake Luma API. Mirrors the rules in
// shared/docs/luma-api.md; where the docs are silent the fake is the stricter of the plausible choices,
// so a bot that passes here is not relying on leniency.
import {
  ASPECT_RATIOS,
  GENERATION_TYPES,
  INPUT_MEDIA_TYPES,
  MAX_IMAGE_REFS,
  MAX_PROMPT_LENGTH,
  MAX_USER_ID_LENGTH,
  MODELS,
  OUTPUT_FORMATS,
  STYLES,
  type GenerationRequest,
  type ImageInput,
  type InputMediaType,
} from '../../../src/luma/types.js';

/** A synchronous API error: the status and the `detail` the fake answers with. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }
}

const REQUEST_FIELDS = new Set([
  'prompt',
  'model',
  'type',
  'aspect_ratio',
  'style',
  'output_format',
  'web_search',
  'image_ref',
  'source',
  'user_id',
]);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], field: string): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new HttpError(400, `${field} must be one of ${allowed.join(', ')}; got ${JSON.stringify(value)}`);
  }
  return value as T;
}

function validateImageInput(value: unknown, field: string): ImageInput {
  if (!isObject(value)) throw new HttpError(400, `${field} must be an object`);
  const keys = Object.keys(value);
  for (const key of keys) {
    if (!['url', 'data', 'media_type', 'generation_id'].includes(key)) {
      throw new HttpError(400, `${field}: unknown field "${key}"`);
    }
  }
  const kinds = ['url', 'data', 'generation_id'].filter((k) => k in value);
  if (kinds.length !== 1) {
    throw new HttpError(400, `${field} must have exactly one of url, data (with media_type) or generation_id`);
  }
  if ('url' in value) {
    if ('media_type' in value) throw new HttpError(400, `${field}: media_type is only allowed with data`);
    if (typeof value.url !== 'string' || !/^https?:\/\/\S+$/i.test(value.url)) {
      throw new HttpError(400, `${field}.url must be an http(s) URL`);
    }
    return { url: value.url };
  }
  if ('generation_id' in value) {
    if ('media_type' in value) throw new HttpError(400, `${field}: media_type is only allowed with data`);
    if (typeof value.generation_id !== 'string' || value.generation_id === '') {
      throw new HttpError(400, `${field}.generation_id must be a non-empty string`);
    }
    return { generation_id: value.generation_id };
  }
  if (typeof value.data !== 'string') throw new HttpError(400, `${field}.data must be a base64 string`);
  if (!('media_type' in value)) throw new HttpError(400, `${field}.media_type is required with data`);
  const mediaType = oneOf(value.media_type, INPUT_MEDIA_TYPES, `${field}.media_type`);
  return { data: value.data, media_type: mediaType };
}

/** Validates a POST /v1/generations body (400 on any rule broken). Does not look inside images. */
export function validateGenerationRequest(body: unknown): GenerationRequest {
  if (!isObject(body)) throw new HttpError(400, 'Request body must be a JSON object');
  for (const key of Object.keys(body)) {
    if (!REQUEST_FIELDS.has(key)) throw new HttpError(400, `Unknown field "${key}"`);
  }
  const { prompt } = body;
  if (typeof prompt !== 'string') throw new HttpError(400, 'prompt is required and must be a string');
  // Length in code points, as the (Python) API counts characters.
  const promptLength = [...prompt].length;
  if (promptLength < 1 || prompt.trim() === '') throw new HttpError(400, 'prompt must not be empty');
  if (promptLength > MAX_PROMPT_LENGTH) {
    throw new HttpError(400, `prompt must be at most ${MAX_PROMPT_LENGTH} characters (got ${promptLength})`);
  }
  const request: GenerationRequest = { prompt };
  if (body.model !== undefined) request.model = oneOf(body.model, MODELS, 'model');
  if (body.type !== undefined) request.type = oneOf(body.type, GENERATION_TYPES, 'type');
  if (body.aspect_ratio !== undefined) {
    request.aspect_ratio = body.aspect_ratio === null ? null : oneOf(body.aspect_ratio, ASPECT_RATIOS, 'aspect_ratio');
  }
  if (body.style !== undefined) request.style = oneOf(body.style, STYLES, 'style');
  if (body.output_format !== undefined) {
    request.output_format =
      body.output_format === null ? null : oneOf(body.output_format, OUTPUT_FORMATS, 'output_format');
  }
  if (body.web_search !== undefined) {
    if (typeof body.web_search !== 'boolean') throw new HttpError(400, 'web_search must be a boolean');
    request.web_search = body.web_search;
  }
  if (body.user_id !== undefined) {
    if (typeof body.user_id !== 'string') throw new HttpError(400, 'user_id must be a string');
    if (body.user_id.length > MAX_USER_ID_LENGTH) {
      throw new HttpError(400, `user_id must be at most ${MAX_USER_ID_LENGTH} characters`);
    }
    request.user_id = body.user_id;
  }
  const type = request.type ?? 'image';
  if (body.image_ref !== undefined) {
    if (!Array.isArray(body.image_ref)) throw new HttpError(400, 'image_ref must be an array');
    const max = MAX_IMAGE_REFS[type];
    if (body.image_ref.length > max) {
      throw new HttpError(400, `image_ref allows at most ${max} images for type ${type} (got ${body.image_ref.length})`);
    }
    request.image_ref = body.image_ref.map((item, i) => validateImageInput(item, `image_ref[${i}]`));
  }
  if (type === 'image_edit') {
    if (body.source === undefined || body.source === null) {
      throw new HttpError(400, 'source is required when type is image_edit');
    }
    request.source = validateImageInput(body.source, 'source');
  } else if (body.source !== undefined) {
    throw new HttpError(400, 'source is not allowed when type is image (use type image_edit)');
  }
  return request;
}

/** Strictly decodes base64 (no whitespace, no data: prefix); undefined when it is not valid base64. */
export function decodeBase64(data: string): Buffer | undefined {
  // Linear checks rather than one anchored regex: inputs can be ~70 MB of text.
  if (data === '' || data.length % 4 !== 0 || /[^A-Za-z0-9+/=]/.test(data)) return undefined;
  const padding = data.indexOf('=');
  if (padding !== -1 && (padding < data.length - 2 || !/^=+$/.test(data.slice(padding)))) return undefined;
  return Buffer.from(data, 'base64');
}

/** The image type of `bytes` from its magic bytes, or undefined if it is none of PNG, JPEG, WebP, GIF. */
export function sniffImage(bytes: Buffer): InputMediaType | undefined {
  if (bytes.length >= 8 && bytes.readUInt32BE(0) === 0x89504e47 && bytes.readUInt32BE(4) === 0x0d0a1a0a) {
    return 'image/png';
  }
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes.length >= 6 && /^GIF8[79]a$/.test(bytes.toString('latin1', 0, 6))) return 'image/gif';
  if (bytes.length >= 12 && bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WEBP') {
    return 'image/webp';
  }
  return undefined;
}

/** Counts the frames (image descriptors) of a GIF; a truncated file counts what was readable. */
export function gifFrameCount(bytes: Buffer): number {
  let at = 13;
  const flags = bytes[10] ?? 0;
  if (flags & 0x80) at += 3 * (1 << ((flags & 0x07) + 1));
  const skipSubBlocks = (): void => {
    while (at < bytes.length) {
      const size = bytes[at] ?? 0;
      at += 1 + size;
      if (size === 0) return;
    }
  };
  let frames = 0;
  while (at < bytes.length) {
    const block = bytes[at];
    if (block === 0x2c) {
      frames++;
      const local = bytes[at + 9] ?? 0;
      at += 10;
      if (local & 0x80) at += 3 * (1 << ((local & 0x07) + 1));
      at += 1; // LZW minimum code size
      skipSubBlocks();
    } else if (block === 0x21) {
      at += 2;
      skipSubBlocks();
    } else {
      break; // 0x3b trailer, or garbage
    }
  }
  return frames;
}
