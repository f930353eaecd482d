// The container's HEALTHCHECK command against the real entry point, run as a child process like Docker runs both.
import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { builtEntry } from './helpers/built.js';
import { freePort } from './helpers/ports.js';
import { killLeftoverBots, startBotProcess, type ProcessHarness } from './helpers/process.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');


/** Runs the healthcheck (compiled for this test run) with the bot's environment; resolves with its exit code and output. */
async function healthcheck(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const entry = await builtEntry('src/healthcheck.ts');
  return new Promise((done) => {
    const child = spawn(process.execPath, [entry], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.once('exit', (code) => done({ code, out }));
  });
}

describe('the container healthcheck', () => {
  let p: ProcessHarness | undefined;
  afterEach(async () => {
    await p?.close();
    p = undefined;
    await killLeftoverBots();
  });

  it('passes while the bot is connected and fails, with the reason, once its gateway is gone', async () => {
    const port = await freePort();
    p = await startBotProcess({ env: { HTTP_PORT: String(port), HTTP_HOST: '0.0.0.0' } });
    await p.bot.waitForLog((l) => l.msg === 'serving /healthz and /metrics' && l.port === port, 10_000, 'the health server');
    const ok = await healthcheck(p.env);
    expect(ok.out).toMatch(/^200 /);
    expect(ok.code).toBe(0);

    await p.discord.gateway.close();
    let last = ok;
    const deadline = Date.now() + 20_000;
    while (last.code === 0 && Date.now() < deadline) last = await healthcheck(p.env);
    expect(last.code).toBe(1);
    expect(last.out).toMatch(/^503 .*Discord gateway not connected/);
  });

  it('fails with a clear message when HTTP_PORT is not set', async () => {
    const r = await healthcheck({ DISCORD_TOKEN: 'fake-bot-token', LUMA_AGENTS_API_KEY: 'luma-api-fake-key' });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/HTTP_PORT is not set/);
  });
});
