// Builders for the objects Discord puts on the wire: users, roles, members, guilds, channels, the application.
// Shapes follow discord-api-types/v10 and what Discord actually sends today (including fields discord.js
// reads without guarding, like `entitlements` on interactions).
import {
  ChannelType,
  PermissionFlagsBits,
  type APIGuildMember,
  type APIRole,
  type APIUser,
  type GuildMemberFlags,
  type RoleFlags,
  type UserFlags,
} from 'discord-api-types/v10';

const NO_USER_FLAGS = 0 as UserFlags;

export interface FakeUserInput {
  id: string;
  username?: string;
  globalName?: string | null;
  bot?: boolean;
}

export interface FakeRoleInput {
  id: string;
  name: string;
  /** Permission bitfield as a decimal string. */
  permissions: string;
}

export interface FakeChannelInput {
  id: string;
  name?: string;
}

export interface FakeGuildInput {
  id: string;
  name?: string;
  roles?: FakeRoleInput[];
  /** Text channels; a guild gets one (`general`) when none are given. */
  channels?: FakeChannelInput[];
  ownerId?: string;
  locale?: string;
}

/** A guild as the fake keeps it. */
export interface GuildState {
  id: string;
  name: string;
  ownerId: string;
  locale: string;
  roles: APIRole[];
  channelIds: string[];
  joinedAt: string;
}

/** A channel as the fake keeps it. */
export interface ChannelState {
  id: string;
  type: ChannelType.GuildText | ChannelType.DM;
  name: string;
  guildId: string | null;
  /** For DM channels: the other participant. */
  recipientId: string | null;
  position: number;
}

const bits = (...flags: bigint[]): string => flags.reduce((a, b) => a | b, 0n).toString();

/** What @everyone can do in a freshly created server. */
export const DEFAULT_EVERYONE_PERMISSIONS = bits(
  PermissionFlagsBits.CreateInstantInvite,
  PermissionFlagsBits.AddReactions,
  PermissionFlagsBits.Stream,
  PermissionFlagsBits.ViewChannel,
  PermissionFlagsBits.SendMessages,
  PermissionFlagsBits.EmbedLinks,
  PermissionFlagsBits.AttachFiles,
  PermissionFlagsBits.ReadMessageHistory,
  PermissionFlagsBits.MentionEveryone,
  PermissionFlagsBits.UseExternalEmojis,
  PermissionFlagsBits.Connect,
  PermissionFlagsBits.Speak,
  PermissionFlagsBits.UseVAD,
  PermissionFlagsBits.ChangeNickname,
  PermissionFlagsBits.UseApplicationCommands,
  PermissionFlagsBits.CreatePublicThreads,
  PermissionFlagsBits.CreatePrivateThreads,
  PermissionFlagsBits.SendMessagesInThreads,
  PermissionFlagsBits.UseExternalStickers,
  PermissionFlagsBits.SendVoiceMessages,
  PermissionFlagsBits.SendPolls,
  PermissionFlagsBits.UseExternalApps,
);

/** What the bot's managed role grants: enough to post results with files and embeds. */
export const DEFAULT_APP_PERMISSIONS = bits(
  PermissionFlagsBits.ViewChannel,
  PermissionFlagsBits.SendMessages,
  PermissionFlagsBits.SendMessagesInThreads,
  PermissionFlagsBits.EmbedLinks,
  PermissionFlagsBits.AttachFiles,
  PermissionFlagsBits.ReadMessageHistory,
  PermissionFlagsBits.UseExternalEmojis,
  PermissionFlagsBits.AddReactions,
  PermissionFlagsBits.UseApplicationCommands,
);

export function orPermissions(values: Iterable<string>): string {
  let acc = 0n;
  for (const value of values) acc |= BigInt(value);
  return acc.toString();
}

export function buildUser(input: FakeUserInput): APIUser {
  const username = input.username ?? `user${input.id.slice(-4)}`;
  const user: APIUser = {
    id: input.id,
    username,
    discriminator: '0',
    global_name: input.globalName === undefined ? username : input.globalName,
    avatar: null,
    public_flags: NO_USER_FLAGS,
    flags: NO_USER_FLAGS,
    banner: null,
    accent_color: null,
    avatar_decoration_data: null,
    collectibles: null,
    primary_guild: null,
  };
  if (input.bot) {
    user.bot = true;
    user.discriminator = '0000';
    user.global_name = null;
  }
  return user;
}

export function buildBotUser(id: string, username: string): APIUser {
  return { ...buildUser({ id, username, bot: true }), verified: true, mfa_enabled: false, flags: NO_USER_FLAGS };
}

export function buildRole(input: {
  id: string;
  name: string;
  permissions: string;
  position: number;
  managed?: boolean;
  botId?: string;
}): APIRole {
  const role: APIRole = {
    id: input.id,
    name: input.name,
    color: 0,
    colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
    hoist: false,
    icon: null,
    unicode_emoji: null,
    position: input.position,
    permissions: input.permissions,
    managed: input.managed ?? false,
    mentionable: false,
    flags: 0 as RoleFlags,
  };
  if (input.botId) role.tags = { bot_id: input.botId };
  return role;
}

export function buildMember(user: APIUser, roles: string[], joinedAt: string): APIGuildMember {
  return {
    user,
    nick: null,
    avatar: null,
    banner: null,
    roles,
    joined_at: joinedAt,
    premium_since: null,
    deaf: false,
    mute: false,
    flags: 0 as GuildMemberFlags,
    pending: false,
    communication_disabled_until: null,
  };
}

export function buildChannel(channel: ChannelState, users: ReadonlyMap<string, APIUser>): Record<string, unknown> {
  if (channel.type === ChannelType.DM) {
    const recipient = channel.recipientId ? users.get(channel.recipientId) : undefined;
    return {
      id: channel.id,
      type: ChannelType.DM,
      last_message_id: null,
      flags: 0,
      recipients: recipient ? [recipient] : [],
    };
  }
  return {
    id: channel.id,
    type: ChannelType.GuildText,
    guild_id: channel.guildId,
    name: channel.name,
    position: channel.position,
    permission_overwrites: [],
    nsfw: false,
    topic: null,
    last_message_id: null,
    rate_limit_per_user: 0,
    parent_id: null,
    flags: 0,
  };
}

/** The full guild object of a GUILD_CREATE dispatch. */
export function buildGuildCreate(
  guild: GuildState,
  channels: Array<Record<string, unknown>>,
  members: APIGuildMember[],
): Record<string, unknown> {
  return {
    ...buildGuild(guild),
    joined_at: guild.joinedAt,
    large: false,
    unavailable: false,
    member_count: members.length + 1,
    voice_states: [],
    members,
    channels: channels.map(({ guild_id: _omit, ...rest }) => rest),
    threads: [],
    presences: [],
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
    lazy: true,
  };
}

export function buildGuild(guild: GuildState): Record<string, unknown> {
  return {
    id: guild.id,
    name: guild.name,
    icon: null,
    icon_hash: null,
    splash: null,
    discovery_splash: null,
    owner_id: guild.ownerId,
    region: 'deprecated',
    afk_channel_id: null,
    afk_timeout: 300,
    widget_enabled: false,
    widget_channel_id: null,
    verification_level: 0,
    default_message_notifications: 0,
    explicit_content_filter: 0,
    roles: guild.roles,
    emojis: [],
    stickers: [],
    features: [],
    mfa_level: 0,
    application_id: null,
    system_channel_id: guild.channelIds[0] ?? null,
    system_channel_flags: 0,
    rules_channel_id: null,
    max_presences: null,
    max_members: 500_000,
    vanity_url_code: null,
    description: null,
    banner: null,
    premium_tier: 0,
    premium_subscription_count: 0,
    preferred_locale: guild.locale,
    public_updates_channel_id: null,
    max_video_channel_users: 25,
    max_stage_video_channel_users: 50,
    nsfw_level: 0,
    nsfw: false,
    premium_progress_bar_enabled: false,
    safety_alerts_channel_id: null,
    incidents_data: null,
    hub_type: null,
    latest_onboarding_question_id: null,
    version: 0,
  };
}

export function buildApplication(id: string, name: string, bot: APIUser): Record<string, unknown> {
  return {
    id,
    name,
    icon: null,
    description: '',
    summary: '',
    bot_public: true,
    bot_require_code_grant: false,
    verify_key: 'f'.repeat(64),
    flags: 0,
    team: null,
    bot,
    owner: buildUser({ id: '100000000000000001', username: 'owner' }),
    approximate_guild_count: 1,
    approximate_user_install_count: 0,
    tags: [],
    redirect_uris: [],
    interactions_endpoint_url: null,
    role_connections_verification_url: null,
    event_webhooks_status: 1,
    integration_types_config: { '0': {}, '1': {} },
  };
}
