// The playground: the fake Discord (and, without a real Luma key, the fake Luma), the commands registered by the
// real deploy-commands, the real bot as a child process — and a small web server beside them whose page looks and
// behaves like a Discord channel. The page's actions become interactions the fake Discord dispatches over the
// gateway exactly as Discord would; what the bot sends back (replies, edits, modals) is pushed to the page over a
// WebSocket as it happens.
//
//   const pg = await startPlayground();   // pg.url → http://127.0.0.1:PORT/
//   ...
//   await pg.close();                      // stops the bot (SIGTERM), the fakes and the web server
//
// Its parts: web.ts (the page's server), actions.ts (what the page can do), mirror.ts (what the page sees),
// chaos.ts (staged failures), store.ts (premium SKUs bought as test entitlements), bot.ts (deploy and start the
// bot), people.ts (the server, its two people and what its Store sells), protocol.ts (the messages between the
// server and the page).
import { randomBytes } from 'node:crypto';
import type { APIAttachment } from 'discord-api-types/v10';
import { sanitizeFilename } from '../fakes/discord/messages.js';
import type { FakeDiscord } from '../fakes/discord/server.js';
import type { FakeLuma } from '../fakes/luma/api.js';
import { startWorld, type BotChild, type BotLogLine, type World } from '../fakes/world.js';
import { playgroundActions } from './actions.js';
import { playgroundArt } from './art.js';
import { deployCommands, startBotProcess } from './bot.js';
import { Chaos } from './chaos.js';
import { Mirror } from './mirror.js';
import { APPLICATION_ID, CHANNEL_ID, GUILD_ID, PEOPLE, PREMIUM_ENV, playgroundDiscord } from './people.js';
import type { HelloEvent, LogEntry } from './protocol.js';
import { PlaygroundStore } from './store.js';
import { PlaygroundWeb, type PlaygroundApp } from './web.js';

export { PEOPLE } from './people.js';
export type { Person } from './protocol.js';
export { PortProblem } from './web.js';

export interface PlaygroundOptions {
  /** Port on 127.0.0.1 for the page; 0 (default) picks a free one. */
  port?: number;
  /** When `port` is busy, take the next free one (and log it) instead of failing. Default false. */
  portFallback?: boolean;
  /** Keep the bot's SQLite file here (created if missing); default: a temp folder removed on close. */
  dataDir?: string;
  /** A real Luma key: the bot talks to the real Luma API instead of the fake. */
  lumaApiKey?: string;
  /** With a real key: the API base (default: the bot's own default). */
  lumaBaseUrl?: string;
  /** How long the fake Luma keeps a generation queued, then processing (ms). Default 1500 / 6000. */
  fakeLumaTiming?: { queuedMs: number; processingMs: number };
  /** Extra bot settings (e.g. POLL_INTERVAL_MS), on top of the playground's. */
  botEnv?: Record<string, string>;
  /** One line per notable event (start-up steps, bot warnings and errors). Default: silent. */
  log?: (line: string) => void;
  /** Aborting it during start-up stops what was started and rejects. */
  signal?: AbortSignal;
}

export interface Playground {
  /** The page, e.g. http://127.0.0.1:5173/ */
  readonly url: string;
  readonly discord: FakeDiscord;
  /** The fake Luma; undefined when a real key is used. */
  readonly luma: FakeLuma | undefined;
  readonly dataDir: string;
  close(): Promise<void>;
}

/** How long the bot may take to stop after SIGTERM before it is killed. */
const BOT_STOP_MS = 8000;
/** Bot log lines the page's log panel keeps. */
const LOG_LINES_KEPT = 300;

export async function startPlayground(opts: PlaygroundOptions = {}): Promise<Playground> {
  const log = opts.log ?? (() => undefined);
  // The port first: a busy or forbidden one is known before anything is started.
  const web = new PlaygroundWeb(log);
  const port = await web.listen(opts.port ?? 0, opts.portFallback ?? false);
  const live: { world?: World<FakeLuma | undefined>; bot?: BotChild; mirror?: Mirror } = {};
  let closing = false;
  const close = async (): Promise<void> => {
    if (closing) return;
    closing = true;
    live.mirror?.close();
    await live.bot?.kill('SIGTERM', BOT_STOP_MS);
    await web.close();
    await live.world?.close();
  };
  const signal = opts.signal ?? new AbortController().signal;
  try {
    signal.throwIfAborted();
    const world = await startFakes(opts);
    live.world = world;
    signal.throwIfAborted();
    const logs: LogEntry[] = [];
    const onLog = (line: BotLogLine): void => {
      const entry = { level: line.level, msg: line.msg, time: line.time ?? Date.now() };
      logs.push(entry);
      if (logs.length > LOG_LINES_KEPT) logs.shift();
      web.broadcast({ type: 'log', line: entry });
      if (line.level >= 40) log(`bot ${line.level >= 50 ? 'error' : 'warning'}: ${line.msg}`);
    };
    log('registering commands (npm run deploy-commands)…');
    await deployCommands(world, signal);
    log(`starting the bot against the fake Discord and ${world.luma ? 'the fake Luma' : 'the REAL Luma API'}…`);
    const bot = await startBotProcess(world, { onLog, signal, started: (started) => (live.bot = started) });
    // A bot that dies later is reported on the page and in the terminal.
    void bot.exited.then((exit) => {
      if (closing) return;
      const code = exit.code ?? exit.signal;
      log(`the bot exited (${code}): ${bot.stray.trim()}`);
      web.broadcast({ type: 'notice', text: `The bot process exited (${code}). Restart the playground.` });
    });
    live.mirror = serveApp(web, world, logs);
    return { url: `http://127.0.0.1:${port}/`, discord: world.discord, luma: world.luma, dataDir: world.dataDir, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The fake Discord with the playground's server and a bot token of its own, and the fake Luma unless a key is given. */
function startFakes(opts: PlaygroundOptions): Promise<World<FakeLuma | undefined>> {
  const realLuma = opts.lumaApiKey !== undefined && opts.lumaApiKey !== '';
  return startWorld({
    // A random token each run: a web page that finds the fake's port cannot log in to its gateway and read along.
    discord: playgroundDiscord(`playground-${randomBytes(24).toString('base64url')}`),
    luma: { ...(opts.fakeLumaTiming ?? { queuedMs: 1500, processingMs: 6000 }), outputImage: playgroundArt },
    realLuma: realLuma ? { apiKey: opts.lumaApiKey ?? '', ...(opts.lumaBaseUrl ? { url: opts.lumaBaseUrl } : {}) } : undefined,
    ...(opts.dataDir === undefined ? {} : { dataDir: opts.dataDir }),
    env: { DISCORD_APPLICATION_ID: APPLICATION_ID, LOG_FORMAT: 'json', LOG_LEVEL: 'info', ...PREMIUM_ENV, ...opts.botEnv },
    tempPrefix: 'luma-playground-',
  });
}

/** Wires the page's view, chaos and actions to the fakes and starts serving them; returns the view. */
function serveApp(web: PlaygroundWeb, world: World<FakeLuma | undefined>, logs: LogEntry[]): Mirror {
  const { discord } = world;
  const chaos = new Chaos(world.luma);
  const store = new PlaygroundStore(discord);
  store.changed();
  const mirror = new Mirror(discord, (event) => web.broadcast(event), {
    afterRefresh: () => {
      if (chaos.settle()) web.broadcast({ type: 'chaos', chaos: chaos.state() });
      // A pack the bot consumed, a subscription cancelled: the Store shows it.
      const changed = store.changed();
      if (changed) web.broadcast({ type: 'store', store: changed });
    },
    // Luma chaos is consumed at Luma, which tells nobody: look while anything is armed.
    lookWhile: () => chaos.waitingAtLuma,
  });
  const uploads = new Map<string, APIAttachment>();
  const hello = (): HelloEvent => ({
    type: 'hello',
    people: [...PEOPLE],
    bot: { id: discord.botUser.id, name: 'Luma Bot' },
    server: { id: GUILD_ID, name: 'Playground', channelId: CHANNEL_ID, channelName: 'general' },
    // What deploy-commands registered: the commands' own definitions, as Discord keeps them.
    commands: [...discord.registeredCommands(), ...discord.registeredCommands(GUILD_ID)] as unknown as HelloEvent['commands'],
    messages: mirror.collect(),
    chaos: chaos.state(),
    store: store.state(),
    logs,
  });
  const app: PlaygroundApp = {
    actions: playgroundActions({ discord, mirror, chaos, store, uploads, broadcast: (event) => web.broadcast(event) }),
    hello,
    upload(filename, contentType, data) {
      // Discord's clean-up of upload names (no paths, odd characters become underscores).
      const attachment = discord.addAttachment({ filename: sanitizeFilename(filename), contentType, data, channelId: CHANNEL_ID });
      uploads.set(attachment.id, attachment);
      return attachment;
    },
  };
  web.serve(app);
  return mirror;
}
