import { MODELS } from '../luma/types.js';
import { e4ToUsd } from './pricing.js';
import type { UsageLedger, UsageRow } from './usage.js';

/*
 * The operator's figures by server: what each server (and DMs with user-installed use, `dm`) spent over some UTC
 * days — dollars from the server-spend counters the reservations charge, units and requests from the usage ledger —
 * and the month's CSV by server and member, whose sums are the /quota-admin usage CSVs' and the counters'.
 */

const DAY_MS = 86_400_000;

/** One server's spend over the days asked for. */
export interface PlaceSpend {
  /** A server's id, or `dm`. */
  place: string;
  usdE4: number;
  units: number;
  requests: number;
}

/** The UTC days of a month (`2026-12`) up to the day of `now` when it is the current month; empty for a later one. */
export function daysOfMonth(month: string, now: number): string[] {
  const start = Date.parse(`${month}-01T00:00:00Z`);
  if (!/^\d{4}-\d{2}$/.test(month) || Number.isNaN(start)) throw new Error(`not a month: "${month}" (use YYYY-MM)`);
  const days: string[] = [];
  for (let t = start; new Date(t).toISOString().startsWith(month) && t <= now; t += DAY_MS) days.push(new Date(t).toISOString().slice(0, 10));
  return days;
}

/** Where the figures come from: the usage ledger, and a server's spend counter of a day. */
export interface SpendSources {
  ledger: Pick<UsageLedger, 'places' | 'rowsOf'>;
  spentE4(place: string, day: string): Promise<number>;
}

/**
 * Each server's spend over `days`, largest first; units and requests are read for the first `detailed` only (they
 * come from the member records: the operator's status needs them for its top ten).
 */
export async function spendByPlace(src: SpendSources, days: readonly string[], detailed = Infinity): Promise<PlaceSpend[]> {
  const byDay = await Promise.all(days.map(async (day) => ({ day, places: await src.ledger.places(day) })));
  const totals = new Map<string, PlaceSpend>();
  await Promise.all(
    byDay.flatMap(({ day, places }) =>
      places.map(async (place) => {
        const spent = await src.spentE4(place, day);
        const t = totals.get(place) ?? { place, usdE4: 0, units: 0, requests: 0 };
        t.usdE4 += spent;
        totals.set(place, t);
      }),
    ),
  );
  const sorted = [...totals.values()].sort((a, b) => b.usdE4 - a.usdE4 || a.place.localeCompare(b.place));
  await Promise.all(
    sorted.slice(0, detailed).map(async (t) => {
      for (const r of await src.ledger.rowsOf(t.place, days)) {
        t.units += r.units;
        t.requests += r.jobs;
      }
    }),
  );
  return sorted;
}

/** Every row of a month by server and member, as `day,server_id,member_id,model,units,usd,requests`. */
export async function monthCsv(ledger: Pick<UsageLedger, 'places' | 'rowsOf'>, days: readonly string[]): Promise<string> {
  const lines = ['day,server_id,member_id,model,units,usd,requests'];
  for (const day of days) {
    const places = [...(await ledger.places(day))].sort();
    for (const place of places) {
      const rows: UsageRow[] = await ledger.rowsOf(place, [day]);
      rows.sort((a, b) => a.userId.localeCompare(b.userId) || MODELS.indexOf(a.model) - MODELS.indexOf(b.model));
      for (const r of rows) lines.push([r.day, place, r.userId, r.model, String(r.units), e4ToUsd(r.usdE4).toFixed(4), String(r.jobs)].join(','));
    }
  }
  return `${lines.join('\r\n')}\r\n`;
}
