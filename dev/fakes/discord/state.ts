// Everything the fake Discord remembers: guilds, channels, users, messages, interactions, commands, and the
// scripted faults and recorded requests tests inspect.
import { ChannelType, InteractionType, type APIMessage, type APIUser } from 'discord-api-types/v10';
import { FakeCdn } from './cdn.js';
import { SnowflakeGenerator } from './ids.js';
import { renderMessage, type MessageAttachment, type MessageRecord } from './messages.js';
import type { FakeStore } from './monetization.js';
import type { UploadedFile } from './multipart.js';
import {
  DEFAULT_APP_PERMISSIONS,
  DEFAULT_EVERYONE_PERMISSIONS,
  buildBotUser,
  buildChannel,
  buildMember,
  buildRole,
  buildUser,
  type ChannelState,
  type FakeGuildInput,
  type FakeUserInput,
  type GuildState,
} from './payloads.js';

export interface ResolvedOptions {
  token: string;
  applicationId: string;
  applicationName: string;
  botUser: APIUser;
  uploadLimitBytes: number;
  tokenTtlMs: number;
  ackDeadlineMs: number;
  appPermissions: string;
  defaultUser: APIUser;
  /** The interactions' clock (their 3 s to acknowledge, their token's life), ms. */
  now: () => number;
}

export interface RecordedRequest {
  /** 'rest' for /api/v10/..., 'cdn' for attachment and media downloads, 'other' for anything else. */
  kind: 'rest' | 'cdn' | 'other';
  method: string;
  /** Decoded path; for REST without the `/api/v10` prefix, e.g. `/webhooks/1/tok/messages/@original`. */
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  json?: unknown;
  files: UploadedFile[];
  at: number;
  /** Filled in when the response is sent (0 until then, -1 when a fault dropped the socket). */
  status: number;
  /** Set when the response came from a scripted fault. */
  fault?: boolean;
}

/**
 * A scripted response; `delayMs` holds it back, `{ drop: true }` destroys the socket instead of answering, and
 * `{ pass: true, delayMs }` is a slow route: the request is handled normally after the delay, even when the client
 * has gone away meanwhile (as Discord finishes a request whose sender died).
 */
export type FaultResponse =
  | { status: number; body?: unknown; headers?: Record<string, string>; delayMs?: number }
  | { drop: true; delayMs?: number }
  | { pass: true; delayMs?: number; until?: Promise<unknown> };

export interface FaultMatch {
  /** HTTP method, case-insensitive; '*' matches any. */
  method: string;
  /** Exact decoded path (REST paths without `/api/v10`), or a RegExp tested against it. */
  path: RegExp | string;
}

export interface Fault {
  match: FaultMatch;
  responses: FaultResponse[];
}

export interface RecordedCallback {
  type: number;
  data: unknown;
  files: UploadedFile[];
  at: number;
}

export interface RecordedEdit {
  json: unknown;
  files: UploadedFile[];
  at: number;
  /** The message id the edit targeted (the @original's id). */
  messageId: string;
}

export type InteractionKind = 'command' | 'component' | 'modal' | 'autocomplete';

export interface InteractionRecord {
  id: string;
  token: string;
  type: InteractionType;
  kind: InteractionKind;
  createdAt: number;
  guildId: string | null;
  channelId: string;
  user: APIUser;
  /** The message a component (or a modal opened from one) sits on. */
  sourceMessageId: string | undefined;
  callbacks: RecordedCallback[];
  /** Callback type of the successful acknowledgement. */
  ackType: number | undefined;
  /** Id of the @original message, once there is one. */
  originalId: string | undefined;
  edits: RecordedEdit[];
  followupIds: string[];
  tokenExpired: boolean;
  payload: Record<string, unknown>;
}

export interface StoredCommand {
  id: string;
  data: Record<string, unknown>;
}

export class DiscordState {
  readonly ids = new SnowflakeGenerator();
  readonly cdn: FakeCdn;
  readonly users = new Map<string, APIUser>();
  readonly guilds = new Map<string, GuildState>();
  readonly channels = new Map<string, ChannelState>();
  readonly dmChannelByUser = new Map<string, string>();
  readonly members = new Map<string, { roles: string[]; joinedAt: string }>();
  readonly messages = new Map<string, MessageRecord>();
  readonly interactions = new Map<string, InteractionRecord>();
  readonly interactionsByToken = new Map<string, InteractionRecord>();
  /** Registered commands per scope: 'global' or a guild id. */
  readonly commands = new Map<string, StoredCommand[]>();
  /** Stable ids for commands dispatched without being registered first. */
  readonly adHocCommandIds = new Map<string, string>();
  readonly unreadableChannels = new Set<string>();
  readonly noSendChannels = new Set<string>();
  readonly cannotDmUsers = new Set<string>();
  /**
   * Servers the bot is not in, where members use their own (user-installed) copy of the app: interactions come from
   * them, but the bot's token reaches none of their channels (403 Missing Access) and the gateway never lists them.
   */
  readonly foreignGuildIds = new Set<string>();
  /** Message nonces sent with `enforce_nonce`, by channel, author and nonce: the message they created, and when. */
  readonly nonces = new Map<string, { messageId: string; at: number }>();
  readonly faults: Fault[] = [];
  readonly requests: RecordedRequest[] = [];
  /** The application's SKUs and entitlements (monetization.ts); set by the server once its gateway can send events. */
  store: FakeStore | undefined;
  readonly defaultGuildId: string | null;

  constructor(
    readonly options: ResolvedOptions,
    guilds: FakeGuildInput[],
    origins: { cdn: string; media: string },
    foreignGuilds: FakeGuildInput[] = [],
  ) {
    this.cdn = new FakeCdn(origins.cdn, origins.media);
    this.users.set(options.botUser.id, options.botUser);
    this.users.set(options.defaultUser.id, options.defaultUser);
    for (const input of guilds) this.addGuild(input);
    for (const input of foreignGuilds) this.addGuild(input, { foreign: true });
    this.defaultGuildId = guilds[0]?.id ?? null;
  }

  /** The servers the bot is a member of (READY, GUILD_CREATE, its REST reach). */
  botGuilds(): GuildState[] {
    return [...this.guilds.values()].filter((g) => !this.foreignGuildIds.has(g.id));
  }

  /** Whether the bot's token can reach the channel's server (every DM counts as reachable). */
  botReaches(channelId: string): boolean {
    const guildId = this.channels.get(channelId)?.guildId;
    return guildId === null || guildId === undefined || !this.foreignGuildIds.has(guildId);
  }

  static resolveOptions(input: {
    token?: string;
    applicationId?: string;
    applicationName?: string;
    botUserId?: string;
    uploadLimitBytes?: number;
    tokenTtlMs?: number;
    ackDeadlineMs?: number;
    appPermissions?: string;
    defaultUser?: FakeUserInput;
    now?: () => number;
  }): ResolvedOptions {
    const applicationId = input.applicationId ?? '1100000000000000001';
    const applicationName = input.applicationName ?? 'Fake Luma Bot';
    return {
      token: input.token ?? 'fake-bot-token',
      applicationId,
      applicationName,
      botUser: buildBotUser(input.botUserId ?? applicationId, applicationName.replace(/\s+/g, '')),
      uploadLimitBytes: input.uploadLimitBytes ?? 10 * 1024 * 1024,
      tokenTtlMs: input.tokenTtlMs ?? 15 * 60 * 1000,
      ackDeadlineMs: input.ackDeadlineMs ?? 3000,
      appPermissions: input.appPermissions ?? DEFAULT_APP_PERMISSIONS,
      defaultUser: buildUser(input.defaultUser ?? { id: '400000000000000001', username: 'tester' }),
      now: input.now ?? Date.now,
    };
  }

  addGuild(input: FakeGuildInput, opts: { foreign?: boolean } = {}): GuildState {
    const roles = [
      buildRole({ id: input.id, name: '@everyone', permissions: DEFAULT_EVERYONE_PERMISSIONS, position: 0 }),
      ...(input.roles ?? []).map((role, index) => buildRole({ ...role, position: index + 1 })),
      buildRole({
        id: this.ids.next(),
        name: this.options.applicationName,
        permissions: this.options.appPermissions,
        position: (input.roles?.length ?? 0) + 1,
        managed: true,
        botId: this.options.botUser.id,
      }),
    ];
    const channels = input.channels?.length ? input.channels : [{ id: this.ids.next(), name: 'general' }];
    const guild: GuildState = {
      id: input.id,
      name: input.name ?? 'Fake Guild',
      ownerId: input.ownerId ?? '100000000000000001',
      locale: input.locale ?? 'en-US',
      roles,
      channelIds: [],
      joinedAt: new Date().toISOString(),
    };
    this.guilds.set(guild.id, guild);
    for (const channel of channels) this.addTextChannel(channel.id, guild.id, channel.name);
    if (opts.foreign) {
      this.foreignGuildIds.add(guild.id);
      return guild;
    }
    // The bot is a member holding its managed role, so guild.members.me resolves after GUILD_CREATE.
    const botRole = roles[roles.length - 1];
    this.members.set(`${guild.id}:${this.options.botUser.id}`, {
      roles: botRole ? [botRole.id] : [],
      joinedAt: guild.joinedAt,
    });
    return guild;
  }

  addTextChannel(id: string, guildId: string | null, name?: string): ChannelState {
    const existing = this.channels.get(id);
    if (existing) return existing;
    const guild = guildId ? this.guilds.get(guildId) : undefined;
    const channel: ChannelState = {
      id,
      type: ChannelType.GuildText,
      name: name ?? `channel-${id.slice(-4)}`,
      guildId: guild?.id ?? null,
      recipientId: null,
      position: guild?.channelIds.length ?? 0,
    };
    this.channels.set(id, channel);
    guild?.channelIds.push(id);
    return channel;
  }

  dmChannelFor(userId: string): ChannelState {
    const existingId = this.dmChannelByUser.get(userId);
    const existing = existingId ? this.channels.get(existingId) : undefined;
    if (existing) return existing;
    if (!this.users.has(userId)) this.users.set(userId, buildUser({ id: userId }));
    const channel: ChannelState = {
      id: this.ids.next(),
      type: ChannelType.DM,
      name: '',
      guildId: null,
      recipientId: userId,
      position: 0,
    };
    this.channels.set(channel.id, channel);
    this.dmChannelByUser.set(userId, channel.id);
    return channel;
  }

  renderChannel(channel: ChannelState): Record<string, unknown> {
    return buildChannel(channel, this.users);
  }

  rememberUser(input: FakeUserInput | undefined): APIUser {
    if (!input) return this.options.defaultUser;
    const known = this.users.get(input.id);
    if (known && input.username === undefined && input.globalName === undefined) return known;
    const user = buildUser({ ...input, username: input.username ?? known?.username ?? `user${input.id.slice(-4)}` });
    this.users.set(user.id, user);
    return user;
  }

  memberOf(guildId: string, userId: string): { roles: string[]; joinedAt: string } | undefined {
    return this.members.get(`${guildId}:${userId}`);
  }

  renderMember(guildId: string, userId: string): Record<string, unknown> | undefined {
    const member = this.memberOf(guildId, userId);
    const user = this.users.get(userId);
    if (!member || !user) return undefined;
    return { ...buildMember(user, member.roles, member.joinedAt) };
  }

  newMessage(input: {
    channelId: string;
    author: APIUser;
    source: MessageRecord['source'];
    attachments?: MessageAttachment[];
    type?: number;
  }): MessageRecord {
    const record: MessageRecord = {
      id: this.ids.next(),
      channelId: input.channelId,
      author: input.author,
      content: '',
      embeds: [],
      components: [],
      attachments: input.attachments ?? [],
      flags: 0,
      type: input.type ?? 0,
      tts: false,
      timestamp: new Date().toISOString(),
      editedTimestamp: null,
      webhookId: undefined,
      applicationId: undefined,
      interactionMetadata: undefined,
      extra: {},
      source: input.source,
      deleted: false,
    };
    this.messages.set(record.id, record);
    return record;
  }

  render(record: MessageRecord): APIMessage {
    return renderMessage(record, this.cdn);
  }

  /** Messages in a channel in creation order (ids are monotonic). */
  channelRecords(channelId: string): MessageRecord[] {
    return [...this.messages.values()].filter((m) => m.channelId === channelId && !m.deleted);
  }

  /** The command id a dispatched interaction carries: the registered one if there is one. */
  commandId(name: string, type: number, guildId: string | null): string {
    const scopes = guildId ? [guildId, 'global'] : ['global'];
    for (const scope of scopes) {
      const found = this.commands.get(scope)?.find((c) => c.data.name === name && (c.data.type ?? 1) === type);
      if (found) return found.id;
    }
    const key = `${type}:${name}`;
    let id = this.adHocCommandIds.get(key);
    if (!id) {
      id = this.ids.next();
      this.adHocCommandIds.set(key, id);
    }
    return id;
  }

  /** An interaction token stops working 15 minutes (tokenTtlMs) after the interaction was created. */
  tokenAlive(interaction: InteractionRecord, now = this.options.now()): boolean {
    return !interaction.tokenExpired && now - interaction.createdAt < this.options.tokenTtlMs;
  }

  takeFault(method: string, path: string): FaultResponse | undefined {
    for (const [index, fault] of this.faults.entries()) {
      const methodOk = fault.match.method === '*' || fault.match.method.toUpperCase() === method;
      const pattern = fault.match.path;
      if (typeof pattern !== 'string') pattern.lastIndex = 0;
      const pathOk = typeof pattern === 'string' ? pattern === path : pattern.test(path);
      if (!methodOk || !pathOk) continue;
      const response = fault.responses.shift();
      if (fault.responses.length === 0) this.faults.splice(index, 1);
      if (response) return response;
    }
    return undefined;
  }
}
