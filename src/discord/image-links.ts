import type { Clock } from '../clock.js';
import type { ImageLinks, RenewedLink } from '../jobs/image-links.js';
import type { Logger } from '../logger.js';
import type { DiscordResponder } from './transport/responder.js';

/** A link that still works for this long is used as it is when Discord cannot renew it: the job may wait in the queue. */
const STILL_GOOD_MS = 60 * 60_000;

export interface DiscordImageLinksOptions {
  /** Discord's CDN origins (DISCORD_CDN_ORIGINS): only links there are Discord's to renew. */
  origins: readonly string[];
  clock: Clock;
  logger: Logger;
}

/**
 * The ImageLinks port over Discord: a member's upload is a CDN link signed for about a day (`ex` is its expiry, hex
 * seconds). Every CDN link of a request made again is renewed with `POST /attachments/refresh-urls` (one call for up
 * to 50; through the transport's bot-token REST client):
 * - renewed: the new link is used;
 * - left out of Discord's answer: the attachment is gone (its message was deleted);
 * - Discord not answering: a link with more than an hour to live is used as it is, an older one cannot be.
 */
export class DiscordImageLinks implements ImageLinks {
  constructor(
    private readonly discord: Pick<DiscordResponder, 'refreshAttachmentUrls'>,
    private readonly opts: DiscordImageLinksOptions,
  ) {}

  async renew(links: readonly string[]): Promise<ReadonlyMap<string, RenewedLink>> {
    const out = new Map<string, RenewedLink>();
    const cdn = links.filter((l) => this.onCdn(l));
    for (const l of links) if (!cdn.includes(l)) out.set(l, { link: l });
    if (cdn.length === 0) return out;
    let fresh: Map<string, string> | undefined;
    try {
      fresh = await this.discord.refreshAttachmentUrls(cdn);
    } catch (err) {
      this.opts.logger.warn({ err, links: cdn.length }, 'Discord did not renew the links of a request made again');
    }
    const now = this.opts.clock.now();
    for (const l of cdn) {
      const stillGood = expiresAt(l) - now > STILL_GOOD_MS;
      const renewed = fresh?.get(l);
      if (fresh === undefined) out.set(l, stillGood ? { link: l } : { lost: 'unavailable' });
      else if (renewed === undefined) out.set(l, { lost: 'gone' });
      else if (!this.onCdn(renewed) || (renewed === l && !stillGood)) out.set(l, { lost: 'unavailable' });
      else out.set(l, { link: renewed });
    }
    return out;
  }

  private onCdn(link: string): boolean {
    try {
      const u = new URL(link);
      return this.opts.origins.includes(u.origin) && u.pathname.startsWith('/attachments/');
    } catch {
      return false;
    }
  }
}

/** When a signed CDN link expires (its `ex`, hex seconds), in ms; 0 when it carries none. */
function expiresAt(link: string): number {
  const ex = Number.parseInt(new URL(link).searchParams.get('ex') ?? '', 16);
  return Number.isFinite(ex) ? ex * 1000 : 0;
}
