import type { Config } from '../config.js';
import { GuildRecords } from '../storage/guild-records.js';
import type { Storage } from '../storage/index.js';
import { usdToE4 } from './pricing.js';
import type { QuotaScope } from './scope.js';

/*
 * What bounds one server's spend in a UTC day, whatever its admins set: the operator's ceiling for it (a default,
 * SERVER_CAP_USD_PER_DAY, or the operator's own figure for that server, raised while the server holds the premium
 * server tier) and its share of the operator's daily cap (SPEND_CAP_SERVER_SHARE). DMs and user-installed use count
 * as one place: the share applies to them, the ceiling does not.
 */

export type CeilingConfig = Pick<Config, 'serverCapUsdPerDay' | 'spendCapUsdPerDay' | 'spendCapServerShare' | 'premium'>;

/** The limit on a place's spend today, and which of the operator's bounds sets it. */
export interface PlaceLimit {
  e4: number;
  by: 'ceiling' | 'share';
  /** The server's ceiling in USD, when it has one. */
  ceilingUsd: number | undefined;
}

/** Where a server's ceiling comes from: the operator's default, the operator's figure for it, or its premium tier. */
export type CeilingSource = 'default' | 'operator' | 'premium';

export interface Ceiling {
  usd: number;
  source: CeilingSource;
}

interface OverrideRecord {
  /** The operator's ceiling for this server, USD per day. */
  usd?: number;
}

const overrideKey = (guildId: string): string => `quota:ceiling:${guildId}`;

function normalize(raw: unknown): OverrideRecord {
  const usd = (raw as OverrideRecord | undefined)?.usd;
  return typeof usd === 'number' && Number.isFinite(usd) && usd >= 0 ? { usd } : {};
}

export class ServerCeilings {
  private readonly overrides: GuildRecords<OverrideRecord>;

  constructor(
    storage: Storage,
    private readonly config: CeilingConfig,
  ) {
    this.overrides = new GuildRecords(storage, { name: 'ceiling', key: overrideKey, lock: (guildId) => `quota:ceiling-lock:${guildId}`, normalize });
  }

  /** The operator's own figure for a server, USD per day (undefined: the default applies). */
  async override(guildId: string): Promise<number | undefined> {
    return (await this.overrides.get(guildId)).usd;
  }

  /** Sets (a number) or clears (undefined) the operator's figure for a server. */
  async setOverride(guildId: string, usd: number | undefined): Promise<void> {
    await this.overrides.update(guildId, (r) => {
      if (usd === undefined) delete r.usd;
      else r.usd = usd;
    });
  }

  /** A server's ceiling today, or undefined when none applies. */
  async ceiling(guildId: string, premiumTier: boolean): Promise<Ceiling | undefined> {
    const own = await this.override(guildId);
    const base: Ceiling | undefined =
      own !== undefined ? { usd: own, source: 'operator' } : this.config.serverCapUsdPerDay !== undefined ? { usd: this.config.serverCapUsdPerDay, source: 'default' } : undefined;
    const premium = this.config.premium.guild?.capUsdPerDay;
    if (base !== undefined && premiumTier && premium !== undefined && premium > base.usd) return { usd: premium, source: 'premium' };
    return base;
  }

  /** A place's share of the operator's daily cap, ten-thousandths of a dollar, when one is set. */
  shareE4(): number | undefined {
    const { spendCapUsdPerDay: cap, spendCapServerShare: share } = this.config;
    return cap === undefined || share === undefined ? undefined : Math.floor((usdToE4(cap) * share) / 100);
  }

  /** The tighter of the place's ceiling and its share of the cap, or undefined when neither applies. */
  async limitFor(scope: QuotaScope, premiumTier: boolean): Promise<PlaceLimit | undefined> {
    const ceiling = scope.kind === 'guild' ? await this.ceiling(scope.guildId, premiumTier) : undefined;
    const share = this.shareE4();
    const ceilingE4 = ceiling === undefined ? undefined : usdToE4(ceiling.usd);
    if (ceilingE4 === undefined && share === undefined) return undefined;
    if (share === undefined || (ceilingE4 !== undefined && ceilingE4 <= share)) return { e4: ceilingE4 ?? 0, by: 'ceiling', ceilingUsd: ceiling?.usd };
    return { e4: share, by: 'share', ceilingUsd: ceiling?.usd };
  }
}
