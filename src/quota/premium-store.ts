import type { Logger } from '../logger.js';
import { readValue, Unreadable, type Storage } from '../storage/index.js';
import { NO_HOLDINGS, type Holdings, type PremiumCatalog, type Purchase, type TierKind } from './premium.js';

/*
 * What members and servers hold from the store, kept in step with what the store reports: every interaction's
 * purchases, and the purchase events (created, ended, taken back). Writes happen only on a change, so an unchanged
 * member costs reads alone.
 *   premium:tier:<user|guild>:<id>   the running subscription of a member or server
 *   premium:packs:<userId>           the member's packs, in the order bought (under the member's credits lock)
 *   premium:credits-used:<userId>    credit units used: a quota counter, charged with the reservation (plan.ts)
 *   premium:subscribers              who subscribes, for the operator's counts
 *   premium:packs-month:<YYYY-MM>    packs bought and consumed in a month, for the operator's counts
 */

/** How long premium records outlive their last change: credits a member paid for are kept this long unused. */
export const PREMIUM_KEEP_MS = 730 * 86_400_000;

export const premiumKeys = {
  tier: (kind: TierKind, ownerId: string) => `premium:tier:${kind}:${ownerId}`,
  packs: (userId: string) => `premium:packs:${userId}`,
  creditsUsed: (userId: string) => `premium:credits-used:${userId}`,
  subscribers: 'premium:subscribers',
  packsMonth: (month: string) => `premium:packs-month:${month}`,
};
export const premiumLocks = {
  /** The member's packs and credit counter: taken after the member's quota lock (plan.ts's lock order). */
  credits: (userId: string) => `premium:credits:${userId}`,
  subscribers: 'premium:subscribers',
  packsMonth: 'premium:packs-month',
};

interface TierRecord {
  id: string;
  skuId: string;
  endsAt?: number;
}

/** A pack as kept: its units, and whether the store was told it is spent (or a process is telling it). */
export interface PackRecord {
  id: string;
  units: number;
  at: number;
  consumed?: boolean;
  /** Taken back by the store: its units no longer count. */
  revoked?: boolean;
  /** When a process began telling the store the pack is spent: the others leave it alone for a while. */
  claimedAt?: number;
}

type Subscribers = Record<TierKind, Record<string, number | null>>;

const isTier = (v: unknown): v is TierRecord => typeof v === 'object' && v !== null && typeof (v as TierRecord).id === 'string';

function packsOf(raw: unknown): PackRecord[] {
  const list = (raw as { packs?: unknown } | undefined)?.packs;
  if (!Array.isArray(list)) return [];
  return list.filter((p): p is PackRecord => typeof p === 'object' && p !== null && typeof (p as PackRecord).id === 'string' && Number.isSafeInteger((p as PackRecord).units));
}

/** Units bought in packs still counted (not taken back). */
export function boughtOf(packs: readonly PackRecord[]): number {
  return packs.reduce((sum, p) => sum + (p.revoked ? 0 : p.units), 0);
}

const runs = (t: TierRecord | undefined, now: number): boolean => t !== undefined && (t.endsAt === undefined || t.endsAt > now);

export class PremiumStore {
  /** SKUs not sold here that were already logged, so each is said once per process. */
  private readonly unknownLogged = new Set<string>();

  constructor(
    private readonly storage: Storage,
    readonly catalog: PremiumCatalog,
    private readonly log: Logger,
  ) {}

  /** What a member holds where they ask (`guildId` null: DMs and user-installed use). */
  async holdings(userId: string, guildId: string | null, now: number): Promise<Holdings> {
    if (!this.catalog.selling) return NO_HOLDINGS;
    const c = this.catalog.config;
    // A record that cannot be read counts as nothing here; the counter of credits used is healed by the reservation.
    const read = async (key: string) => {
      const v = await readValue(this.storage, key);
      return v instanceof Unreadable ? undefined : v;
    };
    const [user, guild, packsRaw, used] = await Promise.all([
      c.user ? read(premiumKeys.tier('user', userId)) : undefined,
      c.guild && guildId !== null ? read(premiumKeys.tier('guild', guildId)) : undefined,
      c.pack ? read(premiumKeys.packs(userId)) : undefined,
      c.pack ? read(premiumKeys.creditsUsed(userId)) : undefined,
    ]);
    const packs = packsOf(packsRaw);
    const bought = boughtOf(packs);
    return {
      userTier: isTier(user) && runs(user, now),
      guildTier: isTier(guild) && runs(guild, now),
      credits: { bought, used: Math.min(bought, Number(used) || 0) },
      openPack: packs.some((p) => !p.consumed && !p.revoked),
    };
  }

  /** Whether a server holds the premium server tier now (false when it is not sold). */
  async guildTier(guildId: string, now: number): Promise<boolean> {
    if (this.catalog.config.guild === undefined) return false;
    const tier = await this.storage.get<unknown>(premiumKeys.tier('guild', guildId));
    return isTier(tier) && runs(tier, now);
  }

  /**
   * Takes in what an interaction says the member (and the server, in one) hold: the store lists every running
   * purchase of theirs there, so a stored tier it no longer lists has ended. Packs are only added: they are the
   * bot's own ledger once bought.
   */
  async syncInteraction(purchases: readonly Purchase[], who: { userId: string; guildId: string | null }, now: number): Promise<void> {
    if (!this.catalog.selling) return;
    const known = purchases.filter((p) => this.known(p));
    for (const p of known) await this.apply(p, now);
    const listed = new Set(known.map((p) => p.id));
    const owners: Array<[TierKind, string | null]> = [['user', who.userId], ['guild', who.guildId]];
    for (const [kind, owner] of owners) {
      if (owner === null || this.catalog.config[kind] === undefined) continue;
      const stored = await this.storage.get<unknown>(premiumKeys.tier(kind, owner));
      if (isTier(stored) && !listed.has(stored.id)) await this.endTier(kind, owner, stored.id);
    }
  }

  /** Takes in one purchase event (created, updated, deleted): a tier starts or ends, a pack is credited or taken back. */
  async apply(p: Purchase, now: number): Promise<void> {
    const kind = this.catalog.kindOf(p.skuId);
    if (kind === undefined) return void this.known(p);
    const running = !p.deleted && (p.endsAt === undefined || p.endsAt > now);
    if (kind === 'pack') return this.applyPack(p, running, now);
    const owner = kind === 'user' ? p.userId : p.guildId;
    if (owner === undefined) return;
    const key = premiumKeys.tier(kind, owner);
    const stored = await this.storage.get<unknown>(key);
    if (!running) {
      if (isTier(stored) && stored.id === p.id) await this.endTier(kind, owner, p.id);
      return;
    }
    if (isTier(stored) && stored.id === p.id && stored.endsAt === p.endsAt) return;
    const record: TierRecord = { id: p.id, skuId: p.skuId, ...(p.endsAt !== undefined ? { endsAt: p.endsAt } : {}) };
    await this.storage.set(key, record, p.endsAt !== undefined ? Math.max(1000, p.endsAt - now) : PREMIUM_KEEP_MS);
    await this.updateSubscribers(kind, owner, p.endsAt ?? null);
    this.log.info({ purchaseId: p.id, skuId: p.skuId, kind, ownerId: owner }, `premium: a ${kind === 'user' ? "member's" : "server's"} tier started`);
  }

  private async endTier(kind: TierKind, owner: string, id: string): Promise<void> {
    await this.storage.delete(premiumKeys.tier(kind, owner));
    await this.updateSubscribers(kind, owner, undefined);
    this.log.info({ purchaseId: id, kind, ownerId: owner }, `premium: a ${kind === 'user' ? "member's" : "server's"} tier ended`);
  }

  private async applyPack(p: Purchase, running: boolean, now: number): Promise<void> {
    const userId = p.userId;
    if (userId === undefined) return;
    const units = this.catalog.packUnits;
    let revoked = false;
    const credited = await this.changePacks(userId, (packs) => {
      revoked = false;
      const known = packs.find((x) => x.id === p.id);
      if (known) {
        const revoke = p.deleted === true && !known.revoked;
        const consumed = p.consumed === true && !known.consumed;
        if (!revoke && !consumed) return { result: false };
        if (revoke) known.revoked = true;
        if (consumed) known.consumed = true;
        revoked = revoke;
        return { packs, result: false };
      }
      // A pack first seen already spent or taken back was never this bot's to credit.
      if (!running || p.consumed) return { result: false };
      return { packs: [...packs, { id: p.id, units, at: now }], result: true };
    });
    if (revoked) this.log.info({ purchaseId: p.id, userId }, 'premium: a credit pack was taken back by the store; its units no longer count');
    if (!credited) return;
    await this.countPacks(now, 'bought');
    this.log.info({ purchaseId: p.id, userId, units }, 'premium: a credit pack was credited');
  }

  /** Whether the SKU is one the bot sells; one log line per SKU it does not. */
  private known(p: Purchase): boolean {
    if (this.catalog.kindOf(p.skuId) !== undefined) return true;
    if (!this.unknownLogged.has(p.skuId)) {
      this.unknownLogged.add(p.skuId);
      this.log.info({ purchaseId: p.id, skuId: p.skuId }, 'premium: ignored a purchase of an SKU this bot does not sell (not in PREMIUM_*_SKU_ID)');
    }
    return false;
  }

  private async updateSubscribers(kind: TierKind, owner: string, endsAt: number | null | undefined): Promise<void> {
    const key = premiumKeys.subscribers;
    await this.storage.withLock(premiumLocks.subscribers, () =>
      this.storage.atomic([key], ([v]) => {
        const all = (typeof v === 'object' && v !== null && !(v instanceof Unreadable) ? v : { user: {}, guild: {} }) as Subscribers;
        const list = { ...(all[kind] ?? {}) };
        if (endsAt === undefined) delete list[owner];
        else list[owner] = endsAt;
        return { writes: [{ key, value: { ...all, [kind]: list } }], result: undefined };
      }),
    );
  }

  /** Adds one to the month's packs bought or consumed. */
  async countPacks(now: number, what: 'bought' | 'consumed'): Promise<void> {
    const key = premiumKeys.packsMonth(new Date(now).toISOString().slice(0, 7));
    await this.storage.withLock(premiumLocks.packsMonth, () =>
      this.storage.atomic([key], ([v]) => {
        const month = (typeof v === 'object' && v !== null && !(v instanceof Unreadable) ? v : {}) as { bought?: number; consumed?: number };
        return { writes: [{ key, value: { ...month, [what]: (month[what] ?? 0) + 1 }, ttlMs: 400 * 86_400_000 }], result: undefined };
      }),
    );
  }

  /** For the operator: running subscriptions by tier, and this month's packs. */
  async counts(now: number): Promise<{ user: number; guild: number; packsBought: number; packsConsumed: number }> {
    const [all, month] = await Promise.all([
      this.storage.get<Subscribers>(premiumKeys.subscribers),
      this.storage.get<{ bought?: number; consumed?: number }>(premiumKeys.packsMonth(new Date(now).toISOString().slice(0, 7))),
    ]);
    const running = (list: Record<string, number | null> | undefined) => Object.values(list ?? {}).filter((end) => end === null || end > now).length;
    return { user: running(all?.user), guild: running(all?.guild), packsBought: month?.bought ?? 0, packsConsumed: month?.consumed ?? 0 };
  }

  /** The member's packs as kept (for /quota and the consumption of spent ones). */
  async packs(userId: string): Promise<PackRecord[]> {
    return packsOf(await this.storage.get<unknown>(premiumKeys.packs(userId)));
  }

  /**
   * A read-modify-write of the member's packs under their credits lock, atomic (a compare-and-set on Redis): `change`
   * gets the packs and the credits used, and returns the packs to store (none: nothing changes). It may run more
   * than once (the record changed meanwhile): it must only compute.
   */
  async changePacks<R>(userId: string, change: (packs: PackRecord[], creditsUsed: number) => { packs?: PackRecord[]; result: R }): Promise<R> {
    const key = premiumKeys.packs(userId);
    return this.storage.withLock(premiumLocks.credits(userId), () =>
      this.storage.atomic([key, premiumKeys.creditsUsed(userId)], ([packs, used]) => {
        const next = change(packsOf(packs), Number(used instanceof Unreadable ? 0 : used) || 0);
        return { writes: next.packs ? [{ key, value: { packs: next.packs }, ttlMs: PREMIUM_KEEP_MS }] : [], result: next.result };
      }),
    );
  }

  async creditsUsed(userId: string): Promise<number> {
    return Number(await this.storage.get<number>(premiumKeys.creditsUsed(userId))) || 0;
  }
}
