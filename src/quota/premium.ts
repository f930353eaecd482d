import type { PremiumConfig } from '../config-values.js';
import type { Allowance } from './model.js';

/*
 * Premium tiers in the quota's own words. Discord sells them (SKUs; a purchase is an entitlement); the Discord side
 * translates what it reads — an interaction's entitlements, the ENTITLEMENT_* gateway events — into `Purchase`s, and
 * this module decides what they are worth: a member's tier (more units everywhere), a server's tier (more units for
 * every member there, a higher ceiling), and credit packs (units used after the free allowance).
 */

/** What a tier belongs to: a member (everywhere) or a server (everyone on it). */
export type TierKind = 'user' | 'guild';
/** What can be bought: a member's tier, a server's tier, or a credit pack. */
export type Offer = TierKind | 'pack';

/** One purchase as the store reports it (an entitlement), in the quota's words. */
export interface Purchase {
  /** The store's id of this purchase (the entitlement id): a pack is credited, and consumed, once by it. */
  readonly id: string;
  readonly skuId: string;
  /** Whose it is: a member's purchase, or a server's. */
  readonly userId?: string | undefined;
  readonly guildId?: string | undefined;
  /** When it ended (a subscription that was not renewed), ms; undefined while it runs. */
  readonly endsAt?: number | undefined;
  /** Taken back by the store (a refund, or a test purchase deleted). */
  readonly deleted?: boolean | undefined;
  /** A pack the bot already told the store it used up. */
  readonly consumed?: boolean | undefined;
}

/** What a requester holds where they ask, read once per reservation. */
export interface Holdings {
  /** The member's own tier (everywhere). */
  userTier: boolean;
  /** The server's tier (only on that server, not in DMs or user-installed use). */
  guildTier: boolean;
  /** Credit units bought (packs not taken back) and used. */
  credits: { bought: number; used: number };
  /** A pack the member bought that the store was not yet told is spent: the store sells no second one until then. */
  openPack: boolean;
}

export const NO_HOLDINGS: Holdings = { userTier: false, guildTier: false, credits: { bought: 0, used: 0 }, openPack: false };

/** The tiers sold, by SKU: what each is and what it adds. */
export class PremiumCatalog {
  constructor(readonly config: PremiumConfig) {}

  /** Whether anything is sold at all: with nothing, premium costs no storage read. */
  get selling(): boolean {
    return this.config.user !== undefined || this.config.guild !== undefined || this.config.pack !== undefined;
  }

  /** What a SKU is, or undefined for one the bot does not sell. */
  kindOf(skuId: string): Offer | undefined {
    const c = this.config;
    if (c.user?.skuId === skuId) return 'user';
    if (c.guild?.skuId === skuId) return 'guild';
    if (c.pack?.skuId === skuId) return 'pack';
    return undefined;
  }

  skuOf(offer: Offer): string | undefined {
    return this.config[offer]?.skuId;
  }

  /** Units a pack holds. */
  get packUnits(): number {
    return this.config.pack?.units ?? 0;
  }

  /**
   * The allowance with the tiers' extra units added, per the allowance's period. A limit of 0 a server's admins set
   * (a member or role override, or the server's default) means "no images here": no tier lifts that. Unlimited stays
   * unlimited (up to the operator's ceiling).
   */
  withTiers(allowance: Allowance, held: Holdings, inGuild: boolean): Allowance {
    const user = held.userTier ? (this.config.user?.units ?? 0) : 0;
    const guild = held.guildTier && inGuild ? (this.config.guild?.units ?? 0) : 0;
    if (allowance.limit === 'unlimited' || user + guild === 0 || adminsSaidNo(allowance)) return allowance;
    return { ...allowance, limit: allowance.limit + user + guild, extra: { ...(user > 0 ? { user } : {}), ...(guild > 0 ? { guild } : {}) } };
  }

  /**
   * What the member could buy that would lift a refusal at their own limit: a tier they lack, a pack when they hold
   * none still open, the server's tier on a server without it. Nothing when the server's admins set their limit to 0.
   */
  offersAtMemberLimit(allowance: Allowance, held: Holdings, inGuild: boolean): Offer[] {
    if (adminsSaidNo(allowance)) return [];
    const offers: Offer[] = [];
    if (this.config.user && !held.userTier) offers.push('user');
    if (this.config.pack && !held.openPack) offers.push('pack');
    if (this.config.guild && inGuild && !held.guildTier) offers.push('guild');
    return offers;
  }

  /** The server's tier, when it would raise the ceiling the server hit (`ceilingUsd`) and the server lacks it. */
  offersAtServerCeiling(held: Holdings, ceilingUsd: number): Offer[] {
    const cap = this.config.guild?.capUsdPerDay;
    return cap !== undefined && cap > ceilingUsd && !held.guildTier ? ['guild'] : [];
  }
}

function adminsSaidNo(allowance: Allowance): boolean {
  const s = allowance.source;
  return allowance.limit === 0 && (s.kind === 'user' || s.kind === 'role' || (s.kind === 'default' && s.configured));
}
