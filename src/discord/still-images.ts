import type { Dispatcher } from 'undici';
import { UserFacingError } from '../errors.js';
import { DownloadError, downloadImage, isAnimatedGif } from '../http/download.js';
import type { JobInput } from '../jobs/types.js';
import { INPUT_MEDIA_TYPES, MAX_INPUT_BYTES } from '../luma/types.js';

/**
 * Luma takes still GIFs only, and says so only once the generation has been queued (and charged for). So every
 * GIF among the inputs is downloaded — from the allowed Discord origins only, capped at Luma's 50 MB — and an
 * animated one is refused here, before anything is sent. Other types are not downloaded. This can take a
 * while for a big GIF: call it after the deferral.
 */
export async function refuseAnimatedGifs(inputs: readonly JobInput[], origins: readonly string[], dispatcher: Dispatcher): Promise<void> {
  for (const input of inputs) {
    if (input.contentType !== 'image/gif' || input.discordUrl === undefined) continue;
    const label = `\`${input.filename.replace(/`/g, '')}\``;
    let bytes: Buffer;
    try {
      ({ bytes } = await downloadImage(input.discordUrl, {
        maxBytes: MAX_INPUT_BYTES,
        allowedOrigins: origins,
        acceptContentTypes: INPUT_MEDIA_TYPES,
        timeoutMs: 30_000,
        dispatcher,
      }));
    } catch (err) {
      if (!(err instanceof DownloadError)) throw err;
      throw new UserFacingError(downloadProblem(label, err), { code: 'bad_attachment' });
    }
    if (isAnimatedGif(bytes)) {
      throw new UserFacingError(
        `${label} is an animated GIF, and Luma takes still images only. Use a still GIF, or a PNG, JPEG or WebP (for example one frame of the animation).`,
        { code: 'animated_gif' },
      );
    }
  }
}

function downloadProblem(label: string, err: DownloadError): string {
  switch (err.kind) {
    case 'too_large':
      return `${label} is larger than 50 MB; Luma takes images up to 50 MB. Use a smaller image.`;
    case 'not_image':
      return `${label} is not an image Luma can use. Attach a PNG, JPEG, WebP or still GIF.`;
    case 'forbidden_origin':
      return `${label} is not hosted on Discord, so the bot will not fetch it. Upload the image to Discord instead.`;
    default:
      return `The bot could not fetch ${label} from Discord to check it. Please try again in a moment, or upload the image again.`;
  }
}
