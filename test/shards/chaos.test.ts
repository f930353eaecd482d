// Chaos with real bot processes on Redis (JOB_LEASE_MS=1500) and the project's fakes: a process stalled (SIGSTOP)
// longer than its lease while its job polls, while its POST is in flight, and while its upload is in flight; Redis
// itself gone for longer than the lease with every process alive; a process killed -9 right after it took a job
// over. In each, every job is delivered exactly once (one upload, one `result delivered`), Luma gets one POST per
// job, and the stored record is the live owner's (a stale process's late save is refused). Each test has its own
// key prefix on the shared Redis, or a Redis of its own when Redis is stopped. CHAOS_DUMP=<dir> writes each test's
// bot log lines there (for a failure's story).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@keyv/redis';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { DispatchedInteraction, FakeDiscord } from '../../dev/fakes/discord/server.js';
import { startFakeDiscord } from '../../dev/fakes/discord/server.js';
import { startFakeLuma } from '../../dev/fakes/luma/server.js';
import type { FakeLuma } from '../../dev/fakes/luma/api.js';
import type { JobRecord } from '../../src/jobs/types.js';
import { createStorage } from '../../src/storage/index.js';
import type { LogLine } from '../helpers/logs.js';
import { messageText } from '../helpers/message-text.js';
import { freePort } from '../helpers/ports.js';
import { delivered, imagine, killLeftoverBots, newMember, startBotProcess, type Member, type ProcessHarness } from '../helpers/process.js';
import { deleteNamespace, REDIS_URL, testNamespace } from '../helpers/redis-keys.js';
import { guildOnShard } from '../helpers/shards.js';

const TAKEOVER = 'took over jobs whose process stopped renewing its lease';

describe('chaos: processes that stall, die or lose Redis never deliver twice nor pay Luma twice', () => {
  const harnesses: ProcessHarness[] = [];
  const fakes: Array<{ close(): Promise<void> }> = [];
  let ns = '';
  let redis: PrivateRedis | undefined;
  afterEach(async (ctx) => {
    if (process.env.CHAOS_DUMP) {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(`${process.env.CHAOS_DUMP}/${ctx.task.name.slice(0, 3)}.log`, harnesses.map((h, n) => h.lines.map((l) => `${n} ${JSON.stringify(l)}`).join('\n')).join('\n'));
    }
    for (const h of harnesses) if (h.bot.running) h.bot.child.kill('SIGCONT');
    for (const h of harnesses.splice(0)) await h.close();
    await killLeftoverBots();
    for (const f of fakes.splice(0)) await f.close();
    if (ns && !redis) await deleteNamespace(ns);
    await redis?.close();
    redis = undefined;
    ns = '';
  });

  /** `count` bot processes, one per shard, on one Redis, one fake Discord (a guild per shard) and one fake Luma. */
  async function processes(count: number, extra: Record<string, string> = {}, url = REDIS_URL) {
    ns = testNamespace();
    const guilds = Array.from({ length: count }, (_, n) => guildOnShard(n, count));
    const discord = await startFakeDiscord({ guilds: guilds.map((id) => ({ id })) });
    const luma = await startFakeLuma();
    fakes.push(discord, luma);
    const started: ProcessHarness[] = [];
    for (let shard = 0; shard < count; shard++) {
      const env = { STORAGE_URL: url, STORAGE_NAMESPACE: ns, JOB_LEASE_MS: '1500', SHARDS: String(shard), SHARD_COUNT: String(count), ...extra };
      const h = await startBotProcess({ env, fakes: { discord, luma } });
      harnesses.push(h);
      started.push(h);
    }
    return { discord, luma, guilds, bots: started };
  }

  const stall = (h: ProcessHarness) => h.bot.child.kill('SIGSTOP');
  const resume = (h: ProcessHarness) => h.bot.child.kill('SIGCONT');
  const linesOf = (bots: ProcessHarness[]): LogLine[] => bots.flatMap((b) => b.lines);
  /** The log lines that say a member's result was delivered, across every process. */
  const deliveredLines = (bots: ProcessHarness[], member: Member) => linesOf(bots).filter((l) => l.msg === 'result delivered' && l.userId === member.id);
  /** Every upload of a file to this interaction's messages, and every channel post with a file. */
  const uploads = (discord: FakeDiscord, i: DispatchedInteraction) =>
    discord.requestsTo('*', /./).filter((r) => r.files.length > 0 && (r.path.includes(`/${i.token}/`) || /^\/channels\/\d+\/messages$/.test(r.path)));
  /** The job id of the member's job, from the log of the process that queued it. */
  const jobIdOf = (bots: ProcessHarness[], member: Member): string => String(linesOf(bots).find((l) => l.msg === 'job queued' && l.userId === member.id)?.jobId);
  /** Until a stalled process, resumed, has let the job go (or, without the fence, delivered it after all). */
  const settledBy = (h: ProcessHarness, member: Member) =>
    h.bot.waitForLog((l) => l.userId === member.id && (l.msg === 'result delivered' || l.msg === 'job dropped: another process holds it now' || String(l.msg).startsWith('OPERATOR: a job')), 20_000, 'the stalled process letting the job go');
  /** The stored record, read as any process would. */
  async function record(url: string, jobId: string): Promise<JobRecord | undefined> {
    const storage = await createStorage(url, pino({ level: 'silent' }), { namespace: ns });
    try {
      return await storage.get<JobRecord>(`job:${jobId}`);
    } finally {
      await storage.close();
    }
  }
  /** Each member's job delivered once, one POST per job, and the stored record the live owner's. */
  async function exactlyOnce(w: { discord: FakeDiscord; luma: FakeLuma; bots: ProcessHarness[] }, jobs: { i: DispatchedInteraction; member: Member; prompt: string }[], url = REDIS_URL) {
    for (const j of jobs) {
      expect(await delivered(w.discord, j.i, j.prompt, j.member)).toHaveLength(1);
      await w.discord.waitFor(() => deliveredLines(w.bots, j.member).length > 0, 10_000, 'the delivery logged');
      expect(uploads(w.discord, j.i)).toHaveLength(1);
      expect(deliveredLines(w.bots, j.member)).toHaveLength(1);
    }
    expect(w.luma.posts()).toHaveLength(jobs.length);
    const generations = new Set(w.luma.generations().map((g) => g.id));
    for (const j of jobs) {
      const stored = await record(url, jobIdOf(w.bots, j.member));
      expect(stored?.step).toBe('done');
      expect(generations.has(stored?.generationId ?? '')).toBe(true);
    }
  }

  it('(a) a process stalled past its lease while its job polls lets the job go to the one that took it over', async () => {
    const w = await processes(2);
    const [a, b] = w.bots as [ProcessHarness, ProcessHarness];
    const member = newMember();
    const prompt = 'chaos a: stalled while polling';
    w.luma.planNext({ hold: true });
    const i = await imagine(w.discord, member, prompt, { guildId: w.guilds[0] ?? '' });
    await w.discord.waitFor(() => messageText(w.discord.original(i.token)).includes('Generating'), 15_000, 'the job polling');
    stall(a);
    await b.bot.waitForLog((l) => l.msg === TAKEOVER, 20_000, 'the takeover');
    for (const g of w.luma.generations()) w.luma.release(g.id);
    await b.bot.waitForLog((l) => l.msg === 'result delivered', 20_000, 'the delivery by the new owner');
    resume(a);
    await settledBy(a, member);
    await exactlyOnce(w, [{ i, member, prompt }]);
    expect(a.lines.some((l) => String(l.msg).startsWith('OPERATOR:'))).toBe(true);
  }, 90_000);

  it('(b) a process stalled with its POST in flight keeps that job (never sent twice); its other job goes to the peer', async () => {
    const w = await processes(2);
    const [a, b] = w.bots as [ProcessHarness, ProcessHarness];
    const polling = { member: newMember(), prompt: 'chaos b: the job at Luma' };
    const posting = { member: newMember(), prompt: 'chaos b: the job being sent' };
    w.luma.planNext({ hold: true });
    const i1 = await imagine(w.discord, polling.member, polling.prompt, { guildId: w.guilds[0] ?? '' });
    await w.discord.waitFor(() => messageText(w.discord.original(i1.token)).includes('Generating'), 15_000, 'the first job polling');
    // Luma answers the second POST 2.5 s after it arrives: the process is stopped meanwhile.
    w.luma.fault({ method: 'POST', path: '/v1/generations' }, { delayMs: 2500 });
    const i2 = await imagine(w.discord, posting.member, posting.prompt, { guildId: w.guilds[0] ?? '' });
    await w.discord.waitFor(() => w.luma.requests.filter((r) => r.method === 'POST').length === 2, 15_000, 'the second POST at Luma');
    stall(a);
    // The peer takes what it may (the job at Luma), in a pass that also met the job whose POST is in flight.
    await b.bot.waitForLog((l) => l.msg === TAKEOVER, 20_000, 'the takeover');
    resume(a);
    for (const g of w.luma.generations()) w.luma.release(g.id);
    await settledBy(a, polling.member);
    await exactlyOnce(w, [
      { i: i1, ...polling },
      { i: i2, ...posting },
    ]);
    // The job sent by the stalled process was finished by it, its answer saved under its own claim.
    expect(deliveredLines([a], posting.member)).toHaveLength(1);
  }, 90_000);

  it('(c) a process stalled while its upload is in flight finishes it; nobody uploads the result a second time', async () => {
    const w = await processes(2, { PROGRESS_INTERVAL_MS: '60000' });
    const [a, b] = w.bots as [ProcessHarness, ProcessHarness];
    const other = { member: newMember(), prompt: 'chaos c: the job still at Luma' };
    const uploading = { member: newMember(), prompt: 'chaos c: the upload in flight' };
    w.luma.planNext({ hold: true });
    const i1 = await imagine(w.discord, other.member, other.prompt, { guildId: w.guilds[0] ?? '' });
    await w.discord.waitFor(() => w.luma.generations().length === 1 && w.discord.edits(i1.token).length === 1, 15_000, 'the first job at Luma');
    w.luma.planNext({ hold: true });
    const i2 = await imagine(w.discord, uploading.member, uploading.prompt, { guildId: w.guilds[0] ?? '' });
    await w.discord.waitFor(() => w.luma.generations().length === 2 && w.discord.edits(i2.token).length === 1, 15_000, 'the second job at Luma');
    // The upload lands 6 s after it arrives: long after the peer's takeover pass has read the reply.
    w.discord.fault({ method: 'PATCH', path: new RegExp(`/${i2.token}/messages/@original$`) }, { pass: true, delayMs: 6000 });
    w.luma.release(w.luma.generations()[1]?.id ?? '');
    await w.discord.waitFor(() => w.discord.requestsTo('PATCH', /\/messages\/@original$/).some((r) => r.fault && r.files.length > 0), 15_000, 'the held upload');
    stall(a);
    await b.bot.waitForLog((l) => l.msg === TAKEOVER, 20_000, 'the takeover');
    resume(a);
    w.luma.release(w.luma.generations()[0]?.id ?? '');
    await settledBy(a, other.member);
    await exactlyOnce(w, [
      { i: i1, ...other },
      { i: i2, ...uploading },
    ]);
    expect(deliveredLines([a], uploading.member)).toHaveLength(1);
  }, 90_000);

  it('(d) Redis gone for longer than the lease with both processes alive: each job is still delivered once', async () => {
    redis = await PrivateRedis.start();
    const w = await processes(2, {}, redis.url);
    const jobs: { i: DispatchedInteraction; member: Member; prompt: string }[] = [];
    for (const n of [0, 1]) {
      const member = newMember();
      const prompt = `chaos d: the job of process ${n}`;
      w.luma.planNext({ hold: true });
      const i = await imagine(w.discord, member, prompt, { guildId: w.guilds[n] ?? '' });
      await w.discord.waitFor(() => messageText(w.discord.original(i.token)).includes('Generating'), 15_000, `job ${n} polling`);
      jobs.push({ i, member, prompt });
    }
    const [a, b] = w.bots as [ProcessHarness, ProcessHarness];
    const failedBeats = (h: ProcessHarness) => h.lines.filter((l) => String(l.msg).startsWith('could not renew this process’s job lease')).length;
    await redis.stop();
    // Each process has missed its heartbeat for longer than the lease (a beat every 500 ms).
    await w.discord.waitFor(() => w.bots.every((h) => failedBeats(h) >= 5), 20_000, 'both leases lapsed');
    // B gets back to Redis later than A (its reconnect backs off longer; here it is held still meanwhile).
    stall(b);
    await redis.restart();
    await a.bot.waitForLog((l) => String(l.msg).startsWith('OPERATOR: this process could not renew its job lease'), 20_000, 'the lapse noticed');
    // A renews its own lease first, then finds B's lapsed and takes B's job over.
    await a.bot.waitForLog((l) => l.msg === TAKEOVER, 20_000, 'the takeover of B’s job');
    for (const g of w.luma.generations()) w.luma.release(g.id);
    await w.discord.waitFor(() => jobs.every((j) => deliveredLines([a], j.member).length > 0), 20_000, 'both jobs delivered by A');
    resume(b);
    await settledBy(b, jobs[1]?.member ?? newMember());
    await exactlyOnce(w, jobs, redis.url);
    expect(deliveredLines([b], jobs[1]?.member ?? newMember())).toHaveLength(0);
  }, 120_000);

  it('(e) three processes: one stalls, the one that took its job over is killed -9, the third delivers it once', async () => {
    const w = await processes(3);
    const [a] = w.bots as [ProcessHarness];
    const member = newMember();
    const prompt = 'chaos e: a takeover killed';
    w.luma.planNext({ hold: true });
    const i = await imagine(w.discord, member, prompt, { guildId: w.guilds[0] ?? '' });
    await w.discord.waitFor(() => messageText(w.discord.original(i.token)).includes('Generating'), 15_000, 'the job polling');
    stall(a);
    const taker = await w.discord.waitFor(() => w.bots.slice(1).find((h) => h.lines.some((l) => l.msg === TAKEOVER)), 20_000, 'the first takeover');
    await taker.kill('SIGKILL');
    const third = w.bots.find((h) => h !== a && h !== taker) as ProcessHarness;
    await third.bot.waitForLog((l) => l.msg === TAKEOVER, 20_000, 'the second takeover');
    for (const g of w.luma.generations()) w.luma.release(g.id);
    await third.bot.waitForLog((l) => l.msg === 'result delivered', 20_000, 'the delivery by the third');
    resume(a);
    await settledBy(a, member);
    await exactlyOnce(w, [{ i, member, prompt }]);
    expect(deliveredLines([third], member)).toHaveLength(1);
  }, 90_000);
});

/** A Redis of the test's own (the shared one must not be stopped), kept on disk so a restart finds its data. */
class PrivateRedis {
  private child: ChildProcess | undefined;
  private constructor(
    private readonly port: number,
    private readonly dir: string,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<PrivateRedis> {
    const r = new PrivateRedis(await freePort(), await mkdtemp(join(tmpdir(), 'chaos-redis-')));
    await r.restart();
    return r;
  }

  /** Starts the server on its port and directory (loading what it saved) and waits until it answers. */
  async restart(): Promise<void> {
    this.child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    for (let tries = 0; ; tries++) {
      const client = createClient({ url: this.url, socket: { reconnectStrategy: false } });
      client.on('error', () => undefined);
      try {
        await client.connect();
        await client.ping();
        closeQuietly(client);
        return;
      } catch (err) {
        closeQuietly(client);
        if (tries > 100) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** Saves its data and stops (as a failover takes a primary away), resolving once the process has exited. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    const client = createClient({ url: this.url, socket: { reconnectStrategy: false } });
    client.on('error', () => undefined); // the server goes away under it
    await client.connect();
    await client.sendCommand(['SHUTDOWN', 'SAVE']).catch(() => undefined); // the socket closes under it
    closeQuietly(client);
    await exited;
  }

  async close(): Promise<void> {
    if (this.child && this.child.exitCode === null) {
      const exited = new Promise((r) => this.child?.once('exit', r));
      this.child.kill('SIGKILL');
      await exited;
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Closes a client that may be closed already (destroy() throws then). */
function closeQuietly(client: { destroy(): void }): void {
  try {
    client.destroy();
  } catch {
    // closed already
  }
}
