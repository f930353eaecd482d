import { Attachment } from 'discord.js';
import type { JobInput } from '../jobs/types.js';
import { checkImage, fromAttachment, type ImageCandidate } from './attachments.js';
import { imagesIn, type MessageSnapshot } from './message-images.js';
import type { StillImageCheck } from './still-images.js';

/**
 * How commands take in members' images: only from Discord's CDN origins, of a type and size Luma takes, and no
 * animated GIF. Built once in main.ts, so a command needs neither the configured origins nor the download pool.
 */
export interface InputImages {
  /** An image as a job input; a UserFacingError naming the file when Luma could not take it. */
  check(image: Attachment | ImageCandidate, role: JobInput['role'], locale?: string): JobInput;
  /** The images of a message that could be edited, in the order a member sees them. */
  inMessage(message: MessageSnapshot): ImageCandidate[];
  /** A UserFacingError naming the first animated GIF among the inputs. Reads them: run it after the deferral. */
  refuseAnimated(inputs: readonly JobInput[], locale?: string): Promise<void>;
}

export function inputImages(origins: readonly string[], stillImages: StillImageCheck): InputImages {
  return {
    check: (image, role, locale) => checkImage(image instanceof Attachment ? fromAttachment(image) : image, role, origins, locale),
    inMessage: (message) => imagesIn(message, origins),
    refuseAnimated: (inputs, locale) => stillImages.refuseAnimated(inputs, locale),
  };
}
