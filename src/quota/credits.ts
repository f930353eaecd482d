import type { Logger } from '../logger.js';
import type { PackRecord, PremiumStore } from './premium-store.js';

/*
 * A credit pack is consumed at the store once its units are spent, so the member may buy another (the store sells
 * no second pack of a SKU while one is open). Exactly once, also with several processes: a process first claims
 * the pack under the member's credits lock, and only the claimant tells the store. A claim left by a process that
 * died while telling the store is taken over after CLAIM_STALE_MS (the store may then hear it twice).
 */

/** Tells the store a purchase is used up (Discord: POST …/entitlements/{id}/consume). */
export interface PackConsumer {
  /** Resolves once the store took it (also when it had already); throws when it may be tried again later. */
  consume(purchaseId: string): Promise<void>;
}

export const CLAIM_STALE_MS = 10 * 60_000;

/** The packs whose units `used` covers entirely, in the order bought (packs taken back do not count). */
export function spentPacks(packs: readonly PackRecord[], used: number): PackRecord[] {
  const spent: PackRecord[] = [];
  let end = 0;
  for (const p of packs) {
    if (p.revoked) continue;
    end += p.units;
    if (end <= used) spent.push(p);
  }
  return spent;
}

export class PackConsumption {
  constructor(
    private readonly store: PremiumStore,
    private readonly consumer: PackConsumer | undefined,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  /** Tells the store about every spent pack of the member it was not told of yet; resolves when done. Never throws. */
  async consumeSpent(userId: string): Promise<void> {
    if (!this.consumer) return;
    try {
      const claimed = await this.claim(userId);
      for (const id of claimed) await this.consumeOne(userId, id);
    } catch (err) {
      this.log.warn({ err, userId }, 'premium: could not check which credit packs are spent; the next use tries again');
    }
  }

  private async claim(userId: string): Promise<string[]> {
    const now = this.now();
    return this.store.changePacks(userId, (packs, used) => {
      const due = spentPacks(packs, used).filter((p) => !p.consumed && (p.claimedAt === undefined || now - p.claimedAt > CLAIM_STALE_MS));
      if (due.length === 0) return { result: [] };
      for (const p of due) p.claimedAt = now;
      return { packs, result: due.map((p) => p.id) };
    });
  }

  private async consumeOne(userId: string, id: string): Promise<void> {
    try {
      await this.consumer?.consume(id);
    } catch (err) {
      this.log.warn({ err, userId, purchaseId: id }, 'premium: the store did not take the spent credit pack; the next use tries again');
      await this.settle(userId, id, false);
      return;
    }
    await this.settle(userId, id, true);
    await this.store.countPacks(this.now(), 'consumed').catch((err: unknown) => this.log.warn({ err }, 'premium: could not count a consumed pack'));
    this.log.info({ userId, purchaseId: id }, 'premium: a spent credit pack was consumed at the store');
  }

  /** Marks the pack consumed, or gives the claim up for a later try. */
  private async settle(userId: string, id: string, consumed: boolean): Promise<void> {
    await this.store.changePacks(userId, (packs) => {
      const pack = packs.find((p) => p.id === id);
      if (!pack) return { result: undefined };
      if (consumed) pack.consumed = true;
      delete pack.claimedAt;
      return { packs, result: undefined };
    });
  }
}
