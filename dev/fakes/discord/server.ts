// A loopback fake of Discord — REST (/api/v10), gateway (ws on the same port) and CDN — that a real
// discord.js Client talks to with `rest: { api: fake.apiUrl }`. Tests drive it through the FakeDiscord API:
// dispatch interactions, script faults, then read what the bot sent.
//
//   const discord = await startFakeDiscord();
//   const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: discord.apiUrl } });
//   await client.login(discord.token);                        // wait for Events.ClientReady too
//   const { token } = await discord.slashCommand({ name: 'imagine', options: [...] });
//   const reply = await discord.waitFor(() => discord.original(token)?.attachments[0]);
//   ...
//   await client.destroy(); await discord.close();            // client first, or it keeps reconnecting
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIAttachment, APIEmbed, APIEmbedImage, APIMessage, APIUser } from 'discord-api-types/v10';
import { FakeGateway } from './gateway.js';
import { InteractionPoster, InteractionSigner, type HttpDelivery } from './http-endpoint.js';
import { shortHash } from './ids.js';
import {
  buildButton,
  buildMessageContextMenu,
  buildModalSubmit,
  buildSlashCommand,
  buildStringSelect,
  type BuiltInteraction,
  type ButtonInput,
  type MessageContextMenuInput,
  type ModalSubmitInput,
  type SlashCommandInput,
  type StringSelectInput,
} from './interactions.js';
import { FakeStore, type FakeEntitlement, type FakeSku, type FakeSkuInput } from './monetization.js';
import { BodyParseError, parseBody } from './multipart.js';
import { buildGuildCreate, buildMember, type FakeGuildInput, type FakeUserInput } from './payloads.js';
import { errors, FakeRest, type RestResponse } from './rest.js';
import {
  DiscordState,
  type FaultMatch,
  type FaultResponse,
  type InteractionRecord,
  type RecordedCallback,
  type RecordedEdit,
  type RecordedRequest,
} from './state.js';

export type { FaultMatch, FaultResponse, RecordedCallback, RecordedEdit, RecordedRequest } from './state.js';
export type { UploadedFile } from './multipart.js';
export type { HttpDelivery } from './http-endpoint.js';
export type {
  ButtonInput,
  CommandOptionInput,
  InteractionContextInput,
  MessageContextMenuInput,
  ModalSubmitInput,
  SlashCommandInput,
  StringSelectInput,
} from './interactions.js';
export type { FakeGuildInput, FakeRoleInput, FakeUserInput } from './payloads.js';
export type { FakeEntitlement, FakeSku, FakeSkuInput, FakeSkuKind } from './monetization.js';

export interface FakeDiscordOptions {
  /** Bot token the fake accepts (REST `Authorization: Bot <token>` and gateway IDENTIFY). Default 'fake-bot-token'. */
  token?: string;
  /** Application id (a snowflake). Default '1100000000000000001'. */
  applicationId?: string;
  /** Application / bot name. Default 'Fake Luma Bot'. */
  applicationName?: string;
  /** Bot user id. Default: the application id, as for every modern Discord app. */
  botUserId?: string;
  /** Guilds the bot is in. Default: one guild '1200000000000000001' with a #general channel; [] for none. */
  guilds?: FakeGuildInput[];
  /**
   * Guilds the bot is not in, whose members use their own install of the app there (`installation: 'user'`):
   * the bot's token reaches none of their channels (403 Missing Access) and the gateway never lists them.
   */
  foreignGuilds?: FakeGuildInput[];
  /** Per-file upload limit in bytes; bigger files get 413/40005, interactions carry it. Default 10 MiB. */
  uploadLimitBytes?: number;
  /** Interaction token lifetime in ms; webhook calls after it get 401/50027. Default 15 min. */
  tokenTtlMs?: number;
  /** Time in ms to send the first interaction callback before it is 404/10062. Default 3000. */
  ackDeadlineMs?: number;
  /** The interactions' clock (their 3 s to acknowledge, their token's 15 minutes), ms. Default Date.now. */
  now?: () => number;
  /** `app_permissions` on interactions and the bot role's permissions (decimal bitfield). Default: send/embed/attach. */
  appPermissions?: string;
  /** The user interactions come from unless a call says otherwise. Default id '400000000000000001', 'tester'. */
  defaultUser?: FakeUserInput;
  /** Gateway heartbeat interval announced in HELLO, ms. Default 45000. */
  heartbeatIntervalMs?: number;
  /** How long interaction helpers wait for a connected, ready gateway session, ms. Default 10000. */
  sessionWaitMs?: number;
  /** The application's SKUs (premium apps): subscriptions, durable and consumable items. Default none. */
  skus?: FakeSkuInput[];
}

export interface DispatchedInteraction {
  id: string;
  token: string;
  /** The INTERACTION_CREATE `d` exactly as sent. */
  payload: Record<string, unknown>;
}

export interface AddAttachmentInput {
  filename: string;
  contentType: string;
  data: Buffer;
  /** Channel the attachment was uploaded in (part of its URL). Default: the default channel. */
  channelId?: string;
  description?: string;
}

export interface AddMessageInput {
  /** Default: the default guild's first channel; unknown ids become text channels of the default guild. */
  channelId?: string;
  /** Default: the default user. */
  authorId?: string;
  author?: FakeUserInput;
  content?: string;
  attachments?: APIAttachment[];
  embeds?: APIEmbed[];
  components?: unknown[];
  flags?: number;
}

const DEFAULT_GUILD: FakeGuildInput = { id: '1200000000000000001', name: 'Fake Guild' };

export class FakeDiscord {
  readonly apiUrl: string;
  readonly cdnOrigin: string;
  readonly mediaOrigin: string;
  readonly gatewayUrl: string;
  readonly token: string;
  readonly applicationId: string;
  readonly botUser: APIUser;
  /** The user interactions come from by default. */
  readonly defaultUser: APIUser;
  /** The first configured guild (null with `guilds: []`). */
  readonly guildId: string | null;
  /** That guild's first text channel (null without guilds). */
  readonly channelId: string | null;
  /** Every HTTP request received, in arrival order, with its parsed body and final status. */
  readonly requests: RecordedRequest[];
  readonly gateway: FakeGateway;
  /** The application's public key (hex), for DISCORD_PUBLIC_KEY: interactions POSTed over HTTP are signed with its pair. */
  readonly publicKey: string;

  readonly #state: DiscordState;
  readonly #signer = new InteractionSigner();
  readonly #poster: InteractionPoster;
  /** Interaction token → its POST's answer being applied (webhook calls of that interaction wait for it). */
  readonly #httpPending = new Map<string, Promise<void>>();
  readonly #server: Server;
  readonly #rest: FakeRest;
  readonly #sessionWaitMs: number;
  readonly #changeListeners = new Set<() => void>();
  #closed = false;
  /** Settles when close() begins: requests held by a fault stop waiting. */
  #closing = new AbortController();

  /** Use startFakeDiscord(); the constructor expects a listening server. */
  constructor(server: Server, options: FakeDiscordOptions) {
    const { port } = server.address() as AddressInfo;
    const origin = `http://127.0.0.1:${port}`;
    this.#server = server;
    this.apiUrl = `${origin}/api`;
    this.cdnOrigin = origin;
    this.mediaOrigin = origin;
    this.gatewayUrl = `ws://127.0.0.1:${port}`;
    this.#sessionWaitMs = options.sessionWaitMs ?? 10_000;

    const resolved = DiscordState.resolveOptions(options);
    this.#state = new DiscordState(resolved, options.guilds ?? [DEFAULT_GUILD], { cdn: origin, media: origin }, options.foreignGuilds);
    this.#rest = new FakeRest(this.#state, () => this.gatewayUrl);
    this.token = resolved.token;
    this.applicationId = resolved.applicationId;
    this.botUser = resolved.botUser;
    this.defaultUser = resolved.defaultUser;
    this.guildId = this.#state.defaultGuildId;
    this.channelId = this.guildId ? (this.#state.guilds.get(this.guildId)?.channelIds[0] ?? null) : null;
    this.requests = this.#state.requests;
    this.publicKey = this.#signer.publicKey;
    this.#poster = new InteractionPoster(this.#signer, () => this.#state.options.now());

    const gatewayOptions = {
      token: resolved.token,
      url: () => this.gatewayUrl,
      readyData: () => this.#readyData(),
      guildCreates: () => this.#guildCreates(),
      ...(options.heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs: options.heartbeatIntervalMs }),
    };
    this.gateway = new FakeGateway(server, gatewayOptions);
    this.#state.store = new FakeStore(resolved.applicationId, this.#state.ids, (event, entitlement) => void this.gateway.dispatch(event, entitlement), options.skus);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      res.once('close', () => this.#notifyChange());
      this.#onRequest(req, res).catch((error: unknown) => {
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ message: `fake Discord crashed: ${String(error)}`, code: 0 }));
        } else {
          res.destroy();
        }
      });
    });
  }

  // ── Test data ─────────────────────────────────────────────────────────────────────────────────────

  /** Registers bytes on the fake CDN and returns the attachment object Discord would send (signed URLs). */
  addAttachment(input: AddAttachmentInput): APIAttachment {
    const record = this.#state.cdn.addAttachment({
      id: this.#state.ids.next(),
      channelId: input.channelId ?? this.channelId ?? this.#state.ids.next(),
      filename: input.filename,
      contentType: input.contentType,
      data: input.data,
      description: input.description,
      title: undefined,
    });
    return this.#state.cdn.renderAttachment(record);
  }

  /**
   * Registers an external image for embeds: returns `{ url, proxy_url, width, height, content_type }` where
   * proxy_url serves the bytes from `${mediaOrigin}/external/...`. Embeds in stored messages whose
   * image/thumbnail url equals `url` get the proxy fields filled in too.
   */
  addEmbedImage(input: { data: Buffer; url?: string; contentType?: string }): APIEmbedImage {
    const url = input.url ?? `https://images.example.com/${this.#state.ids.next()}.png`;
    const record = this.#state.cdn.addExternalImage({
      url,
      data: input.data,
      ...(input.contentType === undefined ? {} : { contentType: input.contentType }),
    });
    return this.#state.cdn.renderExternal(record);
  }

  /** Stores a message (by a user unless authorId says otherwise) retrievable with GET /channels/:c/messages/:id. */
  addMessage(input: AddMessageInput = {}): APIMessage {
    const s = this.#state;
    const channelId = input.channelId ?? this.channelId ?? s.ids.next();
    if (!s.channels.has(channelId)) s.addTextChannel(channelId, this.guildId);
    const author = input.author
      ? s.rememberUser(input.author)
      : input.authorId
        ? s.rememberUser({ id: input.authorId })
        : this.defaultUser;
    const record = s.newMessage({ channelId, author, source: 'test', attachments: input.attachments ?? [] });
    record.content = input.content ?? '';
    record.embeds = input.embeds ?? [];
    record.components = input.components ?? [];
    record.flags = input.flags ?? 0;
    if (author.id === this.botUser.id) record.source = 'bot';
    return s.render(record);
  }

  /** The current state of any stored message (fresh attachment URLs), or undefined. */
  message(id: string): APIMessage | undefined {
    const record = this.#state.messages.get(id);
    return record && !record.deleted ? this.#state.render(record) : undefined;
  }

  /** GET/POST on the channel answer 403 Missing Access (50001). */
  markChannelUnreadable(channelId: string): void {
    this.#state.unreadableChannels.add(channelId);
  }

  /** POST /channels/:id/messages answers 403 Missing Permissions (50013). */
  markChannelMissingPermissions(channelId: string): void {
    this.#state.noSendChannels.add(channelId);
  }

  /** Messages to this user's DM channel answer 403 Cannot send messages to this user (50007). */
  markUserCannotDm(userId: string): void {
    this.#state.cannotDmUsers.add(userId);
  }

  /**
   * Moves the CDN's clock `ms` from real time (0: back). Links handed out meanwhile carry that issue time and a day's
   * life on it: `shiftCdnClock(-2 days)`, an upload, `shiftCdnClock(0)`, and its links have expired as a day-old
   * Discord link has (`ex` in the past), until `POST /attachments/refresh-urls` signs them anew.
   */
  shiftCdnClock(ms: number): void {
    this.#state.cdn.shiftClock(ms);
  }

  /** Forgets an attachment's bytes, as when its message was deleted: its links 404 and refresh-urls leaves them out. */
  removeAttachment(id: string): void {
    this.#state.cdn.removeAttachment(id);
  }

  /** Makes every attachment URL handed out so far 404; payloads rendered afterwards carry fresh ones. */
  expireAttachmentUrls(): void {
    this.#state.cdn.expireUrls();
  }

  // ── Interactions ──────────────────────────────────────────────────────────────────────────────────

  /** Dispatches a CHAT_INPUT command interaction. Waits for a ready gateway session first. */
  slashCommand(input: SlashCommandInput): Promise<DispatchedInteraction> {
    return this.#dispatchInteraction(() => buildSlashCommand(this.#state, input));
  }

  /** Dispatches a MESSAGE context-menu command with `resolved.messages[target_id]`. */
  messageContextMenu(input: MessageContextMenuInput): Promise<DispatchedInteraction> {
    return this.#dispatchInteraction(() => buildMessageContextMenu(this.#state, input));
  }

  /** Dispatches a button click (component_type 2). */
  button(input: ButtonInput): Promise<DispatchedInteraction> {
    return this.#dispatchInteraction(() => buildButton(this.#state, input));
  }

  /** Dispatches a string select's choice on a message (component_type 3, with its values). */
  select(input: StringSelectInput): Promise<DispatchedInteraction> {
    return this.#dispatchInteraction(() => buildStringSelect(this.#state, input));
  }

  /** Dispatches a modal submit with text input values. */
  modalSubmit(input: ModalSubmitInput): Promise<DispatchedInteraction> {
    return this.#dispatchInteraction(() => buildModalSubmit(this.#state, input));
  }

  /**
   * Registers a slash-command interaction as Discord would create it, without sending it to anyone: for tests that
   * drive one part of a bot (its deliverer, its transport) directly against this fake's REST. Its 3 s and 15 min
   * clocks start now.
   */
  createInteraction(input: SlashCommandInput): DispatchedInteraction {
    const { record, payload } = buildSlashCommand(this.#state, input);
    this.#state.interactions.set(record.id, record);
    this.#state.interactionsByToken.set(record.token, record);
    record.createdAt = this.#state.options.now();
    return { id: record.id, token: record.token, payload };
  }

  /** Sends a raw dispatch to every connected session; resolves with the number of sockets written to. */
  dispatch(t: string, d: unknown): Promise<number> {
    return this.gateway.dispatch(t, d);
  }

  /** Drops gateway connections (default code 4000, resumable); `invalidate` forces a fresh IDENTIFY. */
  disconnectGateway(code?: number, invalidate = false): void {
    this.gateway.disconnect(code, invalidate);
  }

  /** Makes the interaction's token invalid now: webhook routes answer 401 Invalid Webhook Token (50027). */
  expireToken(token: string): void {
    this.#interaction(token).tokenExpired = true;
  }

  /** Whether the interaction's token still works for webhook calls (neither past its lifetime nor expired by a test). */
  tokenAlive(token: string): boolean {
    return this.#state.tokenAlive(this.#interaction(token));
  }

  // ── HTTP interactions ─────────────────────────────────────────────────────────────────────────────

  /**
   * From now on interactions are POSTed, signed, to these endpoints in turn (round-robin, as a load balancer would)
   * instead of going over the gateway — after each endpoint passed Discord's check (a bad signature refused with 401,
   * a signed PING answered PONG); throws otherwise, as the developer portal refuses the URL. `[]` goes back to the gateway.
   */
  async useInteractionsEndpoints(urls: readonly string[]): Promise<void> {
    await this.#poster.use(urls);
  }

  /** Every interaction POSTed over HTTP: where to, the answer's status and time, and whether it came too late. */
  get httpDeliveries(): readonly HttpDelivery[] {
    return this.#poster.deliveries;
  }

  /** The signature headers Discord would send with this body (now, or at `timestampSeconds`): for tests of refusals. */
  signInteraction(body: string | Buffer, timestampSeconds = Math.floor(this.#state.options.now() / 1000)): Record<string, string> {
    return this.#signer.headers(body, timestampSeconds);
  }

  // ── Premium apps ──────────────────────────────────────────────────────────────────────────────────

  /** The application's SKUs, as GET /applications/{app}/skus lists them (subscription groups included). */
  get skus(): FakeSku[] {
    return this.#store.listSkus();
  }

  /** The SKU a test configured by name (not a subscription group). */
  sku(name: string): FakeSku {
    const found = this.#store.listSkus().find((s) => s.name === name && s.type !== 6);
    if (!found) throw new Error(`fake Discord: no SKU named ${name}`);
    return found;
  }

  /** A member buys an SKU in Discord's store (a guild subscription for `guildId`): ENTITLEMENT_CREATE. */
  purchase(input: { skuId: string; userId: string; guildId?: string }): FakeEntitlement {
    return this.#store.purchase(input);
  }

  /** A subscription ends (not renewed): ENTITLEMENT_UPDATE with `ends_at`. */
  endSubscription(entitlementId: string): FakeEntitlement {
    return this.#store.endSubscription(entitlementId);
  }

  /** Discord refunds or removes a purchase: ENTITLEMENT_DELETE. */
  refundPurchase(entitlementId: string): FakeEntitlement {
    return this.#store.refund(entitlementId);
  }

  /** Every entitlement, as they stand. */
  entitlements(): FakeEntitlement[] {
    return [...this.#store.entitlements.values()].map((e) => ({ ...e }));
  }

  /** Every consume call that reached an entitlement, in order. */
  get consumeCalls(): ReadonlyArray<{ entitlementId: string; at: number }> {
    return this.#store.consumeCalls;
  }

  get #store(): FakeStore {
    const store = this.#state.store;
    if (!store) throw new Error('fake Discord: the store is not set up');
    return store;
  }

  // ── Inspection ────────────────────────────────────────────────────────────────────────────────────

  /** Accepted callbacks (type + data + files) of an interaction, by interaction id or token. */
  callbacks(interaction: string): RecordedCallback[] {
    return this.#interaction(interaction).callbacks;
  }

  /** The @original response message as it stands after all edits; undefined if none (or deleted). */
  original(token: string): APIMessage | undefined {
    const record = this.#interaction(token);
    return record.originalId ? this.message(record.originalId) : undefined;
  }

  /** Every accepted edit of the @original message, in order. */
  edits(token: string): RecordedEdit[] {
    return this.#interaction(token).edits;
  }

  /** Followup messages as they stand now (the first followup after a defer is the @original itself). */
  followups(token: string): APIMessage[] {
    return this.#interaction(token).followupIds.flatMap((id) => {
      const message = this.message(id);
      return message ? [message] : [];
    });
  }

  /** Messages the bot posted in a channel with its token (POST /channels/:id/messages), oldest first. */
  channelMessages(channelId: string): APIMessage[] {
    return this.#state
      .channelRecords(channelId)
      .filter((m) => m.source === 'bot')
      .map((m) => this.#state.render(m));
  }

  /** Messages the bot sent to a user's DM channel. */
  dmMessages(userId: string): APIMessage[] {
    const channelId = this.#state.dmChannelByUser.get(userId);
    return channelId ? this.channelMessages(channelId) : [];
  }

  /** Commands registered globally (no argument) or for a guild, as GET would return them. */
  registeredCommands(guildId?: string): Array<Record<string, unknown>> {
    const scope = guildId ?? 'global';
    return (this.#state.commands.get(scope) ?? []).map((c) => ({ id: c.id, ...c.data }));
  }

  /** REST requests matching method and path (string: exact; RegExp: test). */
  requestsTo(method: string, path: string | RegExp): RecordedRequest[] {
    return this.requests.filter(
      (r) =>
        r.kind === 'rest' &&
        (method === '*' || r.method === method.toUpperCase()) &&
        (typeof path === 'string' ? r.path === path : path.test(r.path)),
    );
  }

  /**
   * Polls `predicate` every 20 ms until it returns something other than undefined/false/null (a throw counts
   * as "not yet", so `expect` works inside). Rejects after `timeoutMs` with the last error and recent requests.
   */
  async waitFor<T>(
    predicate: () => T | undefined | false | null,
    timeoutMs = 10_000,
    description = 'condition',
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    for (;;) {
      try {
        const value = predicate();
        if (value !== undefined && value !== false && value !== null) return value;
      } catch (error) {
        lastError = error;
      }
      if (Date.now() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const recent = this.requests
      .slice(-12)
      .map((r) => `  ${r.method} ${r.path} → ${r.status || 'pending'}`)
      .join('\n');
    const cause = lastError instanceof Error ? `\nlast error: ${lastError.message}` : '';
    throw new Error(
      `fake Discord: timed out after ${timeoutMs} ms waiting for ${description}${cause}\n` +
        `recent requests:\n${recent || '  (none)'}`,
    );
  }

  /**
   * Calls `listener` after every answered HTTP request (REST or CDN); returns the function that unsubscribes.
   * Tools that mirror the fake's messages (the playground) redraw on it instead of polling.
   */
  onChange(listener: () => void): () => void {
    this.#changeListeners.add(listener);
    return () => this.#changeListeners.delete(listener);
  }

  #notifyChange(): void {
    for (const listener of this.#changeListeners) listener();
  }

  // ── Faults ────────────────────────────────────────────────────────────────────────────────────────

  /**
   * Scripts responses for matching requests, consumed in order before normal handling (the request has no
   * effect). 429s get Retry-After / X-RateLimit-* headers from `body.retry_after` unless given. A response
   * `{ drop: true }` destroys the socket instead; `delayMs` holds any response back; `{ pass: true, delayMs, until }`
   * handles the request normally after the delay and once `until` settles (a slow upload the bot may die during).
   */
  fault(match: FaultMatch, ...responses: FaultResponse[]): void {
    this.#state.faults.push({ match, responses });
  }

  /** Forgets scripted faults not consumed yet. */
  clearFaults(): void {
    this.#state.faults.length = 0;
  }

  /** Faults not consumed yet (a test that scripted a fault usually expects this to reach 0). */
  get pendingFaults(): number {
    return this.#state.faults.reduce((sum, f) => sum + f.responses.length, 0);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing.abort();
    await this.gateway.close();
    await this.#poster.close();
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  // ── Internals ─────────────────────────────────────────────────────────────────────────────────────

  async #untilSettledOrClosed(until: Promise<unknown>): Promise<void> {
    const closing = this.#closing.signal;
    await Promise.race([until.catch(() => undefined), new Promise((resolve) => closing.addEventListener('abort', resolve, { once: true }))]);
  }

  #interaction(idOrToken: string): InteractionRecord {
    const record = this.#state.interactions.get(idOrToken) ?? this.#state.interactionsByToken.get(idOrToken);
    if (!record) throw new Error(`fake Discord: no interaction with id or token ${idOrToken.slice(0, 24)}…`);
    return record;
  }

  async #dispatchInteraction(build: () => BuiltInteraction): Promise<DispatchedInteraction> {
    if (this.#poster.endpoints.length > 0) return this.#postInteraction(build);
    await this.gateway.waitForSession(this.#sessionWaitMs);
    const { record, payload, newChannels } = build();
    for (const channelId of newChannels) {
      const channel = this.#state.channels.get(channelId);
      if (channel) await this.gateway.dispatch('CHANNEL_CREATE', this.#state.renderChannel(channel));
    }
    this.#state.interactions.set(record.id, record);
    this.#state.interactionsByToken.set(record.token, record);
    // The 3 s clock starts when Discord sends the interaction.
    record.createdAt = this.#state.options.now();
    await this.gateway.dispatch('INTERACTION_CREATE', payload);
    return { id: record.id, token: record.token, payload };
  }

  /**
   * An interaction POSTed to the next endpoint; its answer is taken as the interaction's callback (checked like one
   * sent to the callback route). Webhook calls of the interaction that arrive before the answer is taken wait for it.
   */
  #postInteraction(build: () => BuiltInteraction): DispatchedInteraction {
    const { record, payload } = build();
    this.#state.interactions.set(record.id, record);
    this.#state.interactionsByToken.set(record.token, record);
    record.createdAt = this.#state.options.now();
    const applied = this.#poster.deliver(record.id, payload).then((answer) => {
      const delivery = this.#poster.deliveries.findLast((d) => d.interactionId === record.id);
      if (!answer || !delivery) return;
      const path = `/interactions/${record.id}/${record.token}/callback`;
      const response = this.#rest.handle({ method: 'POST', path, query: new URLSearchParams(), authorization: undefined, json: answer.json, files: answer.files });
      delivery.callback = { status: response.status, body: response.body };
    });
    const pending = applied.finally(() => {
      this.#httpPending.delete(record.token);
      this.#notifyChange();
    });
    this.#httpPending.set(record.token, pending);
    return { id: record.id, token: record.token, payload };
  }

  #readyData(): Record<string, unknown> {
    return {
      v: 10,
      user: this.botUser,
      user_settings: {},
      private_channels: [],
      guilds: this.#state.botGuilds().map((g) => ({ id: g.id, unavailable: true })),
      application: { id: this.applicationId, flags: 0 },
      presences: [],
      relationships: [],
      guild_join_requests: [],
      geo_ordered_rtc_regions: ['fake'],
      session_type: 'normal',
      auth: {},
      _trace: ['["fake-gateway",{}]'],
    };
  }

  #guildCreates(): Array<Record<string, unknown>> {
    const s = this.#state;
    return s.botGuilds().map((guild) => {
      const channels = guild.channelIds.flatMap((id) => {
        const channel = s.channels.get(id);
        return channel ? [s.renderChannel(channel)] : [];
      });
      const bot = s.memberOf(guild.id, this.botUser.id);
      const members = bot ? [buildMember(this.botUser, bot.roles, bot.joinedAt)] : [];
      return buildGuildCreate(guild, channels, members);
    });
  }

  async #onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', this.cdnOrigin);
    const isRest = url.pathname.startsWith('/api/v10/');
    const isCdn = url.pathname.startsWith('/attachments/') || url.pathname.startsWith('/external/');
    const path = decodePath(isRest ? url.pathname.slice('/api/v10'.length) : url.pathname);

    const recorded: RecordedRequest = {
      kind: isRest ? 'rest' : isCdn ? 'cdn' : 'other',
      method,
      path,
      query: Object.fromEntries(url.searchParams),
      headers: flattenHeaders(req.headers),
      files: [],
      at: Date.now(),
      status: 0,
    };
    this.requests.push(recorded);

    let parseError: RestResponse | undefined;
    if (isRest) {
      try {
        const parsed = await parseBody(req.headers['content-type'], raw);
        if (parsed.json !== undefined) recorded.json = parsed.json;
        recorded.files = parsed.files;
      } catch (error) {
        if (!(error instanceof BodyParseError)) throw error;
        parseError = errors.invalidJson();
      }
    }

    // A webhook call of an interaction whose POST's answer is on its way: Discord has the answer first.
    if (path.startsWith('/webhooks/')) await this.#httpPending.get(path.split('/')[3] ?? '');

    const fault = this.#state.takeFault(method, path);
    if (fault && 'pass' in fault) {
      // A slow route: hold the request, then handle it as usual whether or not its sender is still there.
      recorded.fault = true;
      if (fault.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
      if (fault.until) await this.#untilSettledOrClosed(fault.until);
      if (this.#closed) return;
    } else if (fault) {
      recorded.fault = true;
      if (fault.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
      if ('drop' in fault) {
        recorded.status = -1;
        res.socket?.destroy();
        return;
      }
      const response = faultResponse(fault, method, path);
      recorded.status = response.status;
      writeJson(res, response);
      return;
    }

    if (isCdn) {
      const served = this.#state.cdn.serve(method, url.pathname, url.searchParams);
      if (served) {
        recorded.status = served.status;
        res.writeHead(served.status, served.headers);
        res.end(method === 'HEAD' ? undefined : served.body);
        return;
      }
    }
    if (!isRest) {
      recorded.status = 404;
      writeJson(res, errors.notFound());
      return;
    }
    const response = parseError ?? this.#rest.handle({
      method,
      path,
      query: url.searchParams,
      authorization: req.headers.authorization,
      json: recorded.json,
      files: recorded.files,
    });
    recorded.status = response.status;
    writeJson(res, { ...response, headers: { ...rateLimitHeaders(method, path), ...response.headers } });
  }
}

/**
 * Starts the fake on 127.0.0.1 with an OS-assigned port. Its accept queue is as long as the kernel allows
 * (Node's default is 511): Discord's edge does not drop connections, and a burst of new ones arriving while this
 * single-threaded fake is busy would otherwise be dropped and retried by the client's TCP a second later.
 */
export async function startFakeDiscord(options: FakeDiscordOptions = {}): Promise<FakeDiscord> {
  const server = createServer({ keepAliveTimeout: 5_000 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return new FakeDiscord(server, options);
}

function decodePath(path: string): string {
  if (!path.includes('%')) return path;
  return path
    .split('/')
    .map((segment) => {
      try {
        return decodeURIComponent(segment);
      } catch {
        return segment;
      }
    })
    .join('/');
}

function flattenHeaders(headers: IncomingMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined) out[key] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/**
 * A request's body, read from its events: an async iterator over the request (streams' `for await`) cost this
 * single-threaded fake ~15 µs more per request, which in a burst of callbacks adds up on its one core.
 */
function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

/** Bucket ids by route template: a hash per request is needless work for the fake in a burst. */
const buckets = new Map<string, string>();

/** The route's bucket as Discord would name it: ids and tokens replaced by placeholders. */
function bucketOf(method: string, path: string): string {
  const template = `${method} ${path
    .replace(/^\/webhooks\/(\d+)\/[^/]+/, '/webhooks/$1/:token')
    .replace(/^\/interactions\/\d+\/[^/]+/, '/interactions/:id/:token')
    .replace(/\d{15,21}/g, ':id')}`;
  let bucket = buckets.get(template);
  if (bucket === undefined) {
    bucket = shortHash(template);
    // Templates are few (one per route; webhooks' per application): the bound only keeps a long-lived fake in check.
    if (buckets.size >= 10_000) buckets.clear();
    buckets.set(template, bucket);
  }
  return bucket;
}

/** A roomy bucket on every response: discord.js tracks it but never has to wait. */
function rateLimitHeaders(method: string, path: string): Record<string, string> {
  return {
    'x-ratelimit-limit': '50',
    'x-ratelimit-remaining': '49',
    'x-ratelimit-reset': ((Date.now() + 10) / 1000).toFixed(3),
    'x-ratelimit-reset-after': '0.010',
    'x-ratelimit-bucket': bucketOf(method, path),
  };
}

function faultResponse(
  fault: Extract<FaultResponse, { status: number }>,
  method: string,
  path: string,
): RestResponse {
  const body = fault.body ?? defaultFaultBody(fault.status);
  if (fault.status !== 429) {
    return { status: fault.status, body, headers: { ...rateLimitHeaders(method, path), ...fault.headers } };
  }
  const info = (typeof body === 'object' && body !== null ? body : {}) as { retry_after?: unknown; global?: unknown };
  const retryAfter = typeof info.retry_after === 'number' ? info.retry_after : 1;
  const global = info.global === true;
  // Real Discord rounds the Retry-After header up to whole seconds; the fake keeps the fraction so tests stay fast.
  const headers: Record<string, string> = {
    'retry-after': String(retryAfter),
    'x-ratelimit-scope': global ? 'global' : 'user',
  };
  if (global) headers['x-ratelimit-global'] = 'true';
  else {
    Object.assign(headers, {
      'x-ratelimit-limit': '5',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': ((Date.now() + retryAfter * 1000) / 1000).toFixed(3),
      'x-ratelimit-reset-after': retryAfter.toFixed(3),
      'x-ratelimit-bucket': bucketOf(method, path),
    });
  }
  return { status: 429, body, headers: { ...headers, ...fault.headers } };
}

function defaultFaultBody(status: number): unknown {
  switch (status) {
    case 429:
      return { message: 'You are being rate limited.', retry_after: 0.2, global: false };
    case 413:
      return { message: 'Request entity too large', code: 40005 };
    default:
      return { message: `${status}: ${STATUS_CODES[status] ?? 'Error'}`, code: 0 };
  }
}

function writeJson(res: ServerResponse, response: RestResponse): void {
  const headers: Record<string, string> = { ...response.headers };
  if (response.body === undefined) {
    res.writeHead(response.status, headers);
    res.end();
    return;
  }
  const payload = Buffer.from(JSON.stringify(response.body));
  headers['content-type'] = 'application/json';
  headers['content-length'] = String(payload.length);
  res.writeHead(response.status, headers);
  res.end(payload);
}
