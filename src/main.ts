import { Client, Events, GatewayIntentBits, Options, Status, type Interaction } from 'discord.js';
import { commands, components } from '../commands/index.js';
import type { Config } from './config.js';
import type { BotContext } from './context.js';
import { DiscordResponder, REST_SWEEPS, UNLIMITED } from './discord/transport/responder.js';
import { Acknowledgements } from './discord/transport/acknowledgements.js';
import { DiscordDeliverer } from './discord/deliverer.js';
import { createInteractionHandler } from './discord/router.js';
import { inputImages } from './discord/input-images.js';
import { messageReader } from './discord/messages.js';
import { StillImageCheck } from './discord/still-images.js';
import { newReference } from './errors.js';
import { DiscordHttp } from './discord/transport/http.js';
import { createEgressAgent } from './http/egress.js';
import { startHealthServer, type HealthServer } from './ops/health-server.js';
import { JobEngine } from './jobs/engine.js';
import { RedisJobLeases, ShardJobLeases, type JobLeases } from './jobs/leases.js';
import { RedisSubmitBudget } from './jobs/shared-budget.js';
import { JobStore } from './jobs/store.js';
import { createLogger, type Logger } from './logger.js';
import { LumaClient } from './luma/client.js';
import { AuthenticationError, LumaConnectionError, NotFoundError, PermissionDeniedError } from './luma/errors.js';
import { checkHealth, type GatewayState } from './ops/health.js';
import { BotMetrics, type OpsSources } from './ops/metrics.js';
import { startHealthLog, startStatusLog, type EventLoopDelay } from './ops/periodic-logs.js';
import { readOperatorStatus } from './ops/status.js';
import { within } from './ops/within.js';
import { QuotaService } from './quota/service.js';
import { createStorage, startSweeper, type Storage, type StorageOptions } from './storage/index.js';

/** A problem that stops the bot at start, with a message for the operator (no stack trace needed). */
export class StartupError extends Error {
  override name = 'StartupError';
}

export interface RunningBot {
  readonly client: Client;
  readonly ctx: BotContext;
  /** The /healthz and /metrics server, when HTTP_PORT is set. */
  readonly healthServer: HealthServer | undefined;
  /** Event-loop delay since start, ms (also logged every minute with the `health` line and at stop). */
  eventLoopDelay(): EventLoopDelay;
  /** Stops taking work, lets running steps finish and be saved, closes connections. */
  stop(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
}

/** How long storage may take to connect at start before the bot gives up with a message (Redis retries forever). */
const STORAGE_CONNECT_TIMEOUT_MS = 15_000;

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
  const storage = await connectStorage(config.storageUrl, logger, { busyTimeoutMs: config.storageBusyTimeoutMs, namespace: config.storageNamespace });
  // One connection pool for every outgoing HTTP call of ours (Luma API, result and input downloads). Beyond the
  // configured origins it connects only over HTTPS to public addresses: Luma's answers name the result URLs.
  const http = createEgressAgent({ trustedOrigins: [config.lumaBaseUrl, ...config.discordCdnOrigins], connections: 64, keepAliveTimeout: 10_000 });
  const metrics = new BotMetrics();
  const luma = new LumaClient({
    apiKey: config.lumaApiKey,
    baseURL: config.lumaBaseUrl,
    dispatcher: http,
    logger: logger.child({ component: 'luma' }),
    onAttemptError: (method, err) => metrics.lumaAttemptFailed(method, err),
  });
  await checkLumaKey(luma, logger).catch(async (err: unknown) => {
    await storage.close();
    throw err;
  });

  // Discord's API over two bounded keep-alive pools (transport/http.ts): acknowledgements never wait behind uploads,
  // and a burst of commands reuses warm connections instead of opening one per call.
  const discordHttp = new DiscordHttp({ apiUrl: config.discordApiUrl, connections: config.discordRestConnections, onResponse: (status, path) => metrics.discordResponse(status, path) });
  const { client, shardKey } = discordClient(config, discordHttp);
  const jobs = new JobStore(storage, shardKey, { logger, keptResultTtlMs: config.keptResultTtlMs, keptResultMaxBytes: config.keptResultMaxBytes });
  const discord = new DiscordResponder(config.discordApiUrl, config.discordToken, discordHttp.rest('messages'));
  const quota = new QuotaService({ storage, config, logger: logger.child({ component: 'quota' }), onRefusal: (code) => metrics.quotaRefused(code) });
  // Redis: one Luma budget and job leases shared by every process on the account. SQLite: this process alone.
  const shared = await sharedJobState(storage, config, logger, { shard: Number(shardKey), count: client.options.shardCount ?? 1 });
  const engine = new JobEngine({ config, luma, http, store: jobs, deliverer: new DiscordDeliverer(discord, logger), logger, quota, events: metrics, ...shared });
  const stillImages = new StillImageCheck({ origins: config.discordCdnOrigins, dispatcher: http });
  const sources: OpsSources = { jobs: engine, spend: quota, gateway: () => gatewayState(client) };
  metrics.observe(sources);
  const ops = { status: () => readOperatorStatus(sources, metrics, { storage: storage.kind, shard: shardKey }) };
  const inputs = inputImages(config.discordCdnOrigins, stillImages);
  const acks = new Acknowledgements(discordHttp.acknowledgements);
  const ctx: BotContext = { config, logger, storage, luma, engine, jobs, discord, quota, inputs, messages: messageReader(discord), ops, acks };

  let accepting = true;
  listen(client, createInteractionHandler(ctx, commands, components), logger, () => accepting);

  // Up before the login, so an orchestrator sees "not logged in yet" (503) rather than a refused connection.
  const healthServer = await serveHealth(config, shardKey, {
    health: () => checkHealth({ gateway: () => gatewayState(client), storage, stopping: () => !accepting }),
    metrics: () => metrics.render(),
    logger,
    closeOnFailure: async () => {
      await storage.close();
      await client.destroy();
    },
  });
  await login(client, config.discordToken, async () => {
    await healthServer?.close();
    await storage.close();
    await client.destroy();
  });
  logReady(client, config, logger, { storage: storage.kind, shard: shardKey });
  await engine.start();
  const sweeper = startSweeper(storage, config.storageSweepIntervalMs, logger);

  const statusLog = startStatusLog(ops, config.statusLogIntervalMs, logger);
  const healthLog = startHealthLog(engine, logger);

  return {
    client,
    ctx,
    healthServer,
    eventLoopDelay: () => healthLog.sinceStart(),
    async stop() {
      accepting = false; // from here /healthz answers 503 "shutting down" until the server closes
      statusLog.stop();
      healthLog.stop();
      logger.info({ eventLoopDelay: healthLog.sinceStart() }, 'event-loop delay since start');
      await sweeper.stop();
      await engine.stop();
      await healthServer?.close();
      await client.destroy();
      await storage.close();
      await Promise.all([http.close(), discordHttp.close()]);
      logger.info('bot stopped');
    },
  };
}

/**
 * The gateway client. discord.js's own REST carries the interaction replies commands make through discord.js
 * (deferrals go through Acknowledgements) and the interaction webhook, which Discord exempts from its global limit,
 * plus a few start-up calls: its client-side global limiter would only make a burst of commands miss the 3 s
 * deadline. Our bot-token traffic goes through the responder's limited client. Under start:shards the manager
 * names the shard; a process started on its own may be given one (SHARDS).
 */
function discordClient(config: Config, discordHttp: DiscordHttp): { client: Client; shardKey: string } {
  const client = new Client({
    intents: [GatewayIntentBits.Guilds],
    makeCache: CACHE_LIMITS,
    rest: { api: config.discordApiUrl, ...discordHttp.rest('interactions'), globalRequestsPerSecond: UNLIMITED, ...REST_SWEEPS },
  });
  const shardKey = String(client.shard?.ids[0] ?? (Array.isArray(client.options.shards) ? client.options.shards[0] : 0) ?? 0);
  return { client, shardKey };
}

/** Interactions go to `handle` while `accepting` (shutting down: Discord shows "did not respond" rather than a half-started job). */
function listen(client: Client, handle: (interaction: Interaction) => Promise<void>, logger: Logger, accepting: () => boolean): void {
  client.on(Events.InteractionCreate, (interaction: Interaction) => {
    if (!accepting()) return;
    handle(interaction).catch((err: unknown) => logger.error({ err, ref: newReference(), interactionId: interaction.id }, 'interaction handler failed'));
  });
  client.on(Events.Error, (err) => logger.error({ err }, 'discord client error'));
  client.on(Events.ShardDisconnect, (ev, id) => logger.warn({ code: ev.code, shard: id }, 'gateway disconnected'));
}

function logReady(client: Client, config: Config, logger: Logger, where: { storage: string; shard: string }): void {
  const applicationId = client.application?.id;
  if (config.discordApplicationId && applicationId && config.discordApplicationId !== applicationId) {
    logger.warn({ configured: config.discordApplicationId, actual: applicationId }, 'DISCORD_APPLICATION_ID does not match the token’s application; using the token’s');
  }
  logger.info({ user: client.user?.tag, applicationId, guilds: client.guilds.cache.size, ...where }, 'bot ready');
}

/**
 * Serves /healthz and /metrics when HTTP_PORT is set; one port per process: under start:shards, shard N listens on
 * HTTP_PORT + N. A port that cannot be served stops the start with a message (after `closeOnFailure`).
 */
async function serveHealth(
  config: Config,
  shardKey: string,
  o: Pick<Parameters<typeof startHealthServer>[0], 'health' | 'metrics' | 'logger'> & { closeOnFailure(): Promise<void> },
): Promise<HealthServer | undefined> {
  if (config.httpPort === undefined) return undefined;
  const port = config.httpPort === 0 ? 0 : config.httpPort + Number(shardKey);
  try {
    return await startHealthServer({ host: config.httpHost, port, health: o.health, metrics: o.metrics, logger: o.logger });
  } catch (err) {
    await o.closeOnFailure();
    const code = (err as { code?: string }).code;
    throw new StartupError(
      code === 'EADDRINUSE'
        ? `HTTP_PORT ${port} on ${config.httpHost} is already in use (another bot process?). Choose another HTTP_PORT, or leave it empty for no /healthz and /metrics.`
        : `Could not serve /healthz and /metrics on ${config.httpHost}:${port} (${code ?? (err instanceof Error ? err.message : String(err))}). Check HTTP_HOST and HTTP_PORT.`,
    );
  }
}

/** Logs in and waits for the gateway to be ready; a refused token stops the start with a message (after `closeOnFailure`). */
async function login(client: Client, token: string, closeOnFailure: () => Promise<void>): Promise<void> {
  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  try {
    await client.login(token);
  } catch (err) {
    await closeOnFailure();
    const code = (err as { code?: string }).code;
    if (code === 'TokenInvalid' || (err as { status?: number }).status === 401) {
      throw new StartupError('Discord rejected DISCORD_TOKEN. Copy the bot token again from the Discord developer portal (Bot tab → Reset Token) into DISCORD_TOKEN.');
    }
    throw err;
  }
  await ready;
}



/**
 * With Redis storage, several processes share the Luma account and the jobs: the budget is taken atomically in
 * Redis, and each job is worked on by the process holding its lease (taken over within about JOB_LEASE_MS when
 * that process dies). With SQLite the engine's defaults: a local budget, every job its own (per shard when several
 * shards share the file).
 */
async function sharedJobState(
  storage: Storage,
  config: Config,
  logger: Logger,
  shard: { shard: number; count: number },
): Promise<{ budget?: RedisSubmitBudget; leases?: JobLeases; takeoverIntervalMs?: number }> {
  // Several shards on one SQLite file keep their own jobs, as before leases; one process owns them all.
  if (!storage.redis) return shard.count > 1 ? { leases: new ShardJobLeases(storage, shard.shard, shard.count) } : {};
  const { client, prefix } = storage.redis;
  const log = logger.child({ component: 'jobs' });
  const leases = await RedisJobLeases.start(client, prefix, config.jobLeaseMs, log);
  const budget = new RedisSubmitBudget({ redis: client, prefix, leaseMs: config.jobLeaseMs, requestsPerMinute: config.lumaMaxRequestsPerMinute, concurrentJobs: config.lumaMaxConcurrentJobs, logger: log });
  log.info({ processId: leases.processId, leaseMs: config.jobLeaseMs }, 'sharing the Luma budget and jobs with the other processes on this Redis');
  return { budget, leases, takeoverIntervalMs: Math.max(100, Math.floor(config.jobLeaseMs / 3)) };
}

/** createStorage, but a Redis that does not answer stops the start with a message instead of a silent wait. */
async function connectStorage(url: string, logger: Logger, opts: StorageOptions): Promise<Storage> {
  const pending = createStorage(url, logger, opts);
  const result = await within(pending, STORAGE_CONNECT_TIMEOUT_MS);
  if (result !== 'timeout') return result;
  void pending.then((late) => late.close()).catch(() => undefined);
  // Host and port only: the URL may carry a password.
  let where = 'the configured server';
  try {
    where = new URL(url).host;
  } catch {
    // keep the generic wording
  }
  throw new StartupError(
    `storage (Redis at ${where}) did not answer within ${STORAGE_CONNECT_TIMEOUT_MS / 1000} s. Check that Redis is running and reachable from here, and STORAGE_URL (host, port, password, rediss:// for TLS).`,
  );
}

/** Connected when every shard of this process has a live, identified gateway session. */
function gatewayState(client: Client): GatewayState {
  if (!client.isReady()) return { connected: false, reason: 'not logged in yet, or logged out' };
  if (client.ws.shards.size === 0) return { connected: false, reason: 'no gateway shard' };
  const down = client.ws.shards.filter((shard) => shard.status !== Status.Ready);
  if (down.size > 0) return { connected: false, reason: down.map((shard) => `shard ${shard.id} is ${Status[shard.status]?.toLowerCase() ?? shard.status}`).join(', ') };
  return { connected: true };
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
