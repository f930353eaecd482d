// What configuration is (Config) and the kinds of values it accepts, shared by config.ts and the modules that use
// them. Imports nothing.

/** A quota limit: units per period, or no limit. */
export type Limit = number | 'unlimited';
/** The most units a limit may be set to (a typo guard, far above any real use). */
export const MAX_LIMIT = 100_000;
/** Quota periods: calendar periods in UTC. */
export const PERIODS = ['day', 'week', 'month'] as const;
export type Period = (typeof PERIODS)[number];
export function isPeriod(v: unknown): v is Period {
  return typeof v === 'string' && (PERIODS as readonly string[]).includes(v);
}
/** Luma's API base (LUMA_BASE_URL's default). */
export const DEFAULT_LUMA_BASE_URL = 'https://agents.lumalabs.ai/v1';

export const DEFAULT_DISCORD_API_URL = 'https://discord.com/api';
/** Discord's CDN, its media proxy, and the proxies embed images are served through (`proxy_url`). */
export const DEFAULT_CDN_ORIGINS = [
  'https://cdn.discordapp.com',
  'https://media.discordapp.net',
  'https://images-ext-1.discordapp.net',
  'https://images-ext-2.discordapp.net',
] as const;
export const DEFAULT_STORAGE_URL = 'sqlite://data/bot.sqlite';
export const DEFAULT_HTTP_HOST = '127.0.0.1';

/**
 * Premium tiers sold through Discord's store, by SKU (PREMIUM_*): a user subscription adds units to the member's
 * allowance everywhere; a guild subscription adds units to every member's allowance on that server and raises the
 * server's ceiling; a consumable pack is a number of units used after the free allowance. Absent = not sold.
 */
export interface PremiumConfig {
  readonly user: { readonly skuId: string; readonly units: number } | undefined;
  readonly guild: { readonly skuId: string; readonly units: number; readonly capUsdPerDay: number | undefined } | undefined;
  readonly pack: { readonly skuId: string; readonly units: number } | undefined;
}

/** The bot's configuration, parsed and checked from the environment by config.ts (loadConfig). */
export interface Config {
  /** Bot token (secret). */
  readonly discordToken: string;
  /** Application id; read from the API at start when absent. */
  readonly discordApplicationId: string | undefined;
  /** Guild to register commands in (deploy-commands only); global when absent. */
  readonly discordGuildId: string | undefined;
  /** REST base handed to discord.js as `rest.api`. */
  readonly discordApiUrl: string;
  /** Origins user images may be downloaded from (Discord CDN and media proxy). */
  readonly discordCdnOrigins: readonly string[];
  /** Luma API key (secret). */
  readonly lumaApiKey: string;
  readonly lumaBaseUrl: string;
  /** `sqlite://path` (default) or `redis://…`. */
  readonly storageUrl: string;
  /** How long a SQLite operation waits for a file another process holds locked before it fails, ms (STORAGE_BUSY_TIMEOUT_MS, default 10000). */
  readonly storageBusyTimeoutMs: number;
  /** Prefix of every key the bot writes, so several bots (or test runs) can share one Redis (STORAGE_NAMESPACE, default "bot"). */
  readonly storageNamespace: string;
  /** How long a process's hold on its jobs lasts without renewal, ms (JOB_LEASE_MS, default 30000): a dead process's jobs are taken over within about this long (Redis). */
  readonly jobLeaseMs: number;
  /** How often expired records are deleted from storage, ms (STORAGE_SWEEP_INTERVAL_MS, default 3600000 = 1 h). */
  readonly storageSweepIntervalMs: number;
  /** How long a result no Discord route could deliver is kept for its member, ms (KEPT_RESULT_DAYS, default 14 days). */
  readonly keptResultTtlMs: number;
  /** Largest kept result, bytes; a bigger one is re-encoded to fit (KEPT_RESULT_MAX_MB, default 10 MB). */
  readonly keptResultMaxBytes: number;
  readonly logLevel: LogLevel;
  readonly logFormat: 'auto' | 'json' | 'pretty';
  /** Shards in all (SHARD_COUNT): what `npm run start:shards` spawns, or the total a process with SHARDS is one part of; 'auto' asks Discord for its recommendation. */
  readonly shardCount: number | 'auto';
  /** The shards this process runs (SHARDS: `3`, `0-3`, `0,2,5`); undefined = discord.js's default (all, or the one start:shards names). */
  readonly shards: readonly number[] | undefined;
  /** How interactions arrive (INTERACTIONS): over the gateway (default), or as signed HTTP POSTs to /interactions. */
  readonly interactions: 'gateway' | 'http';
  /** The application's Ed25519 public key, hex (DISCORD_PUBLIC_KEY): required with INTERACTIONS=http. */
  readonly discordPublicKey: string | undefined;
  /** How often a job is polled, ms (Luma asks for 2–5 s). */
  readonly pollIntervalMs: number;
  /** Least time between two progress edits of one reply, ms. */
  readonly progressIntervalMs: number;
  /** Luma plan limits: concurrent active jobs and POSTs per minute for the whole account. */
  readonly lumaMaxConcurrentJobs: number;
  readonly lumaMaxRequestsPerMinute: number;
  /**
   * A hard ceiling on POSTs per minute (LUMA_RPM_CEILING; undefined = none): the bot otherwise follows the limit
   * Luma reports on every 201, up or down from LUMA_MAX_REQUESTS_PER_MINUTE. Leaves room for other clients of the key.
   */
  readonly lumaRpmCeiling: number | undefined;
  /** Jobs one member may have submitted to Luma at once; the rest wait in the queue. */
  readonly maxJobsPerUser: number;
  /** Result bytes that downloads/uploads may hold at once (TRANSFER_BUDGET_MB, default 32, in bytes here): as many results move together as fit. */
  readonly transferBudgetBytes: number;
  /** Most connections open to Discord's API in each of its two pools, acknowledgements and the rest (DISCORD_REST_CONNECTIONS, default 128). */
  readonly discordRestConnections: number;
  /** A job Luma accepted is given up (failed, unit refunded) this long after submission, ms (JOB_MAX_AGE_MS, default 30 min). */
  readonly jobMaxAgeMs: number;
  /** How long a job is kept while Luma is down (502/503/504, unreachable; one probe at a time meanwhile), ms (LUMA_OUTAGE_WINDOW_MS, default 10 min). */
  readonly lumaOutageWindowMs: number;
  /** Most member image bytes, all inputs of one job together, sent inline as base64 when Luma cannot fetch their URLs (LUMA_INLINE_MAX_MB, default 25 MB). */
  readonly lumaInlineMaxBytes: number;
  /** Units per period a member gets on a server whose admins set no default (QUOTA_DEFAULT_LIMIT, default 10). */
  readonly quotaDefaultLimit: Limit;
  /** The period of that default (QUOTA_DEFAULT_PERIOD, default day; calendar periods in UTC). */
  readonly quotaDefaultPeriod: Period;
  /** Units per period in DMs and user-installed use (QUOTA_DM_LIMIT, default 5). */
  readonly quotaDmLimit: Limit;
  readonly quotaDmPeriod: Period;
  /** Units one uni-1-max image costs; uni-1 costs 1 (QUOTA_MAX_WEIGHT, default 3). */
  readonly quotaMaxWeight: number;
  /** Operator-wide spend cap per UTC day, USD (SPEND_CAP_USD_PER_DAY); undefined = no cap. */
  readonly spendCapUsdPerDay: number | undefined;
  /** Each server's spend ceiling per UTC day, USD (SERVER_CAP_USD_PER_DAY); undefined = none. Operators set one server's otherwise. */
  readonly serverCapUsdPerDay: number | undefined;
  /** The most of SPEND_CAP_USD_PER_DAY one server (or DMs together) may spend, percent (SPEND_CAP_SERVER_SHARE); undefined = any. */
  readonly spendCapServerShare: number | undefined;
  /** Premium tiers sold through Discord's store (PREMIUM_*_SKU_ID and what each adds); none configured = none sold. */
  readonly premium: PremiumConfig;
  /** Port of the /healthz and /metrics server (HTTP_PORT); undefined = no server (default). 0 = any free port. */
  readonly httpPort: number | undefined;
  /** Address that server binds (HTTP_HOST, default 127.0.0.1: loopback only; 0.0.0.0 in a container). */
  readonly httpHost: string;
  /** Users who may run /bot-status besides the application's owner or team (OPERATOR_USER_IDS, default none). */
  readonly operatorUserIds: readonly string[];
  /** How often the operator status is logged, ms (STATUS_LOG_INTERVAL_MS, default 3 600 000 = hourly; 0 = never). */
  readonly statusLogIntervalMs: number;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** A shard list as SHARDS gives it: one id (`3`), a range (`0-3`), ids and ranges separated by commas, or a JSON array. */
export function parseShardList(raw: string): number[] | undefined {
  const text = raw.trim().replace(/^\[(.*)\]$/, '$1');
  const ids = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^\s*(\d{1,5})\s*(?:-\s*(\d{1,5})\s*)?$/.exec(part);
    if (!m) return undefined;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) return undefined;
    for (let id = from; id <= to; id++) ids.add(id);
  }
  return [...ids].sort((a, b) => a - b);
}
