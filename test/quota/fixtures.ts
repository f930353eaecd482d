import type { Config } from '../../src/config.js';
import { UserFacingError } from '../../src/errors.js';
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

/** Resolves to the refusal a promise rejected with, or fails the test if it did not reject with one. */
export async function refusal(p: Promise<unknown>): Promise<UserFacingError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof UserFacingError) return err;
    throw err;
  }
  throw new Error('expected a refusal, but the reservation went through');
}
