// Several real bot processes on one Redis share one Luma budget, and a job outlives its process (leases: kill -9 one
// of two mid-job and the other delivers; change the shard count and nothing is stranded). Each test has its own key
// prefix (STORAGE_NAMESPACE) on the shared local Redis, deleted afterwards. At the end: `npm run start:shards` stops
// when asked.
import { execFileSync } from 'node:child_process';
import { spawnBot, startWorld, type World } from '../../dev/fakes/world.js';
import { builtEntry } from '../helpers/built.js';
import { TEST_BOT_ENV } from '../helpers/harness.js';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeDiscord, type FakeDiscord } from '../../dev/fakes/discord/server.js';
import { startFakeLuma } from '../../dev/fakes/luma/server.js';
import type { FakeLuma } from '../../dev/fakes/luma/api.js';
import { deleteNamespace, REDIS_URL, testNamespace } from '../helpers/redis-keys.js';
import { delivered, deliveriesOf, imagine, killLeftoverBots, newMember, startBotProcess, type ProcessHarness } from '../helpers/process.js';
import { messageText } from '../helpers/message-text.js';
import { guildOnShard } from '../helpers/shards.js';

describe('bot processes sharing one Redis', () => {
  const harnesses: ProcessHarness[] = [];
  const fakes: Array<FakeDiscord | FakeLuma> = [];
  let ns = '';
  afterEach(async () => {
    for (const h of harnesses.splice(0)) await h.close();
    await killLeftoverBots();
    for (const f of fakes.splice(0)) await f.close();
    if (ns) await deleteNamespace(ns);
    ns = '';
  });

  const sharedEnv = (extra: Record<string, string> = {}) => {
    ns ||= testNamespace();
    return { STORAGE_URL: REDIS_URL, STORAGE_NAMESPACE: ns, JOB_LEASE_MS: '1500', ...extra };
  };

  it('never exceeds the account’s requests per minute or concurrent jobs with 3 processes, configured once', async () => {
    // The plan: 4 POSTs a minute, 2 jobs at once. Each process is told the same (the operator configures it once);
    // alone, none of them would hold back its 2 jobs, and together they would send 6 POSTs into a window of 4.
    const luma = await startFakeLuma({ plan: { rpm: 4, concurrent: 2 }, processingMs: 600 });
    fakes.push(luma);
    const env = sharedEnv({ LUMA_MAX_REQUESTS_PER_MINUTE: '4', LUMA_MAX_CONCURRENT_JOBS: '2' });
    const started = await Promise.all([0, 1, 2].map(() => startBotProcess({ env, fakes: { luma } })));
    harnesses.push(...started);
    const jobs = started.flatMap((h, n) =>
      [0, 1].map((k) => ({ h, member: newMember(`p${n}`), prompt: `shared budget: process ${n}, job ${k}` })),
    );
    const sent = await Promise.all(jobs.map(async (j) => ({ ...j, i: await imagine(j.h.discord, j.member, j.prompt) })));

    for (const j of sent) expect(await delivered(j.h.discord, j.i, j.prompt, j.member, 150_000)).toHaveLength(1);
    const posts = luma.posts();
    expect(posts.filter((p) => p.limitedBy !== undefined)).toEqual([]);
    expect(posts.filter((p) => p.status === 201)).toHaveLength(6);
  }, 200_000);

  it('delivers a job exactly once from the other process after the one working on it is killed with -9', async () => {
    const guilds = [guildOnShard(0, 2), guildOnShard(1, 2)];
    const discord = await startFakeDiscord({ guilds: guilds.map((id) => ({ id })) });
    const luma = await startFakeLuma();
    fakes.push(discord, luma);
    const a = await startBotProcess({ env: sharedEnv({ SHARDS: '0', SHARD_COUNT: '2' }), fakes: { discord, luma } });
    harnesses.push(a);
    const b = await startBotProcess({ env: sharedEnv({ SHARDS: '1', SHARD_COUNT: '2' }), fakes: { discord, luma } });
    harnesses.push(b);

    // One job on each process; both held at Luma, so each is mid-job (polling) when process A dies.
    const member = newMember();
    const other = newMember();
    luma.planNext({ hold: true });
    const onA = await imagine(discord, member, 'takeover: the orphan', { guildId: guilds[0] ?? '' });
    await discord.waitFor(() => luma.generations().length === 1, 10_000, 'the first job at Luma');
    luma.planNext({ hold: true });
    const onB = await imagine(discord, other, 'takeover: the survivor', { guildId: guilds[1] ?? '' });
    await discord.waitFor(() => luma.generations().length === 2, 10_000, 'the second job at Luma');
    await discord.waitFor(() => messageText(discord.original(onA.token)).includes('Generating') === true, 10_000, 'the first job polling');
    expect(a.bot.lines.some((l) => l.msg === 'submitted to Luma')).toBe(true);

    expect((await a.kill('SIGKILL')).signal).toBe('SIGKILL');
    await b.bot.waitForLog((l) => l.msg === 'took over jobs whose process stopped renewing its lease' && l.count === 1, 20_000, 'the takeover');
    for (const g of luma.generations()) luma.release(g.id);

    expect(await delivered(discord, onA, 'takeover: the orphan', member)).toHaveLength(1);
    expect(await delivered(discord, onB, 'takeover: the survivor', other)).toHaveLength(1);
    // Resumed at its step: polled, never POSTed again.
    expect(luma.posts()).toHaveLength(2);
    expect(deliveriesOf(discord, onA, 'takeover: the orphan', member)).toHaveLength(1);
  }, 90_000);

  it('delivers once when the process is killed -9 while its upload to the reply lands, and another takes the job over', async () => {
    const guilds = [guildOnShard(0, 2), guildOnShard(1, 2)];
    const discord = await startFakeDiscord({ guilds: guilds.map((id) => ({ id })) });
    const luma = await startFakeLuma();
    fakes.push(discord, luma);
    // Progress edits throttled to one, so the next PATCH of the reply after it is the upload itself.
    const env = (shard: number) => sharedEnv({ SHARDS: String(shard), SHARD_COUNT: '2', PROGRESS_INTERVAL_MS: '60000' });
    const a = await startBotProcess({ env: env(0), fakes: { discord, luma } });
    harnesses.push(a);
    const b = await startBotProcess({ env: env(1), fakes: { discord, luma } });
    harnesses.push(b);
    const member = newMember();
    const prompt = 'takeover mid-delivery: a lighthouse';
    luma.planNext({ hold: true });
    const i = await imagine(discord, member, prompt, { guildId: guilds[0] ?? '' });
    await discord.waitFor(() => discord.edits(i.token).length === 1 && luma.generations()[0]?.state === 'processing', 10_000, 'the first progress edit');
    discord.fault({ method: 'PATCH', path: /\/messages\/@original$/ }, { pass: true, delayMs: 1500 });
    luma.release(luma.generations()[0]?.id ?? '');
    await discord.waitFor(() => discord.requestsTo('PATCH', /\/messages\/@original$/).some((r) => r.fault && r.files.length > 0), 10_000, 'the held upload');
    await a.kill('SIGKILL');

    // The upload in flight holds the job against takeover for a while (the dead process cannot be told from a
    // stalled one, whose upload may still land): then the other process reads the reply before anything else.
    await b.bot.waitForLog((l) => l.msg === 'took over jobs whose process stopped renewing its lease', 60_000, 'the takeover');
    await b.bot.waitForLog((l) => l.msg === 'result delivered' || String(l.msg).startsWith('the reply already shows the result'), 20_000, 'the end of the job');
    // Once for the member: one message, the reply, showing one image. (When the takeover checks the reply before
    // the held upload has landed, it uploads again — onto the same reply, which replaces the attachment.)
    const d = deliveriesOf(discord, i, prompt, member);
    expect(d.map((x) => x.where)).toEqual(['original']);
    expect(d[0]?.message.attachments).toHaveLength(1);
    expect(new Set(discord.edits(i.token).map((e) => e.messageId)).size).toBe(1);
    expect(discord.requestsTo('POST', /^\/channels\/\d+\/messages$/)).toHaveLength(0);
    expect(luma.posts()).toHaveLength(1);
  }, 90_000);

  it('strands nothing when the shard count changes between runs: one process finishes what two shards started', async () => {
    const guilds = [guildOnShard(0, 2), guildOnShard(1, 2)];
    const discord = await startFakeDiscord({ guilds: guilds.map((id) => ({ id })) });
    const luma = await startFakeLuma();
    fakes.push(discord, luma);
    const shards = [];
    for (const shard of [0, 1]) {
      const h = await startBotProcess({ env: sharedEnv({ SHARDS: String(shard), SHARD_COUNT: '2' }), fakes: { discord, luma } });
      harnesses.push(h);
      shards.push(h);
    }
    const members = [newMember(), newMember()];
    const sent = [];
    for (const n of [0, 1]) {
      luma.planNext({ hold: true });
      const prompt = `reshard: job of shard ${n}`;
      sent.push({ prompt, member: members[n] ?? newMember(), i: await imagine(discord, members[n] ?? newMember(), prompt, { guildId: guilds[n] ?? '' }) });
      await discord.waitFor(() => luma.generations().length === n + 1, 10_000, `the job of shard ${n} at Luma`);
    }
    // Both stop (one cleanly, one with -9): then the bot runs as a single shard.
    await shards[0]?.kill('SIGTERM');
    await shards[1]?.kill('SIGKILL');
    const single = await startBotProcess({ env: sharedEnv({ SHARDS: '0', SHARD_COUNT: '1' }), fakes: { discord, luma } });
    harnesses.push(single);
    for (const g of luma.generations()) luma.release(g.id);

    for (const s of sent) expect(await delivered(discord, s.i, s.prompt, s.member)).toHaveLength(1);
    expect(luma.posts()).toHaveLength(2);
  }, 90_000);
});

// `npm run start:shards` stops when asked: SIGTERM to the manager reaches every shard, none is respawned, and the
// manager exits (code 0) once they have — no shard process is left running. Real processes: the compiled manager
// and its two shards against the fakes.
/** The pids of a process's children. */
function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map((l) => Number(l.trim()))
      .filter((n) => n > 0);
  } catch {
    return []; // ps exits 1 when there are none
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('npm run start:shards', () => {
  let world: World | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it('forwards SIGTERM to every shard, respawns none, and exits once they have', async () => {
    world = await startWorld({ env: { ...TEST_BOT_ENV, LOG_FORMAT: 'json', SHARD_COUNT: '2' }, tempPrefix: 'luma-bot-shards-' });
    const manager = spawnBot(world, { builtEntry: await builtEntry('src/shards.ts') });
    await manager.waitForLog((l) => l.msg === 'bot ready' && l.shard === '1', 60_000, 'shard 1 ready');
    await manager.waitForLog((l) => l.msg === 'bot ready' && l.shard === '0', 60_000, 'shard 0 ready');
    const shards = childrenOf(manager.child.pid ?? 0);
    expect(shards).toHaveLength(2);

    const exit = await manager.kill('SIGTERM', 30_000);
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(shards.filter(alive)).toEqual([]);
    const stopAt = manager.lines.findIndex((l) => l.msg === 'stopping shards');
    expect(stopAt).toBeGreaterThanOrEqual(0);
    expect(manager.lines.slice(stopAt).filter((l) => l.msg === 'shard started' || l.msg === 'bot ready')).toEqual([]);
    expect(manager.lines.filter((l) => l.msg === 'shutting down')).toHaveLength(2);
  }, 120_000);
});
