import type { APIMessage } from 'discord.js';
import { t } from '../i18n/index.js';
import { tokenUsable, type Deliverer, type Delivered, type DeliveryOutcome, type HandOverTarget, type ProgressInfo, type ProgressOutcome, type ResultImage } from '../jobs/deliverer.js';
import type { JobRecord } from '../jobs/types.js';
import type { Logger } from '../logger.js';
import { failureMessage, plainMessage, progressText, resultFilename, resultMessage } from './render.js';
import { DiscordCodes, discordErrorCode, discordStatus, type DiscordResponder, type OutgoingMessage } from './transport/responder.js';

/** Tries per route: a 400 gets one more in plain form, a 5xx one more round (@discordjs/rest already retried). */
const ROUTE_ATTEMPTS = 3;

/**
 * Delivery through Discord's REST API: the interaction's reply while its token lives, else a channel message that
 * mentions the member, else a DM. Everything Discord-specific about reaching a member lives here.
 */
export class DiscordDeliverer implements Deliverer {
  private readonly log: Logger;

  constructor(
    private readonly discord: DiscordResponder,
    logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.log = logger.child({ component: 'jobs' });
  }

  progressText(job: JobRecord, info: ProgressInfo): string {
    return progressText(job, info);
  }

  async progress(job: JobRecord, text: string): Promise<ProgressOutcome> {
    try {
      const m = await this.discord.editOriginal(job.discord.applicationId, job.discord.interactionToken, { content: text });
      return { outcome: 'shown', messageId: m.id };
    } catch (err) {
      this.log.debug({ err, jobId: job.id }, 'progress edit failed');
      if (discordErrorCode(err) === DiscordCodes.InvalidWebhookToken || discordStatus(err) === 401) return { outcome: 'token-expired' };
      return { outcome: 'failed' };
    }
  }

  async result(job: JobRecord, image: ResultImage, shrink: (maxBytes: number) => Promise<ResultImage>): Promise<DeliveryOutcome> {
    let sent = image;
    const file = () => ({ name: resultFilename(job, sent.contentType), data: sent.data, contentType: sent.contentType });
    return this.sendToMember(job, (mention) => resultMessage(job, file(), { mention, compressed: sent.compressed }), {
      onTooLarge: async () => {
        sent = await shrink(Math.floor(Math.min(job.discord.attachmentSizeLimit, sent.data.length) * 0.8));
      },
    });
  }

  async failure(job: JobRecord): Promise<DeliveryOutcome> {
    const userId = job.discord.userId;
    return this.sendToMember(
      job,
      (mention) => ({ ...failureMessage(job, { public: mention }), ...(mention ? { content: `<@${userId}>`, allowedUserMentions: [userId] } : {}) }),
      job.failure?.nonce ? { nonce: job.failure.nonce } : {},
    );
  }

  /**
   * Did the previous process's upload to the interaction reply land? Undefined when it did not, or when the bot
   * cannot read the channel (then delivery goes on: the reply again while the token lives, else a channel post
   * that may, rarely, be a second copy). The reply is read with the bot token, which outlives the interaction's.
   */
  async findDelivered(job: JobRecord): Promise<Delivered | undefined> {
    const d = job.discord;
    if (!job.originalUploadTried || !d.originalMessageId || !d.channelId) return undefined;
    try {
      const message = await this.discord.fetchMessage(d.channelId, d.originalMessageId);
      if (!message.attachments.some((a) => a.filename.startsWith(`luma-${job.id}.`))) return undefined;
      this.log.info({ jobId: job.id, messageId: message.id }, 'the reply already shows the result: the upload before the restart landed');
      return { via: 'original', messageId: message.id, channelId: message.channel_id };
    } catch (err) {
      this.log.debug({ err, jobId: job.id }, 'could not read the interaction reply to check for the result');
      return undefined;
    }
  }

  async handOver(job: JobRecord, image: ResultImage, to: HandOverTarget): Promise<Delivered> {
    const file = { name: resultFilename(job, image.contentType), data: image.data, contentType: image.contentType };
    // Shown publicly only in the channel where it was asked for; anywhere else (another channel, another server)
    // only to the member, and without buttons: a reroll from there would show the prompt where it was not asked.
    const here = to.channelId !== null && to.channelId === job.discord.channelId;
    const full = resultMessage(job, file, { mention: here, compressed: image.compressed });
    const message: OutgoingMessage = here
      ? { ...full, content: t(to.guildLocale ?? to.locale, 'result.handOver.public', { user: `<@${to.userId}>` }) }
      : { ...full, content: t(to.locale, 'result.handOver.private'), components: [], ephemeral: true };
    let sent: APIMessage;
    try {
      sent = await this.discord.followUp(to.applicationId, to.interactionToken, message);
    } catch (err) {
      if (discordStatus(err) !== 400) throw err;
      // Discord refused the message's form: once more as plain text with the image.
      sent = await this.discord.followUp(to.applicationId, to.interactionToken, plainMessage(message));
    }
    return { via: 'original', messageId: sent.id, channelId: sent.channel_id };
  }

  /**
   * Reaches the member by the best route still open: the deferred reply while its token lives, else a channel
   * message that mentions them, else a DM.
   */
  private async sendToMember(
    job: JobRecord,
    build: (mention: boolean) => OutgoingMessage,
    opts: { onTooLarge?: () => Promise<void>; nonce?: string } = {},
  ): Promise<DeliveryOutcome> {
    // Discord drops a second post with the same nonce (for a few minutes) and returns the first: a post repeated
    // after a crash lands once. Each kind of message has its own nonce, so a failure notice never stands in for a result.
    const nonce = opts.nonce ?? job.nonce;
    const d = job.discord;
    const log = this.log.child({ jobId: job.id, userId: d.userId });
    // After a 400 (Discord refused the message's form), every route gets the plain form: no embed, no buttons.
    let plain = false;
    const message = (mention: boolean) => (plain ? plainMessage(build(mention)) : build(mention));
    const attempt = async (what: string, fn: () => Promise<APIMessage>): Promise<APIMessage | undefined> => {
      for (let i = 0; i < ROUTE_ATTEMPTS; i++) {
        try {
          return await fn();
        } catch (err) {
          const code = discordErrorCode(err);
          const status = discordStatus(err);
          if ((code === DiscordCodes.RequestEntityTooLarge || status === 413) && opts.onTooLarge) {
            log.warn({ route: what }, 'Discord refused the upload as too large; compressing further');
            await opts.onTooLarge();
            continue;
          }
          log.warn({ err, route: what, code, status }, 'Discord delivery route failed');
          if (status === 400 && !plain) {
            plain = true;
            log.warn({ route: what }, 'Discord refused the message (400); sending it once more without embed or buttons');
            continue;
          }
          if (status !== undefined && status >= 500) continue; // @discordjs/rest already retried; one more round
          return undefined;
        }
      }
      return undefined;
    };
    const delivered = (via: Delivered['via'], m: APIMessage): DeliveryOutcome => ({ outcome: 'delivered', via, messageId: m.id, channelId: m.channel_id });
    if (tokenUsable(job, this.now())) {
      const m = await attempt('original', () => this.discord.editOriginal(d.applicationId, d.interactionToken, message(false)));
      if (m) return delivered('original', m);
    }
    if (d.channelId && !d.userInstalled && d.guildId) {
      const channelId = d.channelId;
      const m = await attempt('channel', () => this.discord.postChannelMessage(channelId, { ...message(true), nonce }));
      if (m) return delivered('channel', m);
    }
    const m = await attempt('dm', () => this.discord.directMessage(d.userId, { ...message(true), nonce }));
    if (m) return delivered('dm', m);
    return { outcome: 'unreachable' };
  }
}
