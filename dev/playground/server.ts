// The playground: the fake Discord (and, without a real Luma key, the fake Luma), the commands registered by the
// real deploy-commands, the real bot as a child process — and a small web server beside them whose page looks and
// behaves like a Discord channel. The page's actions become interactions the fake Discord dispatches over the
// gateway exactly as Discord would; what the bot sends back (replies, edits, modals) is pushed to the page over a
// WebSocket as it happens.
//
//   const pg = await startPlayground();   // pg.url → http://127.0.0.1:PORT/
//   ...
//   await pg.close();                      // stops the bot (SIGTERM), the fakes and the web server
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageFlags, PermissionFlagsBits, type APIAttachment, type APIMessage } from 'discord-api-types/v10';
import { WebSocketServer, type WebSocket } from 'ws';
import type { CommandOptionInput, FakeDiscord } from '../fakes/discord/server.js';
import { sanitizeFilename } from '../fakes/discord/messages.js';
import type { FakeLuma } from '../fakes/luma/api.js';
import { spawnBot, startWorld, type BotChild, type BotLogLine } from '../fakes/world.js';
import { playgroundArt } from './art.js';

const PUBLIC = join(dirname(fileURLToPath(import.meta.url)), 'public');
const APPLICATION_ID = '1100000000000000001';
const GUILD_ID = '1200000000000000001';
const CHANNEL_ID = '1300000000000000001';
const ADMIN_ROLE_ID = '1250000000000000001';
const OWNER_ID = '400000000000000009';
const MAX_UPLOAD_BYTES = 25 * 1024 * 1024;
/** Discord shows "The application did not respond" when nothing acknowledged an interaction within 3 s. */
const ACK_DEADLINE_MS = 3000;

export interface Person {
  key: 'member' | 'admin';
  id: string;
  username: string;
  displayName: string;
  roles: string[];
  /** What the person may do on the server (decimal bitfield), as Discord computes it for command visibility. */
  permissions: string;
}

const EVERYONE_PERMISSIONS = (PermissionFlagsBits.SendMessages | PermissionFlagsBits.AttachFiles | PermissionFlagsBits.UseApplicationCommands).toString();
const MEMBER: Person = { key: 'member', id: '400000000000000001', username: 'alex', displayName: 'Alex', roles: [], permissions: EVERYONE_PERMISSIONS };
const ADMIN: Person = {
  key: 'admin',
  id: '400000000000000002',
  username: 'sam',
  displayName: 'Sam',
  roles: [ADMIN_ROLE_ID],
  permissions: (BigInt(EVERYONE_PERMISSIONS) | PermissionFlagsBits.ManageGuild).toString(),
};
/** The two people the page can switch between: a member, and a server admin (Manage Server, through a role). */
export const PEOPLE: readonly Person[] = [MEMBER, ADMIN];

export interface PlaygroundOptions {
  /** Port on 127.0.0.1 for the page; 0 (default) picks a free one. */
  port?: number;
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

type ChaosKind = 'moderation' | 'rate-limit' | 'slow' | 'expire-token';

interface Tracked {
  token: string;
  userId: string;
  dispatchedAt: number;
  seenCallbacks: number;
  /** The message the interaction came from (a button or a modal opened from one). */
  sourceMessageId: string | undefined;
  /** Chaos: expire the token as soon as the bot has acknowledged. */
  expireAfterAck: boolean;
}

/** A message as the page draws it. */
interface ViewMessage extends Omit<APIMessage, 'interaction'> {
  /** 'general' (the server channel) or 'dm' (the DM with the bot). */
  place: 'general' | 'dm';
  /** Set for ephemeral replies and DMs: only this person sees the message. */
  visibleTo?: string;
}

class HttpProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startPlayground(opts: PlaygroundOptions = {}): Promise<Playground> {
  const log = opts.log ?? (() => undefined);
  const realLuma = opts.lumaApiKey !== undefined && opts.lumaApiKey !== '';
  const world = await startWorld({
    discord: {
      applicationId: APPLICATION_ID,
      applicationName: 'Luma Bot',
      defaultUser: { id: MEMBER.id, username: MEMBER.username, globalName: MEMBER.displayName },
      guilds: [
        {
          id: GUILD_ID,
          name: 'Playground',
          ownerId: OWNER_ID,
          channels: [{ id: CHANNEL_ID, name: 'general' }],
          roles: [{ id: ADMIN_ROLE_ID, name: 'Server admin', permissions: PermissionFlagsBits.ManageGuild.toString() }],
        },
      ],
    },
    luma: { ...(opts.fakeLumaTiming ?? { queuedMs: 1500, processingMs: 6000 }), outputImage: playgroundArt },
    realLuma: realLuma ? { apiKey: opts.lumaApiKey ?? '', ...(opts.lumaBaseUrl ? { url: opts.lumaBaseUrl } : {}) } : undefined,
    ...(opts.dataDir === undefined ? {} : { dataDir: opts.dataDir }),
    env: { DISCORD_APPLICATION_ID: APPLICATION_ID, LOG_FORMAT: 'json', LOG_LEVEL: 'info', ...opts.botEnv },
    tempPrefix: 'luma-playground-',
  });
  const { discord, luma, dataDir } = world;

  const sockets = new Set<WebSocket>();
  const logs: BotLogLine[] = [];
  const broadcast = (event: unknown): void => {
    const text = JSON.stringify(event);
    for (const socket of sockets) if (socket.readyState === socket.OPEN) socket.send(text);
  };
  const onLog = (line: BotLogLine): void => {
    const entry = { level: line.level, msg: line.msg, time: line.time ?? Date.now() };
    logs.push(entry);
    if (logs.length > 300) logs.shift();
    broadcast({ type: 'log', line: entry });
    if (line.level >= 40) log(`bot ${line.level >= 50 ? 'error' : 'warning'}: ${line.msg}`);
  };

  let closing = false;
  /** What cleanup() must stop: filled in as start-up proceeds. */
  const live: { bot?: BotChild; web?: ReturnType<typeof createServer>; wss?: WebSocketServer; refreshTimer?: NodeJS.Timeout } = {};
  const cleanup = async (): Promise<void> => {
    if (live.refreshTimer) clearInterval(live.refreshTimer);
    await live.bot?.kill('SIGTERM', 12_000);
    for (const socket of sockets) socket.terminate();
    live.wss?.close();
    if (live.web) {
      const server = live.web;
      await new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      });
    }
    await world.close();
  };

  try {
    // Register the commands with the real deploy script, as an operator does after install.
    log('registering commands (npm run deploy-commands)…');
    const deploy = spawnBot(world, { entry: 'src/deploy-commands.ts' });
    const deployed = await deploy.exited;
    if (deployed.code !== 0) throw new Error(`deploy-commands failed (${deployed.code ?? deployed.signal}):\n${deploy.stray}`);

    log(`starting the bot against the fake Discord and ${luma ? 'the fake Luma' : 'the REAL Luma API'}…`);
    const started = spawnBot(world, { onLog, keepLines: false });
    live.bot = started;
    await new Promise<void>((ready, fail) => {
      const timer = setTimeout(() => fail(new Error(`the bot did not become ready within 60 s\n${started.stray}`)), 60_000);
      const check = setInterval(() => {
        if (logs.some((l) => l.msg === 'bot ready')) {
          clearInterval(check);
          clearTimeout(timer);
          ready();
        }
      }, 50);
      void started.exited.then((exit) => {
        clearInterval(check);
        clearTimeout(timer);
        fail(new Error(`the bot exited (${exit.code ?? exit.signal}) while starting:\n${started.stray.trim()}`));
      });
    });
    // A bot that dies later is reported on the page and in the terminal.
    void started.exited.then((exit) => {
      if (closing) return;
      const code = exit.code ?? exit.signal;
      log(`the bot exited (${code}): ${started.stray.trim()}`);
      broadcast({ type: 'notice', text: `The bot process exited (${code}). Restart the playground.` });
    });
  } catch (err) {
    await cleanup();
    throw err;
  }

  // ── What the page sees ──────────────────────────────────────────────────────────────────────────

  const tracked: Tracked[] = [];
  const userMessageIds: string[] = [];
  const uploads = new Map<string, APIAttachment>();
  const pushed = new Map<string, string>();
  const chaos = { moderation: 0, rateLimit: 0, slow: 0, expireToken: 0 };
  const lumaPlans: Array<'moderation' | 'slow'> = [];
  let lumaGenerations = 0;
  let lumaFaultsSeen = 0;

  const person = (key: unknown): Person => {
    const found = PEOPLE.find((p) => p.key === key);
    if (!found) throw new HttpProblem(400, 'as must be "member" or "admin"');
    return found;
  };

  const view = (message: APIMessage, extra: Partial<ViewMessage> = {}): ViewMessage => {
    const ephemeralFor =
      (message.flags ?? 0) & MessageFlags.Ephemeral ? (message.interaction_metadata?.user.id ?? undefined) : undefined;
    const place = message.channel_id === CHANNEL_ID ? 'general' : 'dm';
    const { interaction: _legacy, ...rest } = message;
    return { ...rest, place, ...(ephemeralFor ? { visibleTo: ephemeralFor } : {}), ...extra };
  };

  const collect = (): ViewMessage[] => {
    const byId = new Map<string, ViewMessage>();
    for (const id of userMessageIds) {
      const m = discord.message(id);
      if (m) byId.set(id, view(m));
    }
    for (const m of discord.channelMessages(CHANNEL_ID)) byId.set(m.id, view(m));
    for (const p of PEOPLE) for (const m of discord.dmMessages(p.id)) byId.set(m.id, view(m, { place: 'dm', visibleTo: p.id }));
    for (const t of tracked) {
      const messages = [discord.original(t.token), ...discord.followups(t.token)];
      for (const m of messages) {
        if (!m) continue;
        const v = view(m);
        if (v.place === 'dm') v.visibleTo = t.userId;
        byId.set(m.id, v);
      }
    }
    return [...byId.values()].sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
  };

  const chaosState = () => ({ ...chaos, luma: luma ? 'fake' : 'real' });

  const settleChaos = (): boolean => {
    let changed = false;
    if (luma) {
      const count = luma.generations().length;
      for (; lumaGenerations < count; lumaGenerations++) {
        const kind = lumaPlans.shift();
        if (kind === 'moderation') chaos.moderation--;
        if (kind === 'slow') chaos.slow--;
        if (kind) changed = true;
      }
      const faults = luma.posts().filter((r) => r.fault).length;
      for (; lumaFaultsSeen < faults; lumaFaultsSeen++) {
        if (chaos.rateLimit > 0) {
          chaos.rateLimit--;
          changed = true;
        }
      }
    }
    return changed;
  };

  const refresh = (): void => {
    // Modals the bot opened, and tokens chaos expires once the bot has acknowledged.
    for (const t of tracked) {
      const callbacks = discord.callbacks(t.token);
      for (; t.seenCallbacks < callbacks.length; t.seenCallbacks++) {
        const cb = callbacks[t.seenCallbacks];
        if (cb?.type === 9) broadcast({ type: 'modal', userId: t.userId, sourceMessageId: t.sourceMessageId, modal: cb.data });
        if (t.expireAfterAck) {
          t.expireAfterAck = false;
          discord.expireToken(t.token);
        }
      }
    }
    const messages = collect();
    const upsert: ViewMessage[] = [];
    const seen = new Set<string>();
    for (const m of messages) {
      seen.add(m.id);
      const text = JSON.stringify(m);
      if (pushed.get(m.id) !== text) {
        pushed.set(m.id, text);
        upsert.push(m);
      }
    }
    const remove = [...pushed.keys()].filter((id) => !seen.has(id));
    for (const id of remove) pushed.delete(id);
    if (upsert.length > 0 || remove.length > 0) broadcast({ type: 'messages', upsert, remove });
    if (settleChaos()) broadcast({ type: 'chaos', chaos: chaosState() });
  };
  let refreshQueued = false;
  const scheduleRefresh = (): void => {
    if (refreshQueued) return;
    refreshQueued = true;
    setImmediate(() => {
      refreshQueued = false;
      refresh();
    });
  };
  const unsubscribe = discord.onChange(scheduleRefresh);
  // Luma chaos is consumed at Luma, which tells nobody: look while anything is armed.
  live.refreshTimer = setInterval(() => {
    if (chaos.moderation + chaos.rateLimit + chaos.slow > 0) scheduleRefresh();
  }, 500);

  const track = (token: string, userId: string, sourceMessageId?: string): void => {
    const expire = chaos.expireToken > 0;
    if (expire) {
      chaos.expireToken--;
      broadcast({ type: 'chaos', chaos: chaosState() });
    }
    tracked.push({ token, userId, dispatchedAt: Date.now(), seenCallbacks: 0, sourceMessageId, expireAfterAck: expire });
    setTimeout(() => {
      if (!closing && discord.callbacks(token).length === 0) {
        broadcast({ type: 'notice', userId, text: 'The application did not respond.' });
      }
    }, ACK_DEADLINE_MS + 250).unref();
    scheduleRefresh();
  };

  const placeOf = (messageId: string): { guildId?: null; message: APIMessage } => {
    const message = discord.message(messageId);
    if (!message) throw new HttpProblem(404, 'That message no longer exists.');
    return message.channel_id === CHANNEL_ID ? { message } : { guildId: null, message };
  };

  const context = (p: Person, where: unknown) => ({
    user: { id: p.id, username: p.username, globalName: p.displayName },
    ...(where === 'dm' ? { guildId: null } : { roles: p.roles }),
  });

  // ── Actions ─────────────────────────────────────────────────────────────────────────────────────

  const actions: Record<string, (body: Record<string, unknown>) => Promise<unknown>> = {
    command: async (body) => {
      const p = person(body.as);
      const options = (Array.isArray(body.options) ? body.options : []) as CommandOptionInput[];
      const attachments = options.filter((o) => o.type === 11).map((o) => uploads.get(String(o.value)));
      if (attachments.some((a) => a === undefined)) throw new HttpProblem(400, 'Upload the file again: the playground does not know it.');
      const i = await discord.slashCommand({
        ...context(p, body.place),
        name: String(body.name),
        options,
        attachments: attachments as APIAttachment[],
        ...(typeof body.subcommand === 'string' ? { subcommand: body.subcommand } : {}),
      });
      track(i.token, p.id);
      return { id: i.id };
    },
    message: async (body) => {
      const p = person(body.as);
      const ids = Array.isArray(body.attachments) ? body.attachments.map(String) : [];
      const attachments = ids.flatMap((id) => {
        const a = uploads.get(id);
        return a ? [a] : [];
      });
      const content = typeof body.content === 'string' ? body.content.slice(0, 2000) : '';
      if (content.trim() === '' && attachments.length === 0) throw new HttpProblem(400, 'Type a message or attach a file.');
      const m = discord.addMessage({ channelId: CHANNEL_ID, author: { id: p.id, username: p.username, globalName: p.displayName }, content, attachments });
      userMessageIds.push(m.id);
      scheduleRefresh();
      return { id: m.id };
    },
    button: async (body) => {
      const p = person(body.as);
      const { guildId, message } = placeOf(String(body.messageId));
      const i = await discord.button({ ...context(p, guildId === null ? 'dm' : 'general'), customId: String(body.customId), message: { id: message.id } });
      track(i.token, p.id, message.id);
      return { id: i.id };
    },
    app: async (body) => {
      const p = person(body.as);
      const { guildId, message } = placeOf(String(body.messageId));
      const i = await discord.messageContextMenu({ ...context(p, guildId === null ? 'dm' : 'general'), name: String(body.name), message });
      track(i.token, p.id);
      return { id: i.id };
    },
    modal: async (body) => {
      const p = person(body.as);
      const fields = Object.fromEntries(Object.entries((body.fields ?? {}) as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
      const source = typeof body.sourceMessageId === 'string' ? placeOf(body.sourceMessageId) : undefined;
      const where = source?.guildId === null || body.place === 'dm' ? 'dm' : 'general';
      const i = await discord.modalSubmit({
        ...context(p, where),
        customId: String(body.customId),
        fields,
        ...(source ? { message: { id: source.message.id } } : {}),
      });
      track(i.token, p.id, source?.message.id);
      return { id: i.id };
    },
    chaos: async (body) => {
      const kind = body.kind as ChaosKind;
      if (kind === 'expire-token') chaos.expireToken++;
      else {
        if (!luma) throw new HttpProblem(409, 'The playground uses the real Luma API: Luma failures cannot be staged.');
        if (kind === 'moderation') {
          luma.planNext({ failWith: 'content_moderated' });
          lumaPlans.push('moderation');
          chaos.moderation++;
        } else if (kind === 'slow') {
          luma.planNext({ queuedMs: 5000, processingMs: 45_000 });
          lumaPlans.push('slow');
          chaos.slow++;
        } else if (kind === 'rate-limit') {
          luma.fault(
            { method: 'POST', path: '/v1/generations', exact: true },
            {
              status: 429,
              body: { detail: 'Rate limit exceeded' },
              headers: { 'Retry-After': '5', 'X-RateLimit-Limit': '30', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': String(Math.ceil(Date.now() / 1000) + 5) },
            },
          );
          chaos.rateLimit++;
        } else throw new HttpProblem(400, `unknown chaos ${String(kind)}`);
      }
      broadcast({ type: 'chaos', chaos: chaosState() });
      return chaosState();
    },
  };

  const hello = () => ({
    type: 'hello',
    people: PEOPLE,
    bot: { id: discord.botUser.id, name: 'Luma Bot' },
    server: { id: GUILD_ID, name: 'Playground', channelId: CHANNEL_ID, channelName: 'general' },
    commands: [...discord.registeredCommands(), ...discord.registeredCommands(GUILD_ID)],
    messages: collect(),
    chaos: chaosState(),
    logs,
  });

  const onRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    // Only this page may act: another site open in the same browser (or one rebinding its DNS name to 127.0.0.1)
    // must not start generations — with a real Luma key they cost money.
    if (!sameSite(req)) return sendJson(res, 403, { error: 'requests to the playground must come from its own page' });
    if (req.method === 'POST' && url.pathname === '/api/upload') {
      const data = await readBody(req, MAX_UPLOAD_BYTES);
      // Discord's clean-up of upload names (no paths, odd characters become underscores).
      const filename = sanitizeFilename((url.searchParams.get('filename') ?? 'upload').slice(0, 200));
      const contentType = req.headers['content-type'] ?? 'application/octet-stream';
      const attachment = discord.addAttachment({ filename, contentType, data, channelId: CHANNEL_ID });
      uploads.set(attachment.id, attachment);
      return sendJson(res, 200, attachment);
    }
    if (req.method === 'POST' && url.pathname.startsWith('/api/')) {
      const action = actions[url.pathname.slice('/api/'.length)];
      if (!action) return sendJson(res, 404, { error: 'no such action' });
      let body: Record<string, unknown>;
      try {
        body = JSON.parse((await readBody(req, 1024 * 1024)).toString('utf8') || '{}') as Record<string, unknown>;
      } catch {
        return sendJson(res, 400, { error: 'the body is not JSON' });
      }
      return sendJson(res, 200, await action(body));
    }
    if (req.method === 'GET' && url.pathname === '/api/state') return sendJson(res, 200, hello());
    if (req.method === 'GET' || req.method === 'HEAD') return serveStatic(url.pathname, res);
    return sendJson(res, 405, { error: 'method not allowed' });
  };

  const server = createServer((req, res) => {
    onRequest(req, res).catch((err: unknown) => {
      const status = err instanceof HttpProblem ? err.status : 500;
      if (status === 500) log(`playground error: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent) sendJson(res, status, { error: err instanceof Error ? err.message : String(err) });
      else res.destroy();
    });
  });
  live.web = server;
  live.wss = new WebSocketServer({ server, path: '/ws', verifyClient: ({ req }: { req: IncomingMessage }) => sameSite(req) });
  live.wss.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.send(JSON.stringify(hello()));
  });
  await new Promise<void>((listening, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', fail);
      listening();
    });
  }).catch(async (err: unknown) => {
    delete live.web;
    await cleanup();
    throw err;
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/`,
    discord,
    luma,
    dataDir,
    async close() {
      if (closing) return;
      closing = true;
      unsubscribe();
      await cleanup();
    },
  };
}

/** The Host is this loopback server, and a browser's Origin (when sent) is the page itself. */
function sameSite(req: IncomingMessage): boolean {
  const port = (req.socket.localPort ?? 0).toString();
  const hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
  if (!hosts.has(req.headers.host ?? '')) return false;
  const origin = req.headers.origin;
  return origin === undefined || hosts.has(origin.replace(/^http:\/\//, ''));
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

function serveStatic(pathname: string, res: ServerResponse): void {
  const name = pathname === '/' ? 'index.html' : pathname.slice(1);
  if (!/^[\w-]+\.(html|js|css|svg|png)$/.test(name)) return sendJson(res, 404, { error: 'not found' });
  let data: Buffer;
  try {
    data = readFileSync(join(PUBLIC, name));
  } catch {
    return sendJson(res, 404, { error: 'not found' });
  }
  res.writeHead(200, {
    'content-type': TYPES[extname(name)] ?? 'application/octet-stream',
    'cache-control': 'no-store',
    // Everything comes from this server and the fake Discord's CDN on loopback: nothing else may load.
    'content-security-policy':
      "default-src 'self'; img-src 'self' http://127.0.0.1:* blob: data:; connect-src 'self' ws://127.0.0.1:*; style-src 'self'; script-src 'self'",
    'x-content-type-options': 'nosniff',
  });
  res.end(data);
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpProblem(413, `The file is larger than ${Math.round(limit / 1024 / 1024)} MB.`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const payload = Buffer.from(JSON.stringify(body ?? {}));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(payload.length), 'cache-control': 'no-store' });
  res.end(payload);
}
