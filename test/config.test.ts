// loadConfig: every environment variable read, validated and defaulted, and every problem reported in one message.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, DEFAULT_STORAGE_URL } from '../src/config.js';

const valid = { DISCORD_TOKEN: 'abc.def.ghi', LUMA_AGENTS_API_KEY: 'luma-api-123' };

function problems(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('loadConfig', () => {
  it('applies the documented defaults to a minimal environment', () => {
    const c = loadConfig(valid);
    expect(c.discordApiUrl).toBe('https://discord.com/api');
    expect(c.discordCdnOrigins).toEqual([
      'https://cdn.discordapp.com',
      'https://media.discordapp.net',
      'https://images-ext-1.discordapp.net',
      'https://images-ext-2.discordapp.net',
    ]);
    expect(c.lumaBaseUrl).toBe('https://agents.lumalabs.ai/v1');
    expect(c.storageUrl).toBe(DEFAULT_STORAGE_URL);
    expect(c.logLevel).toBe('info');
    expect(c.lumaMaxConcurrentJobs).toBe(10);
    expect(c.maxJobsPerUser).toBe(2);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reads the storage settings, with their documented defaults and units', () => {
    const d = loadConfig(valid);
    expect(d.storageBusyTimeoutMs).toBe(10_000);
    expect(d.storageSweepIntervalMs).toBe(3_600_000);
    expect(d.keptResultTtlMs).toBe(14 * 86_400_000);
    expect(d.keptResultMaxBytes).toBe(10 * 1024 * 1024);
    const c = loadConfig({ ...valid, STORAGE_BUSY_TIMEOUT_MS: '250', STORAGE_SWEEP_INTERVAL_MS: '60000', KEPT_RESULT_DAYS: '3', KEPT_RESULT_MAX_MB: '25' });
    expect([c.storageBusyTimeoutMs, c.storageSweepIntervalMs, c.keptResultTtlMs, c.keptResultMaxBytes]).toEqual([250, 60_000, 3 * 86_400_000, 25 * 1024 * 1024]);
    const p = problems({ ...valid, STORAGE_SWEEP_INTERVAL_MS: '10', KEPT_RESULT_DAYS: '0', KEPT_RESULT_MAX_MB: 'big' }).join('\n');
    expect(p).toMatch(/STORAGE_SWEEP_INTERVAL_MS must be a whole number from 1000/);
    expect(p).toMatch(/KEPT_RESULT_DAYS must be a whole number from 1 to 365/);
    expect(p).toMatch(/KEPT_RESULT_MAX_MB must be a whole number from 1 to 500/);
  });

  it('reads the key namespace and the job lease, with their defaults', () => {
    const d = loadConfig(valid);
    expect([d.storageNamespace, d.jobLeaseMs]).toEqual(['bot', 30_000]);
    const c = loadConfig({ ...valid, STORAGE_NAMESPACE: 'bot-eu.2', JOB_LEASE_MS: '5000' });
    expect([c.storageNamespace, c.jobLeaseMs]).toEqual(['bot-eu.2', 5000]);
    const p = problems({ ...valid, STORAGE_NAMESPACE: 'a b:*', JOB_LEASE_MS: '10' }).join('\n');
    expect(p).toMatch(/STORAGE_NAMESPACE must be 1–64 letters/);
    expect(p).toMatch(/JOB_LEASE_MS must be a whole number from 1000/);
  });

  it('names every problem at once, in one error', () => {
    const p = problems({ LUMA_BASE_URL: 'not a url', STORAGE_URL: 'mysql://x', LOG_LEVEL: 'loud', POLL_INTERVAL_MS: 'soon' });
    expect(p.join('\n')).toMatch(/DISCORD_TOKEN is required/);
    expect(p.join('\n')).toMatch(/LUMA_AGENTS_API_KEY is required/);
    expect(p.join('\n')).toMatch(/LUMA_BASE_URL is not a valid URL/);
    expect(p.join('\n')).toMatch(/STORAGE_URL must start with sqlite:\/\/ or redis:\/\//);
    expect(p.join('\n')).toMatch(/LOG_LEVEL must be one of/);
    expect(p.join('\n')).toMatch(/POLL_INTERVAL_MS must be a whole number/);
  });

  it('rejects a Luma key that does not look like one, without echoing it', () => {
    const p = problems({ ...valid, LUMA_AGENTS_API_KEY: 'sk-secret-value' });
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/should start with "luma-api-"/);
    expect(p[0]).not.toContain('sk-secret-value');
  });

  it('rejects a token with white space and a malformed application id', () => {
    const p = problems({ ...valid, DISCORD_TOKEN: 'Bot abc', DISCORD_APPLICATION_ID: '12ab' });
    expect(p.join('\n')).toMatch(/DISCORD_TOKEN contains white space/);
    expect(p.join('\n')).toMatch(/DISCORD_APPLICATION_ID must be a Discord id/);
  });

  it('parses CDN origins and strips paths from them', () => {
    const c = loadConfig({ ...valid, DISCORD_CDN_ORIGINS: 'http://127.0.0.1:9000/x, https://cdn.example.com' });
    expect(c.discordCdnOrigins).toEqual(['http://127.0.0.1:9000', 'https://cdn.example.com']);
    expect(problems({ ...valid, DISCORD_CDN_ORIGINS: 'ftp://nope' })[0]).toMatch(/DISCORD_CDN_ORIGINS/);
  });

  it('lets deploy-commands run without a Luma key', () => {
    expect(() => loadConfig({ DISCORD_TOKEN: 't' }, { purpose: 'deploy' })).not.toThrow();
  });

  it('treats empty values as unset', () => {
    const c = loadConfig({ ...valid, LUMA_BASE_URL: '', DISCORD_APPLICATION_ID: '  ' });
    expect(c.lumaBaseUrl).toBe('https://agents.lumalabs.ai/v1');
    expect(c.discordApplicationId).toBeUndefined();
  });

  it('reads the job age limit, the outage window and the inline cap, with their defaults', () => {
    expect(loadConfig(valid)).toMatchObject({ jobMaxAgeMs: 1_800_000, lumaOutageWindowMs: 600_000, lumaInlineMaxBytes: 25 * 1024 * 1024 });
    expect(loadConfig({ ...valid, JOB_MAX_AGE_MS: '60000', LUMA_OUTAGE_WINDOW_MS: '0', LUMA_INLINE_MAX_MB: '4' })).toMatchObject({
      jobMaxAgeMs: 60_000,
      lumaOutageWindowMs: 0,
      lumaInlineMaxBytes: 4 * 1024 * 1024,
    });
    const p = problems({ ...valid, JOB_MAX_AGE_MS: '10', LUMA_OUTAGE_WINDOW_MS: 'ten', LUMA_INLINE_MAX_MB: '0' }).join('\n');
    expect(p).toMatch(/JOB_MAX_AGE_MS must be a whole number from 1000/);
    expect(p).toMatch(/LUMA_OUTAGE_WINDOW_MS must be a whole number/);
    expect(p).toMatch(/LUMA_INLINE_MAX_MB must be a whole number from 1 to 500/);
  });

  it('bounds the connections to Discord per pool: 128 unless set, a whole number from 1', () => {
    expect(loadConfig(valid).discordRestConnections).toBe(128);
    expect(loadConfig({ ...valid, DISCORD_REST_CONNECTIONS: '16' }).discordRestConnections).toBe(16);
    expect(problems({ ...valid, DISCORD_REST_CONNECTIONS: '0' }).join('\n')).toMatch(/DISCORD_REST_CONNECTIONS must be a whole number from 1/);
  });

  it('serves no health endpoint by default, and loopback only when HTTP_PORT is set', () => {
    const off = loadConfig(valid);
    expect(off.httpPort).toBeUndefined();
    expect(off.httpHost).toBe('127.0.0.1');
    const on = loadConfig({ ...valid, HTTP_PORT: '9464', HTTP_HOST: '0.0.0.0' });
    expect(on.httpPort).toBe(9464);
    expect(on.httpHost).toBe('0.0.0.0');
    expect(problems({ ...valid, HTTP_PORT: '70000' })[0]).toMatch(/HTTP_PORT must be a whole number from 0 to 65535/);
    expect(problems({ ...valid, HTTP_HOST: 'http://x/' })[0]).toMatch(/HTTP_HOST must be an IP address or host name/);
  });

  it('reads OPERATOR_USER_IDS as a comma-separated list of Discord ids', () => {
    expect(loadConfig(valid).operatorUserIds).toEqual([]);
    expect(loadConfig({ ...valid, OPERATOR_USER_IDS: '100000000000000001, 200000000000000002,' }).operatorUserIds).toEqual(['100000000000000001', '200000000000000002']);
    expect(problems({ ...valid, OPERATOR_USER_IDS: '100000000000000001,@alice' })[0]).toMatch(/OPERATOR_USER_IDS must be Discord user ids.*"@alice"/);
  });

  it('reads SHARDS as ids and ranges of SHARD_COUNT, and refuses a list it cannot run', () => {
    expect(loadConfig({ ...valid, SHARD_COUNT: '16', SHARDS: '0-3' }).shards).toEqual([0, 1, 2, 3]);
    expect(loadConfig({ ...valid, SHARD_COUNT: '16', SHARDS: '5, 0,2-3' }).shards).toEqual([0, 2, 3, 5]);
    // What start:shards' manager gives each shard it spawns.
    expect(loadConfig({ ...valid, SHARD_COUNT: '2', SHARDS: '1' }).shards).toEqual([1]);
    expect(loadConfig({ ...valid, SHARD_COUNT: '4', SHARDS: '[0,1]' }).shards).toEqual([0, 1]);
    expect(loadConfig(valid).shards).toBeUndefined();
    expect(problems({ ...valid, SHARD_COUNT: '16', SHARDS: '3-1' })).toEqual([expect.stringMatching(/^SHARDS must be shard ids or ranges/)]);
    expect(problems({ ...valid, SHARD_COUNT: '4', SHARDS: '2-5' })).toEqual([expect.stringMatching(/^SHARDS must be below SHARD_COUNT \(4\)/)]);
    expect(problems({ ...valid, SHARDS: '0-3' })).toEqual([expect.stringMatching(/set SHARD_COUNT/)]);
  });

  it('takes INTERACTIONS=http only with the application’s public key and an HTTP port', () => {
    expect(loadConfig(valid).interactions).toBe('gateway');
    const key = 'ab'.repeat(32);
    const c = loadConfig({ ...valid, INTERACTIONS: 'http', DISCORD_PUBLIC_KEY: key.toUpperCase(), HTTP_PORT: '8080' });
    expect(c).toMatchObject({ interactions: 'http', discordPublicKey: key, httpPort: 8080 });
    const missing = problems({ ...valid, INTERACTIONS: 'http' });
    expect(missing).toEqual([expect.stringMatching(/needs DISCORD_PUBLIC_KEY/), expect.stringMatching(/needs HTTP_PORT/)]);
    expect(problems({ ...valid, INTERACTIONS: 'webhook' })).toEqual([expect.stringMatching(/INTERACTIONS must be gateway or http/)]);
    expect(problems({ ...valid, DISCORD_PUBLIC_KEY: 'xyz' })).toEqual([expect.stringMatching(/64 hex digits/)]);
    // deploy-commands and the other tools do not serve interactions.
    expect(() => loadConfig({ ...valid, INTERACTIONS: 'http' }, { purpose: 'deploy' })).not.toThrow();
  });
});
