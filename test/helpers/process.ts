// Runs the REAL entry point (`node --import tsx src/index.ts`) as a child process against fakes started in the
// test process, so tests can do what an operator's supervisor does: SIGKILL it mid-job, SIGTERM it, start it
// again on the same storage — and read what it logged (LOG_FORMAT=json, one object a line).
//
//   const p = await startBotProcess({ env: { LUMA_MAX_CONCURRENT_JOBS: '1' } });
//   ... p.discord.slashCommand(...) ...
//   await p.kill('SIGKILL');        // resolves with { code, signal, afterMs }
//   await p.start();                // same SQLite file, same fakes
//   afterEach(() => p.close());     // kills whatever still runs, closes the fakes, removes the temp dir
import type { APIMessage } from 'discord-api-types/v10';
import type { DispatchedInteraction, FakeDiscord, FakeDiscordOptions } from '../../dev/fakes/discord/server.js';
import type { FakeLuma, FakeLumaOptions } from '../../dev/fakes/luma/api.js';
import { BotChild, spawnBot, startWorld, type ExitInfo } from '../../dev/fakes/world.js';
import { TEST_BOT_ENV, TEST_LUMA } from './harness.js';
import type { LogLine } from './logs.js';
import { builtEntry } from './built.js';
import { messageText } from './message-text.js';

export type { ExitInfo } from '../../dev/fakes/world.js';
/** One run of the bot: a child process, its parsed log lines and its exit. */
export { BotChild as BotProcess };
type BotProcess = BotChild;

/** Every run started here and not yet exited, so no test can leak a bot process (see killLeftoverBots). */
const live = new Set<BotChild>();

export interface ProcessHarnessOptions {
  /** Bot environment on top of the defaults (fake URLs, temp SQLite, json logs, POLL_INTERVAL_MS=100). */
  env?: Record<string, string>;
  luma?: FakeLumaOptions;
  discord?: FakeDiscordOptions;
  /** Fakes shared with another harness (several bot processes on one Discord or one Luma); not closed by close(). */
  fakes?: { discord?: FakeDiscord; luma?: FakeLuma };
  /** Extra node flags for the bot process (the bench's `--cpu-prof`, `--heapsnapshot-signal`). */
  nodeArgs?: string[];
  /**
   * Run this compiled entry (`dist/src/index.js` after `npm run build`). Default: the bot compiled for this test run
   * (helpers/built.ts); `source: true` runs the sources through tsx instead.
   */
  builtEntry?: string;
  source?: boolean;
}

export interface ProcessHarness {
  discord: FakeDiscord;
  luma: FakeLuma;
  env: Record<string, string>;
  /** The current (or last) run. */
  bot: BotProcess;
  /** Log lines of every run, in order. */
  lines: LogLine[];
  /** Starts a new run on the same storage and (unless told not to) waits until it logged 'bot ready'. */
  start(opts?: { waitReady?: boolean }): Promise<BotProcess>;
  /** Signals the current run and waits for its exit. */
  kill(signal: NodeJS.Signals): Promise<ExitInfo>;
  /** Kills any run still alive, closes the fakes and removes the storage directory. Safe to call twice. */
  close(): Promise<void>;
}

export async function startBotProcess(opts: ProcessHarnessOptions = {}): Promise<ProcessHarness> {
  const world = await startWorld({
    ...(opts.discord ? { discord: opts.discord } : {}),
    luma: { ...TEST_LUMA, ...opts.luma },
    ...(opts.fakes ? { fakes: opts.fakes } : {}),
    env: { ...TEST_BOT_ENV, LOG_FORMAT: 'json', QUOTA_DEFAULT_LIMIT: '50', ...opts.env },
    tempPrefix: 'luma-bot-proc-',
  });
  const lines: LogLine[] = [];
  let closed = false;

  const h: ProcessHarness = {
    discord: world.discord,
    luma: world.luma,
    env: world.env,
    lines,
    bot: undefined as unknown as BotProcess,
    async start({ waitReady = true } = {}) {
      if (h.bot?.running) throw new Error('the previous bot process is still running');
      const compiled = opts.builtEntry ?? (opts.source ? undefined : await builtEntry());
      const bot = spawnBot(world, {
        ...(opts.nodeArgs ? { nodeArgs: opts.nodeArgs } : {}),
        ...(compiled ? { builtEntry: compiled } : {}),
        onLog: (line) => lines.push(line),
      });
      live.add(bot);
      void bot.exited.then(() => live.delete(bot));
      h.bot = bot;
      if (waitReady) await bot.waitForLog((l) => l.msg === 'bot ready', 30_000, "'bot ready'");
      return bot;
    },
    kill: (signal) => h.bot.kill(signal),
    async close() {
      if (closed) return;
      closed = true;
      if (h.bot?.running) await h.bot.kill('SIGKILL');
      await world.close();
    },
  };
  try {
    await h.start();
  } catch (err) {
    await h.close();
    throw err;
  }
  return h;
}

/** For afterEach: SIGKILLs every bot child still running (a test that threw before its own cleanup). */
export async function killLeftoverBots(): Promise<number> {
  const bots = [...live];
  await Promise.all(bots.map((bot) => bot.kill('SIGKILL')));
  return bots.length;
}

// ——— Driving the bot through the fake Discord ———

export interface Member {
  id: string;
  username: string;
}

let memberSeq = 0;
/** A member id not used by any other test in this process. */
export function newMember(name = 'member'): Member {
  memberSeq++;
  return { id: `6${String(process.pid % 10_000).padStart(4, '0')}${String(memberSeq).padStart(12, '0')}`, username: `${name}${memberSeq}` };
}

/** Runs /imagine as `user`; prompts should be unique per test so results can be told apart. */
export function imagine(discord: FakeDiscord, user: Member, prompt: string, extra: { guildId?: string | null } = {}) {
  return discord.slashCommand({ name: 'imagine', user, ...(extra.guildId !== undefined ? { guildId: extra.guildId } : {}), options: [{ name: 'prompt', type: 3, value: prompt }] });
}

export interface Delivery {
  where: 'original' | 'followup' | 'channel' | 'dm';
  message: APIMessage;
}

/**
 * Every message, anywhere the bot can reach a member, that carries the result of the job with this prompt: the
 * interaction's @original and followups, bot posts in every channel, DMs. Exactly-once means this has length 1.
 */
export function deliveriesOf(discord: FakeDiscord, i: DispatchedInteraction, prompt: string, user: Member): Delivery[] {
  // The prompt is a line of its own under the answer's title (src/discord/answer.ts), in every form of it.
  const isResult = (m: APIMessage) => m.attachments.length > 0 && messageText(m).split('\n').includes(prompt);
  const out: Delivery[] = [];
  const original = discord.original(i.token);
  if (original && isResult(original)) out.push({ where: 'original', message: original });
  for (const m of discord.followups(i.token)) if (m.id !== original?.id && isResult(m)) out.push({ where: 'followup', message: m });
  const dmIds = new Set(discord.dmMessages(user.id).map((m) => m.id));
  const channels = new Set(discord.requestsTo('POST', /^\/channels\/\d+\/messages$/).map((r) => r.path.split('/')[2] ?? ''));
  for (const c of channels) {
    for (const m of discord.channelMessages(c)) if (isResult(m)) out.push({ where: dmIds.has(m.id) ? 'dm' : 'channel', message: m });
  }
  return out;
}

/** Waits until the result of this job was delivered somewhere, then returns every delivery of it. */
export async function delivered(discord: FakeDiscord, i: DispatchedInteraction, prompt: string, user: Member, timeoutMs = 30_000): Promise<Delivery[]> {
  await discord.waitFor(() => deliveriesOf(discord, i, prompt, user).length > 0, timeoutMs, `the result of "${prompt}"`);
  return deliveriesOf(discord, i, prompt, user);
}

/** The member's used units today on the default server, as /quota tells them. */
export async function quotaUsed(discord: FakeDiscord, user: Member): Promise<number> {
  const q = await discord.slashCommand({ name: 'quota', user });
  const text = await discord.waitFor(
    () => {
      const m = discord.original(q.token);
      return m && /Used today: \*\*\d+\*\*/.test(m.content) ? m.content : undefined;
    },
    15_000,
    'the /quota answer',
  );
  return Number(/Used today: \*\*(\d+)\*\*/.exec(text)?.[1]);
}

/**
 * Queues one more /imagine, by a member of its own, and waits until the bot shows it its place in the queue. Only a
 * scheduler pass shows places, after it has sent what it could: so once the probe has a place, a pass ran after
 * everything that happened before, and a job still held then was held by the queue's rules, not by a slow machine.
 * For asserting that something was not sent, without guessing how long the bot might take to send it.
 */
export async function queuedProbe(discord: FakeDiscord, prompt = 'probe: a queue pass'): Promise<DispatchedInteraction> {
  const probe = await imagine(discord, newMember('probe'), prompt);
  await discord.waitFor(() => /position \d+/.test(messageText(discord.original(probe.token)) ?? '') || undefined, 15_000, 'the probe job placed in the queue');
  return probe;
}
