import { DefaultUserAgent, DefaultUserAgentAppendix, DiscordAPIError, InteractionResponseType, MessageFlags, type RepliableInteraction } from 'discord.js';
import type { Dispatcher } from 'undici';
import { jsonFirstResponse, type FirstResponses } from './first-response.js';

/** How a deferral reaches Discord: the callback route on its own connection pool (the composition root's). */
export interface AcknowledgementTransport {
  /** Discord's API base, e.g. https://discord.com/api */
  apiUrl: string;
  dispatcher: Dispatcher;
  /** Every answer's status and route (metrics count Discord's error statuses). */
  onResponse?: (status: number, path: string) => void;
  /** INTERACTIONS=http: a deferral of an interaction whose POST waits is that POST's answer. */
  firstResponses?: FirstResponses;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A 429's wait (its body's retry_after, seconds), at most 1 s. */
function retryAfterMs(err: DiscordAPIError): number {
  const seconds = (err.rawError as { retry_after?: unknown }).retry_after;
  return typeof seconds === 'number' && seconds > 0 ? Math.min(1000, seconds * 1000) : 250;
}

/** Discord asks every client for a `DiscordBot (url, version)` User-Agent; the one discord.js's own calls send. */
const USER_AGENT = `${DefaultUserAgent} ${DefaultUserAgentAppendix}`.trim();

/** The most of an error answer's body kept: Discord's JSON errors are small; a proxy's error page is not needed whole. */
const MAX_ERROR_BODY = 16 * 1024;

/**
 * One callback's answer: its status, and its body only when it is an error. A handler of undici's own rather than
 * `request()`'s body stream — per acknowledgement, in a burst, the stream and its promises are what cost.
 */
class CallbackAnswer implements Dispatcher.DispatchHandler {
  #status = 0;
  #chunks: Buffer[] = [];
  #size = 0;

  constructor(
    private readonly resolve: (answer: { status: number; text: string }) => void,
    private readonly reject: (err: Error) => void,
  ) {}

  /** undici tells its handler styles apart by this method. */
  onRequestStart(): void {}

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number): void {
    this.#status = statusCode;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#status < 300 || this.#size >= MAX_ERROR_BODY) return;
    this.#chunks.push(chunk);
    this.#size += chunk.length;
  }

  onResponseEnd(): void {
    this.resolve({ status: this.#status, text: this.#chunks.length > 0 ? Buffer.concat(this.#chunks).toString('utf8', 0, MAX_ERROR_BODY) : '' });
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.reject(err);
  }
}

/** Discord's code for a callback sent twice: a retried deferral whose first attempt did arrive. */
const ALREADY_ACKNOWLEDGED = 40060;

/**
 * Sends deferrals (defer()), and keeps the interactions that have arrived and are not acknowledged yet. Discord drops an interaction the bot has not
 * acknowledged within 3 s, while starting a job (quota, storage, the queue, the first POST to Luma and progress
 * edits behind it) can wait: so in a burst of commands, the work of starting the jobs of those already acknowledged
 * waits until the others are acknowledged too, and the bot's CPU goes to the acknowledgements first.
 *
 * Nothing waits long: an interaction counts only for Discord's 3 s (one that is never acknowledged — a handler
 * that failed, a network error — stops counting then), and a wait ends after `maxWaitMs` however busy the bot is.
 */
export class Acknowledgements {
  /** Interaction id → when it arrived (ms). */
  readonly #pending = new Map<string, number>();
  #waiters: Array<() => void> = [];
  #timer: NodeJS.Timeout | undefined;

  /** The API's origin and path prefix, parsed once (not a URL per acknowledgement). */
  readonly #origin: string;
  readonly #basePath: string;

  constructor(
    private readonly transport: AcknowledgementTransport,
    private readonly opts: { windowMs?: number; maxWaitMs?: number; now?: () => number } = {},
  ) {
    const api = new URL(transport.apiUrl);
    this.#origin = api.origin;
    this.#basePath = api.pathname.replace(/\/$/, '');
  }

  /**
   * Defers the interaction's reply ("thinking…", private with `ephemeral`), as discord.js's deferReply() does, in
   * one POST on the acknowledgement pool: no per-interaction route handler, queue and timers of @discordjs/rest —
   * in a burst of commands, the bot's CPU per acknowledgement is what decides whether the last one is in time.
   * A connection that broke or a 5xx is retried once (Discord answering "already acknowledged" means the first
   * went through), a 429 once after its retry_after (at most 1 s: the interaction lives 3 s); any other refusal is
   * thrown as discord.js's DiscordAPIError, as deferReply() would.
   */
  async defer(interaction: RepliableInteraction, opts: { ephemeral?: boolean } = {}): Promise<void> {
    const flags = opts.ephemeral ? MessageFlags.Ephemeral : 0;
    const path = `/interactions/${interaction.id}/${interaction.token}/callback`;
    const body = { type: InteractionResponseType.DeferredChannelMessageWithSource, data: { flags } };
    const viaHttp = this.transport.firstResponses?.answer(interaction.id, jsonFirstResponse(body), `${this.transport.apiUrl}/v10${path}`);
    try {
      // Over HTTP the deferral is the POST's answer: no callback, nothing to retry.
      await (viaHttp ??
        this.#post(path, body).catch(async (err: unknown) => {
          if (err instanceof DiscordAPIError && err.status < 500 && err.status !== 429) throw err;
          if (err instanceof DiscordAPIError && err.status === 429) await sleep(retryAfterMs(err));
          return this.#post(path, body);
        }));
    } catch (err) {
      if (!(err instanceof DiscordAPIError && err.code === ALREADY_ACKNOWLEDGED)) throw err;
    } finally {
      this.settled(interaction.id);
    }
    interaction.deferred = true;
    interaction.ephemeral = opts.ephemeral ?? false;
  }

  async #post(path: string, body: unknown): Promise<void> {
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      this.transport.dispatcher.dispatch(
        {
          origin: this.#origin,
          path: `${this.#basePath}/v10${path}`,
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': USER_AGENT },
          body: JSON.stringify(body),
          // Discord drops the interaction after 3 s anyway.
          headersTimeout: 10_000,
          bodyTimeout: 10_000,
        },
        new CallbackAnswer(resolve, reject),
      );
    });
    this.transport.onResponse?.(status, path);
    if (status < 300) return;
    let raw: { message?: string; code?: number; retry_after?: number } = {};
    try {
      raw = JSON.parse(text) as typeof raw;
    } catch {
      // not JSON (a proxy's error page): the status says enough
    }
    const error = { message: raw.message ?? `HTTP ${status}`, code: raw.code ?? 0, ...(typeof raw.retry_after === 'number' ? { retry_after: raw.retry_after } : {}) };
    throw new DiscordAPIError(error, error.code, status, 'POST', `${this.transport.apiUrl}/v10${path}`, { body });
  }

  private get windowMs(): number {
    return this.opts.windowMs ?? 3000;
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** An interaction arrived. */
  arrived(id: string): void {
    this.#pending.set(id, this.now());
  }

  /** It was acknowledged, or its handler ended (answered or not): it no longer holds other work back. */
  settled(id: string): void {
    if (!this.#pending.delete(id)) return;
    this.#release();
  }

  /** Interactions still waiting for an acknowledgement (within Discord's 3 s). */
  get count(): number {
    this.#expire();
    return this.#pending.size;
  }

  /** Resolves once no interaction waits for its acknowledgement, or after `maxWaitMs` (default 2 s). */
  idle(): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(cap);
        resolve();
      };
      const cap = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== finish);
        finish();
      }, this.opts.maxWaitMs ?? 2000);
      this.#waiters.push(finish);
      this.#schedule();
    });
  }

  #expire(): void {
    const oldest = this.now() - this.windowMs;
    for (const [id, at] of this.#pending) {
      // Insertion order is arrival order: the first one still in its window ends the sweep.
      if (at > oldest) break;
      this.#pending.delete(id);
    }
  }

  #release(): void {
    if (this.#waiters.length === 0 || this.count > 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const w of waiters) w();
  }

  /** While someone waits, re-check when the oldest pending interaction leaves its window. */
  #schedule(): void {
    if (this.#timer !== undefined) return;
    const first = this.#pending.values().next();
    if (first.done) return;
    const at = first.value + this.windowMs;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#release();
      if (this.#waiters.length > 0) this.#schedule();
    }, Math.max(1, at - this.now()));
    this.#timer.unref();
  }
}
