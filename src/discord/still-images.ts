import type { Dispatcher } from 'undici';
import { UserFacingError } from '../errors.js';
import { t } from '../i18n/index.js';
import { DownloadError, inspectImage } from '../http/download.js';
import { GifFrameScanner } from '../images/sniff.js';
import type { JobInput } from '../jobs/types.js';
import { INPUT_MEDIA_TYPES, MAX_INPUT_BYTES } from '../luma/types.js';

/** GIF checks running at once across the whole bot (each holds a connection and a few KB). */
const CHECKS_AT_ONCE = 4;
/** GIF checks allowed to wait for a turn; beyond this a command is refused (nothing charged) rather than queued. */
const CHECKS_WAITING = 64;

export interface StillImageCheckOptions {
  /** The only origins a GIF is fetched from (Discord's CDN). */
  origins: readonly string[];
  dispatcher: Dispatcher;
  /** Checks at once, bot-wide. Default 4. */
  concurrency?: number;
  /** Checks that may wait for a turn; more are refused. Default 64. */
  maxWaiting?: number;
}

/**
 * Luma takes still GIFs only, and says so only once the generation has been queued (and charged for). So every
 * GIF among the inputs is read from Discord — the allowed origins only, capped at Luma's 50 MB — and an animated
 * one is refused before anything is sent. Only as far as its second frame: that settles it, so a big GIF costs a
 * few KB, not 50 MB. Checks are bounded bot-wide (one instance, built in main.ts), so a burst of commands with
 * ten GIFs each cannot open hundreds of downloads; run them after the quota has said yes, and after the deferral.
 */
export class StillImageCheck {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly concurrency: number;
  private readonly maxWaiting: number;

  constructor(private readonly opts: StillImageCheckOptions) {
    this.concurrency = opts.concurrency ?? CHECKS_AT_ONCE;
    this.maxWaiting = opts.maxWaiting ?? CHECKS_WAITING;
  }

  /** Checks waiting for a turn now. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Throws a UserFacingError naming the first input that is an animated GIF (or cannot be checked). */
  async refuseAnimated(inputs: readonly JobInput[], locale?: string): Promise<void> {
    for (const input of inputs) {
      if (input.contentType !== 'image/gif' || input.discordUrl === undefined) continue;
      const url = input.discordUrl;
      const label = `\`${input.filename.replace(/`/g, '')}\``;
      const scan = new GifFrameScanner();
      await this.inTurn(async () => {
        try {
          await inspectImage(
            url,
            { maxBytes: MAX_INPUT_BYTES, allowedOrigins: this.opts.origins, acceptContentTypes: INPUT_MEDIA_TYPES, timeoutMs: 30_000, dispatcher: this.opts.dispatcher },
            (chunk) => scan.push(chunk),
          );
        } catch (err) {
          if (!(err instanceof DownloadError)) throw err;
          throw new UserFacingError(downloadProblem(label, err, locale), { code: 'bad_attachment' });
        }
      }, locale);
      if (scan.animated) {
        throw new UserFacingError(t(locale, 'refuse.image.animated', { file: label }), { code: 'animated_gif' });
      }
    }
  }

  private async inTurn<T>(fn: () => Promise<T>, locale?: string): Promise<T> {
    if (this.active >= this.concurrency) {
      if (this.waiting.length >= this.maxWaiting) {
        throw new UserFacingError(t(locale, 'refuse.busy'), { code: 'busy' });
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.active++;
    }
    try {
      return await fn();
    } finally {
      // The slot passes straight to the next waiter (active stays the same), or frees up.
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

function downloadProblem(label: string, err: DownloadError, locale: string | undefined): string {
  switch (err.kind) {
    case 'too_large':
      return t(locale, 'refuse.image.over50', { file: label });
    case 'not_image':
      return t(locale, 'refuse.image.notImage', { file: label });
    case 'forbidden_origin':
      return t(locale, 'refuse.image.notDiscord', { file: label });
    default:
      return t(locale, 'refuse.image.unfetchable', { file: label });
  }
}
