import { LostRecordError, moveAside, Unreadable, type AtomicWrite, type Storage, type StorageAlarm } from '../storage/index.js';
import type { SettledCharge } from './limits.js';
import { quotaKeys } from './scope.js';
import type { QuotaCharge } from './types.js';
import type { UsageLedger } from './usage.js';

/*
 * The quota counters' read-modify-writes: each one atomic (Storage.atomic: a compare-and-set on Redis), so a
 * process that stalls while holding the counters' locks — which then lapse, and another process takes them — cannot
 * write a stale sum over the other's charge. A counter that cannot be read is moved aside (quarantined) and rebuilt
 * in the same step (`rebuild`: from what the bot can add up, else zero).
 */

/** A counter that could not be read: where it is kept now, and what it was rebuilt to. */
export interface LostCounter {
  charge: QuotaCharge;
  quarantineKey: string;
  problem: string;
  rebuilt: number;
}

/** What a counter that could not be read starts again from. */
export type Rebuild = (charge: QuotaCharge) => Promise<number>;

/** A counter's value as stored: a number (0 when absent), or Unreadable when it is not one. */
export function counterValue(v: unknown): number | Unreadable {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v;
  if (v instanceof Unreadable) return v;
  return new Unreadable(JSON.stringify(v) ?? String(v));
}

const ttlOf = (c: QuotaCharge, now: number): number => Math.max(1000, c.expiresAt - now);

/** The writes that move the unreadable counters aside and put their rebuilt values in their place. */
async function healing(charges: readonly QuotaCharge[], read: readonly (number | Unreadable)[], now: number, rebuild: Rebuild) {
  const writes: AtomicWrite[] = [];
  const lost: LostCounter[] = [];
  for (const [i, v] of read.entries()) {
    const charge = charges[i];
    if (!(v instanceof Unreadable) || !charge) continue;
    const problem = 'the counter is not a number';
    const aside = moveAside({ key: charge.key, raw: v.raw, problem }, now);
    const rebuilt = await rebuild(charge);
    writes.push(aside, { key: charge.key, value: rebuilt, ttlMs: ttlOf(charge, now) });
    lost.push({ charge, quarantineKey: aside.key, problem, rebuilt });
  }
  return { writes, lost };
}

/**
 * Under the reservation's locks: reads every counter, settles what each takes (`settle` throws a refusal), and adds
 * it, in one atomic step. When a counter cannot be read, nothing is charged: it is moved aside and rebuilt, and the
 * caller gets `lost` (the reservation is then refused).
 */
export async function chargeCounters(
  storage: Storage,
  charges: readonly QuotaCharge[],
  now: number,
  settle: (current: readonly number[]) => SettledCharge[],
  rebuild: Rebuild,
): Promise<{ taken: QuotaCharge[]; lost: LostCounter[] }> {
  return storage.atomic<{ taken: QuotaCharge[]; lost: LostCounter[] }>(
    charges.map((c) => c.key),
    async (values) => {
      const read = values.map(counterValue);
      const heal = await healing(charges, read, now, rebuild);
      if (heal.lost.length > 0) return { writes: heal.writes, result: { taken: [], lost: heal.lost } };
      const settled = settle(read as number[]);
      const writes = settled.map((s) => ({ key: s.charge.key, value: s.current + s.charge.amount, ttlMs: ttlOf(s.charge, now) }));
      return { writes, result: { taken: settled.map((s) => s.charge), lost: [] } };
    },
  );
}

/**
 * Gives `charges` back (never below zero) and sets the refund's marker, in one atomic step, unless the marker says
 * it was done already (`done` false then). An unreadable counter is moved aside and rebuilt on the way.
 */
export async function refundCounters(
  storage: Storage,
  charges: readonly QuotaCharge[],
  marker: { key: string; ttlMs: number },
  now: number,
  rebuild: Rebuild,
): Promise<{ done: boolean; lost: LostCounter[] }> {
  return storage.atomic<{ done: boolean; lost: LostCounter[] }>([marker.key, ...charges.map((c) => c.key)], async ([already, ...values]) => {
    if (already === true) return { writes: [], result: { done: false, lost: [] } };
    const read = values.map(counterValue);
    const heal = await healing(charges, read, now, rebuild);
    const writes: AtomicWrite[] = heal.writes.filter((_, i) => i % 2 === 0); // the quarantine records
    for (const [i, c] of charges.entries()) {
      const v = read[i];
      const current = v instanceof Unreadable ? (heal.lost.find((l) => l.charge === c)?.rebuilt ?? 0) : (v ?? 0);
      // A counter an admin reset since may hold less than this charge: never go below zero.
      writes.push({ key: c.key, value: Math.max(0, current - c.amount), ttlMs: ttlOf(c, now) });
    }
    writes.push({ key: marker.key, value: true, ttlMs: marker.ttlMs });
    return { writes, result: { done: true, lost: heal.lost } };
  });
}

/**
 * What a counter that could not be read starts again from: the operator's spend of the day from the servers' spends,
 * a server's spend of the day from its usage figures; the others (a member's units, a server total, credits used)
 * from zero.
 */
export function rebuildCounter(usage: Pick<UsageLedger, 'places' | 'rowsOf'>, read: (key: string) => Promise<number>): Rebuild {
  return async (c) => {
    const day = c.key.slice(c.key.lastIndexOf(':') + 1);
    if (c.kind === 'spend') {
      const places = await usage.places(day);
      const spends = await Promise.all(places.map((place) => read(quotaKeys.placeSpend(place, day))));
      return spends.reduce((a, b) => a + b, 0);
    }
    if (c.kind === 'serverSpend') {
      const place = c.key.slice('quota:place-spend:'.length, c.key.lastIndexOf(':'));
      return (await usage.rowsOf(place, [day])).reduce((sum, r) => sum + r.usdE4, 0);
    }
    return 0;
  };
}

/** One OPERATOR line per counter moved aside (`then`: what became of the request); the error a reservation is refused with. */
export function reportLost(alarm: Pick<StorageAlarm, 'movedAside'>, lost: readonly LostCounter[], then: string): LostRecordError {
  for (const l of lost) alarm.movedAside({ key: l.charge.key, quarantineKey: l.quarantineKey, problem: l.problem, instead: `it starts again from ${l.rebuilt}; ${then}` });
  return new LostRecordError('quotaCounter', lost[0]?.charge.key ?? '');
}

/** Takes `names` one inside the other, in the order given (the counters' fixed order), then runs `fn`. */
export function withLocks<T>(storage: Storage, names: readonly string[], fn: () => Promise<T>): Promise<T> {
  const [first, ...rest] = names;
  if (first === undefined) return fn();
  return storage.withLock(first, () => withLocks(storage, rest, fn));
}
