import type { Client } from 'discord.js';
import { commands, components } from '../commands/index.js';
import { systemClock } from './clock.js';
import type { Config } from './config.js';
import type { BotContext } from './context.js';
import { discordClient, gatewayState, listen, logReady } from './discord/client.js';
import { DiscordDeliverer } from './discord/deliverer.js';
import { EditForms } from './discord/forms.js';
import { DiscordPackConsumer, listenForPurchases } from './discord/premium.js';
import { inputImages } from './discord/input-images.js';
import { messageReader } from './discord/messages.js';
import { routeProblem } from './discord/route.js';
import { createInteractionHandler } from './discord/router.js';
import { httpEndpoint, httpInteractionsState } from './discord/http-interactions/index.js';
import { FirstResponses } from './discord/transport/first-response.js';
import { StillImageCheck } from './discord/still-images.js';
import { Acknowledgements } from './discord/transport/acknowledgements.js';
import { DiscordHttp } from './discord/transport/http.js';
import { DiscordResponder } from './discord/transport/responder.js';
import { DiscordImageLinks } from './discord/image-links.js';
import { GuildRules } from './guild-settings/rules.js';
import { GuildPolicyStore } from './guild-settings/store.js';
import { createEgressAgent } from './http/egress.js';
import { Charges } from './jobs/charges.js';
import { JobEngine } from './jobs/engine.js';
import { MemberHistory } from './jobs/history.js';
import { Intake } from './jobs/intake.js';
import { KeptResults } from './jobs/kept-results.js';
import { JobRecords } from './jobs/records.js';
import { createLogger, type Logger } from './logger.js';
import { LumaClient } from './luma/client.js';
import { checkHealth } from './ops/health.js';
import type { HealthServer } from './ops/health-server.js';
import { BotMetrics, type OpsSources } from './ops/metrics.js';
import { startHealthLog, startStatusLog, type EventLoopDelay } from './ops/periodic-logs.js';
import { readMoney } from './ops/money.js';
import { readOperatorStatus } from './ops/status.js';
import { ServerLimits } from './preferences/limits.js';
import { Preferences } from './preferences/store.js';
import { QuotaService } from './quota/service.js';
import { checkLumaKey, checkPremiumSkus, connectStorage, login, serveHealth, sharedJobState } from './startup.js';
import { startSweeper, type Storage } from './storage/index.js';

export { StartupError } from './startup.js';

/** The bot's core parts, for tools and tests that look inside a running bot (commands get BotContext). */
export interface BotParts {
  readonly storage: Storage;
  readonly records: JobRecords;
  readonly engine: JobEngine;
  readonly quota: QuotaService;
}

export interface RunningBot {
  readonly client: Client;
  readonly ctx: BotContext;
  readonly parts: BotParts;
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
  // INTERACTIONS=http: an interaction's first response is the answer to Discord's POST (transport/first-response.ts).
  const firstResponses = config.interactions === 'http' ? new FirstResponses() : undefined;
  const discordHttp = new DiscordHttp({ apiUrl: config.discordApiUrl, connections: config.discordRestConnections, onResponse: (status, path) => metrics.discordResponse(status, path), ...(firstResponses ? { firstResponses } : {}) });
  const { client, shardKey } = discordClient(config, discordHttp);
  const records = new JobRecords(storage, { logger, shardKey, routeProblem });
  const discord = new DiscordResponder(config.discordApiUrl, config.discordToken, discordHttp.rest('messages'));
  // Spent credit packs are consumed through Discord once the application's id is known (after the login).
  const packs = new DiscordPackConsumer(discord, () => client.application?.id, logger.child({ component: 'premium' }));
  const quota = new QuotaService({ storage, config, logger: logger.child({ component: 'quota' }), onRefusal: (code) => metrics.quotaRefused(code), packs });
  // Redis: one Luma budget and job leases shared by every process on the account. SQLite: this process alone.
  const { account, ...shared } = await sharedJobState(storage, config, logger, { shard: Number(shardKey), count: client.options.shardCount ?? 1 });
  const kept = new KeptResults(records.env, { ttlMs: config.keptResultTtlMs, maxBytes: config.keptResultMaxBytes });
  const charges = new Charges(quota, logger.child({ component: 'quota' }), systemClock);
  const deliverer = new DiscordDeliverer(discord, logger);
  const engine = new JobEngine({ config, luma, http, records, kept, deliverer, logger, charges, events: metrics, ...shared });
  const history = new MemberHistory(storage);
  const policies = new GuildPolicyStore(storage);
  const preferences = new Preferences(storage);
  const limits = new ServerLimits(preferences);
  const links = new DiscordImageLinks(discord, { origins: config.discordCdnOrigins, clock: systemClock, logger: logger.child({ component: 'discord' }) });
  const intake = new Intake({ rules: new GuildRules(policies), limits, quota, charges, queue: engine, history, links, alarm: storage.alarm, logger });
  const stillImages = new StillImageCheck({ origins: config.discordCdnOrigins, dispatcher: http });
  let connected = false; // INTERACTIONS=http: once the bot's user and application are read
  const discordState = () => (firstResponses ? httpInteractionsState(connected) : gatewayState(client));
  const sources: OpsSources = { jobs: engine, spend: quota, money: (now) => readMoney(quota, now), gateway: discordState, ...(account ? { account } : {}) };
  metrics.observe(sources);
  const ops = { status: () => readOperatorStatus(sources, metrics, { storage: storage.kind, shard: shardKey }) };
  const inputs = inputImages(config.discordCdnOrigins, stillImages);
  const acks = new Acknowledgements(discordHttp.acknowledgements);
  const jobs = { get: (id: string) => records.get(id) };
  const ctx: BotContext = { config, logger, intake, jobs, history, engine, quota, policies, inputs, messages: messageReader(discord), forms: new EditForms(storage), ops, acks, preferences, limits, clock: systemClock };

  let accepting = true;
  listen(client, createInteractionHandler(ctx, commands, components), logger, () => accepting);
  const interactions = firstResponses && config.discordPublicKey ? httpEndpoint(client, { publicKey: config.discordPublicKey, responses: firstResponses, logger, redis: storage.redis, accepting: () => accepting && connected }) : undefined;
  if (quota.catalog.selling) listenForPurchases(client, (p, now) => quota.premium.apply(p, now), logger.child({ component: 'premium' }), () => systemClock.now());

  // Up before the login, so an orchestrator sees "not logged in yet" (503) rather than a refused connection.
  const healthServer = await serveHealth(config, shardKey, {
    health: () => checkHealth({ gateway: discordState, storage, stopping: () => !accepting }),
    metrics: () => metrics.render(),
    ...(interactions ? { interactions } : {}),
    logger,
    closeOnFailure: async () => {
      await storage.close();
      await client.destroy();
    },
  });
  await login(client, config, async () => {
    await healthServer?.close();
    await storage.close();
    await client.destroy();
  });
  connected = true;
  await checkPremiumSkus(config, discord, client.application?.id ?? config.discordApplicationId ?? '', async () => {
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
    parts: { storage, records, engine, quota },
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
