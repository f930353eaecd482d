import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeDiscord, type FakeDiscord } from '../../dev/fakes/discord/server.js';
import { startFakeLuma } from '../../dev/fakes/luma/server.js';
import type { FakeLuma } from '../../dev/fakes/luma/api.js';

const root = resolve(import.meta.dirname, '../..');

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('starting with Redis unreachable', () => {
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

  it('stops with a message naming the Redis host, without its password, instead of hanging', async () => {
    const port = await closedPort();
    const cwd = mkdtempSync(join(tmpdir(), 'luma-bot-redis-'));
    const env = {
      PATH: process.env.PATH ?? '',
      DISCORD_TOKEN: discord.token,
      DISCORD_API_URL: discord.apiUrl,
      LUMA_AGENTS_API_KEY: luma.apiKey,
      LUMA_BASE_URL: luma.url,
      STORAGE_URL: `redis://:s3cret-pass@127.0.0.1:${port}`,
      LOG_FORMAT: 'json',
    };
    const r = await new Promise<{ code: number | null; out: string }>((done) => {
      const child = spawn(process.execPath, ['--import', pathToFileURL(join(root, 'node_modules/tsx/dist/loader.mjs')).href, join(root, 'src/index.ts')], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      // Only a guard against a hang forever (the bug this test was written for); no timing is asserted.
      const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('exit', (code) => {
        clearTimeout(guard);
        done({ code, out });
      });
    });
    rmSync(cwd, { recursive: true, force: true });
    expect(r.out).toMatch(new RegExp(`Cannot start: storage \\(Redis at 127\\.0\\.0\\.1:${port}\\) did not answer`));
    expect(r.code).toBe(78);
    expect(r.out).not.toContain('s3cret-pass');
  }, 90_000);
});
