import { MODELS, type Model } from '../luma/types.js';
import { e4ToUsd } from './pricing.js';
import { lastDays, type UsageRow } from './usage.js';

/** Everything /quota-admin usage reports, summed from the per-day rows. */
export interface UsageSummary {
  days: string[];
  perDay: Array<Partial<Record<Model, number>>>;
  /** Members by units used, most first. */
  members: Array<{ userId: string; units: number }>;
  units: number;
  usdE4: number;
  jobs: number;
}

export function summarize(rows: readonly UsageRow[], days: number, now: number): UsageSummary {
  const dayList = lastDays(days, now);
  const index = new Map(dayList.map((d, i) => [d, i]));
  const perDay: Array<Partial<Record<Model, number>>> = dayList.map(() => ({}));
  const byMember = new Map<string, number>();
  let units = 0;
  let usdE4 = 0;
  let jobs = 0;
  for (const r of rows) {
    const i = index.get(r.day);
    if (i === undefined) continue;
    const slot = perDay[i] as Partial<Record<Model, number>>;
    slot[r.model] = (slot[r.model] ?? 0) + r.units;
    byMember.set(r.userId, (byMember.get(r.userId) ?? 0) + r.units);
    units += r.units;
    usdE4 += r.usdE4;
    jobs += r.jobs;
  }
  const members = [...byMember].map(([userId, u]) => ({ userId, units: u })).sort((a, b) => b.units - a.units || a.userId.localeCompare(b.userId));
  return { days: dayList, perDay, members, units, usdE4, jobs };
}

/** A CSV field: quoted when needed, and never read as a formula by a spreadsheet. */
function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** The same figures as the chart, one line per day, member and model; USD at Luma's list prices. */
export function usageCsv(rows: readonly UsageRow[], names: ReadonlyMap<string, string>): string {
  const lines = ['day,member_id,member,model,units,usd,requests'];
  const sorted = [...rows].sort((a, b) => a.day.localeCompare(b.day) || a.userId.localeCompare(b.userId) || MODELS.indexOf(a.model) - MODELS.indexOf(b.model));
  for (const r of sorted) {
    lines.push([r.day, r.userId, csvField(names.get(r.userId) ?? ''), r.model, String(r.units), e4ToUsd(r.usdE4).toFixed(4), String(r.jobs)].join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}
