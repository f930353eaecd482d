// The page's view of the fake Discord: every message the people can see (their own posts, the bot's channel posts,
// DMs, interaction replies and followups), pushed to the page whenever the fake answers a request — only what
// changed. It also does what Discord's client does around an interaction: opens the bot's modal for whoever acted,
// says "The application did not respond" when nothing acknowledged it within 3 s, and shows a reply whose token
// died while it was still "thinking…" as failed.
import { MessageFlags, type APIMessage, type APIModalInteractionResponseCallbackData } from 'discord-api-types/v10';
import type { FakeDiscord } from '../fakes/discord/server.js';
import { CHANNEL_ID, PEOPLE } from './people.js';
import type { ServerEvent, ViewMessage } from './protocol.js';

/** Discord shows "The application did not respond" when nothing acknowledged an interaction within 3 s. */
const ACK_DEADLINE_MS = 3000;

interface Tracked {
  token: string;
  userId: string;
  seenCallbacks: number;
  /** The message the interaction came from (a button or a modal opened from one). */
  sourceMessageId: string | undefined;
  /** Chaos: expire the token as soon as the bot has acknowledged. */
  expireAfterAck: boolean;
}

export class Mirror {
  readonly #tracked: Tracked[] = [];
  readonly #userMessageIds: string[] = [];
  /** What the page was last sent of each message, to push only changes. */
  readonly #pushed = new Map<string, string>();
  #refreshQueued = false;
  #closed = false;
  readonly #unsubscribe: () => void;
  readonly #looking: NodeJS.Timeout;

  constructor(
    private readonly discord: FakeDiscord,
    private readonly broadcast: (event: ServerEvent) => void,
    private readonly opts: {
      /** Called after every refresh (the chaos counts are settled there). */
      afterRefresh: () => void;
      /** Refresh twice a second while this says so, besides after every request the fake Discord answers. */
      lookWhile: () => boolean;
    },
  ) {
    this.#unsubscribe = discord.onChange(() => this.schedule());
    this.#looking = setInterval(() => {
      if (opts.lookWhile()) this.schedule();
    }, 500);
  }

  /** Every message visible to someone, oldest first. */
  collect(): ViewMessage[] {
    const discord = this.discord;
    const byId = new Map<string, ViewMessage>();
    for (const id of this.#userMessageIds) {
      const m = discord.message(id);
      if (m) byId.set(id, view(m));
    }
    for (const m of discord.channelMessages(CHANNEL_ID)) byId.set(m.id, view(m));
    for (const p of PEOPLE) for (const m of discord.dmMessages(p.id)) byId.set(m.id, view(m, { place: 'dm', visibleTo: p.id }));
    for (const t of this.#tracked) {
      const original = discord.original(t.token);
      for (const m of [original, ...discord.followups(t.token)]) {
        if (!m) continue;
        const v = view(m);
        if (v.place === 'dm') v.visibleTo = t.userId;
        if (m === original && (m.flags ?? 0) & MessageFlags.Loading && !discord.tokenAlive(t.token)) v.interactionFailed = true;
        byId.set(m.id, v);
      }
    }
    return [...byId.values()].sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
  }

  /** A message a person posted (not through the bot): shown like the bot's. */
  addUserMessage(id: string): void {
    this.#userMessageIds.push(id);
    this.schedule();
  }

  /** Follows an interaction just dispatched: its modals, its acknowledgement, and its token. */
  track(token: string, userId: string, opts: { sourceMessageId?: string | undefined; expireAfterAck: boolean }): void {
    this.#tracked.push({ token, userId, seenCallbacks: 0, sourceMessageId: opts.sourceMessageId, expireAfterAck: opts.expireAfterAck });
    setTimeout(() => {
      if (!this.#closed && this.discord.callbacks(token).length === 0) this.broadcast({ type: 'notice', userId, text: 'The application did not respond.' });
    }, ACK_DEADLINE_MS + 250).unref();
    this.schedule();
  }

  /** Refreshes soon (once for any number of calls in one turn of the event loop). */
  schedule(): void {
    if (this.#refreshQueued || this.#closed) return;
    this.#refreshQueued = true;
    setImmediate(() => {
      this.#refreshQueued = false;
      if (!this.#closed) this.refresh();
    });
  }

  refresh(): void {
    this.#followCallbacks();
    const upsert: ViewMessage[] = [];
    const seen = new Set<string>();
    for (const m of this.collect()) {
      seen.add(m.id);
      const text = JSON.stringify(m);
      if (this.#pushed.get(m.id) !== text) {
        this.#pushed.set(m.id, text);
        upsert.push(m);
      }
    }
    const remove = [...this.#pushed.keys()].filter((id) => !seen.has(id));
    for (const id of remove) this.#pushed.delete(id);
    if (upsert.length > 0 || remove.length > 0) this.broadcast({ type: 'messages', upsert, remove });
    this.opts.afterRefresh();
  }

  close(): void {
    this.#closed = true;
    this.#unsubscribe();
    clearInterval(this.#looking);
  }

  /** Modals the bot opened, and tokens chaos expires once the bot has acknowledged. */
  #followCallbacks(): void {
    for (const t of this.#tracked) {
      const callbacks = this.discord.callbacks(t.token);
      for (; t.seenCallbacks < callbacks.length; t.seenCallbacks++) {
        const cb = callbacks[t.seenCallbacks];
        if (cb?.type === 9) {
          const modal = cb.data as APIModalInteractionResponseCallbackData;
          this.broadcast({ type: 'modal', userId: t.userId, sourceMessageId: t.sourceMessageId, modal });
        }
        if (t.expireAfterAck) {
          t.expireAfterAck = false;
          this.discord.expireToken(t.token);
        }
      }
    }
  }
}

/** A stored message as the page draws it: where it is, and who alone may see it (ephemeral replies). */
function view(message: APIMessage, extra: Partial<ViewMessage> = {}): ViewMessage {
  const ephemeralFor = (message.flags ?? 0) & MessageFlags.Ephemeral ? (message.interaction_metadata?.user.id ?? undefined) : undefined;
  const place = message.channel_id === CHANNEL_ID ? 'general' : 'dm';
  const { interaction: _legacy, ...rest } = message;
  return { ...rest, place, ...(ephemeralFor ? { visibleTo: ephemeralFor } : {}), ...extra };
}
