/**
 * Quota periods are calendar periods in UTC, so everybody on a server resets at the same moment whatever their
 * time zone, and a counter's key names its period (no cron job resets anything: a new period is a new key).
 *   day   — from 00:00 UTC to the next 00:00 UTC
 *   week  — from Monday 00:00 UTC (ISO weeks)
 *   month — from the 1st 00:00 UTC
 */
import type { Period } from '../config-values.js';

export { isPeriod, PERIODS, type Period } from '../config-values.js';

const DAY_MS = 86_400_000;

/** The instant (ms) the period containing `now` began. */
export function periodStart(period: Period, now: number): number {
  const d = new Date(now);
  const midnight = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  switch (period) {
    case 'day':
      return midnight;
    case 'week':
      // getUTCDay: 0 = Sunday … 6 = Saturday; weeks start on Monday.
      return midnight - ((d.getUTCDay() + 6) % 7) * DAY_MS;
    case 'month':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  }
}

/** The instant (ms) the period containing `now` ends, which is when the quota resets. */
export function periodEnd(period: Period, now: number): number {
  const start = periodStart(period, now);
  switch (period) {
    case 'day':
      return start + DAY_MS;
    case 'week':
      return start + 7 * DAY_MS;
    case 'month': {
      const d = new Date(start);
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    }
  }
}

/** A short stable name for the period containing `now`: `day:2026-05-04`, `week:2026-05-04` (its Monday), `month:2026-05`. */
export function periodKey(period: Period, now: number): string {
  const iso = new Date(periodStart(period, now)).toISOString();
  return period === 'month' ? `month:${iso.slice(0, 7)}` : `${period}:${iso.slice(0, 10)}`;
}

/** The UTC calendar day of `now`, `2026-05-04`: the operator's spend cap is counted per such day. */
export function utcDay(now: number): string {
  return new Date(now).toISOString().slice(0, 10);
}

/** Discord renders `<t:unix:R>` as "in 5 hours" in the reader's own locale, and `:f` as a full local date. */
export function discordTime(ms: number, style: 'R' | 'f' | 'F' | 't' = 'R'): string {
  return `<t:${Math.floor(ms / 1000)}:${style}>`;
}
