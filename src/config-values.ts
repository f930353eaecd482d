// The kinds of values configuration accepts, shared by config.ts and the modules that use them. Imports nothing.

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
