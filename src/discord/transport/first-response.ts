// An interaction that came as an HTTP POST (INTERACTIONS=http) is acknowledged by the answer to that POST: its first
// response — a deferral, a reply, a modal, an update — is the response body, with no callback round trip. Everything
// else goes on as it came by the gateway. So the transport, not the commands, tells the two apart: a callback for
// an interaction whose POST still waits is written into that POST's answer (here); any other goes over REST.
import { DiscordAPIError } from 'discord.js';

/** A first response as the bot would have POSTed it to the callback route: JSON, or multipart with files. */
export interface FirstResponseBody {
  contentType: string;
  body: string | Uint8Array | AsyncIterable<Uint8Array>;
  /** Bytes in all (multipart bodies are streamed). */
  length: number;
}

/** Writes the response into the waiting POST's answer; resolves once it is written, rejects when that POST is gone. */
export type FirstResponseWriter = (response: FirstResponseBody) => Promise<void>;

/** Discord's answer to a callback for an interaction it no longer waits for (the POST timed out or was dropped). */
export const UNKNOWN_INTERACTION = { message: 'Unknown interaction', code: 10062 } as const;

/** The interaction id of a callback route (`…/interactions/:id/:token/callback`), else undefined. */
export function callbackInteractionId(url: string): string | undefined {
  return /\/interactions\/(\d{1,25})\/[^/?]+\/callback(?:\?|$)/.exec(url)?.[1];
}

/** Interactions whose HTTP POST waits for its answer, by id. */
export class FirstResponses {
  readonly #open = new Map<string, FirstResponseWriter>();

  /** An interaction arrived over HTTP: its first response goes to `write` until it is answered or `close`d. */
  open(id: string, write: FirstResponseWriter): void {
    this.#open.set(id, write);
  }

  /** Stops waiting (the POST's time ran out, or its sender left); true when it had not been answered. */
  close(id: string): boolean {
    return this.#open.delete(id);
  }

  /** Interactions waiting for their first response. */
  get size(): number {
    return this.#open.size;
  }

  /**
   * Answers the interaction's POST with `response` when it still waits for one. Undefined when it does not (it came
   * by the gateway, or was answered already): the caller sends the callback over REST, as it would by the gateway —
   * Discord then answers 40060 "already acknowledged" or 10062 as it should. Rejects with Discord's own 10062 when
   * the POST went away while this was written.
   */
  answer(id: string, response: FirstResponseBody, route: string): Promise<void> | undefined {
    const write = this.#open.get(id);
    if (!write) return undefined;
    this.#open.delete(id);
    return write(response).catch(() => {
      throw new DiscordAPIError(UNKNOWN_INTERACTION, UNKNOWN_INTERACTION.code, 404, 'POST', route, { body: undefined });
    });
  }
}

/** A JSON callback body as a first response. */
export function jsonFirstResponse(body: unknown): FirstResponseBody {
  const text = JSON.stringify(body);
  return { contentType: 'application/json', body: text, length: Buffer.byteLength(text) };
}
