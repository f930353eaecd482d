import { MODELS, type Model } from '../luma/types.js';
import { moveAside, readValue, Unreadable, type AtomicWrite, type Storage } from '../storage/index.js';
import { utcDay } from './periods.js';

/*
 * The usage ledger: a server's use per UTC day, by member and model, for /quota-admin usage and the operator's
 * figures (DMs and user-installed use are one place, `dm`). Each member's day is a record of its
 * own, written under the member's quota lock, which a reservation or refund already holds — so the figures always
 * add up to the quota counters, and members never wait on each other. A day's index of members changes only at a
 * member's first request of the day (under the server's usage lock). Bounded: records live USAGE_KEEP_DAYS days,
 * and a day indexes at most MAX_MEMBERS_PER_DAY members; use beyond is summed under "others".
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

/** One member's (or the overflow's) use of each model on one day. */
export type MemberDay = Partial<Record<Model, UsageCell>>;

export const usageKeys = {
  /** The day's index: member ids with a record that day. */
  index: (guildId: string, day: string) => `quota:daily:${guildId}:${day}`,
  member: (guildId: string, day: string, userId: string) => `quota:daily:${guildId}:${day}:${userId}`,
  /** The servers (and `dm`) with figures that day, for the operator's views. */
  places: (day: string) => `quota:daily-places:${day}`,
};
/** Guards a day's index and its "others" record. */
export const usageLock = (guildId: string): string => `quota:daily:${guildId}`;
const placesLock = 'quota:daily-places';

/** The strings of a stored list (an index of members, of places); none when it is not one or cannot be read. */
function idList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** A stored value, or nothing in place of one that cannot be read. */
const readable = (v: unknown): unknown => (v instanceof Unreadable ? undefined : v);

function isModel(m: string): m is Model {
  return (MODELS as readonly string[]).includes(m);
}

function normalizeMemberDay(raw: unknown): MemberDay | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const out: MemberDay = {};
  for (const [model, cell] of Object.entries(raw as Record<string, unknown>)) {
    if (!isModel(model) || typeof cell !== 'object' || cell === null) continue;
    const c = cell as Partial<UsageCell>;
    out[model] = { units: Number(c.units) || 0, usdE4: Number(c.usdE4) || 0, jobs: Number(c.jobs) || 0 };
  }
  return out;
}

function applyDelta(day: MemberDay, model: Model, delta: UsageCell): MemberDay {
  const cell = day[model] ?? { units: 0, usdE4: 0, jobs: 0 };
  return {
    ...day,
    [model]: { units: Math.max(0, cell.units + delta.units), usdE4: Math.max(0, cell.usdE4 + delta.usdE4), jobs: Math.max(0, cell.jobs + delta.jobs) },
  };
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
   * Adds `delta` (negative for a refund) to a member's use of a model on `day`. The caller holds the member's
   * quota lock. A day older than the kept window is left alone (its records are gone or about to be).
   */
  async add(guildId: string, day: string, userId: string, model: Model, delta: UsageCell, now: number): Promise<void> {
    const keepUntil = Date.parse(`${day}T00:00:00Z`) + (USAGE_KEEP_DAYS + 1) * DAY_MS;
    if (keepUntil <= now) return;
    const ttl = keepUntil - now;
    const key = usageKeys.member(guildId, day, userId);
    const landed = await this.storage.atomic([key], ([v]) => {
      const existing = v instanceof Unreadable ? undefined : normalizeMemberDay(v);
      return existing ? { writes: [{ key, value: applyDelta(existing, model, delta), ttlMs: ttl }], result: true } : { writes: [], result: false };
    });
    if (landed) return;
    // The member's first record of the day: index it, or sum it under "others" when the day is full.
    await this.storage.withLock(usageLock(guildId), async () => {
      const indexKey = usageKeys.index(guildId, day);
      const othersKey = usageKeys.member(guildId, day, OTHERS);
      const outcome = await this.storage.atomic([indexKey, key, othersKey], ([storedIndex, mine, others]) => {
        const index = idList(storedIndex);
        const writes: AtomicWrite[] = [];
        // A record that cannot be read is kept aside and starts again (these are statistics).
        const bad = [[indexKey, storedIndex], [key, mine], [othersKey, others]].filter(([, x]) => x instanceof Unreadable) as [string, Unreadable][];
        for (const [badKey, x] of bad) writes.push(moveAside({ key: badKey, raw: x.raw, problem: 'the usage figures are not readable' }, now));
        const aside = bad.map(([badKey], i) => ({ key: badKey, quarantineKey: writes[i]?.key ?? '' }));
        if (index.includes(userId) || index.length < MAX_MEMBERS_PER_DAY) {
          if (delta.units < 0 && !index.includes(userId)) return { writes, result: { first: false, aside } }; // nothing was recorded, nothing to take back
          if (!index.includes(userId)) writes.push({ key: indexKey, value: [...index, userId], ttlMs: ttl });
          writes.push({ key, value: applyDelta(normalizeMemberDay(readable(mine)) ?? {}, model, delta), ttlMs: ttl });
          return { writes, result: { first: index.length === 0, aside } };
        }
        writes.push({ key: othersKey, value: applyDelta(normalizeMemberDay(readable(others)) ?? {}, model, delta), ttlMs: ttl });
        return { writes, result: { first: false, aside } };
      });
      for (const a of outcome.aside) this.storage.alarm.movedAside({ ...a, problem: 'the usage figures are not readable', instead: 'they start again from this request' });
      if (outcome.first) await this.addPlace(day, guildId, ttl);
    });
  }

  /** A server's first figures of the day: it joins the day's list of places. */
  private async addPlace(day: string, place: string, ttl: number): Promise<void> {
    const key = usageKeys.places(day);
    await this.storage.withLock(placesLock, () =>
      this.storage.atomic([key], ([v]) => {
        const places = idList(v);
        return { writes: places.includes(place) ? [] : [{ key, value: [...places, place], ttlMs: ttl }], result: undefined };
      }),
    );
  }

  /** The servers (and `dm`, for DMs and user-installed use) with figures on a UTC day. */
  async places(day: string): Promise<string[]> {
    return idList(await readValue(this.storage, usageKeys.places(day)));
  }

  /** The rows of the last `days` UTC days up to the day of `now`, oldest first; empty cells left out. */
  async rows(guildId: string, days: number, now: number): Promise<UsageRow[]> {
    return this.rowsOf(guildId, lastDays(days, now));
  }

  /** The rows of the given UTC days, in that order; empty cells left out. */
  async rowsOf(guildId: string, dayList: readonly string[]): Promise<UsageRow[]> {
    const perDay = await Promise.all(
      dayList.map(async (day) => {
        const index = idList(await readValue(this.storage, usageKeys.index(guildId, day)));
        const members = await Promise.all(
          [...index, OTHERS].map(async (userId) => ({ userId, usage: normalizeMemberDay(readable(await readValue(this.storage, usageKeys.member(guildId, day, userId)))) })),
        );
        const rows: UsageRow[] = [];
        for (const { userId, usage } of members) {
          for (const model of MODELS) {
            const c = usage?.[model];
            if (c && (c.units > 0 || c.jobs > 0 || c.usdE4 > 0)) rows.push({ day, userId, model, ...c });
          }
        }
        return rows;
      }),
    );
    return perDay.flat();
  }
}

/** The UTC days `YYYY-MM-DD` of the last `n` days, ending with today, oldest first. */
export function lastDays(n: number, now: number): string[] {
  return Array.from({ length: n }, (_, i) => utcDay(now - (n - 1 - i) * DAY_MS));
}
