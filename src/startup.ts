// What can stop the bot at start, each with a message for the operator: storage that does not answer, a Luma key or
// a Discord token refused, a port that cannot be served — and the shared job state of several processes on Redis.
import type { Client } from 'discord.js';
import { Events } from 'discord.js';
import { systemClock } from './clock.js';
import type { Config } from './config.js';
import { connectWithoutGateway } from './discord/http-interactions/client.js';
import { skuProblems } from './discord/premium.js';
import type { DiscordResponder } from './discord/transport/responder.js';
import { SharedAccountFigures } from './jobs/account-figures.js';
import { RedisJobLeases, ShardJobLeases, type JobLeases } from './jobs/leases.js';
import { RedisLumaBreaker } from './jobs/shared-breaker.js';
import { RedisSubmitBudget } from './jobs/shared-budget.js';
import type { Logger } from './logger.js';
import type { LumaClient } from './luma/client.js';
import { AuthenticationError, LumaConnectionError, NotFoundError, PermissionDeniedError } from './luma/errors.js';
import { startHealthServer, type HealthServer } from './ops/health-server.js';
import { within } from './ops/within.js';
import { createStorage, type Storage, type StorageOptions } from './storage/index.js';

/** A problem that stops the bot at start, with a message for the operator (no stack trace needed). */
export class StartupError extends Error {
  override name = 'StartupError';
}

/** How long storage may take to connect at start before the bot gives up with a message (Redis retries forever). */
const STORAGE_CONNECT_TIMEOUT_MS = 15_000;

/**
 * Serves /healthz and /metrics when HTTP_PORT is set; one port per process: under start:shards, shard N listens on
 * HTTP_PORT + N. A port that cannot be served stops the start with a message (after `closeOnFailure`).
 */
export async function serveHealth(
  config: Config,
  shardKey: string,
  o: Pick<Parameters<typeof startHealthServer>[0], 'health' | 'metrics' | 'interactions' | 'logger'> & { closeOnFailure(): Promise<void> },
): Promise<HealthServer | undefined> {
  if (config.httpPort === undefined) return undefined;
  const port = config.httpPort === 0 ? 0 : config.httpPort + Number(shardKey);
  try {
    return await startHealthServer({ host: config.httpHost, port, health: o.health, metrics: o.metrics, ...(o.interactions ? { interactions: o.interactions } : {}), logger: o.logger });
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

/**
 * Logs in and waits for the gateway to be ready — or, with INTERACTIONS=http, reads the bot's user and application
 * over REST and opens no gateway connection. A refused token stops the start with a message (after `closeOnFailure`).
 */
export async function login(client: Client, config: Pick<Config, 'discordToken' | 'interactions'>, closeOnFailure: () => Promise<void>): Promise<void> {
  const ready = config.interactions === 'http' ? Promise.resolve() : new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  try {
    if (config.interactions === 'http') await connectWithoutGateway(client, config.discordToken);
    else await client.login(config.discordToken);
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
export async function sharedJobState(
  storage: Storage,
  config: Config,
  logger: Logger,
  shard: { shard: number; count: number },
): Promise<{ budget?: RedisSubmitBudget; breaker?: RedisLumaBreaker; leases?: JobLeases; takeoverIntervalMs?: number; account?: SharedAccountFigures }> {
  // Several shards on one SQLite file keep their own jobs, as before leases; one process owns them all.
  if (!storage.redis) return shard.count > 1 ? { leases: new ShardJobLeases(storage, shard.shard, shard.count) } : {};
  const { client, prefix } = storage.redis;
  const log = logger.child({ component: 'jobs' });
  const leases = await RedisJobLeases.start(storage.redis, config.jobLeaseMs, log, systemClock);
  const budget = new RedisSubmitBudget({ redis: client, prefix, leaseMs: config.jobLeaseMs, requestsPerMinute: config.lumaMaxRequestsPerMinute, requestsPerMinuteCeiling: config.lumaRpmCeiling, concurrentJobs: config.lumaMaxConcurrentJobs, logger: log });
  // One outage, one probe for the account (not one per process).
  const breaker = new RedisLumaBreaker({ redis: client, prefix, clock: systemClock, logger: log });
  log.info({ processId: leases.processId, leaseMs: config.jobLeaseMs }, 'sharing the Luma budget and jobs with the other processes on this Redis');
  // What /bot-status and /metrics show of the account: every process's figures, read from Redis.
  const account = new SharedAccountFigures(client, prefix, log);
  return { budget, breaker, leases, takeoverIntervalMs: Math.max(100, Math.floor(config.jobLeaseMs / 3)), account };
}

/**
 * createStorage, but a Redis that does not answer stops the start with a message instead of a silent wait. `wait`
 * is for tests of the refusal: a shorter timeout, and a storage that never answers.
 */
export async function connectStorage(
  url: string,
  logger: Logger,
  opts: StorageOptions,
  wait: { timeoutMs?: number; open?: typeof createStorage } = {},
): Promise<Storage> {
  const { timeoutMs = STORAGE_CONNECT_TIMEOUT_MS, open = createStorage } = wait;
  const pending = open(url, logger, opts);
  const result = await within(pending, timeoutMs);
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
    `storage (Redis at ${where}) did not answer within ${timeoutMs / 1000} s. Check that Redis is running and reachable from here, and STORAGE_URL (host, port, password, rediss:// for TLS).`,
  );
}

/**
 * A GET of a generation that cannot exist costs nothing and tells a bad key (401) from a good one (404) at
 * start, instead of at the first member's request.
 */
export async function checkLumaKey(luma: LumaClient, logger: Logger): Promise<void> {
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

/**
 * With premium tiers configured, their SKU ids must be SKUs of this application, of the kind each key says: checked
 * once logged in (the application's id is known then). A mismatch stops the start with one message naming each.
 */
export async function checkPremiumSkus(config: Config, discord: Pick<DiscordResponder, 'listSkus'>, applicationId: string, closeOnFailure: () => Promise<void>): Promise<void> {
  const p = config.premium;
  if (!p.user && !p.guild && !p.pack) return;
  let problems: string[];
  try {
    problems = skuProblems(p, await discord.listSkus(applicationId));
  } catch (err) {
    await closeOnFailure();
    throw new StartupError(`could not read this application's SKUs from Discord to check PREMIUM_*_SKU_ID (${err instanceof Error ? err.message : String(err)}). Monetization must be enabled for the application (docs/premium.md).`);
  }
  if (problems.length === 0) return;
  await closeOnFailure();
  throw new StartupError(`the premium SKUs in .env do not match this application's. ${problems.join(' ')} Fix PREMIUM_*_SKU_ID (docs/premium.md).`);
}
