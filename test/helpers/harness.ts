// Starts the fakes and the real bot (the production startBot, configured with the fakes' URLs) for one test.
import type { Config } from '../../src/config.js';
import type { RunningBot } from '../../src/main.js';
import type { FakeDiscord, FakeDiscordOptions } from '../../dev/fakes/discord/server.js';
import { botEnv, startBotInProcess, startWorld } from '../../dev/fakes/world.js';
import { LogCapture } from './logs.js';
import { privateAnswer as privateAnswerOf } from './private-answer.js';
import type { FakeLuma, FakeLumaOptions } from '../../dev/fakes/luma/api.js';

export interface HarnessOptions {
  env?: Record<string, string>;
  luma?: FakeLumaOptions;
  discord?: FakeDiscordOptions;
  /** Reuse fakes (e.g. a restarted bot against the same Discord and Luma). */
  fakes?: { discord: FakeDiscord; luma: FakeLuma };
}

export interface Harness {
  discord: FakeDiscord;
  luma: FakeLuma;
  bot: RunningBot;
  logs: LogCapture;
  config: Config;
  env: Record<string, string>;
  /** Stops the bot (gracefully) and starts a new one on the same storage and fakes. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** What tests run the bot with on top of the fakes' addresses: every log line, fast polling, every progress edit. */
export const TEST_BOT_ENV: Readonly<Record<string, string>> = { LOG_LEVEL: 'debug', POLL_INTERVAL_MS: '100', PROGRESS_INTERVAL_MS: '0' };

/**
 * The fake Luma tests run against: a generation queued for 50 ms, then processing for 150 ms (the fake's own default,
 * 0.8 s in all, is for people watching the playground). A test that needs a slow or held one plans it.
 */
export const TEST_LUMA: Readonly<FakeLumaOptions> = { queuedMs: 50, processingMs: 150 };

/**
 * The environment that points the bot at the fakes, with a fresh SQLite file in `dir` and fast polling; `extra`
 * overrides any of it. Both harnesses (in-process and child-process) start the bot with this.
 */
export function fakeEnv(discord: FakeDiscord, luma: FakeLuma, dir: string, extra: Record<string, string> = {}): Record<string, string> {
  return botEnv(discord, luma, dir, { ...TEST_BOT_ENV, ...extra });
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const world = await startWorld({
    ...(opts.discord ? { discord: opts.discord } : {}),
    luma: { ...TEST_LUMA, ...opts.luma },
    ...(opts.fakes ? { fakes: opts.fakes } : {}),
    env: { ...TEST_BOT_ENV, ...opts.env },
    tempPrefix: 'luma-bot-test-',
  });
  const logs = new LogCapture();
  const boot = () => startBotInProcess(world.env, logs.stream);
  const first = await boot().catch(async (err: unknown) => {
    await world.close();
    throw err;
  });
  const h: Harness = {
    discord: world.discord,
    luma: world.luma,
    bot: first.bot,
    logs,
    config: first.config,
    env: world.env,
    async restart() {
      await h.bot.stop();
      h.bot = (await boot()).bot;
    },
    async close() {
      await h.bot.stop().catch(() => undefined);
      await world.close();
    },
  };
  return h;
}

/** Option helpers for fake slash commands. */
export const opt = {
  string: (name: string, value: string) => ({ name, type: 3, value }),
  bool: (name: string, value: boolean) => ({ name, type: 5, value }),
  int: (name: string, value: number) => ({ name, type: 4, value }),
  attachment: (name: string, id: string) => ({ name, type: 11, value: id }),
  user: (name: string, id: string) => ({ name, type: 6, value: id }),
  role: (name: string, id: string) => ({ name, type: 8, value: id }),
};

/**
 * The private answer a member got: an ephemeral reply (refused before the deferral), or an ephemeral followup
 * after the public "thinking…" was removed (refused after it).
 */
export function privateAnswer(h: Harness, interaction: { id: string; token: string }): Promise<string> {
  return h.discord.waitFor(() => {
    // After a public deferral the member sees the private answer once the public placeholder is gone.
    const deferredPublicly = h.discord.callbacks(interaction.id)[0]?.type === 5 && h.discord.original(interaction.token) !== undefined;
    const answer = privateAnswerOf(h.discord, interaction);
    return deferredPublicly && ((h.discord.original(interaction.token)?.flags ?? 0) & 64) === 0 ? undefined : answer;
  }, 15_000, 'a private answer');
}
