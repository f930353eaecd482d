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

  it('has no server ceiling, no share and no premium tier unless configured', () => {
    const c = loadConfig(base);
    expect(c.serverCapUsdPerDay).toBeUndefined();
    expect(c.spendCapServerShare).toBeUndefined();
    expect(c.premium).toEqual({ user: undefined, guild: undefined, pack: undefined });
  });

  it('reads the server ceiling, the share of the cap and the tiers sold, with what each adds', () => {
    const c = loadConfig({
      ...base,
      SPEND_CAP_USD_PER_DAY: '40',
      SPEND_CAP_SERVER_SHARE: '25',
      SERVER_CAP_USD_PER_DAY: '2.50',
      PREMIUM_USER_SKU_ID: '1300000000000000001',
      PREMIUM_GUILD_SKU_ID: '1300000000000000002',
      PREMIUM_GUILD_UNITS: '30',
      PREMIUM_GUILD_CAP_USD_PER_DAY: '10',
      PREMIUM_PACK_SKU_ID: '1300000000000000003',
      PREMIUM_PACK_UNITS: '200',
    });
    expect(c).toMatchObject({ spendCapUsdPerDay: 40, spendCapServerShare: 25, serverCapUsdPerDay: 2.5 });
    expect(c.premium).toEqual({
      user: { skuId: '1300000000000000001', units: 50 },
      guild: { skuId: '1300000000000000002', units: 30, capUsdPerDay: 10 },
      pack: { skuId: '1300000000000000003', units: 200 },
    });
  });

  it('names a share without a cap, a bad SKU id, a bad ceiling and one SKU sold twice, in one error', () => {
    const found = problems({
      SPEND_CAP_SERVER_SHARE: '150',
      SERVER_CAP_USD_PER_DAY: '-1',
      PREMIUM_USER_SKU_ID: 'plus',
      PREMIUM_GUILD_SKU_ID: '1300000000000000009',
      PREMIUM_PACK_SKU_ID: '1300000000000000009',
      PREMIUM_PACK_UNITS: '0',
    }).join('\n');
    expect(found).toContain('SPEND_CAP_SERVER_SHARE must be a whole number from 1 to 100');
    expect(found).toContain('SERVER_CAP_USD_PER_DAY must be an amount of US dollars');
    expect(found).toContain('PREMIUM_USER_SKU_ID must be a Discord id');
    expect(found).toContain('PREMIUM_PACK_UNITS must be a whole number from 1');
    expect(found).toContain('must be different SKUs');
    expect(problems({ SPEND_CAP_SERVER_SHARE: '20' }).join()).toContain('SPEND_CAP_SERVER_SHARE is a share of SPEND_CAP_USD_PER_DAY');
  });
});
