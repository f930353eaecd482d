// /healthz: off unless HTTP_PORT is set; 200 while the gateway and storage answer, 503 with the reason when they do
// not; and a start that stops on a taken HTTP_PORT.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeDiscord } from '../../dev/fakes/discord/server.js';
import { startFakeLuma } from '../../dev/fakes/luma/server.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { StartupError, startBot } from '../../src/main.js';
import { fakeEnv, startHarness, type Harness } from '../helpers/harness.js';
import { LogCapture } from '../helpers/logs.js';
import { freePort } from '../helpers/ports.js';

interface Healthz {
  status: number;
  body: { status: string; gateway: string; storage: string; reasons: string[] };
}

async function healthz(h: Harness): Promise<Healthz> {
  const url = h.bot.healthServer?.url;
  if (!url) throw new Error('the bot started no health server');
  const res = await fetch(`${url}/healthz`);
  return { status: res.status, body: (await res.json()) as Healthz['body'] };
}

/** Polls /healthz until it answers `status` (the states change asynchronously: a socket closes, a client notices). */
async function healthzUntil(h: Harness, status: number, what: string): Promise<Healthz> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const last = await healthz(h);
    if (last.status === status) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last answer ${last.status} ${JSON.stringify(last.body)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}


/** A Redis of this test's own, on a free port, that the test can stop (never the shared one on 6379). */
interface OwnRedis {
  url: string;
  port: number;
  readonly running: boolean;
  stop(): Promise<void>;
}

async function startOwnRedis(port?: number): Promise<OwnRedis> {
  port ??= await freePort();
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get running() {
      return child.exitCode === null && child.signalCode === null;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}

describe('/healthz', () => {
  let h: Harness | undefined;
  let redis: OwnRedis | undefined;
  afterEach(async () => {
    // A bot whose Redis is gone cannot close its connection: bring Redis back first if a test left it stopped.
    if (h && redis && !redis.running) redis = await startOwnRedis(redis.port);
    await h?.close();
    await redis?.stop();
    h = undefined;
    redis = undefined;
  });

  it('is off unless HTTP_PORT is set', async () => {
    h = await startHarness();
    expect(h.bot.healthServer).toBeUndefined();
  });

  it('answers 200 when the gateway is connected and storage answers, on loopback by default', async () => {
    h = await startHarness({ env: { HTTP_PORT: '0' } });
    expect(h.bot.healthServer?.host).toBe('127.0.0.1');
    const r = await healthz(h);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'ok', gateway: 'connected', storage: 'ok', reasons: [] });
    const head = await fetch(`${h.bot.healthServer?.url}/healthz`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect((await fetch(`${h.bot.healthServer?.url}/nope`)).status).toBe(404);
  });

  it('answers 503 with the reason when the Discord gateway is down', async () => {
    h = await startHarness({ env: { HTTP_PORT: '0' } });
    expect((await healthz(h)).status).toBe(200);
    // Discord's gateway goes away and stays away: every reconnection attempt fails.
    await h.discord.gateway.close();
    const r = await healthzUntil(h, 503, '/healthz to report the gateway down');
    expect(r.body.status).toBe('unavailable');
    expect(r.body.gateway).toBe('down');
    expect(r.body.storage).toBe('ok');
    expect(r.body.reasons.join('\n')).toMatch(/Discord gateway not connected: shard 0 is/);
  });

  it('answers 503 with the reason when storage does not answer, and 200 again once it is back', async () => {
    redis = await startOwnRedis();
    h = await startHarness({ env: { HTTP_PORT: '0', STORAGE_URL: redis.url } });
    expect((await healthz(h)).status).toBe(200);
    await redis.stop();
    const r = await healthzUntil(h, 503, '/healthz to report storage down');
    expect(r.body.gateway).toBe('connected');
    expect(r.body.storage).toBe('down');
    expect(r.body.reasons.join('\n')).toMatch(/storage \(redis\) (did not answer|failed)/);
    // Back on the same port: the client reconnects by itself (and the bot can then stop cleanly).
    redis = await startOwnRedis(redis.port);
    await healthzUntil(h, 200, '/healthz to recover with storage');
  });
});

describe('HTTP_PORT already in use', () => {
  it('stops the start with a message naming the port, and leaves nothing running', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as { port: number }).port;
    const discord = await startFakeDiscord();
    const luma = await startFakeLuma();
    const dir = mkdtempSync(join(tmpdir(), 'luma-bot-port-'));
    try {
      const config = loadConfig(fakeEnv(discord, luma, dir, { HTTP_PORT: String(port) }));
      const logs = new LogCapture();
      const started = startBot(config, { logger: createLogger({ logLevel: 'debug', logFormat: 'json' }, logs.stream) });
      await expect(started).rejects.toThrow(StartupError);
      await expect(started).rejects.toThrow(new RegExp(`HTTP_PORT ${port} on 127\\.0\\.0\\.1 is already in use`));
      // It never logged in to the gateway.
      expect(discord.gateway.identifyCount).toBe(0);
    } finally {
      await new Promise<void>((r) => taken.close(() => r()));
      await discord.close();
      await luma.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
