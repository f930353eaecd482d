// What the page can do, each POST /api/<action> turned into what Discord would do: a slash command, a button click,
// a choice in a select menu, an Apps → Edit image, a modal submit (with its selects and uploaded files) become interactions the fake Discord dispatches over the gateway; a plain
// message is stored in #general; a chaos switch arms a staged failure; the Store buys or cancels a SKU. Bodies are JSON from the page (see
// protocol.ts) and are read defensively: the page is ours, but anything on this machine can POST here.
import type { APIAttachment, APIMessage } from 'discord-api-types/v10';
import type { CommandOptionInput, FakeDiscord } from '../fakes/discord/server.js';
import type { Chaos } from './chaos.js';
import type { Mirror } from './mirror.js';
import type { PlaygroundStore } from './store.js';
import { CHANNEL_ID, PEOPLE } from './people.js';
import { HttpProblem } from './problem.js';
import type { ActionName, ActionResults, ChaosKind, Person, ServerEvent } from './protocol.js';

type Body = Record<string, unknown>;
export type Actions = { [K in ActionName]: (body: Body) => Promise<ActionResults[K]> };

export interface ActionDeps {
  discord: FakeDiscord;
  mirror: Mirror;
  chaos: Chaos;
  store: PlaygroundStore;
  /** Files uploaded through the page, by attachment id. */
  uploads: Map<string, APIAttachment>;
  broadcast: (event: ServerEvent) => void;
}

function person(key: unknown): Person {
  const found = PEOPLE.find((p) => p.key === key);
  if (!found) throw new HttpProblem(400, 'as must be "member" or "admin"');
  return found;
}

/** The interaction's user, and where it happens: the server (with the person's roles) or the DM with the bot. */
function context(p: Person, where: unknown) {
  return {
    user: { id: p.id, username: p.username, globalName: p.displayName },
    ...(where === 'dm' ? { guildId: null } : { roles: p.roles }),
  };
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

export function playgroundActions(deps: ActionDeps): Actions {
  const { discord, mirror, chaos, store, uploads } = deps;

  /** A stored message, and whether it is in the server's channel or a DM. */
  const placeOf = (messageId: string): { where: 'general' | 'dm'; message: APIMessage } => {
    const message = discord.message(messageId);
    if (!message) throw new HttpProblem(404, 'That message no longer exists.');
    return { where: message.channel_id === CHANNEL_ID ? 'general' : 'dm', message };
  };
  /** Follows an interaction; an armed "expired token" applies to it. */
  const track = (token: string, userId: string, sourceMessageId?: string): void => {
    const expireAfterAck = chaos.takeExpireToken();
    if (expireAfterAck) deps.broadcast({ type: 'chaos', chaos: chaos.state() });
    mirror.track(token, userId, { sourceMessageId, expireAfterAck });
  };

  return {
    async command(body) {
      const p = person(body.as);
      const options = (Array.isArray(body.options) ? body.options : []) as CommandOptionInput[];
      const attachments = options.filter((o) => o.type === 11).map((o) => uploads.get(String(o.value)));
      if (attachments.some((a) => a === undefined)) throw new HttpProblem(400, 'Upload the file again: the playground does not know it.');
      const group = text(body.subcommandGroup);
      const sub = text(body.subcommand);
      const i = await discord.slashCommand({
        ...context(p, body.place),
        name: String(body.name),
        options,
        attachments: attachments as APIAttachment[],
        ...(group ? { subcommandGroup: group } : {}),
        ...(sub ? { subcommand: sub } : {}),
      });
      track(i.token, p.id);
      return { id: i.id };
    },
    async message(body) {
      const p = person(body.as);
      const ids = Array.isArray(body.attachments) ? body.attachments.map(String) : [];
      const attachments = ids.flatMap((id) => uploads.get(id) ?? []);
      const content = (text(body.content) ?? '').slice(0, 2000);
      if (content.trim() === '' && attachments.length === 0) throw new HttpProblem(400, 'Type a message or attach a file.');
      const m = discord.addMessage({ channelId: CHANNEL_ID, author: { id: p.id, username: p.username, globalName: p.displayName }, content, attachments });
      mirror.addUserMessage(m.id);
      return { id: m.id };
    },
    async button(body) {
      const p = person(body.as);
      const { where, message } = placeOf(String(body.messageId));
      const i = await discord.button({ ...context(p, where), customId: String(body.customId), message: { id: message.id } });
      track(i.token, p.id, message.id);
      return { id: i.id };
    },
    async select(body) {
      const p = person(body.as);
      const { where, message } = placeOf(String(body.messageId));
      const values = Array.isArray(body.values) ? body.values.map(String).slice(0, 25) : [];
      const i = await discord.select({ ...context(p, where), customId: String(body.customId), values, message: { id: message.id } });
      track(i.token, p.id, message.id);
      return { id: i.id };
    },
    async app(body) {
      const p = person(body.as);
      const { where, message } = placeOf(String(body.messageId));
      const i = await discord.messageContextMenu({ ...context(p, where), name: String(body.name), message });
      track(i.token, p.id);
      return { id: i.id };
    },
    async modal(body) {
      const p = person(body.as);
      const fields = Object.fromEntries(Object.entries((body.fields ?? {}) as Body).map(([k, v]) => [k, String(v)]));
      const lists = (value: unknown): Record<string, string[]> =>
        Object.fromEntries(Object.entries((value ?? {}) as Body).map(([k, v]) => [k, Array.isArray(v) ? v.map(String) : []]));
      const selects = lists(body.selects);
      // A File Upload's files, as Discord hands them over: attachments already on its CDN, by id.
      const files = Object.entries(lists(body.uploads)).map(([k, ids]) => [k, ids.map((id) => uploads.get(id))] as const);
      if (files.some(([, list]) => list.some((a) => a === undefined))) throw new HttpProblem(400, 'Upload the file again: the playground does not know it.');
      const sourceId = text(body.sourceMessageId);
      const source = sourceId === undefined ? undefined : placeOf(sourceId);
      const where = source?.where === 'dm' || body.place === 'dm' ? 'dm' : 'general';
      const i = await discord.modalSubmit({
        ...context(p, where),
        customId: String(body.customId),
        fields,
        selects,
        uploads: Object.fromEntries(files) as Record<string, APIAttachment[]>,
        layout: body.labels === true ? 'label' : 'actionRow',
        ...(source ? { message: { id: source.message.id } } : {}),
      });
      track(i.token, p.id, source?.message.id);
      return { id: i.id };
    },
    async chaos(body) {
      chaos.arm(body.kind as ChaosKind);
      deps.broadcast({ type: 'chaos', chaos: chaos.state() });
      return chaos.state();
    },
    async buy(body) {
      const p = person(body.as);
      const item = await store.buy(p, String(body.skuId));
      deps.broadcast({ type: 'notice', userId: p.id, text: `${p.displayName} bought ${item.name} (a Discord test entitlement; nothing is charged): ${item.adds}.` });
      // The allowance changes at once: /quota, as the buyer, where they are.
      const i = await discord.slashCommand({ ...context(p, body.place), name: 'quota' });
      track(i.token, p.id);
      return storeChanged();
    },
    async cancel(body) {
      const p = person(body.as);
      const item = await store.cancel(p, String(body.skuId));
      deps.broadcast({ type: 'notice', userId: p.id, text: `${item.name} cancelled: Discord told the bot (ENTITLEMENT_DELETE).` });
      const i = await discord.slashCommand({ ...context(p, body.place), name: 'quota' });
      track(i.token, p.id);
      return storeChanged();
    },
  };

  /** The store's state, pushed to every page when it changed. */
  function storeChanged() {
    const changed = store.changed();
    if (changed) deps.broadcast({ type: 'store', store: changed });
    return store.state();
  }
}
