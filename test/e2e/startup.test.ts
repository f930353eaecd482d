// Starting the bot, deploy-commands and invite-url as child processes: configuration errors, a rejected key or
// token, an unreachable Redis, and what deploy-commands registers.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { deployCommands } from '../../src/deploy-commands.js';
import { startFakeDiscord, type FakeDiscord } from '../../dev/fakes/discord/server.js';
import { startFakeLuma } from '../../dev/fakes/luma/server.js';
import type { FakeLuma } from '../../dev/fakes/luma/api.js';
import { builtEntry } from '../helpers/built.js';
import { freePort } from '../helpers/ports.js';


/** Runs a real entry point, compiled for this test run, in a clean directory (no .env) with exactly this environment. */
async function run(script: string, env: Record<string, string>, timeoutMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cwd = mkdtempSync(join(tmpdir(), 'luma-bot-start-'));
  const entry = await builtEntry(script);
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [entry], {
      cwd,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', fail);
    child.on('exit', (code) => {
      clearTimeout(timer);
      rmSync(cwd, { recursive: true, force: true });
      done({ code, stdout, stderr });
    });
  });
}

describe('starting the bot', () => {
  let discord: FakeDiscord;
  let luma: FakeLuma;
  beforeAll(async () => {
    discord = await startFakeDiscord();
    luma = await startFakeLuma();
  });
  afterAll(async () => {
    await discord.close();
    await luma.close();
  });

  it('stops with one message naming every missing setting and no stack trace', async () => {
    const r = await run('src/index.ts', {});
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('DISCORD_TOKEN is required');
    expect(r.stderr).toContain('LUMA_AGENTS_API_KEY is required');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('stops with a clear message when Luma rejects the key', async () => {
    const r = await run('src/index.ts', {
      DISCORD_TOKEN: discord.token,
      DISCORD_API_URL: discord.apiUrl,
      LUMA_AGENTS_API_KEY: 'luma-api-revoked',
      LUMA_BASE_URL: luma.url,
      STORAGE_URL: `sqlite://${join(mkdtempSync(join(tmpdir(), 'luma-bot-db-')), 'x.sqlite')}`,
    });
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('Luma rejected LUMA_AGENTS_API_KEY (401)');
    expect(r.stderr + r.stdout).not.toContain('luma-api-revoked');
  });

  it('stops with a clear message when Discord rejects the token', async () => {
    const r = await run('src/index.ts', {
      DISCORD_TOKEN: 'wrong-token',
      DISCORD_API_URL: discord.apiUrl,
      LUMA_AGENTS_API_KEY: luma.apiKey,
      LUMA_BASE_URL: luma.url,
      STORAGE_URL: `sqlite://${join(mkdtempSync(join(tmpdir(), 'luma-bot-db-')), 'x.sqlite')}`,
      LOG_FORMAT: 'json',
    });
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('Discord rejected DISCORD_TOKEN');
    expect(r.stderr + r.stdout).not.toContain('wrong-token');
  });

  it('deploy-commands registers every command in a guild when DISCORD_GUILD_ID is set, and prints them', async () => {
    const r = await run('src/deploy-commands.ts', {
      DISCORD_TOKEN: discord.token,
      DISCORD_API_URL: discord.apiUrl,
      DISCORD_GUILD_ID: discord.guildId ?? '',
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Registered \d+ commands, guild/);
    expect(r.stdout).toContain('/imagine');
    const names = discord.registeredCommands(discord.guildId ?? undefined).map((c) => c.name);
    expect(names).toContain('imagine');
  });

  it('deploy-commands registers globally by default', async () => {
    const config = loadConfig({ DISCORD_TOKEN: discord.token, DISCORD_API_URL: discord.apiUrl }, { purpose: 'deploy' });
    const registered = await deployCommands(config);
    expect(registered.map((c) => c.name)).toEqual(discord.registeredCommands().map((c) => c.name));
    expect(registered.length).toBeGreaterThanOrEqual(1);
  });

  it('stops with a message naming the Redis host, without its password, when Redis does not answer', async () => {
    const port = await freePort(); // nothing listens there
    const r = await run(
      'src/index.ts',
      { DISCORD_TOKEN: discord.token, DISCORD_API_URL: discord.apiUrl, LUMA_AGENTS_API_KEY: luma.apiKey, LUMA_BASE_URL: luma.url, STORAGE_URL: `redis://:s3cret-pass@127.0.0.1:${port}` },
      90_000, // only a guard against hanging forever (what this test was written for); no timing is asserted
    );
    expect(r.stderr).toMatch(new RegExp(`Cannot start: storage \\(Redis at 127\\.0\\.0\\.1:${port}\\) did not answer`));
    expect(r.code).toBe(78);
    expect(r.stderr + r.stdout).not.toContain('s3cret-pass');
  }, 120_000);

  it('invite-url prints the install link of the token\'s application with both scopes and the computed permissions', async () => {
    const r = await run('src/invite-url.ts', { DISCORD_TOKEN: discord.token, DISCORD_API_URL: discord.apiUrl });
    expect(r.code).toBe(0);
    const link = new URL(r.stdout.split('\n')[0] ?? '');
    expect(link.searchParams.get('client_id')).toBe(discord.applicationId);
    expect(link.searchParams.get('scope')).toBe('bot applications.commands');
    expect(link.searchParams.get('permissions')).toBe('274878024704');
    expect(r.stdout).toContain('AttachFiles');
  });

  it('invite-url needs only DISCORD_APPLICATION_ID: no token, no Luma key, no call to Discord', async () => {
    const before = discord.requests.length;
    const r = await run('src/invite-url.ts', { DISCORD_APPLICATION_ID: '1100000000000000042', DISCORD_API_URL: discord.apiUrl });
    expect(r.code, r.stderr).toBe(0);
    expect(new URL(r.stdout.split('\n')[0] ?? '').searchParams.get('client_id')).toBe('1100000000000000042');
    expect(discord.requests.length).toBe(before);
    // Without either, it says what it needs.
    const neither = await run('src/invite-url.ts', {});
    expect(neither.code).toBe(78);
    expect(neither.stderr).toContain('DISCORD_TOKEN is required');
  });
});
