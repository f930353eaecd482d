// The quota part of the configuration: limits, periods, the model weight and the spend cap read from the
// environment, and one error naming every bad value.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const base = { DISCORD_TOKEN: 'abc.def.ghi', LUMA_AGENTS_API_KEY: 'luma-api-test' };

function problems(env: Record<string, string>): readonly string[] {
  try {
    loadConfig({ ...base, ...env });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('quota configuration', () => {
  it('defaults to 10 a day on servers, 5 a day in DMs, uni-1-max weighing 3, and no spend cap', () => {
    const c = loadConfig(base);
    expect(c).toMatchObject({ quotaDefaultLimit: 10, quotaDefaultPeriod: 'day', quotaDmLimit: 5, quotaDmPeriod: 'day', quotaMaxWeight: 3 });
    expect(c.spendCapUsdPerDay).toBeUndefined();
  });

  it('reads limits, periods, the weight and the spend cap, with unlimited allowed for limits', () => {
    const c = loadConfig({
      ...base,
      QUOTA_DEFAULT_LIMIT: 'unlimited',
      QUOTA_DEFAULT_PERIOD: 'Week',
      QUOTA_DM_LIMIT: '0',
      QUOTA_DM_PERIOD: 'month',
      QUOTA_MAX_WEIGHT: '2',
      SPEND_CAP_USD_PER_DAY: '7.50',
    });
    expect(c).toMatchObject({ quotaDefaultLimit: 'unlimited', quotaDefaultPeriod: 'week', quotaDmLimit: 0, quotaDmPeriod: 'month', quotaMaxWeight: 2, spendCapUsdPerDay: 7.5 });
  });

  it('treats an empty spend cap as no cap', () => {
    expect(loadConfig({ ...base, SPEND_CAP_USD_PER_DAY: '' }).spendCapUsdPerDay).toBeUndefined();
  });

  it('names every bad quota value in one error', () => {
    const p = problems({ QUOTA_DEFAULT_LIMIT: '-3', QUOTA_DEFAULT_PERIOD: 'fortnight', QUOTA_DM_LIMIT: '200000', QUOTA_MAX_WEIGHT: '2.5', SPEND_CAP_USD_PER_DAY: '$5' });
    expect(p).toHaveLength(5);
    expect(p.join('\n')).toMatch(/QUOTA_DEFAULT_LIMIT must be a whole number from 0 to 100000 or "unlimited"/);
    expect(p.join('\n')).toMatch(/QUOTA_DEFAULT_PERIOD must be one of day, week, month/);
    expect(p.join('\n')).toMatch(/QUOTA_DM_LIMIT/);
    expect(p.join('\n')).toMatch(/QUOTA_MAX_WEIGHT must be a whole number from 1 to 100/);
    expect(p.join('\n')).toMatch(/SPEND_CAP_USD_PER_DAY must be an amount of US dollars/);
  });

  it('refuses a spend cap of zero', () => {
    expect(problems({ SPEND_CAP_USD_PER_DAY: '0' })).toHaveLength(1);
  });
});
