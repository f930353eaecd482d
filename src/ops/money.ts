// The operator's money at a glance, for /bot-status: today's and this month's spend by server (the ten largest:
// dollars, units, what is left of the server's ceiling today) and the premium tiers sold, counted by SKU.
import { utcDay } from '../quota/periods.js';
import type { ServerCeilings } from '../quota/ceilings.js';
import type { PremiumCatalog } from '../quota/premium.js';
import type { PremiumStore } from '../quota/premium-store.js';
import { e4ToUsd, formatUsd } from '../quota/pricing.js';
import { daysOfMonth, spendByPlace, type PlaceSpend } from '../quota/spend-report.js';
import type { UsageLedger } from '../quota/usage.js';

/** How many servers each list shows. */
export const TOP_SERVERS = 10;

export interface MoneyFigures {
  /** `2026-12`. */
  month: string;
  today: Array<PlaceSpend & { ceilingLeftUsd?: number }>;
  monthTop: PlaceSpend[];
  /** Running subscriptions and this month's packs, by the SKU sold; undefined when nothing is sold. */
  premium: Array<{ what: 'member tier' | 'server tier' | 'credit packs'; skuId: string; text: string }> | undefined;
}

/** What the figures are read from (the quota service). */
export interface MoneySources {
  readonly usage: Pick<UsageLedger, 'places' | 'rowsOf'>;
  readonly ceilings: Pick<ServerCeilings, 'ceiling'>;
  readonly premium: Pick<PremiumStore, 'counts' | 'guildTier'>;
  readonly catalog: PremiumCatalog;
  placeSpentE4(place: string, day: string): Promise<number>;
}

export async function readMoney(q: MoneySources, now: number): Promise<MoneyFigures> {
  const month = utcDay(now).slice(0, 7);
  const src = { ledger: q.usage, spentE4: (place: string, day: string) => q.placeSpentE4(place, day) };
  const [today, monthAll] = await Promise.all([spendByPlace(src, [utcDay(now)], TOP_SERVERS), spendByPlace(src, daysOfMonth(month, now), TOP_SERVERS)]);
  const withCeilings = await Promise.all(
    today.slice(0, TOP_SERVERS).map(async (t) => {
      if (t.place === 'dm') return t;
      const ceiling = await q.ceilings.ceiling(t.place, await q.premium.guildTier(t.place, now));
      return ceiling === undefined ? t : { ...t, ceilingLeftUsd: Math.max(0, ceiling.usd - e4ToUsd(t.usdE4)) };
    }),
  );
  return { month, today: withCeilings, monthTop: monthAll.slice(0, TOP_SERVERS), premium: q.catalog.selling ? await premiumLines(q, now) : undefined };
}

async function premiumLines(q: MoneySources, now: number): Promise<NonNullable<MoneyFigures['premium']>> {
  const c = await q.premium.counts(now);
  const sold = q.catalog.config;
  return [
    ...(sold.user ? [{ what: 'member tier' as const, skuId: sold.user.skuId, text: `${c.user} running` }] : []),
    ...(sold.guild ? [{ what: 'server tier' as const, skuId: sold.guild.skuId, text: `${c.guild} running` }] : []),
    ...(sold.pack ? [{ what: 'credit packs' as const, skuId: sold.pack.skuId, text: `${c.packsBought} bought, ${c.packsConsumed} used up this month` }] : []),
  ];
}

/** The figures as lines of /bot-status; `nameOf` gives a server's name where the bot knows it. */
export function renderMoney(m: MoneyFigures, nameOf: (guildId: string) => string | undefined): string[] {
  const place = (p: string) => (p === 'dm' ? 'DMs & user installs' : (nameOf(p) ?? p));
  const entry = (s: PlaceSpend & { ceilingLeftUsd?: number }, i: number) =>
    `${i + 1}. ${place(s.place)}: ${formatUsd(e4ToUsd(s.usdE4))} · ${plural(s.units, 'unit')}` + (s.ceilingLeftUsd !== undefined ? ` · ${formatUsd(s.ceilingLeftUsd)} of its ceiling left` : '');
  const lines = [
    m.today.length === 0 ? '**Spend by server today:** nothing yet' : `**Spend by server today (top ${TOP_SERVERS}):**`,
    ...m.today.map(entry),
    m.monthTop.length === 0 ? `**Spend by server in ${m.month}:** nothing yet` : `**Spend by server in ${m.month} (top ${TOP_SERVERS}):**`,
    ...m.monthTop.map(entry),
  ];
  if (m.premium) lines.push(`**Premium:** ${m.premium.map((p) => `${p.what} (SKU ${p.skuId}): ${p.text}`).join(' · ')}`);
  return lines;
}

/** `1 unit`, `2 units`: the operator's views are in English. */
export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
