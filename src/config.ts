// The one place that reads the environment. Everything else receives a frozen Config. It imports no domain module:
// what it produces and the kinds of values it accepts are in config-values.ts, where the modules that use them take
// them from too.
import { DEFAULT_CDN_ORIGINS, DEFAULT_DISCORD_API_URL, DEFAULT_HTTP_HOST, DEFAULT_LUMA_BASE_URL, DEFAULT_STORAGE_URL, isPeriod, MAX_LIMIT, parseShardList, PERIODS, type Limit, type Period, type PremiumConfig, type Config, type LogLevel } from './config-values.js';

export * from './config-values.js';

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Configuration is not valid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/**
 * What the configuration is for: the bot; deploy-commands (no Luma key); invite-url (no Luma key, and no token when the
 * application id is given); the usage report (storage only: neither).
 */
type Purpose = 'bot' | 'deploy' | 'invite' | 'usage';

/** Parses and validates the environment; throws one ConfigError naming every problem. */
export function loadConfig(env: Env, opts: { purpose?: Purpose } = {}): Config {
  const problems: string[] = [];
  const get = (key: string): string | undefined => {
    const v = env[key]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const required = (key: string, hint: string): string => {
    const v = get(key);
    if (v === undefined) problems.push(`${key} is required (${hint}).`);
    return v ?? '';
  };
  const url = (key: string, fallback: string, protocols: readonly string[]): string => {
    const raw = get(key) ?? fallback;
    try {
      const u = new URL(raw);
      if (!protocols.includes(u.protocol)) {
        problems.push(`${key} must use ${protocols.join(' or ')} (got "${u.protocol}").`);
      }
      return raw.replace(/\/+$/, '');
    } catch {
      problems.push(`${key} is not a valid URL: "${raw}".`);
      return raw;
    }
  };
  const int = (key: string, fallback: number, min: number, max: number): number => {
    const raw = get(key);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < min || n > max) {
      problems.push(`${key} must be a whole number from ${min} to ${max} (got "${raw}").`);
      return fallback;
    }
    return n;
  };
  const limit = (key: string, fallback: Limit): Limit => {
    const raw = get(key)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (raw === 'unlimited') return raw;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n > MAX_LIMIT) {
      problems.push(`${key} must be a whole number from 0 to ${MAX_LIMIT} or "unlimited" (got "${raw}").`);
      return fallback;
    }
    return n;
  };
  const period = (key: string, fallback: Period): Period => {
    const raw = get(key)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (!isPeriod(raw)) {
      problems.push(`${key} must be one of ${PERIODS.join(', ')} (got "${raw}").`);
      return fallback;
    }
    return raw;
  };
  const usd = (key: string): number | undefined => {
    const raw = get(key);
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!/^\d+(\.\d{1,4})?$/.test(raw) || n <= 0 || n > 1_000_000) {
      problems.push(`${key} must be an amount of US dollars above 0, like 25 or 7.50 (got "${raw}"); leave it empty for none.`);
      return undefined;
    }
    return n;
  };
  const snowflake = (key: string): string | undefined => {
    const v = get(key);
    if (v !== undefined && !/^\d{17,20}$/.test(v)) problems.push(`${key} must be a Discord id (17–20 digits), got "${v}".`);
    return v;
  };

  const tokenOptional = (opts.purpose === 'invite' && get('DISCORD_APPLICATION_ID') !== undefined) || opts.purpose === 'usage';
  const discordToken = tokenOptional ? (get('DISCORD_TOKEN') ?? '') : required('DISCORD_TOKEN', 'the bot token from the Discord developer portal, Bot tab');
  if (/\s/.test(discordToken)) problems.push('DISCORD_TOKEN contains white space; paste the token alone, without "Bot ".');
  // deploy-commands talks to Discord only: it should not need the Luma key.
  const lumaApiKey =
    opts.purpose === 'deploy' || opts.purpose === 'invite' || opts.purpose === 'usage' ? (get('LUMA_AGENTS_API_KEY') ?? '') : required('LUMA_AGENTS_API_KEY', 'a key from the Luma dashboard, starting with "luma-api-"');
  if (lumaApiKey !== '' && !lumaApiKey.startsWith('luma-api-')) problems.push('LUMA_AGENTS_API_KEY does not look like a Luma key (it should start with "luma-api-").');

  const cdnRaw = get('DISCORD_CDN_ORIGINS');
  const discordCdnOrigins: string[] = [];
  for (const part of cdnRaw === undefined ? [...DEFAULT_CDN_ORIGINS] : cdnRaw.split(',')) {
    const p = part.trim();
    if (p === '') continue;
    try {
      const u = new URL(p);
      if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('protocol');
      discordCdnOrigins.push(u.origin);
    } catch {
      problems.push(`DISCORD_CDN_ORIGINS has an entry that is not an http(s) origin: "${p}".`);
    }
  }
  if (discordCdnOrigins.length === 0 && cdnRaw !== undefined) problems.push('DISCORD_CDN_ORIGINS lists no origin.');

  const storageUrl = get('STORAGE_URL') ?? DEFAULT_STORAGE_URL;
  if (!/^(sqlite|redis|rediss):\/\/.+/.test(storageUrl)) problems.push(`STORAGE_URL must start with sqlite:// or redis:// (got "${storageUrl}").`);
  const storageNamespace = get('STORAGE_NAMESPACE') ?? 'bot';
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(storageNamespace)) {
    problems.push(`STORAGE_NAMESPACE must be 1–64 letters, digits, dots, dashes or underscores (got "${storageNamespace}").`);
  }
  const logLevelRaw = (get('LOG_LEVEL') ?? 'info').toLowerCase();
  if (!LOG_LEVELS.includes(logLevelRaw as LogLevel)) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${logLevelRaw}").`);
  const logFormatRaw = (get('LOG_FORMAT') ?? 'auto').toLowerCase();
  if (!['auto', 'json', 'pretty'].includes(logFormatRaw)) problems.push(`LOG_FORMAT must be auto, json or pretty (got "${logFormatRaw}").`);

  const httpHost = get('HTTP_HOST') ?? DEFAULT_HTTP_HOST;
  if (!/^[\w.:-]+$/.test(httpHost)) problems.push(`HTTP_HOST must be an IP address or host name, like 127.0.0.1 or 0.0.0.0 (got "${httpHost}").`);
  const operatorUserIds: string[] = [];
  for (const part of (get('OPERATOR_USER_IDS') ?? '').split(',')) {
    const id = part.trim();
    if (id === '') continue;
    if (/^\d{17,20}$/.test(id)) operatorUserIds.push(id);
    else problems.push(`OPERATOR_USER_IDS must be Discord user ids (17–20 digits) separated by commas (got "${id}").`);
  }

  const spendCapUsdPerDay = usd('SPEND_CAP_USD_PER_DAY');
  const spendCapServerShare = get('SPEND_CAP_SERVER_SHARE') === undefined ? undefined : int('SPEND_CAP_SERVER_SHARE', 100, 1, 100);
  if (spendCapServerShare !== undefined && spendCapUsdPerDay === undefined) problems.push('SPEND_CAP_SERVER_SHARE is a share of SPEND_CAP_USD_PER_DAY: set that too, or leave the share empty.');
  // A tier is sold when its SKU id is set; what it adds has a default. The ids are checked against Discord at start.
  const tier = (kind: string, fallback: number) => ({ skuId: snowflake(`PREMIUM_${kind}_SKU_ID`), units: int(`PREMIUM_${kind}_UNITS`, fallback, 1, MAX_LIMIT) });
  const [user, guild, pack] = [tier('USER', 50), { ...tier('GUILD', 20), capUsdPerDay: usd('PREMIUM_GUILD_CAP_USD_PER_DAY') }, tier('PACK', 100)];
  const sold = <T extends { skuId: string | undefined }>(t: T) => (t.skuId === undefined ? undefined : (t as T & { skuId: string }));
  const premium: PremiumConfig = { user: sold(user), guild: sold(guild), pack: sold(pack) };
  const [userSku, guildSku, packSku] = [user.skuId, guild.skuId, pack.skuId];
  const skuIds = [userSku, guildSku, packSku].filter((id) => id !== undefined);
  if (new Set(skuIds).size !== skuIds.length) problems.push('PREMIUM_USER_SKU_ID, PREMIUM_GUILD_SKU_ID and PREMIUM_PACK_SKU_ID must be different SKUs.');

  const shardCount = (get('SHARD_COUNT') ?? 'auto') === 'auto' ? 'auto' : int('SHARD_COUNT', 1, 1, 10_000);
  const shardsRaw = get('SHARDS');
  const shards = shardsRaw === undefined ? undefined : parseShardList(shardsRaw);
  if (shardsRaw !== undefined && shards === undefined) problems.push(`SHARDS must be shard ids or ranges, like 0-3 or 0,2,5 (got "${shardsRaw}").`);
  if (shards !== undefined && shardCount === 'auto') problems.push('SHARDS names part of the shards: set SHARD_COUNT to the number of shards in all too.');
  if (shards !== undefined && typeof shardCount === 'number' && shards.some((id) => id >= shardCount)) problems.push(`SHARDS must be below SHARD_COUNT (${shardCount}): shard ids count from 0 (got "${shardsRaw}").`);

  const interactions = (get('INTERACTIONS') ?? 'gateway').toLowerCase();
  if (interactions !== 'gateway' && interactions !== 'http') problems.push(`INTERACTIONS must be gateway or http (got "${interactions}").`);
  const discordPublicKey = get('DISCORD_PUBLIC_KEY')?.toLowerCase();
  if (discordPublicKey !== undefined && !/^[0-9a-f]{64}$/.test(discordPublicKey)) problems.push('DISCORD_PUBLIC_KEY must be the application’s public key: 64 hex digits, from the developer portal’s General Information page.');
  if (interactions === 'http' && opts.purpose !== 'deploy' && opts.purpose !== 'invite' && opts.purpose !== 'usage') {
    if (discordPublicKey === undefined) problems.push('INTERACTIONS=http needs DISCORD_PUBLIC_KEY (developer portal → General Information → Public Key) to check that each request comes from Discord.');
    if (get('HTTP_PORT') === undefined) problems.push('INTERACTIONS=http needs HTTP_PORT: POST /interactions is served there (with /healthz and /metrics).');
  }

  const config: Config = {
    discordToken,
    discordApplicationId: snowflake('DISCORD_APPLICATION_ID'),
    discordGuildId: snowflake('DISCORD_GUILD_ID'),
    discordApiUrl: url('DISCORD_API_URL', DEFAULT_DISCORD_API_URL, ['https:', 'http:']),
    discordCdnOrigins,
    lumaApiKey,
    lumaBaseUrl: url('LUMA_BASE_URL', DEFAULT_LUMA_BASE_URL, ['https:', 'http:']),
    storageUrl,
    storageNamespace,
    jobLeaseMs: int('JOB_LEASE_MS', 30_000, 1000, 600_000),
    storageBusyTimeoutMs: int('STORAGE_BUSY_TIMEOUT_MS', 10_000, 10, 600_000),
    storageSweepIntervalMs: int('STORAGE_SWEEP_INTERVAL_MS', 3_600_000, 1000, 86_400_000),
    keptResultTtlMs: int('KEPT_RESULT_DAYS', 14, 1, 365) * 86_400_000,
    keptResultMaxBytes: int('KEPT_RESULT_MAX_MB', 10, 1, 500) * 1024 * 1024,
    logLevel: logLevelRaw as LogLevel,
    logFormat: logFormatRaw as Config['logFormat'],
    shardCount,
    shards,
    interactions: interactions === 'http' ? 'http' : 'gateway',
    discordPublicKey,
    pollIntervalMs: int('POLL_INTERVAL_MS', 2500, 50, 60_000),
    progressIntervalMs: int('PROGRESS_INTERVAL_MS', 3000, 0, 60_000),
    lumaMaxConcurrentJobs: int('LUMA_MAX_CONCURRENT_JOBS', 10, 1, 1000),
    lumaMaxRequestsPerMinute: int('LUMA_MAX_REQUESTS_PER_MINUTE', 30, 1, 10_000),
    lumaRpmCeiling: get('LUMA_RPM_CEILING') === undefined ? undefined : int('LUMA_RPM_CEILING', 0, 1, 10_000),
    maxJobsPerUser: int('MAX_JOBS_PER_USER', 2, 1, 100),
    transferBudgetBytes: int('TRANSFER_BUDGET_MB', 32, 1, 4096) * 1024 * 1024,
    discordRestConnections: int('DISCORD_REST_CONNECTIONS', 128, 1, 4096),
    jobMaxAgeMs: int('JOB_MAX_AGE_MS', 30 * 60_000, 1000, 24 * 3600_000),
    lumaOutageWindowMs: int('LUMA_OUTAGE_WINDOW_MS', 10 * 60_000, 0, 24 * 3600_000),
    lumaInlineMaxBytes: int('LUMA_INLINE_MAX_MB', 25, 1, 500) * 1024 * 1024,
    quotaDefaultLimit: limit('QUOTA_DEFAULT_LIMIT', 10),
    quotaDefaultPeriod: period('QUOTA_DEFAULT_PERIOD', 'day'),
    quotaDmLimit: limit('QUOTA_DM_LIMIT', 5),
    quotaDmPeriod: period('QUOTA_DM_PERIOD', 'day'),
    // 3 rather than 2 (the price ratio 0.1/0.0404 ≈ 2.48, rounded): a unit then never costs more than a uni-1 image, so
    // units × $0.0404 bounds what an allowance can cost the operator.
    quotaMaxWeight: int('QUOTA_MAX_WEIGHT', 3, 1, 100),
    spendCapUsdPerDay,
    serverCapUsdPerDay: usd('SERVER_CAP_USD_PER_DAY'),
    spendCapServerShare,
    premium,
    httpPort: get('HTTP_PORT') === undefined ? undefined : int('HTTP_PORT', 0, 0, 65_535),
    httpHost,
    operatorUserIds,
    statusLogIntervalMs: int('STATUS_LOG_INTERVAL_MS', 3_600_000, 0, 86_400_000),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}

/**
 * For entry points: reads `.env` (if present; real environment variables win) and the environment, and on a
 * bad configuration prints the one message naming every problem and exits with EX_CONFIG (78), no stack trace.
 */
export async function loadConfigOrExit(purpose: Purpose = 'bot'): Promise<Config> {
  try {
    return await loadConfigFromEnvironment(purpose);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\nSee .env.example for every setting.\n`);
    process.exit(78);
  }
}

/** Reads `.env` (if present; real environment variables win) and the environment. */
export async function loadConfigFromEnvironment(purpose: Purpose = 'bot'): Promise<Config> {
  const dotenv = await import('dotenv');
  dotenv.config({ quiet: true });
  return loadConfig(process.env, { purpose });
}
