// The playground's Store: the three things the bot can sell through Discord's store (a member's subscription, a
// server's subscription, a credit pack), as SKUs of the fake Discord and PREMIUM_* settings of the bot. "Buying" one
// makes a Discord test entitlement through the fake's real endpoint (POST /applications/{app}/entitlements, the bot's
// token), as an operator tries the real thing (docs/premium.md); cancelling a subscription deletes it.
import type { FakeDiscord } from '../fakes/discord/server.js';
import { APPLICATION_ID, GUILD_ID, PEOPLE, STORE_ITEMS as ITEMS } from './people.js';
import { HttpProblem } from './problem.js';
import type { Person, PersonKey, StoreItem, StoreState } from './protocol.js';

export class PlaygroundStore {
  #last = '';

  constructor(private readonly discord: FakeDiscord) {}

  /** What is sold, and what each person holds now (the server's subscription counts for both). */
  state(): StoreState {
    const active = this.discord.entitlements().filter((e) => !e.deleted && (e.ends_at === null || Date.parse(e.ends_at) > Date.now()) && e.consumed !== true);
    const owned = Object.fromEntries(
      PEOPLE.map((p) => [p.key, ITEMS.filter((i) => active.some((e) => e.sku_id === i.skuId && (i.kind === 'guild' ? e.guild_id === GUILD_ID : e.user_id === p.id))).map((i) => i.skuId)]),
    ) as Record<PersonKey, string[]>;
    return { items: ITEMS.map(({ sku: _sku, ...item }) => item), owned };
  }

  /** The state when it changed since the last call (a pack the bot consumed, a purchase), else undefined. */
  changed(): StoreState | undefined {
    const now = this.state();
    const text = JSON.stringify(now);
    if (text === this.#last) return undefined;
    this.#last = text;
    return now;
  }

  /** A test entitlement of the SKU for the person (the server, for its subscription). */
  async buy(p: Person, skuId: string): Promise<StoreItem> {
    const item = this.#item(skuId);
    const owner = item.kind === 'guild' ? { owner_id: GUILD_ID, owner_type: 1 } : { owner_id: p.id, owner_type: 2 };
    const res = await this.#rest('POST', '', { sku_id: skuId, ...owner });
    if (res.status === 400 && (res.body as { code?: number }).code === 40074) {
      throw new HttpProblem(409, item.kind === 'pack' ? `${p.displayName} still has a ${item.name} pack open: Discord sells the next once the bot has used it up.` : `${item.kind === 'guild' ? 'Playground' : p.displayName} already has ${item.name}.`);
    }
    if (res.status !== 200) throw new HttpProblem(502, `The fake Discord refused the purchase (${res.status}).`);
    return item;
  }

  /** Deletes the person's (or the server's) test subscription of the SKU. */
  async cancel(p: Person, skuId: string): Promise<StoreItem> {
    const item = this.#item(skuId);
    if (item.kind === 'pack') throw new HttpProblem(400, 'A credit pack is not cancelled: the bot consumes it once it is used up.');
    const held = this.discord.entitlements().find((e) => e.sku_id === skuId && !e.deleted && (item.kind === 'guild' ? e.guild_id === GUILD_ID : e.user_id === p.id));
    if (!held) throw new HttpProblem(404, `Nobody holds ${item.name} here.`);
    const res = await this.#rest('DELETE', `/${held.id}`);
    if (res.status !== 204) throw new HttpProblem(502, `The fake Discord refused the cancellation (${res.status}).`);
    return item;
  }

  #item(skuId: string): StoreItem {
    const item = ITEMS.find((i) => i.skuId === skuId);
    if (!item) throw new HttpProblem(404, 'The store does not sell that.');
    return item;
  }

  async #rest(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${this.discord.apiUrl}/v10/applications/${APPLICATION_ID}/entitlements${path}`, {
      method,
      headers: { authorization: `Bot ${this.discord.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: res.status === 204 ? undefined : await res.json().catch(() => undefined) };
  }
}
