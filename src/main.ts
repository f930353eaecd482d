import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Client, Events, GatewayIntentBits, Options, type Interaction } from 'discord.js';
import { Agent } from 'undici';
import { commands, components } from '../commands/index.js';
import type { Config } from './config.js';
import type { BotContext } from './context.js';
import { DiscordResponder, REST_SWEEPS, UNLIMITED } from './discord/responder.js';
import { createInteractionHandler } from './discord/router.js';
import { JobEngine } from './jobs/engine.js';
import { JobStore } from './jobs/store.js';
import { createLogger, type Logger } from './logger.js';
import { LumaClient } from './luma/client.js';
import { AuthenticationError, LumaConnectionError, NotFoundError, PermissionDeniedError } from './luma/errors.js';
import { QuotaService } from './quota/service.js';
import { createStorage } from './storage.js';

/** A problem that stops the bot at start, with a message for the operator (no stack trace needed). */
export class StartupError extends Error {
  override name = 'StartupError';
}

export interface RunningBot {
  readonly client: Client;
  readonly ctx: BotContext;
  /** Event-loop delay since start, ms (also logged every minute with the `health` line and at stop). */
  eventLoopDelay(): EventLoopDelay;
  /** Stops taking work, lets running steps finish and be saved, closes connections. */
  stop(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
}

export interface EventLoopDelay {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** How often the `health` line (event-loop delay, jobs, Luma limits held to) is logged. */
const HEALTH_LOG_MS = 60_000;

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

/** The composition root: builds every piece once and wires them together. Tests call this same function. */
export async function startBot(config: Config, opts: StartOptions = {}): Promise<RunningBot> {
  const logger = opts.logger ?? createLogger(config);
  const storage = await createStorage(config.storageUrl, logger);
  // One connection pool for every outgoing HTTP call of ours (Luma API, result and input downloads).
  const http = new Agent({ connections: 64, keepAliveTimeout: 10_000 });
  const luma = new LumaClient({ apiKey: config.lumaApiKey, baseURL: config.lumaBaseUrl, dispatcher: http, logger: logger.child({ component: 'luma' }) });
  try {
    await checkLumaKey(luma, logger);
  } catch (err) {
    await storage.close();
    throw err;
  }

  // discord.js's own REST carries interaction callbacks (the 3-second defer) and the interaction webhook, which
  // Discord exempts from its global limit, plus a few start-up calls: its client-side global limiter would only
  // make a burst of commands miss the 3 s deadline. Our bot-token traffic goes through the responder's limited client.
  const client = new Client({
    intents: [GatewayIntentBits.Guilds],
    makeCache: CACHE_LIMITS,
    rest: { api: config.discordApiUrl, globalRequestsPerSecond: UNLIMITED, ...REST_SWEEPS },
  });
  const shardKey = String(client.shard?.ids[0] ?? 0);
  const jobs = new JobStore(storage, shardKey);
  const discord = new DiscordResponder(config.discordApiUrl, config.discordToken);
  const quota = new QuotaService({ storage, config, logger: logger.child({ component: 'quota' }) });
  const engine = new JobEngine({ config, luma, http, store: jobs, discord, logger, quota });
  const ctx: BotContext = { config, logger, storage, luma, http, engine, jobs, discord, quota };

  const handle = createInteractionHandler(ctx, commands, components);
  let accepting = true;
  client.on(Events.InteractionCreate, (interaction: Interaction) => {
    if (!accepting) return; // shutting down: let Discord show "did not respond" rather than half-start a job
    void handle(interaction);
  });
  client.on(Events.Error, (err) => logger.error({ err }, 'discord client error'));
  client.on(Events.ShardDisconnect, (ev, id) => logger.warn({ code: ev.code, shard: id }, 'gateway disconnected'));

  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  try {
    await client.login(config.discordToken);
  } catch (err) {
    await storage.close();
    await client.destroy();
    const code = (err as { code?: string }).code;
    if (code === 'TokenInvalid' || (err as { status?: number }).status === 401) {
      throw new StartupError('Discord rejected DISCORD_TOKEN. Copy the bot token again from the Discord developer portal (Bot tab → Reset Token) into DISCORD_TOKEN.');
    }
    throw err;
  }
  await ready;
  const applicationId = client.application?.id;
  if (config.discordApplicationId && applicationId && config.discordApplicationId !== applicationId) {
    logger.warn({ configured: config.discordApplicationId, actual: applicationId }, 'DISCORD_APPLICATION_ID does not match the token’s application; using the token’s');
  }
  logger.info({ user: client.user?.tag, applicationId, guilds: client.guilds.cache.size, storage: storage.kind, shard: shardKey }, 'bot ready');
  await engine.start();

  // Measured from inside the bot, where a slow pass of the scheduler or a big synchronous job shows up.
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const window = monitorEventLoopDelay({ resolution: 10 });
  window.enable();
  const eventLoopDelay = (h: ReturnType<typeof monitorEventLoopDelay> = loop): EventLoopDelay => ({
    p50Ms: round(h.percentile(50) / 1e6),
    p99Ms: round(h.percentile(99) / 1e6),
    maxMs: round(h.max / 1e6),
  });
  const health = setInterval(() => {
    logger.info({ eventLoopDelay: eventLoopDelay(window), jobs: engine.size, rssMB: Math.round(process.memoryUsage.rss() / 2 ** 20), lumaLimits: engine.budget.limits(Date.now()) }, 'health');
    window.reset();
  }, HEALTH_LOG_MS);
  health.unref();

  return {
    client,
    ctx,
    eventLoopDelay: () => eventLoopDelay(),
    async stop() {
      accepting = false;
      clearInterval(health);
      loop.disable();
      window.disable();
      logger.info({ eventLoopDelay: eventLoopDelay() }, 'event-loop delay since start');
      await engine.stop();
      await client.destroy();
      await storage.close();
      await http.close();
      logger.info('bot stopped');
    },
  };
}

function round(ms: number): number {
  return Number.isFinite(ms) ? Math.round(ms * 10) / 10 : 0;
}

/**
 * A GET of a generation that cannot exist costs nothing and tells a bad key (401) from a good one (404) at
 * start, instead of at the first member's request.
 */
async function checkLumaKey(luma: LumaClient, logger: Logger): Promise<void> {
  try {
    await luma.getGeneration('gen_startup_check', { maxRetries: 0, timeoutMs: 10_000 });
  } catch (err) {
    if (err instanceof NotFoundError) return;
    if (err instanceof AuthenticationError) {
      throw new StartupError('Luma rejected LUMA_AGENTS_API_KEY (401). Create a key in the Luma dashboard and set LUMA_AGENTS_API_KEY to it.');
    }
    if (err instanceof PermissionDeniedError) {
      throw new StartupError('Luma says the account of LUMA_AGENTS_API_KEY is suspended (403). Contact Luma support.');
    }
    if (err instanceof LumaConnectionError) {
      logger.warn({ err }, 'could not reach Luma at start; jobs will wait for it');
      return;
    }
    logger.warn({ err }, 'unexpected answer from Luma at start');
  }
}
