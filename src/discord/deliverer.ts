import type { APIMessage } from 'discord.js';
import { t } from '../i18n/index.js';
import { fitToLimit, type FittedImage } from '../images/fit.js';
import type { Delivered, Deliverer, DeliveryOutcome, GroupView, HandOverTo, ProgressOutcome, ProgressState, ResultImage } from '../jobs/delivery.js';
import type { ResultLayout } from '../jobs/transfer-budget.js';
import type { JobRecord } from '../jobs/types.js';
import type { Logger } from '../logger.js';
import { answerMessage, failureMessage, plainMessage, progressMessage, type Answer, type Slot } from './answer.js';
import { progressText, resultFilename } from './render.js';
import { asRoute, routeOf, tokenUsable, type InteractionRoute } from './route.js';
import { framableSize, framableView } from './transport/multipart.js';
import { DiscordCodes, discordErrorCode, discordStatus, type DiscordResponder, type OutgoingMessage } from './transport/responder.js';

/** Tries per route: a 400 gets one more in plain form, a 5xx one more round (@discordjs/rest already retried). */
const ROUTE_ATTEMPTS = 3;

/** Where a message goes: the interaction's reply (an edit), or a new message in the channel or a DM. */
type Where = 'original' | 'post';

/** What the reply shows of a request for several images: each image's place, and the attachments it keeps. */
interface ReplyState {
  slots: (self: Slot) => Slot[];
  keep: string[];
}

/**
 * Delivery through Discord's REST API: the interaction's reply while its token lives, else a channel message that
 * mentions the member, else a DM. Everything Discord-specific about reaching a member lives here: rendering the
 * answer in Components V2 (answer.ts), one reply filling in with the images of a request for several, skipping a
 * progress edit that changes nothing, fitting a result to the interaction's upload limit (and further on a 413),
 * the token's life, and the multipart layout of uploads.
 */
export class DiscordDeliverer implements Deliverer {
  /** Results are downloaded with room around them, so an upload frames them in place (transport/multipart.ts). */
  readonly resultLayout: ResultLayout = { size: framableSize, view: framableView };
  private readonly log: Logger;

  constructor(
    private readonly discord: DiscordResponder,
    logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.log = logger.child({ component: 'jobs' });
  }

  canShowProgress(job: JobRecord, now: number): boolean {
    return tokenUsable(routeOf(job), now);
  }

  async progress(job: JobRecord, state: ProgressState, now: number): Promise<ProgressOutcome> {
    const route = routeOf(job);
    const text = progressText(job, state, now);
    if (text === route.shown) return 'unchanged';
    route.shown = text;
    try {
      const m = await this.discord.editOriginal(route.applicationId, route.interactionToken, progressMessage(text));
      route.originalMessageId ??= m.id; // saved with the job's next step
      return 'shown';
    } catch (err) {
      this.log.debug({ err, jobId: job.id }, 'progress edit failed');
      if (discordErrorCode(err) === DiscordCodes.InvalidWebhookToken || discordStatus(err) === 401) {
        // A dead token: no more progress edits; the result goes by channel message.
        route.tokenExpiresAt = now;
        return 'closed';
      }
      return 'failed';
    }
  }

  beforeResult(job: JobRecord, now: number): void {
    const route = routeOf(job);
    if (tokenUsable(route, now)) route.uploadTried = true;
  }

  async result(job: JobRecord, image: ResultImage, group?: GroupView): Promise<DeliveryOutcome> {
    let sent = await this.fit(job, image, routeOf(job).attachmentSizeLimit);
    const file = () => ({ name: resultFilename(job, sent.contentType), data: sent.data, contentType: sent.contentType });
    const self = (): Slot => ({ kind: 'shown', job, filename: file().name });
    const reply = group ? await this.replyState(job, group) : undefined;
    const build = (where: Where): OutgoingMessage => {
      const compressed = sent.compressed;
      if (where === 'original') return answerMessage({ job, slots: reply ? reply.slots(self()) : [self()], compressed }, [file()], reply?.keep ?? []);
      // Posted on its own once the reply cannot be edited: an image of several says which one it is.
      const part = job.group ? { part: { index: job.group.index, of: job.group.jobIds.length } } : {};
      return answerMessage({ job, slots: [self()], mention: true, compressed, ...part }, [file()]);
    };
    const outcome = await this.sendToMember(job, build, {
      // An image of several goes into the reply only beside the ones it shows already (read first).
      skipOriginal: group !== undefined && reply === undefined,
      onTooLarge: async () => {
        sent = await this.fit(job, image, Math.floor(Math.min(routeOf(job).attachmentSizeLimit, sent.data.length) * 0.8));
      },
    });
    return outcome.outcome === 'delivered' && sent.compressed ? { ...outcome, compressed: true } : outcome;
  }

  async failure(job: JobRecord, group?: GroupView): Promise<DeliveryOutcome> {
    const reply = group ? await this.replyState(job, group) : undefined;
    const build = (where: Where): OutgoingMessage => {
      if (where === 'post') return failureMessage(job, { public: true });
      // An image of several failed: the reply shows it beside the others (and the request's failure once all have).
      return reply ? answerMessage({ job, slots: reply.slots({ kind: 'failed', job }) }, [], reply.keep) : failureMessage(job);
    };
    return this.sendToMember(job, build, { skipOriginal: group !== undefined && reply === undefined, ...(job.failure?.nonce ? { nonce: job.failure.nonce } : {}) });
  }

  /**
   * Did the previous process's upload land? Read from the reply with the interaction's token while it lives (a
   * private reply, or a channel the bot cannot read, included), else — or when that fails — with the bot token,
   * which outlives it. Undefined when it did not, or when the bot cannot read it (then delivery goes on: the reply
   * again while the token lives, else a channel post that may, rarely, be a second copy).
   */
  async findDelivered(job: JobRecord): Promise<Delivered | undefined> {
    const route = routeOf(job);
    const channelId = job.requester.channelId;
    if (!route.uploadTried) return undefined;
    const reads: Array<() => Promise<APIMessage>> = [];
    if (tokenUsable(route, this.now())) reads.push(() => this.discord.readOriginal(route.applicationId, route.interactionToken));
    const messageId = route.originalMessageId;
    if (messageId && channelId && !route.private) reads.push(() => this.discord.fetchMessage(channelId, messageId));
    for (const read of reads) {
      let message: APIMessage;
      try {
        message = await read();
      } catch (err) {
        this.log.debug({ err, jobId: job.id }, 'could not read the interaction reply to check for the result');
        continue;
      }
      if (!message.attachments.some((a) => a.filename.startsWith(`luma-${job.id}.`))) return undefined;
      this.log.info({ jobId: job.id, messageId: message.id }, 'the reply already shows the result: the upload before the restart landed');
      return { via: 'original', messageId: message.id, channelId: message.channel_id };
    }
    return undefined;
  }

  async handOver(job: JobRecord, image: ResultImage, to: HandOverTo): Promise<Delivered> {
    const route = asRoute(to.route);
    const here = to.requester;
    const fitted = await this.fit(job, image, route.attachmentSizeLimit);
    const file = { name: resultFilename(job, fitted.contentType), data: fitted.data, contentType: fitted.contentType };
    const slots: Slot[] = [{ kind: 'shown', job, filename: file.name }];
    // Shown publicly only in the channel where it was asked for; anywhere else (another channel, another server)
    // only to the member, and without buttons: a reroll from there would show the prompt where it was not asked.
    const sameChannel = here.channelId !== null && here.channelId === job.requester.channelId && !routeOf(job).private;
    const answer: Answer = sameChannel
      ? { job, slots, mention: true, compressed: fitted.compressed, intro: t(here.placeLocale ?? here.locale, 'result.handOver.public', { user: `<@${here.userId}>` }) }
      : { job, slots, compressed: fitted.compressed, intro: t(here.locale, 'result.handOver.private'), noButtons: true };
    const message: OutgoingMessage = { ...answerMessage(answer, [file]), ...(sameChannel ? {} : { ephemeral: true }) };
    let sent: APIMessage;
    try {
      sent = await this.discord.followUp(route.applicationId, route.interactionToken, message);
    } catch (err) {
      if (discordStatus(err) !== 400) throw err;
      // Discord refused the message's form: once more as plain text with the image.
      sent = await this.discord.followUp(route.applicationId, route.interactionToken, { ...plainMessage(message, 'post'), ...(sameChannel ? {} : { ephemeral: true }) });
    }
    return { via: 'original', messageId: sent.id, channelId: sent.channel_id };
  }

  scrub(job: JobRecord, now: number, ended: boolean): void {
    const route = routeOf(job);
    // The token stays in the record only while the job can still use it (a new click brings a new one).
    if (route.interactionToken !== '' && (ended || now >= route.tokenExpiresAt)) route.interactionToken = '';
  }

  /**
   * The reply of a request for several images as it stands, read with the interaction's token: which images it
   * shows (kept by their attachment ids), which failed, which are on their way. Undefined when it cannot be read
   * (an edit without knowing what it shows would drop the images already there).
   */
  private async replyState(job: JobRecord, group: GroupView): Promise<ReplyState | undefined> {
    const route = routeOf(job);
    if (!tokenUsable(route, this.now())) return undefined;
    let reply: APIMessage;
    try {
      reply = await this.discord.readOriginal(route.applicationId, route.interactionToken);
    } catch (err) {
      this.log.warn({ err, jobId: job.id, status: discordStatus(err), code: discordErrorCode(err) }, 'could not read the reply of a request for several images');
      return undefined;
    }
    route.originalMessageId ??= reply.id;
    const keep: string[] = [];
    const others = group.jobs.map((other): Slot | undefined => {
      if (!other || other.id === job.id) return undefined;
      const attachment = reply.attachments.find((a) => a.filename.startsWith(`luma-${other.id}.`));
      if (attachment && other.step === 'done') {
        keep.push(attachment.id);
        return { kind: 'shown', job: other, filename: attachment.filename };
      }
      if ((other.step === 'failed' || other.step === 'failing') && other.failure) return { kind: 'failed', job: other };
      return { kind: 'pending' };
    });
    return { slots: (self) => group.jobs.map((other, i) => (other?.id === job.id ? self : (others[i] ?? { kind: 'pending' }))), keep };
  }

  /** The image within `limit` bytes (re-encoded or scaled down when needed); the original when that fails. */
  private async fit(job: JobRecord, image: ResultImage, limit: number): Promise<FittedImage> {
    try {
      return await fitToLimit(image.bytes, image.contentType, limit);
    } catch (err) {
      this.log.error({ err, jobId: job.id }, 'could not shrink the result to the upload limit');
      return { data: image.bytes, contentType: image.contentType, compressed: false };
    }
  }

  /**
   * Reaches the member by the best route still open: the deferred reply while its token lives, else a channel
   * message that mentions them (not for a private reply), else a DM.
   */
  private async sendToMember(job: JobRecord, build: (where: Where) => OutgoingMessage, opts: { onTooLarge?: () => Promise<void>; nonce?: string; skipOriginal?: boolean } = {}): Promise<DeliveryOutcome> {
    // Discord drops a second post with the same nonce (for a few minutes) and returns the first: a post repeated
    // after a crash lands once. Each kind of message has its own nonce, so a failure notice never stands in for a result.
    const nonce = opts.nonce ?? job.nonce;
    const who = job.requester;
    const route: InteractionRoute = routeOf(job);
    const log = this.log.child({ jobId: job.id, userId: who.userId });
    // After a 400 (Discord refused the message's form), every route gets the plain form: no container, no buttons.
    let plain = false;
    const message = (where: Where) => (plain ? plainMessage(build(where), where === 'original' ? 'edit' : 'post') : build(where));
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
            log.warn({ route: what }, 'Discord refused the message (400); sending it once more in its plainest form');
            continue;
          }
          if (status !== undefined && status >= 500) continue; // @discordjs/rest already retried; one more round
          return undefined;
        }
      }
      return undefined;
    };
    const delivered = (via: Delivered['via'], m: APIMessage): DeliveryOutcome => ({ outcome: 'delivered', via, messageId: m.id, channelId: m.channel_id });
    if (tokenUsable(route, this.now()) && !opts.skipOriginal) {
      const m = await attempt('original', () => this.discord.editOriginal(route.applicationId, route.interactionToken, message('original')));
      if (m) return delivered('original', m);
    }
    if (who.channelId && !who.userInstalled && who.guildId && !route.private) {
      const channelId = who.channelId;
      const m = await attempt('channel', () => this.discord.postChannelMessage(channelId, { ...message('post'), nonce }));
      if (m) return delivered('channel', m);
    }
    const m = await attempt('dm', () => this.discord.directMessage(who.userId, { ...message('post'), nonce }));
    if (m) return delivered('dm', m);
    return { outcome: 'unreachable' };
  }
}
