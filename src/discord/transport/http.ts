// The one HTTP path to Discord's API. Every call the bot makes to Discord — deferrals (Acknowledgements), discord.js's
// own calls, and the responder's interaction webhooks and bot-token calls — goes through the two bounded keep-alive
// pools here, on this project's undici, and every answer is reported to one observer (metrics).
import { REST, type RESTOptions } from 'discord.js';
import { Agent } from 'undici';
import type { AcknowledgementTransport } from './acknowledgements.js';
import { callbackInteractionId, type FirstResponses } from './first-response.js';
import { discordRequester, firstResponseOf, noContent, type RestInit, type RestResponse } from './request.js';

export interface DiscordHttpOptions {
  /** Discord's API base, e.g. https://discord.com/api (DISCORD_API_URL). */
  apiUrl: string;
  /** Most connections in each pool (DISCORD_REST_CONNECTIONS); calls beyond it wait for a free one. */
  connections: number;
  /** Every answer's status and route (the path after `/v10`; interaction routes carry a token: never log it). */
  onResponse?: (status: number, path: string) => void;
  /** INTERACTIONS=http: interactions whose POST waits for its answer; their first callback is that answer. */
  firstResponses?: FirstResponses;
}

/**
 * Two pools, so acknowledgements (which must land within 3 s) never wait behind uploads: `interactions` carries
 * deferrals and discord.js's own calls, `messages` the responder's edits, uploads, channel posts and reads.
 * Without a bound, a burst of commands opened a connection — in production a TLS handshake — per call in flight.
 */
export class DiscordHttp {
  readonly apiUrl: string;
  private readonly pools: { interactions: Agent; messages: Agent };
  private readonly apiPrefix: string;

  constructor(private readonly opts: DiscordHttpOptions) {
    this.apiUrl = opts.apiUrl;
    this.apiPrefix = `${opts.apiUrl.replace(/\/+$/, '')}/v10`;
    this.pools = { interactions: new Agent({ connections: opts.connections }), messages: new Agent({ connections: opts.connections }) };
  }

  /** @discordjs/rest's `makeRequest` over one of the pools (its calls are reported like the others). */
  rest(pool: keyof DiscordHttp['pools']): Pick<RESTOptions, 'makeRequest'> {
    const send = discordRequester(this.pools[pool]);
    const report = this.opts.onResponse;
    const first = this.opts.firstResponses;
    const makeRequest = async (url: string, init: RestInit): Promise<RestResponse> => {
      const id = first && init.method === 'POST' ? callbackInteractionId(url) : undefined;
      const answering = id === undefined ? undefined : first?.answer(id, firstResponseOf(init), url);
      if (answering) {
        await answering;
        return noContent();
      }
      const res = await send(url, init);
      report?.(res.status, url.startsWith(this.apiPrefix) ? url.slice(this.apiPrefix.length).split('?')[0] ?? '' : '');
      return res;
    };
    return { makeRequest: makeRequest as RESTOptions['makeRequest'] };
  }

  /** A REST client with the bot's token over the messages pool (the command-line tools' calls). */
  restClient(token: string): REST {
    return new REST({ api: this.apiUrl, ...this.rest('messages') }).setToken(token);
  }

  /** Where deferrals go: the interactions pool, reported like every other call. */
  get acknowledgements(): AcknowledgementTransport {
    return {
      apiUrl: this.apiUrl,
      dispatcher: this.pools.interactions,
      ...(this.opts.onResponse ? { onResponse: this.opts.onResponse } : {}),
      ...(this.opts.firstResponses ? { firstResponses: this.opts.firstResponses } : {}),
    };
  }

  async close(): Promise<void> {
    await Promise.all([this.pools.interactions.close(), this.pools.messages.close()]);
  }
}
