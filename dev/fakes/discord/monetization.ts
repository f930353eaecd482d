// Premium apps, as Discord runs them: the application's SKUs, entitlements (purchases) with Discord's shapes, the
// ENTITLEMENT_CREATE / UPDATE / DELETE gateway events, test entitlements and the consumption of consumables — with
// Discord's refusals (docs: resources/sku, resources/entitlement, monetization/*; JSON codes from
// topics/opcodes-and-status-codes). What Discord does not document is marked as the fake's own choice.
import { EntitlementType, SKUFlags, SKUType } from 'discord-api-types/v10';
import type { SnowflakeGenerator } from './ids.js';

/** What a test or the playground sells: a user or guild subscription, or a durable or consumable one-time purchase. */
export type FakeSkuKind = 'user-subscription' | 'guild-subscription' | 'durable' | 'consumable';

export interface FakeSkuInput {
  /** Default: a fresh snowflake. */
  id?: string;
  name: string;
  kind: FakeSkuKind;
}

/** An SKU as `GET /applications/{app}/skus` lists it. */
export interface FakeSku {
  id: string;
  type: SKUType;
  dependent_sku_id: null;
  application_id: string;
  manifest_labels: null;
  access_type: 1;
  name: string;
  features: [];
  release_date: null;
  premium: false;
  slug: string;
  flags: number;
  show_age_gate: false;
}

/** An entitlement as Discord sends it (REST, gateway events, interactions). */
export interface FakeEntitlement {
  id: string;
  sku_id: string;
  application_id: string;
  user_id?: string;
  guild_id?: string;
  promotion_id: null;
  type: EntitlementType;
  deleted: boolean;
  gift_code_flags: 0;
  consumed?: boolean;
  starts_at: string | null;
  ends_at: string | null;
  subscription_id?: string;
}

interface Refusal {
  status: number;
  body: unknown;
}
type Result<T> = { ok: T } | { refused: Refusal };

const refused = (status: number, message: string, code: number, errors?: unknown): { refused: Refusal } => ({
  refused: { status, body: { message, code, ...(errors ? { errors } : {}) } },
});
/** Discord's form error: the `errors` object nests the bad field's path (`components.0.sku_id`). */
const formError = (path: string, code: string, message: string) => {
  const errors = path
    .split('.')
    .reverse()
    .reduce<unknown>((inner, part) => ({ [part]: inner }), { _errors: [{ code, message }] });
  return refused(400, 'Invalid Form Body', 50035, errors);
};

export const storeErrors = {
  unknownSku: () => refused(404, 'Unknown SKU', 10027),
  unknownEntitlement: () => refused(404, 'Unknown Entitlement', 10029),
  notConsumable: () => refused(400, 'Only consumable SKUs can be consumed', 40018),
  notSandbox: () => refused(400, 'You can only delete sandbox entitlements.', 40019),
  alreadyGranted: () => refused(400, 'An entitlement has already been granted for this resource', 40074),
};

const SNOWFLAKE = /^\d{15,21}$/;

export class FakeStore {
  readonly skus = new Map<string, FakeSku>();
  readonly entitlements = new Map<string, FakeEntitlement>();
  /** Every consume call that reached an entitlement, in order (a test checks "consumed once" against it). */
  readonly consumeCalls: Array<{ entitlementId: string; at: number }> = [];
  /** Entitlements made through the test-entitlement endpoint (the only ones DELETE may remove). */
  readonly #tests = new Set<string>();

  constructor(
    private readonly applicationId: string,
    private readonly ids: SnowflakeGenerator,
    private readonly emit: (event: 'ENTITLEMENT_CREATE' | 'ENTITLEMENT_UPDATE' | 'ENTITLEMENT_DELETE', entitlement: FakeEntitlement) => void,
    skus: readonly FakeSkuInput[] = [],
  ) {
    for (const sku of skus) this.addSku(sku);
  }

  /** Adds an SKU; a subscription also gets its system-made SUBSCRIPTION_GROUP (type 6), as on Discord. */
  addSku(input: FakeSkuInput): FakeSku {
    const subscription = input.kind === 'user-subscription' || input.kind === 'guild-subscription';
    const flag = input.kind === 'user-subscription' ? SKUFlags.UserSubscription : input.kind === 'guild-subscription' ? SKUFlags.GuildSubscription : 0;
    const make = (id: string, type: SKUType): FakeSku => ({
      id,
      type,
      dependent_sku_id: null,
      application_id: this.applicationId,
      manifest_labels: null,
      access_type: 1,
      name: input.name,
      features: [],
      release_date: null,
      premium: false,
      slug: input.name.toLowerCase().replace(/[^a-z0-9]+/g, '-'),
      flags: SKUFlags.Available | flag,
      show_age_gate: false,
    });
    if (subscription) {
      const group = make(this.ids.next(), SKUType.SubscriptionGroup);
      this.skus.set(group.id, group);
    }
    const type = subscription ? SKUType.Subscription : input.kind === 'durable' ? SKUType.Durable : SKUType.Consumable;
    const sku = make(input.id ?? this.ids.next(), type);
    this.skus.set(sku.id, sku);
    return sku;
  }

  /** Whether an entitlement gives access now: not deleted, not ended, and for a consumable not consumed yet. */
  active(e: FakeEntitlement, now = Date.now()): boolean {
    if (e.deleted) return false;
    if (e.ends_at !== null && Date.parse(e.ends_at) <= now) return false;
    return !(this.skus.get(e.sku_id)?.type === SKUType.Consumable && e.consumed === true);
  }

  /** What an interaction carries: the invoker's active entitlements, and in a server the server's. */
  forInteraction(userId: string, guildId: string | null): FakeEntitlement[] {
    return [...this.entitlements.values()].filter((e) => this.active(e) && (e.user_id === userId || (guildId !== null && e.guild_id === guildId))).map((e) => ({ ...e }));
  }

  /**
   * A purchase as a member makes it in Discord's store: an entitlement of type APPLICATION_SUBSCRIPTION (8) for a
   * subscription, PURCHASE (1) for a one-time item, and its ENTITLEMENT_CREATE. A guild subscription belongs to the
   * server (and the member who bought it).
   */
  purchase(input: { skuId: string; userId: string; guildId?: string }): FakeEntitlement {
    const sku = this.skus.get(input.skuId);
    if (!sku) throw new Error(`fake Discord: no SKU ${input.skuId}; add it with skus: [...]`);
    const subscription = sku.type === SKUType.Subscription;
    const guildSub = (sku.flags & SKUFlags.GuildSubscription) !== 0;
    if (guildSub && !input.guildId) throw new Error('fake Discord: a guild subscription is bought for a server: give guildId');
    const e: FakeEntitlement = {
      id: this.ids.next(),
      sku_id: sku.id,
      application_id: this.applicationId,
      user_id: input.userId,
      ...(guildSub && input.guildId ? { guild_id: input.guildId } : {}),
      promotion_id: null,
      type: subscription ? EntitlementType.ApplicationSubscription : EntitlementType.Purchase,
      deleted: false,
      gift_code_flags: 0,
      ...(sku.type === SKUType.Consumable ? { consumed: false } : {}),
      starts_at: new Date().toISOString(),
      ends_at: null,
      ...(subscription ? { subscription_id: this.ids.next() } : {}),
    };
    this.entitlements.set(e.id, e);
    this.emit('ENTITLEMENT_CREATE', { ...e });
    return e;
  }

  /** A subscription that ended (cancelled and not renewed): `ends_at` set, ENTITLEMENT_UPDATE. */
  endSubscription(entitlementId: string): FakeEntitlement {
    const e = this.#get(entitlementId);
    e.ends_at = new Date().toISOString();
    this.emit('ENTITLEMENT_UPDATE', { ...e });
    return e;
  }

  /** Discord refunds a purchase or removes it: `deleted`, ENTITLEMENT_DELETE. */
  refund(entitlementId: string): FakeEntitlement {
    const e = this.#get(entitlementId);
    e.deleted = true;
    this.emit('ENTITLEMENT_DELETE', { ...e });
    return e;
  }

  #get(id: string): FakeEntitlement {
    const e = this.entitlements.get(id);
    if (!e) throw new Error(`fake Discord: no entitlement ${id}`);
    return e;
  }

  // ── REST ────────────────────────────────────────────────────────────────────────────────────────────

  listSkus(): FakeSku[] {
    return [...this.skus.values()];
  }

  /** GET /applications/{app}/entitlements with Discord's query parameters (newest last; `limit` 1–100). */
  list(query: URLSearchParams): Result<FakeEntitlement[]> {
    const limitRaw = query.get('limit');
    const limit = limitRaw === null ? 100 : Number(limitRaw);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) return formError('limit', 'NUMBER_TYPE_MAX', 'int value should be between 1 and 100.');
    const skuIds = query.get('sku_ids')?.split(',').filter(Boolean);
    const bool = (name: string, fallback: boolean) => (query.has(name) ? ['true', '1'].includes(query.get(name) ?? '') : fallback);
    const excludeEnded = bool('exclude_ended', false);
    const excludeDeleted = bool('exclude_deleted', true);
    const after = query.get('after');
    const before = query.get('before');
    const list = [...this.entitlements.values()]
      .filter((e) => !query.get('user_id') || e.user_id === query.get('user_id'))
      .filter((e) => !query.get('guild_id') || e.guild_id === query.get('guild_id'))
      .filter((e) => !skuIds || skuIds.includes(e.sku_id))
      .filter((e) => !(excludeDeleted && e.deleted))
      .filter((e) => !(excludeEnded && e.ends_at !== null && Date.parse(e.ends_at) <= Date.now()))
      .filter((e) => after === null || BigInt(e.id) > BigInt(after))
      .filter((e) => before === null || BigInt(e.id) < BigInt(before))
      .sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
    return { ok: (before !== null ? list.slice(-limit) : list.slice(0, limit)).map((e) => ({ ...e })) };
  }

  get(id: string): Result<FakeEntitlement> {
    const e = this.entitlements.get(id);
    return e ? { ok: { ...e } } : storeErrors.unknownEntitlement();
  }

  /**
   * POST /applications/{app}/entitlements: a test entitlement, valid for ever. It answers a partial entitlement
   * (no starts_at, ends_at or subscription_id) and sends ENTITLEMENT_CREATE. A second active one for the same SKU and
   * owner is refused with 40074 (the fake's reading of that code).
   */
  createTest(body: unknown, exists: { guild(id: string): boolean }): Result<Partial<FakeEntitlement>> {
    const b = (typeof body === 'object' && body !== null ? body : {}) as { sku_id?: unknown; owner_id?: unknown; owner_type?: unknown };
    if (typeof b.sku_id !== 'string' || !SNOWFLAKE.test(b.sku_id)) return formError('sku_id', 'BASE_TYPE_REQUIRED', 'This field is required');
    if (typeof b.owner_id !== 'string' || !SNOWFLAKE.test(b.owner_id)) return formError('owner_id', 'BASE_TYPE_REQUIRED', 'This field is required');
    if (b.owner_type !== 1 && b.owner_type !== 2) return formError('owner_type', 'BASE_TYPE_CHOICES', 'Value must be one of (1, 2).');
    const sku = this.skus.get(b.sku_id);
    if (!sku || sku.type === SKUType.SubscriptionGroup) return storeErrors.unknownSku();
    const guild = b.owner_type === 1;
    // Every user exists on Discord; the fake knows only those it has seen, so it checks servers alone.
    if (guild && !exists.guild(b.owner_id)) return refused(404, 'Unknown Guild', 10004);
    const owner = guild ? { guild_id: b.owner_id } : { user_id: b.owner_id };
    const held = [...this.entitlements.values()].some((e) => e.sku_id === sku.id && this.active(e) && (guild ? e.guild_id === b.owner_id : e.user_id === b.owner_id));
    if (held) return storeErrors.alreadyGranted();
    const e: FakeEntitlement = {
      id: this.ids.next(),
      sku_id: sku.id,
      application_id: this.applicationId,
      ...owner,
      promotion_id: null,
      type: EntitlementType.TestModePurchase,
      deleted: false,
      gift_code_flags: 0,
      ...(sku.type === SKUType.Consumable ? { consumed: false } : {}),
      starts_at: null,
      ends_at: null,
    };
    this.entitlements.set(e.id, e);
    this.#tests.add(e.id);
    this.emit('ENTITLEMENT_CREATE', { ...e });
    const { starts_at: _s, ends_at: _e, ...partial } = e;
    return { ok: partial };
  }

  /** DELETE /applications/{app}/entitlements/{id}: test entitlements only; ENTITLEMENT_DELETE. */
  deleteTest(id: string): Result<undefined> {
    const e = this.entitlements.get(id);
    if (!e || e.deleted) return storeErrors.unknownEntitlement();
    if (!this.#tests.has(id)) return storeErrors.notSandbox();
    e.deleted = true;
    this.emit('ENTITLEMENT_DELETE', { ...e });
    return { ok: undefined };
  }

  /**
   * POST /applications/{app}/entitlements/{id}/consume: consumables only (40018). Discord does not document a second
   * consume of the same entitlement; the fake answers 204 again and sends nothing, and records every call. A first
   * one sends ENTITLEMENT_UPDATE with `consumed: true` (the fake's reading: Discord's docs leave this open).
   */
  consume(id: string): Result<undefined> {
    const e = this.entitlements.get(id);
    if (!e || e.deleted) return storeErrors.unknownEntitlement();
    if (this.skus.get(e.sku_id)?.type !== SKUType.Consumable) return storeErrors.notConsumable();
    this.consumeCalls.push({ entitlementId: id, at: Date.now() });
    if (e.consumed) return { ok: undefined };
    e.consumed = true;
    this.emit('ENTITLEMENT_UPDATE', { ...e });
    return { ok: undefined };
  }
}

/**
 * A Premium button (style 6) takes an `sku_id` of the application and nothing else a button may have (custom_id,
 * label, emoji, url). Returns Discord's form error for the first bad one in a message body, or undefined.
 */
export function premiumButtonProblem(body: unknown, skus: ReadonlyMap<string, FakeSku>): Refusal | undefined {
  const walk = (node: unknown, path: string): Refusal | undefined => {
    if (Array.isArray(node)) {
      for (const [i, child] of node.entries()) {
        const found = walk(child, `${path}.${i}`);
        if (found) return found;
      }
      return undefined;
    }
    if (typeof node !== 'object' || node === null) return undefined;
    const c = node as Record<string, unknown>;
    if (c.type === 2 && c.style === 6) {
      const at = path.replace(/^\./, '');
      const bad = (field: string, code: string, message: string) => formError(`${at}.${field}`, code, message).refused;
      if (typeof c.sku_id !== 'string') return bad('sku_id', 'BASE_TYPE_REQUIRED', 'This field is required');
      const sku = skus.get(c.sku_id);
      if (!sku || sku.type === SKUType.SubscriptionGroup) return bad('sku_id', 'COMPONENT_INVALID_SKU_ID', 'Invalid SKU');
      for (const field of ['custom_id', 'label', 'emoji', 'url']) if (c[field] !== undefined) return bad(field, 'COMPONENT_FIELD_NOT_ALLOWED', `A premium button cannot have a ${field}.`);
      return undefined;
    }
    for (const key of ['components', 'data', 'accessory']) {
      const found = walk(c[key], `${path}.${key}`);
      if (found) return found;
    }
    return undefined;
  };
  return walk(body, '');
}
