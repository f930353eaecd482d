// A request of several images reserves once; each image's job then holds its own share, so a refund gives back
// exactly that image's units (from the free allowance first, then credits) and its own price.
import { describe, expect, it } from 'vitest';
import { shareCharges } from '../../src/quota/limits.js';
import type { QuotaCharge } from '../../src/quota/types.js';

const charge = (kind: QuotaCharge['kind'], amount: number): QuotaCharge => ({ kind, key: `k:${kind}`, lock: `l:${kind}`, amount, expiresAt: 1 });

describe('the shares of a request for several images', () => {
  it('gives each image its own units, the free allowance to the first ones and credits to the rest, and its own price', () => {
    // Three images of 3 units each (9): 4 from the allowance, 5 from credits; 0.12 + 0.12 + 0.15 USD.
    const taken = [charge('member', 4), charge('credits', 5), charge('server', 9), charge('serverSpend', 3900), charge('spend', 3900)];
    const shares = shareCharges(taken, [
      { units: 3, costE4: 1200 },
      { units: 3, costE4: 1200 },
      { units: 3, costE4: 1500 },
    ]);
    const amounts = shares.map((s) => Object.fromEntries(s.map((c) => [c.kind, c.amount])));
    expect(amounts).toEqual([
      { member: 3, server: 3, serverSpend: 1200, spend: 1200 },
      { member: 1, credits: 2, server: 3, serverSpend: 1200, spend: 1200 },
      { credits: 3, server: 3, serverSpend: 1500, spend: 1500 },
    ]);
    // Every counter's shares add up to what the request took from it.
    for (const c of taken) expect(shares.flat().filter((s) => s.kind === c.kind).reduce((n, s) => n + s.amount, 0)).toBe(c.amount);
  });

  it('keeps each share on the counter and lock the request used', () => {
    const [only] = shareCharges([charge('member', 1)], [{ units: 1, costE4: 404 }]);
    expect(only).toEqual([charge('member', 1)]);
  });
});
