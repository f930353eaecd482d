import type { Attachment } from 'discord.js';
import { UserFacingError } from '../errors.js';
import { t } from '../i18n/index.js';
import type { JobInput } from '../jobs/types.js';
import { INPUT_MEDIA_TYPES, MAX_INPUT_BYTES, type InputMediaType } from '../luma/types.js';

const EXTENSIONS: Record<string, InputMediaType> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  jfif: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
};

export interface ImageCandidate {
  url: string;
  filename: string;
  contentType: string | null | undefined;
  size: number | null | undefined;
}

export function fromAttachment(a: Attachment): ImageCandidate {
  return { url: a.url, filename: a.name, contentType: a.contentType, size: a.size };
}

function mediaTypeOf(c: ImageCandidate): InputMediaType | undefined {
  const ct = c.contentType?.split(';')[0]?.trim().toLowerCase();
  const ext = c.filename.split('.').pop()?.toLowerCase() ?? '';
  const byExt = EXTENSIONS[ext];
  if (ct !== undefined && ct !== '') {
    // The content type, when Discord gives one, decides over the name: a .png served as text/html is not an image.
    if (!(INPUT_MEDIA_TYPES as readonly string[]).includes(ct)) return undefined;
    return ct as InputMediaType;
  }
  return byExt;
}

export function isSupportedImage(c: ImageCandidate): boolean {
  return mediaTypeOf(c) !== undefined;
}

/** Whether a URL is on one of the origins the bot may fetch member images from. */
export function isAllowedOrigin(url: string, origins: readonly string[]): boolean {
  try {
    return origins.includes(new URL(url).origin);
  } catch {
    return false;
  }
}

/**
 * Checks a member's image before anything goes to Luma: an image type by content type and extension, at most
 * Luma's 50 MB, on Discord's CDN. Throws a UserFacingError that names the file.
 */
export function checkImage(c: ImageCandidate, role: JobInput['role'], origins: readonly string[], locale?: string): JobInput {
  const type = mediaTypeOf(c);
  const label = `\`${c.filename.replace(/`/g, '')}\``;
  if (!type) {
    throw new UserFacingError(t(locale, 'refuse.image.notImage', { file: label }), { code: 'bad_attachment' });
  }
  if (typeof c.size === 'number' && c.size > MAX_INPUT_BYTES) {
    const mb = (c.size / 1024 / 1024).toFixed(1);
    throw new UserFacingError(t(locale, 'refuse.image.tooLarge', { file: label, mb }), { code: 'bad_attachment' });
  }
  if (!isAllowedOrigin(c.url, origins)) {
    throw new UserFacingError(t(locale, 'refuse.image.notDiscord', { file: label }), { code: 'bad_attachment' });
  }
  return {
    role,
    input: { url: c.url },
    discordUrl: c.url,
    filename: c.filename,
    contentType: type,
    ...(typeof c.size === 'number' ? { size: c.size } : {}),
  };
}
