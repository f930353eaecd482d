// Running the real bot against the loopback fakes, in one place: start the fake Discord and the fake Luma, write the
// environment that points the bot at them, and start the bot — in this process (the production startBot) or as a
// child process (the real entry point, as `npm start` runs it). The tests' harnesses, the bench and the playground
// all start their bots through here, so a change to how the bot is pointed at Discord and Luma is made once.
//
//   const world = await startWorld({ env: { POLL_INTERVAL_MS: '100' } });
//   const bot = spawnBot(world);                       // or: await startBotInProcess(world.env, logStream)
//   await bot.waitForLog((l) => l.msg === 'bot ready');
//   ... world.discord.slashCommand(...) ...
//   await bot.kill('SIGTERM'); await world.close();
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Config } from '../../src/config.js';
import type { RunningBot } from '../../src/main.js';
import { BOT_NODE_FLAGS } from '../../src/node-flags.js';
import { startFakeDiscord, type FakeDiscord, type FakeDiscordOptions } from './discord/server.js';
import type { FakeLuma, FakeLumaOptions } from './luma/api.js';
import { startFakeLuma } from './luma/server.js';

/**
 * Children still running and temp folders not yet removed: if this process exits without closing them (a crash,
 * process.exit), the children are killed and then the folders removed.
 */
const running = new Set<ChildProcess>();
const tempFolders = new Set<string>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
  for (const folder of tempFolders) rmSync(folder, { recursive: true, force: true });
});

/** The repository's root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** tsx's loader as a file URL: a bare `--import tsx` would be resolved from the child's working directory. */
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** Where the bot's Luma requests go: a fake Luma, or the real API with the operator's key. */
export interface LumaTarget {
  apiKey: string;
  /** The API base; absent: the bot's own default (the real Luma). */
  url?: string;
}

/**
 * The environment that points the bot at the fake Discord and at `luma`, with its SQLite file in `dataDir`; `extra`
 * adds to it or overrides any of it. Only what the bot needs: it is the whole environment of a bot child process.
 */
export function botEnv(discord: FakeDiscord, luma: LumaTarget, dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DISCORD_TOKEN: discord.token,
    DISCORD_API_URL: discord.apiUrl,
    DISCORD_CDN_ORIGINS: discord.cdnOrigin,
    LUMA_AGENTS_API_KEY: luma.apiKey,
    ...(luma.url === undefined ? {} : { LUMA_BASE_URL: luma.url }),
    STORAGE_URL: `sqlite://${join(dataDir, 'bot.sqlite')}`,
    ...extra,
  };
}

export interface WorldOptions {
  discord?: FakeDiscordOptions;
  luma?: FakeLumaOptions;
  /** Fakes shared with another world (several bots on one Discord or one Luma): used as they are, not closed. */
  fakes?: { discord?: FakeDiscord; luma?: FakeLuma };
  /** The bot's environment on top of botEnv's (speed settings, limits, log format). */
  env?: Record<string, string>;
  /** Keep the bot's state in this folder (created if missing, kept on close). Default: a temp folder, removed. */
  dataDir?: string;
  /** Prefix of the temp folders' names. */
  tempPrefix?: string;
}

export interface World<L extends FakeLuma | undefined = FakeLuma> {
  readonly discord: FakeDiscord;
  /** The fake Luma; undefined when the bot talks to the real API. */
  readonly luma: L;
  /** Where the bot's SQLite file is. */
  readonly dataDir: string;
  /** An empty folder for a bot child process to run in: no `.env` of anyone's is ever read by accident. */
  readonly workDir: string;
  /** The bot's environment (botEnv + the options' env). */
  readonly env: Record<string, string>;
  /** Closes the fakes this world started and removes its temp folders. Safe to call twice. */
  close(): Promise<void>;
}

/** Starts the fakes (or reuses the given ones) and writes the environment; no bot yet. */
export function startWorld(opts?: WorldOptions & { realLuma?: undefined }): Promise<World>;
/** With `realLuma` set, the bot talks to the real Luma API with that key: no fake Luma is started. */
export function startWorld(opts: WorldOptions & { realLuma: LumaTarget | undefined }): Promise<World<FakeLuma | undefined>>;
export async function startWorld(opts: WorldOptions & { realLuma?: LumaTarget | undefined } = {}): Promise<World<FakeLuma | undefined>> {
  const prefix = opts.tempPrefix ?? 'luma-bot-';
  const owned: Array<{ close(): Promise<void> }> = [];
  const folders: string[] = [];
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    for (const fake of owned.reverse()) await fake.close();
    for (const folder of folders) {
      rmSync(folder, { recursive: true, force: true });
      tempFolders.delete(folder);
    }
  };
  const tempFolder = (name: string): string => {
    const folder = mkdtempSync(join(tmpdir(), name));
    folders.push(folder);
    tempFolders.add(folder);
    return folder;
  };
  try {
    const discord = opts.fakes?.discord ?? (await startFakeDiscord(opts.discord));
    if (!opts.fakes?.discord) owned.push(discord);
    let luma: FakeLuma | undefined;
    if (opts.realLuma === undefined) {
      luma = opts.fakes?.luma ?? (await startFakeLuma(opts.luma));
      if (!opts.fakes?.luma) owned.push(luma);
    }
    let dataDir: string;
    if (opts.dataDir === undefined) {
      dataDir = tempFolder(prefix);
    } else {
      dataDir = resolve(opts.dataDir);
      mkdirSync(dataDir, { recursive: true });
    }
    const workDir = tempFolder(`${prefix}cwd-`);
    const env = botEnv(discord, luma ?? opts.realLuma ?? { apiKey: '' }, dataDir, opts.env);
    return { discord, luma, dataDir, workDir, env, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The production bot in this process, with its log lines written as JSON to `logStream`. */
export async function startBotInProcess(env: Record<string, string>, logStream: Writable): Promise<{ bot: RunningBot; config: Config }> {
  // Imported here, not at the top: the playground and the bench run the bot as a child and need none of it.
  const [{ loadConfig }, { createLogger }, { startBot }] = await Promise.all([import('../../src/config.js'), import('../../src/logger.js'), import('../../src/main.js')]);
  const config = loadConfig(env);
  const bot = await startBot(config, { logger: createLogger({ logLevel: config.logLevel, logFormat: 'json' }, logStream) });
  return { bot, config };
}

/** A line the bot logged (LOG_FORMAT=json: one object a line). */
export interface BotLogLine {
  level: number;
  msg: string;
  time?: number;
  [key: string]: unknown;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Time from kill() to exit, ms (from spawn when the process exited on its own). */
  afterMs: number;
}

export interface SpawnOptions {
  /** The entry point under the repository root, run from its sources through tsx. Default 'src/index.ts'. */
  entry?: string;
  /** Run this compiled entry (`dist/src/index.js` after `npm run build`) instead. */
  builtEntry?: string;
  /** Extra node flags, after production's (the bench's `--cpu-prof`). */
  nodeArgs?: string[];
  /** The whole environment besides PATH, HOME and TMPDIR. Default: the world's. */
  env?: Record<string, string>;
  /** Every JSON line the process logs, as it comes. */
  onLog?: (line: BotLogLine) => void;
  /** Keep every log line in `lines` (default true; a long-running playground passes false and keeps its own). */
  keepLines?: boolean;
}


/** One run of one of the project's entry points as a child process: its log lines, stray output and exit. */
export class BotChild {
  readonly lines: BotLogLine[] = [];
  /** stdout lines that were not JSON, and all of stderr (start-up refusals and crashes land here). */
  stray = '';
  readonly exited: Promise<ExitInfo>;
  #killedAt: number | undefined;
  #exit: ExitInfo | undefined;

  constructor(
    readonly child: ChildProcess,
    onLine: (line: BotLogLine) => void,
  ) {
    const started = Date.now();
    let buffered = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line === '') continue;
        let parsed: BotLogLine;
        try {
          parsed = JSON.parse(line) as BotLogLine;
        } catch {
          this.stray += `${line}\n`;
          continue;
        }
        onLine(parsed);
      }
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stray += chunk;
    });
    this.exited = new Promise((done) => {
      child.once('exit', (code, signal) => {
        running.delete(child);
        this.#exit = { code, signal, afterMs: Date.now() - (this.#killedAt ?? started) };
        done(this.#exit);
      });
    });
  }

  get running(): boolean {
    return this.#exit === undefined;
  }

  /** Sends the signal and resolves once the process has exited; SIGKILL follows after `escalateAfterMs`, if given. */
  async kill(signal: NodeJS.Signals, escalateAfterMs?: number): Promise<ExitInfo> {
    if (this.#exit) return this.#exit;
    this.#killedAt = Date.now();
    this.child.kill(signal);
    if (escalateAfterMs === undefined) return this.exited;
    const timer = setTimeout(() => this.child.kill('SIGKILL'), escalateAfterMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves with the first kept log line matching `pred`; rejects if the process exits or time runs out. */
  async waitForLog(pred: (l: BotLogLine) => boolean, timeoutMs = 20_000, what = 'a log line'): Promise<BotLogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find(pred);
      if (found) return found;
      if (!this.running) throw new Error(`bot exited (${JSON.stringify(this.#exit)}) before ${what}\n${this.tail()}`);
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${this.tail()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** The last log messages and stray output, for failure messages. */
  tail(n = 15): string {
    const msgs = this.lines.slice(-n).map((l) => `  ${String(l.msg)}${l.err ? ` (${JSON.stringify((l.err as { message?: string }).message)})` : ''}`);
    return `last log lines:\n${msgs.join('\n')}${this.stray ? `\nstderr/stray:\n${this.stray.slice(-2000)}` : ''}`;
  }
}

/**
 * Starts an entry point (the bot by default) as a child process the way production runs it — node with the bot's
 * flags — in the world's empty working folder, with exactly the world's environment.
 */
export function spawnBot(world: Pick<World<FakeLuma | undefined>, 'env' | 'workDir'>, opts: SpawnOptions = {}): BotChild {
  const entry = opts.builtEntry ? [resolve(ROOT, opts.builtEntry)] : ['--import', TSX_LOADER, join(ROOT, opts.entry ?? 'src/index.ts')];
  const child = spawn(process.execPath, [...BOT_NODE_FLAGS, ...(opts.nodeArgs ?? []), ...entry], {
    cwd: world.workDir,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? world.workDir, TMPDIR: tmpdir(), ...(opts.env ?? world.env) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const keep = opts.keepLines ?? true;
  const bot: BotChild = new BotChild(child, (line) => {
    if (keep) bot.lines.push(line);
    opts.onLog?.(line);
  });
  return bot;
}
