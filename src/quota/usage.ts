import { MODELS, type Model } from '../luma/types.js';
import type { Storage } from '../storage.js';
import { utcDay } from './periods.js';

/*
 * A server's use per UTC day, by member and model, for /quota-admin usage. One record per server and day,
 * written under the same locks as the counters a reservation or refund changes, so the figures always add up to
 * the quota counters. Bounded: a record lives USAGE_KEEP_DAYS days, and holds at most MAX_MEMBERS_PER_DAY members
 * (the rest are summed under "others").
 */

export const USAGE_KEEP_DAYS = 92;
export const MAX_MEMBERS_PER_DAY = 1000;
/** The member id the overflow beyond MAX_MEMBERS_PER_DAY is summed under. */
export const OTHERS = 'others';

const DAY_MS = 86_400_000;

export interface UsageCell {
  units: number;
  /** Ten-thousandths of a dollar (exact integer sums). */
  usdE4: number;
  /** Requests charged. */
  jobs: number;
}

export interface DayUsage {
  v: 1;
  users: Record<string, Partial<Record<Model, UsageCell>>>;
}

export const usageKey = (guildId: string, day: string): string => `quota:daily:${guildId}:${day}`;
export const usageLock = (guildId: string): string => `quota:daily:${guildId}`;

function isModel(m: string): m is Model {
  return (MODELS as readonly string[]).includes(m);
}

function normalizeDay(raw: unknown): DayUsage {
  const out: DayUsage = { v: 1, users: {} };
  if (typeof raw !== 'object' || raw === null) return out;
  const users = (raw as { users?: unknown }).users;
  if (typeof users !== 'object' || users === null) return out;
  for (const [userId, byModel] of Object.entries(users as Record<string, unknown>)) {
    if (typeof byModel !== 'object' || byModel === null) continue;
    for (const [model, cell] of Object.entries(byModel as Record<string, unknown>)) {
      if (!isModel(model) || typeof cell !== 'object' || cell === null) continue;
      const c = cell as Partial<UsageCell>;
      (out.users[userId] ??= {})[model] = { units: Number(c.units) || 0, usdE4: Number(c.usdE4) || 0, jobs: Number(c.jobs) || 0 };
    }
  }
  return out;
}

/** One line of the figures: a member's use of a model on a day. */
export interface UsageRow {
  day: string;
  userId: string;
  model: Model;
  units: number;
  usdE4: number;
  jobs: number;
}

export class UsageLedger {
  constructor(private readonly storage: Storage) {}

  /**
   * Adds `delta` (negative for a refund) to a member's use of a model on `day`. The caller holds usageLock(guildId).
   * A day older than the kept window is left alone (its record is gone or about to be).
   */
  async add(guildId: string, day: string, userId: string, model: Model, delta: UsageCell, now: number): Promise<void> {
    const keepUntil = Date.parse(`${day}T00:00:00Z`) + (USAGE_KEEP_DAYS + 1) * DAY_MS;
    if (keepUntil <= now) return;
    const key = usageKey(guildId, day);
    const record = normalizeDay(await this.storage.get<unknown>(key));
    const who = record.users[userId] !== undefined || Object.keys(record.users).length < MAX_MEMBERS_PER_DAY ? userId : OTHERS;
    const byModel = (record.users[who] ??= {});
    const cell = byModel[model] ?? { units: 0, usdE4: 0, jobs: 0 };
    byModel[model] = {
      units: Math.max(0, cell.units + delta.units),
      usdE4: Math.max(0, cell.usdE4 + delta.usdE4),
      jobs: Math.max(0, cell.jobs + delta.jobs),
    };
    await this.storage.set(key, record, keepUntil - now);
  }

  /** The rows of the last `days` UTC days up to the day of `now`, oldest first; empty cells left out. */
  async rows(guildId: string, days: number, now: number): Promise<UsageRow[]> {
    const rows: UsageRow[] = [];
    for (const day of lastDays(days, now)) {
      const record = normalizeDay(await this.storage.get<unknown>(usageKey(guildId, day)));
      for (const [userId, byModel] of Object.entries(record.users)) {
        for (const model of MODELS) {
          const c = byModel[model];
          if (c && (c.units > 0 || c.jobs > 0 || c.usdE4 > 0)) rows.push({ day, userId, model, ...c });
        }
      }
    }
    return rows;
  }
}

/** The UTC days `YYYY-MM-DD` of the last `n` days, ending with today, oldest first. */
export function lastDays(n: number, now: number): string[] {
  return Array.from({ length: n }, (_, i) => utcDay(now - (n - 1 - i) * DAY_MS));
}
