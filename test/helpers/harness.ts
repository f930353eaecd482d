// Starts the fakes and the real bot (the production startBot, configured with the fakes' URLs) for one test.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startBot, type RunningBot } from '../../src/main.js';
import { startFakeDiscord, type FakeDiscord, type FakeDiscordOptions } from '../../dev/fakes/discord/server.js';
import { startFakeLuma } from '../../dev/fakes/luma/server.js';
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

/**
 * The environment that points the bot at the fakes, with a fresh SQLite file in `dir` and fast polling; `extra`
 * overrides any of it. Both harnesses (in-process and child-process) start the bot with this.
 */
export function fakeEnv(discord: FakeDiscord, luma: FakeLuma, dir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DISCORD_TOKEN: discord.token,
    DISCORD_API_URL: discord.apiUrl,
    DISCORD_CDN_ORIGINS: discord.cdnOrigin,
    LUMA_AGENTS_API_KEY: luma.apiKey,
    LUMA_BASE_URL: luma.url,
    STORAGE_URL: `sqlite://${join(dir, 'bot.sqlite')}`,
    LOG_LEVEL: 'debug',
    POLL_INTERVAL_MS: '100',
    PROGRESS_INTERVAL_MS: '0',
    ...extra,
  };
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const discord = opts.fakes?.discord ?? (await startFakeDiscord(opts.discord));
  const luma = opts.fakes?.luma ?? (await startFakeLuma(opts.luma));
  const dir = mkdtempSync(join(tmpdir(), 'luma-bot-test-'));
  const env = fakeEnv(discord, luma, dir, opts.env);
  const config = loadConfig(env);
  const logs = new LogCapture();
  const boot = () => startBot(config, { logger: createLogger({ logLevel: config.logLevel, logFormat: 'json' }, logs.stream) });
  const h: Harness = {
    discord,
    luma,
    bot: await boot(),
    logs,
    config,
    env,
    async restart() {
      await h.bot.stop();
      h.bot = await boot();
    },
    async close() {
      await h.bot.stop().catch(() => undefined);
      if (!opts.fakes) {
        await discord.close();
        await luma.close();
      }
      rmSync(dir, { recursive: true, force: true });
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
