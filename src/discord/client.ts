// The gateway client: discord.js's Client as the bot uses it (caches, intents, its REST on the transport), and what
// the bot listens to on it.
import { Client, Events, GatewayIntentBits, Options, Status, type Interaction } from 'discord.js';
import type { Config } from '../config.js';
import { newReference } from '../errors.js';
import type { Logger } from '../logger.js';
import type { GatewayState } from '../ops/health.js';
import type { DiscordHttp } from './transport/http.js';
import { REST_SWEEPS, UNLIMITED } from './transport/responder.js';

/**
 * discord.js caches every user, member and message an interaction mentions, for as long as the process lives. The
 * bot reads none of them (it answers from the interaction's own payload and through REST), so those caches hold
 * only the bot's own entries; guilds, channels and roles stay cached (roles decide quotas).
 */
const CACHE_LIMITS = Options.cacheWithLimits({
  ...Options.DefaultMakeCacheSettings,
  MessageManager: 0,
  UserManager: { maxSize: 0, keepOverLimit: (user) => user.id === user.client.user.id },
  GuildMemberManager: { maxSize: 0, keepOverLimit: (member) => member.id === member.client.user.id },
  PresenceManager: 0,
  ReactionManager: 0,
  ReactionUserManager: 0,
  ThreadMemberManager: 0,
  VoiceStateManager: 0,
  GuildMessageManager: 0,
  DMMessageManager: 0,
});

/**
 * The gateway client. discord.js's own REST carries the interaction replies commands make through discord.js
 * (deferrals go through Acknowledgements) and the interaction webhook, which Discord exempts from its global limit,
 * plus a few start-up calls: its client-side global limiter would only make a burst of commands miss the 3 s
 * deadline. Our bot-token traffic goes through the responder's limited client. Under start:shards the manager
 * names the shard; a process started on its own may be given some (SHARDS, with SHARD_COUNT).
 */
export function discordClient(config: Config, discordHttp: DiscordHttp): { client: Client; shardKey: string } {
  const client = new Client({
    intents: [GatewayIntentBits.Guilds],
    makeCache: CACHE_LIMITS,
    rest: { api: config.discordApiUrl, ...discordHttp.rest('interactions'), globalRequestsPerSecond: UNLIMITED, ...REST_SWEEPS },
    // SHARDS=0-3 with SHARD_COUNT=16: this process runs those shards of the bot's 16 (start:shards names one each).
    ...(config.shards && typeof config.shardCount === 'number' ? { shards: [...config.shards], shardCount: config.shardCount } : {}),
  });
  const shardKey = String(client.shard?.ids[0] ?? (Array.isArray(client.options.shards) ? client.options.shards[0] : 0) ?? 0);
  return { client, shardKey };
}

/** Interactions go to `handle` while `accepting` (shutting down: Discord shows "did not respond" rather than a half-started job). */
export function listen(client: Client, handle: (interaction: Interaction) => Promise<void>, logger: Logger, accepting: () => boolean): void {
  client.on(Events.InteractionCreate, (interaction: Interaction) => {
    if (!accepting()) return;
    handle(interaction).catch((err: unknown) => logger.error({ err, ref: newReference(), interactionId: interaction.id }, 'interaction handler failed'));
  });
  client.on(Events.Error, (err) => logger.error({ err }, 'discord client error'));
  client.on(Events.ShardDisconnect, (ev, id) => logger.warn({ code: ev.code, shard: id }, 'gateway disconnected'));
}

export function logReady(client: Client, config: Config, logger: Logger, where: { storage: string; shard: string }): void {
  const applicationId = client.application?.id;
  if (config.discordApplicationId && applicationId && config.discordApplicationId !== applicationId) {
    logger.warn({ configured: config.discordApplicationId, actual: applicationId }, 'DISCORD_APPLICATION_ID does not match the token’s application; using the token’s');
  }
  logger.info({ user: client.user?.tag, applicationId, guilds: client.guilds.cache.size, ...where }, 'bot ready');
}

/** Connected when every shard of this process has a live, identified gateway session. */
export function gatewayState(client: Client): GatewayState {
  if (!client.isReady()) return { connected: false, reason: 'not logged in yet, or logged out' };
  if (client.ws.shards.size === 0) return { connected: false, reason: 'no gateway shard' };
  const down = client.ws.shards.filter((shard) => shard.status !== Status.Ready);
  if (down.size > 0) return { connected: false, reason: down.map((shard) => `shard ${shard.id} is ${Status[shard.status]?.toLowerCase() ?? shard.status}`).join(', ') };
  return { connected: true };
}



