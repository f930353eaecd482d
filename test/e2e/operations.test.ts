// Operating the bot end to end: starting it (configuration errors, a rejected key or token; deploy-commands and
// invite-url), the container's HEALTHCHECK, /healthz and a taken HTTP_PORT, /bot-status and /bot-operator, /metrics,
// and the storage sweep of a running bot. The entry points run compiled, as child processes in a clean directory (no
// .env), like Docker and an operator run them; the rest is the real bot in process against the fakes.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeDiscord, type DispatchedInteraction, type FakeDiscord, type FakeUserInput } from '../../dev/fakes/discord/server.js';
import { startFakeLuma } from '../../dev/fakes/luma/server.js';
import type { FakeLuma } from '../../dev/fakes/luma/api.js';
import { loadConfig } from '../../src/config.js';
import { deployCommands } from '../../src/deploy-commands.js';
import { createLogger } from '../../src/logger.js';
import { StartupError, startBot } from '../../src/main.js';
import { builtEntry } from '../helpers/built.js';
import { fakeEnv, opt, startHarness, type Harness } from '../helpers/harness.js';
import { LogCapture } from '../helpers/logs.js';
import { messageText } from '../helpers/message-text.js';
import { freePort } from '../helpers/ports.js';
import { privateAnswer } from '../helpers/private-answer.js';
import { killLeftoverBots, startBotProcess, type ProcessHarness } from '../helpers/process.js';
import { waitUntil } from '../helpers/wait.js';
import { insertExpiredRows, sqliteKeys } from '../helpers/storage-faults.js';
import { samples, total } from '../ops/metrics-text.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

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

/** The owner of the fake Discord's application (GET /applications/@me). */
const OWNER: FakeUserInput = { id: '100000000000000001', username: 'owner' };
const LISTED: FakeUserInput = { id: '700000000000000077', username: 'listed-operator' };
const MEMBER: FakeUserInput = { id: '700000000000000078', username: 'member' };
const EPHEMERAL = 64;

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

// The container's HEALTHCHECK command against the compiled entry point, run as a child process like Docker runs both.
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

// /healthz: off unless HTTP_PORT is set; 200 while the gateway and storage answer, 503 with the reason when they do
// not; and a start that stops on a taken HTTP_PORT.
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

// /bot-status: who may run it (the owner, the owning team, OPERATOR_USER_IDS), and the status line in the log.
describe('/bot-status', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  /** The private answer to an interaction (the deferred ephemeral reply, edited). */
  const answer = (i: DispatchedInteraction): Promise<string> =>
    h!.discord.waitFor(() => {
      const m = h!.discord.original(i.token);
      return m && ((m.flags ?? 0) & EPHEMERAL) !== 0 && m.content !== '' ? m.content : undefined;
    }, 10_000, 'the /bot-status answer');
  const status = (user: FakeUserInput, guildId?: string | null) =>
    h!.discord.slashCommand({ name: 'bot-status', user, ...(guildId !== undefined ? { guildId } : {}) });

  it("shows the application owner today's spend against the cap, the queue, Luma's limits and the last hour's failures", async () => {
    h = await startHarness({ env: { SPEND_CAP_USD_PER_DAY: '2', LUMA_MAX_CONCURRENT_JOBS: '6', LUMA_MAX_REQUESTS_PER_MINUTE: '25', QUOTA_DEFAULT_LIMIT: 'unlimited' } });
    const made = await h.discord.slashCommand({ name: 'imagine', options: [opt.string('prompt', 'status: one image')] });
    await h.discord.waitFor(() => (h!.discord.original(made.token)?.attachments.length ?? 0) > 0 || undefined, 20_000, 'the image');
    h.luma.planNext({ failWith: 'content_moderated' });
    const failed = await h.discord.slashCommand({ name: 'imagine', options: [opt.string('prompt', 'status: one failure')] });
    await h.discord.waitFor(() => messageText(h!.discord.original(failed.token)).includes('could not be made') || undefined, 20_000, 'the failure');

    const text = await answer(await status(OWNER));
    // Only the delivered job is spent: Luma refunds content_moderated, so the operator's spend takes it back. $0.0404 of a $2 cap.
    expect(text).toMatch(/Spend today \(UTC\):\*\* \$0\.0404 of \$2\.00 cap \(2 %\)/);
    expect(text).toMatch(/Queue:\*\* 0 waiting · 0 at Luma · 0 being delivered/);
    expect(text).toMatch(/Luma limits:\*\* 6 jobs at once \(LUMA_MAX_CONCURRENT_JOBS\) · \d+ of 25 requests in the last minute \(LUMA_MAX_REQUESTS_PER_MINUTE: Luma has not reported/);
    expect(text).toMatch(/Failures in the last hour:\*\* 1 — `content_moderated` ×1/);
    expect(text).toMatch(/Discord gateway:\*\* connected/);
  });

  it('works in a DM with the bot and for users in OPERATOR_USER_IDS', async () => {
    h = await startHarness({ env: { OPERATOR_USER_IDS: `800000000000000001, ${LISTED.id}` } });
    expect(await answer(await status(LISTED))).toMatch(/Spend today \(UTC\):\*\* \$0\.00 \(no cap set/);
    expect(await answer(await status(OWNER, null))).toMatch(/Failures in the last hour:\*\* none/);
  });

  it('refuses everyone else, privately, without showing a figure', async () => {
    h = await startHarness({ env: { OPERATOR_USER_IDS: LISTED.id } });
    const text = await answer(await status(MEMBER));
    expect(text).toMatch(/Only the bot's operator can use \/bot-status/);
    expect(text).not.toMatch(/Spend|Queue|\$/);
    // Nothing else was said in the channel.
    expect(h.discord.channelMessages(h.discord.channelId ?? '')).toHaveLength(0);
  });

  it('lets the accepted members of the team that owns the application in, and no one merely invited', async () => {
    h = await startHarness();
    const teamMember: FakeUserInput = { id: '700000000000000091', username: 'team-dev' };
    const invited: FakeUserInput = { id: '700000000000000092', username: 'team-invited' };
    // Discord's answer for an application a team owns (the fake's own application, with a team added).
    const res = await fetch(`${h.discord.apiUrl}/v10/applications/@me`, { headers: { authorization: `Bot ${h.discord.token}` } });
    const application = (await res.json()) as Record<string, unknown>;
    const member = (user: FakeUserInput, membership_state: number) => ({
      membership_state,
      team_id: '900000000000000001',
      permissions: ['*'],
      role: 'developer',
      user: { id: user.id, username: user.username, discriminator: '0', global_name: null, avatar: null },
    });
    const teamOwned = {
      ...application,
      owner: { id: '900000000000000001', username: 'team900000000000000001', discriminator: '0', global_name: null, avatar: null, flags: 1024 },
      team: { id: '900000000000000001', name: 'Ops', icon: null, owner_user_id: teamMember.id, members: [member(teamMember, 2), member(invited, 1)] },
    };
    h.discord.fault({ method: 'GET', path: '/applications/@me' }, { status: 200, body: teamOwned }, { status: 200, body: teamOwned }, { status: 200, body: teamOwned });

    expect(await answer(await status(teamMember))).toMatch(/Spend today \(UTC\)/);
    expect(await answer(await status(invited))).toMatch(/Only the bot's operator can use/);
    // The application's former owner is no longer its owner once a team holds it.
    expect(await answer(await status(OWNER))).toMatch(/Only the bot's operator can use/);
    expect(h.discord.pendingFaults).toBe(0);
  });

  it('writes the same figures to the log every STATUS_LOG_INTERVAL_MS', async () => {
    h = await startHarness({ env: { STATUS_LOG_INTERVAL_MS: '1000', SPEND_CAP_USD_PER_DAY: '3', LUMA_MAX_CONCURRENT_JOBS: '4' } });
    h.luma.planNext({ failWith: 'generation_failed' });
    const failed = await h.discord.slashCommand({ name: 'imagine', options: [opt.string('prompt', 'status log: one failure')] });
    await h.discord.waitFor(() => messageText(h!.discord.original(failed.token)).includes('could not be made') || undefined, 20_000, 'the failure');
    // A line written after the member was told: by then the unit and the spend have been given back.
    const from = h.logs.lines.length;
    const line = await h.discord.waitFor(
      () => h!.logs.lines.slice(from).find((l) => l.msg === 'operator status'),
      20_000,
      'an operator status line counting the failure',
    );
    expect(line).toMatchObject({ spendUsd: 0, spendCapUsd: 3, queued: 0, lumaConcurrency: 4, failuresLastHour: 1, failuresByCode: { generation_failed: 1 }, gatewayConnected: true });
  });

  it('logs no status line when STATUS_LOG_INTERVAL_MS is 0', async () => {
    h = await startHarness({ env: { STATUS_LOG_INTERVAL_MS: '0', HTTP_PORT: '0' } });
    expect(h.config.statusLogIntervalMs).toBe(0);
    expect(h.logs.find((l) => l.msg === 'operator status')).toBeUndefined();
  });

  it("shows today's and this month's spend by server with what is left of each ceiling, and premium sold by SKU", async () => {
    h = await startHarness({
      env: { QUOTA_DEFAULT_LIMIT: 'unlimited', SERVER_CAP_USD_PER_DAY: '1', PREMIUM_USER_SKU_ID: '1300000000000000001' },
      discord: { skus: [{ id: '1300000000000000001', name: 'Plus', kind: 'user-subscription' }] },
    });
    for (const prompt of ['money: one', 'money: two']) {
      const made = await h.discord.slashCommand({ name: 'imagine', options: [opt.string('prompt', prompt)] });
      await h.discord.waitFor(() => (h!.discord.original(made.token)?.attachments.length ?? 0) > 0 || undefined, 20_000, 'the image');
    }
    h.discord.purchase({ skuId: '1300000000000000001', userId: MEMBER.id ?? '' });
    await h.discord.waitFor(() => h!.logs.find((l) => l.msg === "premium: a member's tier started"), 10_000, 'the tier');
    const text = await answer(await status(OWNER));
    expect(text).toContain('**Spend by server today (top 10):**');
    expect(text).toContain('1. Fake Guild: $0.0808 · 2 units · $0.9192 of its ceiling left');
    expect(text).toMatch(/\*\*Spend by server in \d{4}-\d{2} \(top 10\):\*\*\n1\. Fake Guild: \$0\.0808 · 2 units/);
    expect(text).toContain('**Premium:** member tier (SKU 1300000000000000001): 1 running');
  });
});

describe('/bot-operator', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });
  const GUILD = '1200000000000000001';
  const answer = (i: DispatchedInteraction): Promise<string> =>
    h!.discord.waitFor(() => {
      const m = h!.discord.original(i.token);
      return m && ((m.flags ?? 0) & EPHEMERAL) !== 0 && m.content !== '' ? m.content : undefined;
    }, 10_000, 'the private answer');
  const operator = (subcommand: string, options: ReturnType<(typeof opt)[keyof typeof opt]>[], user = OWNER) =>
    h!.discord.slashCommand({ name: 'bot-operator', subcommand, options, user, guildId: null });
  const imagine = () => h!.discord.slashCommand({ name: 'imagine', user: MEMBER, options: [opt.string('prompt', 'ceiling')] });
  const made = (i: DispatchedInteraction) => h!.discord.waitFor(() => (h!.discord.original(i.token)?.attachments.length ?? 0) > 0 || undefined, 20_000, 'the image');

  it("sets one server's ceiling above or below the default, clears it back, and shows the server's figures", async () => {
    h = await startHarness({ env: { QUOTA_DEFAULT_LIMIT: 'unlimited', SERVER_CAP_USD_PER_DAY: '0.05' } });
    await made(await imagine());
    const usd = (n: number) => ({ name: 'usd', type: 10, value: n });
    const set = await answer(await operator('set-server-cap', [opt.string('server', GUILD), usd(0.1)]));
    expect(set).toContain(`Server ${GUILD} may now spend at most **$0.10** a day (UTC)`);
    expect(set).toContain('Today (UTC): $0.0404 spent · 1 unit · $0.0596 of its ceiling left');
    await made(await imagine());
    const shown = await answer(await operator('server', [opt.string('server', GUILD)]));
    expect(shown).toContain('Ceiling: $0.10 a day (set by the operator)');
    expect(shown).toMatch(/This month \(\d{4}-\d{2}\): \$0\.0808 · 2 units · 2 requests/);
    const cleared = await answer(await operator('clear-server-cap', [opt.string('server', GUILD)]));
    expect(cleared).toContain('the default applies, $0.05 a day');
    const refused = await imagine();
    expect(await h.discord.waitFor(() => privateAnswer(h!.discord, refused), 10_000, 'the refusal')).toContain("daily spending limit the bot's operator set for it");
    expect(h.luma.posts()).toHaveLength(2);
  });

  it('refuses everyone but the operators, and a server id that is not one', async () => {
    h = await startHarness();
    expect(await answer(await operator('set-server-cap', [opt.string('server', GUILD), { name: 'usd', type: 10, value: 5 }], MEMBER))).toMatch(/Only the bot's operator can use \/bot-operator/);
    expect(await h.bot.parts.quota.ceilings.override(GUILD)).toBeUndefined();
    expect(await answer(await operator('server', [opt.string('server', 'my server')]))).toContain('is not a server id');
  });
});

// /metrics: the Prometheus text the bot serves, with counters for delivered and failed jobs, Luma and Discord
// errors and quota refusals, and the limits, spend and process figures.
describe('/metrics', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  const scrape = async (): Promise<string> => {
    const res = await fetch(`${h?.bot.healthServer?.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return res.text();
  };
  const imagine = (userId: string, prompt: string) =>
    h!.discord.slashCommand({ name: 'imagine', user: { id: userId, username: `u${userId.slice(-3)}` }, options: [opt.string('prompt', prompt)] });
  const finished = (i: DispatchedInteraction, what: string) =>
    h!.discord.waitFor(() => {
      const m = h!.discord.original(i.token);
      return m && (m.attachments.length > 0 || messageText(m).includes('could not be made')) ? m : undefined;
    }, 20_000, what);

  it('counts a delivered job, a failed one, Luma and Discord errors, a quota refusal, and shows limits, spend and the process', async () => {
    h = await startHarness({ env: { HTTP_PORT: '0', QUOTA_DEFAULT_LIMIT: '1', SPEND_CAP_USD_PER_DAY: '5', LUMA_MAX_CONCURRENT_JOBS: '7', LUMA_MAX_REQUESTS_PER_MINUTE: '40' } });
    const before = await scrape();
    expect(total(before, 'lumabot_jobs_queued_total')).toBe(0);
    expect(total(before, 'lumabot_luma_concurrency_limit')).toBe(7);
    expect(total(before, 'lumabot_luma_requests_per_minute_limit')).toBe(40);
    expect(total(before, 'lumabot_luma_requests_per_minute_configured')).toBe(40);
    expect(total(before, 'lumabot_luma_requests_per_minute_reported')).toBe(0);
    expect(total(before, 'lumabot_luma_limit_source', { limit: 'requests_per_minute', source: 'configured' })).toBe(1);
    expect(total(before, 'lumabot_luma_limit_source', { limit: 'requests_per_minute', source: 'luma' })).toBe(0);
    expect(total(before, 'lumabot_luma_limit_source', { limit: 'concurrency', source: 'configured' })).toBe(1);
    expect(total(before, 'lumabot_luma_down')).toBe(0);
    expect(total(before, 'lumabot_luma_outages_total')).toBe(0);
    expect(total(before, 'lumabot_spend_cap_usd')).toBe(5);
    expect(total(before, 'lumabot_spend_usd_today')).toBe(0);
    expect(total(before, 'lumabot_gateway_connected')).toBe(1);

    // One job made and delivered; Discord refuses one progress edit on the way (a 400 the bot shrugs off).
    h.discord.fault({ method: 'PATCH', path: /^\/webhooks\// }, { status: 400, body: { code: 50035, message: 'Invalid Form Body' } });
    await finished(await imagine('700000000000000001', 'metrics: a delivered job'), 'the first result');
    // One job Luma fails, for another member.
    h.luma.planNext({ failWith: 'generation_failed' });
    await finished(await imagine('700000000000000002', 'metrics: a failed job'), 'the failure');
    // One Luma HTTP error on submit, for a third member.
    h.luma.fault({ method: 'POST', path: '/v1/generations' }, { status: 401, body: { detail: 'scripted 401' } });
    await finished(await imagine('700000000000000003', 'metrics: a 401'), 'the 401 failure');
    // The first member is at their limit of 1: refused before Luma.
    const refused = await imagine('700000000000000001', 'metrics: over quota');
    await h.discord.waitFor(() => h!.logs.find((l) => l.msg === 'refused' && l.code === 'quota_exceeded' && l.interactionId === refused.id), 10_000, 'the refusal');

    // The spend is read from storage at most once a second (one read shared by the scrapes of that second).
    const text = await waitUntil(async () => {
      const t = await scrape();
      return total(t, 'lumabot_spend_usd_today') > 0 && t;
    }, 'a scrape with the spend read after the jobs');
    expect(total(text, 'lumabot_jobs_queued_total', { kind: 'imagine' })).toBe(3);
    expect(total(text, 'lumabot_queue_wait_seconds_count')).toBe(2);
    expect(total(text, 'lumabot_generation_duration_seconds_count', { model: 'uni-1' })).toBe(1);
    expect(total(text, 'lumabot_generation_duration_seconds_sum')).toBeGreaterThan(0);
    expect(total(text, 'lumabot_delivery_duration_seconds_count')).toBe(1);
    expect(total(text, 'lumabot_job_failures_total', { code: 'generation_failed' })).toBe(1);
    expect(total(text, 'lumabot_job_failures_total', { code: 'http_401' })).toBe(1);
    expect(total(text, 'lumabot_job_failures_total')).toBe(2);
    expect(total(text, 'lumabot_luma_errors_total', { method: 'POST', status: '401' })).toBe(1);
    expect(total(text, 'lumabot_discord_errors_total', { status: '400', auth: 'interaction' })).toBe(1);
    expect(total(text, 'lumabot_quota_refusals_total', { code: 'quota_exceeded' })).toBe(1);
    // The delivered job is billed (uni-1, $0.0404); the failures were refunded.
    expect(total(text, 'lumabot_spend_usd_today')).toBeCloseTo(0.0404, 4);
    expect(total(text, 'lumabot_queue_length')).toBe(0);
    expect(samples(text, 'lumabot_jobs').map(([l]) => l.step).sort()).toEqual(['delivering', 'downloading', 'failing', 'polling', 'queued', 'submitting']);
    // prom-client's process metrics and the event loop's delay.
    expect(samples(text, 'nodejs_eventloop_lag_p99_seconds')).toHaveLength(1);
    expect(samples(text, 'process_resident_memory_bytes')).toHaveLength(1);
    // Never a secret: the interaction webhook paths carry tokens.
    expect(text).not.toContain(h.discord.token);
    expect(text).not.toMatch(/webhooks\//);

    // The sample Grafana dashboard only charts metrics the bot exposes.
    const dashboard = readFileSync(new URL('../../ops/grafana-dashboard.json', import.meta.url), 'utf8');
    const charted = new Set([...dashboard.matchAll(/\b((?:lumabot|nodejs|process)_\w+?)(?:_bucket|_count|_sum)?\{/g)].map((m) => m[1] ?? ''));
    expect(charted.size).toBeGreaterThan(15);
    for (const name of charted) expect(text, `the dashboard charts ${name}`).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
  });
});

// keyv deletes an expired record only when it is read, so the running bot sweeps expired rows on SQLite
// (test/storage/sweep.test.ts: what the sweep deletes and keeps).
describe('the running bot sweeps', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('deletes expired rows every STORAGE_SWEEP_INTERVAL_MS', async () => {
    h = await startHarness({ env: { STORAGE_SWEEP_INTERVAL_MS: '1000' } });
    const harness = h;
    const file = harness.env.STORAGE_URL?.slice('sqlite://'.length) ?? '';
    await insertExpiredRows(file, ['jobmsg:1', 'quota:refunded:x', 'job:old']);
    const swept = ['bot:jobmsg:1', 'bot:quota:refunded:x', 'bot:job:old'];
    const logged = () => harness.logs.find((l) => l.msg === 'storage swept of expired records' && (l.deleted as number) >= 3);
    for (const deadline = Date.now() + 20_000; !logged() || (await sqliteKeys(file)).some((k) => swept.includes(k)); ) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for the sweep; rows left: ${(await sqliteKeys(file)).join(', ')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  });
});
