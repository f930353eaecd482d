import { REST, DiscordAPIError, MessageFlags, Routes, type RESTOptions } from 'discord.js';
import type { APIEmbed, APIMessage, APIMessageTopLevelComponent, APISKU } from 'discord.js';
import { sniffImageType } from '../../images/sniff.js';
import { multipartBody } from './multipart.js';

export interface OutgoingFile {
  name: string;
  data: Buffer;
  contentType?: string;
}

export interface OutgoingMessage {
  content?: string;
  embeds?: APIEmbed[];
  components?: APIMessageTopLevelComponent[];
  /**
   * Components V2 (IS_COMPONENTS_V2): the message is its components — no content or embeds, uploads shown only where
   * a component names them (`attachment://`). An edit nulls content and embeds, as Discord wants when a message
   * takes the flag; once a message has it, it keeps it.
   */
  v2?: boolean;
  files?: OutgoingFile[];
  /** Edits: attachments the message keeps, by id, beside the new `files` (the rest are dropped). */
  keep?: readonly string[];
  /** Whom the content may ping; defaults to nobody. */
  allowedUserMentions?: string[];
  /** Replaces the message's attachments with `files` (and `keep`) in an edit, instead of adding to them. */
  replaceAttachments?: boolean;
  /** Channel posts only: Discord drops a second message with the same nonce, so a post repeated after a crash lands once. */
  nonce?: string;
  /** Follow-ups only: seen by the member alone. */
  ephemeral?: boolean;
}

/**
 * @discordjs/rest keeps a rate-limit bucket handler and hash for every route it has called — and each interaction's
 * callback and webhook routes are routes of their own, used for 15 minutes at most. Its defaults keep them an hour
 * and a day: thousands of dead entries after a burst. Swept after a few minutes of disuse here.
 */
export const REST_SWEEPS = { hashLifetime: 5 * 60_000, hashSweepInterval: 60_000, handlerSweepInterval: 60_000 } as const;

/**
 * Everything the bot sends to Discord outside the first acknowledgement goes through here, by REST alone, so
 * a job resumed after a restart (with no discord.js Interaction object) takes the same path as a fresh one.
 *
 * Two REST clients, kept apart because Discord's global limit (50 requests/s) counts only bot-token requests:
 * channel posts, DMs and message reads go through one with @discordjs/rest's global limiter; interaction
 * webhooks (token in the URL, exempt from that limit) through one without it, so hundreds of progress edits
 * neither queue behind bot-token calls nor push them into real global 429s.
 */

export class DiscordResponder {
  private readonly botRest: REST;
  private readonly webhookRest: REST;

  /** `transport`: how both clients' calls are sent (the composition root's bounded pool); default @discordjs/rest's. */
  constructor(apiUrl: string, botToken: string, transport: Partial<Pick<RESTOptions, 'makeRequest'>> = {}) {
    this.botRest = new REST({ api: apiUrl, ...transport, ...REST_SWEEPS }).setToken(botToken);
    this.webhookRest = new REST({ api: apiUrl, ...transport, globalRequestsPerSecond: UNLIMITED, retries: 3, ...REST_SWEEPS });
  }

  async editOriginal(applicationId: string, token: string, msg: OutgoingMessage): Promise<APIMessage> {
    const body = this.body(msg);
    // A message taking the V2 flag must null what it showed the old way in the same edit.
    if (msg.v2) Object.assign(body, { content: null, embeds: null });
    return (await this.webhookRest.patch(Routes.webhookMessage(applicationId, token, '@original'), {
      auth: false,
      ...this.payload(body, msg),
    })) as APIMessage;
  }

  /** The interaction's reply as it stands (its attachments, its flags), with the interaction's token. */
  async readOriginal(applicationId: string, token: string): Promise<APIMessage> {
    return (await this.webhookRest.get(Routes.webhookMessage(applicationId, token, '@original'), { auth: false })) as APIMessage;
  }

  async followUp(applicationId: string, token: string, msg: OutgoingMessage): Promise<APIMessage> {
    const body = this.body(msg);
    if (msg.ephemeral) body.flags = ((body.flags as number | undefined) ?? 0) | MessageFlags.Ephemeral;
    return (await this.webhookRest.post(Routes.webhook(applicationId, token), {
      auth: false,
      query: new URLSearchParams({ wait: 'true' }),
      ...this.payload(body, msg),
    })) as APIMessage;
  }

  async postChannelMessage(channelId: string, msg: OutgoingMessage): Promise<APIMessage> {
    const body: Record<string, unknown> = this.body(msg);
    if (msg.nonce) Object.assign(body, { nonce: msg.nonce, enforce_nonce: true });
    return (await this.botRest.post(Routes.channelMessages(channelId), this.payload(body, msg))) as APIMessage;
  }

  async directMessage(userId: string, msg: OutgoingMessage): Promise<APIMessage> {
    const channel = (await this.botRest.post(Routes.userChannels(), { body: { recipient_id: userId } })) as { id: string };
    return this.postChannelMessage(channel.id, msg);
  }

  async fetchMessage(channelId: string, messageId: string): Promise<APIMessage> {
    return (await this.botRest.get(Routes.channelMessage(channelId, messageId))) as APIMessage;
  }

  /** The application's SKUs (premium apps). */
  async listSkus(applicationId: string): Promise<APISKU[]> {
    return (await this.botRest.get(Routes.skus(applicationId))) as APISKU[];
  }

  /**
   * New signed links for expired CDN attachment links (`POST /attachments/refresh-urls`, at most 50 at once), by the
   * link given. A link Discord leaves out of its answer names no attachment it still has.
   */
  async refreshAttachmentUrls(urls: readonly string[]): Promise<Map<string, string>> {
    const fresh = new Map<string, string>();
    for (let i = 0; i < urls.length; i += 50) {
      const answer = (await this.botRest.post('/attachments/refresh-urls', { body: { attachment_urls: urls.slice(i, i + 50) } })) as {
        refreshed_urls?: Array<{ original?: unknown; refreshed?: unknown }>;
      };
      for (const r of answer.refreshed_urls ?? []) if (typeof r.original === 'string' && typeof r.refreshed === 'string') fresh.set(r.original, r.refreshed);
    }
    return fresh;
  }

  /** Tells Discord a consumable purchase is used up: the member may buy it again. */
  async consumeEntitlement(applicationId: string, entitlementId: string): Promise<void> {
    await this.botRest.post(Routes.consumeEntitlement(applicationId, entitlementId));
  }

  private body(msg: OutgoingMessage): Record<string, unknown> {
    const body: Record<string, unknown> = {
      allowed_mentions: { parse: [], users: msg.allowedUserMentions ?? [] },
    };
    if (msg.v2) body.flags = MessageFlags.IsComponentsV2;
    else {
      if (msg.content !== undefined) body.content = msg.content;
      if (msg.embeds !== undefined) body.embeds = msg.embeds;
    }
    if (msg.components !== undefined) body.components = msg.components;
    if (msg.files !== undefined || msg.replaceAttachments || msg.keep !== undefined) {
      body.attachments = [...(msg.keep ?? []).map((id) => ({ id })), ...(msg.files ?? []).map((f, i) => ({ id: i, filename: f.name }))];
    }
    return body;
  }

  /**
   * The request's body: JSON, or with files one multipart body (src/http/multipart.ts), which @discordjs/rest sends
   * as it is — framed around a result's own bytes when the transfer left room for it.
   */
  private payload(body: Record<string, unknown>, msg: OutgoingMessage): { body: unknown; passThroughBody?: boolean; headers?: Record<string, string> } {
    if (!msg.files || msg.files.length === 0) return { body };
    const files = msg.files.map((f) => ({ name: f.name, data: f.data, contentType: f.contentType ?? sniffImageType(f.data) ?? 'application/octet-stream' }));
    const form = multipartBody(body, files);
    return { body: form.body, passThroughBody: true, headers: { 'Content-Type': form.contentType } };
  }
}

/** No client-side global limiter: for routes Discord exempts from its global limit. */
export const UNLIMITED = Number.MAX_SAFE_INTEGER;

/** Discord error codes the bot acts on: in delivery, in reading a message, in the interaction router. */
export const DiscordCodes = {
  /** The channel was deleted. */
  UnknownChannel: 10003,
  UnknownMessage: 10008,
  UnknownInteraction: 10062,
  MissingAccess: 50001,
  MissingPermissions: 50013,
  InvalidWebhookToken: 50027,
  RequestEntityTooLarge: 40005,
  UnknownEntitlement: 10029,
  NotConsumable: 40018,
} as const;

export function discordErrorCode(err: unknown): number | undefined {
  if (err instanceof DiscordAPIError) return typeof err.code === 'number' ? err.code : Number(err.code);
  return undefined;
}

export function discordStatus(err: unknown): number | undefined {
  if (err instanceof DiscordAPIError) return err.status;
  const s = (err as { status?: unknown } | null)?.status;
  return typeof s === 'number' ? s : undefined;
}
