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
    expect(admitAll(budget)).toHaveLength(192); // 48 MB / 256 kB: 200 kB in whole 64 kB buffer steps
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
      expect(budget.bufferBytes).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('makes no new buffers while results of one size keep flowing, however the number running varies', () => {
    const budget = new TransferBudget(16 * MB);
    const size = 800_000;
    const seed = budget.tryAdmit()!;
    seed.resize(size);
    seed.release();
    const seen = new Set<ArrayBufferLike>();
    let running: ReturnType<typeof budget.tryAdmit>[] = [];
    // Waves of transfers: all the budget admits, then a few, then all again — each takes its buffer, then ends.
    for (const wave of [Infinity, 3, Infinity, 1, Infinity, 7]) {
      for (let r = budget.tryAdmit(); r && running.length < wave; r = running.length < wave ? budget.tryAdmit() : undefined) running.push(r);
      for (const r of running) {
        seen.add(r!.buffer(size).buffer);
        r!.resize(size);
      }
      expect(budget.bufferBytes).toBeLessThanOrEqual(budget.capacityBytes);
      for (const r of running) r!.release();
      running = [];
    }
    // As many buffers as ran at once at most, each reused: 16 MB / 832 kB (800 kB in whole 64 kB steps).
    expect(seen.size).toBe(Math.floor((16 * MB) / (13 * 64 * 1024)));
    expect(budget.bufferBytes).toBe(seen.size * 13 * 64 * 1024);
  });

  it('counts the buffer a transfer pins, and keeps the buffers within the budget when results change size', () => {
    const budget = new TransferBudget(4 * MB);
    const seed = budget.tryAdmit()!;
    seed.resize(1 * MB);
    seed.release();
    const small = admitAll(budget);
    expect(small).toHaveLength(4);
    for (const r of small) r.buffer(1 * MB);
    for (const r of small) r.release();
    expect(budget.bufferBytes).toBe(4 * MB);
    // Results of 1.5 MB now: the idle 1 MB buffers cannot hold them and give way, so the pool stays within 4 MB.
    const big = budget.tryAdmit()!;
    big.buffer(1.5 * MB);
    expect(budget.bytesInFlight).toBe(1.5 * MB);
    expect(budget.bufferBytes).toBeLessThanOrEqual(4 * MB);
    big.resize(1.5 * MB);
    const next = budget.tryAdmit()!;
    next.buffer(1.5 * MB);
    expect(budget.tryAdmit()).toBeUndefined(); // 3 MB held; a third 1.5 MB would pass 4 MB
    expect(budget.bufferBytes).toBeLessThanOrEqual(4 * MB);
    // A smaller result may take a larger idle buffer (up to about twice its size); it then holds that buffer's bytes.
    next.release();
    const reuse = budget.tryAdmit()!;
    const pinned = reuse.buffer(0.9 * MB).buffer.byteLength;
    expect(pinned).toBeGreaterThan(0.9 * MB);
    expect(budget.bytesInFlight).toBe(1.5 * MB + pinned);
    reuse.release();
    big.release();
    expect(budget.bytesInFlight).toBe(0);
  });
});
