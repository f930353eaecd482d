// The fake gateway: a `ws` server speaking Discord's JSON gateway protocol (v10, no compression).
// HELLO → IDENTIFY → READY (+ GUILD_CREATE per guild), heartbeats, RESUME with replay, dispatch to sessions.
import type { IncomingMessage, Server } from 'node:http';
import { GatewayCloseCodes, GatewayIntentBits, GatewayOpcodes } from 'discord-api-types/v10';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { sessionId as newSessionId } from './ids.js';

export interface GatewayOptions {
  token: string;
  /** ws:// origin clients should resume against. */
  url: () => string;
  /** The READY `d` for a new session (without session_id / resume_gateway_url / shard). */
  readyData: () => Record<string, unknown>;
  /** GUILD_CREATE `d` payloads sent right after READY (only with the GUILDS intent, like Discord). */
  guildCreates: () => Array<Record<string, unknown>>;
  /** Heartbeat interval announced in HELLO, ms. Default 45000. */
  heartbeatIntervalMs?: number;
}

interface Session {
  id: string;
  seq: number;
  intents: number;
  shard: [number, number];
  socket: WebSocket | undefined;
  /** Dispatches sent while the socket was gone, replayed on RESUME. */
  missed: string[];
  ready: boolean;
}

export interface GatewayEvent {
  at: number;
  direction: 'in' | 'out';
  op: number;
  t?: string | null;
}

export class FakeGateway {
  readonly #wss: WebSocketServer;
  readonly #sessions = new Map<string, Session>();
  readonly #sockets = new Set<WebSocket>();
  readonly #readyWaiters = new Set<() => void>();
  /** Op-level log of the traffic, for tests that care (identify count, resumes...). */
  readonly events: GatewayEvent[] = [];
  identifyCount = 0;
  resumeCount = 0;

  constructor(
    server: Server,
    private readonly options: GatewayOptions,
  ) {
    // Bots send no Origin; browsers always do. A web page that finds the fake's port (the playground's, say) must
    // not be able to open its gateway: the handshake is refused (401) before any frame.
    this.#wss = new WebSocketServer({ server, verifyClient: ({ req }: { req: IncomingMessage }) => req.headers.origin === undefined });
    this.#wss.on('connection', (socket, request) => this.#onConnection(socket, request));
  }

  /** Sessions that completed IDENTIFY (or RESUME) and have a live socket. */
  get liveSessions(): number {
    let count = 0;
    for (const session of this.#sessions.values()) if (session.ready && session.socket) count++;
    return count;
  }

  /** Resolves once at least one session is live; rejects after `timeoutMs`. */
  async waitForSession(timeoutMs: number): Promise<void> {
    if (this.liveSessions > 0) return;
    await new Promise<void>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#readyWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#readyWaiters.delete(done);
        reject(
          new Error(
            `fake Discord: no gateway session became ready within ${timeoutMs} ms — ` +
              'is the discord.js Client logged in with rest.api = discord.apiUrl, and did it reach "ready"?',
          ),
        );
      }, timeoutMs);
      this.#readyWaiters.add(done);
    });
  }

  /**
   * Sends a dispatch (op 0) to every session that Discord would send it to: an event of a guild goes to the shard
   * that guild is on (`(guild_id >> 22) % shard_count`), one without a guild (DMs) to shard 0 — so several bot
   * processes, one shard each, each get their own. Sessions whose socket dropped but may resume get it on RESUME.
   * Resolves with the number of live sockets it was written to.
   */
  async dispatch(t: string, d: unknown): Promise<number> {
    const writes: Array<Promise<void>> = [];
    const guildId = (d as { guild_id?: unknown } | null)?.guild_id;
    for (const session of this.#sessions.values()) {
      if (!session.ready) continue;
      const [shard, count] = session.shard;
      const onShard = typeof guildId === 'string' && /^\d+$/.test(guildId) ? Number((BigInt(guildId) >> 22n) % BigInt(count)) : 0;
      if (onShard !== shard) continue;
      session.seq += 1;
      const frame = JSON.stringify({ op: GatewayOpcodes.Dispatch, t, s: session.seq, d });
      if (session.socket && session.socket.readyState === session.socket.OPEN) {
        writes.push(this.#send(session.socket, frame, GatewayOpcodes.Dispatch, t));
      } else {
        session.missed.push(frame);
      }
    }
    await Promise.all(writes);
    return writes.length;
  }

  /**
   * Drops every connection with `code` (default 4000 Unknown error, which clients resume from), as
   * Discord does during restarts. With `invalidate`, sessions are forgotten and clients must re-identify.
   */
  disconnect(code: number = GatewayCloseCodes.UnknownError, invalidate = false): void {
    // Detach first, so nothing dispatched from now on is written to a closing socket and lost.
    for (const session of this.#sessions.values()) session.socket = undefined;
    for (const socket of this.#sockets) socket.close(code, 'fake Discord: disconnect requested');
    if (invalidate) this.#sessions.clear();
  }

  /** Asks clients to reconnect and resume (op 7). */
  requestReconnect(): void {
    for (const socket of this.#sockets) {
      void this.#send(socket, JSON.stringify({ op: GatewayOpcodes.Reconnect, d: null }), GatewayOpcodes.Reconnect);
    }
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.terminate();
    this.#sockets.clear();
    this.#sessions.clear();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }

  #onConnection(socket: WebSocket, request: IncomingMessage): void {
    this.#sockets.add(socket);
    const query = new URL(request.url ?? '/', 'ws://fake').searchParams;
    let session: Session | undefined;

    socket.on('close', (code) => {
      this.#sockets.delete(socket);
      if (!session || session.socket !== socket) return;
      session.socket = undefined;
      // A normal close ends the session on Discord's side; anything else leaves it resumable.
      if (code === 1000 || code === 1001) this.#sessions.delete(session.id);
    });
    socket.on('error', () => socket.terminate());

    if (query.get('v') !== '10') {
      socket.close(GatewayCloseCodes.InvalidAPIVersion, 'Invalid API version');
      return;
    }
    if ((query.get('encoding') ?? 'json') !== 'json') {
      socket.close(GatewayCloseCodes.DecodeError, 'Only JSON encoding is supported by the fake');
      return;
    }

    void this.#send(
      socket,
      JSON.stringify({
        op: GatewayOpcodes.Hello,
        d: { heartbeat_interval: this.options.heartbeatIntervalMs ?? 45_000, _trace: ['["fake-gateway",{}]'] },
        s: null,
        t: null,
      }),
      GatewayOpcodes.Hello,
    );

    socket.on('message', (raw: RawData, isBinary: boolean) => {
      if (isBinary) {
        socket.close(GatewayCloseCodes.DecodeError, 'Error while decoding payload.');
        return;
      }
      let payload: { op?: unknown; d?: unknown };
      try {
        payload = JSON.parse(rawToString(raw)) as { op?: unknown; d?: unknown };
      } catch {
        socket.close(GatewayCloseCodes.DecodeError, 'Error while decoding payload.');
        return;
      }
      const op = typeof payload.op === 'number' ? payload.op : -1;
      this.events.push({ at: Date.now(), direction: 'in', op });
      switch (op) {
        case GatewayOpcodes.Heartbeat:
          void this.#send(socket, JSON.stringify({ op: GatewayOpcodes.HeartbeatAck }), GatewayOpcodes.HeartbeatAck);
          return;
        case GatewayOpcodes.Identify: {
          if (session) {
            socket.close(GatewayCloseCodes.AlreadyAuthenticated, 'Already authenticated.');
            return;
          }
          const d = (payload.d ?? {}) as { token?: unknown; intents?: unknown; shard?: unknown };
          if (d.token !== this.options.token) {
            socket.close(GatewayCloseCodes.AuthenticationFailed, 'Authentication failed.');
            return;
          }
          this.identifyCount += 1;
          session = {
            id: newSessionId(),
            seq: 0,
            intents: typeof d.intents === 'number' ? d.intents : 0,
            shard: isShard(d.shard) ? d.shard : [0, 1],
            socket,
            missed: [],
            ready: false,
          };
          this.#sessions.set(session.id, session);
          void this.#identified(session);
          return;
        }
        case GatewayOpcodes.Resume: {
          const d = (payload.d ?? {}) as { token?: unknown; session_id?: unknown; seq?: unknown };
          if (d.token !== this.options.token) {
            socket.close(GatewayCloseCodes.AuthenticationFailed, 'Authentication failed.');
            return;
          }
          const resumed = typeof d.session_id === 'string' ? this.#sessions.get(d.session_id) : undefined;
          if (!resumed) {
            // d: false — the session cannot be resumed, identify again.
            void this.#send(
              socket,
              JSON.stringify({ op: GatewayOpcodes.InvalidSession, d: false }),
              GatewayOpcodes.InvalidSession,
            );
            return;
          }
          this.resumeCount += 1;
          resumed.socket?.terminate();
          resumed.socket = socket;
          session = resumed;
          const missed = resumed.missed.splice(0);
          for (const frame of missed) void this.#send(socket, frame, GatewayOpcodes.Dispatch);
          resumed.seq += 1;
          void this.#send(
            socket,
            JSON.stringify({ op: GatewayOpcodes.Dispatch, t: 'RESUMED', s: resumed.seq, d: { _trace: [] } }),
            GatewayOpcodes.Dispatch,
            'RESUMED',
          );
          this.#notifyReady();
          return;
        }
        case GatewayOpcodes.PresenceUpdate:
        case GatewayOpcodes.VoiceStateUpdate:
        case GatewayOpcodes.RequestGuildMembers:
          if (!session) socket.close(GatewayCloseCodes.NotAuthenticated, 'Not authenticated.');
          return;
        default:
          socket.close(GatewayCloseCodes.UnknownOpcode, 'Unknown opcode.');
      }
    });
  }

  async #identified(session: Session): Promise<void> {
    const socket = session.socket;
    if (!socket) return;
    const guildCreates = this.options.guildCreates();
    session.seq += 1;
    await this.#send(
      socket,
      JSON.stringify({
        op: GatewayOpcodes.Dispatch,
        t: 'READY',
        s: session.seq,
        d: {
          ...this.options.readyData(),
          session_id: session.id,
          resume_gateway_url: this.options.url(),
          shard: session.shard,
        },
      }),
      GatewayOpcodes.Dispatch,
      'READY',
    );
    if ((session.intents & GatewayIntentBits.Guilds) !== 0) {
      for (const guild of guildCreates) {
        session.seq += 1;
        await this.#send(
          socket,
          JSON.stringify({ op: GatewayOpcodes.Dispatch, t: 'GUILD_CREATE', s: session.seq, d: guild }),
          GatewayOpcodes.Dispatch,
          'GUILD_CREATE',
        );
      }
    }
    session.ready = true;
    this.#notifyReady();
  }

  #notifyReady(): void {
    for (const waiter of [...this.#readyWaiters]) waiter();
  }

  #send(socket: WebSocket, frame: string, op: number, t?: string): Promise<void> {
    this.events.push({ at: Date.now(), direction: 'out', op, t: t ?? null });
    return new Promise((resolve) => {
      if (socket.readyState !== socket.OPEN) {
        resolve();
        return;
      }
      socket.send(frame, () => resolve());
    });
  }
}

function rawToString(raw: RawData): string {
  if (Array.isArray(raw)) return Buffer.concat(raw).toString('utf8');
  if (raw instanceof ArrayBuffer) return Buffer.from(raw).toString('utf8');
  return raw.toString('utf8');
}

function isShard(value: unknown): value is [number, number] {
  return Array.isArray(value) && value.length === 2 && value.every((n) => typeof n === 'number');
}
