// Transfers (downloads from Luma, uploads to Discord) are bounded by the bytes they hold, not by a count.
import { describe, expect, it, vi } from 'vitest';
import { TransferBudget } from '../../src/jobs/transfer-budget.js';

const MB = 1024 * 1024;

function admitAll(budget: TransferBudget) {
  const held = [];
  for (let r = budget.tryAdmit(); r; r = budget.tryAdmit()) held.push(r);
  return held;
}

describe('the transfer budget', () => {
  it('moves many small results at once once it has seen their size, and few big ones', () => {
    const budget = new TransferBudget(48 * MB);
    // Before any result is seen, a transfer counts as a big 8 MB PNG.
    const first = admitAll(budget);
    expect(first).toHaveLength(6);
    for (const r of first) {
      r.resize(200 * 1024);
      r.release();
    }
    expect(budget.bytesInFlight).toBe(0);
    expect(admitAll(budget)).toHaveLength(245); // 48 MB / 200 kB
  });

  it('counts a result by its real size as soon as the download knows it, and learns from a big one', () => {
    const budget = new TransferBudget(10 * MB);
    const seed = budget.tryAdmit()!;
    seed.resize(1 * MB);
    const more = admitAll(budget);
    expect(more).toHaveLength(9);
    // One of them turns out to be 5 MB: the budget is over by its excess, and admits nothing until it is back under.
    more[0]!.resize(5 * MB);
    expect(budget.bytesInFlight).toBe(14 * MB);
    expect(budget.tryAdmit()).toBeUndefined();
    for (const r of [seed, ...more]) r.release();
    expect(budget.bytesInFlight).toBe(0);
    // The estimate now expects results that big.
    expect(admitAll(budget)).toHaveLength(2);
  });

  it('still moves a result larger than the whole budget, alone', () => {
    const budget = new TransferBudget(1 * MB);
    const r = budget.tryAdmit()!;
    r.resize(30 * MB);
    expect(budget.tryAdmit()).toBeUndefined();
    r.release();
    r.release(); // idempotent
    expect(budget.count).toBe(0);
    expect(budget.tryAdmit()).toBeDefined();
  });

  it('lends a finished transfer\'s buffer to the next one, never one still in use, and frees idle buffers', () => {
    vi.useFakeTimers();
    try {
      const budget = new TransferBudget(8 * MB);
      const seed = budget.tryAdmit()!;
      seed.resize(700_000);
      const a = budget.tryAdmit()!;
      const b = budget.tryAdmit()!;
      const bufA = a.buffer(700_000);
      const bufB = b.buffer(700_000);
      expect(bufA.length).toBe(700_000);
      expect(bufA.buffer).not.toBe(bufB.buffer);
      a.release();
      expect(budget.idleBufferBytes).toBeGreaterThanOrEqual(700_000);
      const c = budget.tryAdmit()!;
      const bufC = c.buffer(650_000); // about the same size: a's memory again
      expect(bufC.buffer).toBe(bufA.buffer);
      expect(bufC.length).toBe(650_000);
      expect(c.buffer(100_000).buffer).not.toBe(bufA.buffer); // far smaller: not a 700 kB buffer for it
      c.release();
      b.release();
      seed.release();
      vi.advanceTimersByTime(5_000);
      expect(budget.idleBufferBytes).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
