import { UserFacingError } from '../errors.js';
import { t } from '../i18n/index.js';
import type { ImageInput } from '../luma/types.js';
import type { JobSpec } from './create.js';

/**
 * What became of the link of an image a request refers to, when asked to renew it: a link to use (renewed, or the
 * old one while it still works), or why there is none — the image is gone where it was posted, or its link has
 * expired and cannot be renewed just now.
 */
export type RenewedLink = { link: string } | { lost: 'gone' | 'unavailable' };

/**
 * The port through which intake renews the links of images an earlier request used (Discord's links to a member's
 * uploads expire after about a day). Implemented on the Discord side (`src/discord/image-links.ts`).
 */
export interface ImageLinks {
  /** The state of each link, by the link given; links it does not handle are answered as they are. */
  renew(links: readonly string[]): Promise<ReadonlyMap<string, RenewedLink>>;
}

/**
 * The spec with the links of its member images renewed, for a request made again from an earlier one (Reroll,
 * Retry, "send again" from the history), before anything is charged or sent to Luma. Throws a UserFacingError
 * saying what to do when an image can no longer be had: a POST with a dead link would be a Luma request wasted.
 */
export async function renewImageLinks(spec: JobSpec, links: ImageLinks, locale: string | undefined): Promise<JobSpec> {
  const old = [...new Set(spec.inputs.flatMap((i) => (i.discordUrl !== undefined ? [i.discordUrl] : [])))];
  if (old.length === 0) return spec;
  const renewed = await links.renew(old);
  const lost = old.map((l) => renewed.get(l)).find((r): r is { lost: 'gone' | 'unavailable' } => r !== undefined && 'lost' in r);
  if (lost) {
    throw new UserFacingError(t(locale, lost.lost === 'gone' ? 'refuse.referenceGone' : 'refuse.referenceExpired'), { code: `reference_${lost.lost}` });
  }
  const linkOf = (l: string): string => {
    const r = renewed.get(l);
    return r && 'link' in r ? r.link : l;
  };
  const inputs = spec.inputs.map((input) => {
    if (input.discordUrl === undefined) return input;
    const fresh = linkOf(input.discordUrl);
    const sent: ImageInput = 'url' in input.input && input.input.url === input.discordUrl ? { url: fresh } : input.input;
    return { ...input, input: sent, discordUrl: fresh };
  });
  const request = { ...spec.request };
  const source = inputs.find((i) => i.role === 'source');
  if (source && request.source !== undefined) request.source = source.input;
  if (request.image_ref !== undefined) request.image_ref = inputs.filter((i) => i.role === 'ref').map((i) => i.input);
  return { ...spec, inputs, request };
}
