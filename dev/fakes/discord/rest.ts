// The REST half of the fake: routes under /api/v10 with Discord's status codes, error bodies and semantics.
import {
  ApplicationCommandType,
  ChannelType,
  InteractionResponseType,
  InteractionType,
  MessageFlags,
  MessageType,
} from 'discord-api-types/v10';
import {
  applyBody,
  createFlags,
  fieldError,
  invalidFormBody,
  maxLength,
  resolveAttachments,
  resultingFlags,
  v2MediaErrors,
  validateMessageBody,
  type ApiError,
  type MessageRecord,
} from './messages.js';
import { validateModal } from './modals.js';
import { premiumButtonProblem } from './monetization.js';
import type { UploadedFile } from './multipart.js';
import { buildApplication, buildGuild } from './payloads.js';
import type { DiscordState, InteractionRecord } from './state.js';

export interface RestRequest {
  method: string;
  /** Decoded path without `/api/v10`. */
  path: string;
  query: URLSearchParams;
  authorization: string | undefined;
  json: unknown;
  files: UploadedFile[];
}

export interface RestResponse {
  status: number;
  /** JSON body; undefined for an empty body (no Content-Type). */
  body?: unknown;
  headers?: Record<string, string>;
}

type Handler = (req: RestRequest, params: string[]) => RestResponse;

interface Route {
  method: string;
  pattern: RegExp;
  /** Bot routes need `Authorization: Bot <token>`; interaction and webhook routes need nothing. */
  auth: boolean;
  handler: Handler;
}

const ID = '(\\d{15,21})';
/** How long Discord remembers an enforced nonce ("the past few minutes"); the fake takes the short end. */
const NONCE_WINDOW_MS = 2 * 60_000;
const TOKEN = '([^/]+)';

const error = (status: number, message: string, code: number): RestResponse => ({
  status,
  body: { message, code },
});
const fromApiError = (e: ApiError): RestResponse => ({ status: e.status, body: e.body });
const isApiError = (value: unknown): value is ApiError =>
  typeof value === 'object' && value !== null && 'status' in value && 'body' in value;

export const errors = {
  unauthorized: () => error(401, '401: Unauthorized', 0),
  notFound: () => error(404, '404: Not Found', 0),
  unknownChannel: () => error(404, 'Unknown Channel', 10003),
  unknownMessage: () => error(404, 'Unknown Message', 10008),
  unknownUser: () => error(404, 'Unknown User', 10013),
  unknownMember: () => error(404, 'Unknown Member', 10007),
  unknownGuild: () => error(404, 'Unknown Guild', 10004),
  unknownWebhook: () => error(404, 'Unknown Webhook', 10015),
  unknownInteraction: () => error(404, 'Unknown interaction', 10062),
  unknownCommand: () => error(404, 'Unknown application command', 10063),
  alreadyAcknowledged: () => error(400, 'Interaction has already been acknowledged.', 40060),
  invalidWebhookToken: () => error(401, 'Invalid Webhook Token', 50027),
  missingAccess: () => error(403, 'Missing Access', 50001),
  missingPermissions: () => error(403, 'Missing Permissions', 50013),
  cannotDm: () => error(403, 'Cannot send messages to this user', 50007),
  notAuthor: () => error(403, 'Cannot edit a message authored by another user', 50005),
  tooLarge: () => error(413, 'Request entity too large', 40005),
  invalidJson: () => error(400, 'The request body contains invalid JSON.', 50109),
};

export class FakeRest {
  readonly #routes: Route[] = [];

  constructor(
    private readonly state: DiscordState,
    private readonly gatewayUrl: () => string,
  ) {
    this.#defineRoutes();
  }

  handle(req: RestRequest): RestResponse {
    const route = this.#routes.find((r) => r.method === req.method && r.pattern.test(req.path));
    if (!route) {
      const pathExists = this.#routes.some((r) => r.pattern.test(req.path));
      return pathExists ? error(405, '405: Method Not Allowed', 0) : errors.notFound();
    }
    if (route.auth && req.authorization !== `Bot ${this.state.options.token}`) return errors.unauthorized();
    if (req.files.some((file) => file.data.length > this.state.options.uploadLimitBytes)) return errors.tooLarge();
    const premium = this.state.store && req.method !== 'GET' ? premiumButtonProblem(req.json, this.state.store.skus) : undefined;
    if (premium) return premium;
    const params = (route.pattern.exec(req.path) ?? []).slice(1);
    return route.handler(req, params);
  }

  #route(method: string, path: string, auth: boolean, handler: Handler): void {
    this.#routes.push({ method, pattern: new RegExp(`^${path}$`), auth, handler });
  }

  #defineRoutes(): void {
    const s = this.state;
    const o = s.options;

    // Gateway discovery.
    this.#route('GET', '/gateway', false, () => ({ status: 200, body: { url: this.gatewayUrl() } }));
    this.#route('GET', '/gateway/bot', true, () => ({
      status: 200,
      body: {
        url: this.gatewayUrl(),
        shards: 1,
        session_start_limit: { total: 1000, remaining: 1000, reset_after: 0, max_concurrency: 1 },
      },
    }));

    // Application and users.
    const application = (): RestResponse => ({
      status: 200,
      body: buildApplication(o.applicationId, o.applicationName, o.botUser),
    });
    this.#route('GET', '/applications/@me', true, application);
    this.#route('GET', '/oauth2/applications/@me', true, application);
    this.#route('GET', '/users/@me', true, () => ({ status: 200, body: o.botUser }));
    this.#route('GET', `/users/${ID}`, true, (_req, [id]) => {
      const user = s.users.get(id ?? '');
      return user ? { status: 200, body: user } : errors.unknownUser();
    });
    this.#route('POST', '/users/@me/channels', true, (req) => {
      const recipient = (req.json as { recipient_id?: unknown } | undefined)?.recipient_id;
      if (typeof recipient !== 'string' || !/^\d{15,21}$/.test(recipient)) {
        return fromApiError(
          invalidFormBody({ recipient_id: fieldError('NUMBER_TYPE_COERCE', 'Value is not snowflake.') }),
        );
      }
      return { status: 200, body: s.renderChannel(s.dmChannelFor(recipient)) };
    });

    // Guilds.
    this.#route('GET', `/guilds/${ID}`, true, (_req, [id]) => {
      if (s.foreignGuildIds.has(id ?? '')) return errors.missingAccess();
      const guild = s.guilds.get(id ?? '');
      return guild ? { status: 200, body: buildGuild(guild) } : errors.unknownGuild();
    });
    this.#route('GET', `/guilds/${ID}/channels`, true, (_req, [id]) => {
      const guild = s.guilds.get(id ?? '');
      if (!guild) return errors.unknownGuild();
      const channels = guild.channelIds.flatMap((channelId) => {
        const channel = s.channels.get(channelId);
        return channel ? [s.renderChannel(channel)] : [];
      });
      return { status: 200, body: channels };
    });
    this.#route('GET', `/guilds/${ID}/members/${ID}`, true, (_req, [guildId, userId]) => {
      if (!s.guilds.has(guildId ?? '')) return errors.unknownGuild();
      const member = s.renderMember(guildId ?? '', userId ?? '');
      return member ? { status: 200, body: member } : errors.unknownMember();
    });

    // Channels and channel messages (bot token).
    this.#route('GET', `/channels/${ID}`, true, (_req, [id]) => {
      const channel = s.channels.get(id ?? '');
      const access = this.#channelAccess(id ?? '');
      if (access || !channel) return access ?? errors.unknownChannel();
      return { status: 200, body: s.renderChannel(channel) };
    });
    this.#route('GET', `/channels/${ID}/messages`, true, (req, [id]) => {
      const access = this.#channelAccess(id ?? '');
      if (access) return access;
      const limit = Math.min(Math.max(Number(req.query.get('limit') ?? 50) || 50, 1), 100);
      const before = req.query.get('before');
      const after = req.query.get('after');
      let records = s.channelRecords(id ?? '').filter((m) => (m.flags & MessageFlags.Ephemeral) === 0);
      if (before) records = records.filter((m) => BigInt(m.id) < BigInt(before));
      if (after) records = records.filter((m) => BigInt(m.id) > BigInt(after));
      return { status: 200, body: records.reverse().slice(0, limit).map((m) => s.render(m)) };
    });
    this.#route('GET', `/channels/${ID}/messages/${ID}`, true, (_req, [channelId, messageId]) => {
      const access = this.#channelAccess(channelId ?? '');
      if (access) return access;
      const record = this.#channelMessage(channelId ?? '', messageId ?? '');
      return record ? { status: 200, body: s.render(record) } : errors.unknownMessage();
    });
    this.#route('POST', `/channels/${ID}/messages`, true, (req, [channelId]) =>
      this.#postChannelMessage(req, channelId ?? ''),
    );
    this.#route('PATCH', `/channels/${ID}/messages/${ID}`, true, (req, [channelId, messageId]) => {
      const access = this.#channelAccess(channelId ?? '');
      if (access) return access;
      const record = this.#channelMessage(channelId ?? '', messageId ?? '');
      if (!record) return errors.unknownMessage();
      if (record.author.id !== o.botUser.id) return errors.notAuthor();
      return this.#editMessage(record, req);
    });
    this.#route('DELETE', `/channels/${ID}/messages/${ID}`, true, (_req, [channelId, messageId]) => {
      const access = this.#channelAccess(channelId ?? '');
      if (access) return access;
      const record = this.#channelMessage(channelId ?? '', messageId ?? '');
      if (!record) return errors.unknownMessage();
      record.deleted = true;
      return { status: 204 };
    });
    this.#route('POST', `/channels/${ID}/typing`, true, (_req, [id]) => this.#channelAccess(id ?? '') ?? { status: 204 });

    // Application commands.
    for (const scope of ['global', 'guild'] as const) {
      const base = scope === 'global' ? `/applications/${ID}/commands` : `/applications/${ID}/guilds/${ID}/commands`;
      const scopeOf = (params: string[]): string | RestResponse => {
        if (params[0] !== o.applicationId) return errors.missingAccess();
        if (scope === 'global') return 'global';
        const guildId = params[1] ?? '';
        return s.guilds.has(guildId) ? guildId : errors.missingAccess();
      };
      this.#route('GET', base, true, (_req, params) => {
        const key = scopeOf(params);
        if (typeof key !== 'string') return key;
        return { status: 200, body: (s.commands.get(key) ?? []).map((c) => this.#renderCommand(c.id, c.data, key)) };
      });
      this.#route('PUT', base, true, (req, params) => {
        const key = scopeOf(params);
        if (typeof key !== 'string') return key;
        return this.#putCommands(key, req.json);
      });
      this.#route('POST', base, true, (req, params) => {
        const key = scopeOf(params);
        if (typeof key !== 'string') return key;
        const problem = validateCommand(req.json, 0);
        if (problem) return fromApiError(problem);
        const data = req.json as Record<string, unknown>;
        const list = s.commands.get(key) ?? [];
        const existing = list.find((c) => c.data.name === data.name && (c.data.type ?? 1) === (data.type ?? 1));
        if (existing) existing.data = data;
        const stored = existing ?? { id: s.ids.next(), data };
        if (!existing) list.push(stored);
        s.commands.set(key, list);
        return { status: existing ? 200 : 201, body: this.#renderCommand(stored.id, data, key) };
      });
      this.#route('GET', `${base}/${ID}`, true, (_req, params) => {
        const key = scopeOf(params);
        if (typeof key !== 'string') return key;
        const found = s.commands.get(key)?.find((c) => c.id === params[params.length - 1]);
        return found ? { status: 200, body: this.#renderCommand(found.id, found.data, key) } : errors.unknownCommand();
      });
      this.#route('DELETE', `${base}/${ID}`, true, (_req, params) => {
        const key = scopeOf(params);
        if (typeof key !== 'string') return key;
        const list = s.commands.get(key) ?? [];
        const index = list.findIndex((c) => c.id === params[params.length - 1]);
        if (index < 0) return errors.unknownCommand();
        list.splice(index, 1);
        return { status: 204 };
      });
    }

    this.#monetizationRoutes();

    // Expired CDN links: up to 50 at once; an answer for each URL that names an attachment the CDN still holds
    // (one whose message was deleted, or no attachment at all, is left out of the answer).
    this.#route('POST', '/attachments/refresh-urls', true, (req) => {
      const urls = (req.json as { attachment_urls?: unknown } | undefined)?.attachment_urls;
      if (!Array.isArray(urls)) return fromApiError(invalidFormBody({ attachment_urls: fieldError('BASE_TYPE_REQUIRED', 'This field is required') }));
      if (urls.length === 0 || urls.length > 50) return fromApiError(invalidFormBody({ attachment_urls: fieldError('BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 50 in length.') }));
      const bad = urls.findIndex((u) => typeof u !== 'string');
      if (bad >= 0) return fromApiError(invalidFormBody({ attachment_urls: { [bad]: fieldError('STRING_TYPE_CONVERT', 'Could not interpret the value as string.') } }));
      const refreshed_urls = (urls as string[]).flatMap((original) => {
        const refreshed = s.cdn.refresh(original);
        return refreshed === undefined ? [] : [{ original, refreshed }];
      });
      return { status: 200, body: { refreshed_urls } };
    });

    // Interaction callback (no auth: the token in the path is the credential).
    this.#route('POST', `/interactions/${ID}/${TOKEN}/callback`, false, (req, [id, token]) =>
      this.#callback(req, id ?? '', token ?? ''),
    );

    // Interaction webhooks.
    this.#route('POST', `/webhooks/${ID}/${TOKEN}`, false, (req, [app, token]) =>
      this.#withToken(app, token, (interaction) => this.#followup(req, interaction)),
    );
    this.#route('GET', `/webhooks/${ID}/${TOKEN}/messages/(@original|\\d{15,21})`, false, (_req, [app, token, id]) =>
      this.#withToken(app, token, (interaction) => {
        const record = this.#webhookMessage(interaction, id ?? '');
        return record ? { status: 200, body: s.render(record) } : errors.unknownMessage();
      }),
    );
    this.#route('PATCH', `/webhooks/${ID}/${TOKEN}/messages/(@original|\\d{15,21})`, false, (req, [app, token, id]) =>
      this.#withToken(app, token, (interaction) => {
        const record = this.#webhookMessage(interaction, id ?? '');
        if (!record) return errors.unknownMessage();
        const response = this.#editMessage(record, req);
        if (response.status === 200 && record.id === interaction.originalId) {
          interaction.edits.push({ json: req.json, files: req.files, at: Date.now(), messageId: record.id });
        }
        return response;
      }),
    );
    this.#route('DELETE', `/webhooks/${ID}/${TOKEN}/messages/(@original|\\d{15,21})`, false, (_req, [app, token, id]) =>
      this.#withToken(app, token, (interaction) => {
        const record = this.#webhookMessage(interaction, id ?? '');
        if (!record) return errors.unknownMessage();
        record.deleted = true;
        return { status: 204 };
      }),
    );
  }

  /** SKUs, entitlements, test entitlements and consumption (monetization.ts), for this application only. */
  #monetizationRoutes(): void {
    const s = this.state;
    const app = (id: string | undefined) => id === s.options.applicationId;
    const answer = <T>(r: { ok: T } | { refused: { status: number; body: unknown } }, status = 200): RestResponse =>
      'refused' in r ? r.refused : r.ok === undefined ? { status: 204 } : { status, body: r.ok };
    const store = () => s.store;
    this.#route('GET', `/applications/${ID}/skus`, true, (_req, [id]) => (app(id) ? { status: 200, body: store()?.listSkus() ?? [] } : errors.missingAccess()));
    this.#route('GET', `/applications/${ID}/entitlements`, true, (req, [id]) => (app(id) ? answer(store()?.list(req.query) ?? { ok: [] }) : errors.missingAccess()));
    this.#route('GET', `/applications/${ID}/entitlements/${ID}`, true, (_req, [id, e]) =>
      app(id) && store() ? answer(store()!.get(e ?? '')) : errors.missingAccess(),
    );
    this.#route('POST', `/applications/${ID}/entitlements`, true, (req, [id]) => {
      if (!app(id) || !store()) return errors.missingAccess();
      return answer(store()!.createTest(req.json, { guild: (g) => s.guilds.has(g) }));
    });
    this.#route('DELETE', `/applications/${ID}/entitlements/${ID}`, true, (_req, [id, e]) =>
      app(id) && store() ? answer(store()!.deleteTest(e ?? '')) : errors.missingAccess(),
    );
    this.#route('POST', `/applications/${ID}/entitlements/${ID}/consume`, true, (_req, [id, e]) =>
      app(id) && store() ? answer(store()!.consume(e ?? '')) : errors.missingAccess(),
    );
  }

  #channelAccess(channelId: string): RestResponse | undefined {
    if (!this.state.channels.has(channelId)) return errors.unknownChannel();
    if (!this.state.botReaches(channelId)) return errors.missingAccess();
    if (this.state.unreadableChannels.has(channelId)) return errors.missingAccess();
    return undefined;
  }

  #channelMessage(channelId: string, messageId: string): MessageRecord | undefined {
    const record = this.state.messages.get(messageId);
    if (!record || record.deleted || record.channelId !== channelId) return undefined;
    if ((record.flags & MessageFlags.Ephemeral) !== 0) return undefined;
    return record;
  }

  #postChannelMessage(req: RestRequest, channelId: string): RestResponse {
    const s = this.state;
    const access = this.#channelAccess(channelId);
    if (access) return access;
    const channel = s.channels.get(channelId);
    if (s.noSendChannels.has(channelId)) return errors.missingPermissions();
    if (channel?.type === ChannelType.DM && channel.recipientId && s.cannotDmUsers.has(channel.recipientId)) {
      return errors.cannotDm();
    }
    const json = asObject(req.json);
    const invalid = validateMessageBody(json, req.files, 'create');
    if (invalid) return fromApiError(invalid);
    const nonce = typeof json.nonce === 'string' || typeof json.nonce === 'number' ? String(json.nonce) : undefined;
    if (nonce !== undefined && nonce.length > 25) return fromApiError(invalidFormBody({ nonce: maxLength(25) }));
    // enforce_nonce: a second message from the same author with the same nonce within a few minutes is not
    // created; Discord answers with the first one (what makes a post repeated after a crash land once).
    const nonceKey = nonce !== undefined && json.enforce_nonce === true ? `${s.options.botUser.id}:${nonce}` : undefined;
    const seen = nonceKey !== undefined ? s.nonces.get(nonceKey) : undefined;
    if (seen && Date.now() - seen.at < NONCE_WINDOW_MS) {
      const first = s.messages.get(seen.messageId);
      if (first && !first.deleted) return { status: 200, body: s.render(first) };
    }
    const reference = asObject(json.message_reference);
    if (typeof reference.message_id === 'string') {
      const target = s.messages.get(reference.message_id);
      if ((!target || target.deleted) && reference.fail_if_not_exists !== false) {
        return fromApiError(
          invalidFormBody({
            message_reference: fieldError('MESSAGE_REFERENCE_UNKNOWN_MESSAGE', 'Unknown message'),
          }),
        );
      }
    }
    const attachments = resolveAttachments([], json, req.files, this.#writeContext(channelId));
    if (isApiError(attachments)) return fromApiError(attachments);
    const media = v2MediaErrors(list(json.components), createFlags(json.flags), [], attachments, s.cdn);
    if (media) return fromApiError(media);
    const record = s.newMessage({ channelId, author: s.options.botUser, source: 'bot', attachments });
    applyBody(record, json);
    record.flags = createFlags(json.flags) & ~MessageFlags.Ephemeral;
    if (typeof reference.message_id === 'string') {
      record.type = MessageType.Reply;
      record.extra.message_reference = { type: 0, channel_id: channelId, message_id: reference.message_id };
    }
    if (nonce !== undefined) record.extra.nonce = json.nonce;
    if (nonceKey !== undefined) s.nonces.set(nonceKey, { messageId: record.id, at: Date.now() });
    return { status: 200, body: s.render(record) };
  }

  #editMessage(record: MessageRecord, req: RestRequest): RestResponse {
    const json = asObject(req.json);
    const invalid = validateMessageBody(json, req.files, 'edit', record);
    if (invalid) return fromApiError(invalid);
    const attachments = resolveAttachments(record.attachments, json, req.files, this.#writeContext(record.channelId));
    if (isApiError(attachments)) return fromApiError(attachments);
    const flags = resultingFlags(json, 'edit', record);
    const components = Array.isArray(json.components) ? json.components : record.components;
    const media = v2MediaErrors(components, flags, record.attachments, attachments, this.state.cdn);
    if (media) return fromApiError(media);
    const wasLoading = (record.flags & MessageFlags.Loading) !== 0;
    applyBody(record, json);
    record.attachments = attachments;
    record.flags = flags & ~MessageFlags.Loading;
    // Filling in a deferred response is not an "edit" in Discord's eyes.
    if (!wasLoading) record.editedTimestamp = new Date().toISOString();
    return { status: 200, body: this.state.render(record) };
  }

  #writeContext(channelId: string): { cdn: DiscordState['cdn']; nextId: () => string; channelId: string } {
    return { cdn: this.state.cdn, nextId: () => this.state.ids.next(), channelId };
  }

  #callback(req: RestRequest, id: string, token: string): RestResponse {
    const s = this.state;
    const interaction = s.interactions.get(id);
    if (!interaction || interaction.token !== token) return errors.unknownInteraction();
    if (interaction.ackType !== undefined) return errors.alreadyAcknowledged();
    if (s.options.now() - interaction.createdAt > s.options.ackDeadlineMs) return errors.unknownInteraction();

    const body = asObject(req.json);
    const type = body.type;
    const data = asObject(body.data);
    if (typeof type !== 'number' || !allowedCallback(interaction, type)) {
      return fromApiError(
        invalidFormBody({
          type: fieldError('INTERACTION_RESPONSE_TYPE_INVALID', 'Invalid interaction response type for this interaction.'),
        }),
      );
    }

    let message: MessageRecord | undefined;
    switch (type) {
      case InteractionResponseType.ChannelMessageWithSource: {
        const invalid = validateMessageBody(data, req.files, 'create');
        if (invalid) return fromApiError(prefixErrors(invalid));
        const attachments = resolveAttachments([], data, req.files, this.#writeContext(interaction.channelId));
        if (isApiError(attachments)) return fromApiError(prefixErrors(attachments));
        const media = v2MediaErrors(list(data.components), createFlags(data.flags), [], attachments, s.cdn);
        if (media) return fromApiError(prefixErrors(media));
        message = this.#responseMessage(interaction, attachments);
        applyBody(message, data);
        message.flags = createFlags(data.flags);
        break;
      }
      case InteractionResponseType.DeferredChannelMessageWithSource: {
        // A deferred response carries EPHEMERAL at most: the V2 flag goes on the edit of @original.
        if (typeof data.flags === 'number' && (data.flags & ~MessageFlags.Ephemeral) !== 0) {
          return fromApiError(invalidFormBody({ data: { flags: fieldError('INTERACTION_RESPONSE_FLAGS_INVALID', 'A deferred response may only set the EPHEMERAL flag.') } }));
        }
        message = this.#responseMessage(interaction, []);
        message.flags = MessageFlags.Loading | (createFlags(data.flags) & MessageFlags.Ephemeral);
        break;
      }
      case InteractionResponseType.DeferredMessageUpdate:
      case InteractionResponseType.UpdateMessage: {
        const source = interaction.sourceMessageId ? s.messages.get(interaction.sourceMessageId) : undefined;
        if (!source) return errors.unknownMessage();
        if (type === InteractionResponseType.UpdateMessage) {
          const invalid = validateMessageBody(data, req.files, 'edit', source);
          if (invalid) return fromApiError(prefixErrors(invalid));
          const attachments = resolveAttachments(source.attachments, data, req.files, this.#writeContext(source.channelId));
          if (isApiError(attachments)) return fromApiError(prefixErrors(attachments));
          const flags = resultingFlags(data, 'edit', source);
          const media = v2MediaErrors(Array.isArray(data.components) ? data.components : source.components, flags, source.attachments, attachments, s.cdn);
          if (media) return fromApiError(prefixErrors(media));
          applyBody(source, data);
          source.attachments = attachments;
          source.flags = flags;
          source.editedTimestamp = new Date().toISOString();
        }
        interaction.originalId = source.id;
        message = source;
        break;
      }
      case InteractionResponseType.Modal: {
        const invalid = validateModal(data);
        if (invalid) return fromApiError(invalid);
        break;
      }
      default:
        break;
    }

    interaction.ackType = type;
    interaction.callbacks.push({ type, data: body.data, files: req.files, at: Date.now() });
    if (message && interaction.originalId === undefined) interaction.originalId = message.id;

    if (req.query.get('with_response') !== 'true') return { status: 204 };
    const callback: Record<string, unknown> = { id: interaction.id, type: interaction.type };
    if (message && type !== InteractionResponseType.DeferredMessageUpdate) {
      callback.response_message_id = message.id;
      callback.response_message_loading = (message.flags & MessageFlags.Loading) !== 0;
      callback.response_message_ephemeral = (message.flags & MessageFlags.Ephemeral) !== 0;
    }
    const resource: Record<string, unknown> = { type };
    const createsMessage =
      type === InteractionResponseType.ChannelMessageWithSource || type === InteractionResponseType.UpdateMessage;
    if (message && createsMessage) resource.message = s.render(message);
    return { status: 200, body: { interaction: callback, resource } };
  }

  #responseMessage(interaction: InteractionRecord, attachments: MessageRecord['attachments']): MessageRecord {
    const s = this.state;
    const data = asObject(interaction.payload.data);
    const commandType = data.type;
    const type =
      interaction.kind !== 'command'
        ? MessageType.Default
        : commandType === ApplicationCommandType.ChatInput
          ? MessageType.ChatInputCommand
          : MessageType.ContextMenuCommand;
    const record = s.newMessage({
      channelId: interaction.channelId,
      author: s.options.botUser,
      source: 'interaction',
      attachments,
      type,
    });
    record.webhookId = s.options.applicationId;
    record.applicationId = s.options.applicationId;
    record.interactionMetadata = this.#metadata(interaction);
    return record;
  }

  #metadata(interaction: InteractionRecord): Record<string, unknown> {
    const data = asObject(interaction.payload.data);
    const metadata: Record<string, unknown> = {
      id: interaction.id,
      type: interaction.type,
      user: interaction.user,
      authorizing_integration_owners: interaction.payload.authorizing_integration_owners,
    };
    if (interaction.type === InteractionType.ApplicationCommand) {
      metadata.name = data.name;
      metadata.command_type = data.type;
    }
    if (interaction.sourceMessageId) metadata.interacted_message_id = interaction.sourceMessageId;
    if (interaction.originalId) metadata.original_response_message_id = interaction.originalId;
    return metadata;
  }

  #withToken(
    app: string | undefined,
    token: string | undefined,
    next: (interaction: InteractionRecord) => RestResponse,
  ): RestResponse {
    if (app !== this.state.options.applicationId) return errors.unknownWebhook();
    const interaction = this.state.interactionsByToken.get(token ?? '');
    if (!interaction || !this.state.tokenAlive(interaction)) return errors.invalidWebhookToken();
    return next(interaction);
  }

  #webhookMessage(interaction: InteractionRecord, id: string): MessageRecord | undefined {
    const targetId = id === '@original' ? interaction.originalId : id;
    if (!targetId) return undefined;
    if (targetId !== interaction.originalId && !interaction.followupIds.includes(targetId)) return undefined;
    const record = this.state.messages.get(targetId);
    return record && !record.deleted ? record : undefined;
  }

  #followup(req: RestRequest, interaction: InteractionRecord): RestResponse {
    const s = this.state;
    // Before any acknowledgement there is no webhook for this token yet.
    if (interaction.ackType === undefined) return errors.unknownWebhook();
    const json = asObject(req.json);
    const invalid = validateMessageBody(json, req.files, 'create');
    if (invalid) return fromApiError(invalid);

    const original = interaction.originalId ? s.messages.get(interaction.originalId) : undefined;
    let record: MessageRecord;
    if (original && !original.deleted && (original.flags & MessageFlags.Loading) !== 0) {
      // Discord quirk: the first followup after a deferred reply replaces the "is thinking…" message
      // (keeping the ephemerality chosen at defer time) instead of creating a new one.
      const attachments = resolveAttachments([], json, req.files, this.#writeContext(original.channelId));
      if (isApiError(attachments)) return fromApiError(attachments);
      const media = v2MediaErrors(list(json.components), createFlags(json.flags), [], attachments, s.cdn);
      if (media) return fromApiError(media);
      applyBody(original, json);
      original.attachments = attachments;
      original.flags = (original.flags & ~MessageFlags.Loading) | (createFlags(json.flags) & ~MessageFlags.Ephemeral);
      record = original;
    } else {
      const attachments = resolveAttachments([], json, req.files, this.#writeContext(interaction.channelId));
      if (isApiError(attachments)) return fromApiError(attachments);
      const media = v2MediaErrors(list(json.components), createFlags(json.flags), [], attachments, s.cdn);
      if (media) return fromApiError(media);
      record = s.newMessage({
        channelId: interaction.channelId,
        author: s.options.botUser,
        source: 'interaction',
        attachments,
      });
      applyBody(record, json);
      record.flags = createFlags(json.flags);
      record.webhookId = s.options.applicationId;
      record.applicationId = s.options.applicationId;
      record.interactionMetadata = this.#metadata(interaction);
    }
    interaction.followupIds.push(record.id);
    if (req.query.get('wait') !== 'true') return { status: 204 };
    return { status: 200, body: s.render(record) };
  }

  #putCommands(scope: string, json: unknown): RestResponse {
    const s = this.state;
    if (!Array.isArray(json)) {
      return fromApiError(invalidFormBody(fieldError('LIST_TYPE_CONVERT', 'Must be an array.')));
    }
    const errorsByIndex: Record<string, unknown> = {};
    json.forEach((command: unknown, index) => {
      const problem = validateCommand(command, index);
      if (problem) Object.assign(errorsByIndex, problem.body.errors);
    });
    const seen = new Set<string>();
    json.forEach((command: unknown, index) => {
      const c = asObject(command);
      const key = `${String(c.type ?? 1)}:${String(c.name)}`;
      if (seen.has(key)) {
        errorsByIndex[index] = {
          name: fieldError('APPLICATION_COMMANDS_DUPLICATE_NAME', 'Application command names must be unique'),
        };
      }
      seen.add(key);
    });
    if (json.length > 100) Object.assign(errorsByIndex, maxLength(100));
    if (Object.keys(errorsByIndex).length > 0) return fromApiError(invalidFormBody(errorsByIndex));

    const previous = s.commands.get(scope) ?? [];
    const next = json.map((command: unknown) => {
      const data = asObject(command);
      const kept = previous.find((c) => c.data.name === data.name && (c.data.type ?? 1) === (data.type ?? 1));
      return { id: kept?.id ?? s.ids.next(), data };
    });
    s.commands.set(scope, next);
    return { status: 200, body: next.map((c) => this.#renderCommand(c.id, c.data, scope)) };
  }

  #renderCommand(id: string, data: Record<string, unknown>, scope: string): Record<string, unknown> {
    const type = (data.type as number | undefined) ?? ApplicationCommandType.ChatInput;
    const command: Record<string, unknown> = {
      id,
      application_id: this.state.options.applicationId,
      version: id,
      default_member_permissions: data.default_member_permissions ?? null,
      type,
      name: data.name,
      name_localizations: data.name_localizations ?? null,
      description: type === ApplicationCommandType.ChatInput ? (data.description ?? '') : '',
      description_localizations: data.description_localizations ?? null,
      contexts: data.contexts ?? null,
      integration_types: data.integration_types ?? [0],
      nsfw: data.nsfw ?? false,
    };
    if (Array.isArray(data.options) && data.options.length > 0) command.options = data.options;
    if (scope === 'global') command.dm_permission = data.dm_permission ?? true;
    else command.guild_id = scope;
    return command;
  }
}

const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

function asObject(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** Callback bodies nest the message under `data`, and so do Discord's error paths. */
function prefixErrors(error: ApiError): ApiError {
  if (!error.body.errors) return error;
  return { status: error.status, body: { ...error.body, errors: { data: error.body.errors } } };
}

/** Which response types Discord accepts for which interaction. */
function allowedCallback(interaction: InteractionRecord, type: number): boolean {
  const T = InteractionResponseType;
  switch (interaction.kind) {
    case 'command':
      return [T.ChannelMessageWithSource, T.DeferredChannelMessageWithSource, T.Modal, T.LaunchActivity].includes(type);
    case 'component':
      return [
        T.ChannelMessageWithSource,
        T.DeferredChannelMessageWithSource,
        T.DeferredMessageUpdate,
        T.UpdateMessage,
        T.Modal,
      ].includes(type);
    case 'modal':
      return (
        type === T.ChannelMessageWithSource ||
        type === T.DeferredChannelMessageWithSource ||
        (interaction.sourceMessageId !== undefined && (type === T.DeferredMessageUpdate || type === T.UpdateMessage))
      );
    case 'autocomplete':
      return type === T.ApplicationCommandAutocompleteResult;
  }
}

const maxLen = maxLength;
const required = () => fieldError('BASE_TYPE_REQUIRED', 'This field is required');
const invalidName = () => fieldError('APPLICATION_COMMAND_INVALID_NAME', 'Command name is invalid');

const CHAT_INPUT_NAME = /^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;

/** The checks Discord makes on a command definition; errors keyed by the command's index. */
function validateCommand(raw: unknown, index: number): ApiError | undefined {
  const command = asObject(raw);
  const problems: Record<string, unknown> = {};
  const type = command.type ?? ApplicationCommandType.ChatInput;
  const name = command.name;
  if (typeof name !== 'string' || name.length === 0) problems.name = required();
  else if (type === ApplicationCommandType.ChatInput) {
    if (!CHAT_INPUT_NAME.test(name) || name !== name.toLowerCase()) problems.name = invalidName();
  } else if (name.length > 32) problems.name = maxLen(32);
  if (type === ApplicationCommandType.ChatInput) {
    if (typeof command.description !== 'string' || command.description.length === 0) problems.description = required();
    else if (command.description.length > 100) problems.description = maxLen(100);
  } else if (typeof command.description === 'string' && command.description.length > 0) {
    problems.description = fieldError(
      'APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION',
      'Context menu commands cannot have description',
    );
  }
  const optionProblems = validateOptions(command.options);
  if (optionProblems) problems.options = optionProblems;
  return Object.keys(problems).length > 0 ? invalidFormBody({ [index]: problems }) : undefined;
}

function validateOptions(raw: unknown): Record<string, unknown> | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw)) return fieldError('LIST_TYPE_CONVERT', 'Must be an array.');
  if (raw.length > 25) return maxLen(25);
  const problems: Record<string, unknown> = {};
  let sawOptional = false;
  raw.forEach((entry: unknown, index) => {
    const option = asObject(entry);
    const issue: Record<string, unknown> = {};
    const name = typeof option.name === 'string' ? option.name : '';
    if (!CHAT_INPUT_NAME.test(name) || name !== name.toLowerCase()) issue.name = invalidName();
    if (typeof option.description !== 'string' || option.description.length === 0) issue.description = required();
    else if (option.description.length > 100) issue.description = maxLen(100);
    if (Array.isArray(option.choices) && option.choices.length > 25) issue.choices = maxLen(25);
    if (option.type === 1 || option.type === 2) {
      const nested = validateOptions(option.options);
      if (nested) issue.options = nested;
    } else if (option.required === true && sawOptional) {
      issue.required = fieldError(
        'APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID',
        'Required options must be placed before non-required options',
      );
    } else if (option.required !== true) {
      sawOptional = true;
    }
    if (typeof option.max_length === 'number' && option.max_length > 6000) issue.max_length = maxLen(6000);
    if (Object.keys(issue).length > 0) problems[index] = issue;
  });
  return Object.keys(problems).length > 0 ? problems : undefined;
}
