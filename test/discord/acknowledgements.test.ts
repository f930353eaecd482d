// Tests src/discord/acknowledgements.ts: starting a job waits for the burst's acknowledgements, never for long.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PendingAcknowledgements } from '../../src/discord/acknowledgements.js';

describe('PendingAcknowledgements', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const state = (p: Promise<void>) => {
    let done = false;
    void p.then(() => (done = true));
    return () => done;
  };

  it('lets work start at once when nothing waits for an acknowledgement', async () => {
    const acks = new PendingAcknowledgements();
    const idle = state(acks.idle());
    await vi.advanceTimersByTimeAsync(0);
    expect(idle()).toBe(true);
  });

  it('holds work back until every arrived interaction is acknowledged', async () => {
    const acks = new PendingAcknowledgements();
    acks.arrived('1');
    acks.arrived('2');
    const idle = state(acks.idle());
    acks.settled('1');
    await vi.advanceTimersByTimeAsync(0);
    expect(idle()).toBe(false);
    expect(acks.count).toBe(1);
    acks.settled('2');
    await vi.advanceTimersByTimeAsync(0);
    expect(idle()).toBe(true);
    expect(acks.count).toBe(0);
  });

  it('stops counting an interaction never acknowledged once Discord has dropped it (3 s)', async () => {
    const acks = new PendingAcknowledgements({ maxWaitMs: 60_000 });
    acks.arrived('1');
    const idle = state(acks.idle());
    await vi.advanceTimersByTimeAsync(2999);
    expect(idle()).toBe(false);
    await vi.advanceTimersByTimeAsync(2);
    expect(idle()).toBe(true);
    expect(acks.count).toBe(0);
  });

  it('never holds work back longer than maxWaitMs, however busy', async () => {
    const acks = new PendingAcknowledgements({ maxWaitMs: 500 });
    let n = 0;
    // A steady stream: always one interaction waiting for its acknowledgement.
    const stream = setInterval(() => acks.arrived(String(n++)), 100);
    acks.arrived(String(n++));
    const idle = state(acks.idle());
    await vi.advanceTimersByTimeAsync(499);
    expect(idle()).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(idle()).toBe(true);
    clearInterval(stream);
  });
});
