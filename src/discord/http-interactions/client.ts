// discord.js's Client without a gateway connection (INTERACTIONS=http). Interactions are built from the POSTed
// payload by discord.js's own InteractionCreate action — the code its gateway handler runs for INTERACTION_CREATE —
// and emitted as `interactionCreate`, so the router, the commands and their replies are the gateway's, unchanged.
// What READY would have told the client (its user, its application) is read once over REST instead.
import { ChannelType, ClientApplication, ClientUser, Routes, type APIApplication, type APIChannel, type APIUser, type Channel, type Client } from 'discord.js';
import type { RawInteraction } from './endpoint.js';

/** The part of discord.js's Client this module reaches beyond its typings: the gateway's actions. */
interface ClientInternals {
  actions: { InteractionCreate: { handle(data: unknown): void } };
}

/** Channels kept for interactions' `channel` (discord.js reads it from its cache); the oldest go first. */
const MAX_CHANNELS = 10_000;

/** Sets the token and reads the bot's user and application (what the gateway's READY carries); throws what REST throws. */
export async function connectWithoutGateway(client: Client, token: string): Promise<void> {
  client.token = token;
  client.rest.setToken(token);
  const [user, application] = await Promise.all([client.rest.get(Routes.user('@me')) as Promise<APIUser>, client.rest.get(Routes.currentApplication()) as Promise<APIApplication>]);
  // The constructors are private in the typings: READY's handler calls them the same way.
  const build = <T>(Type: unknown, data: unknown): T => new (Type as new (c: Client, d: unknown) => T)(client, data);
  client.user = build<ClientUser>(ClientUser, user);
  client.users.cache.set(user.id, client.user);
  client.application = build<ClientApplication>(ClientApplication, application);
}

/**
 * Builds the interaction from its payload and emits it, as the gateway's INTERACTION_CREATE would. A guild channel is
 * kept in the cache first (over the gateway, GUILD_CREATE put it there), so `interaction.channel` says what it is.
 */
export async function emitInteraction(client: Client, interaction: RawInteraction): Promise<void> {
  const channel = interaction.channel as (APIChannel & { guild_id?: string; parent_id?: string | null }) | undefined;
  const guildId = typeof interaction.guild_id === 'string' ? interaction.guild_id : undefined;
  if (channel && typeof channel.id === 'string' && guildId !== undefined) {
    keepChannel(client, { ...channel, guild_id: guildId });
    // A thread's age restriction is its parent's, which the payload does not carry: read once, then kept.
    if (THREADS.has(channel.type) && channel.parent_id && !client.channels.cache.has(channel.parent_id)) await readParent(client, channel.parent_id, guildId);
  }
  (client as unknown as ClientInternals).actions.InteractionCreate.handle(interaction);
}

const THREADS = new Set<number>([ChannelType.AnnouncementThread, ChannelType.PublicThread, ChannelType.PrivateThread]);

async function readParent(client: Client, id: string, guildId: string): Promise<void> {
  try {
    const data = (await client.rest.get(Routes.channel(id), { signal: AbortSignal.timeout(1000) })) as APIChannel;
    keepChannel(client, { ...data, guild_id: guildId });
  } catch {
    // Not readable with the bot's token (a user-installed app's server): the thread counts as not age-restricted.
  }
}

function keepChannel(client: Client, data: APIChannel & { guild_id: string }): void {
  const cache = client.channels.cache;
  const known = cache.get(data.id) as (Channel & { _patch?(d: unknown): void }) | undefined;
  if (known?._patch) {
    known._patch(data);
    // Most recently used last.
    cache.delete(data.id);
    cache.set(data.id, known);
    return;
  }
  // The server itself is not known (no GUILD_CREATE): the channel stands on its own.
  const manager = client.channels as unknown as { _add(d: unknown, g: null, o: { allowUnknownGuild: boolean }): Channel | null };
  const made = manager._add(data, null, { allowUnknownGuild: true });
  if (!made) return;
  cache.set(data.id, made);
  if (cache.size > MAX_CHANNELS) {
    const oldest = cache.firstKey();
    if (oldest !== undefined) cache.delete(oldest);
  }
}
