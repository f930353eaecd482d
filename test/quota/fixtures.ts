import type { Config } from '../../src/config.js';
import type { QuotaConfig } from '../../src/quota/service.js';

export const QUOTA_DEFAULTS: QuotaConfig = {
  quotaDefaultLimit: 3,
  quotaDefaultPeriod: 'day',
  quotaDmLimit: 2,
  quotaDmPeriod: 'day',
  quotaMaxWeight: 3,
  spendCapUsdPerDay: undefined,
  serverCapUsdPerDay: undefined,
  spendCapServerShare: undefined,
  premium: { user: undefined, guild: undefined, pack: undefined },
};

export function quotaConfig(over: Partial<Pick<Config, keyof QuotaConfig>> = {}): QuotaConfig {
  return { ...QUOTA_DEFAULTS, ...over };
}

export { makeJob } from '../helpers/fixtures.js';
