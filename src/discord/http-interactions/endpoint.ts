// POST /interactions (INTERACTIONS=http): Discord's signed interaction POSTs. Each is checked (size, Ed25519
// signature, timestamp, JSON, type) and refused with a clear 4xx and one log line; a PING is answered PONG; any other
// interaction is handed to the same router the gateway feeds, and this request's answer is its first response
// (transport/first-response.ts) — or, when the bot gives none within Discord's 3 s, a 503.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { KeyObject } from 'node:crypto';
import { InteractionResponseType, InteractionType } from 'discord.js';
import type { Clock } from '../../clock.js';
import type { Logger } from '../../logger.js';
import type { FirstResponseBody, FirstResponses } from '../transport/first-response.js';
import type { ReplayGuard } from './replays.js';
import { checkSignature } from './signature.js';

/** The largest interaction accepted: Discord's biggest (a message context menu on a long message, resolved data) are tens of kB. */
export const MAX_INTERACTION_BYTES = 1024 * 1024;
/** How long an interaction may wait for its first response: Discord's own limit. */
export const ACK_DEADLINE_MS = 3000;

/** An interaction as Discord sends it, checked as far as this endpoint needs. */
export interface RawInteraction {
  id: string;
  token: string;
  type: number;
  [key: string]: unknown;
}

export interface InteractionEndpointOptions {
  publicKey: KeyObject;
  responses: FirstResponses;
  /** Hands the interaction to the router; false when the bot takes none (shutting down). */
  dispatch(interaction: RawInteraction): boolean;
  /** Each interaction id is handled once (replays.ts). */
  replays: ReplayGuard;
  clock: Pick<Clock, 'now'>;
  logger: Logger;
  maxBytes?: number;
  deadlineMs?: number;
}

const HANDLED = new Set<number>([InteractionType.ApplicationCommand, InteractionType.MessageComponent, InteractionType.ModalSubmit]);

/** The handler of POST /interactions on the bot's HTTP server. */
export function interactionEndpoint(opts: InteractionEndpointOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const maxBytes = opts.maxBytes ?? MAX_INTERACTION_BYTES;
  const deadlineMs = opts.deadlineMs ?? ACK_DEADLINE_MS;
  const log = opts.logger.child({ component: 'interactions' });
  const refuse = (res: ServerResponse, status: number, reason: string, extra: Record<string, unknown> = {}) => {
    log.warn({ status, reason, ...extra }, 'interaction request refused');
    sendJson(res, status, { error: reason });
  };

  return async (req, res) => {
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return refuse(res, 405, 'POST only');
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBytes) return refuse(res, 413, `body over ${maxBytes} bytes`, { bytes: declared });
    const body = await readCapped(req, maxBytes);
    if (body === 'too large') return refuse(res, 413, `body over ${maxBytes} bytes`);
    const problem = checkSignature(
      opts.publicKey,
      { signature: header(req, 'x-signature-ed25519'), timestamp: header(req, 'x-signature-timestamp'), body },
      opts.clock.now(),
    );
    // Discord checks an endpoint with bad signatures before it accepts the URL: each must get its 401.
    if (problem) return refuse(res, 401, problem === 'stale timestamp' ? 'stale timestamp' : 'invalid request signature');
    let interaction: RawInteraction;
    try {
      interaction = parseInteraction(body);
    } catch (err) {
      return refuse(res, 400, err instanceof SyntaxError ? 'malformed JSON' : (err as Error).message);
    }
    if (interaction.type === InteractionType.Ping) return sendJson(res, 200, { type: InteractionResponseType.Pong });
    // The bot offers no autocompletion: an empty list, rather than a failure the member would see.
    if (interaction.type === InteractionType.ApplicationCommandAutocomplete) return sendJson(res, 200, { type: InteractionResponseType.ApplicationCommandAutocompleteResult, data: { choices: [] } });
    if (!HANDLED.has(interaction.type)) return refuse(res, 400, 'unknown interaction type', { type: interaction.type });
    // A storage failure here refuses the interaction (fail closed): Discord shows "did not respond".
    const first = await opts.replays.firstSeen(interaction.id).catch((err: unknown) => {
      log.error({ err, interactionId: interaction.id }, 'could not check an interaction against replays; refused');
      return undefined;
    });
    if (first === undefined) return sendJson(res, 503, { error: 'storage unavailable' });
    if (!first) return refuse(res, 409, 'interaction already received', { interactionId: interaction.id });
    await answer(interaction, res);
  };

  /** Waits for the interaction's first response, writes it as the answer; a 503 when none comes in time. */
  function answer(interaction: RawInteraction, res: ServerResponse): Promise<void> {
    return new Promise<void>((resolve) => {
      const { id } = interaction;
      const done = () => {
        clearTimeout(timer);
        res.off('close', gone);
        resolve();
      };
      const gone = () => {
        if (opts.responses.close(id)) log.warn({ interactionId: id }, 'interaction request closed before the bot answered it');
        done();
      };
      const timer = setTimeout(() => {
        if (!opts.responses.close(id)) return;
        log.warn({ interactionId: id, deadlineMs }, 'interaction not acknowledged in time');
        sendJson(res, 503, { error: 'not acknowledged in time' });
        done();
      }, deadlineMs);
      res.once('close', gone);
      opts.responses.open(id, async (response) => {
        try {
          await write(res, response);
        } finally {
          done();
        }
      });
      if (!opts.dispatch(interaction)) {
        opts.responses.close(id);
        sendJson(res, 503, { error: 'shutting down' });
        done();
      }
    });
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The body, or 'too large' as soon as it passes `max` (the rest is not read). */
function readCapped(req: IncomingMessage, max: number): Promise<Buffer | 'too large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.off('data', onData);
        req.pause();
        return resolve('too large');
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

function parseInteraction(body: Buffer): RawInteraction {
  const value: unknown = JSON.parse(body.toString('utf8'));
  const i = value as Partial<RawInteraction> | null;
  if (typeof i !== 'object' || i === null || Array.isArray(i)) throw new Error('not an interaction object');
  if (typeof i.type !== 'number') throw new Error('interaction without a type');
  if (i.type === InteractionType.Ping) return i as RawInteraction;
  if (typeof i.id !== 'string' || !/^\d{1,25}$/.test(i.id) || typeof i.token !== 'string' || i.token === '') throw new Error('interaction without an id or token');
  return i as RawInteraction;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  // A refused request's unread body is not worth reading: the connection closes after the answer.
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

async function write(res: ServerResponse, response: FirstResponseBody): Promise<void> {
  if (res.headersSent || res.destroyed) throw new Error('the interaction request is gone');
  res.writeHead(200, { 'content-type': response.contentType, 'content-length': response.length, 'cache-control': 'no-store' });
  if (typeof response.body === 'string' || response.body instanceof Uint8Array) {
    await new Promise<void>((resolve, reject) => {
      res.end(response.body, () => resolve());
      res.once('error', reject);
    });
    return;
  }
  await pipeline(Readable.from(response.body), res);
}
